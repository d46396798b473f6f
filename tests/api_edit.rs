//! Team owners and admins edit an API's metadata, scopes and environments through the edit
//! form's server function; images from a docs folder are served to those who may see the API.

mod common;

use axum::http::{StatusCode, header};
use common::web::{SAME_ORIGIN, get, post_form, send};
use common::{NOW, app_state, config, count, person_id, seeded_stores};
use gatehouse::server::http::router;
use gatehouse::server::render::openapi::DEFAULT_MAX_SPEC_BYTES;
use gatehouse::server::services::docs_import::import;
use gatehouse::server::services::search::search;

async fn cookie(db: &common::TestStore, email: &str) -> String {
    common::session_cookie(&db.store, email).await
}

/// The form as the browser sends it (`edit[environments][0][name]=…`).
fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", gatehouse::domain::url::encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn files_edit<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("slug", "files"),
        ("edit[name]", "Files and Folders"),
        ("edit[summary]", "Upload, share and version files."),
        (
            "edit[description_md]",
            "Stores **files**.\n\n<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))",
        ),
        ("edit[lifecycle]", "deprecated"),
        ("edit[visibility]", "employees"),
        ("edit[tags]", "Storage, files, storage"),
        ("edit[repository_url]", "https://git.example.com/files"),
        ("edit[runbook_url]", ""),
        ("edit[chat_channel]", "#files"),
    ];
    fields.extend_from_slice(extra);
    fields
}

