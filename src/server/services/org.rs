//! Importing the org file: people, managers and team memberships. The file is checked whole
//! against itself and the current organisation first; only a clean file is written, in one
//! transaction with its audit event. People missing from the file are left as they are
//! (deactivation is a separate, deliberate act).

use crate::domain::org::{Existing, OrgFormat, parse_and_check};
use crate::model::OrgImportReport;
use crate::server::actor::Actor;
use crate::server::authz::ManageOrg;
use crate::server::db::Store;
use crate::server::error::ServiceError;
use crate::server::services::audit::{self, Action, Event, Who};
use sqlx::Row;
use std::collections::{HashMap, HashSet};

struct Known {
    id: i64,
    name: String,
    manager_id: Option<i64>,
}

pub async fn import(
    store: &Store,
    actor: &Actor,
    _cap: &ManageOrg,
    format: OrgFormat,
    text: &str,
    now: i64,
) -> Result<OrgImportReport, ServiceError> {
    // The organisation is read inside the write transaction, after the audit chain's head is
    // claimed, which every audited change takes first: nothing can change between the read and
    // the writes planned from it. Imports sent side by side each apply against what the one
    // before wrote; read before the transaction, the later ones failed on the people the first
    // had just added.
    let mut tx = audit::write_tx(store).await?;
    let mut known: HashMap<String, Known> = HashMap::new();
    let mut manager_emails: HashMap<String, Option<String>> = HashMap::new();
    for r in sqlx::query(
        "SELECT p.id, p.email, p.name, p.manager_id, m.email AS manager_email
         FROM people p LEFT JOIN people m ON m.id = p.manager_id",
    )
    .fetch_all(&mut *tx)
    .await?
    {
        let email: String = r.try_get("email")?;
        manager_emails.insert(email.clone(), r.try_get("manager_email")?);
        known.insert(
            email,
            Known {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                manager_id: r.try_get("manager_id")?,
            },
        );
    }
    let teams: HashMap<String, i64> = sqlx::query("SELECT slug, id FROM teams")
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("slug")?, r.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let team_slugs: HashSet<String> = teams.keys().cloned().collect();
    let roles: HashMap<(i64, i64), bool> =
        sqlx::query("SELECT team_id, person_id, role FROM team_members")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    (r.try_get("team_id")?, r.try_get("person_id")?),
                    r.try_get::<String, _>("role")? == "owner",
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;

    let rows = parse_and_check(
        format,
        text,
        &Existing {
            managers: &manager_emails,
            teams: &team_slugs,
        },
    )
    .map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        ServiceError::Invalid(format!(
            "The org file was not imported; nothing changed.\n{}",
            lines.join("\n")
        ))
    })?;

    let mut report = OrgImportReport::default();
    let mut changed: HashSet<i64> = HashSet::new();
    let mut ids: HashMap<String, i64> = known.iter().map(|(e, k)| (e.clone(), k.id)).collect();
    for r in &rows {
        match known.get(&r.email) {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO people (email, name, kind, created_at, updated_at) VALUES ($1, $2, 'employee', $3, $3) RETURNING id",
                )
                .bind(&r.email)
                .bind(&r.name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                ids.insert(r.email.clone(), id);
                report.created += 1;
            }
            Some(k) if k.name != r.name => {
                sqlx::query("UPDATE people SET name = $2, updated_at = $3 WHERE id = $1")
                    .bind(k.id)
                    .bind(&r.name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                changed.insert(k.id);
            }
            Some(_) => {}
        }
    }
    for r in &rows {
        let id = ids[&r.email];
        let wanted = r.manager_email.as_ref().map(|m| ids[m]);
        let current = known.get(&r.email).and_then(|k| k.manager_id);
        if wanted != current {
            sqlx::query("UPDATE people SET manager_id = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(wanted)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if known.contains_key(&r.email) {
                changed.insert(id);
            }
        }
        for (slug, owner) in &r.teams {
            let team_id = teams[slug];
            let role = if *owner { "owner" } else { "member" };
            match roles.get(&(team_id, id)) {
                None => {
                    sqlx::query("INSERT INTO team_members (team_id, person_id, role, added_at) VALUES ($1, $2, $3, $4)")
                        .bind(team_id)
                        .bind(id)
                        .bind(role)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    report.memberships_added += 1;
                }
                Some(is_owner) if is_owner != owner => {
                    sqlx::query(
                        "UPDATE team_members SET role = $3 WHERE team_id = $1 AND person_id = $2",
                    )
                    .bind(team_id)
                    .bind(id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                    report.roles_changed += 1;
                }
                Some(_) => {}
            }
        }
    }
    report.updated = changed.len();
    report.unchanged = rows.len() - report.created - report.updated;
    let event = Event {
        who: Who::actor(actor),
        action: Action::OrgImported,
        target_kind: "organisation",
        target_id: String::new(),
        details: serde_json::to_value(&report).unwrap_or_default(),
        ip: None,
    };
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(report)
}
