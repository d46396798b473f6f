//! `/metrics` is served on its own address (GATEHOUSE_METRICS_BIND), in Prometheus text format,
//! and never on the public port. Runs the real binary.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let dir = std::env::temp_dir().join(format!("gatehouse-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env("GATEHOUSE_DATA_DIR", &dir)
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env(
            "GATEHOUSE_METRICS_BIND",
            format!("127.0.0.1:{metrics_port}"),
        )
        .env("GATEHOUSE_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let body = loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
        {
            assert!(r.status().is_success());
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/plain")
            );
            break r.text().await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no metrics");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let public = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    for line in [
        "# TYPE gatehouse_verifications_total counter",
        "gatehouse_verifications_total{result=\"allowed\"} 0",
        "gatehouse_verify_cache_total{outcome=\"hit\"} 0",
        "gatehouse_verify_store_failures_total 0",
        "# TYPE gatehouse_verify_duration_seconds histogram",
        "gatehouse_verify_duration_seconds_bucket{le=\"+Inf\"} 0",
    ] {
        assert!(body.contains(line), "{line:?} missing from\n{body}");
    }
    assert_ne!(
        public.status(),
        reqwest::StatusCode::OK,
        "not on the public port"
    );
    assert!(
        !public
            .text()
            .await
            .unwrap_or_default()
            .contains("gatehouse_verifications_total"),
        "no metrics on the public port"
    );
}
