//! SCIM 2.0 resources (RFC 7643) and PATCH (RFC 7644 §3.5.2), without storage: turning a User or
//! Group document into what Gatehouse keeps, strictly (an attribute we do not know is an error,
//! not silently dropped), and applying PATCH operations the way Okta and Entra ID send them
//! (`op` in any case, `"False"` as a boolean, paths with value filters, or no path at all).

use crate::domain::org::parse_email;
use serde_json::{Map, Value};
use std::collections::HashSet;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A request Gatehouse cannot honour, with SCIM's `scimType` (RFC 7644 §3.12).
#[derive(Debug, PartialEq, Eq)]
pub struct ScimProblem {
    pub scim_type: &'static str,
    pub detail: String,
}

fn problem(scim_type: &'static str, detail: impl Into<String>) -> ScimProblem {
    ScimProblem {
        scim_type,
        detail: detail.into(),
    }
}

/// Core attributes we read, in lowercase (SCIM attribute names are case-insensitive).
const USER_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalid",
    "username",
    "name",
    "displayname",
    "emails",
    "active",
    "title",
    "usertype",
    "meta",
    "groups",
];
/// Core attributes identity providers commonly send that Gatehouse has no use for. Accepted and
/// ignored, so provisioning from Okta or Entra ID does not fail on them.
const USER_IGNORED: &[&str] = &[
    "nickname",
    "profileurl",
    "preferredlanguage",
    "locale",
    "timezone",
    "phonenumbers",
    "addresses",
    "ims",
    "photos",
    "roles",
    "entitlements",
    "x509certificates",
    "password",
];
const ENTERPRISE_ATTRIBUTES: &[&str] = &[
    "department",
    "manager",
    "employeenumber",
    "costcenter",
    "organization",
    "division",
];

/// What a User document says, as Gatehouse keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub title: Option<String>,
    pub department: Option<String>,
    /// The manager's SCIM id (our person id), when given.
    pub manager: Option<String>,
    /// `userType` as sent (Entra ID marks guests `Guest`).
    pub user_type: Option<String>,
}

fn key_is(key: &str, name: &str) -> bool {
    key.eq_ignore_ascii_case(name)
}

fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| key_is(k, name)).map(|(_, v)| v)
}

fn text(value: Option<&Value>, what: &str) -> Result<Option<String>, ScimProblem> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > 200 {
                return Err(problem(
                    "invalidValue",
                    format!("{what} is longer than 200 characters"),
                ));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(problem("invalidValue", format!("{what} must be a string"))),
    }
}

/// `true`, `false`, or Entra ID's `"True"` / `"False"`.
pub fn boolean(value: &Value, what: &str) -> Result<bool, ScimProblem> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(problem(
            "invalidValue",
            format!("{what} must be true or false"),
        )),
    }
}

/// A manager given as `{"value": "12"}` or as the id itself.
fn manager_ref(value: &Value) -> Result<Option<String>, ScimProblem> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok((!s.trim().is_empty()).then(|| s.trim().to_owned())),
        Value::Object(o) => text(get(o, "value"), "manager.value"),
        _ => Err(problem(
            "invalidValue",
            "manager must be an object with a value",
        )),
    }
}

