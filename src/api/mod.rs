//! Server functions: thin adapters that find the acting person, call one service and map its
//! error. Their bodies compile only into the server.

mod access;
mod keys;

pub use access::*;
pub use keys::*;

use crate::model::{
    ApiDetail, ApiEdit, AppError, CatalogFacets, CatalogFilter, CatalogResults, ChangelogPage,
    GuidePage, InvitationCreated, InvitationLimits, InvitationPreview, InvitationView, Me,
    OrgImportReport, PersonDetail, PersonSummary, Profile, PublishTokenCreated, PublishTokenView,
    ReferencePage, SearchResults, SignInOptions, TeamView,
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
pub async fn list_catalog(filter: CatalogFilter) -> Result<CatalogResults, AppError> {
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

/// For admin server functions: the state, the actor and the capability to manage the org.
#[cfg(feature = "ssr")]
async fn require_admin() -> Result<
    (
        crate::server::state::AppState,
        crate::server::actor::Actor,
        crate::server::authz::ManageOrg,
    ),
    AppError,
> {
    use crate::server::{authz, edge};
    let (state, actor) = edge::require_actor().await?;
    let cap = authz::manage_org(&actor).ok_or_else(|| edge::fail(AppError::Forbidden))?;
    Ok((state, actor, cap))
}

/// People matching a search (admins).
#[server(endpoint = "admin/people")]
pub async fn admin_people(q: String) -> Result<Vec<PersonSummary>, AppError> {
    use crate::server::{edge, services::admin};
    let (state, _, cap) = require_admin().await?;
    admin::search_people(&state.store, &cap, &q)
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/person")]
pub async fn admin_person(id: i64) -> Result<PersonDetail, AppError> {
    use crate::server::{edge, services::admin};
    let (state, _, cap) = require_admin().await?;
    admin::person(&state.store, &cap, id)
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/person/kind")]
pub async fn admin_set_kind(
    id: i64,
    kind: String,
    sponsor_email: Option<String>,
    ends_on: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{edge, services::admin};
    let (state, actor, cap) = require_admin().await?;
    let kind = kind.parse().map_err(|e: crate::model::UnknownVariant| {
        edge::fail(AppError::BadRequest(e.to_string()))
    })?;
    let change = admin::KindChange {
        kind,
        sponsor_email: sponsor_email.as_deref(),
        ends_on: ends_on.as_deref(),
    };
    admin::set_kind(
        &state.store,
        &actor,
        &cap,
        id,
        &change,
        state.config.contractor_max_days,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "admin/person/manager")]
pub async fn admin_set_manager(id: i64, manager_email: Option<String>) -> Result<(), AppError> {
    use crate::server::{edge, services::admin};
    let (state, actor, cap) = require_admin().await?;
    admin::set_manager(
        &state.store,
        &actor,
        &cap,
        id,
        manager_email.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "admin/person/admin")]
pub async fn admin_set_admin(id: i64, admin: bool) -> Result<(), AppError> {
    use crate::server::{edge, services::admin as svc};
    let (state, actor, cap) = require_admin().await?;
    svc::set_admin(&state.store, &actor, &cap, id, admin, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/person/active")]
pub async fn admin_set_active(id: i64, active: bool) -> Result<(), AppError> {
    use crate::server::{edge, services::admin};
    let (state, actor, cap) = require_admin().await?;
    admin::set_active(&state.store, &actor, &cap, id, active, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Ends every session of a person: an admin's lock-out.
#[server(endpoint = "admin/person/sessions")]
pub async fn admin_end_sessions(id: i64) -> Result<u64, AppError> {
    use crate::server::{authz, edge, services::sessions};
    let (state, actor) = edge::require_actor().await?;
    let cap = authz::end_sessions_of(&actor, id).ok_or_else(|| edge::fail(AppError::Forbidden))?;
    sessions::end_all(
        &state.store,
        &actor,
        &cap,
        &Default::default(),
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// Teams and their people: all for an admin, one's own otherwise.
#[server(endpoint = "teams/list")]
pub async fn list_teams() -> Result<Vec<TeamView>, AppError> {
    use crate::server::{edge, services::admin};
    let (state, actor) = edge::require_actor().await?;
    admin::teams(&state.store, &actor).await.map_err(edge::fail)
}

/// Adds someone to a team, changes their role, or removes them (`role` = `none`). Admins and the
/// team's owners.
#[server(endpoint = "teams/member")]
pub async fn set_team_role(team: String, email: String, role: String) -> Result<(), AppError> {
    use crate::server::{edge, services::admin};
    let (state, actor) = edge::require_actor().await?;
    let role = role.parse().map_err(|e: crate::model::UnknownVariant| {
        edge::fail(AppError::BadRequest(e.to_string()))
    })?;
    let cap = admin::team_capability(&state.store, &actor, &team)
        .await
        .map_err(edge::fail)?;
    admin::set_team_role(&state.store, &actor, &cap, &email, role, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// One guide of an API, as stored at publish time.
#[server(endpoint = "catalog/guide")]
pub async fn get_guide(
    slug: String,
    guide: String,
    version: Option<String>,
) -> Result<GuidePage, AppError> {
    use crate::server::{edge, services::catalog};
    let (state, actor) = edge::require_actor().await?;
    catalog::guide(
        &state.store,
        &actor,
        &slug,
        &guide,
        version.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// One part of an API's OpenAPI reference (a tag's operations, the webhooks, the schemas), as
/// stored at publish time; the overview and the first part without `section`.
#[server(endpoint = "catalog/reference")]
pub async fn get_reference(
    slug: String,
    version: Option<String>,
    section: Option<String>,
) -> Result<ReferencePage, AppError> {
    use crate::server::{edge, services::catalog};
    let (state, actor) = edge::require_actor().await?;
    catalog::reference(
        &state.store,
        &actor,
        &slug,
        version.as_deref(),
        section.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// An API's changelog: every version's release notes.
#[server(endpoint = "catalog/changelog")]
pub async fn get_changelog(slug: String) -> Result<ChangelogPage, AppError> {
    use crate::server::{edge, services::catalog};
    let (state, actor) = edge::require_actor().await?;
    catalog::changelog(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Search over the APIs, guides, operations and schemas the person may see.
#[server(endpoint = "search")]
pub async fn search(query: String) -> Result<SearchResults, AppError> {
    use crate::server::{edge, services::search};
    let (state, actor) = edge::require_actor().await?;
    search::search(&state.store, &actor, &query, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// An API's metadata, scopes and environments as the edit form starts from. Its team's owners
/// and admins.
#[server(endpoint = "catalog/edit/load")]
pub async fn get_api_edit(slug: String) -> Result<ApiEdit, AppError> {
    use crate::server::{edge, services::api_edit};
    let (state, actor) = edge::require_actor().await?;
    api_edit::load(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Saves an API's metadata, scopes and environments. Its team's owners and admins.
#[server(endpoint = "catalog/edit/save")]
pub async fn update_api(slug: String, edit: ApiEdit) -> Result<(), AppError> {
    use crate::server::{edge, services::api_edit};
    let (state, actor) = edge::require_actor().await?;
    api_edit::update(&state.store, &actor, &slug, &edit, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// A team's publish tokens. Its owners and admins.
#[server(endpoint = "teams/tokens")]
pub async fn list_publish_tokens(team: String) -> Result<Vec<PublishTokenView>, AppError> {
    use crate::server::{edge, services::publish_tokens};
    let (state, actor) = edge::require_actor().await?;
    publish_tokens::list(&state.store, &actor, &team)
        .await
        .map_err(edge::fail)
}

/// Creates a publish token for a team's CI; the answer holds the secret, shown this once.
#[server(endpoint = "teams/tokens/create")]
pub async fn create_publish_token(
    team: String,
    name: String,
) -> Result<PublishTokenCreated, AppError> {
    use crate::server::{edge, services::publish_tokens};
    let (state, actor) = edge::require_actor().await?;
    publish_tokens::create(&state.store, &actor, &team, &name, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "teams/tokens/revoke")]
pub async fn revoke_publish_token(team: String, id: i64) -> Result<(), AppError> {
    use crate::server::{edge, services::publish_tokens};
    let (state, actor) = edge::require_actor().await?;
    publish_tokens::revoke(&state.store, &actor, &team, id, state.clock.now())
        .await
        .map_err(edge::fail)
}
