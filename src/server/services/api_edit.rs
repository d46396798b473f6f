//! Changing an API's metadata, scopes and environments: by its team's owners and admins in the
//! UI, and by the docs-as-code import. Both store through [`store_metadata`].

use crate::domain::catalog::{ApiMetadata, ApiSlug};
use crate::model::{ApiEdit, EnvironmentInput, ScopeInput};
use crate::server::actor::Actor;
use crate::server::authz;
use crate::server::db::catalog::Viewer;
use crate::server::db::{self, Store};
use crate::server::error::ServiceError;
use crate::server::render::markdown;
use crate::server::services::audit::{self, Action, Event, Who};
use crate::server::services::publish;
use sqlx::Row;
use std::collections::HashMap;

/// Why stored metadata could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("{0}")]
    InUse(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// What a metadata write removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub environments: Vec<String>,
    pub scopes: Vec<String>,
}

/// An API's description, rendered from Markdown and sanitized; done before the write
/// transaction, so no writer waits on rendering.
pub fn render_description(slug: &str, description_md: &str) -> String {
    markdown::render(
        description_md,
        &markdown::Links {
            api_slug: slug,
            guides: &HashMap::new(),
        },
    )
    .html
}

/// Writes an API's row, tags, environments and scopes, and its search document. Environments
/// and scopes are matched by name and updated in place; one that is gone is removed, unless
/// access requests or grants still name it.
pub async fn store_metadata(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    slug: &str,
    meta: &ApiMetadata,
    description_html: &str,
    now: i64,
) -> Result<Removed, MetadataError> {
    sqlx::query(
        "UPDATE apis SET name = $2, summary = $3, description_md = $4, lifecycle = $5, visibility = $6,
                repository_url = $7, runbook_url = $8, chat_channel = $9, updated_at = $10,
                description_html = $11, metadata_revision = metadata_revision + 1 WHERE id = $1",
    )
    .bind(api_id)
    .bind(&meta.name)
    .bind(&meta.summary)
    .bind(&meta.description_md)
    .bind(meta.lifecycle.as_str())
    .bind(meta.visibility.as_str())
    .bind(&meta.repository_url)
    .bind(&meta.runbook_url)
    .bind(&meta.chat_channel)
    .bind(now)
    .bind(description_html)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM api_tags WHERE api_id = $1")
        .bind(api_id)
        .execute(&mut *conn)
        .await?;
    for tag in &meta.tags {
        sqlx::query("INSERT INTO api_tags (api_id, tag) VALUES ($1, $2)")
            .bind(api_id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }

    let mut removed = Removed::default();
    let existing: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM environments WHERE api_id = $1")
            .bind(api_id)
            .fetch_all(&mut *conn)
            .await?;
    for (id, name) in existing {
        if meta.environments.iter().any(|e| e.name == name) {
            continue;
        }
        let used: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM access_requests WHERE environment_id = $1)
                  + (SELECT COUNT(*) FROM grants WHERE environment_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        if used > 0 {
            return Err(MetadataError::InUse(format!(
                "the environment '{name}' cannot be removed: access requests or grants name it"
            )));
        }
        sqlx::query("DELETE FROM environments WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        removed.environments.push(name);
    }
    for (position, e) in meta.environments.iter().enumerate() {
        let updated = sqlx::query(
            "UPDATE environments SET base_url = $3, position = $4 WHERE api_id = $1 AND name = $2",
        )
        .bind(api_id)
        .bind(&e.name)
        .bind(&e.base_url)
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO environments (api_id, name, base_url, position) VALUES ($1, $2, $3, $4)",
            )
            .bind(api_id)
            .bind(&e.name)
            .bind(&e.base_url)
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
        }
    }

    let existing: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM scopes WHERE api_id = $1")
            .bind(api_id)
            .fetch_all(&mut *conn)
            .await?;
    for (id, name) in existing {
        if meta.scopes.iter().any(|s| s.0 == name) {
            continue;
        }
        let used: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM access_request_scopes WHERE scope_id = $1)
                  + (SELECT COUNT(*) FROM grant_scopes WHERE scope_id = $1)
                  + (SELECT COUNT(*) FROM api_key_scopes WHERE scope_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        if used > 0 {
            return Err(MetadataError::InUse(format!(
                "the scope '{name}' cannot be removed: access requests, grants or keys name it"
            )));
        }
        sqlx::query("DELETE FROM scopes WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        removed.scopes.push(name);
    }
    for (name, description, risk) in &meta.scopes {
        let updated = sqlx::query(
            "UPDATE scopes SET description = $3, risk = $4 WHERE api_id = $1 AND name = $2",
        )
        .bind(api_id)
        .bind(name)
        .bind(description)
        .bind(risk.as_str())
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO scopes (api_id, name, description, risk) VALUES ($1, $2, $3, $4)",
            )
            .bind(api_id)
            .bind(name)
            .bind(description)
            .bind(risk.as_str())
            .execute(&mut *conn)
            .await?;
        }
    }
    publish::index_api(
        conn,
        api_id,
        slug,
        &meta.name,
        &meta.summary,
        &meta.description_md,
        &meta.tags,
    )
    .await?;
    Ok(removed)
}

