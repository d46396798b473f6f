//! Gateway credentials: what a gateway presents to the verify and forward-auth endpoints, so
//! they are no open oracle for guessing keys. Admins create them (shown once, `ghgw_<12 hex>_<40
//! hex>`, only a SHA-256 stored) and revoke them.

use crate::model::{GatewayCredentialCreated, GatewayCredentialView};
use crate::server::actor::Actor;
use crate::server::authz;
use crate::server::db::Store;
use crate::server::error::ServiceError;
use crate::server::secrets::{random_hex, sha256_hex};
use crate::server::services::audit::{self, Action, Event, Who};
use crate::server::verify::GATEWAY_PREFIX;
use sqlx::Row;

pub async fn list(
    store: &Store,
    actor: &Actor,
) -> Result<Vec<GatewayCredentialView>, ServiceError> {
    authz::manage_org(actor).ok_or(ServiceError::Forbidden)?;
    let rows = sqlx::query(
        "SELECT id, name, lookup_id, created_at, last_used_at, revoked_at FROM gateway_credentials ORDER BY id DESC",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(GatewayCredentialView {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                prefix: format!("{GATEWAY_PREFIX}{}…", r.try_get::<String, _>("lookup_id")?),
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    now: i64,
) -> Result<GatewayCredentialCreated, ServiceError> {
    authz::manage_org(actor).ok_or(ServiceError::Forbidden)?;
    insert(store, Who::actor(actor), Some(actor.person_id), name, now).await
}

/// For `gatehouse gateway-credential NAME`: whoever runs the binary on the server is trusted
/// as an operator.
pub async fn create_by_operator(
    store: &Store,
    name: &str,
    now: i64,
) -> Result<GatewayCredentialCreated, ServiceError> {
    insert(
        store,
        Who::Other("operator (command line)".into()),
        None,
        name,
        now,
    )
    .await
}

async fn insert(
    store: &Store,
    who: Who,
    created_by: Option<i64>,
    name: &str,
    now: i64,
) -> Result<GatewayCredentialCreated, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::Invalid(
            "Name the gateway (for example \"nginx eu-west\"), in at most 80 characters.".into(),
        ));
    }
    let lookup = random_hex(6);
    let secret = format!("{GATEWAY_PREFIX}{lookup}_{}", random_hex(20));
    let mut tx = audit::write_tx(store).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO gateway_credentials (name, lookup_id, secret_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(name)
    .bind(&lookup)
    .bind(sha256_hex(&secret))
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &Event {
            who,
            action: Action::GatewayCredentialCreated,
            target_kind: "gateway_credential",
            target_id: id.to_string(),
            details: serde_json::json!({ "name": name, "lookup_id": lookup }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(GatewayCredentialCreated {
        credential: GatewayCredentialView {
            id,
            name: name.to_owned(),
            prefix: format!("{GATEWAY_PREFIX}{lookup}…"),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        secret,
    })
}

pub async fn revoke(store: &Store, actor: &Actor, id: i64, now: i64) -> Result<(), ServiceError> {
    authz::manage_org(actor).ok_or(ServiceError::Forbidden)?;
    let mut tx = audit::write_tx(store).await?;
    let done = sqlx::query(
        "UPDATE gateway_credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::NotFound("The live credential".into()));
    }
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::GatewayCredentialRevoked,
            target_kind: "gateway_credential",
            target_id: id.to_string(),
            details: serde_json::json!({}),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    // Verifiers forget cached credentials with the keys.
    store.key_changed(None);
    Ok(())
}
