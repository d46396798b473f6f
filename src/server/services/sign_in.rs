//! Deciding who a sign-in stands for. The identity provider proves a subject; this service finds
//! the person bound to it (or binds one found by email, accepts an invitation, or creates an
//! employee from a company domain) and refuses everyone who may not act. Local passwords, where
//! the company allows them, end here too. Sessions are started by `sessions::start` afterwards.

use crate::model::{PersonKind, SignInError};
use crate::server::db::Store;
use crate::server::db::identity::{self as db, NewLogin, NewPerson, PersonCore};
use crate::server::error::ServiceError;
use crate::server::secrets::random_hex;
use crate::server::services::audit::{self, Action, Event, Who};

/// A sign-in in flight may take this long at the provider.
pub const LOGIN_TTL: i64 = 600;

/// Why a sign-in ended without a session, or the store failing.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0:?}")]
    Refused(SignInError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<ServiceError> for Refusal {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Store(e) => Refusal::Store(e),
            _ => Refusal::Refused(SignInError::Inactive),
        }
    }
}

fn refused(reason: SignInError) -> Refusal {
    Refusal::Refused(reason)
}

pub use crate::server::secrets::sha256_hex as hash;

/// What the browser carries to the provider and back. `secret` goes into the sign-in cookie.
pub struct PendingLogin {
    pub secret: String,
    pub state: String,
    pub nonce: String,
}

/// Starts a sign-in: a fresh secret, state and nonce, remembered (hashed) until the browser returns.
pub async fn begin(
    store: &Store,
    return_to: &str,
    invitation_token: Option<&str>,
    now: i64,
) -> Result<PendingLogin, Refusal> {
    let invitation_id = match invitation_token {
        Some(token) => {
            let mut conn = store.pool().acquire().await?;
            Some(usable_invitation(&mut conn, token, now).await?.id)
        }
        None => None,
    };
    let login = PendingLogin {
        secret: random_hex(32),
        state: random_hex(16),
        nonce: random_hex(16),
    };
    db::insert_login(
        store.pool(),
        NewLogin {
            id_hash: &hash(&login.secret),
            state: &login.state,
            nonce: &login.nonce,
            return_to,
            invitation_id,
            now,
            expires_at: now + LOGIN_TTL,
        },
    )
    .await?;
    Ok(login)
}

/// A sign-in that came back: used up now, whatever happens next.
pub struct ReturnedLogin {
    pub nonce: String,
    pub return_to: String,
    pub invitation_id: Option<i64>,
}

/// Takes the sign-in this browser started, once: a replayed callback finds nothing. No cookie,
/// an unknown or expired one: refused. A `state` that is not the one sent out: refused, and the
/// sign-in is left in place, so an answer forged into this browser does not cancel its own.
pub async fn take(
    store: &Store,
    secret: Option<&str>,
    state: Option<&str>,
    now: i64,
) -> Result<ReturnedLogin, Refusal> {
    let secret = secret.ok_or(refused(SignInError::Expired))?;
    let id_hash = hash(secret);
    let row = db::find_login(store.pool(), &id_hash)
        .await?
        .ok_or(refused(SignInError::Expired))?;
    if now >= row.expires_at {
        return Err(refused(SignInError::Expired));
    }
    let matches = state.is_some_and(|s| {
        crate::server::secrets::constant_time_eq(s.as_bytes(), row.state.as_bytes())
    });
    if !matches {
        return Err(refused(SignInError::State));
    }
    let row = db::take_login(store.pool(), &id_hash, &row.state)
        .await?
        .ok_or(refused(SignInError::Expired))?;
    Ok(ReturnedLogin {
        nonce: row.nonce,
        return_to: row.return_to,
        invitation_id: row.invitation_id,
    })
}

/// What the provider vouched for, already mapped from its claims.
#[derive(Clone, Debug)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// Lowercased.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub department: Option<String>,
    pub manager_email: Option<String>,
}

/// An invitation that can still be accepted.
pub async fn usable_invitation(
    conn: &mut sqlx::AnyConnection,
    token: &str,
    now: i64,
) -> Result<db::InvitationRow, Refusal> {
    let row = db::invitation_by_token_hash(conn, &hash(token.trim()))
        .await?
        .ok_or(refused(SignInError::Invitation))?;
    if row.accepted_at.is_some() || row.revoked_at.is_some() || now >= row.expires_at {
        return Err(refused(SignInError::Invitation));
    }
    Ok(row)
}

