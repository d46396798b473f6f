//! The header on every page: product name, navigation, search and the signed-in person.

use super::KindBadge;
use crate::app::use_me;
use crate::model::PersonKind;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};
use serde::{Deserialize, Serialize};

#[component]
pub fn Header() -> impl IntoView {
    let me = use_me();
    let query = use_query_map();
    let location = use_location();
    // Read on the server with the page; the counters' islands follow what the person does on it.
    let counts = Resource::new(|| (), |_| crate::api::get_counts());
    let count = move |pick: fn(&crate::model::Counts) -> i64| {
        counts
            .try_get()
            .flatten()
            .and_then(Result::ok)
            .map(|c| pick(&c))
            .unwrap_or(0)
    };
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <img class="brand-mark" src="/favicon.svg" width="22" height="22" alt="" />
                "Gatehouse"
            </a>
            <nav class="site-nav" aria-label="Main">
                <a href="/">"Catalog"</a>
                <Suspense fallback=|| ()>
                    {move || {
                        me.try_get()
                            .flatten()
                            .and_then(Result::ok)
                            .flatten()
                            .map(|me| {
                                view! {
                                    <a href="/access">"My access"</a>
                                    <a href="/keys">"Keys"</a>
                                    {(me.kind == PersonKind::Employee)
                                        .then(|| {
                                            view! {
                                                <a href="/approvals" data-testid="approvals-link">
                                                    "Approvals"
                                                    {move || view! { <LiveCount which=Which::Approvals initial=count(|c| c.approvals) /> }}
                                                </a>
                                                <a href="/teams">"Teams"</a>
                                                <a href="/invitations">"Invitations"</a>
                                            }
                                        })}
                                    {me.is_admin.then(|| view! { <a href="/admin/people">"People"</a> <a href="/admin/access">"Limits"</a> <a href="/admin/gateways">"Gateways"</a> })}
                                }
                            })
                    }}
                </Suspense>
            </nav>
            <form class="site-search" method="get" action="/search" role="search">
                <input
                    id="site-search"
                    type="search"
                    name="q"
                    aria-label="Search APIs, guides and operations"
                    aria-keyshortcuts="/"
                    placeholder="Search…  /"
                    maxlength="200"
                    value=move || {
                        // The search page's own words; other pages' `q` (the People page's
                        // search, the catalog's filter) are not a site search.
                        let on_search = location.pathname.try_with(|p| p == "/search").unwrap_or(false);
                        on_search
                            .then(|| query.try_with(|q| q.get("q")).flatten())
                            .flatten()
                            .unwrap_or_default()
                    }
                />
                <SearchShortcut />
            </form>
            <div class="site-user">
                <Suspense fallback=|| ()>
                    {move || {
                        me.try_get()
                            .flatten()
                            .map(|result| match result {
                                Ok(Some(me)) => {
                                    view! {
                                        <a class="bell" href="/notifications" title="Notifications" data-testid="bell">
                                            <svg class="bell-icon" aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                                                <path d="M12 3a6 6 0 0 0-6 6v3.6L4.3 15.3A1 1 0 0 0 5.1 17h13.8a1 1 0 0 0 .8-1.7L18 12.6V9a6 6 0 0 0-6-6Zm-2.5 15.5a2.5 2.5 0 0 0 5 0Z" fill="currentColor" />
                                            </svg>
                                            <span class="visually-hidden">"Notifications"</span>
                                            {move || view! { <LiveCount which=Which::Unread initial=count(|c| c.unread) /> }}
                                        </a>
                                        <a class="user-name" href="/me" data-testid="signed-in-as" title="My profile">{me.name.clone()}</a>
                                        <KindBadge kind=me.kind />
                                        {me.is_admin.then(|| view! { <span class="badge badge-admin">"Admin"</span> })}
                                        <form method="post" action="/auth/sign-out">
                                            <button class="button button-quiet" type="submit">"Sign out"</button>
                                        </form>
                                    }
                                        .into_any()
                                }
                                _ => view! { <a class="button" href="/sign-in">"Sign in"</a> }.into_any(),
                            })
                    }}
                </Suspense>
            </div>
        </header>
    }
}

/// Which of the header's numbers a counter shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    Approvals,
    Unread,
}

/// One of the header's numbers (stages waiting for the viewer, unread notifications), shown when
/// above zero. Rendered with the page; read again when an island on the page says an action may
/// have changed it (`components::counts_follow`).
#[island]
fn LiveCount(which: Which, initial: i64) -> impl IntoView {
    crate::app::island_ready();
    let n = RwSignal::new(initial);
    let listener = window_event_listener_untyped(crate::components::COUNTS_CHANGED, move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(counts) = crate::api::get_counts().await {
                n.set(match which {
                    Which::Approvals => counts.approvals,
                    Which::Unread => counts.unread,
                });
            }
        });
    });
    on_cleanup(move || listener.remove());
    let testid = match which {
        Which::Approvals => "approvals-count",
        Which::Unread => "unread-count",
    };
    move || (n.get() > 0).then(|| view! { <span class="count" data-testid=testid>{n.get()}</span> })
}

/// `/` from anywhere (but a text field) puts the cursor in the search box.
#[island]
fn SearchShortcut() -> impl IntoView {
    crate::app::island_ready();
    let shortcut = window_event_listener(leptos::ev::keydown, move |ev| {
        use leptos::wasm_bindgen::JsCast;
        if ev.key() != "/" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let typing = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            .is_some_and(|el| {
                matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                    || el.is_content_editable()
            });
        let input = document()
            .get_element_by_id("site-search")
            .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlInputElement>().ok());
        if let (false, Some(input)) = (typing, input) {
            ev.prevent_default();
            let _ = input.focus();
            input.select();
        }
    });
    on_cleanup(move || shortcut.remove());
}
