//! SCIM 2.0 (RFC 7643/7644) at `/scim/v2`, so that Okta or Entra ID can provision people and
//! teams: Users and Groups with filtering by `userName` / `externalId` / `displayName`, paging,
//! PUT, PATCH and deactivation (`active=false` or DELETE). Protected by a bearer token from the
//! configuration; bodies are `application/scim+json` or `application/json`, and every error is a
//! SCIM error document.

mod attributes;
mod provision;
pub mod resource;

use super::secrets::{constant_time_eq, sha256_hex};
use super::state::AppState;
use crate::domain::time::format_rfc3339;
use attributes::Projection;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use provision::{ProvisionError, Provisioner, UserFilter};
use resource::{ERROR, GROUP_SCHEMA, LIST_RESPONSE, ScimProblem, USER_SCHEMA};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/Users", get(list_users).post(create_user))
        .route(
            "/scim/v2/Users/{id}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/scim/v2/Groups", get(list_groups).post(create_group))
        .route(
            "/scim/v2/Groups/{id}",
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
}

const MAX_BODY: usize = 1024 * 1024;
const DEFAULT_COUNT: i64 = 100;
const MAX_COUNT: i64 = 200;

/// A SCIM error response.
struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_json(self.status, body)
    }
}

impl From<ScimProblem> for ScimError {
    fn from(p: ScimProblem) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(p.scim_type), p.detail)
    }
}

impl From<ProvisionError> for ScimError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::NotFound(m) => ScimError::new(StatusCode::NOT_FOUND, None, m),
            ProvisionError::Conflict(m) => {
                ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), m)
            }
            ProvisionError::Changed(m) => ScimError::new(StatusCode::CONFLICT, None, m),
            ProvisionError::Invalid(m) => {
                ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), m)
            }
            ProvisionError::Store(e) => {
                tracing::error!(error = %e, "SCIM store error");
                ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
            }
        }
    }
}

fn scim_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

/// The bearer token check. Tokens are compared as SHA-256 digests, so the comparison takes the
/// same time however much of a guess is right.
fn provisioner(state: &AppState, headers: &HeaderMap) -> Result<Provisioner, ScimError> {
    let Some(expected) = state.config.scim_token.as_ref() else {
        return Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            "SCIM provisioning is not enabled (set GATEHOUSE_SCIM_TOKEN)",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or_default()
        .trim();
    if !constant_time_eq(
        sha256_hex(presented).as_bytes(),
        sha256_hex(expected.expose()).as_bytes(),
    ) {
        return Err(ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "a valid bearer token is required",
        ));
    }
    Ok(Provisioner(()))
}

fn body(headers: &HeaderMap, bytes: &Bytes) -> Result<Value, ScimError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/scim+json")
        || content_type.starts_with("application/json"))
    {
        return Err(ScimError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("invalidSyntax"),
            "send application/scim+json",
        ));
    }
    if bytes.len() > MAX_BODY {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            "the body is larger than 1 MiB",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            format!("the body is not valid JSON: {e}"),
        )
    })
}

fn id(raw: &str, what: &str) -> Result<i64, ScimError> {
    raw.parse().map_err(|_| {
        ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("{what} {raw:.40} not found"),
        )
    })
}

#[derive(Deserialize)]
struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<i64>,
    count: Option<i64>,
}

impl ListQuery {
    fn page(&self) -> (i64, i64) {
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT);
        (start, count)
    }
}

fn list(resources: Vec<Value>, total: i64, start: i64) -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

fn meta(state: &AppState, kind: &str, id: i64, created: i64, modified: i64) -> Value {
    json!({
        "resourceType": kind,
        "created": format_rfc3339(created),
        "lastModified": format_rfc3339(modified),
        "location": format!("{}/scim/v2/{kind}s/{id}", state.config.origin()),
        "version": format!("W/\"{modified}\""),
    })
}

async fn user_doc(state: &AppState, p: &Provisioner, user_id: i64) -> Result<Value, ScimError> {
    let user = provision::user(&state.store, p, user_id).await?;
    user_doc_from(state, &user, &Projection::default()).await
}

/// One user's document with what `proj` asks for.
async fn user_doc_from(
    state: &AppState,
    u: &provision::UserRow,
    proj: &Projection,
) -> Result<Value, ScimError> {
    Ok(user_docs(state, std::slice::from_ref(u), proj)
        .await?
        .remove(0))
}

/// The users' documents with what `proj` asks for; their teams are read (for all of them at
/// once) only if it asks for them.
async fn user_docs(
    state: &AppState,
    users: &[provision::UserRow],
    proj: &Projection,
) -> Result<Vec<Value>, ScimError> {
    let mut groups = if proj.wants("groups") {
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        provision::groups_of(&state.store, &ids)
            .await
            .map_err(ProvisionError::from)?
    } else {
        HashMap::new()
    };
    Ok(users
        .iter()
        .map(|u| user_doc_with(state, u, groups.remove(&u.id).unwrap_or_default(), proj))
        .collect())
}

