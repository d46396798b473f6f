//! Contractor invitations and engagements. An employee invites a contractor (email, company, end
//! date within the admin's maximum); the invitation is a one-time link, valid 7 days, whose secret
//! is stored only as a hash. The inviter, the sponsor or an admin can revoke a pending invitation
//! or extend the engagement; the sponsor or an admin can end it, which stops the contractor's
//! sign-in and sessions at once.

use crate::domain::org::parse_email;
use crate::domain::time::{format_date, parse_date};
use crate::model::{
    InvitationCreated, InvitationLimits, InvitationPreview, InvitationStatus, InvitationView,
    PersonRef,
};
use crate::server::actor::Actor;
use crate::server::authz::{self, EndEngagement, InviteContractors};
use crate::server::db::identity::{self as db, InvitationRow};
use crate::server::db::{self as store_db, Store};
use crate::server::error::ServiceError;
use crate::server::secrets::random_hex;
use crate::server::services::audit::{self, Action, Event, Who};
use crate::server::services::sign_in::hash;
use sqlx::Row;

/// How long an invitation link works.
pub const LINK_VALID_FOR: i64 = 7 * 86_400;
const DAY: i64 = 86_400;

/// What the invitation form sends.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub email: String,
    pub company: String,
    /// `YYYY-MM-DD`: the last day of the engagement.
    pub ends_on: String,
    /// Another employee to sponsor the contractor; the inviter when absent.
    pub sponsor_email: Option<String>,
}

fn today_start(now: i64) -> i64 {
    now.div_euclid(DAY) * DAY
}

pub fn limits(max_days: u32, now: i64) -> InvitationLimits {
    let max = today_start(now) + i64::from(max_days) * DAY;
    InvitationLimits {
        max_ends_on: format_date(max),
        default_ends_on: format_date(max),
    }
}

/// The moment an engagement ending on `ends_on` ends: the end of that day (UTC). Checked against
/// today and the maximum.
fn engagement_end(ends_on: &str, max_days: u32, now: i64) -> Result<i64, ServiceError> {
    let day = parse_date(ends_on).ok_or_else(|| {
        ServiceError::Invalid(format!(
            "'{}' is not a date like 2027-05-31.",
            short(ends_on)
        ))
    })?;
    if day < today_start(now) {
        return Err(ServiceError::Invalid("The end date is in the past.".into()));
    }
    let latest = today_start(now) + i64::from(max_days) * DAY;
    if day > latest {
        return Err(ServiceError::Invalid(format!(
            "The end date may be at most {max_days} days from today ({}).",
            format_date(latest)
        )));
    }
    Ok(day + DAY)
}

fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

fn status(row: &InvitationRow, now: i64) -> InvitationStatus {
    if row.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if row.revoked_at.is_some() {
        InvitationStatus::Revoked
    } else if now >= row.expires_at {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

async fn person_ref(conn: &mut sqlx::AnyConnection, id: i64) -> Result<PersonRef, sqlx::Error> {
    let row = sqlx::query("SELECT name, email FROM people WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(PersonRef {
        name: row.try_get("name")?,
        email: row.try_get("email")?,
    })
}

async fn view(
    conn: &mut sqlx::AnyConnection,
    row: &InvitationRow,
    now: i64,
) -> Result<InvitationView, sqlx::Error> {
    Ok(InvitationView {
        id: row.id,
        email: row.email.clone(),
        company: row.company.clone(),
        sponsor: person_ref(conn, row.sponsor_id).await?,
        invited_by: person_ref(conn, row.invited_by).await?,
        ends_at: row.ends_at,
        created_at: row.created_at,
        expires_at: row.expires_at,
        status: status(row, now),
        contractor_id: row.accepted_by,
    })
}

/// Invites a contractor. Returns the link with its one-time secret, to hand to the contractor.
pub async fn create(
    store: &Store,
    actor: &Actor,
    _cap: &InviteContractors,
    input: &NewInvitation,
    max_days: u32,
    origin: &str,
    now: i64,
) -> Result<InvitationCreated, ServiceError> {
    let email = parse_email(&input.email).ok_or_else(|| {
        ServiceError::Invalid(format!(
            "'{}' is not an email address.",
            short(&input.email)
        ))
    })?;
    let company = input.company.trim();
    if company.is_empty() || company.chars().count() > 200 {
        return Err(ServiceError::Invalid(
            "Name the contractor's company (up to 200 characters).".into(),
        ));
    }
    let ends_at = engagement_end(&input.ends_on, max_days, now)?;

    let mut tx = audit::write_tx(store).await?;
    let sponsor_id = match input
        .sponsor_email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => actor.person_id,
        Some(raw) => {
            let sponsor_email = parse_email(raw).ok_or_else(|| {
                ServiceError::Invalid(format!("'{}' is not an email address.", short(raw)))
            })?;
            match db::person_by_email(&mut tx, &sponsor_email).await? {
                Some(p) if p.kind == "employee" && p.deactivated_at.is_none() => p.id,
                _ => {
                    return Err(ServiceError::Invalid(format!(
                        "The sponsor must be an active employee; {sponsor_email} is not."
                    )));
                }
            }
        }
    };
    if let Some(existing) = db::person_by_email(&mut tx, &email).await? {
        if existing.kind == "employee" {
            return Err(ServiceError::Conflict(format!(
                "{email} belongs to an employee, who signs in without an invitation."
            )));
        }
        if existing.deactivated_at.is_some() {
            return Err(ServiceError::Conflict(format!(
                "{email} was deactivated; a platform admin must reactivate them before they can be invited again."
            )));
        }
        if existing.contract_ends_at.is_some_and(|e| e > now) {
            return Err(ServiceError::Conflict(format!(
                "{email} already has access until {}; extend their engagement instead.",
                format_date(existing.contract_ends_at.unwrap_or_default() - 1)
            )));
        }
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM contractor_invitations
         WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(&email)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if pending > 0 {
        return Err(ServiceError::Conflict(format!(
            "{email} already has a pending invitation; revoke it first to send a new one."
        )));
    }

    let token = random_hex(32);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contractor_invitations
            (email, company, sponsor_id, invited_by, ends_at, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&email)
    .bind(company)
    .bind(sponsor_id)
    .bind(actor.person_id)
    .bind(ends_at)
    .bind(hash(&token))
    .bind(now)
    .bind(now + LINK_VALID_FOR)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::InvitationCreated,
            target_kind: "invitation",
            target_id: id.to_string(),
            details: serde_json::json!({
                "email": email, "company": company, "sponsor_id": sponsor_id, "ends_at": ends_at,
            }),
            ip: None,
        },
        now,
    )
    .await?;
    let row = db::invitation_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The invitation".into()))?;
    let invitation = view(&mut tx, &row, now).await?;
    tx.commit().await?;
    Ok(InvitationCreated {
        invitation,
        link: format!("{origin}/invitations/{token}"),
    })
}

