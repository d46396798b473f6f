//! Storage: one sqlx `Any` pool over SQLite (the embedded default) or PostgreSQL (several
//! replicas). Queries are written once, with `$N` parameters that both backends read.

pub mod audit;
pub mod catalog;
pub mod identity;
pub mod people;
pub mod search;
pub mod sessions;

use super::config::DatabaseUrl;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Key changes made through this process, for the verification cache; PostgreSQL NOTIFY
    /// carries them to other replicas.
    key_log: std::sync::Arc<KeyLog>,
}

/// The recent key changes (a lookup id, or `None` for "every key"), numbered, so each verifier
/// catches up before its next answer: one atomic read when nothing changed.
#[derive(Debug, Default)]
pub struct KeyLog {
    generation: std::sync::atomic::AtomicU64,
    entries: std::sync::Mutex<std::collections::VecDeque<(u64, Option<String>)>>,
}

impl KeyLog {
    const KEEP: usize = 1024;

    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn push(&self, change: Option<String>) {
        if let Ok(mut entries) = self.entries.lock() {
            let generation = self.generation.load(std::sync::atomic::Ordering::Acquire) + 1;
            entries.push_back((generation, change));
            while entries.len() > Self::KEEP {
                entries.pop_front();
            }
            self.generation
                .store(generation, std::sync::atomic::Ordering::Release);
        }
    }

    /// The changes after generation `seen`; `None` when some are no longer kept (forget all).
    pub fn since(&self, seen: u64) -> Option<Vec<Option<String>>> {
        let entries = self.entries.lock().ok()?;
        match entries.front() {
            Some((first, _)) if *first > seen + 1 => None,
            _ => Some(
                entries
                    .iter()
                    .filter(|(g, _)| *g > seen)
                    .map(|(_, c)| c.clone())
                    .collect(),
            ),
        }
    }
}

impl Store {
    /// Opens the pool. SQLite files are created on first use and run in WAL mode with foreign
    /// keys enforced and a busy timeout, so concurrent writers wait instead of failing.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let (backend, url) = match url {
            DatabaseUrl::Sqlite(path) => (
                Backend::Sqlite,
                format!("sqlite://{}?mode=rwc", path.display()),
            ),
            DatabaseUrl::Postgres(url) => (Backend::Postgres, url.clone()),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // A pooled SQLite connection lives in this process and cannot have gone away: pinging
            // it on every acquire was a round trip to its worker thread before each query (a
            // profile of the reference page put 11% of the server's time there). A PostgreSQL
            // connection is still tested, so a restarted server costs no failed request.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 5000",
                            "PRAGMA synchronous = NORMAL",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend,
            key_log: Default::default(),
        })
    }

    /// Announces, after commit, that a key (or with `None`, any key) changed.
    pub fn key_changed(&self, lookup_id: Option<&str>) {
        self.key_log.push(lookup_id.map(str::to_owned));
    }

    pub fn key_log(&self) -> &KeyLog {
        &self.key_log
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations. On PostgreSQL sqlx holds an advisory lock meanwhile, so
    /// replicas starting together migrate once.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await,
        }
    }

    /// Whether the store answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// When access of a person ends at `end`: no later than their contract, for a contractor. Reads
/// the row's `kind` and `contract_ends_at` (of the person it joins).
pub fn contract_capped(row: &sqlx::any::AnyRow, end: i64) -> Result<i64, sqlx::Error> {
    use sqlx::Row;
    let contract: Option<i64> = row.try_get("contract_ends_at")?;
    Ok(match contract {
        Some(contract) if row.try_get::<String, _>("kind")? == "contractor" => end.min(contract),
        _ => end,
    })
}

/// True when the error is a unique-key conflict, recognised by the database's error kind.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// The rows of a multi-row `VALUES` list: `(?, ?), (?, ?)` on SQLite, `($1, $2), ($3, $4)` on
/// PostgreSQL. SQLite gets positional parameters because it looks each named one up by a linear
/// search, which would make one large statement cost the square of its parameters.
pub fn values_rows(conn: &sqlx::AnyConnection, rows: usize, columns: usize) -> String {
    use std::fmt::Write;
    let positional = conn.backend_name() == "SQLite";
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if positional {
                sql.push('?');
            } else {
                let _ = write!(sql, "${}", row * columns + column + 1);
            }
        }
        sql.push(')');
    }
    sql
}

/// `n` parameters for a statement, the first of them its `first`th: `?, ?` on SQLite, `$3, $4`
/// on PostgreSQL (see [`values_rows`] for why SQLite's are positional).
pub fn params(conn: &sqlx::AnyConnection, first: usize, n: usize) -> String {
    if conn.backend_name() == "SQLite" {
        vec!["?"; n].join(", ")
    } else {
        (first..first + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
