//! Server functions: thin adapters that find the acting person, call one service and map its
//! error. Their bodies compile only into the server.

use crate::model::{
    ApiDetail, ApiSummary, AppError, CatalogFacets, CatalogFilter, InvitationCreated,
    InvitationLimits, InvitationPreview, InvitationView, Me, OrgImportReport, Profile,
    SignInOptions,
};
use leptos::prelude::*;

/// The signed-in person, or `None`.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    let (_, actor) = crate::server::edge::current_actor().await?;
    Ok(actor.map(|a| a.me()))
}

#[server(endpoint = "sign-in/options")]
pub async fn get_sign_in_options() -> Result<SignInOptions, AppError> {
    use crate::server::{edge, services::sessions};
    let state = edge::state()?;
    sessions::sign_in_options(
        &state.store,
        state.config.dev_login,
        state.oidc.as_ref().map(|p| p.display_name().to_owned()),
        state.config.local_passwords,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "catalog/list")]
pub async fn list_catalog(filter: CatalogFilter) -> Result<Vec<ApiSummary>, AppError> {
    use crate::server::{edge, services::catalog};
    let (state, actor) = edge::require_actor().await?;
    catalog::list(&state.store, &actor, &filter, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "catalog/facets")]
pub async fn get_catalog_facets() -> Result<CatalogFacets, AppError> {
    use crate::server::{edge, services::catalog};
    let (state, actor) = edge::require_actor().await?;
    catalog::facets(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "catalog/api")]
pub async fn get_api(slug: String) -> Result<ApiDetail, AppError> {
    use crate::server::{edge, services::catalog};
    let (state, actor) = edge::require_actor().await?;
    catalog::get(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "me/profile")]
pub async fn get_profile() -> Result<Profile, AppError> {
    use crate::server::{edge, services::people};
    let (state, actor) = edge::require_actor().await?;
    let token = edge::request_session_token(&state);
    people::my_profile(
        &state.store,
        &actor,
        token.as_deref(),
        edge::timeouts(&state.config),
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// Imports an org file (`format` is `csv` or `json`). Admins only.
#[server(endpoint = "admin/org/import")]
pub async fn import_org(format: String, content: String) -> Result<OrgImportReport, AppError> {
    use crate::domain::org::OrgFormat;
    use crate::server::{authz, edge, services::org};
    let (state, actor) = edge::require_actor().await?;
    let cap = authz::manage_org(&actor).ok_or_else(|| edge::fail(AppError::Forbidden))?;
    let format = match format.as_str() {
        "csv" => OrgFormat::Csv,
        "json" => OrgFormat::Json,
        other => {
            return Err(edge::fail(AppError::BadRequest(format!(
                "Unknown org file format '{other:.20}': use csv or json."
            ))));
        }
    };
    org::import(
        &state.store,
        &actor,
        &cap,
        format,
        &content,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// The end-date limits for the invitation form.
#[server(endpoint = "invitations/limits")]
pub async fn get_invitation_limits() -> Result<InvitationLimits, AppError> {
    use crate::server::{authz, edge, services::invitations};
    let (state, actor) = edge::require_actor().await?;
    authz::invite_contractors(&actor).ok_or_else(|| edge::fail(AppError::Forbidden))?;
    Ok(invitations::limits(
        state.config.contractor_max_days,
        state.clock.now(),
    ))
}

/// The invitations the signed-in employee sent or sponsors (all of them for an admin).
#[server(endpoint = "invitations/list")]
pub async fn list_invitations() -> Result<Vec<InvitationView>, AppError> {
    use crate::server::{edge, services::invitations};
    let (state, actor) = edge::require_actor().await?;
    invitations::list(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Invites a contractor; the answer carries the one-time link.
#[server(endpoint = "invitations/create")]
pub async fn create_invitation(
    email: String,
    company: String,
    ends_on: String,
    sponsor_email: Option<String>,
) -> Result<InvitationCreated, AppError> {
    use crate::server::{authz, edge, services::invitations};
    let (state, actor) = edge::require_actor().await?;
    let cap = authz::invite_contractors(&actor).ok_or_else(|| edge::fail(AppError::Forbidden))?;
    let input = invitations::NewInvitation {
        email,
        company,
        ends_on,
        sponsor_email,
    };
    invitations::create(
        &state.store,
        &actor,
        &cap,
        &input,
        state.config.contractor_max_days,
        &state.config.origin(),
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "invitations/revoke")]
pub async fn revoke_invitation(id: i64) -> Result<InvitationView, AppError> {
    use crate::server::{edge, services::invitations};
    let (state, actor) = edge::require_actor().await?;
    invitations::revoke(&state.store, &actor, id, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "invitations/extend")]
pub async fn extend_invitation(id: i64, ends_on: String) -> Result<InvitationView, AppError> {
    use crate::server::{edge, services::invitations};
    let (state, actor) = edge::require_actor().await?;
    invitations::extend(
        &state.store,
        &actor,
        id,
        &ends_on,
        state.config.contractor_max_days,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// Ends a contractor's engagement now. Their sponsor or an admin.
#[server(endpoint = "contractors/end")]
pub async fn end_engagement(person_id: i64) -> Result<(), AppError> {
    use crate::server::{edge, services::invitations};
    let (state, actor) = edge::require_actor().await?;
    let cap = invitations::end_engagement_capability(&state.store, &actor, person_id)
        .await
        .map_err(edge::fail)?;
    invitations::end_engagement(&state.store, &actor, &cap, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// The invitation behind a link, for the page its holder opens. Needs no sign-in: the link is
/// the credential.
#[server(endpoint = "invitations/preview")]
pub async fn get_invitation_preview(token: String) -> Result<InvitationPreview, AppError> {
    use crate::server::{edge, services::invitations};
    let state = edge::state()?;
    invitations::preview(
        &state.store,
        &token,
        state.oidc.as_ref().map(|p| p.display_name().to_owned()),
        state.config.local_passwords,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}
