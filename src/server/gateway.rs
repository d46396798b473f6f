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
    bearer_in(headers.get(header::AUTHORIZATION))
}

fn bearer_in(authorization: Option<&HeaderValue>) -> Option<&str> {
    visible(authorization?)?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Parsed once, not on every answer.
const CODE: HeaderName = HeaderName::from_static("x-gatehouse-code");

/// A header value as text: what `HeaderValue::to_str` accepts (visible ASCII and tabs), checked
/// without stopping early so that many bytes are checked at a time.
fn visible(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let ok = bytes.iter().fold(true, |ok, &b| {
        ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    });
    if ok {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

fn text(value: Option<&HeaderValue>) -> Option<&str> {
    visible(value?).map(str::trim).filter(|v| !v.is_empty())
}

/// The headers forward-auth reads (each name's first value), found in one pass over the
/// request's instead of a hashed lookup each.
#[derive(Default)]
struct AuthzHeaders<'a> {
    authorization: Option<&'a HeaderValue>,
    gateway: Option<&'a HeaderValue>,
    api: Option<&'a HeaderValue>,
    environment: Option<&'a HeaderValue>,
    api_key: Option<&'a HeaderValue>,
    original_uri: Option<&'a HeaderValue>,
    forwarded_uri: Option<&'a HeaderValue>,
    original_method: Option<&'a HeaderValue>,
    forwarded_method: Option<&'a HeaderValue>,
    real_ip: Option<&'a HeaderValue>,
    forwarded_for: Option<&'a HeaderValue>,
}

impl<'a> AuthzHeaders<'a> {
    fn of(headers: &'a HeaderMap) -> Self {
        let mut found = Self::default();
        for (name, value) in headers {
            let slot = match name.as_str() {
                "authorization" => &mut found.authorization,
                "x-gatehouse-gateway" => &mut found.gateway,
                "x-gatehouse-api" => &mut found.api,
                "x-gatehouse-environment" => &mut found.environment,
                "x-api-key" => &mut found.api_key,
                "x-original-uri" => &mut found.original_uri,
                "x-forwarded-uri" => &mut found.forwarded_uri,
                "x-original-method" => &mut found.original_method,
                "x-forwarded-method" => &mut found.forwarded_method,
                "x-real-ip" => &mut found.real_ip,
                "x-forwarded-for" => &mut found.forwarded_for,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        found
    }
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
    // One check that the whole body is UTF-8, then a parse that need not check each string again.
    let Ok(body) = std::str::from_utf8(&body) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": "Not a verify request: the body is not UTF-8 text.", "status": 400 }),
        );
    };
    let request: VerifyRequest = match serde_json::from_str(body) {
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
    let found = AuthzHeaders::of(headers);
    let Some(credential) = text(found.gateway) else {
        return deny(Code::Invalid, None);
    };
    match verifier.gateway(credential).await {
        Ok(_) => {}
        Err(Code::Unavailable) => return deny(Code::Unavailable, None),
        Err(_) => return deny(Code::Invalid, None),
    }
    let uri = text(found.original_uri).or_else(|| text(found.forwarded_uri));
    let method = text(found.original_method).or_else(|| text(found.forwarded_method));
    let key = bearer_in(found.authorization).or_else(|| text(found.api_key));
    let Some(key) = key else {
        // A key only in the query string is refused: query strings end up in logs.
        return deny(Code::Invalid, None);
    };
    let ip = text(found.real_ip)
        .or_else(|| text(found.forwarded_for).and_then(|v| v.split(',').next().map(str::trim)));
    let request = VerifyRequest {
        key: key.into(),
        api: text(found.api).map(Into::into),
        environment: text(found.environment).map(Into::into),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_what_to_str_accepts() {
        for b in 0..=255u8 {
            for bytes in [vec![b], vec![b'a', b, b'z'], vec![b; 40]] {
                if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                    assert_eq!(visible(&value), value.to_str().ok(), "byte {b:#04x}");
                }
            }
        }
    }

    #[test]
    fn forward_auth_headers_are_each_names_first_value() {
        let mut headers = HeaderMap::new();
        headers.append("x-real-ip", HeaderValue::from_static("10.0.0.1"));
        headers.append("user-agent", HeaderValue::from_static("nginx"));
        headers.append("x-real-ip", HeaderValue::from_static("10.0.0.2"));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer k"));
        headers.append("X-Gatehouse-Api", HeaderValue::from_static(" pets "));
        let found = AuthzHeaders::of(&headers);
        assert_eq!(text(found.real_ip), Some("10.0.0.1"));
        assert_eq!(bearer_in(found.authorization), Some("k"));
        assert_eq!(text(found.api), Some("pets"));
        assert_eq!(text(found.forwarded_for), None);
        assert_eq!(text(found.gateway), None);
    }
}
