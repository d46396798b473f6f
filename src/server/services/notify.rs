//! Notifications: a row per person in the same transaction as the change it tells of (so nothing
//! is announced that did not happen, and nothing that happened goes untold), then delivered in
//! the background by email (SMTP) and to the owning team's webhook (Slack-compatible JSON,
//! signed with HMAC-SHA256, retried with backoff). Delivery never blocks a workflow: a failure is
//! logged, retried, and finally given up on, while the in-app notification stays.

use crate::model::{NotificationView, WebhookView};
use crate::server::actor::Actor;
use crate::server::authz;
use crate::server::config::{SmtpConfig, SmtpTls};
use crate::server::db::Store;
use crate::server::error::ServiceError;
use crate::server::secrets::{Secrets, encode_hex, random_hex};
use crate::server::services::audit::{self, Action, Event, Who};
use crate::server::state::Clock;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{AnyConnection, Row};
use std::time::Duration;

/// Attempts before a delivery is given up: about a day of backoff in all.
pub const MAX_ATTEMPTS: i64 = 8;

/// Seconds to wait after the `attempts`-th failure: 30 s, 2 min, 8 min, … capped at 6 h.
pub fn backoff(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 10) as u32 - 1;
    (30 * 4i64.pow(exp)).min(6 * 3600)
}

/// One thing to tell some people.
pub struct Note<'a> {
    pub people: &'a [i64],
    pub kind: &'a str,
    pub subject: String,
    pub body: String,
    /// A path inside Gatehouse (`/requests/12`); emails and webhooks make it absolute.
    pub link: String,
    /// The team whose webhook also hears of it, if any.
    pub team_event: Option<i64>,
}

