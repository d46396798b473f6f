//! Reusable view pieces: the design system's badges, panels and the sign-in guard.

pub mod header;

use crate::app::use_me;
use crate::domain::url::encode_component;
use crate::model::{AppError, Lifecycle, PersonKind, Risk, Visibility};
use leptos::prelude::*;

#[component]
pub fn LifecycleBadge(lifecycle: Lifecycle) -> impl IntoView {
    view! { <span class=format!("badge lifecycle-{}", lifecycle.as_str())>{lifecycle.label()}</span> }
}

#[component]
pub fn RiskBadge(risk: Risk) -> impl IntoView {
    view! { <span class=format!("badge risk-{}", risk.as_str())>{risk.label()}</span> }
}

#[component]
pub fn VisibilityBadge(visibility: Visibility) -> impl IntoView {
    view! { <span class=format!("badge visibility-{}", visibility.as_str())>{visibility.label()}</span> }
}

#[component]
pub fn KindBadge(kind: PersonKind) -> impl IntoView {
    view! { <span class=format!("badge kind-{}", kind.as_str())>{kind.label()}</span> }
}

/// An error as people should see it: what happened and what they can do.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let hint = match &error {
        AppError::Unauthenticated => {
            Some(view! { <a class="button" href="/sign-in">"Sign in"</a> }.into_any())
        }
        AppError::NotFound(_) | AppError::Forbidden => {
            Some(view! { <a class="button" href="/">"Back to the catalog"</a> }.into_any())
        }
        _ => None,
    };
    view! {
        <div class="panel panel-error" role="alert">
            <p>{error.to_string()}</p>
            {hint}
        </div>
    }
}

/// An empty state: a heading, a sentence, and optionally one action.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state">
            <h2>{title}</h2>
            {children()}
        </div>
    }
}

/// Shows its children to a signed-in person; sends anyone else to the sign-in page and back.
///
/// The children are built inside a Suspense, which server rendering runs more than once (to
/// find the resources read, then to render): a resource created in them would be created, and
/// its server function called and its data sent, once per run. A page therefore creates its
/// resources (and the actions they refetch on) above `SignedIn` and passes them down.
///
/// View closures read with `try_`: when a client goes away mid-render, Leptos can still run one
/// after the page's owner (and its resources) are gone, and a plain `get` would panic there.
#[component]
pub fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let me = use_me();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                me.try_get()
                    .flatten()
                    .map(|result| match result {
                        Ok(Some(_)) => children().into_any(),
                        Ok(None) => {
                            go(&format!("/sign-in?next={}", encode_component(&here())));
                            ().into_any()
                        }
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

/// One of the page's path parameters (`:slug`, `:id`), as the router matched it; empty when
/// absent. For a page's server component, which hands it to its island.
pub fn path_param(name: &str) -> String {
    leptos_router::hooks::use_params_map()
        .read_untracked()
        .get(name)
        .unwrap_or_default()
}

/// The page's path and query: the request's on the server, the address bar's in the browser.
pub fn here() -> String {
    #[cfg(feature = "ssr")]
    let here = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.uri.path_and_query().map(|p| p.as_str().to_owned()));
    #[cfg(not(feature = "ssr"))]
    let here = {
        let location = window().location();
        Some(format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        ))
    };
    here.filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_owned())
}

/// Goes to another page: a redirect while the server renders, a page load in the browser (pages
/// are rendered on the server; there is no router in the browser).
pub fn go(url: &str) {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(url);
    #[cfg(not(feature = "ssr"))]
    let _ = window().location().assign(url);
}

/// A page's title, "… · Gatehouse". The format goes with each title rather than once for the
/// app: a title set in an island is set again in the browser, where the app's root is not.
#[component]
pub fn Title(#[prop(into)] text: String) -> impl IntoView {
    leptos_meta::Title(
        leptos_meta::TitleProps::builder()
            .text(text)
            .formatter(format_title)
            .build(),
    )
}

/// "… · Gatehouse", or "Gatehouse" for a page without a title of its own.
pub fn format_title(text: String) -> String {
    if text.is_empty() {
        "Gatehouse".to_owned()
    } else {
        format!("{text} · Gatehouse")
    }
}

/// The event an island sends after an action that may change the header's numbers (a
/// decision, reading notifications), so the bell and the approvals count follow.
pub const COUNTS_CHANGED: &str = "gatehouse-counts-changed";

/// Tells the header's counters to read their numbers again each time `version` changes (an
/// action's version signal).
pub fn counts_follow(version: impl Fn() -> usize + Send + Sync + 'static) {
    Effect::new(move |previous: Option<usize>| {
        let now = version();
        if previous.is_some_and(|p| p != now)
            && let Ok(event) = leptos::web_sys::Event::new(COUNTS_CHANGED)
        {
            let _ = window().dispatch_event(&event);
        }
        now
    });
}

/// Selects all of a field's text when it gets focus: secrets shown once, taken in one copy.
pub fn select_all(event: leptos::ev::FocusEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(input) = event
        .target()
        .and_then(|target| target.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
    {
        input.select();
    }
}

/// Puts text on the clipboard. The browser may refuse (no permission, not a secure context);
/// the text stays in its field to copy by hand.
pub fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    let _ = clipboard::write_text(text);
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[cfg(feature = "hydrate")]
mod clipboard {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `navigator.clipboard.writeText`; an exception (no clipboard here) is returned, not thrown.
        #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
        pub fn write_text(text: &str) -> Result<JsValue, JsValue>;
    }
}
