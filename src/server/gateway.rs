//! The gateways' endpoints: `POST /api/v1/keys/verify` (JSON) and `/api/v1/authz` (forward-auth
//! for nginx `auth_request`, Traefik ForwardAuth and Envoy ext_authz over HTTP). Both need a
//! gateway credential; neither ever answers 500 to a bad key.

use super::state::AppState;
use super::verify::{Code, Verifier, VerifyRequest};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use std::sync::Arc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/keys/verify", post(verify))
        .route("/api/v1/authz", any(authz))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

// Header names parsed once, not on every lookup.
const GATEWAY: HeaderName = HeaderName::from_static("x-gatehouse-gateway");
const API: HeaderName = HeaderName::from_static("x-gatehouse-api");
const ENVIRONMENT: HeaderName = HeaderName::from_static("x-gatehouse-environment");
const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");
const FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
const FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const CODE: HeaderName = HeaderName::from_static("x-gatehouse-code");

fn text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `{key, api?, environment?, scopes?, method?, path?, ip?}` → `{valid, …}`; the gateway's
/// credential in `Authorization: Bearer`.
async fn verify(State(verifier): State<Arc<Verifier>>, request: Request) -> Response {
    // The request taken whole rather than as `HeaderMap` + `Bytes` extractors, which would copy
    // every header on each call.
    let (parts, body) = request.into_parts();
    let Some(credential) = bearer(&parts.headers) else {
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "error": "A gateway credential is needed (Authorization: Bearer ghgw_…).", "status": 401 }),
        );
    };
    match verifier.gateway(credential).await {
        Ok(_) => {}
        Err(Code::Unavailable) => {
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "valid": false, "code": "unavailable" }),
            );
        }
        Err(_) => {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({ "error": "Unknown or revoked gateway credential.", "status": 401 }),
            );
        }
    }
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024).await else {
        return json(
            StatusCode::PAYLOAD_TOO_LARGE,
            serde_json::json!({ "error": "The request is larger than 16 KB (or was cut off).", "status": 413 }),
        );
    };
    let request: VerifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": format!("Not a verify request: {e}"), "status": 400 }),
            );
        }
    };
    match verifier.verify(&request, verifier.now()).await {
        Ok(allowed) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            allowed.json(),
        )
            .into_response(),
        Err(denied) => {
            let mut body = serde_json::json!({ "valid": false, "code": denied.code.as_str() });
            if let Some(wait) = denied.retry_after {
                body["retry_after"] = wait.into();
            }
            json(StatusCode::OK, body)
        }
    }
}

/// Forward-auth. The key comes from `Authorization: Bearer` or `X-Api-Key`, never from the
/// query string; the original request from `X-Original-Method`/`X-Original-URI` (nginx) or
/// `X-Forwarded-Method`/`X-Forwarded-Uri` (Traefik); the API and environment from
/// `X-Gatehouse-Api`/`X-Gatehouse-Environment`, set in the gateway's configuration; the
/// gateway's credential from `X-Gatehouse-Gateway`.
async fn authz(State(verifier): State<Arc<Verifier>>, request: Request) -> Response {
    let headers = request.headers();
    let deny = |code: Code, retry_after: Option<u64>| {
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::FORBIDDEN);
        let mut response = status.into_response();
        let h = response.headers_mut();
        h.insert(CODE, HeaderValue::from_static(code.as_str()));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = retry_after
            && let Ok(v) = HeaderValue::from_str(&wait.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        response
    };
    let Some(credential) = text(headers, &GATEWAY) else {
        return deny(Code::Invalid, None);
    };
    match verifier.gateway(credential).await {
        Ok(_) => {}
        Err(Code::Unavailable) => return deny(Code::Unavailable, None),
        Err(_) => return deny(Code::Invalid, None),
    }
    let uri = text(headers, &ORIGINAL_URI).or_else(|| text(headers, &FORWARDED_URI));
    let method = text(headers, &ORIGINAL_METHOD).or_else(|| text(headers, &FORWARDED_METHOD));
    let key = bearer(headers).or_else(|| text(headers, &API_KEY));
    let Some(key) = key else {
        // A key only in the query string is refused: query strings end up in logs.
        return deny(Code::Invalid, None);
    };
    let ip = text(headers, &REAL_IP)
        .or_else(|| text(headers, &FORWARDED_FOR).and_then(|v| v.split(',').next().map(str::trim)));
    let request = VerifyRequest {
        key: key.into(),
        api: text(headers, &API).map(Into::into),
        environment: text(headers, &ENVIRONMENT).map(Into::into),
        scopes: None,
        method: method.map(Into::into),
        path: uri.map(Into::into),
        ip: ip.map(Into::into),
    };
    match verifier.verify(&request, verifier.now()).await {
        Ok(allowed) => {
            let mut response = StatusCode::OK.into_response();
            let h = response.headers_mut();
            for (name, value) in allowed.forward_headers() {
                h.insert(name.clone(), value.clone());
            }
            response
        }
        Err(denied) => deny(denied.code, denied.retry_after),
    }
}
