//! An API's OpenAPI reference: navigation by tag and operation beside one part of the document
//! rendered and sanitized at publish time (a tag's operations, the webhooks or the schemas; the
//! overview and the first tag when no part is named), so a spec of hundreds of operations is
//! not one page of megabytes. Every operation and schema has its own address
//! (`?section=tag-…#op-…`); an older link without the part (`#op-…`) is taken to it.

use crate::api::get_reference;
use crate::components::Title;
use crate::components::{ErrorPanel, SignedIn};
use crate::model::{AppError, ReferenceNavEntry, ReferencePage};
use crate::pages::api_page::DocHeader;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

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
            // `version=…&` when the page names a version, for links to other parts.
            let version_query = version
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("version={}&", crate::domain::url::encode_component(v)))
                .unwrap_or_default();
            get_reference(slug, version, section).await.map(|mut page| {
                let nav = nav_html(
                    &std::mem::take(&mut page.nav),
                    &page.section,
                    &version_query,
                );
                (page, nav)
            })
        },
    );
    view! {
        <SignedIn>
            <ReferenceBody reference />
        </SignedIn>
    }
}

#[component]
fn ReferenceBody(reference: Resource<Result<(ReferencePage, String), AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                reference
                    .try_get()
                    .flatten()
                    .map(|result| match result {
                        Ok((page, nav)) => view! { <Reference page nav /> }.into_any(),
                        Err(error) => view! { <Title text="Not found" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Reference(
    page: ReferencePage,
    /// The navigation's entries (`page.nav`, as HTML: see `nav_html`).
    nav: String,
) -> impl IntoView {
    let ReferencePage {
        api_slug,
        api_name,
        version,
        versions,
        first_guide,
        html,
        ..
    } = page;
    view! {
        <Title text=format!("Reference · {api_name}") />
        <FollowOldAnchor api_slug=api_slug.clone() />
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
                    <ul inner_html=nav></ul>
                </nav>
                // Rendered from the spec and sanitized when the version was published.
                <div class="doc reference" data-testid="reference" inner_html=html></div>
            </div>
        </article>
    }
}

/// The navigation's entries as `<li>`s: each tag (level 2) and operation or schema (level 3)
/// links to its anchor, in the part shown or on its part's page; the part shown is marked
/// current. A large spec has hundreds of entries, so this is text rather than a view per entry
/// (the page is rendered on the server only; the text is written once).
pub fn nav_html(nav: &[ReferenceNavEntry], shown: &str, version_query: &str) -> String {
    use crate::domain::html::escape;
    let mut out = String::with_capacity(nav.len() * 96);
    for entry in nav {
        let here = entry.section == shown;
        out.push_str(if entry.level == 2 {
            r#"<li class="nav-group"><a href=""#
        } else {
            r#"<li class="nav-item"><a href=""#
        });
        if !here {
            out.push('?');
            out.push_str(&escape(version_query));
            out.push_str("section=");
            out.push_str(&escape(&entry.section));
        }
        out.push('#');
        out.push_str(&escape(&entry.id));
        out.push('"');
        if here && entry.level == 2 {
            out.push_str(r#" aria-current="location""#);
        }
        out.push('>');
        out.push_str(&escape(&entry.title));
        out.push_str("</a></li>");
    }
    out
}

/// A link from before the reference came in parts (`/reference#op-…`, in bookmarks and older
/// search results) names an anchor that may be in another part: once the page is in the
/// browser, go to the part that has it, as the navigation links it.
#[island]
fn FollowOldAnchor(api_slug: String) -> impl IntoView {
    crate::app::island_ready();
    let base = format!("/apis/{api_slug}/reference");
    Effect::new(move |_| {
        let hash = window().location().hash().unwrap_or_default();
        let Some(id) = hash.strip_prefix('#').filter(|id| !id.is_empty()) else {
            return;
        };
        if document().get_element_by_id(id).is_some() {
            return;
        }
        // The anchor is in another part when the navigation links it with that part's query.
        let quoted = id.replace('\\', "\\\\").replace('"', "\\\"");
        let Some(href) = document()
            .query_selector(&format!(
                r##"[data-testid="reference-nav"] a[href$="#{quoted}"]"##
            ))
            .ok()
            .flatten()
            .and_then(|link| link.get_attribute("href"))
            .filter(|href| href.starts_with('?') && href.ends_with(&format!("#{id}")))
        else {
            return;
        };
        // Its link names the page's version too.
        let _ = window().location().replace(&format!("{base}{href}"));
    });
}
