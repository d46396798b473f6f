//! The admin screens' decisions: people (search, kind, manager, admin role, deactivation) and
//! team membership. People changes need the `ManageOrg` capability (admins); a team's membership
//! needs `ManageTeam` (an admin or that team's owner). Each change commits with its audit event.

use crate::domain::org::parse_email;
use crate::domain::time::parse_date;
use crate::model::{
    PersonDetail, PersonKind, PersonRef, PersonSummary, TeamMember, TeamRef, TeamRoleChoice,
    TeamView,
};
use crate::server::actor::Actor;
use crate::server::authz::{self, ManageOrg, ManageTeam};
use crate::server::db::identity as idb;
use crate::server::db::{self, Store};
use crate::server::error::ServiceError;
use crate::server::services::audit::{self, Action, Event, Who};
use sqlx::{AnyConnection, Row};

fn person_ref(name: Option<String>, email: Option<String>) -> Option<PersonRef> {
    Some(PersonRef {
        name: name?,
        email: email?,
    })
}

enum Which {
    All,
    Matching(String),
    Id(i64),
}

async fn summaries(
    conn: &mut AnyConnection,
    which: Which,
) -> Result<Vec<PersonSummary>, ServiceError> {
    let where_sql = match which {
        Which::All => "1 = 1",
        Which::Matching(_) => "(lower(p.name) LIKE $1 ESCAPE '\\' OR p.email LIKE $1 ESCAPE '\\')",
        Which::Id(_) => "p.id = $1",
    };
    let sql = format!(
        "SELECT p.id, p.name, p.email, p.kind, p.title, p.contract_ends_at, p.deactivated_at,
                CASE WHEN a.person_id IS NULL THEN 0 ELSE 1 END AS is_admin,
                m.name AS manager_name, m.email AS manager_email
         FROM people p
         LEFT JOIN platform_admins a ON a.person_id = p.id
         LEFT JOIN people m ON m.id = p.manager_id
         WHERE {where_sql}
         ORDER BY p.name, p.id LIMIT 200"
    );
    let query = sqlx::query(&sql);
    let query = match which {
        Which::All => query,
        Which::Matching(pattern) => query.bind(pattern),
        Which::Id(id) => query.bind(id),
    };
    let rows = query.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let kind: String = r.try_get("kind")?;
        out.push(PersonSummary {
            id,
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            kind: kind.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            title: r.try_get("title")?,
            is_admin: r.try_get::<i64, _>("is_admin")? != 0,
            active: r.try_get::<Option<i64>, _>("deactivated_at")?.is_none(),
            contract_ends_at: r.try_get("contract_ends_at")?,
            manager: person_ref(r.try_get("manager_name")?, r.try_get("manager_email")?),
            teams: Vec::new(),
        });
    }
    for p in &mut out {
        p.teams = db::people::memberships(&mut *conn, p.id).await?;
    }
    Ok(out)
}

/// People whose name or email contains the search text (everyone when it is empty).
pub async fn search_people(
    store: &Store,
    _cap: &ManageOrg,
    text: &str,
) -> Result<Vec<PersonSummary>, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let text = text.trim();
    if text.is_empty() {
        return summaries(&mut conn, Which::All).await;
    }
    let pattern = db::like_contains(&text.to_lowercase());
    summaries(&mut conn, Which::Matching(pattern)).await
}

