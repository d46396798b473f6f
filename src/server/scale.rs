//! `gatehouse seed-scale`: a company the size of a large enterprise, for benchmarks. On top of
//! the demo company (whose people sign in and whose Box spec is the largest reference): teams,
//! people with a reporting line and contractors with sponsors, APIs with generated OpenAPI specs
//! published through the real pipeline (reference, search index), access requests with their
//! approval stages in every state, grants for the approved ones, and API keys under the grants,
//! stored as the server stores them. Deterministic for a given size, so runs compare.

use super::db::Store;
use super::keys;
use super::render::openapi::DEFAULT_MAX_SPEC_BYTES;
use super::services::api_edit::{render_description, store_metadata};
use super::services::publish::{Origin, VersionInput, prepare_version, write_version};
use crate::domain::catalog::ApiMetadata;
use crate::model::{ApiEdit, EnvironmentInput, ScopeInput, VersionStatus};
use sqlx::AnyConnection;
use std::time::Instant;

const DAY: i64 = 86_400;

/// How much to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    pub teams: usize,
    pub people: usize,
    pub apis: usize,
    pub operations_per_api: usize,
    pub requests: usize,
    pub keys: usize,
}

impl Scale {
    /// The size issue 7 names: 500 teams, 20,000 people, 10,000 APIs with 100,000 operations,
    /// 200,000 access requests, 1,000,000 keys.
    pub const ENTERPRISE: Scale = Scale {
        teams: 500,
        people: 20_000,
        apis: 10_000,
        operations_per_api: 10,
        requests: 200_000,
        keys: 1_000_000,
    };

    /// Every count divided by `by` (at least one of each), for quick runs and tests.
    pub fn divided(self, by: usize) -> Scale {
        let d = |n: usize| (n / by.max(1)).max(1);
        Scale {
            teams: d(self.teams),
            people: d(self.people).max(2),
            apis: d(self.apis),
            operations_per_api: self.operations_per_api,
            requests: d(self.requests),
            keys: d(self.keys),
        }
    }
}

