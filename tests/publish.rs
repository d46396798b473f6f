//! CI publishing: team publish tokens made in the UI, `POST /api/v1/apis/{slug}/versions`, the
//! version diff it stores, and `GET /api/v1/apis/{slug}/diff`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::web::{Reply, SAME_ORIGIN, get, post_form, send};
use common::{app_state, config, count, seeded_stores};
use gatehouse::server::http::router;
use gatehouse::server::secrets::sha256_hex;

async fn cookie(db: &common::TestStore, email: &str) -> String {
    common::session_cookie(&db.store, email).await
}

/// A CI's request: no cookie, no Origin, a bearer token.
fn publish(slug: &str, token: Option<&str>, body: &serde_json::Value) -> Request<Body> {
    let mut b = Request::post(format!("/api/v1/apis/{slug}/versions"))
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

fn json(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

/// Version 2 of the demo's expanded petstore (`pet-search`): DELETE /pets/{id} is gone, GET
/// /pets/{id}/photos is new, GET /pets needs an `owner`, and a pet no longer has a `tag`.
const V2: &str = r##"
openapi: 3.0.0
info: {title: Swagger Petstore, version: 2.0.0}
servers: [{url: "https://petstore.example.com/v2"}]
paths:
  /pets:
    get:
      summary: List pets
      operationId: findPets
      parameters:
        - {name: owner, in: query, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, format: int32}}
      responses:
        "200":
          description: pets
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}
    post:
      summary: Add a pet
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "200":
          description: pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
  /pets/{id}:
    get:
      summary: Find a pet by id
      operationId: findPetById
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, format: int64}}
      responses:
        "200":
          description: pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
  /pets/{id}/photos:
    get:
      summary: List a pet's photos
      operationId: listPhotos
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, format: int64}}
      responses:
        "200": {description: photos}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        id: {type: integer, format: int64}
        name: {type: string}
"##;

async fn create_token(app: &axum::Router, owner_cookie: &str, team: &str) -> String {
    let reply = send(
        app,
        post_form(
            "/api/teams/tokens/create",
            format!("team={team}&name=GitHub+Actions"),
            SAME_ORIGIN,
            Some(owner_cookie),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let created = json(&reply);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ghpub_"), "{secret}");
    assert_eq!(
        created["token"]["prefix"].as_str().unwrap(),
        format!("{}…", &secret[..18])
    );
    secret
}

#[tokio::test]
async fn team_owners_make_tokens_that_are_stored_hashed_and_shown_once() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let morgan = cookie(&db, "morgan.lee@example.com").await; // owns commerce
        let sam = cookie(&db, "sam.taylor@example.com").await; // a member of commerce
        let secret = create_token(&app, &morgan, "commerce").await;

        // Only its hash is stored; the secret is in no column and no audit event.
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT COUNT(*) FROM publish_tokens WHERE secret_hash = '{}'",
                    sha256_hex(&secret)
                )
            )
            .await,
            1
        );
        let secret_tail = &secret[19..];
        for sql in [
            "SELECT COUNT(*) FROM publish_tokens WHERE secret_hash LIKE '%{}%' OR lookup_id LIKE '%{}%' OR name LIKE '%{}%'",
            "SELECT COUNT(*) FROM audit_events WHERE details LIKE '%{}%'",
        ] {
            assert_eq!(
                count(&db, &sql.replace("{}", secret_tail)).await,
                0,
                "{sql}"
            );
        }
        // The list shows the prefix, never the secret.
        let reply = send(
            &app,
            post_form(
                "/api/teams/tokens",
                "team=commerce".into(),
                SAME_ORIGIN,
                Some(&morgan),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(!reply.body.contains(secret_tail));
        assert!(reply.body.contains(&secret[..18]));

        // A member who does not own the team can neither list nor create.
        for path in ["/api/teams/tokens", "/api/teams/tokens/create"] {
            let reply = send(
                &app,
                post_form(path, "team=commerce&name=x".into(), SAME_ORIGIN, Some(&sam)),
            )
            .await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                reply.body
            );
        }
        // A blank name is refused and nothing is made.
        let reply = send(
            &app,
            post_form(
                "/api/teams/tokens/create",
                "team=commerce&name=+".into(),
                SAME_ORIGIN,
                Some(&morgan),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM publish_tokens").await, 1);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'publish_token_created'"
            )
            .await,
            1
        );
    }
}