pub async fn person(
    store: &Store,
    _cap: &ManageOrg,
    id: i64,
) -> Result<PersonDetail, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let person = summaries(&mut conn, Which::Id(id))
        .await?
        .pop()
        .ok_or_else(|| ServiceError::NotFound("The person".into()))?;
    let r = sqlx::query(
        "SELECT p.department, p.company, s.name AS sponsor_name, s.email AS sponsor_email
         FROM people p LEFT JOIN people s ON s.id = p.sponsor_id WHERE p.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let all_teams = sqlx::query("SELECT slug, name FROM teams ORDER BY name")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|t| {
            Ok(TeamRef {
                slug: t.try_get("slug")?,
                name: t.try_get("name")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(PersonDetail {
        person,
        department: r.try_get("department")?,
        company: r.try_get("company")?,
        sponsor: person_ref(r.try_get("sponsor_name")?, r.try_get("sponsor_email")?),
        all_teams,
    })
}

fn event(actor: &Actor, action: Action, id: i64, details: serde_json::Value) -> Event {
    Event {
        who: Who::actor(actor),
        action,
        target_kind: "person",
        target_id: id.to_string(),
        details,
        ip: None,
    }
}

async fn existing(conn: &mut AnyConnection, id: i64) -> Result<idb::PersonCore, ServiceError> {
    idb::person_by_id(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The person".into()))
}

/// A change of kind: to an employee, or to a contractor with a sponsor and a last day.
pub struct KindChange<'a> {
    pub kind: PersonKind,
    pub sponsor_email: Option<&'a str>,
    pub ends_on: Option<&'a str>,
}

/// Makes someone an employee, or a contractor with a sponsor and an end date.
pub async fn set_kind(
    store: &Store,
    actor: &Actor,
    _cap: &ManageOrg,
    id: i64,
    change: &KindChange<'_>,
    max_days: u32,
    now: i64,
) -> Result<(), ServiceError> {
    let KindChange {
        kind,
        sponsor_email,
        ends_on,
    } = *change;
    let mut tx = audit::write_tx(store).await?;
    let person = existing(&mut tx, id).await?;
    if id == actor.person_id {
        return Err(ServiceError::Invalid(
            "You cannot change your own kind.".into(),
        ));
    }
    match kind {
        PersonKind::Employee => {
            sqlx::query(
                "UPDATE people SET kind = 'employee', sponsor_id = NULL, contract_ends_at = NULL,
                        password_hash = NULL, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        PersonKind::Contractor => {
            let sponsor_email = sponsor_email.and_then(parse_email).ok_or_else(|| {
                ServiceError::Invalid("A contractor needs a sponsor's email.".into())
            })?;
            let sponsor = idb::person_by_email(&mut tx, &sponsor_email)
                .await?
                .filter(|s| s.kind == "employee" && s.deactivated_at.is_none() && s.id != id)
                .ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "The sponsor must be another active employee; {sponsor_email} is not."
                    ))
                })?;
            let day = ends_on.and_then(parse_date).ok_or_else(|| {
                ServiceError::Invalid("A contractor needs a last day like 2027-05-31.".into())
            })?;
            let today = now.div_euclid(86_400) * 86_400;
            if day < today || day > today + i64::from(max_days) * 86_400 {
                return Err(ServiceError::Invalid(format!(
                    "The last day must be between today and {max_days} days from now."
                )));
            }
            sqlx::query(
                "UPDATE people SET kind = 'contractor', sponsor_id = $1, contract_ends_at = $2,
                        updated_at = $3 WHERE id = $4",
            )
            .bind(sponsor.id)
            .bind(day + 86_400)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // A contractor is no admin.
            sqlx::query("DELETE FROM platform_admins WHERE person_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    audit::record(
        &mut tx,
        &event(
            actor,
            Action::RoleChanged,
            id,
            serde_json::json!({ "kind": { "from": person.kind, "to": kind.as_str() } }),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets or clears someone's manager. No loops in the reporting line.
pub async fn set_manager(
    store: &Store,
    actor: &Actor,
    _cap: &ManageOrg,
    id: i64,
    manager_email: Option<&str>,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    existing(&mut tx, id).await?;
    let manager = match manager_email.map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(raw) => {
            let email = parse_email(raw).ok_or_else(|| {
                ServiceError::Invalid(format!("'{raw:.40}' is not an email address."))
            })?;
            let m = idb::person_by_email(&mut tx, &email)
                .await?
                .ok_or_else(|| ServiceError::Invalid(format!("Nobody has the address {email}.")))?;
            if m.id == id || idb::would_cycle(&mut tx, id, m.id).await? {
                return Err(ServiceError::Invalid(
                    "That manager would put a loop in the reporting line.".into(),
                ));
            }
            Some(m.id)
        }
    };
    sqlx::query("UPDATE people SET manager_id = $1, updated_at = $2 WHERE id = $3")
        .bind(manager)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &event(
            actor,
            Action::PersonUpdated,
            id,
            serde_json::json!({ "manager_id": manager }),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Grants or removes the platform admin role. An admin cannot remove their own, so there is
/// always one left; contractors cannot be admins.
pub async fn set_admin(
    store: &Store,
    actor: &Actor,
    _cap: &ManageOrg,
    id: i64,
    admin: bool,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let person = existing(&mut tx, id).await?;
    if !admin && id == actor.person_id {
        return Err(ServiceError::Invalid(
            "You cannot remove your own admin role; ask another admin.".into(),
        ));
    }
    if admin && (person.kind != "employee" || person.deactivated_at.is_some()) {
        return Err(ServiceError::Invalid(
            "Only active employees can be admins.".into(),
        ));
    }
    let changed = if admin {
        let present: Option<i64> =
            sqlx::query_scalar("SELECT person_id FROM platform_admins WHERE person_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if present.is_none() {
            sqlx::query(
                "INSERT INTO platform_admins (person_id, granted_by, granted_at) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(actor.person_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        present.is_none()
    } else {
        let removed = sqlx::query("DELETE FROM platform_admins WHERE person_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        // Checked inside the transaction: two admins demoting each other at once cannot leave
        // nobody in charge.
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM platform_admins")
            .fetch_one(&mut *tx)
            .await?;
        if left == 0 {
            return Err(ServiceError::Invalid(
                "Gatehouse needs at least one admin.".into(),
            ));
        }
        removed
    };
    if changed {
        audit::record(
            &mut tx,
            &event(
                actor,
                Action::RoleChanged,
                id,
                serde_json::json!({ "admin": admin }),
            ),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deactivates (every session ends at once) or reactivates someone. Not oneself.
pub async fn set_active(
    store: &Store,
    actor: &Actor,
    _cap: &ManageOrg,
    id: i64,
    active: bool,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let person = existing(&mut tx, id).await?;
    if id == actor.person_id {
        return Err(ServiceError::Invalid(
            "You cannot deactivate yourself.".into(),
        ));
    }
    if person.deactivated_at.is_none() == active {
        return Ok(());
    }
    sqlx::query("UPDATE people SET deactivated_at = $1, updated_at = $2 WHERE id = $3")
        .bind((!active).then_some(now))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let details = if active {
        serde_json::json!({})
    } else {
        let ended = db::sessions::delete_for_person(&mut tx, id).await?;
        serde_json::json!({ "sessions_ended": ended })
    };
    let action = if active {
        Action::PersonReactivated
    } else {
        Action::PersonDeactivated
    };
    audit::record(&mut tx, &event(actor, action, id, details), now).await?;
    // Their keys stop (or work again) on every replica now, not when a cache entry ages out.
    super::keys::people_changed(&mut tx, store).await?;
    tx.commit().await?;
    super::keys::announce_people_changed(store);
    Ok(())
}

/// Teams with their members: admins see all; others see the teams they belong to.
pub async fn teams(store: &Store, actor: &Actor) -> Result<Vec<TeamView>, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let rows = sqlx::query(
        "SELECT id, slug, name, description FROM teams
         WHERE $1 = 1 OR id IN (SELECT team_id FROM team_members WHERE person_id = $2)
         ORDER BY name",
    )
    .bind(i64::from(actor.is_admin))
    .bind(actor.person_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let members = sqlx::query(
            "SELECT p.id, p.name, p.email, m.role FROM team_members m JOIN people p ON p.id = m.person_id
             WHERE m.team_id = $1 ORDER BY CASE m.role WHEN 'owner' THEN 0 ELSE 1 END, p.name",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|m| {
            Ok(TeamMember {
                person_id: m.try_get("id")?,
                name: m.try_get("name")?,
                email: m.try_get("email")?,
                owner: m.try_get::<String, _>("role")? == "owner",
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let can = authz::manage_team(actor, id);
        let publish_tokens = match &can {
            Some(can) => super::publish_tokens::list_for(store, can).await?,
            None => Vec::new(),
        };
        out.push(TeamView {
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            members,
            can_manage: can.is_some(),
            publish_tokens,
        });
    }
    Ok(out)
}

/// The team behind a slug and the capability to change it, if the actor has it. Someone who
/// cannot manage the team is refused the same way whether or not it exists.
pub async fn team_capability(
    store: &Store,
    actor: &Actor,
    slug: &str,
) -> Result<ManageTeam, ServiceError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE slug = $1")
        .bind(slug)
        .fetch_optional(store.pool())
        .await?;
    id.and_then(|id| authz::manage_team(actor, id))
        .ok_or(ServiceError::Forbidden)
}

/// Adds someone to a team, changes their role there, or removes them. A team keeps at least one
/// owner.
pub async fn set_team_role(
    store: &Store,
    actor: &Actor,
    cap: &ManageTeam,
    email: &str,
    role: TeamRoleChoice,
    now: i64,
) -> Result<(), ServiceError> {
    let email = parse_email(email)
        .ok_or_else(|| ServiceError::Invalid(format!("'{email:.40}' is not an email address.")))?;
    let mut tx = audit::write_tx(store).await?;
    let person = idb::person_by_email(&mut tx, &email)
        .await?
        .ok_or_else(|| ServiceError::Invalid(format!("Nobody has the address {email}.")))?;
    if role == TeamRoleChoice::Owner && person.kind != "employee" {
        return Err(ServiceError::Invalid(
            "Contractors can be members of a team, not owners.".into(),
        ));
    }
    let team_id = cap.team_id();
    let current: Option<String> =
        sqlx::query_scalar("SELECT role FROM team_members WHERE team_id = $1 AND person_id = $2")
            .bind(team_id)
            .bind(person.id)
            .fetch_optional(&mut *tx)
            .await?;
    if current.as_deref() == Some("owner") && role != TeamRoleChoice::Owner {
        let owners: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM team_members WHERE team_id = $1 AND role = 'owner'",
        )
        .bind(team_id)
        .fetch_one(&mut *tx)
        .await?;
        if owners <= 1 {
            return Err(ServiceError::Invalid(
                "A team needs at least one owner; make someone else owner first.".into(),
            ));
        }
    }
    match (role, current.is_some()) {
        (TeamRoleChoice::None, _) => {
            sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND person_id = $2")
                .bind(team_id)
                .bind(person.id)
                .execute(&mut *tx)
                .await?;
        }
        (role, true) => {
            sqlx::query("UPDATE team_members SET role = $1 WHERE team_id = $2 AND person_id = $3")
                .bind(role.as_str())
                .bind(team_id)
                .bind(person.id)
                .execute(&mut *tx)
                .await?;
        }
        (role, false) => {
            sqlx::query(
                "INSERT INTO team_members (team_id, person_id, role, added_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(team_id)
            .bind(person.id)
            .bind(role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::TeamChanged,
            target_kind: "team",
            target_id: team_id.to_string(),
            details: serde_json::json!({ "person_id": person.id, "role": role.as_str(), "was": current }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
