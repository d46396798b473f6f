//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes of a User or Group
//! a GET returns. Entra ID asks for groups with `excludedAttributes=members`; a group of thousands
//! is then answered without reading its members at all.
//!
//! Names are case-insensitive and may be qualified by their schema's URN
//! (`urn:ietf:params:scim:schemas:core:2.0:Group:displayName`, or the enterprise extension's
//! `…:enterprise:2.0:User:department`); `name.formatted` names a sub-attribute. `id` and
//! `schemas` are always returned. A name the resource does not have selects nothing, as the RFC
//! allows.

use super::resource::{ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};
use serde::Deserialize;
use serde_json::Value;

/// An attribute path: a top-level attribute and, optionally, one of its sub-attributes. Both
/// lowercase; the enterprise extension's top level is its URN.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AttrPath {
    attr: String,
    sub: Option<String>,
}

impl AttrPath {
    fn parse(raw: &str) -> Option<AttrPath> {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        let enterprise = ENTERPRISE.to_ascii_lowercase();
        if name == enterprise {
            return Some(AttrPath {
                attr: enterprise,
                sub: None,
            });
        }
        if let Some(rest) = name.strip_prefix(&format!("{enterprise}:")) {
            return Some(AttrPath {
                attr: enterprise,
                sub: Some(rest.split('.').next().unwrap_or(rest).to_string()),
            });
        }
        let unqualified = [USER_SCHEMA, GROUP_SCHEMA]
            .iter()
            .find_map(|urn| name.strip_prefix(&format!("{}:", urn.to_ascii_lowercase())))
            .unwrap_or(&name);
        let mut parts = unqualified.splitn(2, '.');
        let attr = parts.next().unwrap_or_default().to_string();
        let sub = parts.next().map(str::to_string);
        Some(AttrPath { attr, sub })
    }
}

/// Attributes returned however a request narrows them (RFC 7643 §2.4 `returned: always`).
const ALWAYS: &[&str] = &["id", "schemas"];

/// The query parameters as sent.
#[derive(Deserialize)]
struct Params {
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

impl From<Params> for Projection {
    fn from(p: Params) -> Projection {
        Projection::new(p.attributes.as_deref(), p.excluded_attributes.as_deref())
    }
}

/// What one request asked to see, read from its query (`Query<Projection>`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(from = "Params")]
pub struct Projection {
    /// `attributes`: only these (and those always returned); `None` means the default set.
    only: Option<Vec<AttrPath>>,
    /// `excludedAttributes`: the default set minus these.
    excluded: Vec<AttrPath>,
}

fn parse_list(raw: Option<&str>) -> Vec<AttrPath> {
    raw.unwrap_or_default()
        .split(',')
        .filter_map(AttrPath::parse)
        .collect()
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        let only = parse_list(attributes);
        Projection {
            only: (!only.is_empty()).then_some(only),
            excluded: parse_list(excluded),
        }
    }

    /// Whether any part of the top-level attribute `attr` (given in any case) is returned: a
    /// resource leaves out what it would only read to throw away.
    pub fn wants(&self, attr: &str) -> bool {
        let attr = attr.to_ascii_lowercase();
        if ALWAYS.contains(&attr.as_str()) {
            return true;
        }
        if let Some(only) = &self.only
            && !only.iter().any(|p| p.attr == attr)
        {
            return false;
        }
        !self
            .excluded
            .iter()
            .any(|p| p.attr == attr && p.sub.is_none())
    }

    /// Removes from a resource's document what this request did not ask for.
    pub fn apply(&self, doc: &mut Value) {
        let Some(obj) = doc.as_object_mut() else {
            return;
        };
        obj.retain(|key, _| self.wants(key));
        for (key, value) in obj.iter_mut() {
            let key = key.to_ascii_lowercase();
            if let Some(only) = &self.only {
                let subs: Vec<&str> = only
                    .iter()
                    .filter(|p| p.attr == key)
                    .map(|p| p.sub.as_deref())
                    .collect::<Option<Vec<_>>>()
                    // One path naming the whole attribute keeps all of it.
                    .unwrap_or_default();
                if !subs.is_empty() {
                    retain_subs(value, |sub| subs.contains(&sub));
                }
            }
            let dropped: Vec<&str> = self
                .excluded
                .iter()
                .filter(|p| p.attr == key)
                .filter_map(|p| p.sub.as_deref())
                .collect();
            if !dropped.is_empty() {
                retain_subs(value, |sub| !dropped.contains(&sub));
            }
        }
    }
}

