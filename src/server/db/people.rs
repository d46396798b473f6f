//! SQL for people, teams and admins.

use super::sessions::SessionRow;
use crate::model::{DevPerson, PersonKind};
use crate::server::actor::{Actor, Membership, TeamRole};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::sync::LazyLock;

#[derive(Debug, sqlx::FromRow)]
struct PersonRow {
    id: i64,
    name: String,
    email: String,
    kind: String,
    title: Option<String>,
    is_admin: i64,
}

fn kind(value: &str) -> Result<PersonKind, sqlx::Error> {
    value.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Who may still act: not deactivated, and for a contractor, before the end of their
/// engagement (`$2` is now).
const ACTIVE: &str =
    "p.deactivated_at IS NULL AND (p.kind = 'employee' OR p.contract_ends_at > $2)";

/// A statement answering an actor as rows: `leading` columns, then the person, the admin flag
/// and one team membership per row, for the person `source` (a `FROM` joining `people p`)
/// and `filter` find.
fn actor_sql(leading: &str, source: &str, filter: &str) -> String {
    format!(
        "SELECT {leading}p.id, p.name, p.email, p.kind,
                CASE WHEN a.person_id IS NULL THEN 0 ELSE 1 END AS is_admin,
                tm.team_id, tm.role
         {source}
         LEFT JOIN platform_admins a ON a.person_id = p.id
         LEFT JOIN team_members tm ON tm.person_id = p.id
         WHERE {filter}
         ORDER BY tm.team_id"
    )
}

/// `find_active_actor`'s statement, built once.
static ACTOR_BY_ID: LazyLock<String> =
    LazyLock::new(|| actor_sql("", "FROM people p", &format!("p.id = $1 AND {ACTIVE}")));

/// `find_session_actor`'s statement, built once: the session's row, with the person's columns
/// null when they may no longer act.
static ACTOR_BY_SESSION: LazyLock<String> = LazyLock::new(|| {
    actor_sql(
        "s.person_id, s.created_at, s.last_seen_at, s.expires_at, ",
        &format!("FROM sessions s LEFT JOIN people p ON p.id = s.person_id AND {ACTIVE}"),
        "s.id_hash = $1",
    )
});

/// The person behind a session, if they may still act: not deactivated, and for a contractor,
/// before the end of their engagement.
pub async fn find_active_actor(
    pool: &AnyPool,
    person_id: i64,
    now: i64,
) -> Result<Option<Actor>, sqlx::Error> {
    let rows = sqlx::query(&ACTOR_BY_ID)
        .bind(person_id)
        .bind(now)
        .fetch_all(pool)
        .await?;
    actor_from_rows(&rows)
}

/// A session and the person behind it in one statement (every page and server function asks):
/// the session's times, and the person if they may still act (`None` if not).
pub async fn find_session_actor(
    pool: &AnyPool,
    id_hash: &str,
    now: i64,
) -> Result<Option<(SessionRow, Option<Actor>)>, sqlx::Error> {
    let rows = sqlx::query(&ACTOR_BY_SESSION)
        .bind(id_hash)
        .bind(now)
        .fetch_all(pool)
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let session = SessionRow {
        person_id: first.try_get("person_id")?,
        created_at: first.try_get("created_at")?,
        last_seen_at: first.try_get("last_seen_at")?,
        expires_at: first.try_get("expires_at")?,
    };
    Ok(Some((session, actor_from_rows(&rows)?)))
}

/// An actor from rows of (person, admin flag, one team membership each); `None` if there are no
/// rows or the person's columns are null (the outer join found no one who may act).
fn actor_from_rows(rows: &[AnyRow]) -> Result<Option<Actor>, sqlx::Error> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let Some(person_id) = first.try_get::<Option<i64>, _>("id")? else {
        return Ok(None);
    };
    let mut teams = Vec::new();
    for row in rows {
        let Some(team_id) = row.try_get::<Option<i64>, _>("team_id")? else {
            continue;
        };
        let role = if row.try_get::<String, _>("role")? == "owner" {
            TeamRole::Owner
        } else {
            TeamRole::Member
        };
        teams.push(Membership { team_id, role });
    }
    Ok(Some(Actor {
        person_id,
        name: first.try_get("name")?,
        email: first.try_get("email")?,
        kind: kind(&first.try_get::<String, _>("kind")?)?,
        is_admin: first.try_get::<i64, _>("is_admin")? != 0,
        teams,
    }))
}

/// Everyone who may sign in now, admins first, then by name.
pub async fn list_active_people(pool: &AnyPool, now: i64) -> Result<Vec<DevPerson>, sqlx::Error> {
    let rows: Vec<PersonRow> = sqlx::query_as(
        "SELECT p.id, p.name, p.email, p.kind, p.title,
                CASE WHEN a.person_id IS NULL THEN 0 ELSE 1 END AS is_admin
         FROM people p LEFT JOIN platform_admins a ON a.person_id = p.id
         WHERE p.deactivated_at IS NULL AND (p.kind = 'employee' OR p.contract_ends_at > $1)
         ORDER BY is_admin DESC, CASE p.kind WHEN 'employee' THEN 0 ELSE 1 END, p.name",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DevPerson {
                id: r.id,
                kind: kind(&r.kind)?,
                name: r.name,
                email: r.email,
                title: r.title,
                is_admin: r.is_admin != 0,
            })
        })
        .collect()
}

pub async fn count_people(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(pool)
        .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct ProfileRow {
    pub title: Option<String>,
    pub department: Option<String>,
    pub company: Option<String>,
    pub contract_ends_at: Option<i64>,
    pub manager_name: Option<String>,
    pub manager_email: Option<String>,
    pub sponsor_name: Option<String>,
    pub sponsor_email: Option<String>,
}

pub async fn profile(pool: &AnyPool, person_id: i64) -> Result<Option<ProfileRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.title, p.department, p.company, p.contract_ends_at,
                m.name AS manager_name, m.email AS manager_email,
                s.name AS sponsor_name, s.email AS sponsor_email
         FROM people p
         LEFT JOIN people m ON m.id = p.manager_id
         LEFT JOIN people s ON s.id = p.sponsor_id
         WHERE p.id = $1",
    )
    .bind(person_id)
    .fetch_optional(pool)
    .await
}

/// The person's teams by name, with whether they own each.
pub async fn memberships(
    conn: impl sqlx::AnyExecutor<'_>,
    person_id: i64,
) -> Result<Vec<crate::model::MembershipView>, sqlx::Error> {
    sqlx::query(
        "SELECT t.slug, t.name, m.role FROM team_members m JOIN teams t ON t.id = m.team_id
         WHERE m.person_id = $1 ORDER BY t.name",
    )
    .bind(person_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(crate::model::MembershipView {
            team: crate::model::TeamRef {
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
            },
            owner: r.try_get::<String, _>("role")? == "owner",
        })
    })
    .collect()
}
