//! Pure rules: values parsed at the edge so that, inside, a value that exists is valid.

pub mod access;
pub mod catalog;
pub mod html;
pub mod org;
pub mod time;
pub mod url;
