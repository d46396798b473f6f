//! Everything that runs only on the server: configuration, state, storage, services and the
//! HTTP surface. Nothing here is compiled into the browser bundle.

pub mod actor;
pub mod auth_routes;
pub mod authz;
pub mod cli;
pub mod config;
pub mod db;
pub mod edge;
pub mod error;
pub mod gateway;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod oidc;
pub mod page_cache;
pub mod render;
pub mod rest;
pub mod scale;
pub mod scim;
pub mod search;
pub mod secrets;
pub mod seed;
pub mod services;
pub mod state;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod temp_dir;
pub mod verify;
