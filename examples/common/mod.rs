//! What the company-scale benchmark programs share: a number from the environment, and the store
//! they measure (SQLite in a temporary directory, or the empty PostgreSQL database
//! `DATABASE_URL` names), migrated.

use gatehouse::server::config::DatabaseUrl;
use gatehouse::server::db::Store;
use std::path::PathBuf;

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub struct BenchStore {
    pub store: Store,
    /// "SQLite" or "PostgreSQL", for the printed figures.
    pub backend: &'static str,
    /// The temporary directory: the SQLite file, and the data directory a server may need.
    pub dir: PathBuf,
}

impl BenchStore {
    pub async fn open(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("gatehouse-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, backend) = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (DatabaseUrl::Postgres(url), "PostgreSQL"),
            _ => (DatabaseUrl::Sqlite(dir.join("bench.db")), "SQLite"),
        };
        let store = Store::connect(&url, 4).await.expect("open the store");
        store.migrate().await.expect("migrate");
        Self {
            store,
            backend,
            dir,
        }
    }

    /// Closes the store and removes the temporary directory.
    pub async fn close(self) {
        self.store.close().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
