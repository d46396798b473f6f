//! Notification delivery against real receivers on loopback: a real SMTP server (Python's
//! aiosmtpd, started by this harness, writing what arrives into a Maildir that the test reads)
//! and a real HTTP receiver for team webhooks. Delivery failures are retried with backoff and
//! never block the workflow.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{NOW, actor, config, seeded_stores};
use gatehouse::model::{Decision, RequestInput};
use gatehouse::server::error::ServiceError;
use gatehouse::server::secrets::Secrets;
use gatehouse::server::services::{access, notify};
use gatehouse::server::state::Clock;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SAM: &str = "sam.taylor@example.com";
const MORGAN: &str = "morgan.lee@example.com";
const PRIYA: &str = "priya.shah@example.com";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Python that has aiosmtpd: `GATEHOUSE_TEST_PYTHON`, else Debian's (python3-aiosmtpd).
fn python() -> String {
    std::env::var("GATEHOUSE_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

/// A real SMTP server on loopback that files every message into a Maildir.
struct Smtp {
    child: Child,
    maildir: PathBuf,
    port: u16,
}

impl Smtp {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let maildir = dir.join(format!("maildir-{port}"));
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd (apt-get install python3-aiosmtpd)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!("aiosmtpd exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp {
            child,
            maildir,
            port,
        }
    }

    /// Every message that arrived, as raw text.
    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap());
                }
            }
        }
        out
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request() -> RequestInput {
    RequestInput {
        environment: "production".into(),
        scopes: vec!["files.write".into()],
        justification: "Upload the quarterly reports from the batch job.".into(),
        duration_days: "10".into(),
    }
}

#[tokio::test]
async fn approvers_and_requesters_get_email_with_a_link_straight_to_the_request() {
    for db in seeded_stores().await {
        let smtp = Smtp::start(&db.dir);
        let port = smtp.port.to_string();
        let cfg = config(
            &db.dir,
            &[
                ("GATEHOUSE_SMTP_HOST", "127.0.0.1"),
                ("GATEHOUSE_SMTP_PORT", &port),
                ("GATEHOUSE_SMTP_TLS", "none"),
                ("GATEHOUSE_SMTP_FROM", "Gatehouse <gatehouse@example.com>"),
            ],
        );
        let mailer = notify::Mailer::new(cfg.smtp.as_ref().unwrap()).unwrap();
        let sam = actor(&db.store, SAM).await;
        let id = access::submit(&db.store, &sam, "files", &request(), NOW)
            .await
            .unwrap();

        let sent = notify::deliver_emails(
            &db.store,
            &mailer,
            "https://gatehouse.example.com",
            &Clock::fixed(NOW),
        )
        .await
        .unwrap();
        assert_eq!((sent.sent, sent.failed), (1, 0), "{}", db.backend);
        let again = notify::deliver_emails(
            &db.store,
            &mailer,
            "https://gatehouse.example.com",
            &Clock::fixed(NOW + 5),
        )
        .await
        .unwrap();
        assert_eq!(again.sent, 0, "an email goes once");

        let messages = smtp.messages();
        assert_eq!(messages.len(), 1);
        let mail = &messages[0];
        assert!(
            mail.contains("To: \"Morgan Lee\" <morgan.lee@example.com>"),
            "{mail}"
        );
        assert!(
            mail.contains("From: Gatehouse <gatehouse@example.com>"),
            "{mail}"
        );
        assert!(
            mail.contains("Subject: Sam Taylor asks for access to Files"),
            "{mail}"
        );
        assert!(
            mail.contains(&format!("https://gatehouse.example.com/requests/{id}")),
            "{mail}"
        );

        // The decision reaches the requester by email too.
        access::decide(
            &db.store,
            &actor(&db.store, MORGAN).await,
            id,
            0,
            Decision::Reject,
            "Not this quarter.",
            NOW,
        )
        .await
        .unwrap();
        notify::deliver_emails(
            &db.store,
            &mailer,
            "https://gatehouse.example.com",
            &Clock::fixed(NOW + 10),
        )
        .await
        .unwrap();
        let messages = smtp.messages();
        let to_sam = messages
            .iter()
            .find(|m| m.contains("To: \"Sam Taylor\" <sam.taylor@example.com>"))
            .expect("an email to Sam");
        assert!(
            to_sam.contains("Subject: Rejected: your request for Files (production)"),
            "{to_sam}"
        );
        assert!(to_sam.contains("Not this quarter."), "{to_sam}");

        // In the app: the bell counts unread, and reading clears only one's own.
        assert_eq!(notify::unread(&db.store, &sam).await.unwrap(), 1);
        let list = notify::list(&db.store, &sam).await.unwrap();
        assert_eq!(
            list[0].link.as_deref(),
            Some(format!("/requests/{id}").as_str())
        );
        let morgan = actor(&db.store, MORGAN).await;
        assert_eq!(
            notify::mark_read(&db.store, &morgan, Some(list[0].id), NOW)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            notify::mark_read(&db.store, &sam, None, NOW).await.unwrap(),
            1
        );
        assert_eq!(notify::unread(&db.store, &sam).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_retried_with_backoff_and_blocks_nothing() {
    for db in seeded_stores().await {
        let port = free_port();
        let cfg = config(
            &db.dir,
            &[
                ("GATEHOUSE_SMTP_HOST", "127.0.0.1"),
                ("GATEHOUSE_SMTP_PORT", &port.to_string()),
                ("GATEHOUSE_SMTP_TLS", "none"),
            ],
        );
        let mailer = notify::Mailer::new(cfg.smtp.as_ref().unwrap()).unwrap();
        // Nothing listens: the request is accepted all the same.
        let id = access::submit(
            &db.store,
            &actor(&db.store, SAM).await,
            "files",
            &request(),
            NOW,
        )
        .await
        .unwrap();
        let r = notify::deliver_emails(&db.store, &mailer, "http://x", &Clock::fixed(NOW))
            .await
            .unwrap();
        assert_eq!((r.sent, r.failed), (0, 1), "{}", db.backend);
        // Not due again until the backoff has passed.
        let r = notify::deliver_emails(&db.store, &mailer, "http://x", &Clock::fixed(NOW + 10))
            .await
            .unwrap();
        assert_eq!((r.sent, r.failed), (0, 0));

        // The server comes up on that port; the retry delivers.
        let dir = db.dir.join("late");
        std::fs::create_dir_all(&dir).unwrap();
        let maildir = dir.join("maildir");
        let mut child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(50));
        }
        let r = notify::deliver_emails(
            &db.store,
            &mailer,
            "http://x",
            &Clock::fixed(NOW + notify::backoff(1)),
        )
        .await
        .unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!((r.sent, r.failed), (1, 0));
        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.state, gatehouse::model::RequestState::Pending);
    }
}

