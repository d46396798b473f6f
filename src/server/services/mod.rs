//! Services decide: authorization, rules, transactions. Each takes the store, the acting person
//! and `now`, and knows nothing of Leptos or HTTP.

pub mod access;
pub mod admin;
pub mod api_edit;
pub mod audit;
pub mod catalog;
pub mod docs_import;
pub mod gateways;
pub mod invitations;
pub mod keys;
pub mod notify;
pub mod org;
pub mod people;
pub mod publish;
pub mod publish_tokens;
pub mod search;
pub mod sessions;
pub mod sign_in;