/// The invitations the actor sent or sponsors; an admin sees all of them. Newest first.
pub async fn list(
    store: &Store,
    actor: &Actor,
    now: i64,
) -> Result<Vec<InvitationView>, ServiceError> {
    if authz::invite_contractors(actor).is_none() {
        return Err(ServiceError::Forbidden);
    }
    let mut conn = store.pool().acquire().await?;
    let rows: Vec<InvitationRow> = sqlx::query_as(
        "SELECT id, email, company, sponsor_id, invited_by, ends_at, created_at, expires_at,
                accepted_at, accepted_by, revoked_at
         FROM contractor_invitations
         WHERE $1 = 1 OR invited_by = $2 OR sponsor_id = $2
         ORDER BY created_at DESC, id DESC LIMIT 500",
    )
    .bind(i64::from(actor.is_admin))
    .bind(actor.person_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut v = view(&mut conn, row, now).await?;
        if let Some(contractor) = row.accepted_by {
            // For an accepted invitation, the engagement's current end is the contractor's.
            if let Some(end) = sqlx::query_scalar::<_, Option<i64>>(
                "SELECT contract_ends_at FROM people WHERE id = $1",
            )
            .bind(contractor)
            .fetch_optional(&mut *conn)
            .await?
            .flatten()
            {
                v.ends_at = end;
            }
        }
        out.push(v);
    }
    Ok(out)
}

async fn load_managed(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    id: i64,
) -> Result<(InvitationRow, authz::ManageInvitation), ServiceError> {
    let row = db::invitation_by_id(tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The invitation".into()))?;
    // Someone not involved learns nothing, not even that the invitation exists.
    let cap = authz::manage_invitation(actor, row.id, row.invited_by, row.sponsor_id)
        .ok_or_else(|| ServiceError::NotFound("The invitation".into()))?;
    Ok((row, cap))
}

/// Revokes a pending invitation: its link stops working.
pub async fn revoke(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<InvitationView, ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let (row, cap) = load_managed(&mut tx, actor, id).await?;
    if status(&row, now) != InvitationStatus::Pending {
        return Err(ServiceError::Conflict(format!(
            "Only a pending invitation can be revoked; this one is {}.",
            status(&row, now).label().to_lowercase()
        )));
    }
    sqlx::query("UPDATE contractor_invitations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND accepted_at IS NULL")
        .bind(now)
        .bind(cap.invitation_id())
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::InvitationRevoked,
            target_kind: "invitation",
            target_id: id.to_string(),
            details: serde_json::json!({ "email": row.email }),
            ip: None,
        },
        now,
    )
    .await?;
    let row = db::invitation_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The invitation".into()))?;
    let v = view(&mut tx, &row, now).await?;
    tx.commit().await?;
    Ok(v)
}

