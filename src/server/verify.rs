//! Key verification, the gateways' hot path. Answered from memory: a cache from lookup id to the
//! key's record (short TTL, negative entries too), checked against an HMAC of the presented key;
//! usage counted in memory and written in batches; a token bucket per key for rate limits.
//! Changes to keys reach the cache at once in this process (the store's key events) and, on
//! PostgreSQL, on every replica through LISTEN/NOTIFY. When the store cannot answer and the cache
//! holds nothing fresh, verification fails closed.

use crate::server::db::{Store, values_rows};
use crate::server::keys::{self, KeyHasher};
use crate::server::secrets::{constant_time_eq, decode_hex, sha256_hex};
use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;
const SHARDS: usize = 16;

/// Maps keyed by our own key ids (never by what a caller sends) use a fast hasher; the caches
/// keyed by presented lookup ids and credentials keep the default, DoS-resistant one.
type ById<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// One key's calls on one UTC day since the last flush: by result (`ok`, then each denial code)
/// and the latest call.
#[derive(Clone, Copy, Default)]
struct DayUsage {
    counts: [i64; 1 + Code::ALL.len()],
    last_used: Option<i64>,
}

impl DayUsage {
    fn merge(&mut self, other: &DayUsage) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.last_used = self.last_used.max(other.last_used);
    }
}

/// Calls per (key, UTC day) since the last flush.
type UsageCounts = ById<(i64, i64), DayUsage>;

fn shard(key_id: i64) -> usize {
    key_id.rem_euclid(SHARDS as i64) as usize
}
/// Lookup id (packed, see [`packed`]) → the key's record, or `None` for no such key. The id is
/// stored in the entry itself: a call reads no string of its own to find its key.
type KeyCache = HashMap<LookupId, Cached<Option<Arc<Record>>>>;
/// Gateway credential (as presented) → its id, or `None` for an unknown one.
type GatewayCache = HashMap<String, Cached<Option<i64>>>;

/// A key's lookup id, its eight base62 characters packed into one word.
type LookupId = u64;
const _: () = assert!(keys::LOOKUP_LEN == std::mem::size_of::<LookupId>());

/// `None` for a text that is not a lookup id's length (no key has it).
fn packed(lookup_id: &str) -> Option<LookupId> {
    Some(LookupId::from_le_bytes(
        lookup_id.as_bytes().try_into().ok()?,
    ))
}

/// A lookup id's bits mixed, so its high bits depend on all eight characters.
fn mixed(id: LookupId) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A lookup id's cache shard (lookup ids are random base62: any of their bits will do).
fn lookup_shard(id: LookupId) -> usize {
    (mixed(id) >> 58) as usize % SHARDS
}

/// How long a cached answer (a record, or "no such key") is used without asking the store.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// A record used after this age (for some keys from half of it: see [`refresh_age`]) is read
/// again in the background (`refresh_cached`), so a key in use never waits for the store when
/// its entry runs out: before, the keys loaded together ran out together, and the calls that
/// found them gone each waited for a lookup at once.
pub const REFRESH_AFTER: Duration = Duration::from_secs(20);
/// The age at which a key's record is due to be read again: between half of `after_ms` and all
/// of it, spread by the key's lookup id. Keys loaded together (a gateway's first calls after a
/// start, or after every key was forgotten) would otherwise fall due together, and every cycle
/// after would read them all in one burst; on SQLite that burst took a core for over 100 ms
/// with a thousand keys in use, and calls waited behind it.
fn refresh_age(after_ms: u64, id: LookupId) -> u64 {
    let half = after_ms / 2;
    let spread = mixed(id) >> 32;
    after_ms - half + spread % (half + 1)
}
/// At most this many records wait for their background read.
const REFRESH_QUEUE_MAX: usize = 100_000;
const CACHE_MAX: usize = 500_000;

/// Why a key was refused; the only thing a denial says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Invalid,
    Expired,
    Revoked,
    InsufficientScope,
    IpNotAllowed,
    RateLimited,
    Unavailable,
}

impl Code {
    pub const ALL: [Code; 7] = [
        Code::Invalid,
        Code::Expired,
        Code::Revoked,
        Code::InsufficientScope,
        Code::IpNotAllowed,
        Code::RateLimited,
        Code::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Invalid => "invalid",
            Code::Expired => "expired",
            Code::Revoked => "revoked",
            Code::InsufficientScope => "insufficient_scope",
            Code::IpNotAllowed => "ip_not_allowed",
            Code::RateLimited => "rate_limited",
            Code::Unavailable => "unavailable",
        }
    }

    /// The HTTP status forward-auth answers with.
    pub fn status(self) -> u16 {
        match self {
            Code::Invalid | Code::Expired | Code::Revoked => 401,
            Code::InsufficientScope | Code::IpNotAllowed => 403,
            Code::RateLimited => 429,
            Code::Unavailable => 503,
        }
    }

    fn index(self) -> usize {
        Code::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// What a gateway asks. Borrowed from the request where it can be (JSON strings without escapes,
/// header values), so the hot path copies nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    #[serde(default, borrow)]
    pub api: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub environment: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub scopes: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow)]
    pub method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub path: Option<Cow<'a, str>>,
    /// The caller's address as the gateway saw it.
    #[serde(default, borrow)]
    pub ip: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub id: i64,
    pub email: String,
    pub kind: String,
}

