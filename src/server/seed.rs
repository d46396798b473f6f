//! `gatehouse seed-demo`: the demo company from `demo/demo.toml`, with real public specs and
//! guides from `demo/fixtures`. Everything is validated before anything is written, and written in
//! one transaction.

use super::db::Store;
use super::render::openapi::DEFAULT_MAX_SPEC_BYTES;
use super::services::api_edit::{MetadataError, render_description, store_metadata};
use super::services::publish::{
    GuideFile, Origin, Problem, VersionInput, prepare_guides, prepare_version, write_version,
};
use crate::domain::catalog::{ApiMetadata, ApiSlug, SpecFormat};
use crate::model::{
    ApiEdit, EnvironmentInput, Lifecycle, PersonKind, Risk, ScopeInput, VersionStatus, Visibility,
};
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
        "demo/patent-data-1.0.0.yaml",
        include_str!("../../demo/specs/patent-data-1.0.0.yaml"),
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
    /// Versions before `version`, oldest first.
    #[serde(default)]
    earlier: Vec<EarlierSeed>,
    environments: Vec<EnvSeed>,
    scopes: Vec<ScopeSeed>,
    /// The API's approval policy (JSON); without one the default applies.
    policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EarlierSeed {
    version: String,
    spec: Option<String>,
    #[serde(default)]
    release_notes: String,
    status: String,
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
            "INSERT INTO apis (slug, name, owner_team_id, lifecycle, visibility, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(&a.slug)
        .bind(&a.name)
        .bind(team_ids[a.team.as_str()])
        .bind(&a.lifecycle)
        .bind(&a.visibility)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let meta = ApiMetadata::parse(&ApiEdit {
            name: a.name.clone(),
            summary: a.summary.clone(),
            description_md: a.description.clone(),
            lifecycle: a.lifecycle.clone(),
            visibility: a.visibility.clone(),
            tags: a.tags.join(","),
            repository_url: a.repository_url.clone().unwrap_or_default(),
            runbook_url: a.runbook_url.clone().unwrap_or_default(),
            chat_channel: a.chat_channel.clone().unwrap_or_default(),
            environments: a
                .environments
                .iter()
                .map(|e| EnvironmentInput {
                    name: e.name.clone(),
                    base_url: e.base_url.clone(),
                })
                .collect(),
            scopes: a
                .scopes
                .iter()
                .map(|s| ScopeInput {
                    name: s.name.clone(),
                    description: s.description.clone(),
                    risk: s.risk.clone(),
                })
                .collect(),
            revision: None,
        })
        .map_err(|p| SeedError::Invalid(format!("{}: {}", a.slug, p.join("; "))))?;
        store_metadata(
            &mut tx,
            api_id,
            &a.slug,
            &meta,
            &render_description(&a.slug, &meta.description_md),
            now,
        )
        .await
        .map_err(|e| match e {
            MetadataError::Store(e) => SeedError::Store(e),
            other => SeedError::Invalid(other.to_string()),
        })?;
        let invalid = |p: Vec<Problem>| {
            SeedError::Invalid(format!(
                "{}: {}",
                a.slug,
                p.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        };
        let guides = a
            .guides
            .iter()
            .map(|g| {
                Ok(GuideFile {
                    file_name: g.rsplit('/').next().unwrap_or(g).to_owned(),
                    source: fixture(g)?.as_bytes().to_vec(),
                })
            })
            .collect::<Result<Vec<_>, SeedError>>()?;
        let guides = prepare_guides(&a.slug, guides).map_err(invalid)?;
        let base_url = a.environments.first().map(|e| e.base_url.as_str());
        // Earlier versions a second apart, oldest first, so the order holds on both backends.
        for (i, e) in a.earlier.iter().enumerate() {
            let status = e
                .status
                .parse::<VersionStatus>()
                .map_err(|err| SeedError::Invalid(format!("{}: {err}", a.slug)))?;
            let spec = e
                .spec
                .as_deref()
                .map(|name| {
                    Ok::<_, SeedError>((name.to_owned(), fixture(name)?.as_bytes().to_vec()))
                })
                .transpose()?;
            let earlier = prepare_version(
                &a.slug,
                base_url,
                VersionInput {
                    label: e.version.clone(),
                    status,
                    release_notes: e.release_notes.clone(),
                    spec,
                },
                DEFAULT_MAX_SPEC_BYTES,
            )
            .map_err(invalid)?;
            let at = now - (a.earlier.len() - i) as i64;
            write_version(
                &mut tx,
                api_id,
                &a.slug,
                &earlier,
                Some(&guides),
                Origin::Import,
                at,
            )
            .await?;
        }
        let version = prepare_version(
            &a.slug,
            a.environments.first().map(|e| e.base_url.as_str()),
            VersionInput {
                label: a.version.clone(),
                status: VersionStatus::Current,
                release_notes: a.release_notes.clone(),
                spec: a
                    .spec
                    .as_deref()
                    .map(|name| {
                        Ok::<_, SeedError>((name.to_owned(), fixture(name)?.as_bytes().to_vec()))
                    })
                    .transpose()?,
            },
            DEFAULT_MAX_SPEC_BYTES,
        )
        .map_err(invalid)?;
        write_version(
            &mut tx,
            api_id,
            &a.slug,
            &version,
            Some(&guides),
            Origin::Import,
            now,
        )
        .await?;
        if let Some(text) = &a.policy {
            let envs: Vec<String> = a.environments.iter().map(|e| e.name.clone()).collect();
            let policy = crate::domain::access::Policy::parse(
                text,
                &crate::domain::access::AccessLimits::default(),
                &envs,
                |t| demo.teams.iter().any(|team| team.slug == t),
            )
            .map_err(|p| SeedError::Invalid(format!("{}: policy: {}", a.slug, p.join("; "))))?;
            sqlx::query("INSERT INTO policies (api_id, document, updated_at) VALUES ($1, $2, $3)")
                .bind(api_id)
                .bind(policy.to_document())
                .bind(now)
                .execute(&mut *tx)
                .await?;
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
}
