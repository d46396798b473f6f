//! The docs page cache: a signed-in person who opens an API's reference or one of its guides
//! again gets the page as it was rendered for them, without rendering it again, for as long as
//! nothing it can show has changed.
//!
//! - **What is kept:** whole pages, per session and address, only for the docs pages (the
//!   reference and guides: the large, read-all-day pages), only for employees (a contractor's
//!   access ends at a time, not at a change), and only answers a page made whole (200, HTML, no
//!   cookie set).
//! - **When one is answered again:** while the store's page generation is the one read before
//!   the page was rendered. Every committed change to a table a page can show moves it on (the
//!   `page_generation` migration's triggers), from any replica or process, so a kept page is
//!   never older than a change committed before the request came. The generation is read for
//!   every request; requests that come while a read is under way share the next one.
//! - **The session:** a kept page is answered only within its session's window (its end, its
//!   idle end, and the minute after which `last_seen_at` is due to be written again); ending a
//!   session deletes its row, which moves the generation.
//! - **Each answer has its own CSP nonce:** the kept page is split where its nonce stood, and a
//!   fresh one goes in.
//! - `Cache-Control: no-cache` from the browser (a hard reload) renders the page anew.
//!
//! Answers say `x-gatehouse-page: kept` or `rendered`, so an operator can see which it was.

use super::db::Store;
use super::edge::{self, ResolvedActor};
use super::services::sessions;
use super::state::AppState;
use crate::model::PersonKind;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The longest a kept page is answered, whatever else holds: bounds anything a page shows that
/// moves with time alone.
const MAX_AGE: i64 = 60;
/// The most the kept pages hold, in bytes; the oldest go first.
const BUDGET: usize = 32 << 20;
/// A larger page is not kept.
const LARGEST: usize = 4 << 20;
/// The header saying whether a page was kept or rendered.
pub const SOURCE_HEADER: &str = "x-gatehouse-page";

/// Which session's page, at which address (path and query). The session by its hash, so no
/// session token sits in memory longer than its request.
type Key = (String, String);

/// One kept page.
struct Kept {
    generation: i64,
    /// Unix seconds: answered only before this.
    until: i64,
    /// The page split where its nonce stood.
    parts: Vec<Bytes>,
    /// The page's headers but its CSP (rebuilt with the new nonce) and its length.
    headers: Vec<(HeaderName, HeaderValue)>,
    size: usize,
}

#[derive(Default)]
struct Shelf {
    pages: HashMap<Key, Arc<Kept>>,
    order: VecDeque<Key>,
    bytes: usize,
}

/// The kept pages and the generation reader of one process.
pub struct PageCache {
    kept: Mutex<Shelf>,
    generation: Generation,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache").finish_non_exhaustive()
    }
}

impl PageCache {
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Self {
            kept: Mutex::default(),
            generation: Generation::new(store),
        })
    }

    fn get(&self, key: &Key) -> Option<Arc<Kept>> {
        self.kept.lock().ok()?.pages.get(key).cloned()
    }

    fn put(&self, key: Key, page: Kept) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        // Pages of an older generation are never answered again: drop them all.
        let generation = page.generation;
        if kept.pages.values().any(|p| p.generation < generation) {
            kept.pages.retain(|_, p| p.generation >= generation);
            let Shelf { pages, order, .. } = &mut *kept;
            order.retain(|k| pages.contains_key(k));
            kept.bytes = kept.pages.values().map(|p| p.size).sum();
        }
        kept.bytes += page.size;
        if let Some(old) = kept.pages.insert(key.clone(), Arc::new(page)) {
            kept.bytes -= old.size;
            kept.order.retain(|k| k != &key);
        }
        kept.order.push_back(key);
        while kept.bytes > BUDGET {
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            if let Some(gone) = kept.pages.remove(&oldest) {
                kept.bytes -= gone.size;
            }
        }
    }
}

/// Whether a request is for a docs page: `/apis/{slug}/reference` or
/// `/apis/{slug}/guides/{guide}`.
fn docs_page(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/apis/") else {
        return false;
    };
    let mut segments = rest.split('/');
    let (Some(slug), Some(kind)) = (segments.next(), segments.next()) else {
        return false;
    };
    if slug.is_empty() {
        return false;
    }
    match (kind, segments.next(), segments.next()) {
        ("reference", None, None) => true,
        ("guides", Some(guide), None) => !guide.is_empty(),
        _ => false,
    }
}

