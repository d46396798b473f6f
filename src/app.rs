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
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Blocking, and the routes render in `SsrMode::Async`: the server knows who is signed in and
    // whether the page exists before it sends the first byte, so it can still answer with a
    // redirect to the sign-in page or a 404. These pages are small; streaming buys little.
    let me: MeResource = Resource::new_blocking(|| (), |_| current_user());
    provide_context(me);
    provide_context(crate::components::header::CountsChanged(RwSignal::new(0)));

    // Effects never run on the server: this marks the moment the page became interactive, for
    // people's scripts and for the end-to-end tests.
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Link rel="icon" href="/favicon.svg" />
        <Title formatter=|text: String| if text.is_empty() { "Gatehouse".to_owned() } else { format!("{text} · Gatehouse") } />
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
