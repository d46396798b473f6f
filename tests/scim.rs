//! SCIM 2.0 provisioning, with requests shaped as Okta and Entra ID send them.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::web::{Reply, SAME_ORIGIN, post_form, send};
use common::{TestStore, app_state, config, count, person_id, seeded_stores};
use gatehouse::server::http::router;
use serde_json::{Value, json};

const TOKEN: &str = "scim-token-for-tests-0123456789abcdef";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn app(db: &TestStore) -> Router {
    router(app_state(
        db.store.clone(),
        config(
            &db.dir,
            &[
                ("GATEHOUSE_SCIM_TOKEN", TOKEN),
                ("GATEHOUSE_DEV_LOGIN", "true"),
            ],
        ),
    ))
}

fn scim(method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/scim+json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(body.map_or_else(Body::empty, |v| Body::from(v.to_string())))
        .unwrap()
}

async fn call(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let reply = send(app, scim(method, path, body, Some(TOKEN))).await;
    (reply.status, parse(&reply))
}

/// A PATCH of `path` with these operations, as the providers send it.
async fn patch(app: &Router, path: &str, operations: Value) -> (StatusCode, Value) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    });
    call(app, Method::PATCH, path, Some(body)).await
}

fn parse(reply: &Reply) -> Value {
    if reply.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("not JSON: {}", reply.body))
    }
}

#[tokio::test]
async fn without_the_bearer_token_nothing_is_answered() {
    for db in seeded_stores().await {
        let app = app(&db);
        for token in [None, Some("wrong"), Some("")] {
            let reply = send(&app, scim(Method::GET, "/scim/v2/Users", None, token)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            let body = parse(&reply);
            assert_eq!(
                body["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
            assert_eq!(body["status"], "401");
        }
        // Not configured: the endpoint does not exist.
        let plain = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let reply = send(
            &plain,
            scim(Method::GET, "/scim/v2/Users", None, Some(TOKEN)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn okta_creates_finds_updates_and_deactivates_a_user() {
    for db in seeded_stores().await {
        let app = app(&db);
        // Okta first looks the user up by userName.
        let (status, body) = call(&app, Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22ann.lee%40example.com%22&startIndex=1&count=100", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["totalResults"], 0);
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );

        let (status, created) = call(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ann.lee@example.com",
                "name": { "givenName": "Ann", "familyName": "Lee" },
                "emails": [{ "primary": true, "value": "ann.lee@example.com", "type": "work" }],
                "displayName": "Ann Lee",
                "locale": "en-US",
                "externalId": "00u1abcd",
                "groups": [],
                "password": "a-password-okta-may-send",
                "active": true
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["userName"], "ann.lee@example.com");
        assert_eq!(created["active"], true);
        assert!(
            created["meta"]["location"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/scim/v2/Users/{id}"))
        );
        // No password is ever stored from SCIM.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM people WHERE password_hash IS NOT NULL"
            )
            .await,
            0
        );

        let (_, found) = call(
            &app,
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22Ann.Lee%40example.com%22",
            None,
        )
        .await;
        assert_eq!(found["totalResults"], 1);
        assert_eq!(found["Resources"][0]["id"], id.as_str());

        // Okta's profile push is a PUT of the whole user.
        let (status, updated) = call(
            &app,
            Method::PUT,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": id, "userName": "ann.lee@example.com", "displayName": "Ann Lee-Park",
                "title": "Staff Engineer", "active": true,
                "emails": [{ "primary": true, "value": "ann.lee@example.com", "type": "work" }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["displayName"], "Ann Lee-Park");
        assert_eq!(updated["title"], "Staff Engineer");

        // Ann signs in (development sign-in here), then Okta deactivates her.
        let ann = person_id(&db.store, "ann.lee@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/auth/dev-login",
                format!("person_id={ann}"),
                SAME_ORIGIN,
                None,
            ),
        )
        .await;
        let cookie = reply.cookie("gatehouse_session").expect("signed in");
        let (status, patched) = call(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "value": { "active": false } }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["active"], false);
        let me = send(
            &app,
            post_form("/api/me", String::new(), SAME_ORIGIN, Some(&cookie)),
        )
        .await;
        assert_eq!(me.body, "null", "her session ended with the deactivation");
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM sessions WHERE person_id = {ann}")
            )
            .await,
            0
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'person_deactivated'"
            )
            .await,
            1
        );

        // And reactivates her.
        let (_, patched) = call(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "value": { "active": true } }]
            })),
        )
        .await;
        assert_eq!(patched["active"], true);
    }
}

