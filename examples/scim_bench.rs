//! SCIM group membership at company scale: an identity provider creates a group of `MEMBERS`
//! people (default 5,000), then adds people to it one PATCH each, as Okta and Entra ID do.
//! Prints the creation's time, the median PATCH, and the median read of the group whole and as
//! Entra ID reads it (`excludedAttributes=members`). SQLite in a temporary directory, or the
//! PostgreSQL database `DATABASE_URL` names (it must be empty: the schema is migrated into it).
//! Run with `scripts/bench-scim`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{BenchStore, env_number};
use gatehouse::server::config::Config;
use gatehouse::server::http::router;
use gatehouse::server::secrets::Secrets;
use gatehouse::server::state::{AppState, Clock};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const TOKEN: &str = "scim-token-for-the-benchmark-0123456789";
const PATCHES: usize = 25;

#[tokio::main]
async fn main() {
    let members = env_number("MEMBERS", 5000);
    let bench = BenchStore::open("scim-bench").await;
    let (store, backend, dir) = (bench.store.clone(), bench.backend, bench.dir.clone());
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO people (email, name, kind, created_at, updated_at)
         SELECT 'person' || i || '@example.com', 'Person ' || i, 'employee', 0, 0 FROM n",
    )
    .bind((members + PATCHES) as i64)
    .execute(store.pool())
    .await
    .expect("people");
    let people: Vec<i64> = sqlx::query_scalar("SELECT id FROM people ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap();

    let config = Config::load(|name| match name {
        "GATEHOUSE_DATA_DIR" => Some(dir.to_string_lossy().into_owned()),
        "GATEHOUSE_SCIM_TOKEN" => Some(TOKEN.to_owned()),
        _ => None,
    })
    .expect("configuration");
    let secrets = Secrets::load_or_create(&config).expect("secrets");
    let app = router(AppState::new(store.clone(), config, secrets, Clock::System).expect("state"));
    let call = |method: Method, path: String, body: Value| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, "127.0.0.1:3000")
                .header(header::CONTENT_TYPE, "application/scim+json")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::from(body.to_string()))
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, bytes)
        }
    };

    let listed: Vec<Value> = people[..members]
        .iter()
        .map(|id| json!({ "value": id.to_string() }))
        .collect();
    let started = Instant::now();
    let (status, body) = call(
        Method::POST,
        "/scim/v2/Groups".into(),
        json!({ "displayName": "Everyone", "members": listed }),
    )
    .await;
    let created = started.elapsed();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let group: Value = serde_json::from_slice(&body).unwrap();
    let path = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());

    let mut patches: Vec<Duration> = Vec::with_capacity(PATCHES);
    for person in &people[members..] {
        let started = Instant::now();
        let (status, body) = call(
            Method::PATCH,
            path.clone(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "add", "path": "members", "value": [{ "value": person.to_string() }] }]
            }),
        )
        .await;
        patches.push(started.elapsed());
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    patches.sort();
    println!(
        "{backend}: a group of {members} created in {:.1} ms; adding one person by PATCH: median {:.2} ms, slowest {:.2} ms ({PATCHES} PATCHes)",
        created.as_secs_f64() * 1e3,
        patches[PATCHES / 2].as_secs_f64() * 1e3,
        patches[PATCHES - 1].as_secs_f64() * 1e3,
    );

    for (what, query) in [
        ("whole", ""),
        ("without its members", "?excludedAttributes=members"),
    ] {
        let mut reads: Vec<(Duration, usize)> = Vec::with_capacity(PATCHES);
        for _ in 0..PATCHES {
            let started = Instant::now();
            let (status, body) = call(Method::GET, format!("{path}{query}"), Value::Null).await;
            reads.push((started.elapsed(), body.len()));
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        }
        reads.sort();
        let (median, bytes) = reads[PATCHES / 2];
        println!(
            "{backend}: reading the group {what}: median {:.2} ms, {bytes} bytes ({PATCHES} GETs)",
            median.as_secs_f64() * 1e3,
        );
    }
    bench.close().await;
}
