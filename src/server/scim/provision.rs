//! Provisioning people and teams from the identity provider: the rules (deactivation ends every
//! session, managers must exist and form no loop, team owners are Gatehouse's own and survive a
//! membership sync) and the SQL, each change in one transaction with its audit event.

use super::resource::{GroupInput, UserInput};
use crate::server::db::identity::{self as idb, NewPerson};
use crate::server::db::{self, Store};
use crate::server::services::audit::{self, Action, Event, Who};
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// Proof that the caller presented the provisioning token. Only the token check makes one.
pub struct Provisioner(pub(super) ());

/// Why a change was not made, as SCIM reports it.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The record is no longer what the change was computed from.
    #[error("{0}")]
    Changed(String),
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
}

fn who() -> Who {
    Who::Other("scim".into())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub kind: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub manager_id: Option<i64>,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deactivated_at: Option<i64>,
}

const USER: &str = "SELECT id, email, name, kind, title, department, manager_id, external_id,
    created_at, updated_at, deactivated_at FROM people";

pub async fn user(store: &Store, _p: &Provisioner, id: i64) -> Result<UserRow, ProvisionError> {
    sqlx::query_as(&format!("{USER} WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("User {id} not found")))
}

/// The teams of each of these people, as (team id, team name) ordered by name; a page of users
/// is read in a few statements, not one per person.
pub async fn groups_of(
    store: &Store,
    person_ids: &[i64],
) -> Result<HashMap<i64, Vec<(i64, String)>>, sqlx::Error> {
    named_by_key(store, person_ids, |keys| {
        format!(
            "SELECT m.person_id AS of_id, t.id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id
             WHERE m.person_id IN ({keys}) ORDER BY t.name, t.id"
        )
    })
    .await
}

/// `(id, name)` rows for each of `keys`, in the statement's order, a few hundred keys to a
/// statement: `select` makes the statement from its `IN` list, and its rows carry `of_id` (the key), `id`
/// and `name`.
async fn named_by_key(
    store: &Store,
    keys: &[i64],
    select: impl Fn(&str) -> String,
) -> Result<HashMap<i64, Vec<(i64, String)>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    let mut conn = store.pool().acquire().await?;
    for batch in keys.chunks(MEMBERS_PER_STATEMENT) {
        let sql = select(&db::params(&conn, 1, batch.len()));
        let mut query = sqlx::query(&sql);
        for key in batch {
            query = query.bind(*key);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.entry(r.try_get("of_id")?)
                .or_default()
                .push((r.try_get("id")?, r.try_get("name")?));
        }
    }
    Ok(out)
}

pub enum UserFilter {
    All,
    UserName(String),
    ExternalId(String),
}

/// One page of users, and how many match in all.
pub async fn users(
    store: &Store,
    _p: &Provisioner,
    filter: &UserFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<UserRow>, i64), ProvisionError> {
    let (clause, value) = match filter {
        UserFilter::All => ("$1 = $1", String::new()),
        UserFilter::UserName(v) => ("email = $1", v.to_lowercase()),
        UserFilter::ExternalId(v) => ("external_id = $1", v.clone()),
    };
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM people WHERE {clause}"))
        .bind(&value)
        .fetch_one(store.pool())
        .await?;
    let rows = sqlx::query_as(&format!(
        "{USER} WHERE {clause} ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(&value)
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?;
    Ok((rows, total))
}

async fn manager_id(
    conn: &mut AnyConnection,
    person_id: Option<i64>,
    manager: Option<&str>,
) -> Result<Option<i64>, ProvisionError> {
    let Some(raw) = manager else { return Ok(None) };
    let id: i64 = raw
        .parse()
        .map_err(|_| ProvisionError::Invalid(format!("manager '{raw:.40}' is not a User id")))?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(ProvisionError::Invalid(format!(
            "manager {id} is not a known User"
        )));
    }
    if let Some(person) = person_id
        && (person == id || idb::would_cycle(conn, person, id).await?)
    {
        return Err(ProvisionError::Invalid(
            "that manager would put a loop in the reporting line".into(),
        ));
    }
    Ok(Some(id))
}

/// Creates an employee. A second user with the same userName is a conflict.
pub async fn create_user(
    store: &Store,
    _p: &Provisioner,
    input: &UserInput,
    now: i64,
) -> Result<i64, ProvisionError> {
    // SCIM provisions employees. Contractors come with a sponsor and an end date, which only an
    // invitation gives them; guest accounts belong out of the SCIM app's scope.
    if input
        .user_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("guest") || t.eq_ignore_ascii_case("contractor"))
    {
        return Err(ProvisionError::Invalid(
            "guests and contractors join Gatehouse by invitation from a sponsor; leave them out of the SCIM app's scope".into(),
        ));
    }
    let mut tx = audit::write_tx(store).await?;
    if idb::person_by_email(&mut tx, &input.email).await?.is_some() {
        return Err(ProvisionError::Conflict(format!(
            "a User with userName {} exists",
            input.email
        )));
    }
    let manager = manager_id(&mut tx, None, input.manager.as_deref()).await?;
    let id = idb::insert_person(
        &mut tx,
        NewPerson {
            email: &input.email,
            name: &input.name,
            kind: "employee",
            sponsor_id: None,
            company: None,
            department: input.department.as_deref(),
            contract_ends_at: None,
            oidc_issuer: None,
            oidc_subject: None,
            password_hash: None,
            external_id: input.external_id.as_deref(),
            now,
        },
    )
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            ProvisionError::Conflict(format!("a User with userName {} exists", input.email))
        } else {
            e.into()
        }
    })?;
    sqlx::query("UPDATE people SET title = $1, manager_id = $2, deactivated_at = $3 WHERE id = $4")
        .bind(input.title.as_deref())
        .bind(manager)
        .bind((!input.active).then_some(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Event {
            who: who(),
            action: Action::PersonCreated,
            target_kind: "person",
            target_id: id.to_string(),
            details: serde_json::json!({ "email": input.email, "source": "scim", "active": input.active }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces a user's attributes (PUT, or the result of a PATCH). Deactivating ends every session
/// of theirs in the same transaction. With `based_on` (the record a PATCH was applied to), the
/// write happens only if the record is still exactly that: otherwise `Changed`, and nothing is
/// written. The row is locked before it is read, so it cannot change between that check and
/// the write.
pub async fn replace_user(
    store: &Store,
    _p: &Provisioner,
    id: i64,
    input: &UserInput,
    based_on: Option<&UserRow>,
    now: i64,
) -> Result<(), ProvisionError> {
    let mut tx = audit::write_tx(store).await?;
    // A write that changes nothing, to take the row's lock on either store.
    sqlx::query("UPDATE people SET updated_at = updated_at WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let current: UserRow = sqlx::query_as(&format!("{USER} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("User {id} not found")))?;
    if based_on.is_some_and(|base| *base != current) {
        return Err(ProvisionError::Changed(format!(
            "User {id} changed meanwhile"
        )));
    }
    if input.email != current.email && idb::person_by_email(&mut tx, &input.email).await?.is_some()
    {
        return Err(ProvisionError::Conflict(format!(
            "a User with userName {} exists",
            input.email
        )));
    }
    let manager = manager_id(&mut tx, Some(id), input.manager.as_deref()).await?;
    let was_active = current.deactivated_at.is_none();
    let deactivated_at = match (was_active, input.active) {
        (true, false) => Some(now),
        (false, false) => current.deactivated_at,
        _ => None,
    };
    sqlx::query(
        "UPDATE people SET email = $1, name = $2, title = $3, department = $4, manager_id = $5,
                external_id = $6, deactivated_at = $7, updated_at = $8
         WHERE id = $9",
    )
    .bind(&input.email)
    .bind(&input.name)
    .bind(input.title.as_deref())
    .bind(input.department.as_deref())
    .bind(manager)
    .bind(input.external_id.as_deref())
    .bind(deactivated_at)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let (action, details) = match (was_active, input.active) {
        (true, false) => {
            let ended = db::sessions::delete_for_person(&mut tx, id).await?;
            (
                Action::PersonDeactivated,
                serde_json::json!({ "source": "scim", "sessions_ended": ended }),
            )
        }
        (false, true) => (
            Action::PersonReactivated,
            serde_json::json!({ "source": "scim" }),
        ),
        _ => (
            Action::PersonUpdated,
            serde_json::json!({ "source": "scim", "email": input.email, "manager_id": manager }),
        ),
    };
    audit::record(
        &mut tx,
        &Event {
            who: who(),
            action,
            target_kind: "person",
            target_id: id.to_string(),
            details,
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
}

const GROUP: &str = "SELECT id, name, external_id, created_at FROM teams";

pub async fn group(store: &Store, _p: &Provisioner, id: i64) -> Result<GroupRow, ProvisionError> {
    sqlx::query_as(&format!("{GROUP} WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("Group {id} not found")))
}

/// The members of each of these teams, as (person id, name) ordered by id; a page of groups is
/// read in a few statements, not one per group.
pub async fn members(
    store: &Store,
    team_ids: &[i64],
) -> Result<HashMap<i64, Vec<(i64, String)>>, sqlx::Error> {
    named_by_key(store, team_ids, |keys| {
        format!(
            "SELECT m.team_id AS of_id, p.id, p.name FROM team_members m JOIN people p ON p.id = m.person_id
             WHERE m.team_id IN ({keys}) ORDER BY p.id"
        )
    })
    .await
}

pub async fn groups(
    store: &Store,
    _p: &Provisioner,
    display_name: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<GroupRow>, i64), ProvisionError> {
    let (clause, value) = match display_name {
        Some(name) => ("name = $1", name.to_owned()),
        None => ("$1 = $1", String::new()),
    };
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM teams WHERE {clause}"))
        .bind(&value)
        .fetch_one(store.pool())
        .await?;
    let rows = sqlx::query_as(&format!(
        "{GROUP} WHERE {clause} ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(&value)
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?;
    Ok((rows, total))
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug
        .trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>();
    if slug.is_empty() { "team".into() } else { slug }
}

/// People per statement when checking or changing a group's members: 1,500 parameters at most,
/// well under SQLite's limit (32,766) and PostgreSQL's (65,535).
const MEMBERS_PER_STATEMENT: usize = 500;

/// The ids `ids` names, each once and in their order. Each must be a User; those in `known` (the
/// team's members now, who exist: a person's memberships go with them) are not asked about
/// again, so a PATCH adding one person to a group of thousands looks up that one person. The
/// others are looked up a few hundred to a statement.
async fn member_ids(
    conn: &mut AnyConnection,
    ids: &[String],
    known: &HashSet<i64>,
) -> Result<Vec<i64>, ProvisionError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut seen = HashSet::with_capacity(ids.len());
    for raw in ids {
        let id: i64 = raw
            .parse()
            .map_err(|_| ProvisionError::Invalid(format!("member '{raw:.40}' is not a User id")))?;
        if seen.insert(id) {
            out.push(id);
        }
    }
    let asked: Vec<i64> = out
        .iter()
        .copied()
        .filter(|id| !known.contains(id))
        .collect();
    let mut found = HashSet::with_capacity(asked.len());
    for batch in asked.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id FROM people WHERE id IN ({})",
            db::params(conn, 1, batch.len())
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for id in batch {
            query = query.bind(*id);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    if let Some(missing) = asked.iter().find(|id| !found.contains(id)) {
        return Err(ProvisionError::Invalid(format!(
            "member {missing} is not a known User"
        )));
    }
    Ok(out)
}

/// The team's members now, by id.
async fn current_members(conn: &mut AnyConnection, team_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT person_id FROM team_members WHERE team_id = $1 ORDER BY person_id")
        .bind(team_id)
        .fetch_all(&mut *conn)
        .await
}

/// Who joined a team and who left it in one change, for its audit event: a change to a large
/// group records the people it concerns, not the whole list again.
#[derive(Default)]
struct MembersChanged {
    added: Vec<i64>,
    removed: Vec<i64>,
}

/// Makes the team's members exactly `members`, given `current` (its members now): new ones join
/// as members, owners who stay keep their ownership (a Gatehouse role the provider does not
/// know of), the rest leave. A few hundred people to a statement.
async fn sync_members(
    conn: &mut AnyConnection,
    team_id: i64,
    current: &[i64],
    members: &[i64],
    now: i64,
) -> Result<MembersChanged, sqlx::Error> {
    let wanted: HashSet<i64> = members.iter().copied().collect();
    let had: HashSet<i64> = current.iter().copied().collect();
    let changed = MembersChanged {
        added: members
            .iter()
            .copied()
            .filter(|id| !had.contains(id))
            .collect(),
        removed: current
            .iter()
            .copied()
            .filter(|id| !wanted.contains(id))
            .collect(),
    };
    for batch in changed.removed.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM team_members WHERE team_id = {} AND person_id IN ({})",
            db::params(conn, 1, 1),
            db::params(conn, 2, batch.len())
        );
        let mut query = sqlx::query(&sql).bind(team_id);
        for id in batch {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    for batch in changed.added.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO team_members (team_id, person_id, role, added_at) VALUES {}",
            db::values_rows(conn, batch.len(), 4)
        );
        let mut query = sqlx::query(&sql);
        for id in batch {
            query = query.bind(team_id).bind(*id).bind("member").bind(now);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(changed)
}

pub async fn create_group(
    store: &Store,
    _p: &Provisioner,
    input: &GroupInput,
    now: i64,
) -> Result<i64, ProvisionError> {
    let mut tx = audit::write_tx(store).await?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE name = $1")
        .bind(&input.display_name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(ProvisionError::Conflict(format!(
            "a Group named {} exists",
            input.display_name
        )));
    }
    let members = member_ids(
        &mut tx,
        input.members.as_deref().unwrap_or_default(),
        &HashSet::new(),
    )
    .await?;
    let base = slugify(&input.display_name);
    let mut slug = base.clone();
    let mut n = 2;
    while sqlx::query_scalar::<_, i64>("SELECT id FROM teams WHERE slug = $1")
        .bind(&slug)
        .fetch_optional(&mut *tx)
        .await?
        .is_some()
    {
        slug = format!("{base}-{n}");
        n += 1;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO teams (slug, name, external_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&slug)
    .bind(&input.display_name)
    .bind(input.external_id.as_deref())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let changed = sync_members(&mut tx, id, &[], &members, now).await?;
    audit::record(
        &mut tx,
        &Event {
            who: who(),
            action: Action::TeamChanged,
            target_kind: "team",
            target_id: id.to_string(),
            details: serde_json::json!({ "created": input.display_name, "added": changed.added, "source": "scim" }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames a team and, when `members` is given, makes them its members.
pub async fn replace_group(
    store: &Store,
    _p: &Provisioner,
    id: i64,
    input: &GroupInput,
    members: Option<&[String]>,
    now: i64,
) -> Result<(), ProvisionError> {
    let mut tx = audit::write_tx(store).await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(ProvisionError::NotFound(format!("Group {id} not found")));
    }
    let members = match members {
        Some(ids) => Some((ids, current_members(&mut tx, id).await?)),
        None => None,
    };
    write_group(&mut tx, id, input, members, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies a PATCH to a group: `patch` gets the group as it is (name, external id, member ids)
/// and answers what it becomes. The group is read inside the write transaction, after the audit
/// chain's head is claimed, which every audited write takes first: no other change can come
/// between this read and this write. Identity providers send membership PATCHes for one group
/// side by side (one per person added); each now adds to what the one before it wrote, where a
/// read made before the transaction lost all but the last.
pub async fn patch_group<E: From<ProvisionError>>(
    store: &Store,
    _p: &Provisioner,
    id: i64,
    patch: impl FnOnce(GroupInput) -> Result<(GroupInput, Vec<String>), E>,
    now: i64,
) -> Result<(), E> {
    let mut tx = audit::write_tx(store).await.map_err(ProvisionError::from)?;
    let current: GroupRow = sqlx::query_as(&format!("{GROUP} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ProvisionError::from)?
        .ok_or_else(|| ProvisionError::NotFound(format!("Group {id} not found")))?;
    let members = current_members(&mut tx, id)
        .await
        .map_err(ProvisionError::from)?;
    let (input, wanted) = patch(GroupInput {
        display_name: current.name,
        external_id: current.external_id,
        members: Some(members.iter().map(i64::to_string).collect()),
    })?;
    write_group(&mut tx, id, &input, Some((&wanted, members)), now).await?;
    tx.commit().await.map_err(ProvisionError::from)?;
    Ok(())
}

/// The writing half of [`replace_group`] and [`patch_group`], in their transaction.
async fn write_group(
    tx: &mut AnyConnection,
    id: i64,
    input: &GroupInput,
    members: Option<(&[String], Vec<i64>)>,
    now: i64,
) -> Result<(), ProvisionError> {
    let clash: Option<i64> =
        sqlx::query_scalar("SELECT id FROM teams WHERE name = $1 AND id <> $2")
            .bind(&input.display_name)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if clash.is_some() {
        return Err(ProvisionError::Conflict(format!(
            "a Group named {} exists",
            input.display_name
        )));
    }
    sqlx::query("UPDATE teams SET name = $1, external_id = $2 WHERE id = $3")
        .bind(&input.display_name)
        .bind(input.external_id.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let changed = match members {
        Some((ids, current)) => {
            let known: HashSet<i64> = current.iter().copied().collect();
            let ids = member_ids(tx, ids, &known).await?;
            sync_members(tx, id, &current, &ids, now).await?
        }
        None => MembersChanged::default(),
    };
    audit::record(
        tx,
        &Event {
            who: who(),
            action: Action::TeamChanged,
            target_kind: "team",
            target_id: id.to_string(),
            details: serde_json::json!({
                "name": input.display_name,
                "added": changed.added,
                "removed": changed.removed,
                "source": "scim",
            }),
            ip: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Deletes a team, unless it owns APIs (those need a new owner first).
pub async fn delete_group(
    store: &Store,
    _p: &Provisioner,
    id: i64,
    now: i64,
) -> Result<(), ProvisionError> {
    let mut tx = audit::write_tx(store).await?;
    let apis: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apis WHERE owner_team_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if apis > 0 {
        return Err(ProvisionError::Conflict(format!(
            "Group {id} owns {apis} API(s) in Gatehouse; give them another owner first"
        )));
    }
    let done = sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::ForeignKeyViolation => {
                ProvisionError::Conflict(format!(
                    "Group {id} is still named in approval policies or other records; change those first"
                ))
            }
            _ => e.into(),
        })?;
    if done.rows_affected() == 0 {
        return Err(ProvisionError::NotFound(format!("Group {id} not found")));
    }
    audit::record(
        &mut tx,
        &Event {
            who: who(),
            action: Action::TeamChanged,
            target_kind: "team",
            target_id: id.to_string(),
            details: serde_json::json!({ "deleted": true, "source": "scim" }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