#[derive(Clone, Default)]
struct Received {
    calls: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<Mutex<usize>>,
}

async fn hook(State(r): State<Received>, headers: HeaderMap, body: String) -> StatusCode {
    r.calls.lock().unwrap().push((headers, body));
    let mut fail = r.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

#[tokio::test]
async fn team_webhooks_get_signed_slack_json_retried_after_a_failure() {
    for db in seeded_stores().await {
        let received = Received::default();
        *received.fail_first.lock().unwrap() = 1;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(received.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let cfg = config(&db.dir, &[]);
        let secrets = Secrets::load_or_create(&cfg).unwrap();
        let priya = actor(&db.store, PRIYA).await;
        let url = format!("http://{addr}/hook");
        // Only the team's owners set it; only https or loopback.
        assert!(matches!(
            notify::set_webhook(
                &db.store,
                &actor(&db.store, SAM).await,
                "data",
                Some(&url),
                NOW
            )
            .await,
            Err(ServiceError::Forbidden)
        ));
        assert!(matches!(
            notify::set_webhook(
                &db.store,
                &priya,
                "data",
                Some("http://hooks.example.com/x"),
                NOW
            )
            .await,
            Err(ServiceError::Invalid(_))
        ));
        notify::set_webhook(&db.store, &priya, "data", Some(&url), NOW)
            .await
            .unwrap();
        // Only the teams one manages are listed: Sam manages none.
        let sam = actor(&db.store, SAM).await;
        assert!(
            notify::list_webhooks(&db.store, &secrets, &sam)
                .await
                .unwrap()
                .is_empty()
        );
        let listed = notify::list_webhooks(&db.store, &secrets, &priya)
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|w| w.team.as_str()).collect::<Vec<_>>(),
            ["data"]
        );
        let hook_view = notify::get_webhook(&db.store, &secrets, &priya, "data")
            .await
            .unwrap()
            .unwrap();

        let id = access::submit(
            &db.store,
            &actor(&db.store, SAM).await,
            "files",
            &request(),
            NOW,
        )
        .await
        .unwrap();
        let client = notify::webhook_client().unwrap();
        let r = notify::deliver_webhooks(
            &db.store,
            &secrets,
            &client,
            "https://gh.example.com",
            &Clock::fixed(NOW),
        )
        .await
        .unwrap();
        assert_eq!((r.sent, r.failed), (0, 1), "{}", db.backend);
        let r = notify::deliver_webhooks(
            &db.store,
            &secrets,
            &client,
            "https://gh.example.com",
            &Clock::fixed(NOW + 5),
        )
        .await
        .unwrap();
        assert_eq!((r.sent, r.failed), (0, 0), "not before the backoff");
        let later = NOW + notify::backoff(1);
        let r = notify::deliver_webhooks(
            &db.store,
            &secrets,
            &client,
            "https://gh.example.com",
            &Clock::fixed(later),
        )
        .await
        .unwrap();
        assert_eq!((r.sent, r.failed), (1, 0));

        let calls = received.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        let (headers, body) = &calls[1];
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        let text = json["text"].as_str().unwrap();
        assert!(
            text.contains("Sam Taylor asks for access to Files"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "<https://gh.example.com/requests/{id}|Open in Gatehouse>"
            )),
            "{text}"
        );
        assert_eq!(json["gatehouse"]["event"], "approval_waiting");
        assert_eq!(headers["x-gatehouse-event"], "approval_waiting");
        // The receiver can check the signature with the secret its owners were shown.
        let sig = headers["x-gatehouse-signature"].to_str().unwrap();
        assert_eq!(sig, notify::signature(&hook_view.secret, later, body));
        assert_ne!(sig, notify::signature("whsec_wrong", later, body));
        // The secret is never stored: the database holds only a salt.
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM team_webhooks WHERE secret_salt = $1")
                .bind(&hook_view.secret)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        assert_eq!(stored, 0);
        server.abort();
    }
}

