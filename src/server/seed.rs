//! `gatehouse seed-demo`: the demo company from `demo/demo.toml`, with real public specs and
//! guides from `demo/fixtures`. Everything is validated before anything is written, and written in
//! one transaction.

use super::db::Store;
use super::render::openapi::DEFAULT_MAX_SPEC_BYTES;
use super::services::publish::{
    GuideSource, PublishError, store_guides, store_reference, store_release_notes,
};
use crate::domain::catalog::{ApiSlug, SpecFormat};
use crate::model::{Lifecycle, PersonKind, Risk, Visibility};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

const DEMO: &str = include_str!("../../demo/demo.toml");

/// The fixture files the demo uses, embedded so the binary seeds from anywhere.
const FIXTURES: &[(&str, &str)] = &[
    (
        "guides/discord_oauth2.md",
        include_str!("../../demo/fixtures/guides/discord_oauth2.md"),
    ),
    (
        "guides/microsoft_azure_api_guidelines.md",
        include_str!("../../demo/fixtures/guides/microsoft_azure_api_guidelines.md"),
    ),
    (
        "guides/octokit-js_README.md",
        include_str!("../../demo/fixtures/guides/octokit-js_README.md"),
    ),
    (
        "guides/redoc_README.md",
        include_str!("../../demo/fixtures/guides/redoc_README.md"),
    ),
    (
        "guides/redoc_vendor-extensions.md",
        include_str!("../../demo/fixtures/guides/redoc_vendor-extensions.md"),
    ),
    (
        "guides/stripe-cli_README.md",
        include_str!("../../demo/fixtures/guides/stripe-cli_README.md"),
    ),
    (
        "specs/box_openapi-v2025.0.json",
        include_str!("../../demo/fixtures/specs/box_openapi-v2025.0.json"),
    ),
    (
        "specs/oai_callback-example.yaml",
        include_str!("../../demo/fixtures/specs/oai_callback-example.yaml"),
    ),
    (
        "specs/oai_link-example.yaml",
        include_str!("../../demo/fixtures/specs/oai_link-example.yaml"),
    ),
    (
        "specs/oai_petstore-expanded.yaml",
        include_str!("../../demo/fixtures/specs/oai_petstore-expanded.yaml"),
    ),
    (
        "specs/oai_uspto.yaml",
        include_str!("../../demo/fixtures/specs/oai_uspto.yaml"),
    ),
    (
        "specs/oai_v2.0_uber.yaml",
        include_str!("../../demo/fixtures/specs/oai_v2.0_uber.yaml"),
    ),
    (
        "specs/oai_webhook-example.json",
        include_str!("../../demo/fixtures/specs/oai_webhook-example.json"),
    ),
    (
        "specs/swagger-petstore_openapi.yaml",
        include_str!("../../demo/fixtures/specs/swagger-petstore_openapi.yaml"),
    ),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Demo {
    teams: Vec<TeamSeed>,
    people: Vec<PersonSeed>,
    apis: Vec<ApiSeed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamSeed {
    slug: String,
    name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonSeed {
    key: String,
    name: String,
    email: String,
    kind: String,
    title: Option<String>,
    department: Option<String>,
    company: Option<String>,
    manager: Option<String>,
    sponsor: Option<String>,
    contract_days: Option<i64>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    teams: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSeed {
    slug: String,
    name: String,
    summary: String,
    team: String,
    lifecycle: String,
    visibility: String,
    #[serde(default)]
    tags: Vec<String>,
    repository_url: Option<String>,
    runbook_url: Option<String>,
    chat_channel: Option<String>,
    #[serde(default)]
    description: String,
    spec: Option<String>,
    #[serde(default = "default_version")]
    version: String,
    #[serde(default)]
    release_notes: String,
    #[serde(default)]
    guides: Vec<String>,
    environments: Vec<EnvSeed>,
    scopes: Vec<ScopeSeed>,
}

fn default_version() -> String {
    "1.0.0".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvSeed {
    name: String,
    base_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeSeed {
    name: String,
    description: String,
    risk: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the database already has people in it; seed-demo only fills an empty database")]
    NotEmpty,
    #[error("demo data: {0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
}

/// What was loaded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub teams: usize,
    pub people: usize,
    pub apis: usize,
}

fn fixture(name: &str) -> Result<&'static str, SeedError> {
    FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
        .ok_or_else(|| SeedError::Invalid(format!("no fixture named {name}")))
}

/// The first `# ` heading of a guide, else its file name.
fn guide_title(name: &str, source: &str) -> String {
    source
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| name.to_owned())
}

fn guide_slug(file: &str) -> String {
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".md");
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Checks the whole demo before anything is written.
fn validate(demo: &Demo) -> Result<(), SeedError> {
    let invalid = |m: String| Err(SeedError::Invalid(m));
    let teams: Vec<&str> = demo.teams.iter().map(|t| t.slug.as_str()).collect();
    let people: Vec<&str> = demo.people.iter().map(|p| p.key.as_str()).collect();
    for p in &demo.people {
        let kind: PersonKind = p
            .kind
            .parse()
            .map_err(|e| SeedError::Invalid(format!("{}: {e}", p.key)))?;
        for reference in [&p.manager, &p.sponsor].into_iter().flatten() {
            if !people.contains(&reference.as_str()) {
                return invalid(format!("{}: no person with key {reference}", p.key));
            }
        }
        if kind == PersonKind::Contractor && (p.sponsor.is_none() || p.contract_days.is_none()) {
            return invalid(format!(
                "{}: a contractor needs a sponsor and contract_days",
                p.key
            ));
        }
        for (team, role) in &p.teams {
            if !teams.contains(&team.as_str()) || !matches!(role.as_str(), "owner" | "member") {
                return invalid(format!("{}: bad team membership {team} = {role}", p.key));
            }
        }
    }
    for a in &demo.apis {
        ApiSlug::parse(&a.slug).map_err(|e| SeedError::Invalid(e.to_string()))?;
        a.lifecycle
            .parse::<Lifecycle>()
            .map_err(|e| SeedError::Invalid(format!("{}: {e}", a.slug)))?;
        a.visibility
            .parse::<Visibility>()
            .map_err(|e| SeedError::Invalid(format!("{}: {e}", a.slug)))?;
        if !teams.contains(&a.team.as_str()) {
            return invalid(format!("{}: no team {}", a.slug, a.team));
        }
        for s in &a.scopes {
            s.risk
                .parse::<Risk>()
                .map_err(|e| SeedError::Invalid(format!("{}: {e}", a.slug)))?;
        }
        if let Some(spec) = &a.spec
            && SpecFormat::sniff(fixture(spec)?).is_none()
        {
            return invalid(format!(
                "{}: {spec} is not OpenAPI 3.0/3.1 or Swagger 2.0",
                a.slug
            ));
        }
        for g in &a.guides {
            fixture(g)?;
        }
    }
    Ok(())
}

/// Loads the demo company into an empty database.
pub async fn seed_demo(store: &Store, now: i64) -> Result<SeedReport, SeedError> {
    let demo: Demo =
        toml::from_str(DEMO).map_err(|e| SeedError::Invalid(e.message().to_owned()))?;
    validate(&demo)?;

    let mut tx = store.pool().begin().await?;
    let people_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(&mut *tx)
        .await?;
    if people_count > 0 {
        return Err(SeedError::NotEmpty);
    }

    let mut team_ids = HashMap::new();
    for t in &demo.teams {
        let id: i64 = sqlx::query_scalar("INSERT INTO teams (slug, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(&t.slug)
            .bind(&t.name)
            .bind(&t.description)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        team_ids.insert(t.slug.as_str(), id);
    }

    // People first without their links, then managers and sponsors once every id exists.
    let mut person_ids = HashMap::new();
    for p in &demo.people {
        let ends_at = p.contract_days.map(|days| now + days * 86_400);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO people (email, name, kind, title, department, company, contract_ends_at, sponsor_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8) RETURNING id",
        )
        .bind(&p.email)
        .bind(&p.name)
        .bind("employee")
        .bind(&p.title)
        .bind(&p.department)
        .bind(&p.company)
        .bind(ends_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        person_ids.insert(p.key.as_str(), id);
    }
    for p in &demo.people {
        let id = person_ids[p.key.as_str()];
        let manager = p.manager.as_deref().map(|k| person_ids[k]);
        let sponsor = p.sponsor.as_deref().map(|k| person_ids[k]);
        sqlx::query("UPDATE people SET manager_id = $2, sponsor_id = $3, kind = $4 WHERE id = $1")
            .bind(id)
            .bind(manager)
            .bind(sponsor)
            .bind(&p.kind)
            .execute(&mut *tx)
            .await?;
        if p.admin {
            sqlx::query("INSERT INTO platform_admins (person_id, granted_at) VALUES ($1, $2)")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        for (team, role) in &p.teams {
            sqlx::query("INSERT INTO team_members (team_id, person_id, role, added_at) VALUES ($1, $2, $3, $4)")
                .bind(team_ids[team.as_str()])
                .bind(id)
                .bind(role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
    }

    for a in &demo.apis {
        let api_id: i64 = sqlx::query_scalar(
            "INSERT INTO apis (slug, name, summary, description_md, owner_team_id, lifecycle, visibility,
                               repository_url, runbook_url, chat_channel, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(&a.slug)
        .bind(&a.name)
        .bind(&a.summary)
        .bind(a.description.trim())
        .bind(team_ids[a.team.as_str()])
        .bind(&a.lifecycle)
        .bind(&a.visibility)
        .bind(&a.repository_url)
        .bind(&a.runbook_url)
        .bind(&a.chat_channel)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for tag in &a.tags {
            sqlx::query("INSERT INTO api_tags (api_id, tag) VALUES ($1, $2)")
                .bind(api_id)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
        }
        for (position, e) in a.environments.iter().enumerate() {
            sqlx::query("INSERT INTO environments (api_id, name, base_url, position) VALUES ($1, $2, $3, $4)")
                .bind(api_id)
                .bind(&e.name)
                .bind(&e.base_url)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
        }
        for s in &a.scopes {
            sqlx::query(
                "INSERT INTO scopes (api_id, name, description, risk) VALUES ($1, $2, $3, $4)",
            )
            .bind(api_id)
            .bind(&s.name)
            .bind(&s.description)
            .bind(&s.risk)
            .execute(&mut *tx)
            .await?;
        }
        let spec = a.spec.as_deref().map(fixture).transpose()?;
        let version_id: i64 = sqlx::query_scalar(
            "INSERT INTO api_versions (api_id, label, status, release_notes_md, spec_format, spec_source, published_at)
             VALUES ($1, $2, 'current', $3, $4, $5, $6) RETURNING id",
        )
        .bind(api_id)
        .bind(&a.version)
        .bind(&a.release_notes)
        .bind(spec.and_then(SpecFormat::sniff).map(SpecFormat::as_str))
        .bind(spec)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut published = Vec::new();
        for (position, g) in a.guides.iter().enumerate() {
            let source = fixture(g)?;
            let slug = guide_slug(g);
            sqlx::query("INSERT INTO guides (version_id, slug, title, position, source_md) VALUES ($1, $2, $3, $4, $5)")
                .bind(version_id)
                .bind(&slug)
                .bind(guide_title(g, source))
                .bind(position as i64)
                .bind(source)
                .execute(&mut *tx)
                .await?;
            published.push((g.rsplit('/').next().unwrap_or(g), slug, source));
        }
        let guides: Vec<GuideSource<'_>> = published
            .iter()
            .map(|(file_name, slug, source)| GuideSource {
                file_name,
                slug,
                source,
            })
            .collect();
        store_guides(&mut tx, &a.slug, version_id, &guides, now).await?;
        store_release_notes(&mut tx, &a.slug, version_id, &a.release_notes, now).await?;
        if let Some(spec) = spec {
            let base_url = a.environments.first().map(|e| e.base_url.as_str());
            store_reference(
                &mut tx,
                version_id,
                spec,
                base_url,
                DEFAULT_MAX_SPEC_BYTES,
                now,
            )
            .await
            .map_err(|e| match e {
                PublishError::Store(e) => SeedError::Store(e),
                spec => SeedError::Invalid(format!("{}: {spec}", a.slug)),
            })?;
        }
    }
    tx.commit().await?;
    Ok(SeedReport {
        teams: demo.teams.len(),
        people: demo.people.len(),
        apis: demo.apis.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_data_is_valid_and_large_enough() {
        let demo: Demo = toml::from_str(DEMO).unwrap();
        validate(&demo).unwrap();
        assert_eq!(demo.teams.len(), 3);
        assert!(demo.apis.len() >= 8);
        let count = |kind: &str| demo.people.iter().filter(|p| p.kind == kind).count();
        assert_eq!(count("contractor"), 2);
        assert!(demo.people.iter().any(|p| p.admin));
    }

    #[test]
    fn guide_names_become_slugs_and_titles() {
        assert_eq!(
            guide_slug("guides/stripe-cli_README.md"),
            "stripe-cli-readme"
        );
        assert_eq!(guide_title("x.md", "intro\n# Stripe CLI\n"), "Stripe CLI");
        assert_eq!(guide_title("x.md", "no heading"), "x.md");
    }
}
