//! Test helpers: a fresh store per test on every backend, and an in-process app.
#![allow(dead_code)] // Each test crate uses a different part of this module.

pub mod html;
pub mod idp;
pub mod web;

use gatehouse::server::config::{Config, DatabaseUrl};
use gatehouse::server::db::Store;
use gatehouse::server::secrets::Secrets;
use gatehouse::server::state::{AppState, Clock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// 2026-11-28T12:00:00Z, so tests do not depend on the wall clock.
pub const NOW: i64 = 1_795_867_200;

pub struct TestStore {
    pub backend: &'static str,
    pub store: Store,
    pub dir: PathBuf,
    /// The database's URL on PostgreSQL, for tests that start server processes on it.
    pub url: Option<String>,
}

/// Each test's files go when it is done (a run used to leave hundreds of directories behind).
/// A later store of the same test that shares the directory recreates what it needs. So does
/// its PostgreSQL database: runs used to leave one behind per test (hundreds of megabytes a run).
impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(url) = self.url.take() {
            drop_database(url);
        }
    }
}

/// Drops a test's PostgreSQL database (named last in its URL), closing what is still connected
/// to it. On a thread of its own: a store is dropped inside its test's runtime, which cannot be
/// blocked on.
fn drop_database(url: String) {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let Some(name) = url
        .rsplit('/')
        .next()
        .filter(|n| {
            n.starts_with("gatehouse_test_")
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(str::to_owned)
    else {
        return;
    };
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime to drop the test database on");
        runtime.block_on(async {
            let admin = Store::connect(&DatabaseUrl::Postgres(admin_url), 1)
                .await
                .map_err(|e| e.to_string())?;
            let result = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(admin.pool())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            admin.close().await;
            result
        })
    })
    .join();
    if let Ok(Err(error)) = dropped {
        eprintln!("could not drop a test database: {error}");
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", gatehouse::server::secrets::random_hex(6))
}

fn fresh_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("gatehouse-test"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory of a test's own, removed when the test is done with it (runs left one behind
/// per test that asked for one).
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir() -> TempDir {
    TempDir(fresh_dir())
}

/// A fresh, migrated SQLite file; and a fresh PostgreSQL database as well when
/// `TEST_DATABASE_URL` names a server, so the same test runs on both backends.
pub async fn stores() -> Vec<TestStore> {
    let mut out = Vec::new();
    let dir = fresh_dir();
    let sqlite = Store::connect(&DatabaseUrl::Sqlite(dir.join("test.db")), 4)
        .await
        .expect("open SQLite");
    sqlite.migrate().await.expect("migrate SQLite");
    out.push(TestStore {
        backend: "sqlite",
        store: sqlite,
        dir: dir.clone(),
        url: None,
    });

    if let Ok(admin_url) = std::env::var("TEST_DATABASE_URL")
        && !admin_url.is_empty()
    {
        let admin = Store::connect(&DatabaseUrl::Postgres(admin_url.clone()), 1)
            .await
            .expect("reach TEST_DATABASE_URL");
        let name = unique("gatehouse_test");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .expect("create test database");
        admin.close().await;
        let base = admin_url.split('?').next().unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        let pg = Store::connect(&DatabaseUrl::Postgres(url.clone()), 4)
            .await
            .expect("open PostgreSQL");
        pg.migrate().await.expect("migrate PostgreSQL");
        out.push(TestStore {
            backend: "postgres",
            store: pg,
            dir,
            url: Some(url),
        });
    }
    out
}

/// A store with the demo company loaded.
pub async fn seeded_stores() -> Vec<TestStore> {
    let stores = stores().await;
    for s in &stores {
        gatehouse::server::seed::seed_demo(&s.store, NOW)
            .await
            .expect("seed demo");
    }
    stores
}

pub async fn person_id(store: &Store, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM people WHERE email = $1")
        .bind(email)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("no person {email}: {e}"))
}

pub async fn actor(store: &Store, email: &str) -> gatehouse::server::actor::Actor {
    let id = person_id(store, email).await;
    gatehouse::server::db::people::find_active_actor(store.pool(), id, NOW)
        .await
        .unwrap()
        .expect("active person")
}

/// A session cookie for a demo person, as the development sign-in would set it.
pub async fn session_cookie(store: &Store, email: &str) -> String {
    use gatehouse::server::services::sessions::{self, AuthMethod, ClientInfo, Timeouts};
    let id = person_id(store, email).await;
    let session = sessions::start(
        store,
        id,
        AuthMethod::Dev,
        Timeouts {
            idle: std::time::Duration::from_secs(3600),
            lifetime: std::time::Duration::from_secs(36_000),
        },
        &ClientInfo::default(),
        NOW,
    )
    .await
    .unwrap();
    format!("gatehouse_session={}", session.token)
}

/// Configuration for tests: loopback, a temporary data dir, plus the given settings.
pub fn config(dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "GATEHOUSE_DATA_DIR".into(),
        dir.to_string_lossy().into_owned(),
    );
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Config::load(|name| env.get(name).cloned()).expect("test config")
}