/// A receiver that takes 70 seconds (on the test's clock) to answer, and notes each delivery's
/// claim as it sees it arrive.
#[derive(Clone)]
struct Slow {
    store: gatehouse::server::db::Store,
    clock: Clock,
    /// (the delivery's claimed_until, the clock) at each call.
    seen: Arc<Mutex<Vec<(i64, i64)>>>,
}

async fn slow_hook(State(s): State<Slow>, headers: HeaderMap) -> StatusCode {
    let id: i64 = headers["x-gatehouse-delivery"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let claimed: i64 =
        sqlx::query_scalar("SELECT claimed_until FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_one(s.store.pool())
            .await
            .unwrap();
    s.seen.lock().unwrap().push((claimed, s.clock.now()));
    s.clock.advance(70);
    StatusCode::OK
}

#[tokio::test]
async fn a_slow_delivery_pass_keeps_each_delivery_claimed_while_it_is_sent() {
    for db in seeded_stores().await {
        let clock = Clock::fixed(NOW);
        let slow = Slow {
            store: db.store.clone(),
            clock: clock.clone(),
            seen: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(slow_hook))
            .with_state(slow.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let cfg = config(&db.dir, &[]);
        let secrets = Secrets::load_or_create(&cfg).unwrap();
        let priya = actor(&db.store, PRIYA).await;
        notify::set_webhook(
            &db.store,
            &priya,
            "data",
            Some(&format!("http://{addr}/hook")),
            NOW,
        )
        .await
        .unwrap();
        for who in [SAM, "riley.chen@example.com"] {
            access::submit(
                &db.store,
                &actor(&db.store, who).await,
                "files",
                &request(),
                NOW,
            )
            .await
            .unwrap();
        }
        let client = notify::webhook_client().unwrap();
        let r = notify::deliver_webhooks(
            &db.store,
            &secrets,
            &client,
            "https://gh.example.com",
            &clock,
        )
        .await
        .unwrap();
        assert_eq!((r.sent, r.failed), (2, 0), "{}", db.backend);
        // The second delivery went out 70 seconds into the pass. Claimed from the pass's start,
        // its claim (start + 60) had run out by then and another replica's pass could take it.
        let seen = slow.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{}", db.backend);
        for (claimed_until, at) in seen {
            assert!(
                claimed_until > at,
                "{}: a delivery sent at {at} was claimed only until {claimed_until}",
                db.backend
            );
        }
        server.abort();
    }
}
