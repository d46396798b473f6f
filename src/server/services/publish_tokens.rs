//! Publish tokens: a team's CI publishes new versions of the team's APIs with one, through
//! `POST /api/v1/apis/{slug}/versions`. Team owners (and admins) create them in the UI, where the
//! token is shown once; only its SHA-256 is stored, beside a public lookup id.
//!
//! A token is `ghpub_<12 hex lookup>_<40 hex secret>`: 160 random bits, so a plain SHA-256 is
//! enough (nothing to guess), and the fixed prefix lets secret scanners find leaked ones.

use super::audit::{self, Action, Event, Who};
use super::publish::{
    self, GuideFile, Origin, PreparedGuide, PreparedVersion, Problem, VersionInput, write_version,
};
use crate::domain::catalog::ApiSlug;
use crate::model::{PublishTokenCreated, PublishTokenView, VersionStatus};
use crate::server::actor::Actor;
use crate::server::authz::ManageTeam;
use crate::server::db::Store;
use crate::server::error::ServiceError;
use crate::server::secrets::{constant_time_eq, random_hex, sha256_hex};
use crate::server::services::admin::team_capability;
use serde::{Deserialize, Serialize};
use sqlx::Row;

pub const TOKEN_PREFIX: &str = "ghpub_";
/// A team may hold at most this many live tokens.
pub const MAX_LIVE_TOKENS: i64 = 20;

fn view(r: &sqlx::any::AnyRow) -> Result<PublishTokenView, sqlx::Error> {
    Ok(PublishTokenView {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        prefix: format!("{TOKEN_PREFIX}{}…", r.try_get::<String, _>("lookup_id")?),
        created_by: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const SELECT: &str = "SELECT t.id, t.name, t.lookup_id, p.name AS created_by_name, t.created_at,
        t.last_used_at, t.revoked_at
     FROM publish_tokens t LEFT JOIN people p ON p.id = t.created_by";

/// A team's tokens, newest first. Team owners and admins only.
pub async fn list(
    store: &Store,
    actor: &Actor,
    team_slug: &str,
) -> Result<Vec<PublishTokenView>, ServiceError> {
    let can = team_capability(store, actor, team_slug).await?;
    Ok(list_for(store, &can).await?)
}

/// The tokens of a team the holder manages.
pub async fn list_for(
    store: &Store,
    can: &ManageTeam,
) -> Result<Vec<PublishTokenView>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE t.team_id = $1 ORDER BY t.created_at DESC, t.id DESC"
    ))
    .bind(can.team_id())
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(view).collect()
}

