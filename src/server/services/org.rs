//! Importing the org file: people, managers and team memberships. The file is checked whole
//! against itself and the current organisation first; only a clean file is written, in one
//! transaction with its audit event. People missing from the file are left as they are
//! (deactivation is a separate, deliberate act).

use crate::domain::org::{Existing, OrgFormat, parse_and_check};
use crate::model::OrgImportReport;
use crate::server::actor::Actor;
use crate::server::authz::ManageOrg;
use crate::server::db::{Store, values_rows};
use crate::server::error::ServiceError;
use crate::server::services::audit::{self, Action, Event, Who};
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// Rows per statement: 2,500 parameters at most, well under SQLite's limit (32,766) and
/// PostgreSQL's (65,535).
const ROWS_PER_STATEMENT: usize = 500;

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

    // Planned whole, then written a few hundred rows to a statement: a company's first import
    // is tens of thousands of rows, and every audited write in the portal waits for this
    // transaction (20,000 people took 4.4 s on SQLite and 7.8 s on PostgreSQL a row at a time).
    let mut report = OrgImportReport::default();
    let mut changed: HashSet<i64> = HashSet::new();
    let mut created = Vec::new();
    let mut renamed = Vec::new();
    for r in &rows {
        match known.get(&r.email) {
            None => created.push(r),
            Some(k) if k.name != r.name => {
                renamed.push((k.id, r.name.as_str()));
                changed.insert(k.id);
            }
            Some(_) => {}
        }
    }
    let mut ids: HashMap<String, i64> = known.iter().map(|(e, k)| (e.clone(), k.id)).collect();
    for batch in created.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO people (email, name, kind, created_at, updated_at) VALUES {} RETURNING id, email",
            values_rows(&tx, batch.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for r in batch {
            query = query
                .bind(&r.email)
                .bind(&r.name)
                .bind("employee")
                .bind(now)
                .bind(now);
        }
        for row in query.fetch_all(&mut *tx).await? {
            ids.insert(row.try_get("email")?, row.try_get("id")?);
        }
    }
    report.created = created.len();
    for batch in renamed.chunks(ROWS_PER_STATEMENT) {
        // A VALUES list's columns are `column1`, `column2`… in both SQLite and PostgreSQL.
        let sql = format!(
            "UPDATE people SET name = v.column2, updated_at = v.column3 FROM (VALUES {}) AS v
             WHERE people.id = v.column1",
            values_rows(&tx, batch.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for (id, name) in batch {
            query = query.bind(id).bind(*name).bind(now);
        }
        query.execute(&mut *tx).await?;
    }

    let mut managed: Vec<(i64, Option<i64>)> = Vec::new();
    let mut joined: Vec<(i64, i64, &str)> = Vec::new();
    let mut roles_changed: Vec<(i64, i64, &str)> = Vec::new();
    for r in &rows {
        let id = ids[&r.email];
        let wanted = r.manager_email.as_ref().map(|m| ids[m]);
        let current = known.get(&r.email).and_then(|k| k.manager_id);
        if wanted != current {
            managed.push((id, wanted));
            if known.contains_key(&r.email) {
                changed.insert(id);
            }
        }
        for (slug, owner) in &r.teams {
            let team_id = teams[slug];
            let role = if *owner { "owner" } else { "member" };
            match roles.get(&(team_id, id)) {
                None => joined.push((team_id, id, role)),
                Some(is_owner) if is_owner != owner => roles_changed.push((team_id, id, role)),
                Some(_) => {}
            }
        }
    }
    for batch in managed.chunks(ROWS_PER_STATEMENT) {
        // Cast: a batch of people who all lose their manager is a column of NULLs, which
        // PostgreSQL would otherwise take for text.
        let sql = format!(
            "UPDATE people SET manager_id = CAST(v.column2 AS BIGINT), updated_at = v.column3
             FROM (VALUES {}) AS v WHERE people.id = v.column1",
            values_rows(&tx, batch.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for (id, manager) in batch {
            query = query.bind(id).bind(manager).bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    for batch in joined.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO team_members (team_id, person_id, role, added_at) VALUES {}",
            values_rows(&tx, batch.len(), 4)
        );
        let mut query = sqlx::query(&sql);
        for (team_id, id, role) in batch {
            query = query.bind(team_id).bind(id).bind(*role).bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    report.memberships_added = joined.len();
    for batch in roles_changed.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE team_members SET role = v.column3 FROM (VALUES {}) AS v
             WHERE team_members.team_id = v.column1 AND team_members.person_id = v.column2",
            values_rows(&tx, batch.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for (team_id, id, role) in batch {
            query = query.bind(team_id).bind(id).bind(*role);
        }
        query.execute(&mut *tx).await?;
    }
    report.roles_changed = roles_changed.len();
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
