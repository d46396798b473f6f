//! Rendering at publish time. Documents are turned into sanitized HTML once, when a version is
//! published, and stored with it; pages serve the stored HTML and render nothing per request.

pub mod diff;
pub mod highlight;
pub mod markdown;
pub mod openapi;
pub mod yaml;

/// Bumped whenever the output changes, so stored documents can be re-rendered.
pub const RENDERER_VERSION: i64 = 1;
