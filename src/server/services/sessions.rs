//! Server-side sessions. The browser holds 256 random bits; the store holds their SHA-256, so a
//! leaked table grants nothing. Every kind of sign-in (development list, OpenID Connect, local
//! password) ends in [`start`].

use crate::model::{DevPerson, SignInOptions};
use crate::server::actor::Actor;
use crate::server::db::{self, Store, sessions::NewSession};
use crate::server::error::ServiceError;
use crate::server::secrets::{encode_hex, random_hex};
use sha2::{Digest, Sha256};
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

fn hash(token: &str) -> String {
    encode_hex(&Sha256::digest(token.as_bytes()))
}

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
    if db::people::find_active_actor(store.pool(), person_id, now)
        .await?
        .is_none()
    {
        return Err(ServiceError::Forbidden);
    }
    let token = random_hex(32);
    let expires_at = now + timeouts.lifetime.as_secs() as i64;
    db::sessions::insert(
        store.pool(),
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
    if !well_formed(token) {
        return Ok(None);
    }
    let id_hash = hash(token);
    let Some(session) = db::sessions::find(store.pool(), &id_hash).await? else {
        return Ok(None);
    };
    let idle = timeouts.idle.as_secs() as i64;
    if now >= session.expires_at || now >= session.last_seen_at + idle || now < session.created_at {
        db::sessions::delete(store.pool(), &id_hash).await?;
        return Ok(None);
    }
    let Some(actor) = db::people::find_active_actor(store.pool(), session.person_id, now).await?
    else {
        db::sessions::delete(store.pool(), &id_hash).await?;
        return Ok(None);
    };
    // Write at most once a minute per session, not on every request.
    if now - session.last_seen_at >= 60 {
        db::sessions::touch(store.pool(), &id_hash, now).await?;
    }
    Ok(Some(actor))
}

/// Signs out: the session is deleted server-side, so the old cookie stops working everywhere.
pub async fn end(store: &Store, token: &str) -> Result<(), ServiceError> {
    if well_formed(token) {
        db::sessions::delete(store.pool(), &hash(token)).await?;
    }
    Ok(())
}

/// What the sign-in page offers. The development list is present only when it is enabled.
pub async fn sign_in_options(
    store: &Store,
    dev_login: bool,
    now: i64,
) -> Result<SignInOptions, ServiceError> {
    let dev_people: Option<Vec<DevPerson>> = if dev_login {
        Some(db::people::list_active_people(store.pool(), now).await?)
    } else {
        None
    };
    Ok(SignInOptions { dev_people })
}
