//! Server functions for access requests, approvals, grants, policies, notifications and
//! delegations. Each finds the acting person, calls one service and maps its error.

use crate::domain::access::AccessLimits;
use crate::model::{
    AppError, ApprovalPreview, BulkOutcome, Counts, DelegationView, GrantView, InboxItem,
    NotificationView, PolicyEdit, RequestForm, RequestInput, RequestState, RequestSummary,
    RequestView, WebhookView,
};
use leptos::prelude::*;

#[server(endpoint = "access/form")]
pub async fn get_request_form(slug: String) -> Result<RequestForm, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::request_form(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Who would approve the request being written, and for how long at most.
#[server(endpoint = "access/preview")]
pub async fn preview_request(
    slug: String,
    environment: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<ApprovalPreview, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::preview_request(
        &state.store,
        &actor,
        &slug,
        &environment,
        &scopes,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// Submits a request; the answer is its id.
#[server(endpoint = "access/submit")]
pub async fn submit_request(slug: String, request: RequestInput) -> Result<i64, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::submit(&state.store, &actor, &slug, &request, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/request")]
pub async fn get_request(id: i64) -> Result<RequestView, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::get(&state.store, &actor, id, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/mine")]
pub async fn my_requests() -> Result<Vec<RequestSummary>, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::mine(&state.store, &actor).await.map_err(edge::fail)
}

#[server(endpoint = "access/cancel")]
pub async fn cancel_request(id: i64) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::cancel(&state.store, &actor, id, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/resubmit")]
pub async fn resubmit_request(id: i64, request: RequestInput) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::resubmit(&state.store, &actor, id, &request, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Decides a stage: `decision` is `approve`, `reject` or `request_changes`; `revision` is the
/// request's revision the approver read (a decision on an earlier one is refused).
#[server(endpoint = "access/decide")]
pub async fn decide_request(
    id: i64,
    revision: i64,
    position: usize,
    decision: String,
    #[server(default)] comment: String,
) -> Result<RequestState, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    let decision = decision
        .parse()
        .map_err(|e: crate::model::UnknownVariant| {
            edge::fail(AppError::BadRequest(e.to_string()))
        })?;
    let stage = access::SeenStage {
        request_id: id,
        revision,
        position,
    };
    access::decide_seen(
        &state.store,
        &actor,
        stage,
        decision,
        &comment,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "access/comment")]
pub async fn comment_request(id: i64, comment: String) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::comment(&state.store, &actor, id, &comment, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/inbox")]
pub async fn get_inbox() -> Result<Vec<InboxItem>, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::inbox(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Approves the chosen low-risk stages, each given as `request:position:revision` (the revision
/// the inbox showed).
#[server(endpoint = "access/bulk-approve")]
pub async fn bulk_approve(
    #[server(default)] items: Vec<String>,
) -> Result<Vec<BulkOutcome>, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    let parsed = items
        .iter()
        .map(|item| {
            let mut parts = item.split(':');
            let mut next = || parts.next().and_then(|p| p.parse::<i64>().ok());
            match (next(), next(), next(), parts.next()) {
                (Some(request_id), Some(position), Some(revision), None) if position >= 0 => {
                    Ok(access::SeenStage {
                        request_id,
                        revision,
                        position: position as usize,
                    })
                }
                _ => Err(AppError::BadRequest(format!(
                    "'{item:.60}' is not request:stage:revision"
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(edge::fail)?;
    if parsed.is_empty() {
        return Err(edge::fail(AppError::Invalid(
            "Choose at least one request.".into(),
        )));
    }
    access::bulk_approve(&state.store, &actor, &parsed, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// The header's numbers: unread notifications and stages waiting for the person.
#[server(endpoint = "access/counts")]
pub async fn get_counts() -> Result<Counts, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = match edge::current_actor().await? {
        (state, Some(actor)) => (state, actor),
        (_, None) => return Ok(Counts::default()),
    };
    let (unread, approvals) = access::header_counts(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)?;
    Ok(Counts { unread, approvals })
}

#[server(endpoint = "access/grants/mine")]
pub async fn my_grants() -> Result<Vec<GrantView>, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::my_grants(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/grants/api")]
pub async fn api_grants(slug: String) -> Result<Vec<GrantView>, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::api_grants(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/grants/revoke")]
pub async fn revoke_grant(id: i64, #[server(default)] reason: String) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::revoke_grant(&state.store, &actor, id, &reason, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/policy")]
pub async fn get_policy(slug: String) -> Result<PolicyEdit, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::get_policy(&state.store, &actor, &slug, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// Saves a policy document; with `reset` set, goes back to the default policy. `revision` is the
/// editor's `PolicyEdit::revision` (a save on a policy changed since is refused).
#[server(endpoint = "access/policy/save")]
pub async fn save_policy(
    slug: String,
    #[server(default)] document: String,
    #[server(default)] reset: Option<String>,
    #[server(default)] revision: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    let document = reset.is_none().then_some(document.as_str());
    let seen = revision.as_deref();
    access::save_policy(
        &state.store,
        &actor,
        &slug,
        document,
        seen,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

/// For an API's owners: who would approve a request from this person for these scopes
/// (comma-separated)?
#[server(endpoint = "access/policy/preview")]
pub async fn preview_policy(
    slug: String,
    email: String,
    environment: String,
    #[server(default)] scopes: String,
) -> Result<ApprovalPreview, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    let scopes: Vec<String> = scopes
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    access::preview_policy(
        &state.store,
        &actor,
        &slug,
        &email,
        &environment,
        &scopes,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "notifications")]
pub async fn get_notifications() -> Result<Vec<NotificationView>, AppError> {
    use crate::server::{edge, services::notify};
    let (state, actor) = edge::require_actor().await?;
    notify::list(&state.store, &actor).await.map_err(edge::fail)
}

/// Marks one notification read, or all of them without an id.
#[server(endpoint = "notifications/read")]
pub async fn mark_notifications_read(#[server(default)] id: Option<i64>) -> Result<u64, AppError> {
    use crate::server::{edge, services::notify};
    let (state, actor) = edge::require_actor().await?;
    notify::mark_read(&state.store, &actor, id, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/delegations")]
pub async fn my_delegations() -> Result<Vec<DelegationView>, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::my_delegations(&state.store, &actor, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "access/delegations/add")]
pub async fn add_delegation(
    email: String,
    starts_on: String,
    ends_on: String,
) -> Result<i64, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::add_delegation(
        &state.store,
        &actor,
        &email,
        &starts_on,
        &ends_on,
        state.clock.now(),
    )
    .await
    .map_err(edge::fail)
}

#[server(endpoint = "access/delegations/end")]
pub async fn end_delegation(id: i64) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::end_delegation(&state.store, &actor, id, state.clock.now())
        .await
        .map_err(edge::fail)
}

#[server(endpoint = "admin/access-limits")]
pub async fn get_access_limits() -> Result<AccessLimits, AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    access::get_limits(&state.store, &actor)
        .await
        .map_err(edge::fail)
}

/// Admins set the global limits. Numbers arrive as text from the form and are checked here.
#[server(endpoint = "admin/access-limits/save")]
pub async fn set_access_limits(
    employee_max_days: String,
    contractor_max_days: String,
    request_expiry_days: String,
    reminder_days_before: String,
    #[server(default)] security_team: String,
    #[server(default)] allow_auto_high_risk: Option<String>,
    #[server(default)] allow_auto_contractors: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{edge, services::access};
    let (state, actor) = edge::require_actor().await?;
    let number = |text: &str, what: &str| {
        text.trim().parse::<u32>().map_err(|_| {
            edge::fail(AppError::Invalid(format!(
                "{what} must be a whole number of days."
            )))
        })
    };
    let limits = AccessLimits {
        employee_max_days: number(&employee_max_days, "The employees' maximum")?,
        contractor_max_days: number(&contractor_max_days, "The contractors' maximum")?,
        request_expiry_days: number(&request_expiry_days, "The request expiry")?,
        reminder_days_before: number(&reminder_days_before, "The reminder")?,
        security_team: Some(security_team.trim().to_owned()).filter(|s| !s.is_empty()),
        allow_auto_high_risk: allow_auto_high_risk.is_some(),
        allow_auto_contractors: allow_auto_contractors.is_some(),
    };
    access::set_limits(&state.store, &actor, &limits, state.clock.now())
        .await
        .map_err(edge::fail)
}

/// The webhooks of the teams the person manages.
#[server(endpoint = "teams/webhooks")]
pub async fn list_team_webhooks() -> Result<Vec<WebhookView>, AppError> {
    use crate::server::{edge, services::notify};
    let (state, actor) = edge::require_actor().await?;
    notify::list_webhooks(&state.store, &state.secrets, &actor)
        .await
        .map_err(edge::fail)
}

/// Sets a team's webhook URL; an empty URL removes it.
#[server(endpoint = "teams/webhook/save")]
pub async fn set_team_webhook(
    team: String,
    #[server(default)] url: String,
) -> Result<(), AppError> {
    use crate::server::{edge, services::notify};
    let (state, actor) = edge::require_actor().await?;
    let url = Some(url.trim()).filter(|u| !u.is_empty());
    notify::set_webhook(&state.store, &actor, &team, url, state.clock.now())
        .await
        .map_err(edge::fail)
}
