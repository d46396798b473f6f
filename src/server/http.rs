//! The HTTP surface: health probes, sign-in and sign-out forms, the CSRF guard, and the Leptos
//! pages and server functions.

use super::error::ServiceError;
use super::services::sessions::{self, AuthMethod};
use super::state::AppState;
use super::{authz, edge};
use crate::app::{App, shell};
use crate::domain::url::safe_local_path;
use crate::model::AppError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Deserialize;
use std::sync::Arc;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz).post(healthz))
        .route("/readyz", get(readyz))
        .route("/auth/dev-login", post(dev_login))
        .route("/auth/sign-out", post(sign_out))
        .route("/auth/sign-out-everywhere", post(sign_out_everywhere))
        .merge(super::auth_routes::routes())
        .merge(super::scim::routes())
        .merge(super::rest::routes())
        .merge(super::gateway::routes())
        .merge(pages(&state))
        .nest("/pkg", bundle(&state.leptos_options.site_root))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(panic_guard())
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn_with_state(
            PublicOrigin(state.config.public_origin().map(Arc::from)),
            csrf_guard,
        ))
        .layer(middleware::from_fn_with_state(
            Https(state.config.secure_cookies()),
            security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// What a panic while answering becomes. The layer sits inside the others, so the answer still
/// carries the security headers and is traced.
pub type PanicGuard =
    tower_http::catch_panic::CatchPanicLayer<fn(Box<dyn std::any::Any + Send>) -> Response>;

/// A panic while answering a request (a defect) is logged with its message and answered with a
/// 500 that says so, instead of a connection dropped without an answer. Other requests were
/// never affected: each connection is a task of its own.
pub fn panic_guard() -> PanicGuard {
    tower_http::catch_panic::CatchPanicLayer::custom(answer_panic as fn(_) -> _)
}

fn answer_panic(payload: Box<dyn std::any::Any + Send>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(
        panic = message,
        "answering a request panicked; it got a 500"
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Gatehouse failed while answering this request; the failure is logged. Try again, and \
         if it keeps failing, tell the portal's operators.\n",
    )
        .into_response()
}

/// The pages and server functions, docs pages through the page cache (only these routes pay
/// for its check, not the gateways' hot path).
fn pages(state: &AppState) -> Router<AppState> {
    Router::new()
        .leptos_routes_with_context(
            state,
            route_list(),
            || leptos::prelude::provide_context(super::edge::RequestActor::default()),
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            super::page_cache::layer,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            server_fn_body_limit,
        ))
}

/// The most a server function's request may carry: axum's default. Arguments are read whole.
pub const SERVER_FN_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The most an org import's request may carry, for admins: room for a file of
/// [`MAX_ROWS`](crate::domain::org::MAX_ROWS) people, form-encoded.
pub const ORG_IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Server functions' request limits. The org import takes a whole file, which for a large
/// company passes the default; an admin's import gets the larger limit (decided from the
/// session before the body is read, so no one else can make the server hold 32 MB). A body over
/// its limit is answered 413 with a message saying so: before it is read when its length is
/// declared, else as soon as reading it passes the limit. (Before, a large import was answered
/// "502 The server could not be reached: error deserializing server function results".)
async fn server_fn_body_limit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    use leptos::server_fn::ServerFn;
    use tower::{Layer, ServiceExt};
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let mut limit = SERVER_FN_BODY_LIMIT;
    if request.uri().path() == crate::api::ImportOrg::PATH
        && let Ok(Some(actor)) = edge::actor_from_headers(&state, request.headers()).await
        && authz::manage_org(&actor).is_some()
    {
        limit = ORG_IMPORT_BODY_LIMIT;
        // The server function takes the person from here rather than reading the session again.
        request.extensions_mut().insert(edge::ResolvedActor(actor));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return request_too_large(limit);
    }
    // Cut off at the limit while being read, the server function's arguments are an error that
    // says so (see `AppError::from_server_fn_error`).
    axum::extract::DefaultBodyLimit::max(limit)
        .layer(next)
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {})
}

fn request_too_large(limit: usize) -> Response {
    let message = format!(
        "The request is larger than {} MB, the most this accepts; nothing was changed.",
        limit / (1024 * 1024)
    );
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(AppError::TooLarge(message)),
    )
        .into_response()
}

/// The browser bundle (`/pkg`), precompressed files first. Served here rather than by Leptos's
/// file fallback, which passes a file request on without its `If-Modified-Since`: every
/// revalidation there downloaded the whole bundle again instead of getting a 304.
fn bundle(site_root: &str) -> Router<AppState> {
    let files = tower_http::services::ServeDir::new(std::path::Path::new(site_root).join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(middleware::map_response(revalidate))
}

/// The bundle keeps its file names from build to build (no content hashes), so a browser asks
/// whether its copy is current (a 304 when it is) instead of guessing: a copy kept by heuristic
/// freshness after a deploy would hydrate the new server's pages with old code.
async fn revalidate<B>(mut response: Response<B>) -> Response<B> {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-cache"));
    response
}

/// The app's routes, listed once per process. Listing them renders the app with resource loads
/// suspended through a flag Leptos keeps for the whole process: a page whose data was first
/// asked for while a listing ran anywhere in the process never got it, and its request never
/// answered (leptos-rs/leptos#4773). With one listing, made before the first router exists,
/// no page can render during it.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The process is up. Also answers POST, so a benchmark can send it the very request it sends
/// the verify endpoint (the bare baseline of `bench/run`). It reads the body, as any endpoint
/// taking that request must.
async fn healthz(_body: axum::body::Bytes) -> &'static str {
    "ok"
}

