//! SQL for the audit log. Appends run inside the caller's transaction.

use sqlx::{AnyConnection, AnyPool};

/// Locks the chain's head for this transaction and returns its hash and new length. Must be the
/// transaction's first write, so SQLite takes its write lock before anything is read.
pub async fn lock_head(conn: &mut AnyConnection) -> Result<(String, i64), sqlx::Error> {
    sqlx::query_as("UPDATE audit_head SET event_count = event_count + 1 WHERE id = 1 RETURNING hash, event_count")
        .fetch_one(conn)
        .await
}

/// Takes the head row's lock without changing it (see `services::audit::write_tx`).
pub async fn claim_head(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_head SET hash = hash WHERE id = 1")
        .execute(conn)
        .await
        .map(|_| ())
}

pub struct NewEvent<'a> {
    pub occurred_at: i64,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub details: &'a str,
    pub ip: Option<&'a str>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

pub async fn append(conn: &mut AnyConnection, e: NewEvent<'_>) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar(
        "INSERT INTO audit_events (occurred_at, actor_id, actor_label, action, target_kind, target_id, details, ip, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(e.occurred_at)
    .bind(e.actor_id)
    .bind(e.actor_label)
    .bind(e.action)
    .bind(e.target_kind)
    .bind(e.target_id)
    .bind(e.details)
    .bind(e.ip)
    .bind(e.prev_hash)
    .bind(e.hash)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(e.hash)
        .execute(conn)
        .await?;
    Ok(id)
}

#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub occurred_at: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub details: String,
    pub ip: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// A page of events in chain order, after `after_id`.
pub async fn page(pool: &AnyPool, after_id: i64, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, occurred_at, actor_id, actor_label, action, target_kind, target_id, details, ip, prev_hash, hash
         FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn head(pool: &AnyPool) -> Result<(String, i64), sqlx::Error> {
    sqlx::query_as("SELECT hash, event_count FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await
}