/// Reads a whole User document (POST, PUT, or the result of a PATCH).
pub fn parse_user(doc: &Value) -> Result<UserInput, ScimProblem> {
    let obj = doc
        .as_object()
        .ok_or_else(|| problem("invalidSyntax", "the body must be a JSON object"))?;
    for key in obj.keys() {
        let lower = key.to_ascii_lowercase();
        if !(USER_ATTRIBUTES.contains(&lower.as_str())
            || USER_IGNORED.contains(&lower.as_str())
            || key_is(key, ENTERPRISE))
        {
            return Err(problem(
                "invalidSyntax",
                format!(
                    "unknown attribute '{}'",
                    key.chars().take(80).collect::<String>()
                ),
            ));
        }
    }
    if let Some(schemas) = get(obj, "schemas") {
        let schemas = schemas
            .as_array()
            .ok_or_else(|| problem("invalidSyntax", "schemas must be an array"))?;
        for s in schemas {
            let s = s.as_str().unwrap_or_default();
            if !(key_is(s, USER_SCHEMA) || key_is(s, ENTERPRISE)) {
                return Err(problem(
                    "invalidSyntax",
                    format!(
                        "unsupported schema '{}'",
                        s.chars().take(120).collect::<String>()
                    ),
                ));
            }
        }
    }

    let user_name = text(get(obj, "userName"), "userName")?;
    let primary_email = match get(obj, "emails") {
        None | Some(Value::Null) => None,
        Some(Value::Array(emails)) => {
            let pick = emails
                .iter()
                .find(|e| e.get("primary").and_then(|p| boolean(p, "primary").ok()) == Some(true))
                .or_else(|| emails.first());
            pick.and_then(|e| e.get("value"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }
        Some(_) => return Err(problem("invalidValue", "emails must be an array")),
    };
    // userName is the sign-in name; where it is not an address, the primary email is.
    let email = user_name
        .as_deref()
        .and_then(parse_email)
        .or_else(|| primary_email.as_deref().and_then(parse_email))
        .ok_or_else(|| {
            if user_name.is_none() {
                problem("invalidValue", "userName is required")
            } else {
                problem(
                    "invalidValue",
                    "userName or the primary email must be an email address",
                )
            }
        })?;

    let name_obj = match get(obj, "name") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(_) => return Err(problem("invalidValue", "name must be an object")),
    };
    let formatted = name_obj
        .map(|n| text(get(n, "formatted"), "name.formatted"))
        .transpose()?
        .flatten();
    let given = name_obj
        .map(|n| text(get(n, "givenName"), "name.givenName"))
        .transpose()?
        .flatten();
    let family = name_obj
        .map(|n| text(get(n, "familyName"), "name.familyName"))
        .transpose()?
        .flatten();
    let joined = [given, family]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = text(get(obj, "displayName"), "displayName")?
        .or(formatted)
        .or((!joined.is_empty()).then_some(joined))
        .unwrap_or_else(|| email.clone());

    let active = match get(obj, "active") {
        None | Some(Value::Null) => true,
        Some(v) => boolean(v, "active")?,
    };
    let (department, manager) = match get(obj, ENTERPRISE) {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(ext)) => {
            for key in ext.keys() {
                if !ENTERPRISE_ATTRIBUTES.contains(&key.to_ascii_lowercase().as_str()) {
                    return Err(problem(
                        "invalidSyntax",
                        format!(
                            "unknown enterprise attribute '{}'",
                            key.chars().take(80).collect::<String>()
                        ),
                    ));
                }
            }
            (
                text(get(ext, "department"), "department")?,
                get(ext, "manager").map(manager_ref).transpose()?.flatten(),
            )
        }
        Some(_) => {
            return Err(problem(
                "invalidValue",
                "the enterprise extension must be an object",
            ));
        }
    };
    Ok(UserInput {
        email,
        name,
        external_id: text(get(obj, "externalId"), "externalId")?,
        active,
        title: text(get(obj, "title"), "title")?,
        department,
        manager,
        user_type: text(get(obj, "userType"), "userType")?,
    })
}

