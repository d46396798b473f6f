//! An API's changelog: every version, newest first, with its release notes as rendered and
//! sanitized at publish time.

use crate::api::get_changelog;
use crate::components::Title;
use crate::components::{ErrorPanel, SignedIn};
use crate::domain::time::format_date;
use crate::model::{AppError, ChangelogPage, DiffOperation, VersionDiff};
use crate::pages::api_page::DocHeader;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ChangelogPageView() -> impl IntoView {
    // Above `SignedIn`: see there.
    let params = use_params_map();
    let changelog = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        get_changelog,
    );
    view! {
        <SignedIn>
            <ChangelogBody changelog />
        </SignedIn>
    }
}

#[component]
fn ChangelogBody(changelog: Resource<Result<ChangelogPage, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                changelog
                    .get()
                    .map(|result| match result {
                        Ok(page) => view! { <Changelog page /> }.into_any(),
                        Err(error) => view! { <Title text="Not found" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Changelog(page: ChangelogPage) -> impl IntoView {
    let ChangelogPage {
        api_slug,
        api_name,
        first_guide,
        has_reference,
        entries,
        mut diffs,
    } = page;
    view! {
        <Title text=format!("Changelog · {api_name}") />
        <article class="api-page">
            <DocHeader
                api_slug=api_slug.clone()
                api_name=api_name.clone()
                here="Changelog".to_owned()
                version=None
                first_guide=first_guide
                has_reference
                active="changelog"
            />
            <ol class="changelog" data-testid="changelog">
                {entries
                    .into_iter()
                    .map(|e| {
                        let diff = diffs
                            .iter()
                            .position(|d| d.to == e.version.label)
                            .map(|i| diffs.swap_remove(i));
                        view! {
                            <li class="changelog-entry">
                                <h2 id=format!("v-{}", e.version.label)>
                                    {e.version.label.clone()}
                                    " "
                                    <span class="muted changelog-date">{format_date(e.version.published_at)}</span>
                                </h2>
                                // Rendered from Markdown and sanitized when the version was published.
                                <div class="doc" inner_html=e.html></div>
                                {diff.map(|d| view! { <DiffView diff=d /> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </article>
    }
}

/// What changed in the spec since the version before: breaking changes first.
#[component]
fn DiffView(diff: VersionDiff) -> impl IntoView {
    let VersionDiff {
        from,
        to: _,
        added,
        removed,
        breaking,
    } = diff;
    let nothing = added.is_empty() && removed.is_empty() && breaking.is_empty();
    let op_list = |ops: Vec<DiffOperation>| {
        ops.into_iter()
            .map(|o| {
                view! {
                    <li>
                        <span class=format!("ref-method method-{}", o.method.to_lowercase())>{o.method.clone()}</span>
                        " "
                        <code>{o.path}</code>
                        " "
                        <span class="muted">{o.summary}</span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="diff" data-testid="version-diff">
            <h3>{format!("Changes since {from}")}</h3>
            {nothing.then(|| view! { <p class="muted">"No operation was added or removed, and nothing breaks clients."</p> })}
            {(!breaking.is_empty())
                .then(|| {
                    view! {
                        <div class="diff-breaking" data-testid="breaking-changes">
                            <h4>{format!("Breaking changes ({})", breaking.len())}</h4>
                            <ul>
                                {breaking
                                    .into_iter()
                                    .map(|b| {
                                        view! {
                                            <li>
                                                <span class=format!("ref-method method-{}", b.method.to_lowercase())>{b.method.clone()}</span>
                                                " "
                                                <code>{b.path}</code>
                                                ": "
                                                {b.message}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        </div>
                    }
                })}
            {(!added.is_empty())
                .then(|| {
                    view! {
                        <h4>{format!("Added ({})", added.len())}</h4>
                        <ul class="diff-ops" data-testid="added-operations">{op_list(added)}</ul>
                    }
                })}
            {(!removed.is_empty())
                .then(|| {
                    view! {
                        <h4>{format!("Removed ({})", removed.len())}</h4>
                        <ul class="diff-ops" data-testid="removed-operations">{op_list(removed)}</ul>
                    }
                })}
        </section>
    }
}
