//! The header on every page: product name, navigation, search and the signed-in person.

use super::KindBadge;
use crate::app::use_me;
use crate::domain::url::encode_component;
use crate::model::PersonKind;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

/// Bumped by pages after an action that may change the header's numbers (a decision, reading
/// notifications), so the bell and the approvals count follow without a navigation.
#[derive(Clone, Copy)]
pub struct CountsChanged(pub RwSignal<u64>);

impl CountsChanged {
    /// Bumps the counter each time `version` changes (an action's version signal).
    pub fn follow(version: impl Fn() -> usize + Send + Sync + 'static) {
        if let Some(changed) = use_context::<CountsChanged>() {
            Effect::new(move |previous: Option<usize>| {
                let now = version();
                if previous.is_some_and(|p| p != now) {
                    changed.0.update(|n| *n += 1);
                }
                now
            });
        }
    }
}

#[component]
pub fn Header() -> impl IntoView {
    let me = use_me();
    let query = use_query_map();
    let location = use_location();
    // Fetched again on every navigation, so the numbers follow what the person just did.
    let changed = use_context::<CountsChanged>().map(|c| c.0);
    let counts = Resource::new(
        move || {
            (
                location.pathname.try_get(),
                changed.and_then(|c| c.try_get()),
            )
        },
        |_| crate::api::get_counts(),
    );
    let count = move |pick: fn(&crate::model::Counts) -> i64| {
        counts
            .try_get()
            .flatten()
            .and_then(Result::ok)
            .map(|c| pick(&c))
            .filter(|n| *n > 0)
    };
    let navigate = use_navigate();
    let search = NodeRef::<leptos::html::Input>::new();
    // Before hydration the form submits as a plain GET; after, it navigates in place.
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = search.get().map(|input| input.value()).unwrap_or_default();
        let url = if text.trim().is_empty() {
            "/".to_owned()
        } else {
            format!("/search?q={}", encode_component(text.trim()))
        };
        navigate(&url, Default::default());
    };
    // `/` from anywhere (but a text field) puts the cursor in the search box.
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
        if let (false, Some(input)) = (typing, search.get_untracked()) {
            ev.prevent_default();
            let _ = input.focus();
            input.select();
        }
    });
    on_cleanup(move || shortcut.remove());
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
                                                    {move || count(|c| c.approvals).map(|n| view! { <span class="count" data-testid="approvals-count">{n}</span> })}
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
            <form class="site-search" method="get" action="/search" role="search" on:submit=on_submit>
                <input
                    node_ref=search
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
                                            {move || count(|c| c.unread).map(|n| view! { <span class="count" data-testid="unread-count">{n}</span> })}
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