#[tokio::test]
async fn entra_id_provisions_with_the_enterprise_extension_and_its_patch_style() {
    for db in seeded_stores().await {
        let app = app(&db);
        let morgan = person_id(&db.store, "morgan.lee@example.com").await;
        let (status, created) = call(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "externalId": "5f2d8a0c",
                "userName": "bo.chan@example.com",
                "active": true,
                "displayName": "Bo Chan",
                "title": "Engineer",
                "emails": [{ "primary": true, "type": "work", "value": "bo.chan@example.com" }],
                "name": { "formatted": "Bo Chan", "familyName": "Chan", "givenName": "Bo" },
                ENTERPRISE: { "department": "Commerce", "manager": { "value": morgan.to_string() } }
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created[ENTERPRISE]["manager"]["value"], morgan.to_string());

        // Entra ID looks users up by externalId too.
        let (_, found) = call(
            &app,
            Method::GET,
            "/scim/v2/Users?filter=externalId+eq+%225f2d8a0c%22",
            None,
        )
        .await;
        assert_eq!(found["totalResults"], 1);

        let alex = person_id(&db.store, "alex.rivera@example.com").await;
        let (status, patched) = call(&app, Method::PATCH, &format!("/scim/v2/Users/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                { "op": "Replace", "path": "title", "value": "Senior Engineer" },
                { "op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": alex.to_string() },
                { "op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Platform" },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bo.chan@example.com" }
            ]
        }))).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["title"], "Senior Engineer");
        assert_eq!(patched[ENTERPRISE]["manager"]["value"], alex.to_string());
        assert_eq!(patched[ENTERPRISE]["department"], "Platform");

        let (status, patched) = call(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(patched["active"], false);
    }
}