fn is_active(p: &PersonCore, now: i64) -> bool {
    p.deactivated_at.is_none()
        && (p.kind == "employee" || p.contract_ends_at.is_some_and(|e| e > now))
}

/// Finds or makes the person a verified identity stands for. Returns their id.
pub async fn complete_oidc(
    store: &Store,
    identity: &Identity,
    invitation_id: Option<i64>,
    employee_domains: &[String],
    now: i64,
) -> Result<i64, Refusal> {
    let mut tx = audit::write_tx(store).await?;
    let usable_email = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified);
    let mut person = db::person_by_subject(&mut tx, &identity.issuer, &identity.subject).await?;
    if person.is_none()
        && let Some(email) = usable_email
    {
        person = match db::person_by_email(&mut tx, email).await? {
            // Someone already bound to another subject is not taken over by a second account.
            Some(p) if p.oidc_subject.is_some() => return Err(refused(SignInError::Unknown)),
            other => other,
        };
    }

    let person_id = if let Some(invitation_id) = invitation_id {
        let invitation = db::invitation_by_id(&mut tx, invitation_id)
            .await?
            .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && now < i.expires_at)
            .ok_or(refused(SignInError::Invitation))?;
        // The link may have been forwarded: it works only for the address it was sent to.
        if usable_email != Some(invitation.email.as_str()) {
            return Err(refused(if identity.email_verified {
                SignInError::InvitationEmail
            } else {
                SignInError::Unverified
            }));
        }
        let name = identity.name.as_deref().unwrap_or(&invitation.email);
        accept(
            &mut tx,
            &invitation,
            person.as_ref(),
            name,
            None,
            "oidc",
            now,
        )
        .await?
    } else if let Some(p) = &person {
        p.id
    } else {
        // Nobody known: an employee of a configured company domain is created; anyone else
        // (a guest account without an invitation, say) is refused.
        let email = usable_email.ok_or(refused(if identity.email.is_some() {
            SignInError::Unverified
        } else {
            SignInError::Unknown
        }))?;
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        if !employee_domains.iter().any(|d| d == domain) {
            return Err(refused(SignInError::Unknown));
        }
        let name = identity.name.as_deref().unwrap_or(email);
        let id = db::insert_person(
            &mut tx,
            NewPerson {
                email,
                name,
                kind: PersonKind::Employee.as_str(),
                sponsor_id: None,
                company: None,
                department: identity.department.as_deref(),
                contract_ends_at: None,
                oidc_issuer: None,
                oidc_subject: None,
                password_hash: None,
                external_id: None,
                now,
            },
        )
        .await?;
        audit::record(
            &mut tx,
            &Event {
                who: Who::Other(format!("identity provider {}", identity.issuer)),
                action: Action::PersonCreated,
                target_kind: "person",
                target_id: id.to_string(),
                details: serde_json::json!({ "email": email, "kind": "employee", "source": "oidc" }),
                ip: None,
            },
            now,
        )
        .await?;
        id
    };

    let current = db::person_by_id(&mut tx, person_id)
        .await?
        .ok_or(refused(SignInError::Unknown))?;
    if !is_active(&current, now) {
        return Err(refused(SignInError::Inactive));
    }
    if current.oidc_subject.is_none() {
        db::bind_subject(&mut tx, person_id, &identity.issuer, &identity.subject, now).await?;
        audit::record(
            &mut tx,
            &Event {
                who: Who::Other(format!("identity provider {}", identity.issuer)),
                action: Action::PersonUpdated,
                target_kind: "person",
                target_id: person_id.to_string(),
                details: serde_json::json!({
                    "bound_to": { "issuer": identity.issuer, "subject": identity.subject },
                }),
                ip: None,
            },
            now,
        )
        .await?;
    }
    // Claims keep the directory current. Department and manager matter for employees only.
    let employee = current.kind == "employee";
    let manager_id = match identity.manager_email.as_deref().filter(|_| employee) {
        Some(email) => match db::person_by_email(&mut tx, &email.to_lowercase()).await? {
            Some(m) if m.id != person_id && !db::would_cycle(&mut tx, person_id, m.id).await? => {
                Some(m.id)
            }
            _ => None,
        },
        None => None,
    };
    let name = identity.name.as_deref().unwrap_or(&current.name);
    db::update_from_claims(
        &mut tx,
        person_id,
        &name[..name.floor_char_boundary(200)],
        identity.department.as_deref().filter(|_| employee),
        manager_id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(person_id)
}

