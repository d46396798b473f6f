//! The document shell, the app root and its routes.

use crate::api::current_user;
use crate::components::header::Header;
use crate::model::{AppError, Me};
use crate::pages::{
    access::{
        ApprovalsPage, MyAccessPage, MyRequestsPage, NotificationsPage, RequestAccessPage,
        RequestPage,
    },
    access_admin::{AdminAccessPage, ApiAccessPage, PolicyPage},
    admin::{AdminPeoplePage, AdminPersonPage, TeamsPage},
    api_edit::ApiEditPage,
    api_page::ApiPage,
    catalog::CatalogPage,
    changelog::ChangelogPageView,
    guide::GuidePageView,
    invitations::{AcceptInvitationPage, InvitationsPage},
    keys::{GatewaysPage, KeysPage},
    not_found::NotFound,
    profile::ProfilePage,
    reference::ReferencePageView,
    search::SearchPage,
    sign_in::SignInPage,
};
use leptos::prelude::*;
use leptos_meta::{Link, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::send_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The signed-in person, loaded once per page and shared through context.
pub type MeResource = Resource<Result<Option<Me>, AppError>>;

pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

/// The signed-in person for an island: an island is its own root in the browser, where the
/// page's context is not there, so each island that needs the person loads it for itself (on
/// the server the session is resolved once per request however often it is asked for, and the
/// answer reaches the browser with the island's data).
pub fn provide_me() -> MeResource {
    let me: MeResource = Resource::new(|| (), |_| current_user());
    provide_context(me);
    me
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Blocking, and the routes render in `SsrMode::Async`: the server knows who is signed in and
    // whether the page exists before it sends the first byte, so it can still answer with a
    // redirect to the sign-in page or a 404. These pages are small; streaming buys little.
    let me: MeResource = Resource::new_blocking(|| (), |_| current_user());
    provide_context(me);

    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Link rel="icon" href="/favicon.svg" />
        <Title formatter=crate::components::format_title />
        <Router>
            <Header />
            <main class="page" id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=CatalogPage ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug") view=ApiPage ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/guides/:guide") view=GuidePageView ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/reference") view=ReferencePageView ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/changelog") view=ChangelogPageView ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/edit") view=ApiEditPage ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/request") view=RequestAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/access") view=ApiAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/policy") view=PolicyPage ssr=SsrMode::Async />
                    <Route path=path!("/requests") view=MyRequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view=RequestPage ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view=ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("/access") view=MyAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/access") view=AdminAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/keys") view=KeysPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/gateways") view=GatewaysPage ssr=SsrMode::Async />
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async />
                    <Route path=path!("/me") view=ProfilePage ssr=SsrMode::Async />
                    <Route path=path!("/invitations") view=InvitationsPage ssr=SsrMode::Async />
                    <Route path=path!("/invitations/:token") view=AcceptInvitationPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/people") view=AdminPeoplePage ssr=SsrMode::Async />
                    <Route path=path!("/admin/people/:id") view=AdminPersonPage ssr=SsrMode::Async />
                    <Route path=path!("/teams") view=TeamsPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static ISLANDS_READY: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks `<html data-hydrated="true">` once every island on the page has been hydrated (its
/// code fetched and run), for people's scripts and the end-to-end tests. Each island reports
/// through [`island_ready`]; a page without islands is marked as soon as the bundle has started.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated_when_islands_are() {
    let ready = ISLANDS_READY.with(std::cell::Cell::get);
    let islands = document()
        .query_selector_all("leptos-island")
        .map(|list| list.length())
        .unwrap_or(0);
    if ready >= islands
        && let Some(root) = document().document_element()
    {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}

/// Names a lazy island's code for the browser to preload with the page (`<link rel="preload">`
/// for each of its files), so it arrives with the main module instead of after it. `loader` is
/// the island's function name in snake case with `_loader` (what `#[island(lazy)]` calls it).
fn preload_island(loader: &'static str) {
    #[cfg(feature = "ssr")]
    leptos::prefetch_lazy_fn_on_server(loader);
    #[cfg(not(feature = "ssr"))]
    let _ = loader;
}

/// The start of a page's island (the catalog's, each area's): its code is named for the browser
/// to preload ([`preload_island`]), it counts as hydrated once built ([`island_ready`]), titles
/// set in it have a head to go to, and the signed-in person is at hand ([`provide_me`]). In the
/// browser an island is a root of its own; on the server the app's head is used.
pub fn page_island(loader: &'static str) {
    preload_island(loader);
    island_ready();
    provide_meta_context();
    provide_me();
}

/// Called by every island: once its view is built (an effect runs only after that, in the
/// browser), it counts as hydrated.
pub fn island_ready() {
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        {
            ISLANDS_READY.with(|ready| ready.set(ready.get() + 1));
            mark_hydrated_when_islands_are();
        }
    });
}
