//! API keys and gateway credentials as they cross the wire. A key's secret appears only in
//! [`KeyCreated`], once.

use super::{ApiRef, PersonRef};
use serde::{Deserialize, Serialize};

/// What the new-key form sends, exactly as typed; the server parses it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInput {
    pub grant_id: i64,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// A date (`2027-01-31`); empty for the default.
    #[serde(default)]
    pub expires_on: String,
    /// CIDRs, separated by commas, spaces or lines; empty for anywhere.
    #[serde(default)]
    pub ip_allowlist: String,
    /// Requests per minute; empty for no limit of the key's own.
    #[serde(default)]
    pub rate_limit_per_minute: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsageDay {
    /// Unix seconds at the start of the UTC day.
    pub day: i64,
    pub allowed: i64,
    pub denied: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: i64,
    pub name: String,
    /// The public part: `ghk_<environment>_<lookup>`.
    pub prefix: String,
    pub api: ApiRef,
    pub environment: String,
    pub scopes: Vec<String>,
    pub holder: PersonRef,
    pub grant_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
    /// How many times its secret was rotated; a rotation names it (see `rotate_key`).
    pub rotations: i64,
    /// After a rotation, until when the previous secret still works.
    pub previous_valid_until: Option<i64>,
    pub ip_allowlist: Vec<String>,
    pub rate_limit_per_minute: Option<i64>,
    pub active: bool,
    /// The last 14 days, oldest first.
    pub usage: Vec<KeyUsageDay>,
}

/// A key just created or rotated: the secret, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    pub key: KeyView,
    pub secret: String,
    /// A ready-to-run example call.
    pub curl: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayCredentialView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayCredentialCreated {
    pub credential: GatewayCredentialView,
    pub secret: String,
}

/// An API's calls over the last 14 days, for its owners: per day, and denials by reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    pub days: Vec<KeyUsageDay>,
    /// (code, count), most frequent first.
    pub denials: Vec<(String, i64)>,
}