/// The capability to edit an API (it carries the API's id), or why not. Someone who may not see
/// the API is told it does not exist.
async fn editable(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<authz::EditApi, ServiceError> {
    let not_found = || ServiceError::NotFound("The API".into());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let (api_id, team_id) = db::catalog::id_and_owner(store.pool(), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    match authz::edit_api(actor, api_id, team_id) {
        Some(can) => Ok(can),
        None => {
            let viewer = Viewer::new(actor, now);
            let visible = db::catalog::find_visible_name(store.pool(), &viewer, slug.as_str())
                .await?
                .is_some();
            Err(if visible {
                ServiceError::Forbidden
            } else {
                not_found()
            })
        }
    }
}

/// The edit form's starting values. Only those who may edit get them.
pub async fn load(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<ApiEdit, ServiceError> {
    let can = editable(store, actor, slug, now).await?;
    let mut conn = store.pool().acquire().await?;
    let api_id = can.api_id();
    let row = sqlx::query(
        "SELECT name, summary, description_md, lifecycle, visibility, repository_url, runbook_url, chat_channel,
                metadata_revision
         FROM apis WHERE id = $1",
    )
    .bind(api_id)
    .fetch_one(&mut *conn)
    .await?;
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM api_tags WHERE api_id = $1 ORDER BY tag")
            .bind(api_id)
            .fetch_all(&mut *conn)
            .await?;
    let environments = sqlx::query_as::<_, (String, String)>(
        "SELECT name, base_url FROM environments WHERE api_id = $1 ORDER BY position, name",
    )
    .bind(api_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(name, base_url)| EnvironmentInput { name, base_url })
    .collect();
    let scopes = sqlx::query_as::<_, (String, String, String)>(
        "SELECT name, description, risk FROM scopes WHERE api_id = $1 ORDER BY name",
    )
    .bind(api_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(name, description, risk)| ScopeInput {
        name,
        description,
        risk,
    })
    .collect();
    let text = |c: &str| -> Result<String, sqlx::Error> {
        Ok(row.try_get::<Option<String>, _>(c)?.unwrap_or_default())
    };
    Ok(ApiEdit {
        name: row.try_get("name")?,
        summary: row.try_get("summary")?,
        description_md: row.try_get("description_md")?,
        lifecycle: row.try_get("lifecycle")?,
        visibility: row.try_get("visibility")?,
        tags: tags.join(", "),
        repository_url: text("repository_url")?,
        runbook_url: text("runbook_url")?,
        chat_channel: text("chat_channel")?,
        environments,
        scopes,
        revision: Some(row.try_get("metadata_revision")?),
    })
}

/// Saves an edit: checked whole, then written with its audit event in one transaction.
#[tracing::instrument(skip(store, actor, edit), fields(person = actor.person_id))]
pub async fn update(
    store: &Store,
    actor: &Actor,
    slug: &str,
    edit: &ApiEdit,
    now: i64,
) -> Result<(), ServiceError> {
    // Who may edit is decided before what they sent is checked, and before the write lock.
    let can = editable(store, actor, slug, now).await?;
    let meta =
        ApiMetadata::parse(edit).map_err(|p| ServiceError::Invalid(capitalise(&p.join("; "))))?;
    let description_html = render_description(slug, &meta.description_md);
    let mut tx = audit::write_tx(store).await?;
    // Compared in the transaction: no save can come between this check and this one's write.
    if let Some(loaded) = edit.revision {
        let current: i64 = sqlx::query_scalar("SELECT metadata_revision FROM apis WHERE id = $1")
            .bind(can.api_id())
            .fetch_one(&mut *tx)
            .await?;
        if current != loaded {
            return Err(ServiceError::Conflict(
                "Someone saved this API after you opened the form, so nothing was saved: \
                 the form now shows what is saved. Make your changes again from there."
                    .into(),
            ));
        }
    }
    let removed = store_metadata(&mut tx, can.api_id(), slug, &meta, &description_html, now)
        .await
        .map_err(|e| match e {
            MetadataError::InUse(m) => ServiceError::Conflict(capitalise(&m)),
            MetadataError::Store(e) => ServiceError::Store(e),
        })?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::ApiUpdated,
            target_kind: "api",
            target_id: slug.to_owned(),
            details: serde_json::json!({
                "environments": meta.environments.iter().map(|e| &e.name).collect::<Vec<_>>(),
                "scopes": meta.scopes.iter().map(|s| &s.0).collect::<Vec<_>>(),
                "removed_environments": removed.environments,
                "removed_scopes": removed.scopes,
            }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
