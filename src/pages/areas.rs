//! The islands that carry the interactive pages, one per area. An island is the code a browser
//! downloads; each area's island is fetched (`#[island(lazy)]`) the first time a page of that
//! area is shown, so someone reading the docs never downloads the admin screens. Areas rather
//! than an island per page: code two islands share becomes a file of its own, and an island per
//! page made the catalog alone fetch about a hundred files.
//!
//! Each page's server component names its page (with what the address says, as props: there is
//! no router in the browser) and the area's island renders it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The pages of the access area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AccessPages {
    RequestAccess { slug: String },
    MyRequests,
    Request { id: i64 },
    Approvals,
    MyAccess,
    Notifications,
    ApiAccess { slug: String },
    Policy { slug: String },
    AdminAccess,
}

/// Requesting access, approving it, and the grants that follow.
#[island(lazy)]
pub fn AccessArea(page: AccessPages) -> impl IntoView {
    crate::app::page_island("access_area_loader");
    match page {
        AccessPages::RequestAccess { slug } => {
            view! { <super::access::RequestAccess slug /> }.into_any()
        }
        AccessPages::MyRequests => view! { <super::access::MyRequests /> }.into_any(),
        AccessPages::Request { id } => view! { <super::access::Request id /> }.into_any(),
        AccessPages::Approvals => view! { <super::access::Approvals /> }.into_any(),
        AccessPages::MyAccess => view! { <super::access::MyAccess /> }.into_any(),
        AccessPages::Notifications => view! { <super::access::Notifications /> }.into_any(),
        AccessPages::ApiAccess { slug } => {
            view! { <super::access_admin::ApiAccess slug /> }.into_any()
        }
        AccessPages::Policy { slug } => view! { <super::access_admin::Policy slug /> }.into_any(),
        AccessPages::AdminAccess => view! { <super::access_admin::AdminAccess /> }.into_any(),
    }
}

/// The pages of the keys area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeysPages {
    Keys,
    Gateways,
}

/// API keys and gateways.
#[island(lazy)]
pub fn KeysArea(page: KeysPages) -> impl IntoView {
    crate::app::page_island("keys_area_loader");
    match page {
        KeysPages::Keys => view! { <super::keys::Keys /> }.into_any(),
        KeysPages::Gateways => view! { <super::keys::Gateways /> }.into_any(),
    }
}

/// The pages of the admin area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AdminPages {
    AdminPeople { q: String },
    AdminPerson { id: i64 },
    Teams,
    ApiEdit { slug: String },
    Invitations,
}

/// Running the portal: APIs' settings, people, teams, invitations.
#[island(lazy)]
pub fn AdminArea(page: AdminPages) -> impl IntoView {
    crate::app::page_island("admin_area_loader");
    match page {
        AdminPages::AdminPeople { q } => view! { <super::admin::AdminPeople q /> }.into_any(),
        AdminPages::AdminPerson { id } => view! { <super::admin::AdminPerson id /> }.into_any(),
        AdminPages::Teams => view! { <super::admin::Teams /> }.into_any(),
        AdminPages::ApiEdit { slug } => view! { <super::api_edit::ApiEdit slug /> }.into_any(),
        AdminPages::Invitations => view! { <super::invitations::Invitations /> }.into_any(),
    }
}
