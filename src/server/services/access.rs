//! Access requests and approvals: submitting, deciding stages, sending back, resubmitting and
//! cancelling; the grants that approval creates and their revocation; each API's policy and the
//! admins' global limits; delegations. The rules of the request's life are in
//! [`crate::domain::access`]; this module checks who may act and writes what the rules allow,
//! each change in one transaction with its timeline entry, audit event and notifications.

use crate::domain::access::{
    AccessLimits, Approver, Evaluation, Justification, Outcome, Policy, Stage, Workflow,
    overall_risk, parse_comment,
};
use crate::domain::catalog::ApiSlug;
use crate::model::{
    ApiRef, ApprovalPreview, ApproverKind, BulkOutcome, Decision, DelegationView, GrantView,
    InboxItem, Lifecycle, PersonKind, PersonRef, PolicyEdit, RequestForm, RequestInput,
    RequestState, RequestSummary, RequestView, Risk, ScopeView, StageView, StepState,
    TimelineEvent,
};
use crate::server::actor::Actor;
use crate::server::authz;
use crate::server::db::Store;
use crate::server::db::catalog::Viewer;
use crate::server::error::ServiceError;
use crate::server::services::audit::{self, Action, Event, Who};
use crate::server::services::notify::{self, Note};
use sqlx::{AnyConnection, Row};

const DAY: i64 = 86_400;
const SETTINGS_KEY: &str = "access_limits";

fn store_err(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}

fn decode<T: std::str::FromStr>(value: &str) -> Result<T, sqlx::Error>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(store_err)
}

/// Records an audit event inside the caller's transaction, so it commits with the change.
async fn audited(
    conn: &mut AnyConnection,
    who: Who,
    action: Action,
    (target_kind, target_id): (&'static str, impl ToString),
    details: serde_json::Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    let event = Event {
        who,
        action,
        target_kind,
        target_id: target_id.to_string(),
        details,
        ip: None,
    };
    audit::record(conn, &event, now).await.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Global limits

/// The admins' global limits, or the defaults until they set any.
pub async fn limits(conn: &mut AnyConnection) -> Result<AccessLimits, sqlx::Error> {
    let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(SETTINGS_KEY)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(value
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

pub async fn get_limits(store: &Store, actor: &Actor) -> Result<AccessLimits, ServiceError> {
    authz::manage_org(actor).ok_or(ServiceError::Forbidden)?;
    let mut conn = store.pool().acquire().await?;
    Ok(limits(&mut conn).await?)
}

/// Admins change the global limits. Policies stored before keep working: their durations are
/// lowered to the new limits when a request is evaluated.
pub async fn set_limits(
    store: &Store,
    actor: &Actor,
    new: &AccessLimits,
    now: i64,
) -> Result<(), ServiceError> {
    authz::manage_org(actor).ok_or(ServiceError::Forbidden)?;
    new.check()
        .map_err(|p| ServiceError::Invalid(p.join(" ")))?;
    let mut tx = audit::write_tx(store).await?;
    if let Some(team) = &new.security_team {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE slug = $1")
            .bind(team)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(ServiceError::Invalid(format!(
                "There is no team '{team}' to be the security team."
            )));
        }
    }
    let value = serde_json::to_string(new).map_err(store_err)?;
    sqlx::query(
        "INSERT INTO settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET value = $2, updated_by = $3, updated_at = $4",
    )
    .bind(SETTINGS_KEY)
    .bind(&value)
    .bind(actor.person_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audited(
        &mut tx,
        Who::actor(actor),
        Action::SettingsChanged,
        ("settings", SETTINGS_KEY),
        serde_json::to_value(new).map_err(store_err)?,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The API and the people involved

struct ApiRow {
    id: i64,
    slug: String,
    name: String,
    owner_team_id: i64,
    lifecycle: Lifecycle,
}

/// An API the actor may see, or NotFound (a hidden API is not admitted to exist).
async fn visible_api(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<ApiRow, ServiceError> {
    let not_found = || ServiceError::NotFound("The API".into());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let viewer = Viewer::new(actor, now);
    let (id, _, _) =
        crate::server::db::catalog::find_visible_name(store.pool(), &viewer, slug.as_str())
            .await?
            .ok_or_else(not_found)?;
    api_row(&mut *store.pool().acquire().await?, id).await
}

async fn api_row(conn: &mut AnyConnection, id: i64) -> Result<ApiRow, ServiceError> {
    let r = sqlx::query("SELECT id, slug, name, owner_team_id, lifecycle FROM apis WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(ApiRow {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        owner_team_id: r.try_get("owner_team_id")?,
        lifecycle: decode(&r.try_get::<String, _>("lifecycle")?)?,
    })
}

struct PersonRow {
    id: i64,
    name: String,
    email: String,
    kind: PersonKind,
    manager_id: Option<i64>,
    sponsor_id: Option<i64>,
    contract_ends_at: Option<i64>,
    active: bool,
}

async fn person(conn: &mut AnyConnection, id: i64) -> Result<Option<PersonRow>, sqlx::Error> {
    sqlx::query(
        "SELECT id, name, email, kind, manager_id, sponsor_id, contract_ends_at, deactivated_at FROM people WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        Ok(PersonRow {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            kind: decode(&r.try_get::<String, _>("kind")?)?,
            manager_id: r.try_get("manager_id")?,
            sponsor_id: r.try_get("sponsor_id")?,
            contract_ends_at: r.try_get("contract_ends_at")?,
            active: r.try_get::<Option<i64>, _>("deactivated_at")?.is_none(),
        })
    })
    .transpose()
}

async fn person_ref(conn: &mut AnyConnection, id: i64) -> Result<Option<PersonRef>, sqlx::Error> {
    Ok(person(conn, id).await?.map(|p| PersonRef {
        name: p.name,
        email: p.email,
    }))
}

async fn team_name(conn: &mut AnyConnection, id: i64) -> Result<String, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT name FROM teams WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_else(|| "a removed team".into()),
    )
}

async fn team_id(conn: &mut AnyConnection, slug: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM teams WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await
}

/// Whom a stage goes to: one person, or a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Person(i64),
    Team(i64),
}

/// Turns a policy stage into the person or team that decides it, for this requester and API.
/// The manager stage walks up the reporting line past the requester and anyone deactivated; with
/// nobody left it goes to the owning team. A sponsor who is gone also hands over to the team.
async fn resolve(
    conn: &mut AnyConnection,
    stage: &Approver,
    requester: &PersonRow,
    owner_team_id: i64,
    limits: &AccessLimits,
) -> Result<Target, ServiceError> {
    Ok(match stage {
        Approver::Manager => {
            let mut next = requester.manager_id;
            let mut hops = 0;
            loop {
                hops += 1;
                let Some(id) = next else {
                    break Target::Team(owner_team_id);
                };
                if hops > 32 {
                    break Target::Team(owner_team_id);
                }
                match person(conn, id).await? {
                    Some(p) if p.id != requester.id && p.active => break Target::Person(p.id),
                    Some(p) => next = p.manager_id,
                    None => break Target::Team(owner_team_id),
                }
            }
        }
        Approver::ApiOwner => Target::Team(owner_team_id),
        Approver::Sponsor => match requester.sponsor_id {
            Some(id) if id != requester.id => match person(conn, id).await? {
                Some(p) if p.active => Target::Person(p.id),
                _ => Target::Team(owner_team_id),
            },
            _ => Target::Team(owner_team_id),
        },
        Approver::Security => {
            let slug = limits.security_team.as_deref().ok_or_else(|| {
                ServiceError::Conflict(
                    "This API's policy names a security stage, but the admins have not named a security team."
                        .into(),
                )
            })?;
            Target::Team(team_id(conn, slug).await?.ok_or_else(|| {
                ServiceError::Conflict(format!("The security team '{slug}' no longer exists."))
            })?)
        }
        Approver::Team(slug) => Target::Team(team_id(conn, slug).await?.ok_or_else(|| {
            ServiceError::Conflict(format!(
                "This API's policy names the team '{slug}', which no longer exists."
            ))
        })?),
    })
}

async fn target_label(
    conn: &mut AnyConnection,
    kind: ApproverKind,
    target: Target,
) -> Result<String, sqlx::Error> {
    Ok(match target {
        Target::Person(id) => person_ref(conn, id)
            .await?
            .map(|p| p.name)
            .unwrap_or_else(|| "a removed person".into()),
        Target::Team(id) => {
            let name = team_name(conn, id).await?;
            if owners_only(kind) {
                format!("owners of {name}")
            } else {
                format!("members of {name}")
            }
        }
    })
}

/// Stages given to a team by role (API owner, or a manager or sponsor fallen back to the owning
/// team) are for its owners; security and named-team stages for any member.
fn owners_only(kind: ApproverKind) -> bool {
    matches!(
        kind,
        ApproverKind::Manager | ApproverKind::ApiOwner | ApproverKind::Sponsor
    )
}

// ---------------------------------------------------------------------------------------------
// Policies

/// An API's policy: its own, or the default. A stored policy was checked when saved; limits
/// lowered since apply at evaluation.
pub(crate) async fn policy_of(
    conn: &mut AnyConnection,
    api_id: i64,
) -> Result<(Policy, bool), sqlx::Error> {
    let doc: Option<String> = sqlx::query_scalar("SELECT document FROM policies WHERE api_id = $1")
        .bind(api_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match doc.and_then(|d| Policy::read_stored(&d)) {
        Some(p) => (p, false),
        None => (Policy::default_policy(), true),
    })
}

async fn environments(conn: &mut AnyConnection, api_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM environments WHERE api_id = $1 ORDER BY position, name")
        .bind(api_id)
        .fetch_all(&mut *conn)
        .await
}

async fn scopes(
    conn: &mut AnyConnection,
    api_id: i64,
) -> Result<Vec<(i64, ScopeView)>, sqlx::Error> {
    sqlx::query("SELECT id, name, description, risk FROM scopes WHERE api_id = $1 ORDER BY name")
        .bind(api_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                ScopeView {
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    risk: decode(&r.try_get::<String, _>("risk")?)?,
                },
            ))
        })
        .collect()
}

