//! One module per screen.

pub mod access;
pub mod access_admin;
pub mod admin;
pub mod api_edit;
pub mod api_page;
pub mod areas;
pub mod catalog;
pub mod changelog;
pub mod guide;
pub mod invitations;
pub mod keys;
pub mod not_found;
pub mod profile;
pub mod reference;
pub mod search;
pub mod sign_in;