/// An allowed call: the key's cached record, shared rather than copied on the hot path.
#[derive(Clone, Debug)]
pub struct Allowed(Arc<Record>);

impl Allowed {
    pub fn key_id(&self) -> i64 {
        self.0.key_id
    }
    /// The verify endpoint's JSON answer, serialized once when the record was loaded; the body
    /// holds the record rather than a copy.
    pub fn json(self) -> Bytes {
        Bytes::from_owner(self)
    }
    /// Forward-auth's answer headers for an allowed call (`X-Gatehouse-Subject`, `-Scopes`,
    /// `-Key-Id`), built once when the record was loaded: cloning them copies nothing.
    pub fn forward_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.0.forward_headers
    }
}

impl AsRef<[u8]> for Allowed {
    fn as_ref(&self) -> &[u8] {
        self.0.answer().as_bytes()
    }
}

/// The verify endpoint's answer for an allowed call.
#[derive(Serialize)]
struct Answer<'a> {
    valid: bool,
    key_id: i64,
    subject: &'a Subject,
    api: &'a str,
    environment: &'a str,
    scopes: &'a [String],
    expires_at: i64,
}

/// A refused call: the code, and for rate limits when to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub code: Code,
    pub retry_after: Option<u64>,
}

impl From<Code> for Denied {
    fn from(code: Code) -> Self {
        Denied {
            code,
            retry_after: None,
        }
    }
}

/// A key as the cache holds it. With a million keys in use, a call's record is seldom in the
/// processor's cache: what every call reads comes first, in declaration order (`repr(C)`), and
/// the strings it compares share one allocation with the answer it sends.
#[derive(Debug)]
#[repr(C)]
pub struct Record {
    key_id: i64,
    /// The earliest of the key's, the grant's and (for a contractor) the contract's end.
    expires_at: i64,
    secret_hash: [u8; 32],
    /// The key, its grant or its person is revoked or deactivated.
    revoked: bool,
    rate_per_minute: Option<u32>,
    /// The API's slug, then the environment's name, then what an allowed call answers
    /// (prepared once): see `api`, `environment` and `answer`.
    text: Box<str>,
    api_end: usize,
    environment_end: usize,
    ip_allowlist: Vec<ipnet::IpNet>,
    scopes: Vec<String>,
    // Read by some calls only.
    previous_hash: Option<[u8; 32]>,
    previous_valid_until: Option<i64>,
    api_id: i64,
    subject: Subject,
    forward_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Record {
    fn api(&self) -> &str {
        &self.text[..self.api_end]
    }
    fn environment(&self) -> &str {
        &self.text[self.api_end..self.environment_end]
    }
    fn answer(&self) -> &str {
        &self.text[self.environment_end..]
    }
}

struct Cached<T> {
    value: T,
    at: Instant,
    /// Queued for a background read (records only).
    refreshing: AtomicBool,
}

impl<T> Cached<T> {
    fn new(value: T) -> Self {
        Cached {
            value,
            at: Instant::now(),
            refreshing: AtomicBool::new(false),
        }
    }
}

/// Which scopes an API's operations need, from its current spec's `security` requirements.
#[derive(Debug, Default)]
pub struct Routes {
    /// Path prefix of the environment's base URL (`/v3`), tried off the front of a path.
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    method: String,
    segments: Vec<Option<String>>,
    /// Alternatives (OR) of scope sets (AND); an empty alternative needs nothing.
    alternatives: Vec<Vec<String>>,
    literal: usize,
}

impl Routes {
    /// Reads `security` from an OpenAPI or Swagger document.
    pub fn from_spec(doc: &serde_json::Value) -> Self {
        let global = doc.get("security").and_then(|s| s.as_array());
        let mut routes = Vec::new();
        let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
            return Routes::default();
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for method in [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ] {
                let Some(op) = item.get(method) else { continue };
                let Some(security) = op.get("security").and_then(|s| s.as_array()).or(global)
                else {
                    continue;
                };
                let alternatives: Vec<Vec<String>> = security
                    .iter()
                    .filter_map(|alt| alt.as_object())
                    .map(|alt| {
                        alt.values()
                            .filter_map(|v| v.as_array())
                            .flatten()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .collect();
                if alternatives.is_empty() {
                    continue;
                }
                let segments: Vec<Option<String>> = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                let literal = segments.iter().filter(|s| s.is_some()).count();
                routes.push(Route {
                    method: method.to_ascii_uppercase(),
                    segments,
                    alternatives,
                    literal,
                });
            }
        }
        // The most specific template wins: `/pets/mine` before `/pets/{id}`.
        routes.sort_by_key(|r| std::cmp::Reverse(r.literal));
        Routes { routes }
    }

    /// The scope alternatives for a call, or `None` when the spec says nothing about it.
    /// Allocates nothing: it runs on every forward-auth call.
    fn required(&self, method: &str, path: &str) -> Option<&[Vec<String>]> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let parts = || path.split('/').filter(|s| !s.is_empty());
        let count = parts().count();
        // The gateway may pass the path with the API's base path in front: try each suffix.
        for skip in 0..=count.min(3) {
            if let Some(r) = self.routes.iter().find(|r| {
                r.segments.len() == count - skip
                    && r.method.eq_ignore_ascii_case(method)
                    && r.segments
                        .iter()
                        .zip(parts().skip(skip))
                        .all(|(seg, part)| seg.as_deref().is_none_or(|s| s == part))
            }) {
                return Some(&r.alternatives);
            }
        }
        None
    }
}

/// Keeps a value on its own cache line, so shards written by different threads do not slow
/// each other down.
#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The calling thread's shard among `n`: worker threads take turns, so on a server with as many
/// shards as workers each writes its own.
fn thread_shard(n: usize) -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) as usize;
    }
    MINE.with(|m| *m % n)
}