async fn editable_api(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<(authz::EditApi, ApiRow), ServiceError> {
    let api = visible_api(store, actor, slug, now).await?;
    let can = authz::edit_api(actor, api.id, api.owner_team_id).ok_or(ServiceError::Forbidden)?;
    Ok((can, api))
}

pub async fn get_policy(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<PolicyEdit, ServiceError> {
    let (can, api) = editable_api(store, actor, slug, now).await?;
    let mut conn = store.pool().acquire().await?;
    let row = sqlx::query(
        "SELECT p.document, p.updated_at, u.email FROM policies p LEFT JOIN people u ON u.id = p.updated_by WHERE p.api_id = $1",
    )
    .bind(can.api_id())
    .fetch_optional(&mut *conn)
    .await?;
    let (document, updated_at, updated_by) = match row {
        Some(r) => (
            r.try_get::<String, _>("document")?,
            Some(r.try_get::<i64, _>("updated_at")?),
            r.try_get::<Option<String>, _>("email")?,
        ),
        None => (Policy::default_document().to_owned(), None, None),
    };
    Ok(PolicyEdit {
        api: ApiRef {
            slug: api.slug,
            name: api.name,
        },
        revision: policy_revision(updated_at.is_some().then_some(document.as_str())),
        is_default: updated_at.is_none(),
        document,
        environments: environments(&mut conn, can.api_id()).await?,
        scopes: scopes(&mut conn, can.api_id())
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
        limits: limits(&mut conn).await?,
        updated_at,
        updated_by,
    })
}

/// What the policy editor was loaded with, as a short fingerprint: `default`, or a hash of the
/// API's own document.
fn policy_revision(document: Option<&str>) -> String {
    match document {
        None => "default".into(),
        Some(text) => crate::server::secrets::sha256_hex(text)[..16].to_owned(),
    }
}

/// Saves an API's policy after checking it whole; `None` goes back to the default. With `seen`
/// (the editor's [`PolicyEdit::revision`]), the save is refused when the policy changed since
/// the editor was loaded: a second owner's save would otherwise undo the first's unseen.
pub async fn save_policy(
    store: &Store,
    actor: &Actor,
    slug: &str,
    document: Option<&str>,
    seen: Option<&str>,
    now: i64,
) -> Result<(), ServiceError> {
    let (can, api) = editable_api(store, actor, slug, now).await?;
    let mut tx = audit::write_tx(store).await?;
    if let Some(seen) = seen {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT document FROM policies WHERE api_id = $1")
                .bind(can.api_id())
                .fetch_optional(&mut *tx)
                .await?;
        if policy_revision(stored.as_deref()) != seen {
            return Err(ServiceError::Conflict(
                "Someone saved this API's policy after you opened it, so nothing was saved. \
                 Reload to see their policy, then make your change again."
                    .into(),
            ));
        }
    }
    match document {
        Some(text) => {
            let limits = limits(&mut tx).await?;
            let envs = environments(&mut tx, can.api_id()).await?;
            let teams: Vec<String> = sqlx::query_scalar("SELECT slug FROM teams")
                .fetch_all(&mut *tx)
                .await?;
            let policy = Policy::parse(text, &limits, &envs, |t| teams.iter().any(|s| s == t))
                .map_err(|p| ServiceError::Invalid(p.join("\n")))?;
            sqlx::query(
                "INSERT INTO policies (api_id, document, updated_by, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (api_id) DO UPDATE SET document = $2, updated_by = $3, updated_at = $4",
            )
            .bind(can.api_id())
            .bind(policy.to_document())
            .bind(actor.person_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM policies WHERE api_id = $1")
                .bind(can.api_id())
                .execute(&mut *tx)
                .await?;
        }
    }
    audited(
        &mut tx,
        Who::actor(actor),
        Action::PolicyChanged,
        ("api", &api.slug),
        serde_json::json!({ "default": document.is_none() }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Scope names checked against the API's: every one must be the API's, none twice, at least one.
fn pick_scopes(
    all: &[(i64, ScopeView)],
    asked: &[String],
) -> Result<Vec<(i64, ScopeView)>, ServiceError> {
    let mut picked: Vec<(i64, ScopeView)> = Vec::new();
    let mut unknown = Vec::new();
    for name in asked {
        let name = name.trim();
        if picked.iter().any(|(_, s)| s.name == name) {
            continue;
        }
        match all.iter().find(|(_, s)| s.name == name) {
            Some(s) => picked.push(s.clone()),
            None => unknown.push(format!("'{}'", name.chars().take(60).collect::<String>())),
        }
    }
    if !unknown.is_empty() {
        return Err(ServiceError::Invalid(format!(
            "This API has no scope {}.",
            unknown.join(", ")
        )));
    }
    if picked.is_empty() {
        return Err(ServiceError::Invalid("Choose at least one scope.".into()));
    }
    picked.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    Ok(picked)
}

async fn preview_for(
    conn: &mut AnyConnection,
    api: &ApiRow,
    requester: &PersonRow,
    environment: &str,
    risk: Risk,
) -> Result<ApprovalPreview, ServiceError> {
    let limits = limits(conn).await?;
    let (policy, _) = policy_of(conn, api.id).await?;
    let Some(ev) = policy.evaluate(requester.kind, environment, risk, &limits) else {
        return Ok(ApprovalPreview {
            stages: None,
            max_days: 0,
            default_days: 0,
            rule: None,
            message: Some(format!(
                "This API's policy allows no {} request for {} scopes in {environment}.",
                requester.kind.as_str(),
                risk.as_str()
            )),
        });
    };
    let mut stages = Vec::new();
    let mut message = None;
    for stage in &ev.stages {
        match resolve(conn, stage, requester, api.owner_team_id, &limits).await {
            Ok(target) => {
                let who = target_label(conn, stage.kind(), target).await?;
                stages.push(crate::model::StagePreview {
                    kind: stage.kind(),
                    who,
                });
            }
            Err(ServiceError::Conflict(m)) => message = Some(m),
            Err(e) => return Err(e),
        }
    }
    Ok(ApprovalPreview {
        stages: Some(stages),
        max_days: ev.max_days,
        default_days: ev.default_days,
        rule: Some(ev.rule),
        message,
    })
}

/// For an API's owners: who would approve a request from this person for these scopes?
pub async fn preview_policy(
    store: &Store,
    actor: &Actor,
    slug: &str,
    person_email: &str,
    environment: &str,
    scope_names: &[String],
    now: i64,
) -> Result<ApprovalPreview, ServiceError> {
    let (_, api) = editable_api(store, actor, slug, now).await?;
    let mut conn = store.pool().acquire().await?;
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM people WHERE lower(email) = lower($1)")
            .bind(person_email.trim())
            .fetch_optional(&mut *conn)
            .await?;
    let requester = match id {
        Some(id) => person(&mut conn, id).await?,
        None => None,
    }
    .ok_or_else(|| {
        ServiceError::Invalid(format!("Nobody has the email '{}'.", person_email.trim()))
    })?;
    let all = scopes(&mut conn, api.id).await?;
    let picked = pick_scopes(&all, scope_names)?;
    check_environment(&mut conn, api.id, environment).await?;
    let risk = overall_risk(picked.iter().map(|(_, s)| s.risk));
    preview_for(&mut conn, &api, &requester, environment, risk).await
}

async fn check_environment(
    conn: &mut AnyConnection,
    api_id: i64,
    environment: &str,
) -> Result<i64, ServiceError> {
    sqlx::query_scalar("SELECT id FROM environments WHERE api_id = $1 AND name = $2")
        .bind(api_id)
        .bind(environment)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            ServiceError::Invalid(format!(
                "This API has no environment '{}'.",
                environment.chars().take(60).collect::<String>()
            ))
        })
}

// ---------------------------------------------------------------------------------------------
// Requesting

/// The request form for an API: its environments and scopes, and starting values from a grant
/// the person already holds.
pub async fn request_form(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<RequestForm, ServiceError> {
    let api = visible_api(store, actor, slug, now).await?;
    let mut conn = store.pool().acquire().await?;
    let me = person(&mut conn, actor.person_id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    let sponsor = match me.sponsor_id {
        Some(id) if me.kind == PersonKind::Contractor => person_ref(&mut conn, id).await?,
        _ => None,
    };
    let held: Vec<GrantView> = grants_where(
        &mut conn,
        "g.person_id = $1 AND g.api_id = $2",
        &[actor.person_id, api.id],
        actor,
        now,
    )
    .await?
    .into_iter()
    .filter(|g| g.active)
    .collect();
    let pending_request: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM access_requests WHERE requester_id = $1 AND api_id = $2 AND state = 'pending' ORDER BY id DESC",
    )
    .bind(actor.person_id)
    .bind(api.id)
    .fetch_optional(&mut *conn)
    .await?;
    let envs = environments(&mut conn, api.id).await?;
    let scopes: Vec<ScopeView> = scopes(&mut conn, api.id)
        .await?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let prefill = match held.iter().max_by_key(|g| g.ends_at) {
        Some(g) => {
            let asked: Option<(String, i64)> =
                match g.request_id {
                    Some(id) => sqlx::query_as(
                        "SELECT justification, duration_days FROM access_requests WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?,
                    None => None,
                };
            let (justification, days) = asked.unzip();
            RequestInput {
                environment: g.environment.clone(),
                scopes: g.scopes.clone(),
                justification: justification.unwrap_or_default(),
                duration_days: days.map(|d| d.to_string()).unwrap_or_default(),
            }
        }
        None => RequestInput {
            environment: envs.first().cloned().unwrap_or_default(),
            ..RequestInput::default()
        },
    };
    Ok(RequestForm {
        api: ApiRef {
            slug: api.slug,
            name: api.name,
        },
        team: crate::model::TeamRef {
            slug: sqlx::query_scalar("SELECT slug FROM teams WHERE id = $1")
                .bind(api.owner_team_id)
                .fetch_one(&mut *conn)
                .await?,
            name: team_name(&mut conn, api.owner_team_id).await?,
        },
        retired: api.lifecycle == Lifecycle::Retired,
        environments: envs,
        scopes,
        kind: me.kind,
        sponsor,
        prefill,
        held,
        pending_request,
    })
}

/// For the requester: who would approve this, and for how long at most.
pub async fn preview_request(
    store: &Store,
    actor: &Actor,
    slug: &str,
    environment: &str,
    scope_names: &[String],
    now: i64,
) -> Result<ApprovalPreview, ServiceError> {
    let api = visible_api(store, actor, slug, now).await?;
    let mut conn = store.pool().acquire().await?;
    let me = person(&mut conn, actor.person_id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    check_environment(&mut conn, api.id, environment).await?;
    let all = scopes(&mut conn, api.id).await?;
    let risk = if scope_names.is_empty() {
        Risk::Low
    } else {
        overall_risk(pick_scopes(&all, scope_names)?.iter().map(|(_, s)| s.risk))
    };
    preview_for(&mut conn, &api, &me, environment, risk).await
}

/// A request's input, checked against the API, the policy and the person.
struct Checked {
    environment_id: i64,
    environment: String,
    scopes: Vec<(i64, ScopeView)>,
    justification: Justification,
    duration_days: u32,
    evaluation: Evaluation,
    targets: Vec<(ApproverKind, Target)>,
}

async fn check_input(
    conn: &mut AnyConnection,
    api: &ApiRow,
    requester: &PersonRow,
    input: &RequestInput,
    now: i64,
) -> Result<Checked, ServiceError> {
    if api.lifecycle == Lifecycle::Retired {
        return Err(ServiceError::Conflict(format!(
            "{} is retired: no new access can be requested.",
            api.name
        )));
    }
    let environment_id = check_environment(conn, api.id, input.environment.trim()).await?;
    let all = scopes(conn, api.id).await?;
    let picked = pick_scopes(&all, &input.scopes)?;
    let justification =
        Justification::parse(&input.justification).map_err(ServiceError::Invalid)?;
    let limits = limits(conn).await?;
    let (policy, _) = policy_of(conn, api.id).await?;
    let risk = overall_risk(picked.iter().map(|(_, s)| s.risk));
    let environment = input.environment.trim().to_owned();
    let evaluation = policy
        .evaluate(requester.kind, &environment, risk, &limits)
        .ok_or_else(|| {
            ServiceError::Conflict(format!(
                "This API's policy allows no {} request for {} scopes in {environment}.",
                requester.kind.as_str(),
                risk.as_str()
            ))
        })?;
    let duration_days = match input.duration_days.trim() {
        "" => evaluation.default_days,
        text => text
            .parse::<u32>()
            .ok()
            .filter(|d| *d >= 1)
            .ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "The duration must be a whole number of days from 1 to {}.",
                    evaluation.max_days
                ))
            })?,
    };
    if duration_days > evaluation.max_days {
        return Err(ServiceError::Invalid(format!(
            "The longest this policy allows is {} days; you asked for {duration_days}.",
            evaluation.max_days
        )));
    }
    if requester.kind == PersonKind::Contractor
        && let Some(end) = requester.contract_ends_at
        && end <= now
    {
        return Err(ServiceError::Forbidden);
    }
    let mut targets = Vec::new();
    for stage in &evaluation.stages {
        let target = resolve(conn, stage, requester, api.owner_team_id, &limits).await?;
        targets.push((stage.kind(), target));
    }
    Ok(Checked {
        environment_id,
        environment,
        scopes: picked,
        justification,
        duration_days,
        evaluation,
        targets,
    })
}

/// Refuses a request for what the person already holds for at least as long, and a second
/// pending request for the same API and environment.
async fn check_not_duplicate(
    conn: &mut AnyConnection,
    requester_id: i64,
    api_id: i64,
    checked: &Checked,
    except_request: Option<i64>,
    now: i64,
) -> Result<(), ServiceError> {
    let pending: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM access_requests
         WHERE requester_id = $1 AND api_id = $2 AND environment_id = $3 AND state = 'pending' AND id <> $4",
    )
    .bind(requester_id)
    .bind(api_id)
    .bind(checked.environment_id)
    .bind(except_request.unwrap_or(0))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = pending {
        return Err(ServiceError::Conflict(format!(
            "You already have a pending request for this API in {}: see /requests/{id}.",
            checked.environment
        )));
    }
    let until = now + i64::from(checked.duration_days) * DAY;
    let grants = sqlx::query(
        "SELECT g.id, g.expires_at FROM grants g
         WHERE g.person_id = $1 AND g.api_id = $2 AND g.environment_id = $3
           AND g.revoked_at IS NULL AND g.expires_at >= $4",
    )
    .bind(requester_id)
    .bind(api_id)
    .bind(checked.environment_id)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    for g in grants {
        let grant_id: i64 = g.try_get("id")?;
        let held: Vec<i64> =
            sqlx::query_scalar("SELECT scope_id FROM grant_scopes WHERE grant_id = $1")
                .bind(grant_id)
                .fetch_all(&mut *conn)
                .await?;
        if checked.scopes.iter().all(|(id, _)| held.contains(id)) {
            return Err(ServiceError::Conflict(format!(
                "You already hold these scopes in {} for longer than you asked (grant {grant_id}, see /access).",
                checked.environment
            )));
        }
    }
    Ok(())
}

/// Writes a revision's stages; the first waits for its approvers.
async fn write_stages(
    conn: &mut AnyConnection,
    request_id: i64,
    revision: i64,
    targets: &[(ApproverKind, Target)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for (position, (kind, target)) in targets.iter().enumerate() {
        let (team, person) = match target {
            Target::Team(id) => (Some(*id), None),
            Target::Person(id) => (None, Some(*id)),
        };
        let first = position == 0;
        sqlx::query(
            "INSERT INTO approval_steps (request_id, revision, position, approver_kind, approver_team_id,
                                         approver_person_id, state, pending_since)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(request_id)
        .bind(revision)
        .bind(position as i64)
        .bind(kind.as_str())
        .bind(team)
        .bind(person)
        .bind(if first { "pending" } else { "waiting" })
        .bind(first.then_some(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Appends to a request's timeline; `at` is the request and its revision.
async fn event(
    conn: &mut AnyConnection,
    (request_id, revision): (i64, i64),
    position: Option<usize>,
    actor_id: Option<i64>,
    kind: &str,
    comment: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO request_events (request_id, revision, position, occurred_at, actor_id, kind, comment)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(request_id)
    .bind(revision)
    .bind(position.map(|p| p as i64))
    .bind(now)
    .bind(actor_id)
    .bind(kind)
    .bind(comment)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Submits a request. With no stages it is approved and granted at once.
#[tracing::instrument(skip(store, actor, input), fields(person = actor.person_id))]
pub async fn submit(
    store: &Store,
    actor: &Actor,
    slug: &str,
    input: &RequestInput,
    now: i64,
) -> Result<i64, ServiceError> {
    let api = visible_api(store, actor, slug, now).await?;
    let mut tx = audit::write_tx(store).await?;
    // Read again in the transaction: the API may have been retired or given to another team
    // while this request waited for the write lock (its stages go to the owners of now).
    let api = api_row(&mut tx, api.id).await?;
    let requester = person(&mut tx, actor.person_id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    let checked = check_input(&mut tx, &api, &requester, input, now).await?;
    check_not_duplicate(&mut tx, requester.id, api.id, &checked, None, now).await?;
    let limits = limits(&mut tx).await?;
    let expires_at = now + i64::from(limits.request_expiry_days) * DAY;
    let sponsor = (requester.kind == PersonKind::Contractor)
        .then_some(requester.sponsor_id)
        .flatten();
    let request_id: i64 = sqlx::query_scalar(
        "INSERT INTO access_requests (requester_id, api_id, environment_id, environment_name, justification,
                                      duration_days, sponsor_id, state, created_at, updated_at, expires_at,
                                      revision, policy_rule)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $9, 1, $10) RETURNING id",
    )
    .bind(requester.id)
    .bind(api.id)
    .bind(checked.environment_id)
    .bind(&checked.environment)
    .bind(checked.justification.as_str())
    .bind(i64::from(checked.duration_days))
    .bind(sponsor)
    .bind(now)
    .bind(expires_at)
    .bind(checked.evaluation.rule as i64)
    .fetch_one(&mut *tx)
    .await?;
    for (scope_id, _) in &checked.scopes {
        sqlx::query("INSERT INTO access_request_scopes (request_id, scope_id) VALUES ($1, $2)")
            .bind(request_id)
            .bind(scope_id)
            .execute(&mut *tx)
            .await?;
    }
    write_stages(&mut tx, request_id, 1, &checked.targets, now).await?;
    event(
        &mut tx,
        (request_id, 1),
        None,
        Some(actor.person_id),
        "submitted",
        None,
        now,
    )
    .await?;
    let scope_names: Vec<&str> = checked
        .scopes
        .iter()
        .map(|(_, s)| s.name.as_str())
        .collect();
    audited(
        &mut tx,
        Who::actor(actor),
        Action::AccessRequested,
        ("access_request", request_id),
        serde_json::json!({
            "api": api.slug, "environment": checked.environment, "scopes": scope_names,
            "duration_days": checked.duration_days,
            "stages": checked.targets.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        }),
        now,
    )
    .await?;
    if checked.targets.is_empty() {
        sqlx::query(
            "UPDATE access_requests SET state = 'approved', decided_at = $2, updated_at = $2 WHERE id = $1",
        )
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            (request_id, 1),
            None,
            None,
            "auto_approved",
            None,
            now,
        )
        .await?;
        let grant_id = create_grant(&mut tx, request_id, now).await?;
        notify_requester(&mut tx, request_id, "approved", None, Some(grant_id), now).await?;
    } else {
        notify_stage(&mut tx, request_id, 0, "waiting", now).await?;
    }
    tx.commit().await?;
    Ok(request_id)
}

// ---------------------------------------------------------------------------------------------
// Loading a request

struct RequestRow {
    id: i64,
    requester_id: i64,
    api_id: i64,
    state: RequestState,
    awaiting_changes: bool,
    revision: i64,
    duration_days: i64,
}

async fn request_row(conn: &mut AnyConnection, id: i64) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query(
        "SELECT id, requester_id, api_id, state, awaiting_changes, revision, duration_days
         FROM access_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        Ok(RequestRow {
            id: r.try_get("id")?,
            requester_id: r.try_get("requester_id")?,
            api_id: r.try_get("api_id")?,
            state: decode(&r.try_get::<String, _>("state")?)?,
            awaiting_changes: r.try_get::<i64, _>("awaiting_changes")? != 0,
            revision: r.try_get("revision")?,
            duration_days: r.try_get("duration_days")?,
        })
    })
    .transpose()
}

struct StepRow {
    id: i64,
    position: usize,
    kind: ApproverKind,
    target: Target,
    state: StepState,
    decided_by: Option<i64>,
    decided_at: Option<i64>,
    comment: Option<String>,
}

async fn steps(
    conn: &mut AnyConnection,
    request_id: i64,
    revision: i64,
) -> Result<Vec<StepRow>, sqlx::Error> {
    sqlx::query(
        "SELECT id, position, approver_kind, approver_team_id, approver_person_id, state, decided_by,
                decided_at, comment
         FROM approval_steps WHERE request_id = $1 AND revision = $2 ORDER BY position",
    )
    .bind(request_id)
    .bind(revision)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        let team: Option<i64> = r.try_get("approver_team_id")?;
        let person: Option<i64> = r.try_get("approver_person_id")?;
        Ok(StepRow {
            id: r.try_get("id")?,
            position: r.try_get::<i64, _>("position")? as usize,
            kind: decode(&r.try_get::<String, _>("approver_kind")?)?,
            target: match (team, person) {
                (Some(t), _) => Target::Team(t),
                (None, Some(p)) => Target::Person(p),
                (None, None) => return Err(store_err("a stage without an approver")),
            },
            state: decode(&r.try_get::<String, _>("state")?)?,
            decided_by: r.try_get("decided_by")?,
            decided_at: r.try_get("decided_at")?,
            comment: r.try_get("comment")?,
        })
    })
    .collect()
}

fn workflow(req: &RequestRow, steps: &[StepRow]) -> Workflow {
    Workflow {
        requester: req.requester_id,
        state: req.state,
        awaiting_changes: req.awaiting_changes,
        stages: steps
            .iter()
            .map(|s| Stage {
                state: s.state,
                decided_by: s.decided_by,
            })
            .collect(),
    }
}

/// Whether the actor is among a stage's approvers: the person it names or their delegate for
/// now, or a member of the team it names (an owner, for stages given to a team's owners).
/// Admins may decide any stage, so a request never waits on a team with nobody in it.
/// Contractors decide nothing.
async fn may_decide(
    conn: &mut AnyConnection,
    actor: &Actor,
    step: &StepRow,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if actor.kind == PersonKind::Contractor {
        return Ok(false);
    }
    if actor.is_admin {
        return Ok(true);
    }
    Ok(match step.target {
        Target::Person(id) => {
            id == actor.person_id
                || delegates_for(conn, id, now)
                    .await?
                    .contains(&actor.person_id)
        }
        Target::Team(team) => actor.teams.iter().any(|m| {
            m.team_id == team
                && (m.role == crate::server::actor::TeamRole::Owner || !owners_only(step.kind))
        }),
    })
}

/// Who acts for `person_id` now.
async fn delegates_for(
    conn: &mut AnyConnection,
    person_id: i64,
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT d.delegate_id FROM approval_delegations d JOIN people p ON p.id = d.delegate_id
         WHERE d.person_id = $1 AND d.revoked_at IS NULL AND d.starts_at <= $2 AND d.ends_at > $2
           AND p.deactivated_at IS NULL AND p.kind = 'employee'",
    )
    .bind(person_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
}

/// The people who may decide a stage now, for notifications: the named person and their
/// delegates, or the team's members (owners, where the stage is for owners); never the
/// requester, nobody who decided another stage of this revision.
pub(super) async fn approvers_of(
    conn: &mut AnyConnection,
    request_id: i64,
    position: usize,
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let Some(req) = request_row(conn, request_id).await? else {
        return Ok(Vec::new());
    };
    let steps = steps(conn, request_id, req.revision).await?;
    let Some(step) = steps.iter().find(|s| s.position == position) else {
        return Ok(Vec::new());
    };
    let mut people = match step.target {
        Target::Person(id) => {
            let mut ids = vec![id];
            ids.extend(delegates_for(conn, id, now).await?);
            ids
        }
        Target::Team(team) => {
            sqlx::query_scalar(
                "SELECT m.person_id FROM team_members m JOIN people p ON p.id = m.person_id
                 WHERE m.team_id = $1 AND ($2 = 0 OR m.role = 'owner')
                   AND p.deactivated_at IS NULL AND p.kind = 'employee'",
            )
            .bind(team)
            .bind(i64::from(owners_only(step.kind)))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let deciders: Vec<i64> = steps.iter().filter_map(|s| s.decided_by).collect();
    people.retain(|p| *p != req.requester_id && !deciders.contains(p));
    people.sort();
    people.dedup();
    Ok(people)
}

/// Whether the actor may look at a request: its requester, an approver of one of its stages
/// (now or before), an owner of the API's team, or an admin.
async fn may_view(
    conn: &mut AnyConnection,
    actor: &Actor,
    req: &RequestRow,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if actor.is_admin || actor.person_id == req.requester_id {
        return Ok(true);
    }
    let owner_team: i64 = sqlx::query_scalar("SELECT owner_team_id FROM apis WHERE id = $1")
        .bind(req.api_id)
        .fetch_one(&mut *conn)
        .await?;
    if actor.owns_team(owner_team) {
        return Ok(true);
    }
    let all_steps = sqlx::query_scalar::<_, i64>(
        "SELECT DISTINCT revision FROM approval_steps WHERE request_id = $1",
    )
    .bind(req.id)
    .fetch_all(&mut *conn)
    .await?;
    for revision in all_steps {
        for step in steps(conn, req.id, revision).await? {
            if step.decided_by == Some(actor.person_id)
                || may_decide(conn, actor, &step, now).await?
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// One request, for those who may see it; anyone else is told it does not exist.
pub async fn get(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<RequestView, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let not_found = || ServiceError::NotFound("The request".into());
    let req = request_row(&mut conn, id).await?.ok_or_else(not_found)?;
    if !may_view(&mut conn, actor, &req, now).await? {
        return Err(not_found());
    }
    view(&mut conn, actor, &req, now).await
}

async fn view(
    conn: &mut AnyConnection,
    actor: &Actor,
    req: &RequestRow,
    now: i64,
) -> Result<RequestView, ServiceError> {
    let r = sqlx::query(
        "SELECT r.justification, r.environment_name, r.sponsor_id, r.created_at, r.updated_at, r.expires_at,
                r.decided_at, a.slug, a.name
         FROM access_requests r JOIN apis a ON a.id = r.api_id WHERE r.id = $1",
    )
    .bind(req.id)
    .fetch_one(&mut *conn)
    .await?;
    let scopes = request_scopes(conn, req.id).await?;
    let requester = person(conn, req.requester_id)
        .await?
        .ok_or_else(|| store_err("requester"))?;
    let sponsor = match r.try_get::<Option<i64>, _>("sponsor_id")? {
        Some(id) => person_ref(conn, id).await?,
        None => None,
    };
    let step_rows = steps(conn, req.id, req.revision).await?;
    let mut stages = Vec::new();
    let mut can_decide = None;
    for s in &step_rows {
        let decided_by = match s.decided_by {
            Some(id) => person_ref(conn, id).await?,
            None => None,
        };
        if s.state == StepState::Pending
            && can_decide.is_none()
            && req.state == RequestState::Pending
            && !req.awaiting_changes
            && may_decide(conn, actor, s, now).await?
            && workflow(req, &step_rows)
                .clone()
                .decide(s.position, actor.person_id, Decision::Approve)
                .is_ok()
        {
            can_decide = Some(s.position);
        }
        stages.push(StageView {
            position: s.position,
            kind: s.kind,
            approver: target_label(conn, s.kind, s.target).await?,
            state: s.state,
            decided_by,
            decided_at: s.decided_at,
            comment: s.comment.clone(),
        });
    }
    let timeline = sqlx::query(
        "SELECT e.occurred_at, e.kind, e.revision, e.position, e.comment, p.name
         FROM request_events e LEFT JOIN people p ON p.id = e.actor_id
         WHERE e.request_id = $1 ORDER BY e.id",
    )
    .bind(req.id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|e| {
        Ok(TimelineEvent {
            at: e.try_get("occurred_at")?,
            actor: e.try_get("name")?,
            kind: e.try_get("kind")?,
            revision: e.try_get("revision")?,
            position: e.try_get::<Option<i64>, _>("position")?.map(|p| p as usize),
            comment: e.try_get("comment")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let grant_id: Option<i64> = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
        .bind(req.id)
        .fetch_optional(&mut *conn)
        .await?;
    let mine = actor.person_id == req.requester_id;
    Ok(RequestView {
        id: req.id,
        api: ApiRef {
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
        },
        environment: r.try_get("environment_name")?,
        risk: overall_risk(scopes.iter().map(|s| s.risk)),
        scopes,
        justification: r.try_get("justification")?,
        duration_days: req.duration_days as u32,
        state: req.state,
        awaiting_changes: req.awaiting_changes,
        requester: PersonRef {
            name: requester.name,
            email: requester.email,
        },
        requester_kind: requester.kind,
        sponsor,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        expires_at: r.try_get("expires_at")?,
        decided_at: r.try_get("decided_at")?,
        revision: req.revision,
        stages,
        timeline,
        grant_id,
        can_cancel: mine && req.state == RequestState::Pending,
        can_resubmit: mine && req.state == RequestState::Pending && req.awaiting_changes,
        can_decide,
    })
}

async fn request_scopes(conn: &mut AnyConnection, id: i64) -> Result<Vec<ScopeView>, sqlx::Error> {
    sqlx::query(
        "SELECT s.name, s.description, s.risk FROM access_request_scopes rs JOIN scopes s ON s.id = rs.scope_id
         WHERE rs.request_id = $1 ORDER BY s.name",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(ScopeView {
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            risk: decode(&r.try_get::<String, _>("risk")?)?,
        })
    })
    .collect()
}

/// The actor's own requests, newest first.
pub async fn mine(store: &Store, actor: &Actor) -> Result<Vec<RequestSummary>, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let rows = sqlx::query(
        "SELECT r.id, r.environment_name, r.state, r.awaiting_changes, r.created_at, r.updated_at, r.revision,
                a.slug, a.name
         FROM access_requests r JOIN apis a ON a.id = r.api_id
         WHERE r.requester_id = $1 ORDER BY r.id DESC LIMIT 200",
    )
    .bind(actor.person_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let state: RequestState = decode(&r.try_get::<String, _>("state")?)?;
        let awaiting_changes = r.try_get::<i64, _>("awaiting_changes")? != 0;
        let mut waiting_for = None;
        if state == RequestState::Pending && !awaiting_changes {
            let revision: i64 = r.try_get("revision")?;
            if let Some(s) = steps(&mut conn, id, revision)
                .await?
                .into_iter()
                .find(|s| s.state == StepState::Pending)
            {
                waiting_for = Some(target_label(&mut conn, s.kind, s.target).await?);
            }
        }
        out.push(RequestSummary {
            id,
            api: ApiRef {
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
            },
            environment: r.try_get("environment_name")?,
            scopes: request_scopes(&mut conn, id)
                .await?
                .into_iter()
                .map(|s| s.name)
                .collect(),
            state,
            awaiting_changes,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            waiting_for,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Deciding

/// The stage a person decides, as they saw it: the request, the revision they read and the
/// stage's position. A requester may resubmit (other scopes, a longer duration) while an approver
/// has the request open; a decision names the revision it was made on, and one made on an
/// earlier revision is refused rather than applied to what the approver never read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeenStage {
    pub request_id: i64,
    pub revision: i64,
    pub position: usize,
}

/// An approver decides a stage of the revision they read (see [`SeenStage`]). Two approvers
/// acting at once on one stage give one decision: the write transaction serialises them, and the
/// stage changes only from `pending`.
pub async fn decide_seen(
    store: &Store,
    actor: &Actor,
    stage: SeenStage,
    decision: Decision,
    comment: &str,
    now: i64,
) -> Result<RequestState, ServiceError> {
    let target = Deciding {
        request_id: stage.request_id,
        position: stage.position,
        revision: Some(stage.revision),
        low_risk_only: false,
    };
    decide_stage(store, actor, target, decision, comment, now).await
}

/// Decides the stage at `position` of the request's current revision, whatever it is: for
/// callers that read the request in the same breath (the demo seed, tests). People's decisions
/// go through [`decide_seen`].
pub async fn decide(
    store: &Store,
    actor: &Actor,
    request_id: i64,
    position: usize,
    decision: Decision,
    comment: &str,
    now: i64,
) -> Result<RequestState, ServiceError> {
    let target = Deciding {
        request_id,
        position,
        revision: None,
        low_risk_only: false,
    };
    decide_stage(store, actor, target, decision, comment, now).await
}

/// What [`decide_stage`] decides, and on what condition.
struct Deciding {
    request_id: i64,
    position: usize,
    /// The revision the decider read; `None` takes the current one.
    revision: Option<i64>,
    /// Refuse when the request (as it is now) asks for a high-risk scope: bulk approval.
    low_risk_only: bool,
}

#[tracing::instrument(skip(store, actor, target, comment), fields(person = actor.person_id, request = target.request_id))]
async fn decide_stage(
    store: &Store,
    actor: &Actor,
    target: Deciding,
    decision: Decision,
    comment: &str,
    now: i64,
) -> Result<RequestState, ServiceError> {
    let Deciding {
        request_id,
        position,
        ..
    } = target;
    let comment = parse_comment(comment).map_err(ServiceError::Invalid)?;
    if decision != Decision::Approve && comment.is_none() {
        return Err(ServiceError::Invalid(
            "Say why in a comment: the requester reads it.".into(),
        ));
    }
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The request".into());
    let req = request_row(&mut tx, request_id)
        .await?
        .ok_or_else(not_found)?;
    if !may_view(&mut tx, actor, &req, now).await? {
        return Err(not_found());
    }
    // Read in this transaction, so no resubmission can come between the check and the decision.
    if let Some(seen) = target.revision
        && seen != req.revision
    {
        return Err(ServiceError::Conflict(format!(
            "This request was changed and resubmitted after you opened it (you read revision \
             {seen}, it is now at {}). Read it again before you decide.",
            req.revision
        )));
    }
    if target.low_risk_only
        && overall_risk(
            request_scopes(&mut tx, req.id)
                .await?
                .iter()
                .map(|s| s.risk),
        ) == Risk::High
    {
        return Err(ServiceError::Conflict(
            "High-risk requests are approved one at a time.".into(),
        ));
    }
    let step_rows = steps(&mut tx, req.id, req.revision).await?;
    let step = step_rows
        .iter()
        .find(|s| s.position == position)
        .ok_or_else(|| ServiceError::NotFound("That stage".into()))?;
    let mut wf = workflow(&req, &step_rows);
    if req.state == RequestState::Pending
        && wf.current() == Some(position)
        && !may_decide(&mut tx, actor, step, now).await?
    {
        return Err(ServiceError::Forbidden);
    }
    let outcome = wf
        .decide(position, actor.person_id, decision)
        .map_err(|r| ServiceError::Conflict(r.to_string()))?;
    let new_state = match decision {
        Decision::Approve => StepState::Approved,
        Decision::Reject => StepState::Rejected,
        Decision::RequestChanges => StepState::ChangesRequested,
    };
    let changed = sqlx::query(
        "UPDATE approval_steps SET state = $2, decided_by = $3, decided_at = $4, comment = $5
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(step.id)
    .bind(new_state.as_str())
    .bind(actor.person_id)
    .bind(now)
    .bind(comment.as_deref())
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(ServiceError::Conflict(
            "That stage has just been decided by someone else.".into(),
        ));
    }
    let kind = match decision {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
        Decision::RequestChanges => "changes_requested",
    };
    event(
        &mut tx,
        (req.id, req.revision),
        Some(position),
        Some(actor.person_id),
        kind,
        comment.as_deref(),
        now,
    )
    .await?;
    let mut grant_id = None;
    match outcome {
        Outcome::NextStage(next) => {
            sqlx::query(
                "UPDATE approval_steps SET state = 'pending', pending_since = $3
                 WHERE request_id = $1 AND revision = $2 AND position = $4 AND state = 'waiting'",
            )
            .bind(req.id)
            .bind(req.revision)
            .bind(now)
            .bind(next as i64)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE access_requests SET updated_at = $2 WHERE id = $1")
                .bind(req.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            notify_stage(&mut tx, req.id, next, "waiting", now).await?;
            notify_requester(
                &mut tx,
                req.id,
                "stage_approved",
                comment.as_deref(),
                None,
                now,
            )
            .await?;
        }
        Outcome::Approved | Outcome::Rejected => {
            let state = if outcome == Outcome::Approved {
                "approved"
            } else {
                "rejected"
            };
            let done = sqlx::query(
                "UPDATE access_requests SET state = $2, decided_at = $3, updated_at = $3
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind(req.id)
            .bind(state)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(ServiceError::Conflict(
                    "This request has just been decided.".into(),
                ));
            }
            if outcome == Outcome::Approved {
                grant_id = Some(create_grant(&mut tx, req.id, now).await?);
            }
            notify_requester(&mut tx, req.id, state, comment.as_deref(), grant_id, now).await?;
        }
        Outcome::ChangesRequested => {
            sqlx::query(
                "UPDATE access_requests SET awaiting_changes = 1, updated_at = $2 WHERE id = $1",
            )
            .bind(req.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            notify_requester(
                &mut tx,
                req.id,
                "changes_requested",
                comment.as_deref(),
                None,
                now,
            )
            .await?;
        }
    }
    audited(&mut tx, Who::actor(actor), Action::AccessDecided, ("access_request", req.id), serde_json::json!({
                "stage": position, "kind": step.kind.as_str(), "decision": decision.as_str(),
                "revision": req.revision, "comment": comment, "grant": grant_id,
                "as_admin": actor.is_admin && !matches!(step.target, Target::Person(p) if p == actor.person_id),
            }), now).await?;
    tx.commit().await?;
    Ok(wf.state)
}

/// Approves several low-risk stages at once, each as the approver saw it in their inbox; each is
/// decided on its own (risk and revision checked in its own transaction), so one refusal does not
/// stop the others.
pub async fn bulk_approve(
    store: &Store,
    actor: &Actor,
    items: &[SeenStage],
    now: i64,
) -> Result<Vec<BulkOutcome>, ServiceError> {
    if items.len() > 100 {
        return Err(ServiceError::Invalid(
            "Approve at most 100 requests at once.".into(),
        ));
    }
    let mut out = Vec::new();
    for stage in items {
        let target = Deciding {
            request_id: stage.request_id,
            position: stage.position,
            revision: Some(stage.revision),
            low_risk_only: true,
        };
        let result = decide_stage(store, actor, target, Decision::Approve, "", now).await;
        out.push(match result {
            Ok(_) => BulkOutcome {
                request_id: stage.request_id,
                ok: true,
                message: "Approved.".into(),
            },
            Err(e) => BulkOutcome {
                request_id: stage.request_id,
                ok: false,
                message: crate::model::AppError::from(e).to_string(),
            },
        });
    }
    Ok(out)
}

/// The requester withdraws their pending request.
pub async fn cancel(
    store: &Store,
    actor: &Actor,
    request_id: i64,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The request".into());
    let req = request_row(&mut tx, request_id)
        .await?
        .ok_or_else(not_found)?;
    if !may_view(&mut tx, actor, &req, now).await? {
        return Err(not_found());
    }
    let mut wf = workflow(&req, &steps(&mut tx, req.id, req.revision).await?);
    wf.cancel(actor.person_id).map_err(|r| match r {
        crate::domain::access::Refusal::NotRequester => ServiceError::Forbidden,
        r => ServiceError::Conflict(r.to_string()),
    })?;
    let done = sqlx::query(
        "UPDATE access_requests SET state = 'cancelled', decided_at = $2, updated_at = $2 WHERE id = $1 AND state = 'pending'",
    )
    .bind(req.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::Conflict(
            "This request has just been decided.".into(),
        ));
    }
    event(
        &mut tx,
        (req.id, req.revision),
        None,
        Some(actor.person_id),
        "cancelled",
        None,
        now,
    )
    .await?;
    audited(
        &mut tx,
        Who::actor(actor),
        Action::AccessCancelled,
        ("access_request", req.id),
        serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The requester changes a request sent back to them and submits it again: it is checked like a
/// new one, and its stages start again from the first.
pub async fn resubmit(
    store: &Store,
    actor: &Actor,
    request_id: i64,
    input: &RequestInput,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The request".into());
    let req = request_row(&mut tx, request_id)
        .await?
        .ok_or_else(not_found)?;
    if !may_view(&mut tx, actor, &req, now).await? {
        return Err(not_found());
    }
    let mut wf = workflow(&req, &steps(&mut tx, req.id, req.revision).await?);
    let api = api_row(&mut tx, req.api_id).await?;
    let requester = person(&mut tx, req.requester_id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if actor.person_id != req.requester_id {
        return Err(ServiceError::Forbidden);
    }
    let checked = check_input(&mut tx, &api, &requester, input, now).await?;
    wf.resubmit(actor.person_id, checked.targets.len())
        .map_err(|r| ServiceError::Conflict(r.to_string()))?;
    check_not_duplicate(&mut tx, requester.id, api.id, &checked, Some(req.id), now).await?;
    let revision = req.revision + 1;
    let limits = limits(&mut tx).await?;
    let changed = sqlx::query(
        "UPDATE access_requests SET environment_id = $2, environment_name = $3, justification = $4,
                duration_days = $5, awaiting_changes = 0, revision = $6, updated_at = $7, expires_at = $8,
                policy_rule = $9
         WHERE id = $1 AND state = 'pending' AND awaiting_changes = 1",
    )
    .bind(req.id)
    .bind(checked.environment_id)
    .bind(&checked.environment)
    .bind(checked.justification.as_str())
    .bind(i64::from(checked.duration_days))
    .bind(revision)
    .bind(now)
    .bind(now + i64::from(limits.request_expiry_days) * DAY)
    .bind(checked.evaluation.rule as i64)
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(ServiceError::Conflict(
            "This request has just changed.".into(),
        ));
    }
    sqlx::query("DELETE FROM access_request_scopes WHERE request_id = $1")
        .bind(req.id)
        .execute(&mut *tx)
        .await?;
    for (scope_id, _) in &checked.scopes {
        sqlx::query("INSERT INTO access_request_scopes (request_id, scope_id) VALUES ($1, $2)")
            .bind(req.id)
            .bind(scope_id)
            .execute(&mut *tx)
            .await?;
    }
    write_stages(&mut tx, req.id, revision, &checked.targets, now).await?;
    event(
        &mut tx,
        (req.id, revision),
        None,
        Some(actor.person_id),
        "resubmitted",
        None,
        now,
    )
    .await?;
    audited(
        &mut tx,
        Who::actor(actor),
        Action::AccessResubmitted,
        ("access_request", req.id),
        serde_json::json!({
            "revision": revision, "environment": checked.environment,
            "scopes": checked.scopes.iter().map(|(_, s)| s.name.as_str()).collect::<Vec<_>>(),
            "duration_days": checked.duration_days,
        }),
        now,
    )
    .await?;
    if checked.targets.is_empty() {
        sqlx::query("UPDATE access_requests SET state = 'approved', decided_at = $2 WHERE id = $1")
            .bind(req.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            (req.id, revision),
            None,
            None,
            "auto_approved",
            None,
            now,
        )
        .await?;
        let grant_id = create_grant(&mut tx, req.id, now).await?;
        notify_requester(&mut tx, req.id, "approved", None, Some(grant_id), now).await?;
    } else {
        notify_stage(&mut tx, req.id, 0, "waiting", now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A comment on a request's timeline, by its requester or one of its approvers.
pub async fn comment(
    store: &Store,
    actor: &Actor,
    request_id: i64,
    text: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let comment = parse_comment(text)
        .map_err(ServiceError::Invalid)?
        .ok_or_else(|| ServiceError::Invalid("Write a comment first.".into()))?;
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The request".into());
    let req = request_row(&mut tx, request_id)
        .await?
        .ok_or_else(not_found)?;
    if !may_view(&mut tx, actor, &req, now).await? {
        return Err(not_found());
    }
    if req.state != RequestState::Pending {
        return Err(ServiceError::Conflict(format!(
            "This request has already been decided ({}); it cannot change any more.",
            req.state
        )));
    }
    event(
        &mut tx,
        (req.id, req.revision),
        None,
        Some(actor.person_id),
        "commented",
        Some(&comment),
        now,
    )
    .await?;
    if actor.person_id != req.requester_id {
        notify_requester(&mut tx, req.id, "commented", Some(&comment), None, now).await?;
    }
    audited(
        &mut tx,
        Who::actor(actor),
        Action::AccessCommented,
        ("access_request", req.id),
        serde_json::json!({ "comment": comment }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The approvals inbox

/// The stages person `$1` may decide at time `$2` by the stage's own target (the service still
/// checks separation of duties per request), as a `FROM` clause giving `approval_steps s` and
/// `access_requests r`. It starts from the actor's few candidate stages, found through indexes
/// (their own, their delegators', their teams'), and only then looks at the requests: starting
/// from every pending request cost 100 ms per page at 200,000 requests. SQLite keeps a
/// `CROSS JOIN`'s order; PostgreSQL plans it as any join.
const MINE_TO_DECIDE: &str = "
    (SELECT x.id FROM approval_steps x WHERE x.approver_person_id = $1 AND x.state = 'pending'
     UNION
     SELECT x.id FROM approval_delegations d JOIN approval_steps x ON x.approver_person_id = d.person_id
     WHERE d.delegate_id = $1 AND d.revoked_at IS NULL AND d.starts_at <= $2 AND d.ends_at > $2
           AND x.state = 'pending'
     UNION
     SELECT x.id FROM team_members m JOIN approval_steps x ON x.approver_team_id = m.team_id
     WHERE m.person_id = $1 AND x.state = 'pending'
           AND (m.role = 'owner' OR x.approver_kind IN ('security', 'team'))) mine
    CROSS JOIN approval_steps s CROSS JOIN access_requests r";

/// The conditions that go with [`MINE_TO_DECIDE`].
const MINE_TO_DECIDE_WHERE: &str = "
    s.id = mine.id AND r.id = s.request_id
    AND r.state = 'pending' AND r.awaiting_changes = 0 AND s.revision = r.revision
    AND r.requester_id <> $1
    AND NOT EXISTS (SELECT 1 FROM approval_steps o WHERE o.request_id = r.id AND o.revision = r.revision
                    AND o.decided_by = $1)";

/// The header's two numbers, which every page shows: the actor's unread notifications and the
/// stages waiting for them, in one statement.
pub async fn header_counts(
    store: &Store,
    actor: &Actor,
    now: i64,
) -> Result<(i64, i64), ServiceError> {
    static BOTH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT ({}), (SELECT COUNT(*) FROM {MINE_TO_DECIDE} WHERE {MINE_TO_DECIDE_WHERE})",
            notify::UNREAD
        )
    });
    if actor.kind == PersonKind::Contractor {
        return Ok((notify::unread(store, actor).await?, 0));
    }
    let (unread, approvals): (i64, i64) = sqlx::query_as(&BOTH)
        .bind(actor.person_id)
        .bind(now)
        .fetch_one(store.pool())
        .await?;
    Ok((unread, approvals))
}

/// The stages waiting for the actor, oldest first, with what they need to decide each.
pub async fn inbox(store: &Store, actor: &Actor, now: i64) -> Result<Vec<InboxItem>, ServiceError> {
    if actor.kind == PersonKind::Contractor {
        return Ok(Vec::new());
    }
    let mut conn = store.pool().acquire().await?;
    let sql = format!(
        "SELECT r.id, r.revision, s.position, s.approver_kind, s.approver_person_id, s.pending_since, r.requester_id,
                r.environment_name, r.justification, r.duration_days, r.sponsor_id, a.slug, a.name
         FROM {MINE_TO_DECIDE} JOIN apis a ON a.id = r.api_id
         WHERE {MINE_TO_DECIDE_WHERE} ORDER BY s.pending_since, r.id LIMIT 500"
    );
    let rows = sqlx::query(&sql)
        .bind(actor.person_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let requester_id: i64 = r.try_get("requester_id")?;
        let requester = person(&mut conn, requester_id)
            .await?
            .ok_or_else(|| store_err("requester"))?;
        let mut manager_chain = Vec::new();
        let mut next = requester.manager_id;
        while let Some(m) = next {
            if manager_chain.len() >= 6 {
                break;
            }
            let Some(p) = person(&mut conn, m).await? else {
                break;
            };
            next = p.manager_id;
            manager_chain.push(PersonRef {
                name: p.name,
                email: p.email,
            });
        }
        let sponsor = match r.try_get::<Option<i64>, _>("sponsor_id")? {
            Some(s) => person_ref(&mut conn, s).await?,
            None => None,
        };
        let on_behalf_of = match r.try_get::<Option<i64>, _>("approver_person_id")? {
            Some(p) if p != actor.person_id => person_ref(&mut conn, p).await?.map(|p| p.name),
            _ => None,
        };
        let scopes = request_scopes(&mut conn, id).await?;
        out.push(InboxItem {
            request_id: id,
            revision: r.try_get("revision")?,
            position: r.try_get::<i64, _>("position")? as usize,
            stage: decode(&r.try_get::<String, _>("approver_kind")?)?,
            requester: PersonRef {
                name: requester.name,
                email: requester.email,
            },
            requester_kind: requester.kind,
            manager_chain,
            sponsor,
            api: ApiRef {
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
            },
            environment: r.try_get("environment_name")?,
            risk: overall_risk(scopes.iter().map(|s| s.risk)),
            scopes,
            justification: r.try_get("justification")?,
            duration_days: r.try_get::<i64, _>("duration_days")? as u32,
            waiting_since: r.try_get::<Option<i64>, _>("pending_since")?.unwrap_or(now),
            waiting_seconds: now - r.try_get::<Option<i64>, _>("pending_since")?.unwrap_or(now),
            on_behalf_of,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Grants

/// Creates the grant for an approved request: its scopes, environment and duration from now,
/// ending no later than a contractor's contract.
async fn create_grant(
    conn: &mut AnyConnection,
    request_id: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let r = sqlx::query(
        "SELECT r.requester_id, r.api_id, r.environment_id, r.duration_days, p.kind, p.contract_ends_at
         FROM access_requests r JOIN people p ON p.id = r.requester_id WHERE r.id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?;
    let expires_at =
        crate::server::db::contract_capped(&r, now + r.try_get::<i64, _>("duration_days")? * DAY)?;
    let grant_id: i64 = sqlx::query_scalar(
        "INSERT INTO grants (person_id, api_id, environment_id, request_id, granted_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(r.try_get::<i64, _>("requester_id")?)
    .bind(r.try_get::<i64, _>("api_id")?)
    .bind(r.try_get::<i64, _>("environment_id")?)
    .bind(request_id)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO grant_scopes (grant_id, scope_id) SELECT $1, scope_id FROM access_request_scopes WHERE request_id = $2",
    )
    .bind(grant_id)
    .bind(request_id)
    .execute(&mut *conn)
    .await?;
    audited(
        conn,
        Who::Other("gatehouse".into()),
        Action::GrantCreated,
        ("grant", grant_id),
        serde_json::json!({ "request": request_id, "expires_at": expires_at }),
        now,
    )
    .await?;
    Ok(grant_id)
}

/// Grants matching a condition over `grants g` with parameters `$1` and `$2`, as `actor` sees
/// them (whether they may revoke each).
async fn grants_where(
    conn: &mut AnyConnection,
    condition: &str,
    params: &[i64],
    actor: &Actor,
    now: i64,
) -> Result<Vec<GrantView>, sqlx::Error> {
    let sql = format!(
        "SELECT g.id, g.person_id, g.api_id, g.granted_at, g.expires_at, g.revoked_at, g.revoke_reason, g.request_id,
                a.slug, a.name, a.owner_team_id, e.name AS environment, p.name AS holder_name, p.email,
                p.kind, p.contract_ends_at, p.deactivated_at, p.manager_id
         FROM grants g JOIN apis a ON a.id = g.api_id JOIN environments e ON e.id = g.environment_id
              JOIN people p ON p.id = g.person_id
         WHERE {condition} ORDER BY g.expires_at DESC, g.id DESC LIMIT 1000"
    );
    let mut query = sqlx::query(&sql);
    for p in params {
        query = query.bind(*p);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut out = Vec::new();
    let mut key_rules = std::collections::HashMap::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let api_id: i64 = r.try_get("api_id")?;
        let rules = match key_rules.get(&api_id) {
            Some(rules) => *rules,
            None => {
                let rules = policy_of(&mut *conn, api_id).await?.0.keys;
                key_rules.insert(api_id, rules);
                rules
            }
        };
        let ends_at: i64 = crate::server::db::contract_capped(&r, r.try_get("expires_at")?)?;
        let revoked_at: Option<i64> = r.try_get("revoked_at")?;
        let active = revoked_at.is_none()
            && ends_at > now
            && r.try_get::<Option<i64>, _>("deactivated_at")?.is_none();
        let holder_id: i64 = r.try_get("person_id")?;
        let can_revoke = active
            && authz::revoke_grant(
                actor,
                id,
                holder_id,
                r.try_get("manager_id")?,
                r.try_get("owner_team_id")?,
            )
            .is_some();
        out.push(GrantView {
            id,
            api: ApiRef {
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
            },
            environment: r.try_get("environment")?,
            scopes: sqlx::query_scalar(
                "SELECT s.name FROM grant_scopes gs JOIN scopes s ON s.id = gs.scope_id WHERE gs.grant_id = $1 ORDER BY s.name",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?,
            holder: PersonRef {
                name: r.try_get("holder_name")?,
                email: r.try_get("email")?,
            },
            granted_at: r.try_get("granted_at")?,
            ends_at,
            revoked_at,
            revoke_reason: r.try_get("revoke_reason")?,
            request_id: r.try_get("request_id")?,
            active,
            can_revoke,
            key_default_days: rules.default_days,
            key_max_rate: rules.max_rate_per_minute,
        });
    }
    Ok(out)
}

/// The actor's own grants, live ones first.
pub async fn my_grants(
    store: &Store,
    actor: &Actor,
    now: i64,
) -> Result<Vec<GrantView>, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let mut grants = grants_where(
        &mut conn,
        "g.person_id = $1",
        &[actor.person_id],
        actor,
        now,
    )
    .await?;
    grants.sort_by_key(|g| !g.active);
    Ok(grants)
}

/// Who holds what on an API: for its team's owners and admins.
pub async fn api_grants(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<Vec<GrantView>, ServiceError> {
    let (can, _) = editable_api(store, actor, slug, now).await?;
    let mut conn = store.pool().acquire().await?;
    let mut grants = grants_where(&mut conn, "g.api_id = $1", &[can.api_id()], actor, now).await?;
    grants.sort_by_key(|g| !g.active);
    Ok(grants)
}

/// Revokes a grant: by its holder, the holder's manager, the API's team owners or an admin.
pub async fn revoke_grant(
    store: &Store,
    actor: &Actor,
    grant_id: i64,
    reason: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let reason = parse_comment(reason).map_err(ServiceError::Invalid)?;
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The grant".into());
    let row = sqlx::query(
        "SELECT g.person_id, g.revoked_at, a.owner_team_id, p.manager_id
         FROM grants g JOIN apis a ON a.id = g.api_id JOIN people p ON p.id = g.person_id WHERE g.id = $1",
    )
    .bind(grant_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(not_found)?;
    let holder: i64 = row.try_get("person_id")?;
    let Some(can) = authz::revoke_grant(
        actor,
        grant_id,
        holder,
        row.try_get("manager_id")?,
        row.try_get("owner_team_id")?,
    ) else {
        return Err(not_found());
    };
    if holder != actor.person_id && reason.is_none() {
        return Err(ServiceError::Invalid(
            "Say why you revoke someone else's access: they read it.".into(),
        ));
    }
    let done = sqlx::query(
        "UPDATE grants SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(can.grant_id())
    .bind(now)
    .bind(actor.person_id)
    .bind(reason.as_deref())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::Conflict(
            "This grant was already revoked.".into(),
        ));
    }
    let keys_revoked = crate::server::services::keys::revoke_for_grant(
        &mut tx,
        store,
        can.grant_id(),
        actor.person_id,
        now,
    )
    .await?;
    if holder != actor.person_id {
        notify::note(
            &mut tx,
            &Note {
                people: &[holder],
                kind: "grant_revoked",
                subject: format!("Your access was revoked by {}", actor.name),
                body: reason.clone().unwrap_or_default(),
                link: "/access".into(),
                team_event: None,
            },
            now,
        )
        .await?;
    }
    audited(
        &mut tx,
        Who::actor(actor),
        Action::GrantRevoked,
        ("grant", grant_id),
        serde_json::json!({ "holder": holder, "reason": reason, "keys_revoked": keys_revoked }),
        now,
    )
    .await?;
    tx.commit().await?;
    store.key_changed(None);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Delegations

pub async fn my_delegations(
    store: &Store,
    actor: &Actor,
    now: i64,
) -> Result<Vec<DelegationView>, ServiceError> {
    let rows = sqlx::query(
        "SELECT d.id, d.starts_at, d.ends_at, p.name, p.email FROM approval_delegations d
         JOIN people p ON p.id = d.delegate_id
         WHERE d.person_id = $1 AND d.revoked_at IS NULL AND d.ends_at > $2 ORDER BY d.starts_at",
    )
    .bind(actor.person_id)
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DelegationView {
                id: r.try_get("id")?,
                delegate: PersonRef {
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                },
                starts_at: r.try_get("starts_at")?,
                ends_at: r.try_get("ends_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// An approver names an employee to decide their personal stages (as manager or sponsor) from
/// `starts_on` to the end of `ends_on` (UTC dates).
pub async fn add_delegation(
    store: &Store,
    actor: &Actor,
    delegate_email: &str,
    starts_on: &str,
    ends_on: &str,
    now: i64,
) -> Result<i64, ServiceError> {
    if actor.kind != PersonKind::Employee {
        return Err(ServiceError::Forbidden);
    }
    let day = |text: &str, what: &str| {
        crate::domain::time::parse_date(text.trim()).ok_or_else(|| {
            ServiceError::Invalid(format!("The {what} date must be a date like 2026-12-24."))
        })
    };
    let starts_at = day(starts_on, "start")?;
    let ends_at = day(ends_on, "end")? + DAY;
    if ends_at <= starts_at {
        return Err(ServiceError::Invalid(
            "The end must not be before the start.".into(),
        ));
    }
    if ends_at <= now {
        return Err(ServiceError::Invalid("The end is in the past.".into()));
    }
    if ends_at - starts_at > 180 * DAY {
        return Err(ServiceError::Invalid(
            "Delegate for at most 180 days at a time.".into(),
        ));
    }
    let mut tx = audit::write_tx(store).await?;
    let delegate: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, kind FROM people WHERE lower(email) = lower($1) AND deactivated_at IS NULL",
    )
    .bind(delegate_email.trim())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((delegate_id, kind)) = delegate else {
        return Err(ServiceError::Invalid(format!(
            "Nobody active has the email '{}'.",
            delegate_email.trim().chars().take(80).collect::<String>()
        )));
    };
    if kind != "employee" {
        return Err(ServiceError::Invalid(
            "Only employees can approve on your behalf.".into(),
        ));
    }
    if delegate_id == actor.person_id {
        return Err(ServiceError::Invalid(
            "You cannot delegate to yourself.".into(),
        ));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO approval_delegations (person_id, delegate_id, starts_at, ends_at, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(actor.person_id)
    .bind(delegate_id)
    .bind(starts_at)
    .bind(ends_at)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audited(
        &mut tx,
        Who::actor(actor),
        Action::DelegationCreated,
        ("delegation", id),
        serde_json::json!({ "delegate": delegate_id, "starts_at": starts_at, "ends_at": ends_at }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn end_delegation(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let done = sqlx::query(
        "UPDATE approval_delegations SET revoked_at = $3 WHERE id = $1 AND person_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(actor.person_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::NotFound("The delegation".into()));
    }
    audited(
        &mut tx,
        Who::actor(actor),
        Action::DelegationEnded,
        ("delegation", id),
        serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Notifications about requests

async fn request_context(
    conn: &mut AnyConnection,
    request_id: i64,
) -> Result<(String, String, String, i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "SELECT a.name, r.environment_name, p.name AS requester, r.requester_id, a.owner_team_id
         FROM access_requests r JOIN apis a ON a.id = r.api_id JOIN people p ON p.id = r.requester_id
         WHERE r.id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((
        r.try_get("name")?,
        r.try_get("environment_name")?,
        r.try_get("requester")?,
        r.try_get("requester_id")?,
        r.try_get("owner_team_id")?,
    ))
}

/// Tells a stage's approvers it waits for them (`why` is `waiting` or `reminder`).
pub(super) async fn notify_stage(
    conn: &mut AnyConnection,
    request_id: i64,
    position: usize,
    why: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let people = approvers_of(conn, request_id, position, now).await?;
    let (api, env, requester, _, owner_team) = request_context(conn, request_id).await?;
    let scopes: Vec<String> = request_scopes(conn, request_id)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let subject = match why {
        "reminder" => format!("Reminder: {requester}'s request for {api} expires soon"),
        _ => format!("{requester} asks for access to {api}"),
    };
    notify::note(
        conn,
        &Note {
            people: &people,
            kind: if why == "reminder" {
                "approval_reminder"
            } else {
                "approval_waiting"
            },
            subject,
            body: format!("{env}: {}. Your decision is needed.", scopes.join(", ")),
            link: format!("/requests/{request_id}"),
            team_event: Some(owner_team),
        },
        now,
    )
    .await
}

/// Tells the requester what happened to their request.
pub(super) async fn notify_requester(
    conn: &mut AnyConnection,
    request_id: i64,
    what: &str,
    comment: Option<&str>,
    grant_id: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (api, env, _, requester_id, owner_team) = request_context(conn, request_id).await?;
    let subject = match what {
        "approved" => format!("Approved: your access to {api} ({env})"),
        "rejected" => format!("Rejected: your request for {api} ({env})"),
        "changes_requested" => format!("Changes requested on your request for {api}"),
        "stage_approved" => format!("A stage of your request for {api} was approved"),
        "expired" => format!("Expired: your request for {api} ({env})"),
        _ => format!("New comment on your request for {api}"),
    };
    let mut body = comment.map(|c| format!("“{c}”")).unwrap_or_default();
    if let Some(g) = grant_id {
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(&format!(
            "Grant {g} is ready: you can create keys under it."
        ));
    }
    notify::note(
        conn,
        &Note {
            people: &[requester_id],
            kind: what,
            subject,
            body,
            link: format!("/requests/{request_id}"),
            team_event: matches!(what, "approved" | "rejected" | "expired").then_some(owner_team),
        },
        now,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Background work: expiry, reminders, grant expiry notices

/// What one pass of [`run_due`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DueReport {
    pub expired: usize,
    pub reminded: usize,
    pub grant_notices: usize,
}

/// Expires pending requests past their time, reminds approvers before that, and tells holders 7
/// days and 1 day before a grant ends. Every change is a conditional update, so several
/// replicas running this at once act on each row once.
pub async fn run_due(store: &Store, now: i64) -> Result<DueReport, ServiceError> {
    let mut report = DueReport::default();
    let limits = limits(&mut *store.pool().acquire().await?).await?;

    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM access_requests WHERE state = 'pending' AND expires_at <= $1 ORDER BY id LIMIT 500",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    for id in due {
        let mut tx = audit::write_tx(store).await?;
        let done = sqlx::query(
            "UPDATE access_requests SET state = 'expired', decided_at = $2, updated_at = $2
             WHERE id = $1 AND state = 'pending' AND expires_at <= $2",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            continue;
        }
        let revision: i64 =
            sqlx::query_scalar("SELECT revision FROM access_requests WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        event(&mut tx, (id, revision), None, None, "expired", None, now).await?;
        notify_requester(&mut tx, id, "expired", None, None, now).await?;
        audited(
            &mut tx,
            Who::Other("gatehouse".into()),
            Action::AccessExpired,
            ("access_request", id),
            serde_json::json!({}),
            now,
        )
        .await?;
        tx.commit().await?;
        report.expired += 1;
    }

    let remind_from = now + i64::from(limits.reminder_days_before) * DAY;
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM access_requests
         WHERE state = 'pending' AND awaiting_changes = 0 AND reminded_at IS NULL AND expires_at <= $1
         ORDER BY id LIMIT 500",
    )
    .bind(remind_from)
    .fetch_all(store.pool())
    .await?;
    for id in due {
        let mut tx = audit::write_tx(store).await?;
        let done = sqlx::query(
            "UPDATE access_requests SET reminded_at = $2 WHERE id = $1 AND state = 'pending' AND reminded_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            continue;
        }
        let req = request_row(&mut tx, id)
            .await?
            .ok_or_else(|| store_err("request"))?;
        if let Some(pos) = workflow(&req, &steps(&mut tx, id, req.revision).await?).current() {
            event(
                &mut tx,
                (id, req.revision),
                Some(pos),
                None,
                "reminded",
                None,
                now,
            )
            .await?;
            notify_stage(&mut tx, id, pos, "reminder", now).await?;
            report.reminded += 1;
        }
        tx.commit().await?;
    }

    for (column, days) in [("notified_7d_at", 7), ("notified_1d_at", 1)] {
        // A grant ends at its own end, or at its contractor's contract end when that comes
        // first: two ranges, each read through an index (grants by end, people by contract),
        // instead of computing every grant's end (130 ms a pass at 140,000 grants; now 2 ms).
        let sql = format!(
            "SELECT id FROM (
               SELECT g.id FROM grants g JOIN people p ON p.id = g.person_id
                WHERE g.expires_at BETWEEN $1 AND $2
                  AND g.revoked_at IS NULL AND g.{column} IS NULL AND p.deactivated_at IS NULL
                  AND NOT (p.kind = 'contractor' AND p.contract_ends_at IS NOT NULL
                           AND p.contract_ends_at < g.expires_at)
               UNION
               SELECT g.id FROM people p JOIN grants g ON g.person_id = p.id
                WHERE p.kind = 'contractor' AND p.contract_ends_at BETWEEN $1 AND $2
                  AND p.contract_ends_at < g.expires_at
                  AND g.revoked_at IS NULL AND g.{column} IS NULL AND p.deactivated_at IS NULL
             ) due ORDER BY id LIMIT 500"
        );
        let due: Vec<i64> = sqlx::query_scalar(&sql)
            .bind(now + 1)
            .bind(now + days * DAY)
            .fetch_all(store.pool())
            .await?;
        for id in due {
            let mut tx = audit::write_tx(store).await?;
            let done = sqlx::query(&format!(
                "UPDATE grants SET {column} = $2 WHERE id = $1 AND {column} IS NULL"
            ))
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                continue;
            }
            let r = sqlx::query(
                "SELECT g.person_id, a.name, e.name AS env FROM grants g JOIN apis a ON a.id = g.api_id
                 JOIN environments e ON e.id = g.environment_id WHERE g.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let holder: i64 = r.try_get("person_id")?;
            let api: String = r.try_get("name")?;
            let env: String = r.try_get("env")?;
            let when = if days == 1 { "tomorrow" } else { "in 7 days" };
            notify::note(
                &mut tx,
                &Note {
                    people: &[holder],
                    kind: "grant_expiring",
                    subject: format!("Your access to {api} ({env}) ends {when}"),
                    body:
                        "Ask again before it ends to keep access; the form starts from this grant."
                            .into(),
                    link: "/access".into(),
                    team_event: None,
                },
                now,
            )
            .await?;
            tx.commit().await?;
            report.grant_notices += 1;
        }
    }
    Ok(report)
}
