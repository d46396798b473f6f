//! The application state, built once in `main` and handed to handlers (axum state) and server
//! functions (Leptos context).

use super::config::Config;
use super::db::Store;
use super::oidc::{Provider, ProviderError};
use super::secrets::Secrets;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where "now" comes from. Services take `now` as an argument; this is the one place that reads
/// the system clock, so tests can move time instead of sleeping.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    pub fn fixed(at: i64) -> Self {
        Clock::Fixed(Arc::new(AtomicI64::new(at)))
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
            Clock::Fixed(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a fixed clock forward; a system clock ignores it.
    pub fn advance(&self, seconds: i64) {
        if let Clock::Fixed(at) = self {
            at.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

/// Cheap to clone: axum clones the state for every request it routes.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// What every handler and server function shares.
#[derive(Debug)]
pub struct Shared {
    pub store: Store,
    pub config: Arc<Config>,
    pub secrets: Arc<Secrets>,
    pub clock: Clock,
    pub leptos_options: LeptosOptions,
    /// The company's identity provider, when configured.
    pub oidc: Option<Arc<Provider>>,
    /// Key verification for gateways, with its cache and counters.
    pub verifier: Arc<super::verify::Verifier>,
    /// Docs pages kept per session until something they show changes.
    pub pages: Arc<super::page_cache::PageCache>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The gateway endpoints take only the verifier: cloning the whole state per call showed in the
/// profile of the hot path.
impl FromRef<AppState> for Arc<super::verify::Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl AppState {
    pub fn new(
        store: Store,
        config: Config,
        secrets: Secrets,
        clock: Clock,
    ) -> Result<Self, ProviderError> {
        let leptos_options = LeptosOptions::builder()
            .output_name("gatehouse")
            .site_root(config.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(config.bind)
            .build();
        let oidc = match &config.oidc {
            Some(oidc) => Some(Arc::new(Provider::new(oidc.clone(), &config.origin())?)),
            None => None,
        };
        let verifier =
            super::verify::Verifier::new(store.clone(), secrets.key_pepper.expose(), clock.clone());
        let pages = super::page_cache::PageCache::new(store.clone());
        Ok(Self(Arc::new(Shared {
            verifier,
            pages,
            store,
            config: Arc::new(config),
            secrets: Arc::new(secrets),
            clock,
            leptos_options,
            oidc,
        })))
    }
}