/// Accepts an invitation for the person it names: a new contractor, or a returning one whose
/// engagement is renewed. Employees need no invitation; someone deactivated stays deactivated.
/// The invitation is marked used in the same transaction, so it works exactly once.
async fn accept(
    tx: &mut sqlx::AnyConnection,
    invitation: &db::InvitationRow,
    existing: Option<&PersonCore>,
    name: &str,
    password_hash: Option<&str>,
    method: &str,
    now: i64,
) -> Result<i64, Refusal> {
    let person_id = match existing {
        Some(p) if p.kind == "employee" => return Err(refused(SignInError::Invitation)),
        // Deactivation is an admin's decision; an invitation does not undo it.
        Some(p) if p.deactivated_at.is_some() => return Err(refused(SignInError::Inactive)),
        Some(p) => {
            renew_contractor(tx, p.id, invitation, now).await?;
            if let Some(hash) = password_hash {
                sqlx::query("UPDATE people SET password_hash = $1, name = $2 WHERE id = $3")
                    .bind(hash)
                    .bind(name)
                    .bind(p.id)
                    .execute(&mut *tx)
                    .await?;
            }
            p.id
        }
        None => {
            db::insert_person(
                tx,
                NewPerson {
                    email: &invitation.email,
                    name,
                    kind: PersonKind::Contractor.as_str(),
                    sponsor_id: Some(invitation.sponsor_id),
                    company: Some(&invitation.company),
                    department: None,
                    contract_ends_at: Some(invitation.ends_at),
                    oidc_issuer: None,
                    oidc_subject: None,
                    password_hash,
                    external_id: None,
                    now,
                },
            )
            .await?
        }
    };
    if !db::accept_invitation(tx, invitation.id, person_id, now).await? {
        return Err(refused(SignInError::Invitation));
    }
    audit::record(
        tx,
        &Event {
            who: Who::Person {
                id: person_id,
                label: invitation.email.clone(),
            },
            action: Action::InvitationAccepted,
            target_kind: "invitation",
            target_id: invitation.id.to_string(),
            details: serde_json::json!({ "method": method, "ends_at": invitation.ends_at }),
            ip: None,
        },
        now,
    )
    .await?;
    Ok(person_id)
}

/// A returning contractor's new engagement: new end date, sponsor and company.
async fn renew_contractor(
    conn: &mut sqlx::AnyConnection,
    person_id: i64,
    invitation: &db::InvitationRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET contract_ends_at = $1, sponsor_id = $2, company = $3, updated_at = $4
         WHERE id = $5",
    )
    .bind(invitation.ends_at)
    .bind(invitation.sponsor_id)
    .bind(&invitation.company)
    .bind(now)
    .bind(person_id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2 parameters are valid"),
    )
}

/// At most this many argon2 computations (19 MiB each) run at once; the rest wait their turn,
/// so a flood of sign-in attempts cannot exhaust memory. A process-wide limit on a process-wide
/// resource, like the blocking thread pool it guards.
const HASHING_AT_ONCE: usize = 4;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);

/// Hashes a password off the async threads (it takes tens of milliseconds by design).
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|_| ServiceError::Invalid("could not hash the password".into()))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| ServiceError::Invalid("could not hash the password".into()))?
    .map_err(|_| ServiceError::Invalid("could not hash the password".into()))
}

async fn verify_password(password: String, stored: Option<String>) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    // Without a stored hash a dummy one is checked, so the answer takes as long either way and
    // does not reveal which emails have accounts.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0i4yDsfTCOgUUQjOjl2ofNVzFqhMPyU2T7QCcXd1eyY";
    let found = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY.to_owned());
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
        && found
}

/// A password people may choose: long enough to resist guessing, short enough to hash cheaply.
pub fn check_new_password(password: &str) -> Result<(), ServiceError> {
    let chars = password.chars().count();
    if chars < 12 {
        return Err(ServiceError::Invalid(
            "Choose a password of at least 12 characters.".into(),
        ));
    }
    if chars > 128 {
        return Err(ServiceError::Invalid(
            "A password may have at most 128 characters.".into(),
        ));
    }
    Ok(())
}

