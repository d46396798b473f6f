//! The audit log: append-only and hash-chained. Each event's hash covers its content and its
//! predecessor's hash, and the chain's head is kept apart, so an altered, removed or inserted
//! row is found by [`verify`].

use crate::server::actor::Actor;
use crate::server::db::{self, Store};
use crate::server::error::ServiceError;
use crate::server::secrets::encode_hex;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

/// The hash that the first event points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. The stored names are stable: exports and alerts match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SignIn,
    SignInFailed,
    SignOut,
    SessionsEnded,
    OrgImported,
    InvitationCreated,
    InvitationRevoked,
    InvitationExtended,
    InvitationAccepted,
    PersonCreated,
    PersonUpdated,
    RoleChanged,
    PersonDeactivated,
    PersonReactivated,
    EngagementEnded,
    TeamChanged,
    ApiImported,
    ApiUpdated,
    VersionPublished,
    PublishTokenCreated,
    PublishTokenRevoked,
    SettingsChanged,
    PolicyChanged,
    AccessRequested,
    AccessDecided,
    AccessResubmitted,
    AccessCancelled,
    AccessCommented,
    AccessExpired,
    GrantCreated,
    GrantRevoked,
    DelegationCreated,
    DelegationEnded,
    WebhookChanged,
    KeyCreated,
    KeyRotated,
    KeyRevoked,
    GatewayCredentialCreated,
    GatewayCredentialRevoked,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::SignInFailed => "sign_in_failed",
            Action::SignOut => "sign_out",
            Action::SessionsEnded => "sessions_ended",
            Action::OrgImported => "org_imported",
            Action::InvitationCreated => "invitation_created",
            Action::InvitationRevoked => "invitation_revoked",
            Action::InvitationExtended => "invitation_extended",
            Action::InvitationAccepted => "invitation_accepted",
            Action::PersonCreated => "person_created",
            Action::PersonUpdated => "person_updated",
            Action::RoleChanged => "role_changed",
            Action::PersonDeactivated => "person_deactivated",
            Action::PersonReactivated => "person_reactivated",
            Action::EngagementEnded => "engagement_ended",
            Action::TeamChanged => "team_changed",
            Action::ApiImported => "api_imported",
            Action::ApiUpdated => "api_updated",
            Action::VersionPublished => "version_published",
            Action::PublishTokenCreated => "publish_token_created",
            Action::PublishTokenRevoked => "publish_token_revoked",
            Action::SettingsChanged => "settings_changed",
            Action::PolicyChanged => "policy_changed",
            Action::AccessRequested => "access_requested",
            Action::AccessDecided => "access_decided",
            Action::AccessResubmitted => "access_resubmitted",
            Action::AccessCancelled => "access_cancelled",
            Action::AccessCommented => "access_commented",
            Action::AccessExpired => "access_expired",
            Action::GrantCreated => "grant_created",
            Action::GrantRevoked => "grant_revoked",
            Action::DelegationCreated => "delegation_created",
            Action::DelegationEnded => "delegation_ended",
            Action::WebhookChanged => "webhook_changed",
            Action::KeyCreated => "key_created",
            Action::KeyRotated => "key_rotated",
            Action::KeyRevoked => "key_revoked",
            Action::GatewayCredentialCreated => "gateway_credential_created",
            Action::GatewayCredentialRevoked => "gateway_credential_revoked",
        }
    }
}

/// Who acted: a signed-in person, or a description when nobody is (a failed sign-in, the system).
#[derive(Clone, Debug)]
pub enum Who {
    Person { id: i64, label: String },
    Other(String),
}

