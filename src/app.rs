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
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

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
                    <Route path=path!("/") view={Lazy::<CatalogPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug") view={Lazy::<ApiPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/guides/:guide") view={Lazy::<GuidePageViewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/reference") view={Lazy::<ReferencePageViewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/changelog") view={Lazy::<ChangelogPageViewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/edit") view={Lazy::<ApiEditPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/request") view={Lazy::<RequestAccessPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/access") view={Lazy::<ApiAccessPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/apis/:slug/policy") view={Lazy::<PolicyPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests") view={Lazy::<MyRequestsPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view={Lazy::<RequestPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view={Lazy::<ApprovalsPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/access") view={Lazy::<MyAccessPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view={Lazy::<NotificationsPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/access") view={Lazy::<AdminAccessPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/keys") view={Lazy::<KeysPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/gateways") view={Lazy::<GatewaysPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/search") view={Lazy::<SearchPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/sign-in") view={Lazy::<SignInPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/me") view={Lazy::<ProfilePageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/invitations") view={Lazy::<InvitationsPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/invitations/:token") view={Lazy::<AcceptInvitationPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/people") view={Lazy::<AdminPeoplePageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/people/:id") view={Lazy::<AdminPersonPageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/teams") view={Lazy::<TeamsPageRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// Each page's code is a chunk of its own in the browser bundle (with `cargo leptos build
/// --split`), fetched on the first visit to the page: the bundle a browser needs first is the
/// shell, the header and the router, not every page of the portal. The page creates its data
/// itself (its resources are in its body), so a route here only names it.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    CatalogPageRoute => CatalogPage,
    ApiPageRoute => ApiPage,
    GuidePageViewRoute => GuidePageView,
    ReferencePageViewRoute => ReferencePageView,
    ChangelogPageViewRoute => ChangelogPageView,
    ApiEditPageRoute => ApiEditPage,
    RequestAccessPageRoute => RequestAccessPage,
    ApiAccessPageRoute => ApiAccessPage,
    PolicyPageRoute => PolicyPage,
    MyRequestsPageRoute => MyRequestsPage,
    RequestPageRoute => RequestPage,
    ApprovalsPageRoute => ApprovalsPage,
    MyAccessPageRoute => MyAccessPage,
    NotificationsPageRoute => NotificationsPage,
    AdminAccessPageRoute => AdminAccessPage,
    KeysPageRoute => KeysPage,
    GatewaysPageRoute => GatewaysPage,
    SearchPageRoute => SearchPage,
    SignInPageRoute => SignInPage,
    ProfilePageRoute => ProfilePage,
    InvitationsPageRoute => InvitationsPage,
    AcceptInvitationPageRoute => AcceptInvitationPage,
    AdminPeoplePageRoute => AdminPeoplePage,
    AdminPersonPageRoute => AdminPersonPage,
    TeamsPageRoute => TeamsPage,
}
