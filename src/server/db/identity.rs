//! SQL for signing in: sign-ins in flight, people found by their identity-provider subject or
//! email, and contractor invitations.

use sqlx::{AnyConnection, AnyPool};

pub struct NewLogin<'a> {
    pub id_hash: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub return_to: &'a str,
    pub invitation_id: Option<i64>,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct LoginRow {
    pub state: String,
    pub nonce: String,
    pub return_to: String,
    pub invitation_id: Option<i64>,
    pub expires_at: i64,
}

pub async fn insert_login(pool: &AnyPool, l: NewLogin<'_>) -> Result<(), sqlx::Error> {
    // Abandoned sign-ins are cleared as new ones start.
    sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1")
        .bind(l.now)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO oidc_logins (id_hash, state, nonce, return_to, invitation_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(l.id_hash)
    .bind(l.state)
    .bind(l.nonce)
    .bind(l.return_to)
    .bind(l.invitation_id)
    .bind(l.now)
    .bind(l.expires_at)
    .execute(pool)
    .await
    .map(|_| ())
}

/// A sign-in in flight, left in place.
pub async fn find_login(pool: &AnyPool, id_hash: &str) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT state, nonce, return_to, invitation_id, expires_at FROM oidc_logins
         WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

/// Removes and returns a sign-in in flight with this `state`: whoever comes back second finds
/// nothing.
pub async fn take_login(
    pool: &AnyPool,
    id_hash: &str,
    state: &str,
) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM oidc_logins WHERE id_hash = $1 AND state = $2
         RETURNING state, nonce, return_to, invitation_id, expires_at",
    )
    .bind(id_hash)
    .bind(state)
    .fetch_optional(pool)
    .await
}

/// Enough of a person to decide whether and how they may sign in.
#[derive(Debug, sqlx::FromRow)]
pub struct PersonCore {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub kind: String,
    pub oidc_issuer: Option<String>,
    pub oidc_subject: Option<String>,
    pub password_hash: Option<String>,
    pub contract_ends_at: Option<i64>,
    pub deactivated_at: Option<i64>,
}

const PERSON_CORE: &str = "SELECT id, email, name, kind, oidc_issuer, oidc_subject, password_hash,
    contract_ends_at, deactivated_at FROM people";

pub async fn person_by_subject(
    conn: &mut AnyConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<PersonCore>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{PERSON_CORE} WHERE oidc_issuer = $1 AND oidc_subject = $2"
    ))
    .bind(issuer)
    .bind(subject)
    .fetch_optional(conn)
    .await
}

pub async fn person_by_email(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<PersonCore>, sqlx::Error> {
    sqlx::query_as(&format!("{PERSON_CORE} WHERE email = $1"))
        .bind(email)
        .fetch_optional(conn)
        .await
}

pub async fn person_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<PersonCore>, sqlx::Error> {
    sqlx::query_as(&format!("{PERSON_CORE} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn bind_subject(
    conn: &mut AnyConnection,
    person_id: i64,
    issuer: &str,
    subject: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET oidc_issuer = $1, oidc_subject = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(issuer)
    .bind(subject)
    .bind(now)
    .bind(person_id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Name, and where the provider sends them, department and manager, as of this sign-in.
pub async fn update_from_claims(
    conn: &mut AnyConnection,
    person_id: i64,
    name: &str,
    department: Option<&str>,
    manager_id: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET name = $1, department = COALESCE($2, department),
                manager_id = COALESCE($3, manager_id), updated_at = $4
         WHERE id = $5",
    )
    .bind(name)
    .bind(department)
    .bind(manager_id)
    .bind(now)
    .bind(person_id)
    .execute(conn)
    .await
    .map(|_| ())
}

pub struct NewPerson<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub sponsor_id: Option<i64>,
    pub company: Option<&'a str>,
    pub department: Option<&'a str>,
    pub contract_ends_at: Option<i64>,
    pub oidc_issuer: Option<&'a str>,
    pub oidc_subject: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub now: i64,
}

pub async fn insert_person(conn: &mut AnyConnection, p: NewPerson<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO people (email, name, kind, sponsor_id, company, department, contract_ends_at,
                             oidc_issuer, oidc_subject, password_hash, external_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(p.email)
    .bind(p.name)
    .bind(p.kind)
    .bind(p.sponsor_id)
    .bind(p.company)
    .bind(p.department)
    .bind(p.contract_ends_at)
    .bind(p.oidc_issuer)
    .bind(p.oidc_subject)
    .bind(p.password_hash)
    .bind(p.external_id)
    .bind(p.now)
    .fetch_one(conn)
    .await
}

/// Whether making `manager_id` the manager of `person_id` would close a loop in the reporting
/// line (the manager reports, directly or not, to the person).
pub async fn would_cycle(
    conn: &mut AnyConnection,
    person_id: i64,
    manager_id: i64,
) -> Result<bool, sqlx::Error> {
    let mut current = Some(manager_id);
    let mut steps = 0;
    while let Some(id) = current {
        if id == person_id {
            return Ok(true);
        }
        steps += 1;
        if steps > 10_000 {
            return Ok(true);
        }
        current =
            sqlx::query_scalar::<_, Option<i64>>("SELECT manager_id FROM people WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .flatten();
    }
    Ok(false)
}

#[derive(Debug, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub email: String,
    pub company: String,
    pub sponsor_id: i64,
    pub invited_by: i64,
    pub ends_at: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<i64>,
    pub revoked_at: Option<i64>,
}

const INVITATION: &str = "SELECT id, email, company, sponsor_id, invited_by, ends_at, created_at,
    expires_at, accepted_at, accepted_by, revoked_at FROM contractor_invitations";

pub async fn invitation_by_token_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!("{INVITATION} WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(conn)
        .await
}

pub async fn invitation_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!("{INVITATION} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Marks an invitation used, if it still can be: the `WHERE` makes a second acceptance (two tabs,
/// a replayed link) change nothing.
pub async fn accept_invitation(
    conn: &mut AnyConnection,
    id: i64,
    person_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE contractor_invitations SET accepted_at = $1, accepted_by = $2
         WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(person_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