/// Failed password attempts allowed per email within [`THROTTLE_WINDOW`].
pub const THROTTLE_ATTEMPTS: i64 = 10;
pub const THROTTLE_WINDOW: i64 = 15 * 60;

/// Signs in with an email and a local password. Returns the person's id. After too many failed
/// attempts for one email in a short time, further attempts are refused unchecked for a while,
/// so a password cannot be guessed at speed. Each attempt is counted in the store every replica
/// shares before its password is checked, so a burst sent at once is counted as it arrives.
pub async fn with_password(
    store: &Store,
    email: &str,
    password: &str,
    now: i64,
) -> Result<i64, Refusal> {
    let email = email.trim().to_lowercase();
    let Some(attempt) = take_attempt(store, &email, now).await? else {
        return Err(refused(SignInError::Throttled));
    };
    let mut conn = store.pool().acquire().await?;
    let person = db::person_by_email(&mut conn, &email).await?;
    drop(conn);
    let stored = person.as_ref().and_then(|p| p.password_hash.clone());
    if !verify_password(password.to_owned(), stored).await {
        return Err(refused(SignInError::Password));
    }
    // The right password: this attempt does not count against the next ones.
    sqlx::query("DELETE FROM password_attempts WHERE id = $1")
        .bind(attempt)
        .execute(store.pool())
        .await?;
    let person = person.ok_or(refused(SignInError::Password))?;
    // Local passwords are for contractors only: employees sign in through the company's
    // identity provider (and its MFA), even if they once were contractors with a password.
    if person.kind != "contractor" {
        return Err(refused(SignInError::Password));
    }
    if !is_active(&person, now) {
        return Err(refused(SignInError::Inactive));
    }
    Ok(person.id)
}

/// Counts a password attempt for `email`, unless [`THROTTLE_ATTEMPTS`] were counted within
/// [`THROTTLE_WINDOW`]: then `None`, and nothing is counted (refusals while throttled do not
/// extend the lock). The count and the new row are one step: the transaction holds the audit
/// chain's head, which serializes it with every other writer on either store.
async fn take_attempt(store: &Store, email: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = audit::write_tx(store).await?;
    sqlx::query("DELETE FROM password_attempts WHERE attempted_at <= $1")
        .bind(now - THROTTLE_WINDOW)
        .execute(&mut *tx)
        .await?;
    let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM password_attempts WHERE email = $1")
        .bind(email)
        .fetch_one(&mut *tx)
        .await?;
    if recent >= THROTTLE_ATTEMPTS {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO password_attempts (email, attempted_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(email)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Accepts an invitation with a local password instead of the identity provider: the contractor
/// is created (or renewed) and may then sign in with their email and this password.
pub async fn accept_with_password(
    store: &Store,
    token: &str,
    name: &str,
    password: &str,
    now: i64,
) -> Result<i64, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Refusal::Refused(SignInError::Name));
    }
    if check_new_password(password).is_err() {
        return Err(Refusal::Refused(SignInError::WeakPassword));
    }
    // A cheap check first, so bogus tokens cost no hashing; checked again in the transaction.
    {
        let mut conn = store.pool().acquire().await?;
        usable_invitation(&mut conn, token, now).await?;
    }
    let password_hash = hash_password(password.to_owned()).await?;
    let mut tx = audit::write_tx(store).await?;
    let invitation = usable_invitation(&mut tx, token, now).await?;
    let existing = db::person_by_email(&mut tx, &invitation.email).await?;
    let person_id = accept(
        &mut tx,
        &invitation,
        existing.as_ref(),
        name,
        Some(&password_hash),
        "password",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(person_id)
}

/// Records a refused sign-in (the reason, never the secret that was tried).
pub async fn record_refusal(
    store: &Store,
    reason: SignInError,
    who: &str,
    method: &str,
    ip: Option<String>,
    now: i64,
) {
    let event = Event {
        who: Who::Other(who.chars().take(254).collect()),
        action: Action::SignInFailed,
        target_kind: "sign_in",
        target_id: method.to_owned(),
        details: serde_json::json!({ "method": method, "reason": reason.as_str() }),
        ip,
    };
    if let Err(err) = audit::record_alone(store, &event, now).await {
        tracing::error!(error = %err, "could not record a refused sign-in");
    }
}
