//! Server-side sessions. The browser holds 256 random bits; the store holds their SHA-256, so a
//! leaked table grants nothing. Every kind of sign-in (development list, OpenID Connect, local
//! password) ends in [`start`].

use crate::model::{DevPerson, SessionView, SignInOptions};
use crate::server::actor::Actor;
use crate::server::authz::EndSessionsOf;
use crate::server::db::{self, Store, sessions::NewSession};
use crate::server::error::ServiceError;
use crate::server::secrets::random_hex;
use crate::server::services::audit::{self, Action, Event, Who};
use std::time::Duration;

/// How a person signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Dev,
    Oidc,
    Password,
}

impl AuthMethod {
    fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Dev => "dev",
            AuthMethod::Oidc => "oidc",
            AuthMethod::Password => "password",
        }
    }
}

/// Idle timeout and absolute lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub idle: Duration,
    pub lifetime: Duration,
}

/// A new session's id, to be set as the cookie. Shown to the browser only.
pub struct NewSessionId {
    pub token: String,
    pub expires_at: i64,
}

/// Where the request came from, kept with the session for the person's session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

use crate::server::secrets::sha256_hex as hash;

/// A session token is 64 lowercase hex digits; anything else is refused without a lookup.
fn well_formed(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Starts a session for a person who has just proven who they are. A fresh id every time, so a
/// session id planted before sign-in is worthless afterwards.
pub async fn start(
    store: &Store,
    person_id: i64,
    method: AuthMethod,
    timeouts: Timeouts,
    client: &ClientInfo,
    now: i64,
) -> Result<NewSessionId, ServiceError> {
    let Some(actor) = db::people::find_active_actor(store.pool(), person_id, now).await? else {
        let event = Event {
            who: Who::Other("anonymous".into()),
            action: Action::SignInFailed,
            target_kind: "person",
            target_id: person_id.to_string(),
            details: serde_json::json!({ "method": method.as_str(), "reason": "unknown, deactivated or past the contract end" }),
            ip: client.ip.clone(),
        };
        audit::record_alone(store, &event, now).await?;
        return Err(ServiceError::Forbidden);
    };
    let token = random_hex(32);
    let expires_at = now + timeouts.lifetime.as_secs() as i64;
    // The session and its audit event commit together; the append is the first write.
    let mut tx = store.pool().begin().await?;
    let event = Event {
        who: Who::actor(&actor),
        action: Action::SignIn,
        target_kind: "person",
        target_id: person_id.to_string(),
        details: serde_json::json!({ "method": method.as_str() }),
        ip: client.ip.clone(),
    };
    audit::record(&mut tx, &event, now).await?;
    db::sessions::insert(
        &mut tx,
        NewSession {
            id_hash: &hash(&token),
            person_id,
            auth_method: method.as_str(),
            now,
            expires_at,
            ip: client.ip.as_deref(),
            user_agent: client
                .user_agent
                .as_deref()
                .map(|ua| &ua[..ua.floor_char_boundary(256)]),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewSessionId { token, expires_at })
}

/// The person behind a session token, if the session is live: within its absolute lifetime,
/// used within the idle timeout, and its person still allowed to act. A dead session is deleted.
pub async fn resolve(
    store: &Store,
    token: &str,
    timeouts: Timeouts,
    now: i64,
) -> Result<Option<Actor>, ServiceError> {
    Ok(resolve_with_window(store, token, timeouts, now)
        .await?
        .map(|(actor, _)| actor))
}

/// Until when a live session may be taken as live without reading it again (the page cache's
/// answers rely on it): never past its absolute end or its idle end, nor past the time its
/// `last_seen_at` is next due to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionWindow {
    pub live_until: i64,
}

/// [`resolve`], with the session's [`SessionWindow`].
pub async fn resolve_with_window(
    store: &Store,
    token: &str,
    timeouts: Timeouts,
    now: i64,
) -> Result<Option<(Actor, SessionWindow)>, ServiceError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let id_hash = hash(token);
    let Some((session, actor)) =
        db::people::find_session_actor(store.pool(), &id_hash, now).await?
    else {
        return Ok(None);
    };
    let idle = timeouts.idle.as_secs() as i64;
    if now >= session.expires_at || now >= session.last_seen_at + idle || now < session.created_at {
        db::sessions::delete(store.pool(), &id_hash).await?;
        return Ok(None);
    }
    let Some(actor) = actor else {
        db::sessions::delete(store.pool(), &id_hash).await?;
        return Ok(None);
    };
    // Write at most once a minute per session, not on every request.
    let mut last_seen = session.last_seen_at;
    if now - last_seen >= TOUCH_EVERY {
        db::sessions::touch(store.pool(), &id_hash, now).await?;
        last_seen = now;
    }
    let window = SessionWindow {
        live_until: session
            .expires_at
            .min(last_seen.saturating_add(idle))
            .min(last_seen + TOUCH_EVERY),
    };
    Ok(Some((actor, window)))
}

