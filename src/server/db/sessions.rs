//! SQL for server-side sessions. Only the SHA-256 of a session id is ever stored.

use sqlx::{AnyConnection, AnyPool};

#[derive(Debug)]
pub struct SessionRow {
    pub person_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub person_id: i64,
    pub auth_method: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut AnyConnection, s: NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, person_id, auth_method, created_at, last_seen_at, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(s.id_hash)
    .bind(s.person_id)
    .bind(s.auth_method)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.ip)
    .bind(s.user_agent)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn touch(pool: &AnyPool, id_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete(pool: &AnyPool, id_hash: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes a session and says whose it was.
pub async fn delete_returning_person(
    conn: &mut AnyConnection,
    id_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("DELETE FROM sessions WHERE id_hash = $1 RETURNING person_id")
        .bind(id_hash)
        .fetch_optional(conn)
        .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct LiveSessionRow {
    pub id_hash: String,
    pub auth_method: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
}

/// A person's sessions that are neither past their lifetime nor idle too long, newest first.
pub async fn list_live(
    pool: &AnyPool,
    person_id: i64,
    idle_seconds: i64,
    now: i64,
) -> Result<Vec<LiveSessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id_hash, auth_method, created_at, last_seen_at, expires_at, user_agent
         FROM sessions WHERE person_id = $1 AND expires_at > $2 AND last_seen_at + $3 > $2
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(person_id)
    .bind(now)
    .bind(idle_seconds)
    .fetch_all(pool)
    .await
}

/// Deletes every session of the person the capability names.
pub async fn delete_all_for(
    conn: &mut AnyConnection,
    cap: &crate::server::authz::EndSessionsOf,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE person_id = $1")
        .bind(cap.person_id())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a person whom a service has just locked out (deactivation, the end of
/// an engagement); the caller holds the capability for that.
pub async fn delete_for_person(
    conn: &mut AnyConnection,
    person_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE person_id = $1")
        .bind(person_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