/// The store answers; load balancers send traffic only then.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.store.ping().await {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "store unreachable" })),
        )
            .into_response()
    }
}

/// Refuses state-changing requests that a browser sent from another site. Browsers always send
/// `Origin` on such requests; clients without it (curl, gateways) are not a CSRF vector.
/// The configured public origin, all the CSRF guard needs (cloned per request, so not the whole
/// application state).
#[derive(Clone)]
struct PublicOrigin(Option<Arc<str>>);

async fn csrf_guard(
    State(PublicOrigin(origin)): State<PublicOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && !same_origin(request.headers(), origin.as_deref()) {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({ "error": "Cross-site request refused.", "status": 403 })),
        )
            .into_response();
    }
    next.run(request).await
}

/// The Content-Security-Policy of every page: scripts only from this origin, inline ones only
/// with this response's nonce (Leptos puts it on its hydration and resource scripts), wasm
/// compiled from this origin, and no framing. Styles may be inline: rendered docs and a few
/// views set `style`, and a style cannot run code. Images may come from anywhere, as guides
/// link them (badges, diagrams).
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src * data:; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Called by the page shell while the server renders it: sends [`page_policy`] with the nonce
/// Leptos made for this response.
pub fn send_page_policy() {
    use leptos::prelude::use_context;
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = header::HeaderValue::from_str(&page_policy(&nonce))
    {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Whether people reach Gatehouse over HTTPS (then browsers are told to keep to it).
#[derive(Clone, Copy)]
struct Https(bool);

/// Headers every answer carries: no content sniffing, no framing (the key page shows a secret
/// once; nobody may overlay it), no full URL in the `Referer` sent elsewhere (invitation links
/// carry their token), and HSTS behind HTTPS. Anything that is not a page (JSON, files, server
/// functions) gets a policy that allows nothing; pages bring their own (see [`page_policy`]).
async fn security_headers(
    State(Https(https)): State<Https>,
    request: Request,
    next: Next,
) -> Response {
    use header::HeaderValue;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Pages are one person's: no shared cache may keep them, and none is reused unasked.
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"))
    {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("private, no-cache"));
    }
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    if https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Server functions answer every error with 500. Ours carry an `AppError`, which knows its
/// status (400 for malformed arguments, 401, 404, 422, …): answer with that instead.
async fn server_fn_status(request: Request, next: Next) -> Response {
    let is_server_fn = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(err.status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // No Origin: fall back to Fetch metadata where the browser sent it.
        return headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|site| matches!(site, "same-origin" | "none"));
    };
    match public_origin {
        Some(expected) => origin == expected,
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
    }
}

#[derive(Deserialize)]
struct DevLoginForm {
    person_id: i64,
    next: Option<String>,
}

/// The development sign-in: act as any seeded person. Exists only when enabled (loopback only).
async fn dev_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<DevLoginForm>,
) -> Response {
    if !state.config.dev_login {
        return AppError::NotFound("The development sign-in".into()).into_response();
    }
    let now = state.clock.now();
    let timeouts = edge::timeouts(&state.config);
    match sessions::start(
        &state.store,
        form.person_id,
        AuthMethod::Dev,
        timeouts,
        &edge::client_info(&headers),
        now,
    )
    .await
    {
        Ok(session) => {
            tracing::info!(person = form.person_id, method = "dev", "signed in");
            let target = form
                .next
                .as_deref()
                .and_then(safe_local_path)
                .unwrap_or("/");
            let cookie =
                edge::session_cookie(&state.config, &session.token, session.expires_at - now);
            ([(header::SET_COOKIE, cookie)], Redirect::to(target)).into_response()
        }
        Err(ServiceError::Forbidden) => AppError::Forbidden.into_response(),
        Err(err) => err.into_response(),
    }
}

/// The answer once sessions have ended: forget the cookie, go to the sign-in page.
fn signed_out(state: &AppState) -> Response {
    (
        [(
            header::SET_COOKIE,
            edge::clear_session_cookie(&state.config),
        )],
        Redirect::to("/sign-in"),
    )
        .into_response()
}

/// Signs out: deletes the session server-side and clears the cookie.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = edge::session_token(&headers, &state.config)
        && let Err(err) = sessions::end(
            &state.store,
            &token,
            &edge::client_info(&headers),
            state.clock.now(),
        )
        .await
    {
        return err.into_response();
    }
    signed_out(&state)
}

/// Ends every session of the signed-in person, this one included.
async fn sign_out_everywhere(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = match edge::actor_from_headers(&state, &headers).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return Redirect::to("/sign-in").into_response(),
        Err(err) => return err.into_response(),
    };
    let Some(cap) = authz::end_sessions_of(&actor, actor.person_id) else {
        return AppError::Forbidden.into_response();
    };
    if let Err(err) = sessions::end_all(
        &state.store,
        &actor,
        &cap,
        &edge::client_info(&headers),
        state.clock.now(),
    )
    .await
    {
        return err.into_response();
    }
    signed_out(&state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn origin_must_match_the_host_or_the_public_url() {
        assert!(same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            None
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.test"), ("host", "127.0.0.1:3000")]),
            None
        ));
        assert!(same_origin(
            &headers(&[("origin", "https://gh.example.com")]),
            Some("https://gh.example.com")
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://gh.example.com.evil.test")]),
            Some("https://gh.example.com")
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(
            same_origin(&headers(&[]), None),
            "non-browser clients send no Origin"
        );
    }
}
