//! The catalog: every API the person may see, filtered by text, team, lifecycle and tag, a page
//! of cards at a time. The filter and the page live in the URL, so a view can be shared and the
//! back button works.

use crate::api::{get_catalog_facets, list_catalog};
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, LifecycleBadge, SignedIn};
use crate::model::{ApiSummary, AppError, CatalogFacets, CatalogFilter, CatalogResults, Lifecycle};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let filter = query.with_untracked(|q| {
        let mut filter = CatalogFilter::default();
        for key in CatalogFilter::KEYS {
            if let Some(value) = q.get(key) {
                filter.set(key, value);
            }
        }
        filter
    });
    view! {
        <Title text="Catalog" />
        <Catalog initial=filter />
    }
}

/// The catalog is one island: typing in the filter or choosing a facet reads the list again and
/// puts the filter in the address (replacing it, so the back button leaves the catalog).
#[island(lazy)]
fn Catalog(initial: CatalogFilter) -> impl IntoView {
    crate::app::page_island("catalog_loader");
    // Above `SignedIn`: see there.
    let filter = RwSignal::new(initial);
    let apis = Resource::new(move || filter.get(), list_catalog);
    let facets = Resource::new(|| (), |_| get_catalog_facets());
    view! {
        <SignedIn>
            <CatalogBody filter apis facets />
        </SignedIn>
    }
}