/// Per-thread copies (metrics, gateway credentials): at least as many as worker threads.
const THREAD_SHARDS: usize = 8;

/// One thread's share of the counters.
#[derive(Default)]
struct Counters {
    allowed: AtomicU64,
    denied: [AtomicU64; 7],
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    store_failures: AtomicU64,
    latency_buckets: [AtomicU64; 10],
    latency_sum_us: AtomicU64,
}

/// Prometheus counters and the latency histogram, counted per thread and summed when scraped.
#[derive(Default)]
pub struct Metrics {
    shards: [Padded<Counters>; THREAD_SHARDS],
}

const LATENCY_BOUNDS_US: [u64; 9] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000];

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    fn mine(&self) -> &Counters {
        &self.shards[thread_shard(THREAD_SHARDS)]
    }

    fn sum(&self, counter: impl Fn(&Counters) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .sum()
    }

    fn observe(&self, elapsed: Duration) {
        let us = elapsed.as_micros() as u64;
        let mine = self.mine();
        add(&mine.latency_sum_us, us);
        let i = LATENCY_BOUNDS_US
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        add(&mine.latency_buckets[i], 1);
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP gatehouse_verifications_total Key verifications by result.\n");
        out.push_str("# TYPE gatehouse_verifications_total counter\n");
        out.push_str(&format!(
            "gatehouse_verifications_total{{result=\"allowed\"}} {}\n",
            self.sum(|c| &c.allowed)
        ));
        for code in Code::ALL {
            out.push_str(&format!(
                "gatehouse_verifications_total{{result=\"{}\"}} {}\n",
                code.as_str(),
                self.sum(|c| &c.denied[code.index()])
            ));
        }
        out.push_str("# HELP gatehouse_verify_cache_total Key cache lookups by outcome.\n");
        out.push_str("# TYPE gatehouse_verify_cache_total counter\n");
        out.push_str(&format!(
            "gatehouse_verify_cache_total{{outcome=\"hit\"}} {}\ngatehouse_verify_cache_total{{outcome=\"miss\"}} {}\n",
            self.sum(|c| &c.cache_hits),
            self.sum(|c| &c.cache_misses)
        ));
        out.push_str("# HELP gatehouse_verify_store_failures_total Verifications that failed closed because the store did not answer.\n");
        out.push_str("# TYPE gatehouse_verify_store_failures_total counter\n");
        out.push_str(&format!(
            "gatehouse_verify_store_failures_total {}\n",
            self.sum(|c| &c.store_failures)
        ));
        out.push_str("# HELP gatehouse_verify_duration_seconds Time to answer a verification.\n");
        out.push_str("# TYPE gatehouse_verify_duration_seconds histogram\n");
        let mut cumulative = 0;
        for i in 0..=LATENCY_BOUNDS_US.len() {
            cumulative += self.sum(|c| &c.latency_buckets[i]);
            let le = LATENCY_BOUNDS_US
                .get(i)
                .map(|us| format!("{}", *us as f64 / 1e6))
                .unwrap_or_else(|| "+Inf".into());
            out.push_str(&format!(
                "gatehouse_verify_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}\n"
            ));
        }
        out.push_str(&format!(
            "gatehouse_verify_duration_seconds_sum {}\ngatehouse_verify_duration_seconds_count {cumulative}\n",
            self.sum(|c| &c.latency_sum_us) as f64 / 1e6
        ));
        out
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The verifier every replica holds.
pub struct Verifier {
    store: Store,
    clock: crate::server::state::Clock,
    hasher: KeyHasher,
    /// Sharded by lookup id, so the worker threads rarely touch the same lock.
    cache: [Padded<RwLock<KeyCache>>; SHARDS],
    routes: RwLock<HashMap<i64, Cached<Arc<Routes>>>>,
    /// A few credentials asked by every call: one copy per worker thread.
    gateways: [Padded<RwLock<GatewayCache>>; THREAD_SHARDS],
    buckets: [Padded<Mutex<ById<i64, Bucket>>>; SHARDS],
    /// One per worker thread, like the metrics: a call counts into its own thread's map, whose
    /// lock no other thread takes but the flush.
    usage: [Padded<Mutex<UsageCounts>>; THREAD_SHARDS],
    /// Held through a flush, so one flush waits for another to finish (the last one, at
    /// shutdown, must not return while the periodic one still holds counts in flight).
    flushing: tokio::sync::Mutex<()>,
    /// Each key's last-used minute (Unix minutes) this replica last wrote: see `write_usage`.
    /// Used under `flushing` only.
    last_used_written: Mutex<ById<i64, i64>>,
    /// The store's key-change generation this verifier has applied.
    seen: AtomicU64,
    /// Counts `forget` calls: a record read while one happened may be stale and is not cached.
    forgets: AtomicU64,
    /// Lookup ids whose records are read again in the background.
    refresh: Mutex<Vec<String>>,
    /// The age after which a used record is queued for that (milliseconds; tests shorten it).
    refresh_after_ms: AtomicU64,
    pub metrics: Metrics,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier")
    }
}

