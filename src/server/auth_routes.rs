//! Sign-in over HTTP: company sign-in through the OpenID Connect provider (start and callback),
//! local passwords for invited contractors where allowed, and accepting an invitation with one.
//! Every failure lands on the sign-in page with a reason and no session.

use super::edge;
use super::oidc::ProviderError;
use super::services::sessions::{self, AuthMethod};
use super::services::sign_in::{self, Identity, Refusal};
use super::state::AppState;
use crate::domain::url::{encode_component, safe_local_path};
use crate::model::SignInError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/start", post(oidc_start))
        .route(super::oidc::CALLBACK_PATH, get(oidc_callback))
        .route("/auth/password", post(password_sign_in))
        .route("/auth/invitations/accept", post(accept_with_password))
}

const SECURE_LOGIN_COOKIE: &str = "__Host-gatehouse-login";
const DEV_LOGIN_COOKIE: &str = "gatehouse_login";

fn login_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        SECURE_LOGIN_COOKIE
    } else {
        DEV_LOGIN_COOKIE
    }
}

fn login_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    // Lax: the cookie must come along on the provider's top-level redirect back to us.
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        login_cookie_name(state)
    )
}

/// Back to the sign-in page with the reason, the sign-in cookie cleared, nothing signed in.
fn refused_page(state: &AppState, reason: SignInError, next: Option<&str>) -> Response {
    let mut target = format!("/sign-in?error={}", reason.as_str());
    if let Some(next) = next.filter(|n| *n != "/") {
        target.push_str("&next=");
        target.push_str(&encode_component(next));
    }
    let mut response = Redirect::to(&target).into_response();
    // An answer with another sign-in's `state` leaves this browser's own sign-in, cookie
    // included, to finish; any other refusal ends it.
    if reason != SignInError::State
        && let Ok(cookie) = header::HeaderValue::from_str(&login_cookie(state, "", 0))
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The session is made: set its cookie, drop the sign-in cookie, go where the person was headed.
async fn start_session(
    state: &AppState,
    person_id: i64,
    method: AuthMethod,
    headers: &HeaderMap,
    target: &str,
) -> Response {
    let now = state.clock.now();
    match sessions::start(
        &state.store,
        person_id,
        method,
        edge::timeouts(&state.config),
        &edge::client_info(headers),
        now,
    )
    .await
    {
        Ok(session) => {
            let mut response = Redirect::to(target).into_response();
            let cookies = response.headers_mut();
            if let Ok(v) =
                edge::session_cookie(&state.config, &session.token, session.expires_at - now)
                    .parse()
            {
                cookies.append(header::SET_COOKIE, v);
            }
            if let Ok(v) = login_cookie(state, "", 0).parse() {
                cookies.append(header::SET_COOKIE, v);
            }
            response
        }
        Err(super::error::ServiceError::Forbidden) => {
            refused_page(state, SignInError::Inactive, None)
        }
        Err(err) => {
            tracing::error!(error = %err, "could not start a session");
            refused_page(state, SignInError::Provider, None)
        }
    }
}

#[derive(Deserialize)]
struct StartForm {
    next: Option<String>,
    invitation: Option<String>,
}

/// Sends the browser to the provider, with a fresh sign-in bound to this browser by a cookie.
async fn oidc_start(State(state): State<AppState>, Form(form): Form<StartForm>) -> Response {
    let Some(provider) = state.oidc.clone() else {
        return refused_page(&state, SignInError::Disabled, None);
    };
    let now = state.clock.now();
    let next = form
        .next
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("/");
    let invitation = form.invitation.as_deref().filter(|t| !t.trim().is_empty());
    let login = match sign_in::begin(&state.store, next, invitation, now).await {
        Ok(login) => login,
        Err(Refusal::Refused(reason)) => return refused_page(&state, reason, Some(next)),
        Err(Refusal::Store(e)) => {
            tracing::error!(error = %e, "could not start a sign-in");
            return refused_page(&state, SignInError::Provider, Some(next));
        }
    };
    match provider
        .authorization_url(&login.state, &login.nonce, &login.secret, now)
        .await
    {
        Ok(url) => (
            [(
                header::SET_COOKIE,
                login_cookie(&state, &login.secret, sign_in::LOGIN_TTL),
            )],
            Redirect::to(&url),
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "the identity provider is not usable");
            refused_page(&state, SignInError::Provider, Some(next))
        }
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider's answer. The sign-in it belongs to is used up at once; then the code is traded
/// for tokens, the ID token verified, and the person found.
async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(provider) = state.oidc.clone() else {
        return refused_page(&state, SignInError::Disabled, None);
    };
    let now = state.clock.now();
    let ip = edge::client_info(&headers).ip;
    let secret = edge::cookie(&headers, login_cookie_name(&state));
    let refuse = |reason: SignInError, next: Option<&str>| {
        let state = state.clone();
        let ip = ip.clone();
        let next = next.map(str::to_owned);
        async move {
            sign_in::record_refusal(&state.store, reason, "anonymous", "oidc", ip, now).await;
            refused_page(&state, reason, next.as_deref())
        }
    };
    let login = match sign_in::take(
        &state.store,
        secret.as_deref(),
        callback.state.as_deref(),
        now,
    )
    .await
    {
        Ok(login) => login,
        Err(Refusal::Refused(reason)) => return refuse(reason, None).await,
        Err(Refusal::Store(e)) => {
            tracing::error!(error = %e, "could not read the sign-in");
            return refused_page(&state, SignInError::Provider, None);
        }
    };
    let next = Some(login.return_to.as_str());
    if let Some(error) = callback.error.as_deref() {
        let reason = if error == "access_denied" || error == "consent_required" {
            SignInError::Denied
        } else {
            SignInError::Provider
        };
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "the identity provider returned an error");
        return refuse(reason, next).await;
    }
    let Some(code) = callback.code.as_deref().filter(|c| !c.is_empty()) else {
        return refuse(SignInError::Provider, next).await;
    };
    let Some(secret) = secret else {
        return refuse(SignInError::Expired, next).await;
    };
    let claims = match provider.exchange(code, &secret, &login.nonce, now).await {
        Ok(claims) => claims,
        Err(err) => {
            tracing::warn!(error = %err, "company sign-in failed");
            let reason = match err {
                ProviderError::Unavailable(_) | ProviderError::Misconfigured(_) => {
                    SignInError::Provider
                }
                _ => SignInError::Token,
            };
            return refuse(reason, next).await;
        }
    };
    let mapping = &provider.config().claims;
    let identity = Identity {
        issuer: provider.issuer().to_owned(),
        subject: claims.subject.clone(),
        email: claims.text(&mapping.email).map(str::to_lowercase),
        email_verified: !claims.email_not_verified(),
        name: claims.text(&mapping.name).map(str::to_owned),
        department: mapping
            .department
            .as_deref()
            .and_then(|c| claims.text(c))
            .map(str::to_owned),
        manager_email: mapping
            .manager_email
            .as_deref()
            .and_then(|c| claims.text(c))
            .map(str::to_owned),
    };
    match sign_in::complete_oidc(
        &state.store,
        &identity,
        login.invitation_id,
        &provider.config().employee_domains,
        now,
    )
    .await
    {
        Ok(person_id) => {
            start_session(
                &state,
                person_id,
                AuthMethod::Oidc,
                &headers,
                &login.return_to,
            )
            .await
        }
        Err(Refusal::Refused(reason)) => {
            let who = identity.email.as_deref().unwrap_or("anonymous");
            sign_in::record_refusal(&state.store, reason, who, "oidc", ip, now).await;
            refused_page(&state, reason, next)
        }
        Err(Refusal::Store(e)) => {
            tracing::error!(error = %e, "could not complete a sign-in");
            refused_page(&state, SignInError::Provider, next)
        }
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Email and local password, for contractors where the company allows it.
async fn password_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let next = form
        .next
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("/")
        .to_owned();
    if !state.config.local_passwords {
        return refused_page(&state, SignInError::Disabled, Some(&next));
    }
    let now = state.clock.now();
    match sign_in::with_password(&state.store, &form.email, &form.password, now).await {
        Ok(person_id) => {
            start_session(&state, person_id, AuthMethod::Password, &headers, &next).await
        }
        Err(Refusal::Refused(reason)) => {
            let who = form.email.trim().to_lowercase();
            // Refusals while throttled are recorded apart, so they do not extend the lock.
            let method = if reason == SignInError::Throttled {
                "password-throttled"
            } else {
                "password"
            };
            sign_in::record_refusal(
                &state.store,
                reason,
                &who,
                method,
                edge::client_info(&headers).ip,
                now,
            )
            .await;
            refused_page(&state, reason, Some(&next))
        }
        Err(Refusal::Store(e)) => {
            tracing::error!(error = %e, "password sign-in failed");
            refused_page(&state, SignInError::Provider, Some(&next))
        }
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    token: String,
    name: String,
    password: String,
}

/// Accepts an invitation by choosing a local password, then signs the contractor in.
async fn accept_with_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AcceptForm>,
) -> Response {
    let back = |reason: SignInError| {
        Redirect::to(&format!(
            "/invitations/{}?error={}",
            encode_component(form.token.trim()),
            reason.as_str()
        ))
        .into_response()
    };
    if !state.config.local_passwords {
        return back(SignInError::Disabled);
    }
    let now = state.clock.now();
    match sign_in::accept_with_password(&state.store, &form.token, &form.name, &form.password, now)
        .await
    {
        Ok(person_id) => {
            start_session(&state, person_id, AuthMethod::Password, &headers, "/").await
        }
        Err(Refusal::Refused(reason)) => back(reason),
        Err(Refusal::Store(e)) => {
            tracing::error!(error = %e, "could not accept an invitation");
            back(SignInError::Provider)
        }
    }
}
