//! An API's guide: the guides' navigation, the text as rendered and sanitized at publish time,
//! and its table of contents beside it.

use crate::api::get_guide;
use crate::components::Title;
use crate::components::{ErrorPanel, SignedIn};
use crate::model::{AppError, GuidePage};
use crate::pages::api_page::DocHeader;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn GuidePageView() -> impl IntoView {
    // Above `SignedIn`: see there.
    let params = use_params_map();
    let query = use_query_map();
    let guide = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("slug").unwrap_or_default(),
                p.get("guide").unwrap_or_default(),
                query.read().get("version"),
            )
        },
        |(slug, guide, version)| get_guide(slug, guide, version),
    );
    view! {
        <SignedIn>
            <GuideBody guide />
        </SignedIn>
    }
}

#[component]
fn GuideBody(guide: Resource<Result<GuidePage, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                guide
                    .get()
                    .map(|result| match result {
                        Ok(page) => view! { <Guide page /> }.into_any(),
                        Err(error) => view! { <Title text="Not found" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Guide(page: GuidePage) -> impl IntoView {
    let GuidePage {
        api_slug,
        api_name,
        version,
        versions,
        guides,
        guide,
        html,
        toc,
        has_reference,
    } = page;
    let first = guides.first().map(|g| g.slug.clone());
    view! {
        <Title text=format!("{} · {}", guide.title, api_name) />
        <article class="api-page">
            <DocHeader
                api_slug=api_slug.clone()
                api_name=api_name.clone()
                here=guide.title.clone()
                version=Some(version)
                versions
                first_guide=first
                has_reference
                active="guides"
            />
            <div class="doc-layout">
                <nav class="doc-nav" aria-label="Guides" data-testid="guide-nav">
                    <ul>
                        {guides
                            .into_iter()
                            .map(|g| {
                                let current = g.slug == guide.slug;
                                view! {
                                    <li>
                                        <a
                                            href=format!("/apis/{api_slug}/guides/{}", g.slug)
                                            class:active=current
                                            aria-current=current.then_some("page")
                                        >
                                            {g.title}
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                // Rendered from Markdown and sanitized when the version was published.
                <div class="doc" data-testid="guide" inner_html=html></div>
                <nav class="doc-toc" aria-label="On this page" data-testid="toc">
                    <p class="doc-toc-title">"On this page"</p>
                    <ul>
                        {toc
                            .into_iter()
                            .map(|t| {
                                view! {
                                    <li class=format!("toc-{}", t.level)>
                                        <a href=format!("#{}", t.id)>{t.title}</a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
            </div>
        </article>
    }
}
