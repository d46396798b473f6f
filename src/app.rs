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
use leptos_router::{Lazy, LazyRoute, SsrMode, path};

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

    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Link rel="icon" href="/favicon.svg" />
        <Title formatter=|text: String| if text.is_empty() { "Gatehouse".to_owned() } else { format!("{text} · Gatehouse") } />
        <Router>
            <Header />
            <main class="page" id="main">
                <Routes fallback=|| view! { <NotFound /> <PageHydrated /> }>
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

/// Marks `<html data-hydrated="true">` once the page it is part of is interactive, for people's
/// scripts and for the end-to-end tests; every page has one (each lazy area's pages below, and
/// the not-found fallback above). It sits in the page, not in `<App/>`: a page's code may still
/// be on its way when the shell has hydrated (the router hydrates a lazy route once its chunk is
/// there), and an effect runs only after the view it belongs to is built, in the browser.
#[component]
pub fn PageHydrated() -> impl IntoView {
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// Pages are lazy routes, fetched by area: with `cargo leptos build --split` each area's pages
/// are a chunk the browser fetches the first time one of them is shown, so the bundle a browser
/// needs first is the shell, the header and the router, and someone reading the docs never
/// downloads the admin screens. Areas rather than single pages: code two chunks share becomes a
/// chunk of its own, and a chunk per page made an API page fetch well over a hundred files.
macro_rules! lazy_areas {
    ($( $(#[$doc:meta])* $area:ident($pages:ident, $preload:ident) { $($route:ident => $page:ident),* $(,)? } )*) => {$(
        #[derive(Clone, Copy)]
        #[allow(clippy::enum_variant_names)]
        enum $pages {
            $($page),*
        }

        $(#[$doc])*
        #[lazy]
        fn $area(page: $pages) -> AnyView {
            match page {
                $($pages::$page => view! { <$page /> <PageHydrated /> }.into_any()),*
            }
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $area($pages::$page).await
                }

                // The router awaits this before it hydrates or shows the page, so the area's
                // code is there when the page is built (`#[lazy]` names the loader
                // `__preload_<function>` in the browser bundle).
                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )*
    )*};
}

lazy_areas! {
    /// What developers read all day.
    browse(BrowsePages, __preload_browse) {
        CatalogPageRoute => CatalogPage,
        ApiPageRoute => ApiPage,
        GuidePageViewRoute => GuidePageView,
        ReferencePageViewRoute => ReferencePageView,
        ChangelogPageViewRoute => ChangelogPageView,
        SearchPageRoute => SearchPage,
    }
    /// Requesting access, approving it, and the grants that follow.
    access(AccessPages, __preload_access) {
        RequestAccessPageRoute => RequestAccessPage,
        MyRequestsPageRoute => MyRequestsPage,
        RequestPageRoute => RequestPage,
        ApprovalsPageRoute => ApprovalsPage,
        MyAccessPageRoute => MyAccessPage,
        NotificationsPageRoute => NotificationsPage,
        ApiAccessPageRoute => ApiAccessPage,
        PolicyPageRoute => PolicyPage,
        AdminAccessPageRoute => AdminAccessPage,
    }
    /// API keys and gateways.
    keys(KeyPages, __preload_keys) {
        KeysPageRoute => KeysPage,
        GatewaysPageRoute => GatewaysPage,
    }
    /// Running the portal: APIs' settings, people, teams, invitations.
    admin(AdminPages, __preload_admin) {
        ApiEditPageRoute => ApiEditPage,
        AdminPeoplePageRoute => AdminPeoplePage,
        AdminPersonPageRoute => AdminPersonPage,
        TeamsPageRoute => TeamsPage,
        InvitationsPageRoute => InvitationsPage,
    }
    /// Signing in, accepting an invitation, one's own profile.
    account(AccountPages, __preload_account) {
        SignInPageRoute => SignInPage,
        AcceptInvitationPageRoute => AcceptInvitationPage,
        ProfilePageRoute => ProfilePage,
    }
}