fn user_doc_with(
    state: &AppState,
    u: &provision::UserRow,
    groups: Vec<(i64, String)>,
    proj: &Projection,
) -> Value {
    let mut doc = json!({
        "schemas": [USER_SCHEMA, resource::ENTERPRISE],
        "id": u.id.to_string(),
        "userName": u.email,
        "name": { "formatted": u.name },
        "displayName": u.name,
        "emails": [{ "value": u.email, "type": "work", "primary": true }],
        "active": u.deactivated_at.is_none(),
        "userType": if u.kind == "employee" { "Employee" } else { "Contractor" },
        "groups": groups.iter().map(|(id, name)| json!({
            "value": id.to_string(),
            "display": name,
            "$ref": format!("{}/scim/v2/Groups/{id}", state.config.origin()),
        })).collect::<Vec<_>>(),
        "meta": meta(state, "User", u.id, u.created_at, u.updated_at),
    });
    if let Some(x) = &u.external_id {
        doc["externalId"] = json!(x);
    }
    if let Some(t) = &u.title {
        doc["title"] = json!(t);
    }
    let mut ext = serde_json::Map::new();
    if let Some(d) = &u.department {
        ext.insert("department".into(), json!(d));
    }
    if let Some(m) = u.manager_id {
        ext.insert("manager".into(), json!({ "value": m.to_string() }));
    }
    doc[resource::ENTERPRISE] = Value::Object(ext);
    proj.apply(&mut doc);
    doc
}

/// The parts of a stored user that PATCH works on: the document minus read-only attributes.
fn patchable() -> Projection {
    Projection::new(None, Some("groups,meta"))
}

async fn service_provider_config(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = provisioner(&state, &headers) {
        return e.into_response();
    }
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": MAX_COUNT },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": false },
            "authenticationSchemes": [{
                "type": "oauthbearertoken", "name": "Bearer token", "primary": true,
                "description": "The token set in GATEHOUSE_SCIM_TOKEN",
            }],
        }),
    )
}

async fn resource_types(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = provisioner(&state, &headers) {
        return e.into_response();
    }
    let types = vec![
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User",
                "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
                "schemaExtensions": [{ "schema": resource::ENTERPRISE, "required": false }] }),
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "Group",
                "name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA }),
    ];
    list(types, 2, 1)
}

async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
    Query(proj): Query<Projection>,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let filter = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        None => UserFilter::All,
        Some(f) => {
            if let Some(v) = resource::filter_value(f, "userName") {
                UserFilter::UserName(v)
            } else if let Some(v) = resource::filter_value(f, "externalId") {
                UserFilter::ExternalId(v)
            } else {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    format!(
                        "unsupported filter '{f:.120}': use userName eq \"…\" or externalId eq \"…\""
                    ),
                ));
            }
        }
    };
    let (start, count) = q.page();
    let (rows, total) = provision::users(&state.store, &p, &filter, start - 1, count).await?;
    Ok(list(user_docs(&state, &rows, &proj).await?, total, start))
}

async fn get_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(proj): Query<Projection>,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let user = provision::user(&state.store, &p, id(&raw, "User")?).await?;
    let doc = user_doc_from(&state, &user, &proj).await?;
    Ok(scim_json(StatusCode::OK, doc))
}

async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let input = resource::parse_user(&body(&headers, &bytes)?)?;
    let new_id = provision::create_user(&state.store, &p, &input, state.clock.now()).await?;
    Ok(scim_json(
        StatusCode::CREATED,
        user_doc(&state, &p, new_id).await?,
    ))
}

async fn put_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let user_id = id(&raw, "User")?;
    let input = resource::parse_user(&body(&headers, &bytes)?)?;
    provision::replace_user(&state.store, &p, user_id, &input, None, state.clock.now()).await?;
    Ok(scim_json(
        StatusCode::OK,
        user_doc(&state, &p, user_id).await?,
    ))
}

/// How many times a PATCH or DELETE starts again when the User changed under it.
const ATTEMPTS: usize = 5;

/// Applies `change` to the User's current document and writes the result, unless the User
/// changed in between (another request, an admin screen): then it starts again from the new
/// state, so a concurrent change is never overwritten with what this request read before it.
async fn read_modify_write(
    state: &AppState,
    p: &Provisioner,
    user_id: i64,
    change: impl Fn(Value) -> Result<resource::UserInput, ScimError>,
) -> Result<(), ScimError> {
    for _ in 0..ATTEMPTS {
        let base = provision::user(&state.store, p, user_id).await?;
        let input = change(user_doc_from(state, &base, &patchable()).await?)?;
        match provision::replace_user(
            &state.store,
            p,
            user_id,
            &input,
            Some(&base),
            state.clock.now(),
        )
        .await
        {
            Err(ProvisionError::Changed(_)) => continue,
            result => return result.map_err(Into::into),
        }
    }
    Err(ProvisionError::Changed(format!(
        "User {user_id} kept changing while this request was applied; send it again"
    ))
    .into())
}

