//! The REST API for machines and scripts, under `/api/v1`, and the images guides show:
//!
//! - `POST /api/v1/apis/{slug}/versions`: CI publishes a version with a team's publish token
//!   (`Authorization: Bearer ghpub_…`).
//! - `GET /api/v1/apis/{slug}/diff?from=A&to=B`: what changed between two versions, for a
//!   signed-in person who may see the API.
//! - `GET /apis/{slug}/assets/{path}`: an image from the API's docs folder.
//!
//! Errors are JSON: `{"error": "…", "status": N}`, plus `problems` when a version has them.

use super::edge;
use super::error::ServiceError;
use super::services::{catalog, publish_tokens};
use super::state::AppState;
use crate::model::AppError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/apis/{slug}/versions",
            // The handler reads the body itself, after authentication, up to `body_limit`.
            post(publish_version),
        )
        .route("/api/v1/apis/{slug}/diff", get(version_diff))
        .route("/apis/{slug}/assets/{*path}", get(asset))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message: String = message.into();
    (
        status,
        Json(serde_json::json!({ "error": message, "status": status.as_u16() })),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

async fn publish_version(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let unauthorized = || {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "A live publish token is needed: Authorization: Bearer ghpub_…",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    };
    // The token and the API are checked before a byte of the body is read.
    let Some(token) = bearer(&headers) else {
        return unauthorized();
    };
    let publisher = match publish_tokens::authenticate(&state.store, token).await {
        Ok(p) => p,
        Err(ServiceError::Unauthenticated) => return unauthorized(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let target = match publish_tokens::authorize(&state.store, &publisher, &slug).await {
        Ok(t) => t,
        Err(ServiceError::Forbidden) => {
            return error(
                StatusCode::FORBIDDEN,
                "This token's team does not own that API.",
            );
        }
        Err(e) => return AppError::from(e).into_response(),
    };
    let limit = body_limit(&state);
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request is larger than {} MB.", limit / (1024 * 1024)),
            );
        }
    };
    let request: publish_tokens::PublishRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The body must be JSON {{\"label\", \"spec\"?, \"release_notes\"?, \"status\"?, \"guides\"?: [{{\"name\", \"content\"}}]}}: {e}"
                ),
            );
        }
    };
    match publish_tokens::publish(
        &state.store,
        &publisher,
        target,
        request,
        state.config.max_spec_bytes,
        state.clock.now(),
    )
    .await
    {
        Ok(published) => {
            let status = if published.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(published)).into_response()
        }
        Err(publish_tokens::PublishFailure::Problems(problems)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "error": "The version was not published: it has problems.",
                "status": 422,
                "problems": problems,
            })),
        )
            .into_response(),
        Err(publish_tokens::PublishFailure::Service(e)) => AppError::from(e).into_response(),
    }
}

/// A spec at the size limit, plus guides and JSON escaping.
fn body_limit(state: &AppState) -> usize {
    state.config.max_spec_bytes * 2 + 8 * 1024 * 1024
}

#[derive(Deserialize, Default)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn version_diff(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let actor = match edge::actor_from_headers(&state, &headers).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return AppError::Unauthenticated.into_response(),
        Err(e) => return e.into_response(),
    };
    // A malformed query string counts as naming no versions: the service says what to send,
    // after deciding whether this person may see the API at all.
    let q = query.map(|Query(q)| q).unwrap_or_default();
    match catalog::diff(
        &state.store,
        &actor,
        &slug,
        q.from.as_deref(),
        q.to.as_deref(),
        state.clock.now(),
    )
    .await
    {
        Ok(diff) => Json(diff).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// An image from an API's docs folder, to those who may see the API. Served so that even an SVG
/// with script in it cannot run: a sandboxing CSP and no sniffing.
async fn asset(
    State(state): State<AppState>,
    Path((slug, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let actor = match edge::actor_from_headers(&state, &headers).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return AppError::Unauthenticated.into_response(),
        Err(e) => return e.into_response(),
    };
    let image = match catalog::asset(&state.store, &actor, &slug, &path, state.clock.now()).await {
        Ok(image) => image,
        Err(e) => return AppError::from(e).into_response(),
    };
    let catalog::Asset {
        content_type,
        bytes,
        sha256: sha,
    } = image;
    let etag = format!("\"{sha}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
