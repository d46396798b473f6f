//! Gatehouse server processes, as they run in production. Two replicas on one PostgreSQL, behind
//! a load balancer: a key revoked through one is refused by the other within a second
//! (LISTEN/NOTIFY), although both had it cached (runs only when `TEST_DATABASE_URL` names a
//! PostgreSQL server). And on either store: key usage counted in memory is written when the
//! process stops, not lost with it.

mod common;

use common::{allowed_calls_written, seeded_stores};
use gatehouse::server::services::{gateways, keys};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PEPPER: &str = "replica-test-pepper-0123456789abcdef0123456789";

struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    /// Stops the process as a deployment does (SIGTERM) and waits for it to exit.
    fn stop(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(url: &str, dir: &std::path::Path, name: &str) -> Replica {
    let port = free_port();
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", &data)
        .env("GATEHOUSE_KEY_PEPPER", PEPPER)
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start gatehouse");
    let replica = Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", replica.base)).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replica
}

async fn code(client: &reqwest::Client, replica: &Replica, gateway: &str, key: &str) -> String {
    let body: serde_json::Value = client
        .post(format!("{}/api/v1/keys/verify", replica.base))
        .bearer_auth(gateway)
        .json(&serde_json::json!({ "key": key }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if body["valid"] == true {
        "valid".into()
    } else {
        body["code"].as_str().unwrap_or("?").to_owned()
    }
}

/// Real time: the server processes read the system clock.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sam's key to the pet store (see [`common::sam_pet_store_key`]) and a gateway credential:
/// Sam, the key (with its secret) and the gateway's secret.
async fn key_and_gateway(
    db: &common::TestStore,
    now: i64,
) -> (
    gatehouse::server::actor::Actor,
    gatehouse::model::KeyCreated,
    String,
) {
    let (sam, _, key) = common::sam_pet_store_key(&db.store, PEPPER.as_bytes(), now).await;
    let gateway = gateways::create_by_operator(&db.store, "lb", now)
        .await
        .unwrap()
        .secret;
    (sam, key, gateway)
}

#[tokio::test]
async fn a_revocation_reaches_the_other_replica_within_a_second() {
    for db in seeded_stores().await {
        let Some(url) = db.url.clone() else {
            eprintln!(
                "{}: replicas need PostgreSQL (TEST_DATABASE_URL)",
                db.backend
            );
            continue;
        };
        let now = unix_now();
        let (sam, key, gateway) = key_and_gateway(&db, now).await;

        let a = start(&url, &db.dir, "a").await;
        let b = start(&url, &db.dir, "b").await;
        let client = reqwest::Client::new();
        // Both replicas answer, and now hold the key in their caches.
        assert_eq!(code(&client, &a, &gateway, &key.secret).await, "valid");
        assert_eq!(code(&client, &b, &gateway, &key.secret).await, "valid");

        // Revoked through another process (this test's own store): only NOTIFY tells them.
        keys::revoke(&db.store, &sam, key.key.id, "leaked", now)
            .await
            .unwrap();
        let revoked = Instant::now();
        for replica in [&a, &b] {
            loop {
                let c = code(&client, replica, &gateway, &key.secret).await;
                if c == "revoked" {
                    break;
                }
                assert!(
                    revoked.elapsed() < Duration::from_secs(1),
                    "{} still answers {c} a second after the revocation",
                    replica.base
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test]
async fn key_usage_counted_in_memory_is_written_when_the_process_stops() {
    for db in seeded_stores().await {
        let url = db
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", db.dir.join("test.db").display()));
        let now = unix_now();
        let (_, key, gateway) = key_and_gateway(&db, now).await;
        let server = start(&url, &db.dir, "server").await;
        let client = reqwest::Client::new();
        for _ in 0..3 {
            assert_eq!(code(&client, &server, &gateway, &key.secret).await, "valid");
        }
        // Usage is written every five seconds; stopped well before the first write, the process
        // holds these three calls only in memory.
        let exit = server.stop();
        assert!(exit.success(), "{}: {exit:?}", db.backend);
        let written = allowed_calls_written(&db.store, key.key.id).await;
        assert_eq!(written, 3, "{}: calls counted before the stop", db.backend);
    }
}
