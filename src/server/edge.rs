//! The edge between HTTP and services: session cookies, the acting person, and turning service
//! errors into responses. Server functions and REST handlers stay a few lines each.

use super::actor::Actor;
use super::config::Config;
use super::error::ServiceError;
use super::services::sessions::{self, ClientInfo, Timeouts};
use super::state::AppState;
use crate::model::AppError;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// With `Secure` the `__Host-` prefix pins the cookie to this exact origin and path `/`.
const SECURE_COOKIE: &str = "__Host-gatehouse";
/// Plain-HTTP loopback development cannot set `Secure`, so it cannot use the prefix either.
const DEV_COOKIE: &str = "gatehouse_session";

pub fn cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies() {
        SECURE_COOKIE
    } else {
        DEV_COOKIE
    }
}

pub fn timeouts(config: &Config) -> Timeouts {
    Timeouts {
        idle: config.session_idle_timeout,
        lifetime: config.session_lifetime,
    }
}

/// A cookie's value from the `Cookie` header(s), if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The session token from the `Cookie` header(s), if any.
pub fn session_token(headers: &HeaderMap, config: &Config) -> Option<String> {
    cookie(headers, cookie_name(config))
}

/// Where a request came from, kept with sessions and audit events.
pub fn client_info(headers: &HeaderMap) -> ClientInfo {
    ClientInfo {
        ip: None,
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(config: &Config, token: &str, max_age: i64) -> String {
    let secure = if config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(config)
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(config: &Config) -> String {
    session_cookie(config, "", 0)
}

pub async fn actor_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Actor>, ServiceError> {
    match session_token(headers, &state.config) {
        Some(token) => {
            sessions::resolve(
                &state.store,
                &token,
                timeouts(&state.config),
                state.clock.now(),
            )
            .await
        }
        None => Ok(None),
    }
}

/// For server functions: sets the HTTP status that matches the error, then returns it.
pub fn fail(err: impl Into<AppError>) -> AppError {
    let err = err.into();
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(err.status())
    {
        response.set_status(status);
    }
    err
}

/// For server functions: the app state from context.
pub fn state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function's context");
        fail(AppError::Internal)
    })
}

/// The signed-in person of one request, resolved once however many server functions run for it
/// (a page renders several: the header's, the page's own), instead of reading the session and
/// the person again for each. Provided fresh for every request (see `http::router`).
#[derive(Clone, Default)]
pub struct RequestActor(std::sync::Arc<tokio::sync::OnceCell<Option<Actor>>>);

/// The signed-in person, resolved from the session before the request reached the page (set
/// only by the server, in the request's extensions), so the page does not read the session
/// again.
#[derive(Clone, Debug)]
pub struct ResolvedActor(pub Actor);

/// For server functions: the state and the signed-in person, if any.
pub async fn current_actor() -> Result<(AppState, Option<Actor>), AppError> {
    let state = state()?;
    let resolve = || async {
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
        // The page cache resolved this request's session already (see `page_cache`).
        if let Some(ResolvedActor(actor)) = parts
            .as_ref()
            .and_then(|parts| parts.extensions.get::<ResolvedActor>())
        {
            return Ok(Some(actor.clone()));
        }
        let headers = parts.map(|parts| parts.headers).unwrap_or_default();
        actor_from_headers(&state, &headers).await
    };
    let actor = match leptos::prelude::use_context::<RequestActor>() {
        Some(memo) => memo.0.get_or_try_init(resolve).await.map_err(fail)?.clone(),
        None => resolve().await.map_err(fail)?,
    };
    Ok((state, actor))
}

/// For server functions: the session token the request came with, if any.
pub fn request_session_token(state: &AppState) -> Option<String> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    session_token(&parts.headers, &state.config)
}

/// For server functions: the state and the signed-in person, or 401.
pub async fn require_actor() -> Result<(AppState, Actor), AppError> {
    match current_actor().await? {
        (state, Some(actor)) => Ok((state, actor)),
        (_, None) => Err(fail(AppError::Unauthenticated)),
    }
}