impl Who {
    pub fn actor(actor: &Actor) -> Self {
        Who::Person {
            id: actor.person_id,
            label: actor.email.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub who: Who,
    pub action: Action,
    pub target_kind: &'static str,
    pub target_id: String,
    pub details: serde_json::Value,
    pub ip: Option<String>,
}

struct Content<'a> {
    occurred_at: i64,
    actor_id: Option<i64>,
    actor_label: &'a str,
    action: &'a str,
    target_kind: &'a str,
    target_id: &'a str,
    details: &'a str,
    ip: Option<&'a str>,
}

/// SHA-256 over the predecessor's hash and every field, each length-prefixed so no two different
/// events can be made to encode alike.
fn chain_hash(prev_hash: &str, c: &Content<'_>) -> String {
    let occurred_at = c.occurred_at.to_string();
    let actor_id = c.actor_id.map(|id| id.to_string()).unwrap_or_default();
    let mut hasher = Sha256::new();
    for field in [
        prev_hash,
        &occurred_at,
        &actor_id,
        c.actor_label,
        c.action,
        c.target_kind,
        c.target_id,
        c.details,
        c.ip.unwrap_or(""),
    ] {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    encode_hex(&hasher.finalize())
}

/// Appends an event inside the caller's transaction, so the event and the change it records
/// commit together or not at all. It locks the chain's head row, so concurrent appenders wait
/// for each other instead of forking the chain. On SQLite the transaction's first statement must
/// be a write (this append, or the change itself): a transaction that reads first cannot take
/// the write lock once another writer has committed.
pub async fn record(conn: &mut AnyConnection, event: &Event, now: i64) -> Result<i64, sqlx::Error> {
    let (prev_hash, _) = db::audit::lock_head(conn).await?;
    let (actor_id, actor_label) = match &event.who {
        Who::Person { id, label } => (Some(*id), label.as_str()),
        Who::Other(label) => (None, label.as_str()),
    };
    let details = event.details.to_string();
    let content = Content {
        occurred_at: now,
        actor_id,
        actor_label,
        action: event.action.as_str(),
        target_kind: event.target_kind,
        target_id: &event.target_id,
        details: &details,
        ip: event.ip.as_deref(),
    };
    let hash = chain_hash(&prev_hash, &content);
    db::audit::append(
        conn,
        db::audit::NewEvent {
            occurred_at: now,
            actor_id,
            actor_label,
            action: content.action,
            target_kind: content.target_kind,
            target_id: content.target_id,
            details: &details,
            ip: content.ip,
            prev_hash: &prev_hash,
            hash: &hash,
        },
    )
    .await
}

/// Appends an event in a transaction of its own, for events that record no other change.
/// A transaction that has claimed the audit head before anything else: on SQLite it holds the
/// write lock from its first statement, so what it reads stays true until it commits; on
/// PostgreSQL writers that audit queue here. Services that read, decide, write and record use it.
pub async fn write_tx(store: &Store) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    db::audit::claim_head(&mut tx).await?;
    Ok(tx)
}

pub async fn record_alone(store: &Store, event: &Event, now: i64) -> Result<i64, ServiceError> {
    let mut tx = store.pool().begin().await?;
    let id = record(&mut tx, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The outcome of checking the whole chain.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainReport {
    Intact {
        events: i64,
    },
    /// The first event whose stored hash or link does not hold, or the head when the newest
    /// events are gone.
    Broken {
        at_event: Option<i64>,
        reason: String,
    },
}

/// Recomputes every hash in order and checks each link and the head.
pub async fn verify(store: &Store) -> Result<ChainReport, ServiceError> {
    const PAGE: i64 = 1000;
    let mut expected_prev = GENESIS.to_owned();
    let mut count = 0i64;
    let mut after = 0i64;
    loop {
        let rows = db::audit::page(store.pool(), after, PAGE).await?;
        for row in &rows {
            if row.prev_hash != expected_prev {
                return Ok(ChainReport::Broken {
                    at_event: Some(row.id),
                    reason: "its predecessor is missing or was changed".into(),
                });
            }
            let content = Content {
                occurred_at: row.occurred_at,
                actor_id: row.actor_id,
                actor_label: &row.actor_label,
                action: &row.action,
                target_kind: &row.target_kind,
                target_id: &row.target_id,
                details: &row.details,
                ip: row.ip.as_deref(),
            };
            if chain_hash(&row.prev_hash, &content) != row.hash {
                return Ok(ChainReport::Broken {
                    at_event: Some(row.id),
                    reason: "its content was changed".into(),
                });
            }
            expected_prev = row.hash.clone();
            count += 1;
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => after = last.id,
            _ => break,
        }
    }
    let (head_hash, head_count) = db::audit::head(store.pool()).await?;
    if head_hash != expected_prev || head_count != count {
        return Ok(ChainReport::Broken {
            at_event: None,
            reason: format!(
                "the chain ends after {count} events but its head records {head_count}"
            ),
        });
    }
    Ok(ChainReport::Intact { events: count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content<'a>(details: &'a str) -> Content<'a> {
        Content {
            occurred_at: 1,
            actor_id: Some(2),
            actor_label: "a@example.com",
            action: "sign_in",
            target_kind: "person",
            target_id: "2",
            details,
            ip: None,
        }
    }

    #[test]
    fn the_hash_depends_on_every_field_and_the_predecessor() {
        let base = chain_hash(GENESIS, &content("{}"));
        assert_eq!(base.len(), 64);
        assert_ne!(base, chain_hash(GENESIS, &content("{ }")));
        assert_ne!(base, chain_hash(&base, &content("{}")));
        // Length prefixes: moving text between adjacent fields changes the hash.
        let mut shifted = content("{}");
        shifted.actor_label = "a@example.comsign_in";
        shifted.action = "";
        assert_ne!(base, chain_hash(GENESIS, &shifted));
    }
}