#[tokio::test]
async fn malformed_or_unknown_input_gets_a_scim_error_and_changes_nothing() {
    for db in seeded_stores().await {
        let app = app(&db);
        let people = count(&db, "SELECT COUNT(*) FROM people").await;
        let audit = count(&db, "SELECT COUNT(*) FROM audit_events").await;
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let sam_path = format!("/scim/v2/Users/{sam}");
        let morgan_path = format!(
            "/scim/v2/Users/{}",
            person_id(&db.store, "morgan.lee@example.com").await
        );

        let reply = send(&app, {
            let mut r = scim(Method::POST, "/scim/v2/Users", None, Some(TOKEN));
            *r.body_mut() = Body::from("{\"userName\": ");
            r
        })
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(parse(&reply)["scimType"], "invalidSyntax");

        let cases: Vec<(Method, &str, Value, StatusCode, &str)> = vec![
            (
                Method::POST,
                "/scim/v2/Users",
                json!({ "userName": "x@example.com", "shoeSize": 44 }),
                StatusCode::BAD_REQUEST,
                "invalidSyntax",
            ),
            (
                Method::POST,
                "/scim/v2/Users",
                json!({ "userName": "x@example.com", ENTERPRISE: { "favouriteTeam": "x" } }),
                StatusCode::BAD_REQUEST,
                "invalidSyntax",
            ),
            (
                Method::POST,
                "/scim/v2/Users",
                json!({ "userName": "not an address" }),
                StatusCode::BAD_REQUEST,
                "invalidValue",
            ),
            // Entra ID's guest accounts: contractors join by invitation, not provisioning.
            (
                Method::POST,
                "/scim/v2/Users",
                json!({ "userName": "guest@partner.example", "userType": "Guest" }),
                StatusCode::BAD_REQUEST,
                "invalidValue",
            ),
            (
                Method::POST,
                "/scim/v2/Users",
                json!({ "userName": "SAM.TAYLOR@example.com" }),
                StatusCode::CONFLICT,
                "uniqueness",
            ),
            (
                Method::POST,
                "/scim/v2/Users",
                json!({ "userName": "x@example.com", ENTERPRISE: { "manager": { "value": "999999" } } }),
                StatusCode::BAD_REQUEST,
                "invalidValue",
            ),
            (
                Method::PATCH,
                &sam_path,
                json!({ "Operations": [{ "op": "replace", "path": "shoeSize", "value": 44 }] }),
                StatusCode::BAD_REQUEST,
                "invalidPath",
            ),
            (
                Method::PATCH,
                &sam_path,
                json!({ "Operations": [{ "op": "replace", "path": "active", "value": "perhaps" }] }),
                StatusCode::BAD_REQUEST,
                "invalidValue",
            ),
            (
                Method::PATCH,
                &sam_path,
                json!({ "Operations": [{ "op": "replace", "path": "userName", "value": "morgan.lee@example.com" }] }),
                StatusCode::CONFLICT,
                "uniqueness",
            ),
            // Morgan manages Sam: Sam managing Morgan would be a loop.
            (
                Method::PATCH,
                &morgan_path,
                json!({ "Operations": [{ "op": "add", "path": format!("{ENTERPRISE}:manager"), "value": sam.to_string() }] }),
                StatusCode::BAD_REQUEST,
                "invalidValue",
            ),
            (
                Method::GET,
                "/scim/v2/Users?filter=name.familyName+sw+%22L%22",
                Value::Null,
                StatusCode::BAD_REQUEST,
                "invalidFilter",
            ),
        ];
        for (method, path, body, status, scim_type) in cases {
            let body_for = if body.is_null() {
                None
            } else {
                Some(body.clone())
            };
            let (got, answer) = call(&app, method.clone(), path, body_for).await;
            assert_eq!(got, status, "{method} {path} {body}: {answer}");
            assert_eq!(answer["scimType"], scim_type, "{method} {path} {body}");
            assert_eq!(
                answer["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
        }
        let (status, _) = call(&app, Method::GET, "/scim/v2/Users/424242", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let reply = send(&app, {
            let mut r = scim(
                Method::POST,
                "/scim/v2/Users",
                Some(json!({"userName": "y@example.com"})),
                Some(TOKEN),
            );
            r.headers_mut()
                .insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
            r
        })
        .await;
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await, people);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_events").await, audit);
    }
}

#[tokio::test]
async fn groups_become_teams_and_membership_follows_the_provider() {
    for db in seeded_stores().await {
        let app = app(&db);
        let sam = person_id(&db.store, "sam.taylor@example.com")
            .await
            .to_string();
        let riley = person_id(&db.store, "riley.chen@example.com")
            .await
            .to_string();
        let casey = person_id(&db.store, "casey.novak@example.com")
            .await
            .to_string();

        let (status, group) = call(
            &app,
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Payments Guild",
                "externalId": "grp-1",
                "members": [{ "value": sam }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let id = group["id"].as_str().unwrap().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        let slug: String =
            sqlx::query_scalar("SELECT slug FROM teams WHERE name = 'Payments Guild'")
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        assert_eq!(slug, "payments-guild");

        // Entra ID adds and removes with a value list.
        let (status, _) = call(&app, Method::PATCH, &path, Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                { "op": "Add", "path": "members", "value": [{ "value": riley }, { "value": casey }] },
                { "op": "Remove", "path": "members", "value": [{ "value": sam }] }
            ]
        }))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // Okta removes with a filter in the path and renames without a path.
        let (status, _) = call(
            &app,
            Method::PATCH,
            &path,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    { "op": "remove", "path": format!("members[value eq \"{casey}\"]") },
                    { "op": "replace", "value": { "id": id, "displayName": "Payments" } }
                ]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, group) = call(&app, Method::GET, &path, None).await;
        assert_eq!(group["displayName"], "Payments");
        let members: Vec<&str> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members, vec![riley.as_str()]);

        let (_, found) = call(
            &app,
            Method::GET,
            "/scim/v2/Groups?filter=displayName+eq+%22Payments%22",
            None,
        )
        .await;
        assert_eq!(found["totalResults"], 1);

        // A member who is a team owner in Gatehouse stays an owner through a sync.
        let platform: i64 = sqlx::query_scalar("SELECT id FROM teams WHERE slug = 'platform'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        let alex = person_id(&db.store, "alex.rivera@example.com")
            .await
            .to_string();
        let (status, _) = call(
            &app,
            Method::PUT,
            &format!("/scim/v2/Groups/{platform}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Platform", "members": [{ "value": alex }, { "value": sam }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let roles: Vec<(i64, String)> = sqlx::query_as(
            "SELECT person_id, role FROM team_members WHERE team_id = $1 ORDER BY role",
        )
        .bind(platform)
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        assert_eq!(roles.len(), 2, "Jordan left, Sam joined");
        assert!(roles.contains(&(alex.parse().unwrap(), "owner".into())));
        assert!(roles.contains(&(sam.parse().unwrap(), "member".into())));

        // A team that owns APIs is not deleted; an empty one is.
        let (status, answer) = call(
            &app,
            Method::DELETE,
            &format!("/scim/v2/Groups/{platform}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        let (status, _) = call(&app, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(&app, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Unknown members are refused whole.
        let (status, answer) = call(
            &app,
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({
                "displayName": "Ghosts", "members": [{ "value": "99999" }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM teams WHERE name = 'Ghosts'").await,
            0
        );
    }
}

#[tokio::test]
async fn reads_return_the_attributes_asked_for() {
    for db in seeded_stores().await {
        let app = app(&db);
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let (status, group) = call(
            &app,
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({
                "displayName": "Observability",
                "externalId": "grp-obs",
                "members": [{ "value": sam.to_string() }]
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let id = group["id"].as_str().unwrap().to_owned();
        let names = |doc: &Value| -> Vec<String> {
            let mut k: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };

        // Entra ID's reads of a group: found by name, members left out.
        let (status, list) = call(
            &app,
            Method::GET,
            "/scim/v2/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Observability%22",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["totalResults"], 1);
        assert_eq!(
            names(&list["Resources"][0]),
            ["displayName", "externalId", "id", "meta", "schemas"],
            "{}",
            db.backend
        );
        let path = format!("/scim/v2/Groups/{id}");
        let (_, one) = call(
            &app,
            Method::GET,
            &format!("{path}?excludedAttributes=members"),
            None,
        )
        .await;
        assert_eq!(one, list["Resources"][0]);
        // Without the parameter, the members are there.
        let (_, whole) = call(&app, Method::GET, &path, None).await;
        assert_eq!(whole["members"][0]["value"], sam.to_string());
        assert_eq!(whole["displayName"], "Observability");

        // `attributes` narrows to those named (any case, qualified or not, sub-attributes too).
        let (_, narrow) = call(
            &app,
            Method::GET,
            &format!(
                "{path}?attributes=urn:ietf:params:scim:schemas:core:2.0:Group:DISPLAYNAME,members.value"
            ),
            None,
        )
        .await;
        assert_eq!(
            narrow,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": id,
                "displayName": "Observability",
                "members": [{ "value": sam.to_string() }],
            })
        );

        // Users: the same parameters, in a list and for one.
        let (_, users) = call(
            &app,
            Method::GET,
            "/scim/v2/Users?attributes=userName,active&filter=userName%20eq%20%22sam.taylor@example.com%22",
            None,
        )
        .await;
        assert_eq!(
            users["Resources"][0],
            json!({ "id": sam.to_string(), "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE
            ], "userName": "sam.taylor@example.com", "active": true })
        );
        let (_, user) = call(
            &app,
            Method::GET,
            &format!("/scim/v2/Users/{sam}?excludedAttributes=groups,{ENTERPRISE}:manager"),
            None,
        )
        .await;
        assert!(user.get("groups").is_none(), "{user}");
        assert!(user[ENTERPRISE].get("manager").is_none(), "{user}");
        assert!(user["userName"].is_string() && user["meta"].is_object());
        let (_, user) = call(&app, Method::GET, &format!("/scim/v2/Users/{sam}"), None).await;
        let teams: Vec<&str> = user["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["display"].as_str())
            .collect();
        assert!(teams.contains(&"Observability"), "{user}");
        assert!(user[ENTERPRISE]["manager"]["value"].is_string(), "{user}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_to_one_user_each_keep_their_change() {
    for db in seeded_stores().await {
        let app = app(&db);
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let path = format!("/scim/v2/Users/{sam}");
        let patch = |path_in_doc: String, value: &'static str| {
            call(
                &app,
                Method::PATCH,
                &path,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "replace", "path": path_in_doc, "value": value }]
                })),
            )
        };
        // Each PATCH reads the User, changes one attribute and writes the whole User back: sent
        // together, each must start again from the others' results rather than undo them.
        let (title, name, external, department) = tokio::join!(
            patch("title".into(), "Staff Engineer"),
            patch("displayName".into(), "Sam T. Taylor"),
            patch("externalId".into(), "okta-00u1sam"),
            patch(format!("{ENTERPRISE}:department"), "Platform"),
        );
        for (status, body) in [title, name, external, department] {
            assert_eq!(status, StatusCode::OK, "{}: {body}", db.backend);
        }
        let (_, doc) = call(&app, Method::GET, &path, None).await;
        assert_eq!(doc["title"], "Staff Engineer", "{}: {doc}", db.backend);
        assert_eq!(doc["displayName"], "Sam T. Taylor", "{}: {doc}", db.backend);
        assert_eq!(doc["externalId"], "okta-00u1sam", "{}: {doc}", db.backend);
        assert_eq!(
            doc[ENTERPRISE]["department"], "Platform",
            "{}: {doc}",
            db.backend
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_membership_patches_to_one_group_each_add_their_member() {
    for db in seeded_stores().await {
        let app = app(&db);
        let people: Vec<i64> = sqlx::query_scalar("SELECT id FROM people ORDER BY id LIMIT 6")
            .fetch_all(db.store.pool())
            .await
            .unwrap();
        assert_eq!(people.len(), 6, "{}", db.backend);
        let (status, group) = call(
            &app,
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Incident Responders"
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let path = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
        let team_changes = "SELECT COUNT(*) FROM audit_events WHERE action = 'team_changed'";
        let audited_before = count(&db, team_changes).await;
        // Okta and Entra ID send a PATCH per person added, several at once. Each reads the
        // members and writes them back with its person added: every one must count.
        let mut patches = tokio::task::JoinSet::new();
        for person in &people {
            let (app, path, person) = (app.clone(), path.clone(), person.to_string());
            patches.spawn(async move {
                call(
                    &app,
                    Method::PATCH,
                    &path,
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": person }] }]
                    })),
                )
                .await
            });
        }
        while let Some(done) = patches.join_next().await {
            let (status, body) = done.unwrap();
            assert_eq!(status, StatusCode::NO_CONTENT, "{}: {body}", db.backend);
        }
        let (_, group) = call(&app, Method::GET, &path, None).await;
        let mut members: Vec<i64> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().parse().unwrap())
            .collect();
        members.sort_unstable();
        assert_eq!(members, people, "{}: {group}", db.backend);
        assert_eq!(
            count(&db, team_changes).await - audited_before,
            6,
            "{}: an audit event per PATCH",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_group_of_thousands_changes_by_the_people_a_patch_names() {
    for db in seeded_stores().await {
        let app = app(&db);
        // 3,000 people, as a company-wide group holds.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             INSERT INTO people (email, name, kind, created_at, updated_at)
             SELECT 'bulk' || i || '@example.com', 'Bulk Person ' || i, 'employee', 1, 1 FROM n",
        )
        .execute(db.store.pool())
        .await
        .unwrap();
        let bulk: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM people WHERE email LIKE 'bulk%' ORDER BY id")
                .fetch_all(db.store.pool())
                .await
                .unwrap();
        assert_eq!(bulk.len(), 3000, "{}", db.backend);
        let value = |ids: &[i64]| -> Value {
            ids.iter()
                .map(|id| json!({ "value": id.to_string() }))
                .collect()
        };
        let (status, group) = call(
            &app,
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({ "displayName": "Everyone", "members": value(&bulk) })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{}", db.backend);
        let id = group["id"].as_str().unwrap().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        let members = format!("SELECT COUNT(*) FROM team_members WHERE team_id = {id}");
        assert_eq!(count(&db, &members).await, 3000, "{}", db.backend);
        let last_change = || async {
            let details: String = sqlx::query_scalar(
                "SELECT details FROM audit_events WHERE action = 'team_changed' ORDER BY id DESC LIMIT 1",
            )
            .fetch_one(db.store.pool())
            .await
            .unwrap();
            serde_json::from_str::<Value>(&details).unwrap()
        };
        assert_eq!(last_change().await["added"].as_array().unwrap().len(), 3000);

        // Okta adds one person and removes another: the audit event names those two.
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let (status, body) = patch(
            &app,
            &path,
            json!([
                { "op": "add", "path": "members", "value": [{ "value": sam.to_string() }] },
                { "op": "remove", "path": format!("members[value eq \"{}\"]", bulk[10]) }
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{}: {body}", db.backend);
        let change = last_change().await;
        assert_eq!(change["added"], json!([sam]), "{}", db.backend);
        assert_eq!(change["removed"], json!([bulk[10]]), "{}", db.backend);
        assert_eq!(count(&db, &members).await, 3000, "{}", db.backend);
        let (_, group) = call(&app, Method::GET, &path, None).await;
        let listed: std::collections::HashSet<&str> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert!(listed.contains(sam.to_string().as_str()));
        assert!(!listed.contains(bulk[10].to_string().as_str()));

        // A replacement naming one unknown person among thousands is refused whole, and says
        // which one.
        let audited = count(&db, "SELECT COUNT(*) FROM audit_events").await;
        let replace_members = |members: &Value| {
            patch(
                &app,
                &path,
                json!([{ "op": "replace", "path": "members", "value": members }]),
            )
        };
        let mut replacement = value(&bulk[..2500]);
        replacement
            .as_array_mut()
            .unwrap()
            .insert(1200, json!({ "value": "987654321" }));
        let (status, answer) = replace_members(&replacement).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{}: {answer}", db.backend);
        assert!(
            answer["detail"]
                .as_str()
                .unwrap()
                .contains("member 987654321 is not a known User"),
            "{answer}"
        );
        assert_eq!(count(&db, &members).await, 3000, "{}", db.backend);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM audit_events").await,
            audited
        );
        let still: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM team_members WHERE team_id = {id} AND person_id = $1"
        ))
        .bind(sam)
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(still, 1, "{}", db.backend);

        // Without it, the replacement takes: the one removed above is back, Sam and the last
        // 500 leave.
        replacement.as_array_mut().unwrap().remove(1200);
        let (status, answer) = replace_members(&replacement).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{}: {answer}", db.backend);
        assert_eq!(count(&db, &members).await, 2500, "{}", db.backend);
        let change = last_change().await;
        assert_eq!(change["added"], json!([bulk[10]]), "{}", db.backend);
        let removed = change["removed"].as_array().unwrap();
        assert_eq!(removed.len(), 501, "{}", db.backend);
        assert!(removed.contains(&json!(sam)), "{}", db.backend);
    }
}

/// A list page reads its groups' members and its users' teams a page at a time: each resource
/// still carries its own, whoever else is on the page.
#[tokio::test]
async fn list_pages_carry_each_resource_its_own_members_and_groups() {
    for db in seeded_stores().await {
        let app = app(&db);
        let mut people: Vec<i64> = sqlx::query_scalar("SELECT id FROM people ORDER BY id")
            .fetch_all(db.store.pool())
            .await
            .unwrap();
        people.truncate(6);
        // Three groups: the first three people, the last four (two shared), nobody.
        let made: Vec<(String, Vec<i64>)> = vec![
            ("Alpha".into(), people[..3].to_vec()),
            ("Beta".into(), people[2..].to_vec()),
            ("Gamma".into(), Vec::new()),
        ];
        let mut ids = Vec::new();
        for (name, members) in &made {
            let members: Vec<Value> = members
                .iter()
                .map(|id| json!({ "value": id.to_string() }))
                .collect();
            let (status, group) = call(
                &app,
                Method::POST,
                "/scim/v2/Groups",
                Some(json!({ "displayName": name, "members": members })),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{group}");
            ids.push(group["id"].as_str().unwrap().to_owned());
        }

        let (status, list) = call(&app, Method::GET, "/scim/v2/Groups?count=200", None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed = list["Resources"].as_array().unwrap();
        for ((_, members), id) in made.iter().zip(&ids) {
            let group = listed
                .iter()
                .find(|g| g["id"] == json!(id))
                .unwrap_or_else(|| panic!("{}: group {id} not listed", db.backend));
            let got: Vec<i64> = group["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().parse().unwrap())
                .collect();
            assert_eq!(&got, members, "{}: {group}", db.backend);
            // The same as the group read alone.
            let (_, one) = call(&app, Method::GET, &format!("/scim/v2/Groups/{id}"), None).await;
            assert_eq!(group, &one, "{}", db.backend);
        }

        // Users: each listed user's groups are their teams, by name, as read alone.
        let (status, list) = call(&app, Method::GET, "/scim/v2/Users?count=200", None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed = list["Resources"].as_array().unwrap();
        assert!(listed.len() >= 6, "{}", db.backend);
        for user in listed {
            let id = user["id"].as_str().unwrap();
            let mut teams: Vec<String> = sqlx::query_scalar(
                "SELECT t.name FROM team_members m JOIN teams t ON t.id = m.team_id
                 WHERE m.person_id = $1",
            )
            .bind(id.parse::<i64>().unwrap())
            .fetch_all(db.store.pool())
            .await
            .unwrap();
            teams.sort();
            let got: Vec<String> = user["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["display"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(got, teams, "{}: {user}", db.backend);
            let (_, one) = call(&app, Method::GET, &format!("/scim/v2/Users/{id}"), None).await;
            assert_eq!(user, &one, "{}", db.backend);
        }
    }
}
