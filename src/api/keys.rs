//! Server functions for API keys and gateway credentials.

use crate::model::{
    AppError, GatewayCredentialCreated, GatewayCredentialView, KeyCreated, KeyInput, KeyView,
};
use leptos::prelude::*;

#[server(endpoint = "keys/mine")]
pub async fn my_keys() -> Result<Vec<KeyView>, AppError> {
    use crate::server::{edge, services::keys};
    let (state, actor) = edge::require_actor().await?;
    keys::mine(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Creates a key; the answer holds the secret, shown this once.
#[server(endpoint = "keys/create")]
pub async fn create_key(key: KeyInput) -> Result<KeyCreated, AppError> {
    use crate::server::{edge, services::keys};
    let (state, actor) = edge::require_actor().await?;
    keys::create(
        &state.store,
        state.secrets.key_pepper.expose(),
        &actor,
        &key,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// A new secret for a key; the old one works for the configured grace period. `rotations` is the
/// key's rotation count as shown: a second rotation asked on the same page is refused.
#[server(endpoint = "keys/rotate")]
pub async fn rotate_key(id: i64, rotations: i64) -> Result<KeyCreated, AppError> {
    use crate::server::{edge, services::keys};
    let (state, actor) = edge::require_actor().await?;
    keys::rotate(
        &state.store,
        state.secrets.key_pepper.expose(),
        &actor,
        id,
        rotations,
        state.config.key_grace.as_secs() as i64,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "keys/revoke")]
pub async fn revoke_key(id: i64, #[server(default)] reason: String) -> Result<(), AppError> {
    use crate::server::{edge, services::keys};
    let (state, actor) = edge::require_actor().await?;
    keys::revoke(&state.store, &actor, id, &reason, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// The keys for an API: its team's owners and admins.
#[server(endpoint = "keys/api")]
pub async fn api_keys(slug: String) -> Result<Vec<KeyView>, AppError> {
    use crate::server::{edge, services::keys};
    let (state, actor) = edge::require_actor().await?;
    keys::for_api(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// An API's calls over 14 days: its team's owners and admins.
#[server(endpoint = "keys/api-usage")]
pub async fn api_usage(slug: String) -> Result<crate::model::ApiUsage, AppError> {
    use crate::server::{edge, services::keys};
    let (state, actor) = edge::require_actor().await?;
    keys::api_usage(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/gateways")]
pub async fn list_gateways() -> Result<Vec<GatewayCredentialView>, AppError> {
    use crate::server::{edge, services::gateways};
    let (state, actor) = edge::require_actor().await?;
    gateways::list(&state.store, &actor)
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/gateways/create")]
pub async fn create_gateway(name: String) -> Result<GatewayCredentialCreated, AppError> {
    use crate::server::{edge, services::gateways};
    let (state, actor) = edge::require_actor().await?;
    gateways::create(&state.store, &actor, &name, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/gateways/revoke")]
pub async fn revoke_gateway(id: i64) -> Result<(), AppError> {
    use crate::server::{edge, services::gateways};
    let (state, actor) = edge::require_actor().await?;
    gateways::revoke(&state.store, &actor, id, state.clock.now())
        .await
        .map_err(edge::fail)
}