/// What was written, and how long each part took.
#[derive(Debug, Default)]
pub struct ScaleReport {
    pub teams: usize,
    pub people: usize,
    pub apis: usize,
    pub operations: usize,
    pub requests: usize,
    pub steps: usize,
    pub grants: usize,
    pub keys: usize,
    /// (part, seconds)
    pub timings: Vec<(&'static str, f64)>,
    /// A spread of generated keys (plaintext, for the load generator only).
    pub sample_keys: Vec<SampleKey>,
}

/// A generated key with what a gateway would ask about it: its API, its environment, and a call
/// its scopes allow (`GET /{noun}s`, which needs the read scope every generated grant holds).
#[derive(Debug, Clone)]
pub struct SampleKey {
    pub key: String,
    pub api: String,
    pub environment: &'static str,
    pub path: String,
}

impl ScaleReport {
    pub fn total_seconds(&self) -> f64 {
        self.timings.iter().map(|(_, s)| s).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("the database already has scale data (team team-0001 exists)")]
    AlreadySeeded,
    #[error("the demo company is needed first: {0}")]
    Demo(String),
    #[error("generated API {0} does not publish: {1}")]
    Publish(String, String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

const DOMAINS: [&str; 20] = [
    "payments",
    "identity",
    "search",
    "billing",
    "logistics",
    "catalog",
    "orders",
    "inventory",
    "risk",
    "messaging",
    "analytics",
    "pricing",
    "shipping",
    "ledger",
    "accounts",
    "notifications",
    "fraud",
    "recommendations",
    "media",
    "maps",
];
const NOUNS: [&str; 24] = [
    "invoice",
    "customer",
    "shipment",
    "order",
    "refund",
    "session",
    "device",
    "merchant",
    "card",
    "address",
    "coupon",
    "report",
    "document",
    "ticket",
    "carrier",
    "product",
    "warehouse",
    "payout",
    "dispute",
    "subscription",
    "message",
    "route",
    "asset",
    "quote",
];
const FIRST: [&str; 16] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Luca", "Maya", "Nils", "Olga", "Priya",
];
const LAST: [&str; 16] = [
    "Okafor", "Schmidt", "Tanaka", "Silva", "Novak", "Haddad", "Murphy", "Kowalski", "Rossi",
    "Nguyen", "Larsen", "Costa", "Ivanova", "Mensah", "Fischer", "Patel",
];

/// One generated API: `ops` operations over a few resources, each operation requiring a scope
/// in its `security`, as owners write them.
pub fn generated_spec(slug: &str, title: &str, noun: &str, ops: usize) -> String {
    let mut paths = serde_json::Map::new();
    let resources: Vec<String> = (0..ops.div_ceil(4).max(1))
        .map(|i| {
            if i == 0 {
                format!("{noun}s")
            } else {
                format!("{noun}s/{{{noun}Id}}/{}s", NOUNS[(i * 7) % NOUNS.len()])
            }
        })
        .collect();
    let mut made = 0;
    'outer: for resource in &resources {
        for (method, item, scope) in [
            ("get", false, "read"),
            ("post", false, "write"),
            ("get", true, "read"),
            ("delete", true, "write"),
        ] {
            if made == ops {
                break 'outer;
            }
            let path = if item {
                format!("/{resource}/{{id}}")
            } else {
                format!("/{resource}")
            };
            let entry = paths
                .entry(path.clone())
                .or_insert_with(|| serde_json::json!({}));
            let id_param = item.then(|| {
                serde_json::json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}})
            });
            let mut parameters: Vec<serde_json::Value> = id_param.into_iter().collect();
            if resource.contains('{') {
                parameters.push(serde_json::json!({"name": format!("{noun}Id"), "in": "path", "required": true, "schema": {"type": "string"}}));
            }
            entry[method] = serde_json::json!({
                "operationId": format!("{method}{}{made}", noun),
                "summary": format!("{} {}", if scope == "read" { "Read" } else { "Change" }, path),
                "description": format!("Operation {made} of the {title}. Works on {resource} for the {noun} domain."),
                "tags": [resource.split('/').next().unwrap_or(noun)],
                "parameters": parameters,
                "security": [{"oauth": [format!("{scope}:{noun}")]}],
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
                    "404": {"description": "Not found"}
                }
            });
            made += 1;
        }
    }
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0", "description": format!("The {title} ({slug}), generated for scale tests.")},
        "servers": [{"url": format!("https://{slug}.internal.example.com/v1")}],
        "paths": paths,
        "components": {
            "securitySchemes": {"oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {
                format!("read:{noun}"): "Read", format!("write:{noun}"): "Change"
            }}}}},
            "schemas": {"Item": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}
            }}}
        }
    })
    .to_string()
}

