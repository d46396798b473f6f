//! Search results: what matched, grouped by API, each with a snippet and a link straight to the
//! section, operation or schema.

use crate::api::search;
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, SignedIn};
use crate::model::{AppError, SearchGroup, SearchHit, SearchResults, SnippetPart};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SearchPage() -> impl IntoView {
    // Above `SignedIn`: see there.
    let query = use_query_map();
    let results = Resource::new(
        move || query.try_with(|q| q.get("q")).flatten().unwrap_or_default(),
        search,
    );
    view! {
        <SignedIn>
            <SearchBody results />
        </SignedIn>
    }
}

#[component]
fn SearchBody(results: Resource<Result<SearchResults, AppError>>) -> impl IntoView {
    view! {
        <section class="search-page">
            <Suspense fallback=|| view! { <p class="muted">"Searching…"</p> }>
                {move || {
                    results
                        .try_get()
                        .flatten()
                        .map(|result| match result {
                            Ok(found) => view! { <Results found /> }.into_any(),
                            Err(error) => view! { <Title text="Search" /> <ErrorPanel error /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn Results(found: SearchResults) -> impl IntoView {
    let SearchResults {
        query,
        groups,
        truncated,
    } = found;
    let count: usize = groups.iter().map(|g| g.hits.len()).sum();
    let heading = if query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Results for “{query}”")
    };
    view! {
        <Title text=heading.clone() />
        <h1>{heading}</h1>
        {if query.is_empty() {
            view! {
                <p class="muted">
                    "Type in the search box above (press " <kbd>"/"</kbd>
                    " from any page) to search API names, guides, operations and schemas."
                </p>
            }
                .into_any()
        } else if groups.is_empty() {
            view! {
                <EmptyState title="Nothing found">
                    <p>"No API, guide, operation or schema you can see matches. Try fewer or shorter words."</p>
                </EmptyState>
            }
                .into_any()
        } else {
            view! {
                <p class="muted" data-testid="result-count">
                    {format!(
                        "{count} result{} in {} API{}{}",
                        if count == 1 { "" } else { "s" },
                        groups.len(),
                        if groups.len() == 1 { "" } else { "s" },
                        if truncated { " (the best are shown; narrow the search to see others)" } else { "" },
                    )}
                </p>
                <div class="search-results" data-testid="search-results">
                    {groups.into_iter().map(|group| view! { <Group group /> }).collect_view()}
                </div>
            }
                .into_any()
        }}
    }
}

#[component]
fn Group(group: SearchGroup) -> impl IntoView {
    view! {
        <section class="panel search-group" data-api=group.api_slug.clone()>
            <h2>
                <a href=format!("/apis/{}", group.api_slug)>{group.api_name}</a>
            </h2>
            <ul>{group.hits.into_iter().map(|hit| view! { <Hit hit /> }).collect_view()}</ul>
        </section>
    }
}

/// Text with the parts that matched the query in `<mark>`.
fn marked(parts: Vec<SnippetPart>) -> impl IntoView {
    parts
        .into_iter()
        .map(|part| {
            if part.hit {
                view! { <mark>{part.text}</mark> }.into_any()
            } else {
                view! { <span>{part.text}</span> }.into_any()
            }
        })
        .collect_view()
}

#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    let kind = match hit.kind.as_str() {
        "api" => "API",
        "operation" => "Operation",
        "schema" => "Schema",
        _ => "Guide",
    };
    view! {
        <li class="search-hit" data-kind=hit.kind.clone()>
            <span class="badge">{kind}</span>
            " "
            <a class="search-hit-title" href=hit.link aria-label=hit.title>
                {marked(hit.title_parts)}
            </a>
            <p class="search-snippet">{marked(hit.snippet)}</p>
        </li>
    }
}