impl Verifier {
    pub fn new(store: Store, pepper: &[u8], clock: crate::server::state::Clock) -> Arc<Self> {
        let store_generation = store.key_log().generation();
        Arc::new(Self {
            store,
            clock,
            hasher: KeyHasher::new(pepper),
            cache: Default::default(),
            routes: RwLock::new(HashMap::new()),
            gateways: Default::default(),
            buckets: Default::default(),
            usage: Default::default(),
            flushing: tokio::sync::Mutex::new(()),
            last_used_written: Mutex::default(),
            seen: AtomicU64::new(store_generation),
            forgets: AtomicU64::new(0),
            refresh: Mutex::new(Vec::new()),
            refresh_after_ms: AtomicU64::new(REFRESH_AFTER.as_millis() as u64),
            metrics: Metrics::default(),
        })
    }

    /// Forgets one key, or with `None` every key (and the routes).
    pub fn forget(&self, lookup_id: Option<&str>) {
        self.forgets.fetch_add(1, Ordering::AcqRel);
        match lookup_id {
            Some(id) if id != "*" => {
                if let Some(id) = packed(id)
                    && let Ok(mut cache) = self.cache[lookup_shard(id)].write()
                {
                    cache.remove(&id);
                }
            }
            _ => {
                for shard in &self.cache {
                    if let Ok(mut cache) = shard.write() {
                        cache.clear();
                    }
                }
                if let Ok(mut routes) = self.routes.write() {
                    routes.clear();
                }
                for shard in &self.gateways {
                    if let Ok(mut gateways) = shard.write() {
                        gateways.clear();
                    }
                }
            }
        }
    }

    /// Catches up with key changes made through this process: one atomic read when none.
    fn catch_up(&self) {
        let generation = self.store.key_log().generation();
        let seen = self.seen.load(Ordering::Acquire);
        if generation == seen {
            return;
        }
        match self.store.key_log().since(seen) {
            Some(changes) => {
                for change in changes {
                    self.forget(change.as_deref());
                }
            }
            None => self.forget(None),
        }
        self.seen.store(generation, Ordering::Release);
    }

