//! An API's changelog: every version, newest first, with its release notes as rendered and
//! sanitized at publish time.

use crate::api::get_changelog;
use crate::components::{ErrorPanel, SignedIn};
use crate::domain::time::format_date;
use crate::model::ChangelogPage;
use crate::pages::api_page::DocHeader;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ChangelogPageView() -> impl IntoView {
    view! {
        <SignedIn>
            <ChangelogBody />
        </SignedIn>
    }
}

#[component]
fn ChangelogBody() -> impl IntoView {
    let params = use_params_map();
    let changelog = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        get_changelog,
    );
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
                        view! {
                            <li class="changelog-entry">
                                <h2 id=format!("v-{}", e.version.label)>
                                    {e.version.label.clone()}
                                    " "
                                    <span class="muted changelog-date">{format_date(e.version.published_at)}</span>
                                </h2>
                                // Rendered from Markdown and sanitized when the version was published.
                                <div class="doc" inner_html=e.html></div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </article>
    }
}
