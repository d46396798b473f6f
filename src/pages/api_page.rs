//! An API's overview: what it is, who owns it, where it runs and which scopes it offers.

use crate::api::get_api;
use crate::components::Title;
use crate::components::{ErrorPanel, LifecycleBadge, RiskBadge, SignedIn, VisibilityBadge};
use crate::model::{ApiDetail, AppError, EnvironmentView, ScopeView, VersionView};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ApiPage() -> impl IntoView {
    // Above `SignedIn`'s Suspense, so the server creates (and fetches) it once per render; for
    // anyone signed out it answers "not signed in" and is never shown.
    let params = use_params_map();
    let api = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        get_api,
    );
    view! {
        <SignedIn>
            <ApiPageBody api />
        </SignedIn>
    }
}

#[component]
fn ApiPageBody(api: Resource<Result<ApiDetail, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                api.get()
                    .map(|result| match result {
                        Ok(api) => view! { <Overview api /> }.into_any(),
                        Err(error) => view! { <Title text="Not found" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Overview(api: ApiDetail) -> impl IntoView {
    let ApiDetail {
        summary,
        description_html,
        environments,
        scopes,
        versions,
        links,
        guides,
        has_reference,
        can_edit,
    } = api;
    let link_items = [
        ("Repository", links.repository_url),
        ("Runbook", links.runbook_url),
        ("Chat", links.chat_channel),
    ];
    view! {
        <Title text=summary.name.clone() />
        <article class="api-page" data-testid="api-page">
            <nav class="breadcrumbs" aria-label="Breadcrumb">
                <a href="/">"Catalog"</a>
                <span aria-hidden="true">"/"</span>
                <span>{summary.name.clone()}</span>
            </nav>
            <header class="api-header">
                <div class="api-title">
                    <h1>{summary.name.clone()}</h1>
                    <LifecycleBadge lifecycle=summary.lifecycle />
                    <VisibilityBadge visibility=summary.visibility />
                </div>
                <p class="lead">{summary.summary.clone()}</p>
                <div class="api-actions">
                    {(summary.lifecycle != crate::model::Lifecycle::Retired)
                        .then(|| {
                            view! {
                                <a class="button button-primary" href=format!("/apis/{}/request", summary.slug) data-testid="request-access">
                                    "Request access"
                                </a>
                            }
                        })}
                    {can_edit
                        .then(|| {
                            view! {
                                <a class="button button-quiet edit-api" href=format!("/apis/{}/edit", summary.slug)>
                                    "Edit"
                                </a>
                            }
                        })}
                </div>
                <dl class="facts">
                    <div>
                        <dt>"Owner"</dt>
                        <dd data-testid="owner-team">{summary.team.name.clone()}</dd>
                    </div>
                    <div>
                        <dt>"Tags"</dt>
                        <dd>
                            <ul class="tags">
                                {summary.tags.iter().map(|t| view! { <li class="tag">{t.clone()}</li> }).collect_view()}
                            </ul>
                        </dd>
                    </div>
                    {link_items
                        .into_iter()
                        .filter_map(|(label, value)| value.map(|v| (label, v)))
                        .map(|(label, value)| {
                            let body = if value.starts_with("https://") {
                                view! { <a href=value.clone() rel="noopener noreferrer">{value.clone()}</a> }.into_any()
                            } else {
                                view! { <span>{value.clone()}</span> }.into_any()
                            };
                            view! {
                                <div>
                                    <dt>{label}</dt>
                                    <dd>{body}</dd>
                                </div>
                            }
                        })
                        .collect_view()}
                </dl>
            </header>
            <ApiTabs
                slug=summary.slug.clone()
                first_guide=guides.first().map(|g| g.slug.clone())
                has_reference
                active="overview"
                owner=can_edit
            />
            // Rendered from Markdown and sanitized when the metadata was saved.
            <section class="section doc" data-testid="description" inner_html=description_html></section>
            <EnvironmentsTable environments />
            <ScopesTable scopes />
            <VersionsList versions />
        </article>
    }
}

/// The top of an API's guide, reference and changelog pages: where you are, the API, the tabs,
/// and a version selector when there is more than one version to choose from.
#[component]
pub fn DocHeader(
    api_slug: String,
    api_name: String,
    /// The last breadcrumb: the guide's title, "Reference", …
    here: String,
    version: Option<String>,
    #[prop(optional)] versions: Vec<VersionView>,
    first_guide: Option<String>,
    has_reference: bool,
    active: &'static str,
) -> impl IntoView {
    let selector = (versions.len() > 1).then(|| {
        let shown = version.clone().unwrap_or_default();
        view! { <VersionSelect versions shown /> }
    });
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/">"Catalog"</a>
            <span aria-hidden="true">"/"</span>
            <a href=format!("/apis/{api_slug}")>{api_name.clone()}</a>
            <span aria-hidden="true">"/"</span>
            <span>{here}</span>
        </nav>
        <div class="doc-title">
            <h1 class="guide-api">
                {api_name} {version.map(|v| view! { <span class="muted">{format!(" {v}")}</span> })}
            </h1>
            {selector}
        </div>
        <ApiTabs slug=api_slug first_guide has_reference active />
    }
}

/// The sections of an API's pages.
#[component]
pub fn ApiTabs(
    slug: String,
    first_guide: Option<String>,
    has_reference: bool,
    active: &'static str,
    /// Owners and admins also see who has access and the approval policy.
    #[prop(optional)]
    owner: bool,
) -> impl IntoView {
    let tab = |name: &'static str, label: &'static str, href: String| {
        let is = name == active;
        view! {
            <a class=if is { "tab active" } else { "tab" } aria-current=is.then_some("page") href=href>
                {label}
            </a>
        }
    };
    view! {
        <nav class="tabs" aria-label="API sections">
            {tab("overview", "Overview", format!("/apis/{slug}"))}
            {first_guide.map(|g| tab("guides", "Guides", format!("/apis/{slug}/guides/{g}")))}
            {has_reference.then(|| tab("reference", "Reference", format!("/apis/{slug}/reference")))}
            {tab("changelog", "Changelog", format!("/apis/{slug}/changelog"))}
            {owner.then(|| tab("access", "Access", format!("/apis/{slug}/access")))}
            {owner.then(|| tab("policy", "Policy", format!("/apis/{slug}/policy")))}
        </nav>
    }
}

#[component]
fn EnvironmentsTable(environments: Vec<EnvironmentView>) -> impl IntoView {
    view! {
        <section class="section">
            <h2>"Environments"</h2>
            <table class="table" data-testid="environments">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Base URL"</th>
                    </tr>
                </thead>
                <tbody>
                    {environments
                        .into_iter()
                        .map(|e| {
                            view! {
                                <tr>
                                    <td>{e.name}</td>
                                    <td>
                                        <code>{e.base_url}</code>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

#[component]
fn ScopesTable(scopes: Vec<ScopeView>) -> impl IntoView {
    view! {
        <section class="section">
            <h2>"Scopes"</h2>
            <table class="table" data-testid="scopes">
                <thead>
                    <tr>
                        <th>"Scope"</th>
                        <th>"What it allows"</th>
                        <th>"Risk"</th>
                    </tr>
                </thead>
                <tbody>
                    {scopes
                        .into_iter()
                        .map(|s| {
                            view! {
                                <tr>
                                    <td>
                                        <code>{s.name}</code>
                                    </td>
                                    <td>{s.description}</td>
                                    <td>
                                        <RiskBadge risk=s.risk />
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

#[component]
fn VersionsList(versions: Vec<VersionView>) -> impl IntoView {
    view! {
        <section class="section">
            <h2>"Versions"</h2>
            <ul class="versions">
                {versions
                    .into_iter()
                    .map(|v| {
                        view! {
                            <li>
                                <strong>{v.label}</strong>
                                " "
                                <span class="muted">{v.status.label()}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

/// The version selector: the same page at the chosen version. Before the page is interactive
/// (or without scripts) the form's button does the same.
#[island]
fn VersionSelect(versions: Vec<VersionView>, shown: String) -> impl IntoView {
    crate::app::island_ready();
    let choose = move |event: leptos::ev::Event| {
        let version = crate::domain::url::encode_component(&event_target_value(&event));
        let path = window().location().pathname().unwrap_or_default();
        let _ = window()
            .location()
            .assign(&format!("{path}?version={version}"));
    };
    view! {
        <form class="version-select" method="get" data-testid="version-select">
            <label>
                "Version "
                <select name="version" on:change=choose>
                    {versions
                        .into_iter()
                        .map(|v| {
                            let selected = v.label == shown;
                            let text = match v.status {
                                crate::model::VersionStatus::Current => v.label.clone(),
                                _ => format!("{} ({})", v.label, v.status.label().to_lowercase()),
                            };
                            view! { <option value=v.label selected=selected>{text}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <noscript>
                <button class="button button-quiet" type="submit">"Show"</button>
            </noscript>
        </form>
    }
}