/// Moves the engagement's end date, within the maximum from today. For a pending invitation the
/// invitation changes; once accepted, the contractor's end date does too.
pub async fn extend(
    store: &Store,
    actor: &Actor,
    id: i64,
    ends_on: &str,
    max_days: u32,
    now: i64,
) -> Result<InvitationView, ServiceError> {
    let ends_at = engagement_end(ends_on, max_days, now)?;
    let mut tx = audit::write_tx(store).await?;
    let (row, cap) = load_managed(&mut tx, actor, id).await?;
    match status(&row, now) {
        InvitationStatus::Pending => {}
        InvitationStatus::Accepted => {
            let contractor = row
                .accepted_by
                .ok_or_else(|| ServiceError::NotFound("The contractor".into()))?;
            let changed = sqlx::query(
                "UPDATE people SET contract_ends_at = $1, updated_at = $2
                 WHERE id = $3 AND kind = 'contractor' AND deactivated_at IS NULL AND sponsor_id = $4
                   AND contract_ends_at > $2",
            )
            .bind(ends_at)
            .bind(now)
            .bind(contractor)
            .bind(row.sponsor_id)
            .execute(&mut *tx)
            .await?;
            if changed.rows_affected() == 0 {
                return Err(ServiceError::Conflict(
                    "This engagement has ended or moved to another sponsor; send a new invitation."
                        .into(),
                ));
            }
        }
        other => {
            return Err(ServiceError::Conflict(format!(
                "This invitation is {}; send a new one instead.",
                other.label().to_lowercase()
            )));
        }
    }
    sqlx::query("UPDATE contractor_invitations SET ends_at = $1 WHERE id = $2")
        .bind(ends_at)
        .bind(cap.invitation_id())
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::InvitationExtended,
            target_kind: "invitation",
            target_id: id.to_string(),
            details: serde_json::json!({ "from": row.ends_at, "to": ends_at }),
            ip: None,
        },
        now,
    )
    .await?;
    let row = db::invitation_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The invitation".into()))?;
    let mut v = view(&mut tx, &row, now).await?;
    v.ends_at = ends_at;
    tx.commit().await?;
    Ok(v)
}

/// Checks who may end a contractor's engagement.
pub async fn end_engagement_capability(
    store: &Store,
    actor: &Actor,
    person_id: i64,
) -> Result<EndEngagement, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    let person = db::person_by_id(&mut conn, person_id)
        .await?
        .filter(|p| p.kind == "contractor")
        .ok_or_else(|| ServiceError::NotFound("The contractor".into()))?;
    let sponsor: Option<i64> = sqlx::query_scalar("SELECT sponsor_id FROM people WHERE id = $1")
        .bind(person.id)
        .fetch_one(&mut *conn)
        .await?;
    authz::end_engagement(actor, person.id, sponsor).ok_or(ServiceError::Forbidden)
}

/// Ends a contractor's engagement now: they can no longer sign in and every session of theirs
/// ends, and with it every grant and key (verification stops them at once).
pub async fn end_engagement(
    store: &Store,
    actor: &Actor,
    cap: &EndEngagement,
    now: i64,
) -> Result<(), ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let changed = sqlx::query(
        "UPDATE people SET contract_ends_at = $1, updated_at = $1
         WHERE id = $2 AND kind = 'contractor' AND contract_ends_at > $1",
    )
    .bind(now)
    .bind(cap.person_id())
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() == 0 {
        return Err(ServiceError::Conflict(
            "This engagement has already ended.".into(),
        ));
    }
    let sessions = store_db::sessions::delete_for_person(&mut tx, cap.person_id()).await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::EngagementEnded,
            target_kind: "person",
            target_id: cap.person_id().to_string(),
            details: serde_json::json!({ "sessions_ended": sessions }),
            ip: None,
        },
        now,
    )
    .await?;
    super::keys::people_changed(&mut tx, store).await?;
    tx.commit().await?;
    super::keys::announce_people_changed(store);
    Ok(())
}

/// What the invitation page shows to whoever holds the link, if the link can still be used.
pub async fn preview(
    store: &Store,
    token: &str,
    provider_name: Option<String>,
    local_passwords: bool,
    now: i64,
) -> Result<InvitationPreview, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    use crate::server::services::sign_in::{Refusal, usable_invitation};
    let row = usable_invitation(&mut conn, token, now)
        .await
        .map_err(|e| match e {
            Refusal::Store(e) => ServiceError::Store(e),
            Refusal::Refused(_) => ServiceError::Invalid(
                "This invitation link cannot be used: it was already used, revoked, or has expired. Ask your sponsor for a new one."
                    .into(),
            ),
        })?;
    let sponsor = person_ref(&mut conn, row.sponsor_id).await?;
    Ok(InvitationPreview {
        email: row.email,
        company: row.company,
        sponsor_name: sponsor.name,
        ends_at: row.ends_at,
        provider_name,
        local_passwords,
    })
}