#[tokio::test]
async fn ci_publishes_a_version_with_a_team_token_and_its_diff_is_shown() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let morgan = cookie(&db, "morgan.lee@example.com").await;
        let token = create_token(&app, &morgan, "commerce").await;
        let versions = "SELECT COUNT(*) FROM api_versions v JOIN apis a ON a.id = v.api_id WHERE a.slug = 'pet-search'";
        assert_eq!(count(&db, versions).await, 1);

        let body = serde_json::json!({
            "label": "2.0.0",
            "spec": V2,
            "release_notes": "Pets have *photos* now.",
        });
        let reply = send(&app, publish("pet-search", Some(&token), &body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let published = json(&reply);
        assert_eq!(published["version"], "2.0.0");
        assert_eq!(published["operations"], 4);
        assert_eq!(published["created"], true);
        assert_eq!(count(&db, versions).await, 2);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM publish_tokens WHERE last_used_at IS NOT NULL"
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'version_published'"
            )
            .await,
            1
        );

        // The new version is the one shown, and its reference was rendered at publish.
        let sam = cookie(&db, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/reference",
                "slug=pet-search".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = json(&reply);
        assert_eq!(page["version"], "2.0.0");
        assert!(page["html"].as_str().unwrap().contains("/pets/{id}/photos"));
        assert_eq!(page["versions"].as_array().unwrap().len(), 2);
        // The old one stays reachable through the version selector.
        let reply = send(
            &app,
            post_form(
                "/api/catalog/reference",
                "slug=pet-search&version=1.0.0".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        let page = json(&reply);
        assert_eq!(page["version"], "1.0.0");
        assert!(!page["html"].as_str().unwrap().contains("/pets/{id}/photos"));

        // The changelog carries the stored diff; the REST API computes the same.
        let reply = send(
            &app,
            post_form(
                "/api/catalog/changelog",
                "slug=pet-search".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        let changelog = json(&reply);
        let diff = &changelog["diffs"][0];
        assert_eq!(
            (diff["from"].as_str(), diff["to"].as_str()),
            (Some("1.0.0"), Some("2.0.0"))
        );
        let reply = send(
            &app,
            get(
                "/api/v1/apis/pet-search/diff?from=1.0.0&to=2.0.0",
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let rest = json(&reply);
        assert_eq!(&rest, diff);
        let ops = |key: &str| -> Vec<String> {
            rest[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    format!(
                        "{} {}",
                        o["method"].as_str().unwrap(),
                        o["path"].as_str().unwrap()
                    )
                })
                .collect()
        };
        assert_eq!(ops("added"), ["GET /pets/{id}/photos"]);
        assert_eq!(ops("removed"), ["DELETE /pets/{id}"]);
        let kinds: Vec<(String, String)> = rest["breaking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["kind"].as_str().unwrap().to_owned(),
                    format!(
                        "{} {} {}",
                        b["method"].as_str().unwrap(),
                        b["path"].as_str().unwrap(),
                        b["location"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        assert!(
            kinds.iter().any(|(k, _)| k == "removed_operation"),
            "{kinds:?}"
        );
        assert!(
            kinds.iter().any(|(k, w)| k == "new_required_parameter"
                && w.contains("GET /pets")
                && w.contains("owner")),
            "{kinds:?}"
        );
        assert!(
            kinds.iter().any(|(k, w)| k == "removed_response_field"
                && w.contains("GET /pets")
                && w.contains("tag")),
            "{kinds:?}"
        );

        // Publishing the same label again replaces it in place; guides and a spec left out are
        // kept.
        let reply = send(
            &app,
            publish(
                "pet-search",
                Some(&token),
                &serde_json::json!({"label": "2.0.0", "release_notes": "Fixed a typo."}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(json(&reply)["created"], false);
        assert_eq!(json(&reply)["operations"], 4);
        assert_eq!(count(&db, versions).await, 2);
        // Replacing the older version keeps the newer one's diff, computed again.
        let reply = send(
            &app,
            publish(
                "pet-search",
                Some(&token),
                &serde_json::json!({"label": "1.0.0", "status": "deprecated"}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let reply = send(
            &app,
            post_form(
                "/api/catalog/changelog",
                "slug=pet-search".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        let changelog = json(&reply);
        assert_eq!(
            changelog["diffs"].as_array().unwrap().len(),
            1,
            "{changelog}"
        );
        assert_eq!(changelog["diffs"][0]["removed"][0]["path"], "/pets/{id}");

        // A later import of the API's folder would prune only what the import wrote: the
        // versions CI published are marked as such.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM api_versions WHERE origin = 'publish'"
            )
            .await,
            2
        );
    }
}

#[tokio::test]
async fn publishing_refuses_bad_tokens_other_teams_apis_and_broken_versions_changing_nothing() {
    for db in seeded_stores().await {
        let app = router(app_state(
            db.store.clone(),
            config(&db.dir, &[("GATEHOUSE_MAX_SPEC_MB", "1")]),
        ));
        let morgan = cookie(&db, "morgan.lee@example.com").await;
        let token = create_token(&app, &morgan, "commerce").await;
        let good = serde_json::json!({"label": "3.0.0", "spec": V2});
        let versions = "SELECT COUNT(*) FROM api_versions";
        let before = count(&db, versions).await;

        // No token, a malformed one, a right-looking one with a wrong secret.
        let wrong = format!("{}0000", &token[..token.len() - 4]);
        for bad in [None, Some("not-a-token"), Some(wrong.as_str())] {
            let reply = send(&app, publish("pet-search", bad, &good)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{bad:?}: {}",
                reply.body
            );
            assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
        }
        // Another team's API; an API that does not exist. Both are decided before the body is
        // read: garbage gets the same answers.
        let garbage = serde_json::json!("not an object");
        for body in [&good, &garbage] {
            let reply = send(&app, publish("files", Some(&token), body)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
            let reply = send(&app, publish("no-such-api", Some(&token), body)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
            let reply = send(&app, publish("pet-search", None, body)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        }

        // Broken versions: each answer names the problem and where it is.
        let cases = [
            (
                serde_json::json!({"label": "3.0.0", "spec": "openapi: 3.0.0\ninfo: {title: x\n"}),
                "invalid YAML",
            ),
            (
                serde_json::json!({"label": "3.0.0", "spec": "openapi: 4.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n"}),
                "OpenAPI 4.0.0 is not supported",
            ),
            (
                serde_json::json!({"label": "3.0.0", "spec": V2.replace("#/components/schemas/Pet\"}}\n    post", "#/components/schemas/Missing\"}}\n    post")}),
                "#/components/schemas/Missing",
            ),
            (
                serde_json::json!({"label": "3.0.0", "spec": format!("{V2}\n# {}", "x".repeat(1024 * 1024))}),
                "the limit is 1 MB",
            ),
            (
                serde_json::json!({"label": "../3", "spec": V2}),
                "version label",
            ),
            (
                serde_json::json!({"label": "3.0.0", "spec": V2, "guides": [{"name": "a.md", "content": "---\ntitle: [\n---\n"}]}),
                "front matter",
            ),
        ];
        for (body, expected) in cases {
            let reply = send(&app, publish("pet-search", Some(&token), &body)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{expected}: {}",
                reply.body
            );
            assert!(reply.body.contains(expected), "{expected}: {}", reply.body);
        }
        let reply = send(
            &app,
            publish("pet-search", Some(&token), &serde_json::json!({"label": 3})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(
            reply.body.contains("The body must be JSON"),
            "{}",
            reply.body
        );

        // A revoked token stops at once.
        let id: i64 = sqlx::query_scalar("SELECT id FROM publish_tokens")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        let reply = send(
            &app,
            post_form(
                "/api/teams/tokens/revoke",
                format!("team=commerce&id={id}"),
                SAME_ORIGIN,
                Some(&morgan),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let reply = send(&app, publish("pet-search", Some(&token), &good)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

        assert_eq!(count(&db, versions).await, before, "nothing was published");
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'version_published'"
            )
            .await,
            0
        );
    }
}

#[tokio::test]
async fn diffs_are_only_for_those_who_may_see_the_api_and_name_bad_versions() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let dana = cookie(&db, "dana.fox@northwind.example").await; // a contractor
        let sam = cookie(&db, "sam.taylor@example.com").await;
        // pet-search is for employees only: a contractor is told it does not exist.
        let reply = send(
            &app,
            get(
                "/api/v1/apis/pet-search/diff?from=1.0.0&to=1.0.0",
                Some(&dana),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        let reply = send(
            &app,
            get("/api/v1/apis/pet-search/diff?from=1.0.0&to=1.0.0", None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        let reply = send(
            &app,
            get(
                "/api/v1/apis/pet-search/diff?from=1.0.0&to=9.9.9",
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert!(reply.body.contains("9.9.9"), "{}", reply.body);
        let reply = send(
            &app,
            get("/api/v1/apis/pet-search/diff?from=1.0.0", Some(&sam)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            reply.body.contains("?from=LABEL&to=LABEL"),
            "{}",
            reply.body
        );
        // Visibility comes first: the contractor learns nothing from a malformed query either.
        let reply = send(
            &app,
            get("/api/v1/apis/pet-search/diff?from=1.0.0", Some(&dana)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        // A version compared with itself has no changes.
        let reply = send(
            &app,
            get(
                "/api/v1/apis/pet-search/diff?from=1.0.0&to=1.0.0",
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let diff = json(&reply);
        for key in ["added", "removed", "breaking"] {
            assert_eq!(diff[key].as_array().unwrap().len(), 0, "{key}");
        }
    }
}

/// CI job A publishes the docs of a version and leaves out `spec` to keep it; job B publishes that
/// version's spec while A's request is being rendered. A must not write back the spec it read.
#[tokio::test]
async fn a_publish_keeping_the_spec_is_refused_when_another_changed_it_meanwhile() {
    use gatehouse::server::services::publish_tokens::{self, PublishFailure, PublishRequest};
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let morgan = cookie(&db, "morgan.lee@example.com").await;
        let token = create_token(&app, &morgan, "commerce").await;
        let first = serde_json::json!({ "label": "2.0.0", "spec": V2 });
        let reply = send(&app, publish("pet-search", Some(&token), &first)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

        // A: release notes only, the spec kept; checked and rendered, not yet written.
        let publisher = publish_tokens::authenticate(&db.store, &token)
            .await
            .unwrap();
        let target = publish_tokens::authorize(&db.store, &publisher, "pet-search")
            .await
            .unwrap();
        let request: PublishRequest = serde_json::from_value(serde_json::json!({
            "label": "2.0.0",
            "release_notes": "Photos, and owners are required.",
        }))
        .unwrap();
        let a = publish_tokens::prepare(&db.store, target, request, 10 * 1024 * 1024)
            .await
            .unwrap();
        // B: a corrected spec for the same version.
        let corrected = V2.replace("summary: Add a pet", "summary: Register a pet");
        let second = serde_json::json!({ "label": "2.0.0", "spec": corrected });
        let reply = send(&app, publish("pet-search", Some(&token), &second)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let events = "SELECT COUNT(*) FROM audit_events WHERE action = 'version_published'";
        let published_before = count(&db, events).await;

        match publish_tokens::commit(&db.store, &publisher, a, common::NOW).await {
            Err(PublishFailure::Service(e)) => {
                let message = gatehouse::model::AppError::from(e).to_string();
                assert!(
                    message.contains("got another spec while this request was rendered"),
                    "{}: {message}",
                    db.backend
                );
            }
            Err(other) => panic!("{}: {other}", db.backend),
            Ok(p) => panic!("{}: the kept spec was written back: {p:?}", db.backend),
        }
        // B's spec stands, and A wrote nothing.
        let spec: String = sqlx::query_scalar(
            "SELECT v.spec_source FROM api_versions v JOIN apis a ON a.id = v.api_id
             WHERE a.slug = 'pet-search' AND v.label = '2.0.0'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert!(spec.contains("Register a pet"), "{}", db.backend);
        assert_eq!(count(&db, events).await, published_before, "{}", db.backend);

        // Sent again, A keeps the new spec.
        let again = serde_json::json!({
            "label": "2.0.0",
            "release_notes": "Photos, and owners are required.",
        });
        let reply = send(&app, publish("pet-search", Some(&token), &again)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let reference: String = sqlx::query_scalar(
            "SELECT s.html FROM reference_sections s JOIN api_versions v ON v.id = s.version_id
             JOIN apis a ON a.id = v.api_id
             WHERE a.slug = 'pet-search' AND v.label = '2.0.0' AND s.html LIKE '%Register a pet%'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert!(reference.contains("Register a pet"));
    }
}