/// How often (seconds) a session in use has its `last_seen_at` written.
const TOUCH_EVERY: i64 = 60;

/// Signs out: the session is deleted server-side, so the old cookie stops working everywhere.
/// Signing out of a session that no longer exists changes nothing and records nothing.
pub async fn end(
    store: &Store,
    token: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ServiceError> {
    if !well_formed(token) {
        return Ok(());
    }
    let mut tx = store.pool().begin().await?;
    let Some(person_id) = db::sessions::delete_returning_person(&mut tx, &hash(token)).await?
    else {
        return Ok(());
    };
    let label: Option<String> = sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut *tx)
        .await?;
    let event = Event {
        who: Who::Person {
            id: person_id,
            label: label.unwrap_or_default(),
        },
        action: Action::SignOut,
        target_kind: "person",
        target_id: person_id.to_string(),
        details: serde_json::json!({}),
        ip: client.ip.clone(),
    };
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a person ("sign out everywhere", or an admin locking someone out).
/// Returns how many ended. Holding the capability is the authorization.
pub async fn end_all(
    store: &Store,
    actor: &Actor,
    cap: &EndSessionsOf,
    client: &ClientInfo,
    now: i64,
) -> Result<u64, ServiceError> {
    let mut tx = store.pool().begin().await?;
    let ended = db::sessions::delete_all_for(&mut tx, cap).await?;
    let event = Event {
        who: Who::actor(actor),
        action: Action::SessionsEnded,
        target_kind: "person",
        target_id: cap.person_id().to_string(),
        details: serde_json::json!({ "sessions": ended, "by_admin": cap.by_admin() }),
        ip: client.ip.clone(),
    };
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(ended)
}

/// The person's live sessions, marking the one this request came with.
pub async fn list_live(
    store: &Store,
    person_id: i64,
    current_token: Option<&str>,
    timeouts: Timeouts,
    now: i64,
) -> Result<Vec<SessionView>, ServiceError> {
    let current = current_token.filter(|t| well_formed(t)).map(hash);
    let rows =
        db::sessions::list_live(store.pool(), person_id, timeouts.idle.as_secs() as i64, now)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionView {
            current: current.as_deref() == Some(r.id_hash.as_str()),
            started_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            method: r.auth_method,
            user_agent: r.user_agent,
        })
        .collect())
}

/// What the sign-in page offers. The development list is present only when it is enabled.
pub async fn sign_in_options(
    store: &Store,
    dev_login: bool,
    provider_name: Option<String>,
    local_passwords: bool,
    now: i64,
) -> Result<SignInOptions, ServiceError> {
    let dev_people: Option<Vec<DevPerson>> = if dev_login {
        Some(db::people::list_active_people(store.pool(), now).await?)
    } else {
        None
    };
    Ok(SignInOptions {
        dev_people,
        provider_name,
        local_passwords,
    })
}