pub fn app_state(store: Store, config: Config) -> AppState {
    let secrets = Secrets::load_or_create(&config).expect("secrets");
    AppState::new(store, config, secrets, Clock::fixed(NOW)).expect("app state")
}

/// A single number from the store, for assertions (`SELECT COUNT(*) …`).
pub async fn count(db: &TestStore, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The allowed calls of one key that the store holds (written from the verifier's usage counts).
pub async fn allowed_calls_written(store: &Store, key_id: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM key_usage WHERE key_id = $1 AND result = 'ok'",
    )
    .bind(key_id)
    .fetch_one(store.pool())
    .await
    .unwrap_or_else(|e| panic!("usage of key {key_id}: {e}"))
}

/// Adds `n` APIs open to everyone, owned by the first team, named `Zeta 000`… (slugs `zeta-000`…)
/// so they sort after the demo's; every other one (from the first) tagged `even` when asked.
pub async fn add_zeta_apis(store: &gatehouse::server::db::Store, n: usize, tag_even: bool) {
    for i in 0..n {
        sqlx::query(
            "INSERT INTO apis (slug, name, owner_team_id, lifecycle, visibility, created_at, updated_at)
             VALUES ($1, $2, 1, 'production', 'everyone', 0, 0)",
        )
        .bind(format!("zeta-{i:03}"))
        .bind(format!("Zeta {i:03}"))
        .execute(store.pool())
        .await
        .unwrap();
        if tag_even && i % 2 == 0 {
            sqlx::query(
                "INSERT INTO api_tags (api_id, tag) SELECT id, 'even' FROM apis WHERE slug = $1",
            )
            .bind(format!("zeta-{i:03}"))
            .execute(store.pool())
            .await
            .unwrap();
        }
    }
}

/// Sam's grant of `read:pets` to the pet store (its policy grants it to employees at once) and
/// a key under it, made through the services: Sam, the grant's id and the new key.
pub async fn sam_pet_store_key(
    store: &Store,
    pepper: &[u8],
    now: i64,
) -> (
    gatehouse::server::actor::Actor,
    i64,
    gatehouse::model::KeyCreated,
) {
    use gatehouse::model::{KeyInput, RequestInput};
    use gatehouse::server::services::{access, keys};
    let sam = actor(store, "sam.taylor@example.com").await;
    let request = RequestInput {
        environment: "production".into(),
        scopes: vec!["read:pets".into()],
        justification: "The storefront's inventory sync job.".into(),
        duration_days: "30".into(),
    };
    let id = access::submit(store, &sam, "pet-store", &request, now)
        .await
        .unwrap();
    let grant: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let input = KeyInput {
        grant_id: grant,
        name: "sync".into(),
        scopes: vec!["read:pets".into()],
        ..KeyInput::default()
    };
    let key = keys::create(store, pepper, &sam, &input, now)
        .await
        .unwrap();
    (sam, grant, key)
}
