//! Gatehouse, the internal API portal: a catalog of internal APIs with rendered docs, access
//! requests approved by the right people, and scoped, expiring API keys that gateways verify.
//!
//! Feature `ssr` builds the server, feature `hydrate` the browser bundle.

// Leptos views are deeply nested types; the API page's exceeds the default limit of 128.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser bundle's entry point. Pages are rendered on the server only; the islands on a
/// page (its interactive parts) are hydrated one by one after this, each fetching its own code
/// if it is a lazy one. A page without islands is ready now.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    app::mark_hydrated_when_islands_are();
}
