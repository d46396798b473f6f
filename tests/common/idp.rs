//! An identity provider for tests, started on loopback: discovery, keys and a token endpoint
//! that insists on client authentication, single-use codes and PKCE, as real ones do. Unlike a
//! real one it can be told to misbehave (a foreign key, rotated keys, any claims).
#![allow(dead_code)]

use super::web::{Reply, SAME_ORIGIN, get, post_form, send};
use super::{NOW, TestStore, app_state, config};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get as get_route, post};
use gatehouse::server::http::router;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "gatehouse-test";
pub const CLIENT_SECRET: &str = "a-client-secret-of-at-least-32-characters";

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/oidc/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn jwk(name: &str) -> Jwk {
    serde_json::from_str(&fixture(&format!("{name}.jwk.json"))).unwrap()
}

pub fn sign(key: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(fixture(&format!("{key}.pem")).as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Default)]
pub struct Idp {
    /// Which fixture key signs, and which keys /jwks publishes.
    pub signing_key: String,
    pub published: Vec<String>,
    /// Code → (PKCE challenge, ID token).
    pub codes: HashMap<String, (String, String)>,
    pub used: Vec<String>,
    pub jwks_fetches: u32,
}

pub struct TestIdp {
    pub issuer: String,
    pub state: Arc<Mutex<Idp>>,
}

async fn discovery(State((issuer, _)): State<(String, Arc<Mutex<Idp>>)>) -> axum::Json<Value> {
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State((_, idp)): State<(String, Arc<Mutex<Idp>>)>) -> axum::Json<Value> {
    let mut idp = idp.lock().unwrap();
    idp.jwks_fetches += 1;
    let keys: Vec<Value> = idp
        .published
        .iter()
        .map(|k| serde_json::from_str(&fixture(&format!("{k}.jwk.json"))).unwrap())
        .collect();
    axum::Json(json!({ "keys": keys }))
}

/// A token endpoint that insists on what a real provider insists on: client authentication,
/// single-use codes and the PKCE verifier.
async fn token(
    State((_, idp)): State<(String, Arc<Mutex<Idp>>)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, axum::Json<Value>) {
    use base64::Engine;
    let invalid = |e: &str| (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": e })));
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&expected_auth) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": "invalid_client" })),
        );
    }
    let mut idp = idp.lock().unwrap();
    let code = form.get("code").cloned().unwrap_or_default();
    if idp.used.contains(&code) {
        return invalid("invalid_grant");
    }
    let Some((challenge, id_token)) = idp.codes.get(&code).cloned() else {
        return invalid("invalid_grant");
    };
    let Some(verifier) = form.get("code_verifier") else {
        return invalid("invalid_grant");
    };
    if b64(&Sha256::digest(verifier.as_bytes())) != challenge {
        return invalid("invalid_grant");
    }
    idp.used.push(code);
    (
        StatusCode::OK,
        axum::Json(json!({
            "access_token": "opaque", "token_type": "Bearer", "expires_in": 60, "id_token": id_token,
        })),
    )
}

pub async fn start_idp() -> TestIdp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(Idp {
        signing_key: "key-a".into(),
        published: vec!["key-a".into()],
        ..Idp::default()
    }));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get_route(discovery))
        .route("/jwks", get_route(jwks))
        .route("/token", post(token))
        .with_state((issuer.clone(), state.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestIdp { issuer, state }
}

pub fn oidc_app(db: &TestStore, issuer: &str, extra: &[(&str, &str)]) -> Router {
    router(oidc_state(db, issuer, extra))
}

pub fn oidc_state(
    db: &TestStore,
    issuer: &str,
    extra: &[(&str, &str)],
) -> gatehouse::server::state::AppState {
    let mut settings = vec![
        ("GATEHOUSE_OIDC_ISSUER", issuer),
        ("GATEHOUSE_OIDC_CLIENT_ID", CLIENT_ID),
        ("GATEHOUSE_OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("GATEHOUSE_OIDC_NAME", "Acme SSO"),
        ("GATEHOUSE_OIDC_DEPARTMENT_CLAIM", "department"),
        ("GATEHOUSE_OIDC_MANAGER_CLAIM", "manager_email"),
    ];
    settings.extend_from_slice(extra);
    app_state(db.store.clone(), config(&db.dir, &settings))
}

/// What the app sent the browser to the provider with.
pub struct Outbound {
    pub cookie: String,
    pub state: String,
    pub nonce: String,
    pub challenge: String,
}

pub const LOGIN_COOKIE: &str = "gatehouse_login";

pub async fn begin(app: &Router, body: &str) -> Result<Outbound, Reply> {
    let reply = send(
        app,
        post_form("/auth/oidc/start", body.to_owned(), SAME_ORIGIN, None),
    )
    .await;
    if reply.status != StatusCode::SEE_OTHER || !reply.location().contains("/authorize?") {
        return Err(reply);
    }
    let url = oauth2::url::Url::parse(reply.location()).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        "http://127.0.0.1:3000/auth/oidc/callback"
    );
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);
    Ok(Outbound {
        cookie: reply.cookie(LOGIN_COOKIE).expect("a sign-in cookie"),
        state: q["state"].clone(),
        nonce: q["nonce"].clone(),
        challenge: q["code_challenge"].clone(),
    })
}

impl TestIdp {
    /// The provider's half of a sign-in: a code whose ID token carries these claims.
    pub fn issue(&self, out: &Outbound, claims: Value) -> String {
        let mut idp = self.state.lock().unwrap();
        let key = idp.signing_key.clone();
        let token = sign(&key, &key, &claims);
        let code = format!("code-{}", idp.codes.len());
        idp.codes
            .insert(code.clone(), (out.challenge.clone(), token));
        code
    }

    pub fn claims(&self, out: &Outbound, sub: &str, email: &str) -> Value {
        json!({
            "iss": self.issuer, "aud": CLIENT_ID, "sub": sub, "nonce": out.nonce,
            "iat": NOW, "exp": NOW + 300, "email": email, "email_verified": true,
            "name": "Signed In Name", "department": "Research",
        })
    }
}

pub async fn callback(app: &Router, query: &str, cookie: Option<&str>) -> Reply {
    send(app, get(&format!("/auth/oidc/callback?{query}"), cookie)).await
}

pub fn assert_refused(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(
        reply
            .location()
            .starts_with(&format!("/sign-in?error={reason}")),
        "expected {reason}, went to {}",
        reply.location()
    );
    assert!(
        reply.cookie("gatehouse_session").is_none(),
        "no session on refusal"
    );
}

/// A whole sign-in as a browser makes it: start at Gatehouse, the provider issues a code for
/// these claims (made from what the browser carried), come back with it.
pub async fn round_trip(
    app: &Router,
    idp: &TestIdp,
    start: &str,
    claims: impl FnOnce(&TestIdp, &Outbound) -> Value,
) -> Reply {
    let out = begin(app, start).await.ok().expect("the sign-in starts");
    let code = idp.issue(&out, claims(idp, &out));
    callback(
        app,
        &format!("code={code}&state={}", out.state),
        Some(&out.cookie),
    )
    .await
}