/// The browser asked for a fresh page (a hard reload).
fn wants_fresh(headers: &HeaderMap) -> bool {
    [header::CACHE_CONTROL, header::PRAGMA].iter().any(|name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("no-cache"))
    })
}

/// The middleware in front of the pages (see the module's documentation).
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.method() != Method::GET || !docs_page(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(token) = edge::session_token(request.headers(), &state.config) else {
        return next.run(request).await;
    };
    let cache = &state.pages;
    // Read before anything the page shows is: a change committed after it moves it on.
    let Some(generation) = cache.generation.current().await else {
        return next.run(request).await;
    };
    let address = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let key = (crate::server::secrets::sha256_hex(&token), address);
    let now = state.clock.now();
    if !wants_fresh(request.headers())
        && let Some(page) = cache.get(&key)
        && page.generation == generation
        && now < page.until
    {
        return answer(&page);
    }
    let resolved = match sessions::resolve_with_window(
        &state.store,
        &token,
        edge::timeouts(&state.config),
        now,
    )
    .await
    {
        Ok(Some(resolved)) => resolved,
        // Signed out, or the store failed: the page says so as it always does.
        Ok(None) | Err(_) => return next.run(request).await,
    };
    let (actor, window) = resolved;
    let keep = actor.kind == PersonKind::Employee;
    request.extensions_mut().insert(ResolvedActor(actor));
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(SOURCE_HEADER, HeaderValue::from_static("rendered"));
    if !keep || !keepable(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, LARGEST).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "a docs page could not be read whole to keep it");
            let mut failed = Response::from_parts(parts, Body::empty());
            *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            failed.headers_mut().remove(header::CONTENT_LENGTH);
            return failed;
        }
    };
    if let Some(nonce) = parts
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .and_then(nonce_of)
    {
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    *name,
                    &header::CONTENT_SECURITY_POLICY | &header::CONTENT_LENGTH
                )
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let size = bytes.len();
        cache.put(
            key,
            Kept {
                generation,
                until: (now + MAX_AGE).min(window.live_until),
                parts: split(&bytes, nonce.as_bytes()),
                headers,
                size,
            },
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A whole page for the person: 200, HTML, no cookie set, a known length under the limit.
fn keepable(response: &Response) -> bool {
    let headers = response.headers();
    response.status() == StatusCode::OK
        && headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/html"))
        && !headers.contains_key(header::SET_COOKIE)
}

/// The nonce in a page's CSP (`'nonce-…'`).
fn nonce_of(policy: &str) -> Option<&str> {
    let start = policy.find("'nonce-")? + "'nonce-".len();
    let len = policy[start..].find('\'')?;
    Some(&policy[start..start + len]).filter(|n| !n.is_empty())
}

/// `page` cut at every occurrence of `nonce` (which is dropped).
fn split(page: &Bytes, nonce: &[u8]) -> Vec<Bytes> {
    let mut parts = Vec::new();
    let mut from = 0;
    for at in memchr::memmem::find_iter(page, nonce) {
        parts.push(page.slice(from..at));
        from = at + nonce.len();
    }
    parts.push(page.slice(from..));
    parts
}

/// A fresh nonce: 128 random bits, base64url.
fn fresh_nonce() -> Option<String> {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A kept page, with a nonce of its own.
fn answer(page: &Kept) -> Response {
    let Some(nonce) = fresh_nonce() else {
        return axum::response::IntoResponse::into_response((
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        ));
    };
    let mut body = Vec::with_capacity(page.size + page.parts.len() * nonce.len());
    for (i, part) in page.parts.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(nonce.as_bytes());
        }
        body.extend_from_slice(part);
    }
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    for (name, value) in &page.headers {
        headers.append(name.clone(), value.clone());
    }
    if let Ok(policy) = HeaderValue::from_str(&super::http::page_policy(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(SOURCE_HEADER, HeaderValue::from_static("kept"));
    response
}

/// The store's page generation, read for every request that needs it: a request that comes
/// while a read is under way waits for the next read (which starts after it came), and every
/// request waiting then shares that one.
#[derive(Clone)]
struct Generation(Arc<Reader>);

struct Reader {
    store: Store,
    reads: Mutex<Reads>,
    /// (the last read finished, what it read: `None` if the store failed).
    done: watch::Sender<(u64, Option<i64>)>,
}

#[derive(Default)]
struct Reads {
    started: u64,
    running: bool,
    /// A request came while the read under way ran: another must follow it.
    again: bool,
}

impl Generation {
    fn new(store: Store) -> Self {
        Self(Arc::new(Reader {
            store,
            reads: Mutex::default(),
            done: watch::Sender::new((0, None)),
        }))
    }

    /// The generation as of a read that started after this call did; `None` if the store
    /// could not answer.
    async fn current(&self) -> Option<i64> {
        let mut done = self.0.done.subscribe();
        let (wanted, start) = {
            let mut reads = self.0.reads.lock().ok()?;
            if reads.running {
                reads.again = true;
                (reads.started + 1, false)
            } else {
                reads.started += 1;
                reads.running = true;
                (reads.started, true)
            }
        };
        if start {
            self.spawn_read(wanted);
        }
        let seen = done.wait_for(|(read, _)| *read >= wanted).await.ok()?;
        seen.1
    }

    /// Runs read `number` apart from any request (a request that goes away mid-read leaves the
    /// others their answer), and the next one straight after it when requests came meanwhile.
    fn spawn_read(&self, number: u64) {
        let me = self.clone();
        tokio::spawn(async move {
            let value: Option<i64> =
                sqlx::query_scalar("SELECT n FROM page_generation WHERE id = 1")
                    .fetch_one(me.0.store.pool())
                    .await
                    .inspect_err(
                        |error| tracing::warn!(%error, "the page generation could not be read"),
                    )
                    .ok();
            let next = match me.0.reads.lock() {
                Ok(mut reads) if reads.again => {
                    reads.again = false;
                    reads.started += 1;
                    Some(reads.started)
                }
                Ok(mut reads) => {
                    reads.running = false;
                    None
                }
                Err(_) => None,
            };
            me.0.done.send_replace((number, value));
            if let Some(next) = next {
                me.spawn_read(next);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reference_and_guides_are_docs_pages() {
        for path in [
            "/apis/files/reference",
            "/apis/pet-store/guides/stripe-cli-readme",
        ] {
            assert!(docs_page(path), "{path}");
        }
        for path in [
            "/",
            "/apis/files",
            "/apis//reference",
            "/apis/files/reference/extra",
            "/apis/files/guides",
            "/apis/files/guides/",
            "/apis/files/guides/a/b",
            "/apis/files/changelog",
            "/apis/files/edit",
            "/api/catalog/reference",
        ] {
            assert!(!docs_page(path), "{path}");
        }
    }

    #[test]
    fn a_page_is_cut_where_its_nonce_stands_and_joined_with_another() {
        let page =
            Bytes::from_static(b"<script nonce=\"abc\">x</script><link crossorigin=\"abc\">abc");
        let parts = split(&page, b"abc");
        assert_eq!(parts.len(), 4);
        let joined = parts
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
            .join("XYZ");
        assert_eq!(
            joined,
            "<script nonce=\"XYZ\">x</script><link crossorigin=\"XYZ\">XYZ"
        );
        assert_eq!(split(&Bytes::from_static(b"none here"), b"abc").len(), 1);
    }

    #[test]
    fn the_nonce_is_read_from_the_policy() {
        assert_eq!(
            nonce_of(&super::super::http::page_policy("n0nce")),
            Some("n0nce")
        );
        assert_eq!(nonce_of("default-src 'none'"), None);
        assert_eq!(nonce_of("script-src 'nonce-'"), None);
        let a = fresh_nonce().unwrap();
        assert_eq!(a.len(), 22);
        assert_ne!(a, fresh_nonce().unwrap());
    }

    #[test]
    fn a_hard_reload_asks_for_a_fresh_page() {
        let mut headers = HeaderMap::new();
        assert!(!wants_fresh(&headers));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
        assert!(!wants_fresh(&headers), "a plain reload");
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("No-Cache"));
        assert!(wants_fresh(&headers));
        let mut headers = HeaderMap::new();
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        assert!(wants_fresh(&headers));
    }
}