async fn patch_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let user_id = id(&raw, "User")?;
    let ops = body(&headers, &bytes)?;
    read_modify_write(&state, &p, user_id, |current| {
        Ok(resource::parse_user(&resource::patch_user(current, &ops)?)?)
    })
    .await?;
    Ok(scim_json(
        StatusCode::OK,
        user_doc(&state, &p, user_id).await?,
    ))
}

/// DELETE deactivates: the person's history (audit, approvals) stays intact.
async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let user_id = id(&raw, "User")?;
    read_modify_write(&state, &p, user_id, |current| {
        let mut input = resource::parse_user(&current)?;
        input.active = false;
        Ok(input)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn group_doc(state: &AppState, p: &Provisioner, group_id: i64) -> Result<Value, ScimError> {
    let group = provision::group(&state.store, p, group_id).await?;
    group_doc_from(state, &group, &Projection::default()).await
}

/// One group's document with what `proj` asks for.
async fn group_doc_from(
    state: &AppState,
    g: &provision::GroupRow,
    proj: &Projection,
) -> Result<Value, ScimError> {
    Ok(group_docs(state, std::slice::from_ref(g), proj)
        .await?
        .remove(0))
}

/// The groups' documents with what `proj` asks for; their members are read (for all of them at
/// once) only if it asks for them (Entra ID reads groups with `excludedAttributes=members`).
async fn group_docs(
    state: &AppState,
    groups: &[provision::GroupRow],
    proj: &Projection,
) -> Result<Vec<Value>, ScimError> {
    let mut members = if proj.wants("members") {
        let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
        provision::members(&state.store, &ids)
            .await
            .map_err(ProvisionError::from)?
    } else {
        HashMap::new()
    };
    Ok(groups
        .iter()
        .map(|g| group_doc_with(state, g, members.remove(&g.id).unwrap_or_default(), proj))
        .collect())
}

fn group_doc_with(
    state: &AppState,
    g: &provision::GroupRow,
    members: Vec<(i64, String)>,
    proj: &Projection,
) -> Value {
    let mut doc = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id.to_string(),
        "displayName": g.name,
        "members": members.iter().map(|(id, name)| json!({
            "value": id.to_string(),
            "display": name,
            "$ref": format!("{}/scim/v2/Users/{id}", state.config.origin()),
        })).collect::<Vec<_>>(),
        "meta": meta(state, "Group", g.id, g.created_at, g.created_at),
    });
    if let Some(x) = &g.external_id {
        doc["externalId"] = json!(x);
    }
    proj.apply(&mut doc);
    doc
}

async fn list_groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
    Query(proj): Query<Projection>,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let name = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        None => None,
        Some(f) => Some(resource::filter_value(f, "displayName").ok_or_else(|| {
            ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
                format!("unsupported filter '{f:.120}': use displayName eq \"…\""),
            )
        })?),
    };
    let (start, count) = q.page();
    let (rows, total) =
        provision::groups(&state.store, &p, name.as_deref(), start - 1, count).await?;
    Ok(list(group_docs(&state, &rows, &proj).await?, total, start))
}

async fn get_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(proj): Query<Projection>,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let group = provision::group(&state.store, &p, id(&raw, "Group")?).await?;
    Ok(scim_json(
        StatusCode::OK,
        group_doc_from(&state, &group, &proj).await?,
    ))
}

async fn create_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let input = resource::parse_group(&body(&headers, &bytes)?)?;
    let new_id = provision::create_group(&state.store, &p, &input, state.clock.now()).await?;
    Ok(scim_json(
        StatusCode::CREATED,
        group_doc(&state, &p, new_id).await?,
    ))
}

async fn put_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let group_id = id(&raw, "Group")?;
    let input = resource::parse_group(&body(&headers, &bytes)?)?;
    let members = input.members.clone().unwrap_or_default();
    provision::replace_group(
        &state.store,
        &p,
        group_id,
        &input,
        Some(&members),
        state.clock.now(),
    )
    .await?;
    Ok(scim_json(
        StatusCode::OK,
        group_doc(&state, &p, group_id).await?,
    ))
}

async fn patch_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    let group_id = id(&raw, "Group")?;
    let ops = body(&headers, &bytes)?;
    // Read and written in one transaction: PATCHes for one group sent side by side all count.
    provision::patch_group(
        &state.store,
        &p,
        group_id,
        |current| Ok::<_, ScimError>(resource::patch_group(current, &ops)?),
        state.clock.now(),
    )
    .await?;
    // Okta and Entra ID accept 204 for a group PATCH; the full group can be large.
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, ScimError> {
    let p = provisioner(&state, &headers)?;
    provision::delete_group(&state.store, &p, id(&raw, "Group")?, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