    /// On PostgreSQL: listens for other replicas' key changes. While the listener is down every
    /// cached key is forgotten, so a missed notification costs a lookup, never a stale answer.
    pub fn follow_replicas(self: &Arc<Self>, database_url: String) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&database_url).await {
                    Ok(mut listener) => {
                        if listener.listen("gatehouse_keys").await.is_ok() {
                            me.forget(None);
                            while let Ok(n) = listener.recv().await {
                                me.forget(Some(n.payload()));
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "key change listener cannot connect"),
                }
                me.forget(None);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Checks a gateway's credential (`ghgw_…`): cached by its SHA-256 for the TTL.
    pub async fn gateway(&self, credential: &str) -> Result<i64, Code> {
        self.catch_up();
        if !credential.starts_with(GATEWAY_PREFIX) || credential.len() > 100 {
            return Err(Code::Invalid);
        }
        // Cached by the credential as presented (process memory only), so a hit needs no hash.
        let gateways = &self.gateways[thread_shard(THREAD_SHARDS)];
        if let Ok(cache) = gateways.read()
            && let Some(c) = cache.get(credential)
            && c.at.elapsed() < CACHE_TTL
        {
            return c.value.ok_or(Code::Invalid);
        }
        let hash = sha256_hex(credential);
        let lookup = credential[GATEWAY_PREFIX.len()..]
            .split('_')
            .next()
            .unwrap_or_default();
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, secret_hash FROM gateway_credentials WHERE lookup_id = $1 AND revoked_at IS NULL",
        )
        .bind(lookup)
        .fetch_optional(self.store.pool())
        .await
        .map_err(|_| Code::Unavailable)?;
        let id = row
            .filter(|(_, stored)| constant_time_eq(stored.as_bytes(), hash.as_bytes()))
            .map(|(id, _)| id);
        if let Ok(mut cache) = gateways.write() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(credential.to_owned(), Cached::new(id));
        }
        id.ok_or(Code::Invalid)
    }

    /// The key's record, from the cache while fresh at `at` (the call's start).
    async fn record(&self, lookup_id: &str, at: Instant) -> Result<Option<Arc<Record>>, Code> {
        let Some(id) = packed(lookup_id) else {
            return Ok(None);
        };
        let shard = &self.cache[lookup_shard(id)];
        if let Ok(cache) = shard.read()
            && let Some(c) = cache.get(&id)
        {
            let age = at.saturating_duration_since(c.at);
            if age < CACHE_TTL {
                add(&self.metrics.mine().cache_hits, 1);
                if age.as_millis() as u64
                    >= refresh_age(self.refresh_after_ms.load(Ordering::Relaxed), id)
                    && !c.refreshing.swap(true, Ordering::AcqRel)
                    && let Ok(mut queue) = self.refresh.lock()
                    && queue.len() < REFRESH_QUEUE_MAX
                {
                    queue.push(lookup_id.to_owned());
                }
                return Ok(c.value.clone());
            }
        }
        add(&self.metrics.mine().cache_misses, 1);
        let forgets = self.forgets.load(Ordering::Acquire);
        let loaded = match load(&self.store, lookup_id).await {
            Ok(r) => r,
            Err(error) => {
                add(&self.metrics.mine().store_failures, 1);
                tracing::warn!(%error, "key lookup failed; failing closed");
                return Err(Code::Unavailable);
            }
        };
        self.cache_record(lookup_id, loaded.clone(), forgets);
        Ok(loaded)
    }

    /// Caches a record read from the store, unless a key changed while it was read (it may
    /// predate the change; the next call reads it again).
    fn cache_record(&self, lookup_id: &str, record: Option<Arc<Record>>, forgets: u64) {
        let Some(id) = packed(lookup_id) else {
            return;
        };
        let shard = &self.cache[lookup_shard(id)];
        if let Ok(mut cache) = shard.write()
            && self.forgets.load(Ordering::Acquire) == forgets
        {
            if cache.len() >= CACHE_MAX / SHARDS {
                cache.clear();
            }
            cache.insert(id, Cached::new(record));
        }
    }

    /// Reads again the records queued by calls that used them after `REFRESH_AFTER`; run every
    /// second, [`LOAD_BATCH`] keys a statement. Answers how many were read. A record the store
    /// cannot give stays until its TTL runs out, and verification then fails closed as before.
    pub async fn refresh_cached(&self) -> usize {
        let queued = match self.refresh.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return 0,
        };
        let mut read = 0;
        for batch in queued.chunks(LOAD_BATCH) {
            let forgets = self.forgets.load(Ordering::Acquire);
            let ids: Vec<&str> = batch.iter().map(String::as_str).collect();
            match load_many(&self.store, &ids).await {
                Ok(records) => {
                    read += records.len();
                    for (lookup_id, record) in records {
                        self.cache_record(&lookup_id, record, forgets);
                    }
                }
                Err(error) => {
                    add(&self.metrics.mine().store_failures, 1);
                    tracing::warn!(%error, keys = batch.len(), "reading cached keys again failed; they run out as usual");
                    for id in batch.iter().filter_map(|lookup_id| packed(lookup_id)) {
                        if let Ok(cache) = self.cache[lookup_shard(id)].read()
                            && let Some(c) = cache.get(&id)
                        {
                            c.refreshing.store(false, Ordering::Release);
                        }
                    }
                }
            }
        }
        read
    }

    /// Sets the age after which a used record is read again in the background (tests).
    pub fn set_refresh_after(&self, age: Duration) {
        self.refresh_after_ms
            .store(age.as_millis() as u64, Ordering::Relaxed);
    }

    async fn routes(&self, api_id: i64) -> Arc<Routes> {
        if let Ok(cache) = self.routes.read()
            && let Some(c) = cache.get(&api_id)
            && c.at.elapsed() < CACHE_TTL
        {
            return Arc::clone(&c.value);
        }
        let routes = Arc::new(load_routes(&self.store, api_id).await.unwrap_or_default());
        if let Ok(mut cache) = self.routes.write() {
            cache.insert(api_id, Cached::new(Arc::clone(&routes)));
        }
        routes
    }

    /// Now, from the application's clock (fixed in tests).
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Verifies one call. `now` is Unix seconds (injected in tests).
    pub async fn verify(&self, req: &VerifyRequest<'_>, now: i64) -> Result<Allowed, Denied> {
        let started = Instant::now();
        self.catch_up();
        let result = self.check(req, now, started).await;
        self.metrics.observe(started.elapsed());
        let day = now - now.rem_euclid(DAY);
        match &result {
            Ok(allowed) => {
                add(&self.metrics.mine().allowed, 1);
                if let Ok(mut usage) = self.my_usage().lock() {
                    let entry = usage.entry((allowed.key_id(), day)).or_default();
                    entry.counts[0] += 1;
                    entry.last_used = Some(now);
                }
            }
            Err(denied) => {
                add(&self.metrics.mine().denied[denied.code.index()], 1);
            }
        }
        result
    }

    /// The calling thread's usage counts.
    fn my_usage(&self) -> &Mutex<UsageCounts> {
        &self.usage[thread_shard(THREAD_SHARDS)]
    }

    /// Counts a denial of a known key (its usage chart shows denials by reason).
    fn count(&self, key_id: i64, day: i64, denied: Code) {
        if let Ok(mut usage) = self.my_usage().lock() {
            usage.entry((key_id, day)).or_default().counts[1 + denied.index()] += 1;
        }
    }

    async fn check(
        &self,
        req: &VerifyRequest<'_>,
        now: i64,
        started: Instant,
    ) -> Result<Allowed, Denied> {
        let parsed = keys::parse(req.key.trim()).map_err(|_| Code::Invalid)?;
        let record = self
            .record(parsed.lookup_id, started)
            .await?
            .ok_or(Code::Invalid)?;
        let day = now - now.rem_euclid(DAY);
        let deny = |code: Code| {
            self.count(record.key_id, day, code);
            Denied::from(code)
        };
        let hash = self.hasher.hash(parsed.key);
        if !constant_time_eq(&hash, &record.secret_hash) {
            let previous = record
                .previous_hash
                .is_some_and(|p| constant_time_eq(&hash, &p));
            if !previous {
                return Err(Code::Invalid.into());
            }
            if record.previous_valid_until.is_none_or(|until| until <= now) {
                return Err(deny(Code::Expired));
            }
        }
        if record.revoked {
            return Err(deny(Code::Revoked));
        }
        if record.expires_at <= now {
            return Err(deny(Code::Expired));
        }
        if req.api.as_deref().is_some_and(|a| a != record.api())
            || req
                .environment
                .as_deref()
                .is_some_and(|e| !e.eq_ignore_ascii_case(record.environment()))
        {
            return Err(deny(Code::InsufficientScope));
        }
        if !record.ip_allowlist.is_empty() {
            let ip = req
                .ip
                .as_deref()
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok());
            if !ip.is_some_and(|ip| record.ip_allowlist.iter().any(|net| net.contains(&ip))) {
                return Err(deny(Code::IpNotAllowed));
            }
        }
        if let Some(wanted) = &req.scopes
            && !wanted
                .iter()
                .all(|s| record.scopes.iter().any(|have| have.as_str() == s.as_ref()))
        {
            return Err(deny(Code::InsufficientScope));
        }
        if let (Some(method), Some(path)) = (&req.method, &req.path) {
            let routes = self.routes(record.api_id).await;
            if let Some(alternatives) = routes.required(method, path)
                && !alternatives
                    .iter()
                    .any(|alt| alt.iter().all(|s| record.scopes.contains(s)))
            {
                return Err(deny(Code::InsufficientScope));
            }
        }
        if let Some(rate) = record.rate_per_minute
            && let Some(wait) = self.take_token(record.key_id, rate)
        {
            self.count(record.key_id, day, Code::RateLimited);
            return Err(Denied {
                code: Code::RateLimited,
                retry_after: Some(wait),
            });
        }
        Ok(Allowed(record))
    }

    /// Takes a token from the key's bucket (capacity: the per-minute rate, refilled evenly);
    /// `Some(seconds)` to wait when it is empty. Per replica.
    fn take_token(&self, key_id: i64, per_minute: u32) -> Option<u64> {
        let Ok(mut buckets) = self.buckets[shard(key_id)].lock() else {
            return None;
        };
        let capacity = f64::from(per_minute);
        let rate = capacity / 60.0;
        let now = Instant::now();
        let bucket = buckets.entry(key_id).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Writes the counted usage and last-used times in one transaction; run every few seconds.
    /// When the store cannot take them, the counts go back and wait for the next flush.
    pub async fn flush_usage(&self) -> Result<usize, sqlx::Error> {
        let _flushing = self.flushing.lock().await;
        // A key used on several threads is in several threads' counts: merged here, so each
        // (key, day) is one row of the statement (PostgreSQL refuses to update a row twice in
        // one `INSERT … ON CONFLICT`).
        let mut merged = UsageCounts::default();
        for shard in &self.usage {
            if let Ok(mut u) = shard.lock() {
                for (day_key, counted) in u.drain() {
                    merged.entry(day_key).or_default().merge(&counted);
                }
            }
        }
        let usage: Vec<((i64, i64), DayUsage)> = merged.into_iter().collect();
        if usage.is_empty() {
            return Ok(0);
        }
        match self.write_usage(&usage).await {
            Ok(()) => Ok(usage.len()),
            Err(error) => {
                if let Ok(mut mine) = self.my_usage().lock() {
                    for (day_key, counted) in usage {
                        mine.entry(day_key).or_default().merge(&counted);
                    }
                }
                Err(error)
            }
        }
    }

    /// Writes a flush in a few statements of many rows each (a flush can hold hundreds of
    /// thousands of keys when gateways spread calls across them; one statement per row kept the
    /// store busy for seconds).
    async fn write_usage(&self, usage: &[((i64, i64), DayUsage)]) -> Result<(), sqlx::Error> {
        let results = std::iter::once("ok").chain(Code::ALL.iter().map(|c| c.as_str()));
        let results: Vec<&str> = results.collect();
        let counts: Vec<(i64, i64, &str, i64)> = usage
            .iter()
            .flat_map(|((key_id, day), counted)| {
                results
                    .iter()
                    .zip(counted.counts)
                    .filter(|(_, count)| *count > 0)
                    .map(move |(result, count)| (*key_id, *day, *result, count))
            })
            .collect();
        // A key counted on two days (a flush across midnight) is last used at the later time.
        let mut last_used: HashMap<i64, i64> = HashMap::new();
        for ((key_id, _), counted) in usage {
            if let Some(at) = counted.last_used {
                let latest = last_used.entry(*key_id).or_insert(at);
                *latest = (*latest).max(at);
            }
        }
        // "Last used" is shown to the minute, so a key's time is written when its minute changes,
        // not on every flush: a thousand keys in steady use each changed a row of `api_keys`
        // every five seconds, several megabytes of SQLite's log a flush, which took a core
        // from the calls being answered. The time stored is the key's first call in the minute
        // it was last used.
        let minute = |at: i64| at.div_euclid(60);
        let last_used: Vec<(i64, i64)> = match self.last_used_written.lock() {
            Ok(written) => last_used
                .into_iter()
                .filter(|(key_id, at)| written.get(key_id) != Some(&minute(*at)))
                .collect(),
            Err(_) => last_used.into_iter().collect(),
        };

        let mut tx = self.store.pool().begin().await?;
        for rows in counts.chunks(USAGE_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO key_usage (key_id, day, result, count) VALUES {}
                 ON CONFLICT (key_id, day, result) DO UPDATE SET count = key_usage.count + excluded.count",
                values_rows(&tx, rows.len(), 4)
            );
            let mut query = sqlx::query(&sql);
            for (key_id, day, result, count) in rows {
                query = query.bind(key_id).bind(day).bind(*result).bind(count);
            }
            query.execute(&mut *tx).await?;
        }
        for rows in last_used.chunks(USAGE_ROWS_PER_STATEMENT) {
            // A VALUES list's columns are `column1`, `column2` in both SQLite and PostgreSQL.
            let sql = format!(
                "UPDATE api_keys SET last_used_at = v.column2 FROM (VALUES {}) AS v
                 WHERE api_keys.id = v.column1 AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.column2)",
                values_rows(&tx, rows.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for (key_id, at) in rows {
                query = query.bind(key_id).bind(at);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        if let Ok(mut written) = self.last_used_written.lock()
            && let Some(newest) = last_used.iter().map(|(_, at)| minute(*at)).max()
        {
            // A minute before the newest written is past: no later call falls in it.
            written.retain(|_, m| *m >= newest);
            written.extend(last_used.iter().map(|(key_id, at)| (*key_id, minute(*at))));
        }
        Ok(())
    }
}

/// Rows per statement when writing usage: 2,000 parameters at most, well under SQLite's limit
/// (32,766) and PostgreSQL's (65,535).
const USAGE_ROWS_PER_STATEMENT: usize = 500;

pub const GATEWAY_PREFIX: &str = "ghgw_";

async fn load(store: &Store, lookup_id: &str) -> Result<Option<Arc<Record>>, sqlx::Error> {
    let mut found = load_many(store, &[lookup_id]).await?;
    Ok(found.pop().and_then(|(_, record)| record))
}

/// How many keys one background read asks for in a statement.
const LOAD_BATCH: usize = 200;

/// The records of several keys in two statements (their rows, then their scopes), whatever
/// their number up to [`LOAD_BATCH`]: the background refresh reads every key due in one go
/// rather than two statements a key. Each lookup id asked for comes back with its record, a
/// lookup id asked for twice twice (a key forgotten and queued again before the read), with
/// `None` for a key that does not exist (or whose stored hash is malformed). A batch's statement
/// is not kept prepared: its placeholder count changes from batch to batch, and each count kept
/// would push a statement the pages use out of the connection's statement cache.
async fn load_many(
    store: &Store,
    lookup_ids: &[&str],
) -> Result<Vec<(String, Option<Arc<Record>>)>, sqlx::Error> {
    if lookup_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = |n: usize| {
        (1..=n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT k.lookup_id, k.id, k.secret_hash, k.previous_secret_hash, k.previous_valid_until, k.expires_at,
                k.revoked_at, k.ip_allowlist, k.rate_limit_per_minute, g.api_id, g.revoked_at AS grant_revoked,
                g.expires_at AS grant_expires, p.id AS person_id, p.email, p.kind, p.deactivated_at,
                p.contract_ends_at, a.slug, e.name AS env
         FROM api_keys k JOIN grants g ON g.id = k.grant_id JOIN people p ON p.id = k.person_id
              JOIN apis a ON a.id = g.api_id JOIN environments e ON e.id = g.environment_id
         WHERE k.lookup_id IN ({})",
        list(lookup_ids.len())
    );
    let mut query = sqlx::query(&sql).persistent(lookup_ids.len() == 1);
    for id in lookup_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(store.pool()).await?;
    let key_ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut scopes: HashMap<i64, Vec<String>> = HashMap::new();
    if !key_ids.is_empty() {
        let sql = format!(
            "SELECT ks.key_id, s.name FROM api_key_scopes ks JOIN scopes s ON s.id = ks.scope_id
             WHERE ks.key_id IN ({}) ORDER BY ks.key_id, s.name",
            list(key_ids.len())
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql).persistent(key_ids.len() == 1);
        for id in &key_ids {
            query = query.bind(*id);
        }
        for (key_id, name) in query.fetch_all(store.pool()).await? {
            scopes.entry(key_id).or_default().push(name);
        }
    }
    let mut records: HashMap<String, Arc<Record>> = HashMap::with_capacity(rows.len());
    for r in &rows {
        let key_id: i64 = r.try_get("id")?;
        let lookup_id: String = r.try_get("lookup_id")?;
        if let Some(record) = record_from(r, scopes.remove(&key_id).unwrap_or_default())? {
            records.insert(lookup_id, Arc::new(record));
        }
    }
    Ok(lookup_ids
        .iter()
        .map(|id| (id.to_string(), records.get(*id).cloned()))
        .collect())
}

/// A key's record from its row (see [`load_many`]) and its scopes.
fn record_from(r: &sqlx::any::AnyRow, scopes: Vec<String>) -> Result<Option<Record>, sqlx::Error> {
    let key_id: i64 = r.try_get("id")?;
    let kind: String = r.try_get("kind")?;
    let expires_at = crate::server::db::contract_capped(
        r,
        r.try_get::<i64, _>("expires_at")?
            .min(r.try_get("grant_expires")?),
    )?;
    let hash = |text: Option<String>| -> Option<[u8; 32]> {
        decode_hex(&text?).and_then(|bytes| bytes.try_into().ok())
    };
    // A stored hash that is not 32 bytes of hex matches nothing.
    let Some(secret_hash) = hash(r.try_get("secret_hash")?) else {
        tracing::warn!(
            key_id,
            "stored key hash is malformed; the key cannot verify"
        );
        return Ok(None);
    };
    let subject = Subject {
        id: r.try_get("person_id")?,
        email: r.try_get("email")?,
        kind,
    };
    let api: String = r.try_get("slug")?;
    let environment: String = r.try_get("env")?;
    let answer = serde_json::to_string(&Answer {
        valid: true,
        key_id,
        subject: &subject,
        api: &api,
        environment: &environment,
        scopes: &scopes,
        expires_at,
    })
    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    // A value a header cannot carry (an e-mail address outside ASCII) is left out.
    let forward_headers = [
        ("x-gatehouse-subject", subject.email.clone()),
        ("x-gatehouse-scopes", scopes.join(" ")),
        ("x-gatehouse-key-id", key_id.to_string()),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        Some((
            HeaderName::from_static(name),
            HeaderValue::try_from(value).ok()?,
        ))
    })
    .collect();
    Ok(Some(Record {
        key_id,
        expires_at,
        secret_hash,
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some()
            || r.try_get::<Option<i64>, _>("grant_revoked")?.is_some()
            || r.try_get::<Option<i64>, _>("deactivated_at")?.is_some(),
        rate_per_minute: r
            .try_get::<Option<i64>, _>("rate_limit_per_minute")?
            .map(|r| r.clamp(1, u32::MAX as i64) as u32),
        api_end: api.len(),
        environment_end: api.len() + environment.len(),
        text: [api, environment, answer].concat().into_boxed_str(),
        ip_allowlist: r
            .try_get::<Option<String>, _>("ip_allowlist")?
            .map(|t| t.split(',').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default(),
        scopes,
        previous_hash: hash(r.try_get("previous_secret_hash")?),
        previous_valid_until: r.try_get("previous_valid_until")?,
        api_id: r.try_get("api_id")?,
        subject,
        forward_headers,
    }))
}

/// The route table of an API's shown version.
async fn load_routes(store: &Store, api_id: i64) -> Result<Routes, sqlx::Error> {
    let spec: Option<Option<String>> = sqlx::query_scalar(
        "SELECT v.spec_source FROM api_versions v WHERE v.api_id = $1
         ORDER BY CASE v.status WHEN 'current' THEN 0 ELSE 1 END, v.published_at DESC, v.id DESC LIMIT 1",
    )
    .bind(api_id)
    .fetch_optional(store.pool())
    .await?;
    let Some(Some(text)) = spec else {
        return Ok(Routes::default());
    };
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(_) => crate::server::render::yaml::parse(&text).unwrap_or_default(),
    };
    Ok(Routes::from_spec(&doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fall_due_for_a_background_read_spread_over_the_second_half_of_the_refresh_age() {
        assert_eq!(refresh_age(0, 12345), 0);
        let after = REFRESH_AFTER.as_millis() as u64;
        let mut seconds = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let (_, lookup_id) = keys::generate("production");
            let age = refresh_age(after, packed(&lookup_id).unwrap());
            assert!((after / 2..=after).contains(&age), "{age} ms");
            seconds.insert(age / 1000);
        }
        // A thousand keys loaded together fall due in every second from 10 s to 20 s.
        assert!((10..20).all(|s| seconds.contains(&s)), "{seconds:?}");
    }

    #[test]
    fn operation_scopes_come_from_the_spec_with_templates_matched() {
        let doc = serde_json::json!({
            "security": [{"oauth": ["read:pets"]}],
            "paths": {
                "/pets": {"get": {}, "post": {"security": [{"oauth": ["write:pets"]}]}},
                "/pets/{petId}": {"delete": {"security": [{"oauth": ["write:pets", "admin"]}, {"key": ["root"]}]}},
                "/pets/mine": {"get": {"security": [{}]}},
            }
        });
        let routes = Routes::from_spec(&doc);
        let req = |m: &str, p: &str| routes.required(m, p).map(|a| a.to_vec());
        assert_eq!(
            req("GET", "/pets"),
            Some(vec![vec!["read:pets".to_owned()]])
        );
        assert_eq!(
            req("post", "/v3/pets?x=1"),
            Some(vec![vec!["write:pets".to_owned()]])
        );
        assert_eq!(
            req("DELETE", "/pets/42"),
            Some(vec![
                vec!["write:pets".to_owned(), "admin".to_owned()],
                vec!["root".to_owned()]
            ])
        );
        assert_eq!(req("GET", "/pets/mine"), Some(vec![vec![]]));
        assert_eq!(req("GET", "/stores"), None);
    }

    #[test]
    fn metrics_render_as_prometheus_text() {
        let m = Metrics::default();
        m.observe(Duration::from_micros(80));
        add(&m.mine().allowed, 3);
        let text = m.render();
        assert!(text.contains("gatehouse_verifications_total{result=\"allowed\"} 3"));
        assert!(text.contains("gatehouse_verify_duration_seconds_bucket{le=\"0.0001\"} 1"));
        assert!(text.contains("gatehouse_verify_duration_seconds_count 1"));
    }
}