#[tokio::test]
async fn an_owner_edits_metadata_scopes_and_environments_and_search_follows() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let priya = cookie(&db, "priya.shah@example.com").await; // owns Data, which owns files
        let reply = send(
            &app,
            post_form(
                "/api/catalog/edit/load",
                "slug=files".into(),
                SAME_ORIGIN,
                Some(&priya),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let current: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let first_env = current["environments"][0]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let first_url = current["environments"][0]["base_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let scopes_before = current["scopes"].as_array().unwrap().len();
        assert!(scopes_before >= 2);
        let kept_scope = current["scopes"][0]["name"].as_str().unwrap().to_owned();

        // Keep the first environment, add one, leave a blank row; keep only the first scope and
        // add a new one.
        let fields = files_edit(&[
            ("edit[environments][0][name]", &first_env),
            ("edit[environments][0][base_url]", &first_url),
            ("edit[environments][1][name]", "staging"),
            (
                "edit[environments][1][base_url]",
                "https://staging.files.example.com",
            ),
            ("edit[environments][2][name]", ""),
            ("edit[environments][2][base_url]", ""),
            ("edit[scopes][0][name]", &kept_scope),
            ("edit[scopes][0][description]", "Read files"),
            ("edit[scopes][0][risk]", "low"),
            ("edit[scopes][1][name]", "files:purge"),
            ("edit[scopes][1][description]", "Delete files for good"),
            ("edit[scopes][1][risk]", "high"),
        ]);
        let reply = send(
            &app,
            post_form(
                "/api/catalog/edit/save",
                form(&fields),
                SAME_ORIGIN,
                Some(&priya),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.backend,
            reply.body
        );

        let sam = cookie(&db, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/api",
                "slug=files".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        let api: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(api["summary"]["name"], "Files and Folders");
        assert_eq!(api["summary"]["lifecycle"], "deprecated");
        assert_eq!(
            api["summary"]["tags"],
            serde_json::json!(["files", "storage"])
        );
        let envs: Vec<&str> = api["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(envs, [first_env.as_str(), "staging"]);
        let scopes: Vec<(&str, &str)> = api["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["risk"].as_str().unwrap()))
            .collect();
        assert_eq!(scopes.len(), 2, "{scopes:?}");
        assert!(scopes.contains(&("files:purge", "high")));
        assert_eq!(api["can_edit"], false, "Sam only reads");
        // The description is Markdown, rendered and sanitized when saved.
        let html = api["description_html"].as_str().unwrap();
        assert!(html.contains("<strong>files</strong>"), "{html}");
        assert!(
            common::html::dangers(html).is_empty(),
            "{:?}",
            common::html::dangers(html)
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_updated'"
            )
            .await,
            1
        );

        // Search finds the API by its new name.
        let sam_actor = common::actor(&db.store, "sam.taylor@example.com").await;
        let found = search(&db.store, &sam_actor, "folders", NOW).await.unwrap();
        assert!(
            found
                .groups
                .iter()
                .any(|g| g.api_slug == "files" && g.hits[0].kind == "api"),
            "{found:#?}"
        );
    }
}

#[tokio::test]
async fn bad_edits_and_removing_what_grants_use_are_refused_changing_nothing() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let alex = cookie(&db, "alex.rivera@example.com").await; // admin
        let snapshot = || async {
            (
                count(&db, "SELECT COUNT(*) FROM scopes s JOIN apis a ON a.id = s.api_id WHERE a.slug = 'files'").await,
                count(&db, "SELECT COUNT(*) FROM environments e JOIN apis a ON a.id = e.api_id WHERE a.slug = 'files'").await,
                count(&db, "SELECT COUNT(*) FROM apis WHERE name = 'Files and Folders'").await,
            )
        };
        let before = snapshot().await;

        let fields = files_edit(&[
            ("edit[environments][0][name]", "prod"),
            ("edit[environments][0][base_url]", "ftp://files.example.com"),
            ("edit[environments][1][name]", "prod"),
            (
                "edit[environments][1][base_url]",
                "https://files.example.com",
            ),
            ("edit[scopes][0][name]", "Files Read"),
            ("edit[scopes][0][description]", ""),
            ("edit[scopes][0][risk]", "medium"),
        ]);
        let reply = send(
            &app,
            post_form(
                "/api/catalog/edit/save",
                form(&fields),
                SAME_ORIGIN,
                Some(&alex),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        for expected in [
            "must be an http(s) URL, not 'ftp://files.example.com'",
            "the environment 'prod' is listed twice",
            "the scope 'Files Read' must be",
            "'Files Read': unknown risk 'medium'",
        ] {
            assert!(
                reply.body.contains(expected),
                "missing «{expected}» in {}",
                reply.body
            );
        }
        assert_eq!(snapshot().await, before);

        // A grant uses the first scope and environment: removing either is refused with why.
        let (api_id, env_id, scope_id): (i64, i64, i64) = sqlx::query_as(
            "SELECT a.id, (SELECT MIN(id) FROM environments WHERE api_id = a.id), (SELECT MIN(id) FROM scopes WHERE api_id = a.id) FROM apis a WHERE a.slug = 'files'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let grant: i64 = sqlx::query_scalar(
            "INSERT INTO grants (person_id, api_id, environment_id, granted_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(sam)
        .bind(api_id)
        .bind(env_id)
        .bind(NOW)
        .bind(NOW + 86_400)
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        sqlx::query("INSERT INTO grant_scopes (grant_id, scope_id) VALUES ($1, $2)")
            .bind(grant)
            .bind(scope_id)
            .execute(db.store.pool())
            .await
            .unwrap();
        let fields = files_edit(&[
            ("edit[environments][0][name]", "somewhere-else"),
            (
                "edit[environments][0][base_url]",
                "https://else.example.com",
            ),
        ]);
        let reply = send(
            &app,
            post_form(
                "/api/catalog/edit/save",
                form(&fields),
                SAME_ORIGIN,
                Some(&alex),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
        assert!(
            reply
                .body
                .contains("cannot be removed: access requests or grants name it"),
            "{}",
            reply.body
        );
        assert_eq!(
            snapshot().await,
            before,
            "the refused edit left nothing behind"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_updated'"
            )
            .await,
            0
        );
    }
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test]
async fn images_from_a_docs_folder_are_served_only_to_those_who_may_see_the_api() {
    for db in seeded_stores().await {
        let root = common::temp_dir();
        let dir = root.join("vault");
        std::fs::create_dir_all(dir.join("docs/img")).unwrap();
        std::fs::write(
            dir.join("gatehouse.yaml"),
            "slug: vault\nname: Vault\nowner: platform\nlifecycle: production\nvisibility: employees\nversions:\n  - label: '1'\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("docs/intro.md"),
            "# Intro\n\n![flow](img/flow.png)\n",
        )
        .unwrap();
        std::fs::write(dir.join("docs/img/flow.png"), PNG).unwrap();
        std::fs::write(
            dir.join("docs/img/evil.svg"),
            "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        )
        .unwrap();
        let reports = import(&db.store, &root, DEFAULT_MAX_SPEC_BYTES, NOW)
            .await
            .unwrap();
        assert_eq!(reports[0].assets, 2, "{}", reports[0].render());

        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = cookie(&db, "sam.taylor@example.com").await;
        let reply = send(&app, get("/apis/vault/assets/img/flow.png", Some(&sam))).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        // An SVG cannot run its script: the response is sandboxed.
        let reply = send(&app, get("/apis/vault/assets/img/evil.svg", Some(&sam))).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );

        // A contractor may not see the API; nobody gets a file by walking out of the folder.
        let dana = cookie(&db, "dana.fox@northwind.example").await;
        let reply = send(&app, get("/apis/vault/assets/img/flow.png", Some(&dana))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        for path in [
            "/apis/vault/assets/../gatehouse.yaml",
            "/apis/vault/assets/img/missing.png",
            "/apis/vault/assets/%2e%2e/gatehouse.yaml",
        ] {
            let reply = send(&app, get(path, Some(&sam))).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        }
        let reply = send(&app, get("/apis/vault/assets/img/flow.png", None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}

/// The edit form as loaded (`/api/catalog/edit/load`), sent back as the browser sends it, with
/// `name` changed and `extra_scope` added: every field, the revision included.
async fn load_and_change(
    app: &axum::Router,
    cookie: &str,
    name: &str,
    extra_scope: Option<&str>,
) -> String {
    let reply = send(
        app,
        post_form(
            "/api/catalog/edit/load",
            "slug=files".into(),
            SAME_ORIGIN,
            Some(cookie),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let current: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let mut fields: Vec<(String, String)> = vec![("slug".into(), "files".into())];
    for key in [
        "summary",
        "description_md",
        "lifecycle",
        "visibility",
        "tags",
        "repository_url",
        "runbook_url",
        "chat_channel",
    ] {
        fields.push((format!("edit[{key}]"), text(&current[key])));
    }
    fields.push(("edit[name]".into(), name.into()));
    fields.push(("edit[revision]".into(), current["revision"].to_string()));
    for (i, e) in current["environments"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        fields.push((format!("edit[environments][{i}][name]"), text(&e["name"])));
        fields.push((
            format!("edit[environments][{i}][base_url]"),
            text(&e["base_url"]),
        ));
    }
    let mut scopes = current["scopes"].as_array().unwrap().clone();
    if let Some(extra) = extra_scope {
        scopes.push(
            serde_json::json!({ "name": extra, "description": "Archive files", "risk": "low" }),
        );
    }
    for (i, s) in scopes.iter().enumerate() {
        for key in ["name", "description", "risk"] {
            fields.push((format!("edit[scopes][{i}][{key}]"), text(&s[key])));
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(&pairs)
}

#[tokio::test]
async fn a_save_from_a_form_someone_else_saved_over_is_refused_changing_nothing() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let priya = cookie(&db, "priya.shah@example.com").await; // owns Data, which owns files
        let alex = cookie(&db, "alex.rivera@example.com").await; // an admin
        // Both open the form; Alex saves first, adding a scope.
        let priyas = load_and_change(&app, &priya, "Files (Priya)", None).await;
        let alexs = load_and_change(&app, &alex, "Files (Alex)", Some("files:archive")).await;
        let save = |cookie: &str, body: String| {
            post_form("/api/catalog/edit/save", body, SAME_ORIGIN, Some(cookie))
        };
        let reply = send(&app, save(&alex, alexs)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.backend,
            reply.body
        );
        let events = "SELECT COUNT(*) FROM audit_events WHERE action = 'api_updated'";
        let audited = count(&db, events).await;

        // Priya's form predates Alex's save: saving it would drop files:archive.
        let reply = send(&app, save(&priya, priyas)).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{}: {}",
            db.backend,
            reply.body
        );
        assert!(
            reply
                .body
                .contains("Someone saved this API after you opened the form"),
            "{}",
            reply.body
        );
        let name: String = sqlx::query_scalar("SELECT name FROM apis WHERE slug = 'files'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(name, "Files (Alex)", "{}", db.backend);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM scopes s JOIN apis a ON a.id = s.api_id WHERE a.slug = 'files' AND s.name = 'files:archive'").await,
            1,
            "{}",
            db.backend
        );
        assert_eq!(count(&db, events).await, audited, "{}", db.backend);

        // From the form as it is now, her save goes through and keeps Alex's scope.
        let priyas = load_and_change(&app, &priya, "Files (Priya)", None).await;
        let reply = send(&app, save(&priya, priyas)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.backend,
            reply.body
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM scopes s JOIN apis a ON a.id = s.api_id WHERE a.slug = 'files' AND s.name = 'files:archive'").await,
            1,
            "{}",
            db.backend
        );
    }
}
