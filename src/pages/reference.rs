//! An API's OpenAPI reference: navigation by tag and operation beside one part of the document
//! rendered and sanitized at publish time (a tag's operations, the webhooks or the schemas; the
//! overview and the first tag when no part is named), so a spec of hundreds of operations is
//! not one page of megabytes. Every operation and schema has its own address
//! (`?section=tag-…#op-…`); an older link without the part (`#op-…`) is taken to it.

use crate::api::get_reference;
use crate::components::{ErrorPanel, SignedIn, scroll_to_hash_when};
use crate::model::{AppError, ReferenceNavEntry, ReferencePage, ServerHtml};
use crate::pages::api_page::DocHeader;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

#[component]
pub fn ReferencePageView() -> impl IntoView {
    // Above `SignedIn`: see there.
    let params = use_params_map();
    let query = use_query_map();
    let reference = Resource::new(
        move || {
            (
                params
                    .try_with(|p| p.get("slug"))
                    .flatten()
                    .unwrap_or_default(),
                query.try_with(|q| q.get("version")).flatten(),
                query.try_with(|q| q.get("section")).flatten(),
            )
        },
        |(slug, version, section)| async move {
            get_reference(slug, version, section).await.map(|mut page| {
                let html = ServerHtml::take(&mut page.html);
                (page, html)
            })
        },
    );
    view! {
        <SignedIn>
            <ReferenceBody query reference />
        </SignedIn>
    }
}

#[component]
fn ReferenceBody(
    query: Memo<ParamsMap>,
    reference: Resource<Result<(ReferencePage, ServerHtml), AppError>>,
) -> impl IntoView {
    scroll_to_hash_when(move || {
        reference
            .try_with(|r| matches!(r, Some(Ok(_))))
            .unwrap_or(false)
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                reference
                    .try_get()
                    .flatten()
                    .map(|result| match result {
                        Ok((page, html)) => {
                            // The router's hooks are taken in the route's own component (the
                            // page above): the part below is built when the resource resolves.
                            let version_query = query
                                .read_untracked()
                                .get("version")
                                .map(|v| format!("version={}&", crate::domain::url::encode_component(&v)))
                                .unwrap_or_default();
                            view! { <Reference page html version_query /> }.into_any()
                        }
                        Err(error) => view! { <Title text="Not found" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Reference(
    page: ReferencePage,
    /// The part shown (`page.html`, taken out of it).
    html: ServerHtml,
    /// `version=…&` when the page names a version, for links to other parts.
    version_query: String,
) -> impl IntoView {
    let ReferencePage {
        api_slug,
        api_name,
        version,
        versions,
        first_guide,
        html: _,
        section,
        nav,
    } = page;
    follow_old_anchor(&api_slug, &section, &nav, version_query.clone());
    let href = {
        let section = section.clone();
        move |entry: &ReferenceNavEntry| {
            if entry.section == section {
                format!("#{}", entry.id)
            } else {
                format!("?{version_query}section={}#{}", entry.section, entry.id)
            }
        }
    };
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
                                let current = (entry.level == 2 && entry.section == section).then_some("location");
                                let link = href(&entry);
                                view! {
                                    <li class=class>
                                        <a href=link aria-current=current>{entry.title}</a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                // Rendered from the spec and sanitized when the version was published.
                <div class="doc reference" data-testid="reference" inner_html=html.0></div>
            </div>
        </article>
    }
}

/// A link from before the reference came in parts (`/reference#op-…`, in bookmarks and older
/// search results) names an anchor that may be in another part: once the page is in the
/// browser, go to the part that has it.
fn follow_old_anchor(
    api_slug: &str,
    shown: &str,
    nav: &[ReferenceNavEntry],
    version_query: String,
) {
    let elsewhere: Vec<(String, String)> = nav
        .iter()
        .filter(|e| e.section != shown)
        .map(|e| (e.id.clone(), e.section.clone()))
        .collect();
    let base = format!("/apis/{api_slug}/reference");
    Effect::new(move |_| {
        let hash = window().location().hash().unwrap_or_default();
        let Some(id) = hash.strip_prefix('#').filter(|id| !id.is_empty()) else {
            return;
        };
        if document().get_element_by_id(id).is_some() {
            return;
        }
        if let Some((_, section)) = elsewhere.iter().find(|(anchor, _)| anchor == id) {
            // A full load, as the old link was: the router's hooks are not at hand in an
            // effect of a part built after its route.
            let _ = window()
                .location()
                .replace(&format!("{base}?{version_query}section={section}#{id}"));
        }
    });
}