/// Keeps the sub-attributes `keep` accepts (given lowercase) in a complex attribute or in each
/// value of a multi-valued one.
fn retain_subs(value: &mut Value, keep: impl Fn(&str) -> bool + Copy) {
    match value {
        Value::Object(o) => o.retain(|k, _| keep(&k.to_ascii_lowercase())),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(o) = item {
                    o.retain(|k, _| keep(&k.to_ascii_lowercase()));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group() -> Value {
        json!({
            "schemas": [GROUP_SCHEMA],
            "id": "7",
            "displayName": "Payments",
            "externalId": "okta-7",
            "members": [{ "value": "1", "display": "Ada", "$ref": "https://x/scim/v2/Users/1" }],
            "meta": { "resourceType": "Group" },
        })
    }

    fn keys(doc: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        k.sort();
        k
    }

    #[test]
    fn excluded_members_are_not_wanted_and_not_returned() {
        let p = Projection::new(None, Some("members"));
        assert!(!p.wants("members"));
        assert!(p.wants("displayName"));
        let mut doc = group();
        p.apply(&mut doc);
        assert_eq!(
            keys(&doc),
            ["displayName", "externalId", "id", "meta", "schemas"]
        );
    }

    #[test]
    fn attributes_keep_only_those_named_and_id_and_schemas() {
        let p = Projection::new(
            Some(" DisplayName ,urn:ietf:params:scim:schemas:core:2.0:Group:externalId"),
            None,
        );
        assert!(!p.wants("members"));
        let mut doc = group();
        p.apply(&mut doc);
        assert_eq!(keys(&doc), ["displayName", "externalId", "id", "schemas"]);
    }

    #[test]
    fn id_and_schemas_cannot_be_excluded() {
        let mut doc = group();
        Projection::new(None, Some("id,schemas,meta")).apply(&mut doc);
        assert_eq!(
            keys(&doc),
            ["displayName", "externalId", "id", "members", "schemas"]
        );
    }

    #[test]
    fn sub_attributes_narrow_each_value() {
        let mut doc = group();
        Projection::new(Some("members.value"), None).apply(&mut doc);
        assert_eq!(doc["members"], json!([{ "value": "1" }]));

        let mut doc = group();
        Projection::new(None, Some("members.$ref,members.display")).apply(&mut doc);
        assert_eq!(doc["members"], json!([{ "value": "1" }]));
        assert!(Projection::new(None, Some("members.$ref")).wants("members"));

        // A whole attribute named beside one of its parts keeps the whole.
        let mut doc = group();
        Projection::new(Some("members.value,members"), None).apply(&mut doc);
        assert_eq!(doc["members"], group()["members"]);
    }

    #[test]
    fn the_enterprise_extension_is_named_by_its_urn() {
        let mut user = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "id": "1",
            "userName": "ada@example.com",
            ENTERPRISE: { "department": "Payments", "manager": { "value": "2" } },
        });
        Projection::new(None, Some(&format!("{ENTERPRISE}:manager"))).apply(&mut user);
        assert_eq!(user[ENTERPRISE], json!({ "department": "Payments" }));
        Projection::new(Some(&ENTERPRISE.to_uppercase()), None).apply(&mut user);
        assert_eq!(keys(&user), ["id", "schemas", ENTERPRISE]);
    }

    #[test]
    fn empty_and_unknown_names_select_nothing_extra() {
        let mut doc = group();
        Projection::new(Some(" , "), Some("")).apply(&mut doc);
        assert_eq!(doc, group());
        let mut doc = group();
        Projection::new(Some("nickName"), None).apply(&mut doc);
        assert_eq!(keys(&doc), ["id", "schemas"]);
    }
}