/// Inserts `rows` (each a parenthesized `VALUES` tuple) after `head`, `chunk` rows per
/// statement, on the caller's connection (and so in its transaction).
async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    rows: impl Iterator<Item = String>,
    chunk: usize,
) -> Result<usize, sqlx::Error> {
    let mut count = 0;
    let mut sql = String::new();
    let mut in_chunk = 0;
    for row in rows {
        if in_chunk == 0 {
            sql.clear();
            sql.push_str(head);
        } else {
            sql.push(',');
        }
        sql.push_str(&row);
        in_chunk += 1;
        count += 1;
        if in_chunk == chunk {
            sqlx::query(&sql).execute(&mut *conn).await?;
            in_chunk = 0;
        }
    }
    if in_chunk > 0 {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(count)
}

async fn ids(conn: &mut AnyConnection, sql: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(sql).fetch_all(&mut *conn).await
}

/// Generates `scale` on top of the demo company. `pepper` hashes keys as the server does;
/// `sample` keys are kept in plaintext for the load generator.
pub async fn seed_scale(
    store: &Store,
    scale: Scale,
    pepper: &[u8],
    sample: usize,
    now: i64,
) -> Result<ScaleReport, ScaleError> {
    let mut report = ScaleReport::default();
    let mut clock = Instant::now();
    let mut lap = |report: &mut ScaleReport, part: &'static str| {
        report.timings.push((part, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let pool = store.pool();
    let mut conn = pool.acquire().await?;
    let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(&mut *conn)
        .await?;
    if people == 0 {
        drop(conn);
        super::seed::seed_demo(store, now)
            .await
            .map_err(|e| ScaleError::Demo(e.to_string()))?;
        conn = pool.acquire().await?;
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE slug = 'team-0001'")
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(ScaleError::AlreadySeeded);
    }

    // Teams.
    let mut tx = pool.begin().await?;
    report.teams = insert_rows(
        &mut tx,
        "INSERT INTO teams (slug, name, description, created_at) VALUES ",
        (1..=scale.teams).map(|t| {
            let domain = DOMAINS[t % DOMAINS.len()];
            format!(
                "('team-{t:04}', '{} {t}', 'Owns {domain} services.', {now})",
                capitalize(domain)
            )
        }),
        500,
    )
    .await?;
    let team_ids = ids(
        &mut tx,
        "SELECT id FROM teams WHERE slug LIKE 'team-%' ORDER BY slug",
    )
    .await?;
    tx.commit().await?;

    // People: a reporting tree twenty wide (person i reports to person (i - 1) / 20), one in
    // twenty a contractor sponsored by their manager.
    let mut tx = pool.begin().await?;
    report.people = insert_rows(
        &mut tx,
        "INSERT INTO people (email, name, kind, title, department, company, created_at, updated_at) VALUES ",
        (0..scale.people).map(|i| {
            let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
            format!(
                "('p{i:06}@scale.example.com', '{name} {i}', 'employee', 'Engineer', '{}', 'Example Corp', {now}, {now})",
                capitalize(DOMAINS[i % DOMAINS.len()])
            )
        }),
        500,
    )
    .await?;
    let person_ids = ids(
        &mut tx,
        "SELECT id FROM people WHERE email LIKE '%@scale.example.com' ORDER BY email",
    )
    .await?;
    for (i, id) in person_ids.iter().enumerate().skip(1) {
        let manager = person_ids[(i - 1) / 20];
        if i % 20 == 7 {
            sqlx::query(
                "UPDATE people SET manager_id = $2, sponsor_id = $2, kind = 'contractor', company = 'Contracting Ltd', contract_ends_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(manager)
            .bind(now + 120 * DAY)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("UPDATE people SET manager_id = $2 WHERE id = $1")
                .bind(id)
                .bind(manager)
                .execute(&mut *tx)
                .await?;
        }
    }
    // Each team: an owner and nine members.
    insert_rows(
        &mut tx,
        "INSERT INTO team_members (team_id, person_id, role, added_at) VALUES ",
        team_ids.iter().enumerate().flat_map(|(t, team)| {
            let person_ids = &person_ids;
            (0..10).filter_map(move |m| {
                let i = (t * 37 + m * 1_009) % person_ids.len();
                // Contractors own nothing.
                (i % 20 != 7).then(|| {
                    format!(
                        "({team}, {}, '{}', {now})",
                        person_ids[i],
                        if m == 0 { "owner" } else { "member" }
                    )
                })
            })
        }),
        500,
    )
    .await?;
    tx.commit().await?;
    lap(&mut report, "teams and people");

    // APIs through the real publishing pipeline, committed in batches.
    let mut api_rows: Vec<ApiRow> = Vec::with_capacity(scale.apis);
    for chunk_start in (0..scale.apis).step_by(200) {
        let mut tx = pool.begin().await?;
        for i in chunk_start..(chunk_start + 200).min(scale.apis) {
            let domain = DOMAINS[i % DOMAINS.len()];
            let noun = NOUNS[(i / DOMAINS.len()) % NOUNS.len()];
            let slug = format!("{domain}-{noun}-{i:05}");
            let title = format!("{} {} API {i}", capitalize(domain), capitalize(noun));
            let team = team_ids[i % team_ids.len()];
            // One API in five is for employees only: contractors see a restricted catalog.
            let visibility = if i % 5 == 0 { "employees" } else { "everyone" };
            let api_id: i64 = sqlx::query_scalar(
                "INSERT INTO apis (slug, name, owner_team_id, lifecycle, visibility, created_at, updated_at)
                 VALUES ($1, $2, $3, 'production', $4, $5, $5) RETURNING id",
            )
            .bind(&slug)
            .bind(&title)
            .bind(team)
            .bind(visibility)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let base = format!("https://{slug}.internal.example.com/v1");
            let meta = ApiMetadata::parse(&ApiEdit {
                name: title.clone(),
                summary: format!("{} operations on {noun}s for the {domain} platform.", capitalize(noun)),
                description_md: format!("# {title}\n\nServes **{noun}s** for {domain}. Ask for `read:{noun}` to read and `write:{noun}` to change."),
                lifecycle: "production".into(),
                visibility: visibility.into(),
                tags: format!("{domain},{noun}"),
                repository_url: String::new(),
                runbook_url: String::new(),
                chat_channel: String::new(),
                environments: vec![
                    EnvironmentInput { name: "production".into(), base_url: base.clone() },
                    EnvironmentInput { name: "staging".into(), base_url: base.replace(".internal.", ".staging.") },
                ],
                scopes: vec![
                    ScopeInput { name: format!("read:{noun}"), description: format!("Read {noun}s"), risk: "low".into() },
                    ScopeInput { name: format!("write:{noun}"), description: format!("Change {noun}s"), risk: "high".into() },
                ],
                revision: None,
            })
            .map_err(|p| ScaleError::Publish(slug.clone(), p.join("; ")))?;
            store_metadata(
                &mut tx,
                api_id,
                &slug,
                &meta,
                &render_description(&slug, &meta.description_md),
                now,
            )
            .await
            .map_err(|e| ScaleError::Publish(slug.clone(), e.to_string()))?;
            let spec = generated_spec(&slug, &title, noun, scale.operations_per_api);
            let version = prepare_version(
                &slug,
                Some(&base),
                VersionInput {
                    label: "1.0.0".into(),
                    status: VersionStatus::Current,
                    release_notes: String::new(),
                    spec: Some(("openapi.json".into(), spec.into_bytes())),
                },
                DEFAULT_MAX_SPEC_BYTES,
            )
            .map_err(|p| {
                ScaleError::Publish(
                    slug.clone(),
                    p.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            write_version(
                &mut tx,
                api_id,
                &slug,
                &version,
                Some(&[]),
                Origin::Import,
                now,
            )
            .await?;
            let envs = ids(
                &mut tx,
                &format!(
                    "SELECT id FROM environments WHERE api_id = {api_id} ORDER BY position, name"
                ),
            )
            .await?;
            let scopes = ids(
                &mut tx,
                &format!("SELECT id FROM scopes WHERE api_id = {api_id} ORDER BY name"),
            )
            .await?;
            api_rows.push((api_id, envs, scopes, slug, noun));
            report.operations += scale.operations_per_api;
        }
        tx.commit().await?;
    }
    report.apis = api_rows.len();
    lap(&mut report, "APIs (published specs)");

    // Access requests: 70% approved (with a grant), 10% pending, 10% rejected, 10% expired.
    // (grant id, person id, index in api_rows, environment name)
    let mut grants: Vec<(i64, i64, usize, &'static str)> = Vec::new();
    // Requests expire and are reminded as the default access limits say.
    let limits = crate::domain::access::AccessLimits::default();
    let expiry_days = i64::from(limits.request_expiry_days);
    let pending_days = expiry_days - i64::from(limits.reminder_days_before) - 1;
    for chunk_start in (0..scale.requests).step_by(500) {
        let mut tx = pool.begin().await?;
        let range = chunk_start..(chunk_start + 500).min(scale.requests);
        let plan: Vec<Planned> = range
            .clone()
            .map(|r| {
                let person_index = (r * 7_919) % person_ids.len();
                let api_index = (r * 31) % api_rows.len();
                let (api_id, envs, scopes, ..) = &api_rows[api_index];
                let state = match r % 10 {
                    0..=6 => "approved",
                    7 => "pending",
                    8 => "rejected",
                    _ => "expired",
                };
                Planned {
                    person: person_ids[person_index],
                    manager: (person_index > 0).then(|| person_ids[(person_index - 1) / 20]),
                    contractor: person_index % 20 == 7,
                    api: *api_id,
                    api_index,
                    environment: envs[r % envs.len()],
                    environment_name: if r % envs.len() == 0 {
                        "production"
                    } else {
                        "staging"
                    },
                    // write (high risk) on one request in four, so some go to the API's owners.
                    scopes: if r % 4 == 0 {
                        scopes.clone()
                    } else {
                        vec![scopes[0]]
                    },
                    state,
                    // Pending ones are younger than their reminder (the default limits): a
                    // company's job passes keep up with their requests, so the data starts with
                    // none overdue and no reminder owed, not with a backlog the first passes
                    // after start-up would work through.
                    created: if state == "pending" {
                        now - ((r / 10) as i64 % pending_days + 1) * DAY
                    } else {
                        now - ((r % 90) as i64 + 1) * DAY
                    },
                }
            })
            .collect();
        let request_ids: Vec<i64> = {
            let mut sql = String::from(
                "INSERT INTO access_requests (requester_id, api_id, environment_id, environment_name, justification, duration_days, sponsor_id, state, created_at, updated_at, expires_at, decided_at) VALUES ",
            );
            for (k, p) in plan.iter().enumerate() {
                if k > 0 {
                    sql.push(',');
                }
                let decided = if p.state == "pending" {
                    "NULL".to_owned()
                } else {
                    (p.created + DAY).to_string()
                };
                sql.push_str(&format!(
                    "({}, {}, {}, '{}', 'Generated: the nightly reconciliation job reads these records.', 90, {}, '{}', {}, {}, {}, {decided})",
                    p.person,
                    p.api,
                    p.environment,
                    p.environment_name,
                    p.contractor.then_some(p.manager).flatten().map_or("NULL".to_owned(), |m| m.to_string()),
                    p.state,
                    p.created,
                    p.created + DAY,
                    p.created + expiry_days * DAY,
                ));
            }
            sql.push_str(" RETURNING id");
            sqlx::query_scalar(&sql).fetch_all(&mut *tx).await?
        };
        insert_rows(
            &mut tx,
            "INSERT INTO access_request_scopes (request_id, scope_id) VALUES ",
            request_ids
                .iter()
                .zip(&plan)
                .flat_map(|(id, p)| p.scopes.iter().map(move |s| format!("({id}, {s})"))),
            1_000,
        )
        .await?;
        // Stages: the manager (or, without one, the owning team), and the API's owners for
        // high risk. Approved requests have every stage approved; rejected ones end at the first.
        report.steps += insert_rows(
            &mut tx,
            "INSERT INTO approval_steps (request_id, revision, position, approver_kind, approver_team_id, approver_person_id, state, pending_since, decided_by, decided_at, comment) VALUES ",
            request_ids.iter().zip(&plan).flat_map(|(id, p)| {
                let mut steps = Vec::new();
                let high = p.scopes.len() > 1;
                let (first_state, second_state) = match p.state {
                    "approved" => ("approved", "approved"),
                    "pending" => ("pending", "waiting"),
                    "rejected" => ("rejected", "waiting"),
                    _ => ("pending", "waiting"),
                };
                let decided = |state: &str, who: Option<i64>| {
                    if state == "approved" || state == "rejected" {
                        (who.map_or("NULL".to_owned(), |w| w.to_string()), (p.created + DAY).to_string())
                    } else {
                        ("NULL".to_owned(), "NULL".to_owned())
                    }
                };
                let pending_since = |state: &str| if state == "waiting" { "NULL".to_owned() } else { p.created.to_string() };
                match p.manager {
                    Some(m) => {
                        let (by, at) = decided(first_state, Some(m));
                        // A contractor's first stage is their sponsor (here, their manager).
                        let kind = if p.contractor { "sponsor" } else { "manager" };
                        steps.push(format!("({id}, 1, 0, '{kind}', NULL, {m}, '{first_state}', {}, {by}, {at}, NULL)", pending_since(first_state)));
                    }
                    None => {
                        steps.push(format!("({id}, 1, 0, 'api_owner', (SELECT owner_team_id FROM apis WHERE id = {}), NULL, '{first_state}', {}, NULL, {}, NULL)", p.api, pending_since(first_state), decided(first_state, None).1));
                    }
                }
                if high {
                    let (by, at) = decided(second_state, p.manager);
                    steps.push(format!("({id}, 1, 1, 'api_owner', (SELECT owner_team_id FROM apis WHERE id = {}), NULL, '{second_state}', {}, {by}, {at}, NULL)", p.api, pending_since(second_state)));
                }
                steps
            }),
            500,
        )
        .await?;
        let approved: Vec<(i64, &Planned)> = request_ids
            .iter()
            .copied()
            .zip(&plan)
            .filter(|(_, p)| p.state == "approved")
            .collect();
        if !approved.is_empty() {
            let mut sql = String::from(
                "INSERT INTO grants (person_id, api_id, environment_id, request_id, granted_at, expires_at) VALUES ",
            );
            for (k, (id, p)) in approved.iter().enumerate() {
                if k > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({}, {}, {}, {id}, {}, {})",
                    p.person,
                    p.api,
                    p.environment,
                    p.created + DAY,
                    now + 365 * DAY
                ));
            }
            sql.push_str(" RETURNING id");
            let grant_ids: Vec<i64> = sqlx::query_scalar(&sql).fetch_all(&mut *tx).await?;
            insert_rows(
                &mut tx,
                "INSERT INTO grant_scopes (grant_id, scope_id) VALUES ",
                grant_ids
                    .iter()
                    .zip(&approved)
                    .flat_map(|(g, (_, p))| p.scopes.iter().map(move |s| format!("({g}, {s})"))),
                1_000,
            )
            .await?;
            grants.extend(
                grant_ids
                    .into_iter()
                    .zip(&approved)
                    .map(|(g, (_, p))| (g, p.person, p.api_index, p.environment_name)),
            );
        }
        tx.commit().await?;
    }
    report.requests = scale.requests;
    report.grants = grants.len();
    lap(&mut report, "access requests, stages and grants");

    // Keys under the grants (their scopes: the grant's), hashed under the pepper.
    if !grants.is_empty() && scale.keys > 0 {
        let hasher = keys::KeyHasher::new(pepper);
        let every = (scale.keys / sample.max(1)).max(1);
        for chunk_start in (0..scale.keys).step_by(10_000) {
            let mut tx = pool.begin().await?;
            let range = chunk_start..(chunk_start + 10_000).min(scale.keys);
            let sample_keys = &mut report.sample_keys;
            insert_rows(
                &mut tx,
                "INSERT INTO api_keys (grant_id, person_id, name, lookup_id, secret_hash, created_at, expires_at, environment_marker) VALUES ",
                range.map(|n| {
                    let (grant, person, api_index, environment) = grants[n % grants.len()];
                    let (key, lookup) = keys::generate(environment);
                    let hash = super::secrets::encode_hex(&hasher.hash(&key));
                    if n % every == 0 && sample_keys.len() < sample {
                        let (.., slug, noun) = &api_rows[api_index];
                        sample_keys.push(SampleKey {
                            key,
                            api: slug.clone(),
                            environment,
                            path: format!("/{noun}s"),
                        });
                    }
                    format!(
                        "({grant}, {person}, 'app-{}', '{lookup}', '{hash}', {now}, {}, '{}')",
                        n / grants.len(),
                        now + 300 * DAY,
                        keys::environment_marker(environment)
                    )
                }),
                500,
            )
            .await?;
            tx.commit().await?;
        }
        // Every key carries its grant's scopes.
        sqlx::query(
            "INSERT INTO api_key_scopes (key_id, scope_id)
             SELECT k.id, gs.scope_id FROM api_keys k JOIN grant_scopes gs ON gs.grant_id = k.grant_id
             WHERE k.name LIKE 'app-%'",
        )
        .execute(pool)
        .await?;
        report.keys = scale.keys;
    }
    lap(&mut report, "keys");
    Ok(report)
}

/// A generated API as the later parts need it: id, environment ids (production first), scope ids
/// (read first), slug and noun.
type ApiRow = (i64, Vec<i64>, Vec<i64>, String, &'static str);

struct Planned {
    api_index: usize,
    person: i64,
    manager: Option<i64>,
    contractor: bool,
    api: i64,
    environment: i64,
    environment_name: &'static str,
    scopes: Vec<i64>,
    state: &'static str,
    created: i64,
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
