//! An API's OpenAPI reference: navigation by tag and operation beside the document rendered and
//! sanitized at publish time. Every operation and schema has its own address (`#op-…`,
//! `#schema-…`).

use crate::api::get_reference;
use crate::components::{ErrorPanel, SignedIn, scroll_to_hash_when};
use crate::model::ReferencePage;
use crate::pages::api_page::DocHeader;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ReferencePageView() -> impl IntoView {
    view! {
        <SignedIn>
            <ReferenceBody />
        </SignedIn>
    }
}

#[component]
fn ReferenceBody() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let reference = Resource::new(
        move || {
            (
                params.read().get("slug").unwrap_or_default(),
                query.read().get("version"),
            )
        },
        |(slug, version)| get_reference(slug, version),
    );
    scroll_to_hash_when(move || reference.with(|r| matches!(r, Some(Ok(_)))));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                reference
                    .get()
                    .map(|result| match result {
                        Ok(page) => view! { <Reference page /> }.into_any(),
                        Err(error) => view! { <Title text="Not found" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Reference(page: ReferencePage) -> impl IntoView {
    let ReferencePage {
        api_slug,
        api_name,
        version,
        versions,
        first_guide,
        html,
        nav,
    } = page;
    view! {
        <Title text=format!("Reference · {api_name}") />
        <article class="api-page">
            <DocHeader
                api_slug=api_slug.clone()
                api_name=api_name.clone()
                here="Reference".to_owned()
                version=Some(version)
                versions
                first_guide=first_guide
                has_reference=true
                active="reference"
            />
            <div class="doc-layout reference-layout">
                <nav class="doc-nav ref-nav" aria-label="Operations" data-testid="reference-nav">
                    <ul>
                        {nav
                            .into_iter()
                            .map(|entry| {
                                let class = if entry.level == 2 { "nav-group" } else { "nav-item" };
                                view! {
                                    <li class=class>
                                        <a href=format!("#{}", entry.id)>{entry.title}</a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                // Rendered from the spec and sanitized when the version was published.
                <div class="doc reference" data-testid="reference" inner_html=html></div>
            </div>
        </article>
    }
}