#[component]
fn CatalogBody(
    filter: RwSignal<CatalogFilter>,
    apis: Resource<Result<CatalogResults, AppError>>,
    facets: Resource<Result<CatalogFacets, AppError>>,
) -> impl IntoView {
    let set = move |key: &'static str, value: String| {
        let mut next = filter.get_untracked();
        next.set(key, value);
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(
                &leptos::wasm_bindgen::JsValue::NULL,
                "",
                Some(&next.to_url()),
            );
        }
        filter.set(next);
    };
    let on_text = move |ev| set("q", event_target_value(&ev));
    let on_select = move |key: &'static str| move |ev| set(key, event_target_value(&ev));

    view! {
        <section class="catalog">
            <div class="page-header">
                <h1>"API catalog"</h1>
                <Suspense fallback=|| ()>
                    {move || {
                        facets.get().and_then(Result::ok).map(|f| view! { <p class="muted">{format!("{} APIs you can see", f.visible_total)}</p> })
                    }}
                </Suspense>
            </div>
            <form class="filters" method="get" action="/" role="search" on:submit=|ev| ev.prevent_default()>
                <label class="field field-grow">
                    <span>"Filter"</span>
                    <input
                        type="search"
                        name="q"
                        placeholder="Name, summary or tag"
                        data-testid="filter-text"
                        value=move || filter.try_with(|f| f.q.clone()).unwrap_or_default()
                        on:input=on_text
                    />
                </label>
                <Suspense fallback=|| ()>
                    {move || {
                        facets.get().map(|result| match result {
                            Ok(f) => view! { <FacetSelects facets=f filter on_select /> }.into_any(),
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        })
                    }}
                </Suspense>
                <noscript>
                    <button class="button" type="submit">"Filter"</button>
                </noscript>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    apis.get()
                        .map(|result| match result {
                            Ok(results) => view! { <Results results filter=filter.try_get_untracked().unwrap_or_default() /> }.into_any(),
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn FacetSelects<F, H>(
    facets: CatalogFacets,
    filter: RwSignal<CatalogFilter>,
    on_select: F,
) -> impl IntoView
where
    F: Fn(&'static str) -> H + Clone + 'static,
    H: FnMut(leptos::ev::Event) + 'static,
{
    // `try_`: when a client goes away mid-render, Leptos may still run a closure of the page
    // after its owner (and this memo) is gone; that must not panic.
    let selected = move |key: &'static str, value: String| {
        move || filter.try_with(|f| f.get(key) == value).unwrap_or(false)
    };
    view! {
        <label class="field">
            <span>"Team"</span>
            <select name="team" data-testid="filter-team" on:change=on_select("team")>
                <option value="">"All teams"</option>
                {facets
                    .teams
                    .into_iter()
                    .map(|team| {
                        view! {
                            <option value=team.slug.clone() selected=selected("team", team.slug.clone())>
                                {team.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
        <label class="field">
            <span>"Lifecycle"</span>
            <select name="lifecycle" data-testid="filter-lifecycle" on:change=on_select("lifecycle")>
                <option value="">"Any lifecycle"</option>
                {Lifecycle::ALL
                    .iter()
                    .map(|l| {
                        view! {
                            <option value=l.as_str() selected=selected("lifecycle", l.as_str().to_owned())>
                                {l.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
        <label class="field">
            <span>"Tag"</span>
            <select name="tag" data-testid="filter-tag" on:change=on_select("tag")>
                <option value="">"Any tag"</option>
                {facets
                    .tags
                    .into_iter()
                    .map(|tag| view! { <option value=tag.clone() selected=selected("tag", tag.clone())>{tag.clone()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
fn Results(results: CatalogResults, filter: CatalogFilter) -> impl IntoView {
    let filtered = !filter.is_empty();
    let pages = results.pages();
    if results.apis.is_empty() && results.total > 0 {
        // A page past the end (an old link, a hand-typed URL).
        return view! {
            <EmptyState title="No such page">
                <p>{format!("Page {} is past the last one ({pages}).", results.page)}</p>
                <a class="button" href=filter.at_page(1).to_url()>"First page"</a>
            </EmptyState>
        }
        .into_any();
    }
    let apis = results.apis;
    if apis.is_empty() {
        return view! {
            <EmptyState title="No API matches">
                {if filtered {
                    view! {
                        <p>"Try fewer words or another team, lifecycle or tag."</p>
                        <a class="button" href="/">"Clear the filter"</a>
                    }
                        .into_any()
                } else {
                    view! { <p>"No API has been published that you can see yet."</p> }.into_any()
                }}
            </EmptyState>
        }
        .into_any();
    }
    let total = results.total;
    let noun = if total == 1 { "API" } else { "APIs" };
    let count = if pages > 1 {
        let first = (results.page - 1) as usize * results.per_page as usize + 1;
        format!("{first}–{} of {total} {noun}", first + apis.len() - 1)
    } else {
        format!("{total} {noun}")
    };
    view! {
        <p class="muted result-count" data-testid="result-count">{count}</p>
        <ul class="api-grid" data-testid="api-list">
            {apis.into_iter().map(|api| view! { <ApiCard api /> }).collect_view()}
        </ul>
        {(pages > 1).then(|| view! { <Pager filter page=results.page pages /> })}
    }
    .into_any()
}

/// Previous and next, and where this page is among them. Plain links: they work before the page
/// has hydrated, and the router takes them after.
#[component]
fn Pager(filter: CatalogFilter, page: u32, pages: u32) -> impl IntoView {
    let link = move |to: u32, label: &'static str, rel: &'static str| {
        if (1..=pages).contains(&to) && to != page {
            view! { <a class="button" href=filter.at_page(to).to_url() rel=rel data-testid=format!("page-{rel}")>{label}</a> }.into_any()
        } else {
            view! { <span class="button disabled" aria-disabled="true">{label}</span> }.into_any()
        }
    };
    view! {
        <nav class="pager" aria-label="Pages" data-testid="pager">
            {link(page.saturating_sub(1), "Previous", "prev")}
            <span class="muted">{format!("Page {page} of {pages}")}</span>
            {link(page + 1, "Next", "next")}
        </nav>
    }
}

#[component]
fn ApiCard(api: ApiSummary) -> impl IntoView {
    view! {
        <li class="card api-card" data-testid="api-card">
            <div class="card-head">
                <a class="card-title" href=format!("/apis/{}", api.slug)>{api.name}</a>
                <LifecycleBadge lifecycle=api.lifecycle />
            </div>
            <p class="card-summary">{api.summary}</p>
            <div class="card-foot">
                <span class="muted">{api.team.name}</span>
                <ul class="tags">
                    {api.tags.into_iter().map(|tag| view! { <li class="tag">{tag}</li> }).collect_view()}
                </ul>
            </div>
        </li>
    }
}