/// The PATCH operations of a request, checked for shape.
pub fn operations(doc: &Value) -> Result<Vec<(String, Option<String>, Value)>, ScimProblem> {
    let obj = doc
        .as_object()
        .ok_or_else(|| problem("invalidSyntax", "the body must be a JSON object"))?;
    let ops = get(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| problem("invalidSyntax", "a PATCH needs an Operations array"))?;
    ops.iter()
        .map(|op| {
            let op_obj = op
                .as_object()
                .ok_or_else(|| problem("invalidSyntax", "each operation must be an object"))?;
            let kind = get(op_obj, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .filter(|k| matches!(k.as_str(), "add" | "replace" | "remove"))
                .ok_or_else(|| problem("invalidSyntax", "op must be add, replace or remove"))?;
            let path = get(op_obj, "path")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let value = get(op_obj, "value").cloned().unwrap_or(Value::Null);
            if kind != "remove" && value.is_null() {
                return Err(problem("invalidSyntax", format!("{kind} needs a value")));
            }
            if kind == "remove" && path.is_none() {
                return Err(problem("noTarget", "remove needs a path"));
            }
            Ok((kind, path, value))
        })
        .collect()
}

/// Applies PATCH operations to a User document (our own representation of the user), returning
/// the patched document for [`parse_user`].
pub fn patch_user(mut doc: Value, doc_ops: &Value) -> Result<Value, ScimProblem> {
    for (kind, path, value) in operations(doc_ops)? {
        match path {
            None => {
                let fields = value.as_object().ok_or_else(|| {
                    problem(
                        "invalidValue",
                        "a patch without a path needs an object value",
                    )
                })?;
                for (k, v) in fields {
                    set_user_path(&mut doc, k, v.clone())?;
                }
            }
            Some(path) if kind == "remove" => set_user_path(&mut doc, &path, Value::Null)?,
            Some(path) => set_user_path(&mut doc, &path, value)?,
        }
    }
    Ok(doc)
}

fn set_user_path(doc: &mut Value, path: &str, value: Value) -> Result<(), ScimProblem> {
    let obj = doc.as_object_mut().expect("a user document is an object");
    let lower = path.to_ascii_lowercase();
    let enterprise_prefix = format!("{}:", ENTERPRISE.to_ascii_lowercase());
    if let Some(attr) = lower.strip_prefix(&enterprise_prefix) {
        let ext = obj
            .entry(ENTERPRISE.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !ext.is_object() {
            *ext = Value::Object(Map::new());
        }
        let ext = ext.as_object_mut().expect("object");
        let attr = match attr {
            "department" => "department",
            "manager" | "manager.value" => "manager",
            other if ENTERPRISE_ATTRIBUTES.contains(&other) => return Ok(()),
            _ => return Err(problem("invalidPath", format!("unknown path '{path}'"))),
        };
        ext.insert(attr.to_owned(), value);
        return Ok(());
    }
    if lower == ENTERPRISE.to_ascii_lowercase() {
        let fields = value
            .as_object()
            .ok_or_else(|| problem("invalidValue", "the enterprise extension must be an object"))?;
        for (k, v) in fields {
            set_user_path(doc, &format!("{ENTERPRISE}:{k}"), v.clone())?;
        }
        return Ok(());
    }
    let simple = |obj: &mut Map<String, Value>, name: &str, value: Value| {
        obj.retain(|k, _| !key_is(k, name));
        obj.insert(name.to_owned(), value);
    };
    match lower.as_str() {
        "active" => simple(obj, "active", value),
        "username" => simple(obj, "userName", value),
        "displayname" => simple(obj, "displayName", value),
        "title" => simple(obj, "title", value),
        "externalid" => simple(obj, "externalId", value),
        "usertype" => {}
        "name" => simple(obj, "name", value),
        "name.givenname" | "name.familyname" | "name.formatted" => {
            let field = match lower.as_str() {
                "name.givenname" => "givenName",
                "name.familyname" => "familyName",
                _ => "formatted",
            };
            // The name shown follows a structured change, unless the same request sets the
            // display name again afterwards.
            obj.retain(|k, _| !key_is(k, "displayName"));
            let name = obj
                .entry("name".to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !name.is_object() {
                *name = Value::Object(Map::new());
            }
            let name = name.as_object_mut().expect("object");
            if field != "formatted" {
                name.remove("formatted");
            }
            name.insert(field.to_owned(), value);
        }
        "emails" => simple(obj, "emails", value),
        p if p.starts_with("emails[") => {
            // emails[type eq "work"].value (Entra ID) or emails[primary eq true].value.
            let email = match &value {
                Value::String(_) | Value::Null => value.clone(),
                Value::Array(a) => a
                    .first()
                    .and_then(|e| e.get("value"))
                    .cloned()
                    .unwrap_or(Value::Null),
                Value::Object(o) => o.get("value").cloned().unwrap_or(Value::Null),
                _ => return Err(problem("invalidValue", "an email must be a string")),
            };
            simple(
                obj,
                "emails",
                if email.is_null() {
                    Value::Null
                } else {
                    serde_json::json!([{ "value": email, "type": "work", "primary": true }])
                },
            );
        }
        p if USER_IGNORED.iter().any(|a| {
            p == *a || p.starts_with(&format!("{a}[")) || p.starts_with(&format!("{a}."))
        }) => {}
        _ => {
            return Err(problem(
                "invalidPath",
                format!(
                    "unknown path '{}'",
                    path.chars().take(120).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

/// What a Group document says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Members' SCIM ids, when the document lists them.
    pub members: Option<Vec<String>>,
}

fn member_ids(value: &Value) -> Result<Vec<String>, ScimProblem> {
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![value],
        Value::Null => Vec::new(),
        _ => return Err(problem("invalidValue", "members must be an array")),
    };
    items
        .into_iter()
        .map(|m| {
            m.get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| problem("invalidValue", "each member needs a value"))
        })
        .collect()
}

pub fn parse_group(doc: &Value) -> Result<GroupInput, ScimProblem> {
    let obj = doc
        .as_object()
        .ok_or_else(|| problem("invalidSyntax", "the body must be a JSON object"))?;
    for key in obj.keys() {
        let lower = key.to_ascii_lowercase();
        if ![
            "schemas",
            "id",
            "externalid",
            "displayname",
            "members",
            "meta",
        ]
        .contains(&lower.as_str())
        {
            return Err(problem(
                "invalidSyntax",
                format!(
                    "unknown attribute '{}'",
                    key.chars().take(80).collect::<String>()
                ),
            ));
        }
    }
    let display_name = text(get(obj, "displayName"), "displayName")?
        .ok_or_else(|| problem("invalidValue", "displayName is required"))?;
    Ok(GroupInput {
        display_name,
        external_id: text(get(obj, "externalId"), "externalId")?,
        members: get(obj, "members").map(member_ids).transpose()?,
    })
}

/// Adds `ids` to `members`, each once (a group can hold thousands).
fn add_members(members: &mut Vec<String>, ids: Vec<String>) {
    let mut present: HashSet<String> = members.iter().cloned().collect();
    for id in ids {
        if present.insert(id.clone()) {
            members.push(id);
        }
    }
}

/// A group PATCH applied to the current state: display name, external id and member ids.
pub fn patch_group(
    current: GroupInput,
    doc_ops: &Value,
) -> Result<(GroupInput, Vec<String>), ScimProblem> {
    let mut group = current;
    let mut members = group.members.take().unwrap_or_default();
    for (kind, path, value) in operations(doc_ops)? {
        let lower = path.as_deref().map(str::to_ascii_lowercase);
        match (kind.as_str(), lower.as_deref()) {
            (_, None) => {
                let fields = value.as_object().ok_or_else(|| {
                    problem(
                        "invalidValue",
                        "a patch without a path needs an object value",
                    )
                })?;
                for (k, v) in fields {
                    match k.to_ascii_lowercase().as_str() {
                        "displayname" => {
                            group.display_name = text(Some(v), "displayName")?
                                .ok_or_else(|| problem("invalidValue", "displayName is required"))?
                        }
                        "externalid" => group.external_id = text(Some(v), "externalId")?,
                        "members" if kind == "replace" => members = member_ids(v)?,
                        "members" => add_members(&mut members, member_ids(v)?),
                        "id" | "schemas" | "meta" => {}
                        _ => {
                            return Err(problem("invalidPath", format!("unknown attribute '{k}'")));
                        }
                    }
                }
            }
            ("remove", Some("members")) => {
                if value.is_null() {
                    members.clear();
                } else {
                    let gone: HashSet<String> = member_ids(&value)?.into_iter().collect();
                    members.retain(|m| !gone.contains(m));
                }
            }
            ("remove", Some(p)) if p.starts_with("members[") => {
                // members[value eq "12"] (Okta).
                let id = filter_value(p, "value").ok_or_else(|| {
                    problem("invalidFilter", format!("unsupported member filter '{p}'"))
                })?;
                members.retain(|m| *m != id);
            }
            ("add", Some("members")) => add_members(&mut members, member_ids(&value)?),
            ("replace", Some("members")) => members = member_ids(&value)?,
            (_, Some("displayname")) => {
                group.display_name = text(Some(&value), "displayName")?
                    .ok_or_else(|| problem("invalidValue", "displayName is required"))?
            }
            (_, Some("externalid")) => group.external_id = text(Some(&value), "externalId")?,
            (_, Some(p)) => {
                return Err(problem(
                    "invalidPath",
                    format!("unknown path '{}'", p.chars().take(120).collect::<String>()),
                ));
            }
        }
    }
    Ok((group, members))
}

/// `attr eq "value"` from a filter or a path's brackets; the only filter form Gatehouse answers.
pub fn filter_value(filter: &str, attr: &str) -> Option<String> {
    let inner = filter
        .trim()
        .trim_start_matches("members[")
        .trim_end_matches(']');
    let mut parts = inner.splitn(3, char::is_whitespace);
    let (name, op, value) = (parts.next()?, parts.next()?, parts.next()?.trim());
    if !name.eq_ignore_ascii_case(attr) || !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = value.strip_prefix('"')?.strip_suffix('"')?;
    Some(value.replace("\\\"", "\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn okta_user() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "Ann.Lee@Example.com",
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "emails": [{ "primary": true, "value": "ann.lee@example.com", "type": "work" }],
            "displayName": "Ann Lee",
            "locale": "en-US",
            "externalId": "00u1abcd",
            "groups": [],
            "password": "ignored-by-us",
            "active": true
        })
    }

    #[test]
    fn an_okta_user_is_read_and_attributes_we_do_not_keep_are_ignored() {
        let user = parse_user(&okta_user()).unwrap();
        assert_eq!(user.email, "ann.lee@example.com");
        assert_eq!(user.name, "Ann Lee");
        assert_eq!(user.external_id.as_deref(), Some("00u1abcd"));
        assert!(user.active);
    }

    #[test]
    fn an_entra_user_with_the_enterprise_extension_is_read() {
        let doc = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": "f3b1",
            "userName": "bo@example.com",
            "active": "True",
            "displayName": "Bo Chan",
            "title": "Engineer",
            "emails": [{ "primary": true, "type": "work", "value": "bo@example.com" }],
            "name": { "formatted": "Bo Chan", "familyName": "Chan", "givenName": "Bo" },
            ENTERPRISE: { "department": "Data", "manager": { "value": "12" } }
        });
        let user = parse_user(&doc).unwrap();
        assert_eq!(user.department.as_deref(), Some("Data"));
        assert_eq!(user.manager.as_deref(), Some("12"));
        assert_eq!(user.title.as_deref(), Some("Engineer"));
    }

    #[test]
    fn unknown_attributes_and_schemas_are_errors() {
        let mut doc = okta_user();
        doc["favouriteColour"] = json!("blue");
        assert_eq!(parse_user(&doc).unwrap_err().scim_type, "invalidSyntax");
        let mut doc = okta_user();
        doc["schemas"] = json!(["urn:example:custom"]);
        assert_eq!(parse_user(&doc).unwrap_err().scim_type, "invalidSyntax");
        let mut doc = okta_user();
        doc["userName"] = json!("no address");
        doc["emails"] = json!([]);
        assert_eq!(parse_user(&doc).unwrap_err().scim_type, "invalidValue");
        let mut doc = okta_user();
        doc["active"] = json!("maybe");
        assert_eq!(parse_user(&doc).unwrap_err().scim_type, "invalidValue");
    }

    #[test]
    fn entra_and_okta_patches_apply() {
        let entra = json!({
            "schemas": [PATCH_OP],
            "Operations": [
                { "op": "Replace", "path": "active", "value": "False" },
                { "op": "Add", "path": "title", "value": "Lead" },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann@example.com" },
                { "op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "7" },
                { "op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales" }
            ]
        });
        let patched = patch_user(okta_user(), &entra).unwrap();
        let user = parse_user(&patched).unwrap();
        assert!(!user.active);
        assert_eq!(user.title.as_deref(), Some("Lead"));
        assert_eq!(user.manager.as_deref(), Some("7"));
        assert_eq!(user.department.as_deref(), Some("Sales"));

        let okta = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": { "active": false } }] });
        assert!(
            !parse_user(&patch_user(okta_user(), &okta).unwrap())
                .unwrap()
                .active
        );

        let renamed = json!({ "Operations": [{ "op": "replace", "path": "name.givenName", "value": "Annie" }] });
        assert_eq!(
            parse_user(&patch_user(okta_user(), &renamed).unwrap())
                .unwrap()
                .name,
            "Annie Lee"
        );
    }

    #[test]
    fn bad_patches_are_named() {
        let cases = [
            (
                json!({ "Operations": [{ "op": "replace", "path": "shoeSize", "value": 9 }] }),
                "invalidPath",
            ),
            (
                json!({ "Operations": [{ "op": "move", "path": "title", "value": "x" }] }),
                "invalidSyntax",
            ),
            (json!({ "Operations": [{ "op": "remove" }] }), "noTarget"),
            (json!({ "Operations": "replace" }), "invalidSyntax"),
            (json!([1, 2]), "invalidSyntax"),
        ];
        for (ops, scim_type) in cases {
            assert_eq!(
                patch_user(okta_user(), &ops).unwrap_err().scim_type,
                scim_type,
                "{ops}"
            );
        }
    }

    #[test]
    fn group_members_are_added_removed_and_replaced() {
        let group = GroupInput {
            display_name: "Ops".into(),
            external_id: None,
            members: Some(vec!["1".into(), "2".into()]),
        };
        let ops = json!({ "Operations": [
            { "op": "Add", "path": "members", "value": [{ "value": "3" }] },
            { "op": "remove", "path": "members[value eq \"1\"]" },
            { "op": "Remove", "path": "members", "value": [{ "value": "2" }] },
            { "op": "replace", "value": { "displayName": "Operations" } }
        ]});
        let (group, members) = patch_group(group, &ops).unwrap();
        assert_eq!(members, vec!["3".to_owned()]);
        assert_eq!(group.display_name, "Operations");
        assert_eq!(
            filter_value("userName eq \"a@b.c\"", "userName").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(filter_value("userName sw \"a\"", "userName"), None);
    }
}