/// Records a notification for each person (email due now) and, when the team has a webhook, a
/// delivery for it; inside the caller's transaction.
pub async fn note(conn: &mut AnyConnection, note: &Note<'_>, now: i64) -> Result<(), sqlx::Error> {
    for person in note.people {
        sqlx::query(
            "INSERT INTO notifications (person_id, kind, subject, body, link, created_at, email_due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(person)
        .bind(note.kind)
        .bind(&note.subject)
        .bind(&note.body)
        .bind(&note.link)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(team) = note.team_event {
        let webhook: Option<i64> =
            sqlx::query_scalar("SELECT id FROM team_webhooks WHERE team_id = $1")
                .bind(team)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(webhook) = webhook {
            let payload = serde_json::json!({
                "event": note.kind, "subject": note.subject, "body": note.body, "link": note.link,
                "at": now,
            });
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event, payload, created_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(webhook)
            .bind(note.kind)
            .bind(payload.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// In the app

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<NotificationView>, ServiceError> {
    let rows = sqlx::query(
        "SELECT id, kind, subject, body, link, created_at, read_at FROM notifications
         WHERE person_id = $1 ORDER BY id DESC LIMIT 100",
    )
    .bind(actor.person_id)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(NotificationView {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: r.try_get("link")?,
                created_at: r.try_get("created_at")?,
                read: r.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// How many notifications person `$1` has not read.
pub(crate) const UNREAD: &str =
    "SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND read_at IS NULL";

pub async fn unread(store: &Store, actor: &Actor) -> Result<i64, ServiceError> {
    Ok(sqlx::query_scalar(UNREAD)
        .bind(actor.person_id)
        .fetch_one(store.pool())
        .await?)
}

/// Marks the actor's notifications read: one, or all with `None`. Only their own.
pub async fn mark_read(
    store: &Store,
    actor: &Actor,
    id: Option<i64>,
    now: i64,
) -> Result<u64, ServiceError> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $3
         WHERE person_id = $1 AND read_at IS NULL AND ($2 = 0 OR id = $2)",
    )
    .bind(actor.person_id)
    .bind(id.unwrap_or(0))
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------------------------
// Team webhooks

/// The signing secret of a webhook, derived from the server's key and the row's salt.
fn webhook_secret(secrets: &Secrets, salt: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secrets.session_key.expose())
        .expect("HMAC takes keys of any length");
    mac.update(b"gatehouse-webhook:");
    mac.update(salt.as_bytes());
    format!("whsec_{}", encode_hex(&mac.finalize().into_bytes()))
}

/// The signature header's value for a body sent at `timestamp`: receivers recompute
/// HMAC-SHA256 over `"{timestamp}.{body}"` with the secret and compare.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "t={timestamp},v1={}",
        encode_hex(&mac.finalize().into_bytes())
    )
}

/// HTTPS anywhere, plain HTTP only to this machine; no credentials in the URL.
fn check_webhook_url(url: &str) -> Result<String, ServiceError> {
    let url = url.trim();
    let bad = |why: &str| ServiceError::Invalid(format!("The webhook URL {why}."));
    if url.len() > 2000 {
        return Err(bad("is longer than 2000 characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must use https")),
    }
    Ok(parsed.to_string())
}

async fn managed_team(
    store: &Store,
    actor: &Actor,
    team: &str,
) -> Result<authz::ManageTeam, ServiceError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE slug = $1")
        .bind(team)
        .fetch_optional(store.pool())
        .await?;
    let id = id.ok_or_else(|| ServiceError::NotFound("The team".into()))?;
    authz::manage_team(actor, id).ok_or(ServiceError::Forbidden)
}

pub async fn get_webhook(
    store: &Store,
    secrets: &Secrets,
    actor: &Actor,
    team: &str,
) -> Result<Option<WebhookView>, ServiceError> {
    let can = managed_team(store, actor, team).await?;
    Ok(
        webhooks_where(store, secrets, "w.team_id = $1", can.team_id())
            .await?
            .pop(),
    )
}

/// The webhooks of every team the actor manages (every team, for an admin).
pub async fn list_webhooks(
    store: &Store,
    secrets: &Secrets,
    actor: &Actor,
) -> Result<Vec<WebhookView>, ServiceError> {
    let mut all = webhooks_where(store, secrets, "$1 = $1", 0).await?;
    let ids: Vec<(String, i64)> = sqlx::query_as("SELECT slug, id FROM teams")
        .fetch_all(store.pool())
        .await?;
    all.retain(|w| {
        ids.iter()
            .any(|(slug, id)| *slug == w.team && authz::manage_team(actor, *id).is_some())
    });
    Ok(all)
}

async fn webhooks_where(
    store: &Store,
    secrets: &Secrets,
    condition: &str,
    param: i64,
) -> Result<Vec<WebhookView>, ServiceError> {
    let rows = sqlx::query(&format!(
        "SELECT w.url, w.secret_salt, w.created_at, t.slug,
                (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.failed_at IS NOT NULL) AS failures
         FROM team_webhooks w JOIN teams t ON t.id = w.team_id WHERE {condition} ORDER BY t.slug"
    ))
    .bind(param)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(WebhookView {
                team: r.try_get("slug")?,
                url: r.try_get("url")?,
                secret: webhook_secret(secrets, &r.try_get::<String, _>("secret_salt")?),
                created_at: r.try_get("created_at")?,
                recent_failures: r.try_get("failures")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Sets (or with `None` removes) a team's webhook. A new URL gets a new signing secret.
pub async fn set_webhook(
    store: &Store,
    actor: &Actor,
    team: &str,
    url: Option<&str>,
    now: i64,
) -> Result<(), ServiceError> {
    let can = managed_team(store, actor, team).await?;
    let url = url.map(check_webhook_url).transpose()?;
    let mut tx = audit::write_tx(store).await?;
    match &url {
        Some(url) => {
            sqlx::query(
                "INSERT INTO team_webhooks (team_id, url, secret_salt, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (team_id) DO UPDATE SET url = $2, secret_salt = $3, created_by = $4, updated_at = $5",
            )
            .bind(can.team_id())
            .bind(url)
            .bind(random_hex(16))
            .bind(actor.person_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM team_webhooks WHERE team_id = $1")
                .bind(can.team_id())
                .execute(&mut *tx)
                .await?;
        }
    }
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::WebhookChanged,
            target_kind: "team",
            target_id: team.to_owned(),
            details: serde_json::json!({ "url": url }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// A table of deliveries: rows due at a time, each claimed by one replica for a minute before it
/// is attempted, so replicas never attempt one row at once.
struct Queue {
    table: &'static str,
    due_at: &'static str,
    claimed_until: &'static str,
}

const EMAILS: Queue = Queue {
    table: "notifications",
    due_at: "email_due_at",
    claimed_until: "email_claimed_until",
};

const WEBHOOKS: Queue = Queue {
    table: "webhook_deliveries",
    due_at: "next_attempt_at",
    claimed_until: "claimed_until",
};

impl Queue {
    async fn due(&self, store: &Store, now: i64) -> Result<Vec<i64>, sqlx::Error> {
        let Queue {
            table,
            due_at,
            claimed_until,
        } = self;
        sqlx::query_scalar(&format!(
            "SELECT id FROM {table} WHERE {due_at} <= $1
               AND ({claimed_until} IS NULL OR {claimed_until} < $1) ORDER BY id LIMIT 100"
        ))
        .bind(now)
        .fetch_all(store.pool())
        .await
    }

    async fn claim(&self, store: &Store, id: i64, now: i64) -> Result<bool, sqlx::Error> {
        let Queue {
            table,
            due_at,
            claimed_until,
        } = self;
        let claimed = sqlx::query(&format!(
            "UPDATE {table} SET {claimed_until} = $2
             WHERE id = $1 AND {due_at} IS NOT NULL AND ({claimed_until} IS NULL OR {claimed_until} < $3)"
        ))
        .bind(id)
        .bind(now + 60)
        .bind(now)
        .execute(store.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }
}

/// Sends notification emails over SMTP.
pub struct Mailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
        use lettre::AsyncSmtpTransport;
        use lettre::transport::smtp::authentication::Credentials;
        let builder = match config.tls {
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<lettre::Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| e.to_string())?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<lettre::Tokio1Executor>::relay(&config.host)
                .map_err(|e| e.to_string())?,
            SmtpTls::None => {
                AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&config.host)
            }
        };
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(15)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let from = config
            .from
            .parse()
            .map_err(|e| format!("GATEHOUSE_SMTP_FROM: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    async fn send(&self, to: &str, name: &str, subject: &str, text: String) -> Result<(), String> {
        use lettre::AsyncTransport;
        let to = lettre::message::Mailbox::new(
            Some(name.to_owned()),
            to.parse().map_err(|e| format!("recipient: {e}"))?,
        );
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// What one delivery pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
}

/// Sends the emails that are due. Each is claimed for a minute first, so two replicas never send
/// one twice while both are alive. The claim runs from the clock's time when it is taken, not
/// from the pass's start: a pass slowed by a slow mail server would otherwise claim its later
/// emails for a minute already gone, and another replica's pass would send them too. `origin`
/// makes links absolute.
pub async fn deliver_emails(
    store: &Store,
    mailer: &Mailer,
    origin: &str,
    clock: &Clock,
) -> Result<Delivered, ServiceError> {
    let mut done = Delivered::default();
    for id in EMAILS.due(store, clock.now()).await? {
        let now = clock.now();
        if !EMAILS.claim(store, id, now).await? {
            continue;
        }
        let r = sqlx::query(
            "SELECT n.subject, n.body, n.link, n.email_attempts, p.email, p.name, p.deactivated_at
             FROM notifications n JOIN people p ON p.id = n.person_id WHERE n.id = $1",
        )
        .bind(id)
        .fetch_one(store.pool())
        .await?;
        if r.try_get::<Option<i64>, _>("deactivated_at")?.is_some() {
            sqlx::query("UPDATE notifications SET email_due_at = NULL WHERE id = $1")
                .bind(id)
                .execute(store.pool())
                .await?;
            continue;
        }
        let subject: String = r.try_get("subject")?;
        let body: String = r.try_get("body")?;
        let link: Option<String> = r.try_get("link")?;
        let mut text = String::new();
        text.push_str(&subject);
        text.push_str("\n\n");
        if !body.is_empty() {
            text.push_str(&body);
            text.push_str("\n\n");
        }
        if let Some(link) = &link {
            text.push_str(&format!("Open it in Gatehouse: {origin}{link}\n"));
        }
        text.push_str(
            "\n-- \nGatehouse, the internal API portal. You get this because it concerns you.\n",
        );
        let email: String = r.try_get("email")?;
        let name: String = r.try_get("name")?;
        match mailer.send(&email, &name, &subject, text).await {
            Ok(()) => {
                sqlx::query(
                    "UPDATE notifications SET emailed_at = $2, email_due_at = NULL, email_claimed_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(store.pool())
                .await?;
                done.sent += 1;
            }
            Err(error) => {
                let attempts = r.try_get::<i64, _>("email_attempts")? + 1;
                let give_up = attempts >= MAX_ATTEMPTS;
                tracing::warn!(notification = id, attempts, give_up, %error, "email delivery failed");
                sqlx::query(
                    "UPDATE notifications SET email_attempts = $2, email_claimed_until = NULL,
                            email_due_at = $3, email_failed_at = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(attempts)
                .bind((!give_up).then(|| now + backoff(attempts)))
                .bind(give_up.then_some(now))
                .execute(store.pool())
                .await?;
                done.failed += 1;
            }
        }
    }
    Ok(done)
}

/// Without SMTP there is nobody to send email: due emails are dropped, not kept forever.
pub async fn drop_due_emails(store: &Store) -> Result<u64, ServiceError> {
    Ok(
        sqlx::query("UPDATE notifications SET email_due_at = NULL WHERE email_due_at IS NOT NULL")
            .execute(store.pool())
            .await?
            .rows_affected(),
    )
}

/// The body a webhook receives: Slack's incoming-webhook shape (`text`, `blocks`), with the event
/// itself under `gatehouse` for receivers that are not Slack.
fn slack_body(payload: &serde_json::Value, origin: &str) -> serde_json::Value {
    let text_of = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    };
    let link = format!("{origin}{}", text_of("link"));
    let subject = text_of("subject");
    let body = text_of("body");
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut text = format!("*{}*", escape(subject));
    if !body.is_empty() {
        text.push('\n');
        text.push_str(&escape(body));
    }
    text.push_str(&format!("\n<{link}|Open in Gatehouse>"));
    serde_json::json!({
        "text": text,
        "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }],
        "gatehouse": {
            "event": text_of("event"), "subject": subject, "body": body, "link": link,
            "at": payload.get("at"),
        },
    })
}

/// Posts the webhook deliveries that are due, each claimed first from the clock's time then (as
/// [`deliver_emails`]: a receiver may take seconds to answer); a failure is retried with backoff
/// and given up after [`MAX_ATTEMPTS`].
pub async fn deliver_webhooks(
    store: &Store,
    secrets: &Secrets,
    client: &reqwest::Client,
    origin: &str,
    clock: &Clock,
) -> Result<Delivered, ServiceError> {
    let mut done = Delivered::default();
    for id in WEBHOOKS.due(store, clock.now()).await? {
        let now = clock.now();
        if !WEBHOOKS.claim(store, id, now).await? {
            continue;
        }
        let r = sqlx::query(
            "SELECT d.payload, d.attempts, d.event, w.url, w.secret_salt FROM webhook_deliveries d
             JOIN team_webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_one(store.pool())
        .await?;
        let payload: serde_json::Value =
            serde_json::from_str(&r.try_get::<String, _>("payload")?).unwrap_or_default();
        let body = slack_body(&payload, origin).to_string();
        let secret = webhook_secret(secrets, &r.try_get::<String, _>("secret_salt")?);
        let url: String = r.try_get("url")?;
        let result = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-gatehouse-event", r.try_get::<String, _>("event")?)
            .header("x-gatehouse-delivery", id.to_string())
            .header("x-gatehouse-signature", signature(&secret, now, &body))
            .body(body)
            .send()
            .await;
        let error = match result {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the receiver answered {}", response.status())),
            Err(e) => Some(format!("could not reach the receiver: {}", e.without_url())),
        };
        match error {
            None => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET delivered_at = $2, next_attempt_at = NULL, claimed_until = NULL,
                            attempts = attempts + 1 WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(store.pool())
                .await?;
                done.sent += 1;
            }
            Some(error) => {
                let attempts = r.try_get::<i64, _>("attempts")? + 1;
                let give_up = attempts >= MAX_ATTEMPTS;
                tracing::warn!(delivery = id, attempts, give_up, %error, "webhook delivery failed");
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = $2, claimed_until = NULL, next_attempt_at = $3,
                            failed_at = $4, last_error = $5 WHERE id = $1",
                )
                .bind(id)
                .bind(attempts)
                .bind((!give_up).then(|| now + backoff(attempts)))
                .bind(give_up.then_some(now))
                .bind(&error)
                .execute(store.pool())
                .await?;
                done.failed += 1;
            }
        }
    }
    Ok(done)
}

/// The HTTP client for webhooks: short timeouts, no redirects (a receiver cannot bounce a
/// signed delivery elsewhere).
pub fn webhook_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 120);
        assert_eq!(backoff(3), 480);
        assert_eq!(backoff(9), 6 * 3600);
    }

    #[test]
    fn webhook_urls_are_https_or_loopback() {
        assert!(check_webhook_url("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(check_webhook_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_webhook_url("http://example.com/hook").is_err());
        assert!(check_webhook_url("https://user:pw@example.com/hook").is_err());
        assert!(check_webhook_url("ftp://example.com").is_err());
        assert!(check_webhook_url("not a url").is_err());
    }

    #[test]
    fn slack_text_escapes_what_slack_would_read_as_markup() {
        let body = slack_body(
            &serde_json::json!({"subject": "a <b> & c", "body": "", "link": "/requests/1", "event": "x"}),
            "https://gh.example.com",
        );
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("*a &lt;b&gt; &amp; c*"));
        assert!(text.ends_with("<https://gh.example.com/requests/1|Open in Gatehouse>"));
    }
}