/// Creates a token; the answer carries the secret, which is never shown again.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn create(
    store: &Store,
    actor: &Actor,
    team_slug: &str,
    name: &str,
    now: i64,
) -> Result<PublishTokenCreated, ServiceError> {
    let can = team_capability(store, actor, team_slug).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(ServiceError::Invalid(
            "Name the token (where it is used, for example \"GitHub Actions\"), in at most 60 characters.".into(),
        ));
    }
    let mut tx = audit::write_tx(store).await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM publish_tokens WHERE team_id = $1 AND revoked_at IS NULL",
    )
    .bind(can.team_id())
    .fetch_one(&mut *tx)
    .await?;
    if live >= MAX_LIVE_TOKENS {
        return Err(ServiceError::Conflict(format!(
            "The team already has {MAX_LIVE_TOKENS} live tokens; revoke one first."
        )));
    }
    let lookup = random_hex(6);
    let secret = format!("{TOKEN_PREFIX}{lookup}_{}", random_hex(20));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO publish_tokens (team_id, name, lookup_id, secret_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(can.team_id())
    .bind(name)
    .bind(&lookup)
    .bind(sha256_hex(&secret))
    .bind(actor.person_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::PublishTokenCreated,
            target_kind: "publish_token",
            target_id: id.to_string(),
            details: serde_json::json!({ "team": team_slug, "name": name, "lookup_id": lookup }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(PublishTokenCreated {
        team: team_slug.to_owned(),
        token: PublishTokenView {
            id,
            name: name.to_owned(),
            prefix: format!("{TOKEN_PREFIX}{lookup}…"),
            created_by: Some(actor.name.clone()),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        secret,
    })
}

/// Revokes one of the team's tokens, at once.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn revoke(
    store: &Store,
    actor: &Actor,
    team_slug: &str,
    token_id: i64,
    now: i64,
) -> Result<(), ServiceError> {
    let can = team_capability(store, actor, team_slug).await?;
    let mut tx = audit::write_tx(store).await?;
    let done = sqlx::query(
        "UPDATE publish_tokens SET revoked_at = $3 WHERE id = $1 AND team_id = $2 AND revoked_at IS NULL",
    )
    .bind(token_id)
    .bind(can.team_id())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ServiceError::NotFound("The live token".into()));
    }
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::PublishTokenRevoked,
            target_kind: "publish_token",
            target_id: token_id.to_string(),
            details: serde_json::json!({ "team": team_slug }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who is publishing: a live token and its team.
#[derive(Debug)]
pub struct Publisher {
    pub token_id: i64,
    pub team_id: i64,
    pub label: String,
}

/// Finds the live token a CI presents. Every failure looks the same to the caller.
pub async fn authenticate(store: &Store, token: &str) -> Result<Publisher, ServiceError> {
    let lookup = token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(lookup, _)| lookup)
        .filter(|l| l.len() == 12 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(ServiceError::Unauthenticated)?;
    let row = sqlx::query(
        "SELECT t.id, t.team_id, t.name, t.secret_hash, s.slug FROM publish_tokens t
         JOIN teams s ON s.id = t.team_id WHERE t.lookup_id = $1 AND t.revoked_at IS NULL",
    )
    .bind(lookup)
    .fetch_optional(store.pool())
    .await?
    .ok_or(ServiceError::Unauthenticated)?;
    let stored: String = row.try_get("secret_hash")?;
    if !constant_time_eq(stored.as_bytes(), sha256_hex(token).as_bytes()) {
        return Err(ServiceError::Unauthenticated);
    }
    Ok(Publisher {
        token_id: row.try_get("id")?,
        team_id: row.try_get("team_id")?,
        label: format!(
            "publish token {} of {}",
            row.try_get::<String, _>("name")?,
            row.try_get::<String, _>("slug")?
        ),
    })
}

/// A guide in a publish request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideUpload {
    pub name: String,
    pub content: String,
}

/// What CI sends to publish a version.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub label: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub release_notes: String,
    /// The OpenAPI document, JSON or YAML, as text.
    #[serde(default)]
    pub spec: Option<String>,
    /// The version's guides; when left out, the version keeps the guides of the version shown
    /// until now.
    #[serde(default)]
    pub guides: Option<Vec<GuideUpload>>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ProblemView {
    pub file: String,
    pub location: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct Published {
    pub api: String,
    pub version: String,
    pub created: bool,
    pub operations: usize,
    pub guides: usize,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the version has problems")]
    Problems(Vec<ProblemView>),
}

impl From<sqlx::Error> for PublishFailure {
    fn from(e: sqlx::Error) -> Self {
        PublishFailure::Service(ServiceError::Store(e))
    }
}

/// An API a publisher may publish to.
pub struct Target {
    api_id: i64,
    slug: ApiSlug,
}

/// The API behind a slug, if the token's team owns it. Decided before the request body is read.
pub async fn authorize(
    store: &Store,
    publisher: &Publisher,
    slug: &str,
) -> Result<Target, ServiceError> {
    let not_found = || ServiceError::NotFound("The API".into());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let (api_id, team_id) = crate::server::db::catalog::id_and_owner(store.pool(), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    if team_id != publisher.team_id {
        return Err(ServiceError::Forbidden);
    }
    Ok(Target { api_id, slug })
}

/// Publishes (or replaces) one version of an API the token's team owns. Checked and rendered
/// whole, off the async workers, before anything is written; a version with problems changes
/// nothing. Leaving out `spec` when replacing a version keeps its spec; leaving out `guides`
/// keeps its guides (or, for a new version, takes those of the version shown until now).
#[tracing::instrument(skip(store, request, target), fields(token = publisher.token_id))]
pub async fn publish(
    store: &Store,
    publisher: &Publisher,
    target: Target,
    request: PublishRequest,
    max_spec_bytes: usize,
    now: i64,
) -> Result<Published, PublishFailure> {
    let prepared = prepare(store, target, request, max_spec_bytes).await?;
    commit(store, publisher, prepared, now).await
}

/// A version checked and rendered, not yet written (see [`publish`]).
pub struct Prepared {
    api_id: i64,
    slug: ApiSlug,
    guides: Option<Vec<PreparedGuide>>,
    version: PreparedVersion,
    /// When the request left out `spec`: the stored spec it was rendered from (`None` when the
    /// version had none). Publishing goes ahead only while that is still the stored one.
    kept_spec: Option<Option<String>>,
}

/// The first half of [`publish`]: reads what it keeps (the environment's base URL, the spec
/// when left out) and renders off the async workers. Writes nothing.
pub async fn prepare(
    store: &Store,
    target: Target,
    request: PublishRequest,
    max_spec_bytes: usize,
) -> Result<Prepared, PublishFailure> {
    let Target { api_id, slug } = target;
    let status = match request.status.as_deref() {
        None => VersionStatus::Current,
        Some(s) => s
            .parse::<VersionStatus>()
            .map_err(|e| ServiceError::Invalid(e.to_string()))?,
    };
    let base_url: Option<String> = sqlx::query_scalar(
        "SELECT base_url FROM environments WHERE api_id = $1 ORDER BY position, name LIMIT 1",
    )
    .bind(api_id)
    .fetch_optional(store.pool())
    .await?;
    let (spec, kept_spec) = match request.spec {
        Some(text) => (Some(text), None),
        None => {
            let kept = stored_spec(store.pool(), api_id, &request.label).await?;
            (kept.clone(), Some(kept))
        }
    };
    let problems = |found: Vec<Problem>| {
        PublishFailure::Problems(
            found
                .into_iter()
                .map(|p| ProblemView {
                    file: p.file,
                    location: p.location,
                    message: p.message,
                })
                .collect(),
        )
    };
    let render_slug = slug.to_string();
    let label = request.label;
    let release_notes = request.release_notes;
    let uploads = request.guides;
    let prepared = tokio::task::spawn_blocking(move || {
        let guides = match uploads {
            None => None,
            Some(uploads) => Some(publish::prepare_guides(
                &render_slug,
                uploads
                    .into_iter()
                    .map(|g| GuideFile {
                        file_name: g.name,
                        source: g.content.into_bytes(),
                    })
                    .collect(),
            )?),
        };
        let version = publish::prepare_version(
            &render_slug,
            base_url.as_deref(),
            VersionInput {
                label,
                status,
                release_notes,
                spec: spec.map(|s| ("spec".to_owned(), s.into_bytes())),
            },
            max_spec_bytes,
        )?;
        Ok::<_, Vec<Problem>>((guides, version))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "publish: rendering failed");
        PublishFailure::Service(ServiceError::Invalid(
            "The version could not be rendered.".into(),
        ))
    })?;
    let (guides, version) = prepared.map_err(problems)?;
    Ok(Prepared {
        api_id,
        slug,
        guides,
        version,
        kept_spec,
    })
}

/// The spec stored for a version (`None` when the version or its spec does not exist).
async fn stored_spec<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    conn: E,
    api_id: i64,
    label: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT spec_source FROM api_versions WHERE api_id = $1 AND label = $2",
    )
    .bind(api_id)
    .bind(label)
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// The second half of [`publish`]: writes the prepared version, its audit event and the token's
/// last use in one transaction. A version prepared with the spec it kept is refused when another
/// publish changed that spec meanwhile (the spec rendered would overwrite the newer one).
pub async fn commit(
    store: &Store,
    publisher: &Publisher,
    prepared: Prepared,
    now: i64,
) -> Result<Published, PublishFailure> {
    let Prepared {
        api_id,
        slug,
        guides,
        version,
        kept_spec,
    } = prepared;
    let mut tx = audit::write_tx(store).await?;
    if let Some(kept) = kept_spec
        && stored_spec(&mut *tx, api_id, &version.label).await? != kept
    {
        return Err(ServiceError::Conflict(format!(
            "Version {} of {slug} got another spec while this request was rendered; nothing was \
             written. Send it again to keep the new spec, or include `spec`.",
            version.label
        ))
        .into());
    }
    let shown_before = crate::server::db::catalog::shown_version(&mut *tx, api_id).await?;
    let written = write_version(
        &mut tx,
        api_id,
        slug.as_str(),
        &version,
        guides.as_deref(),
        Origin::Publish,
        now,
    )
    .await?;
    let guide_count = match (&guides, shown_before) {
        (Some(g), _) => g.len(),
        (None, Some((from, _))) if written.created => {
            copy_guides(&mut tx, from, written.id).await?
        }
        (None, _) => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM guides WHERE version_id = $1")
                .bind(written.id)
                .fetch_one(&mut *tx)
                .await? as usize
        }
    };
    sqlx::query("UPDATE publish_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(publisher.token_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::Other(publisher.label.clone()),
            action: Action::VersionPublished,
            target_kind: "api",
            target_id: slug.to_string(),
            details: serde_json::json!({
                "version": version.label,
                "created": written.created,
                "token_id": publisher.token_id,
            }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Published {
        api: slug.to_string(),
        url: format!("/apis/{slug}"),
        version: version.label,
        created: written.created,
        operations: version
            .spec
            .as_ref()
            .map_or(0, |s| s.reference.operations.len()),
        guides: guide_count,
    })
}

/// Gives a new version the guides of another: rows, renderings and search documents.
async fn copy_guides(
    conn: &mut sqlx::AnyConnection,
    from: i64,
    to: i64,
) -> Result<usize, sqlx::Error> {
    let copied = sqlx::query(
        "INSERT INTO guides (version_id, slug, title, position, source_md)
         SELECT $2, slug, title, position, source_md FROM guides WHERE version_id = $1",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO rendered_artifacts (version_id, kind, artifact_key, html, toc_json, renderer_version, rendered_at)
         SELECT $2, kind, artifact_key, html, toc_json, renderer_version, rendered_at
         FROM rendered_artifacts WHERE version_id = $1 AND kind = 'guide'",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO search_documents (api_id, version_id, kind, title, link, body, terms)
         SELECT api_id, $2, kind, title, link, body, terms
         FROM search_documents WHERE version_id = $1 AND kind = 'guide'",
    )
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(copied as usize)
}
