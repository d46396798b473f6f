//! Docs as code: `gatehouse import PATH` on real folders, against the real store (SQLite, and
//! PostgreSQL when TEST_DATABASE_URL is set).

mod common;

use common::{NOW, TestStore, count};
use gatehouse::server::render::openapi::DEFAULT_MAX_SPEC_BYTES;
use gatehouse::server::services::docs_import::{ApiReport, Outcome, import};
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/fixtures");

fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A tiny PNG: the 8-byte signature and an IHDR chunk are enough for a byte-exact round trip.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// An API folder with two versions (the petstore, then the expanded petstore), three guides
/// (ordered by front matter, then name) and an image.
fn orders_folder(root: &Path) -> PathBuf {
    let dir = root.join("orders");
    write(
        &dir.join("gatehouse.yaml"),
        r##"slug: orders
name: Orders
summary: Place and track orders.
description: |
  The **orders** service. See [the guide](docs/quickstart.md).
owner: commerce
lifecycle: production
visibility: everyone
tags: [commerce, orders]
links:
  repository: https://git.example.com/orders
  chat: "#orders"
environments:
  - name: production
    base_url: https://orders.example.com
  - name: sandbox
    base_url: https://sandbox.orders.example.com
scopes:
  - name: orders:read
    description: Read orders
    risk: low
  - name: orders:write
    description: Place orders
    risk: high
versions:
  - label: "1.0.0"
    spec: specs/v1.yaml
    release_notes: First release.
  - label: "2.0.0"
    spec: specs/v2.yaml
    release_notes: Adds **pet search**.
"##,
    );
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    std::fs::copy(
        format!("{FIXTURES}/specs/swagger-petstore_openapi.yaml"),
        dir.join("specs/v1.yaml"),
    )
    .unwrap();
    std::fs::copy(
        format!("{FIXTURES}/specs/oai_petstore-expanded.yaml"),
        dir.join("specs/v2.yaml"),
    )
    .unwrap();
    write(
        &dir.join("docs/quickstart.md"),
        "---\ntitle: Quick start\norder: 1\n---\n# Ignored heading\n\nPlace your first order.\n\n![diagram](images/flow.png)\n\n## Idempotency keys\n\nSend an `Idempotency-Key` header so retries never double-charge.\n\nNext: [errors](errors.md#retries).\n",
    );
    write(
        &dir.join("docs/errors.md"),
        "# Errors\n\n## Retries\n\nRetry 503 with backoff.\n",
    );
    write(
        &dir.join("docs/authentication.md"),
        "---\norder: 2\n---\n# Authentication\n\nUse a key.\n",
    );
    write(&dir.join("docs/images/flow.png"), PNG);
    dir
}

async fn import_ok(db: &TestStore, root: &Path) -> Vec<ApiReport> {
    let reports = import(&db.store, root, DEFAULT_MAX_SPEC_BYTES, NOW)
        .await
        .expect("import runs");
    for r in &reports {
        assert!(
            !matches!(r.outcome, Outcome::Failed(_)),
            "{}: {}",
            db.backend,
            r.render()
        );
    }
    reports
}

#[tokio::test]
async fn a_folder_imports_whole_and_a_reimport_updates_in_place_and_removes_what_went() {
    for db in common::seeded_stores().await {
        let root = common::temp_dir();
        let dir = orders_folder(&root);

        let reports = import_ok(&db, &root).await;
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!(r.outcome, Outcome::Created, "{}", db.backend);
        assert_eq!((r.versions, r.guides, r.assets), (2, 3, 1));
        assert_eq!(r.operations, 4, "the expanded petstore has 4 operations");
        assert!(
            r.render()
                .starts_with("orders: created: 2 version(s), 3 guide(s)")
        );

        let api = "(SELECT id FROM apis WHERE slug = 'orders')";
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM api_versions WHERE api_id = {api}")
            )
            .await,
            2
        );
        // Guides in reading order: front matter first, then by file name; titles from front
        // matter, else the first heading.
        let guides: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT g.slug, g.title FROM guides g JOIN api_versions v ON v.id = g.version_id
             WHERE v.api_id = {api} AND v.label = '2.0.0' ORDER BY g.position"
        ))
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            guides,
            [
                ("quickstart".into(), "Quick start".into()),
                ("authentication".into(), "Authentication".into()),
                ("errors".into(), "Errors".into()),
            ]
        );
        let html: String = sqlx::query_scalar(&format!(
            "SELECT r.html FROM rendered_artifacts r JOIN api_versions v ON v.id = r.version_id
             WHERE v.api_id = {api} AND v.label = '2.0.0' AND r.kind = 'guide' AND r.artifact_key = 'quickstart'"
        ))
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert!(
            html.contains("src=\"/apis/orders/assets/images/flow.png\""),
            "{html}"
        );
        assert!(
            html.contains("href=\"/apis/orders/guides/errors#retries\""),
            "{html}"
        );
        let stored: Vec<u8> = sqlx::query_scalar(&format!(
            "SELECT bytes FROM api_assets WHERE api_id = {api} AND path = 'images/flow.png'"
        ))
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(stored, PNG);
        let description: String =
            sqlx::query_scalar("SELECT description_html FROM apis WHERE slug = 'orders'")
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        assert!(
            description.contains("<strong>orders</strong>"),
            "{description}"
        );
        // Version 2.0.0 was diffed against 1.0.0 when it was written.
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM version_diffs d JOIN api_versions v ON v.id = d.to_version_id WHERE v.api_id = {api}")).await,
            1
        );

        // Change the folder: drop a guide, a version, a scope and the image; rename the API.
        std::fs::remove_file(dir.join("docs/authentication.md")).unwrap();
        std::fs::remove_file(dir.join("docs/images/flow.png")).unwrap();
        let manifest = std::fs::read_to_string(dir.join("gatehouse.yaml")).unwrap();
        let manifest = manifest
            .replace("name: Orders\n", "name: Orders API\n")
            .replace(
                "  - name: orders:write\n    description: Place orders\n    risk: high\n",
                "",
            );
        let manifest = manifest[..manifest.find("  - label: \"1.0.0\"").unwrap()].to_owned()
            + "  - label: \"2.0.0\"\n    spec: specs/v2.yaml\n";
        write(&dir.join("gatehouse.yaml"), manifest);

        let reports = import_ok(&db, &root).await;
        let r = &reports[0];
        assert_eq!(r.outcome, Outcome::Updated);
        let mut removed = r.removed.clone();
        removed.sort();
        assert_eq!(
            removed,
            [
                "guide authentication",
                "image images/flow.png",
                "scope orders:write",
                "version 1.0.0"
            ],
            "{}",
            db.backend
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM apis WHERE slug = 'orders'").await,
            1
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM apis WHERE name = 'Orders API'").await,
            1
        );
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM api_versions WHERE api_id = {api}")
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM scopes WHERE api_id = {api}")
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM api_assets WHERE api_id = {api}")
            )
            .await,
            0
        );
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM guides g JOIN api_versions v ON v.id = g.version_id WHERE v.api_id = {api}")).await,
            2
        );
        // Nothing of the removed version is left in the search index either.
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM search_documents d WHERE d.version_id IS NOT NULL AND d.version_id NOT IN (SELECT id FROM api_versions)").await,
            0
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'api_imported'"
            )
            .await,
            2
        );
    }
}

#[tokio::test]
async fn an_api_with_any_problem_changes_nothing_and_is_reported_with_every_problem() {
    for db in common::seeded_stores().await {
        let root = common::temp_dir();
        orders_folder(&root);
        import_ok(&db, &root).await;
        let before = count(&db, "SELECT COUNT(*) FROM search_documents").await;
        let updated_at: i64 =
            sqlx::query_scalar("SELECT updated_at FROM apis WHERE slug = 'orders'")
                .fetch_one(db.store.pool())
                .await
                .unwrap();

        // The same API, now with a broken spec, a path out of its folder, an unknown team, a
        // bad guide and a bad scope; and beside it a good second API, which still imports.
        let dir = root.join("orders");
        write(
            &dir.join("specs/v2.yaml"),
            "openapi: 3.0.0\ninfo: [unclosed\n",
        );
        let manifest = std::fs::read_to_string(dir.join("gatehouse.yaml"))
            .unwrap()
            .replace("owner: commerce", "owner: nobody")
            .replace("spec: specs/v1.yaml", "spec: ../../etc/passwd")
            .replace("name: orders:read", "name: Orders Read");
        write(&dir.join("gatehouse.yaml"), manifest);
        write(&dir.join("docs/bad.md"), b"\xff\xfe not UTF-8");
        write(
            &root.join("ledger/gatehouse.yaml"),
            "slug: ledger\nname: Ledger\nowner: data\nlifecycle: experimental\n",
        );

        let reports = import(&db.store, &root, DEFAULT_MAX_SPEC_BYTES, NOW)
            .await
            .unwrap();
        assert_eq!(reports.len(), 2);
        let ledger = reports.iter().find(|r| r.folder == "ledger").unwrap();
        assert_eq!(ledger.outcome, Outcome::Created, "{}", ledger.render());
        let orders = reports.iter().find(|r| r.folder == "orders").unwrap();
        let Outcome::Failed(problems) = &orders.outcome else {
            panic!("a broken API was imported: {}", orders.render());
        };
        let text = orders.render();
        for expected in [
            "the owner team 'nobody' does not exist",
            "the API 'orders' belongs to the team 'commerce', not 'nobody'",
            "version 1.0.0: spec ../../etc/passwd: the path must stay inside the API's folder",
            "version 2.0.0: specs/v2.yaml (line 3, column 1): invalid YAML",
            "docs/bad.md (byte 0): the file is not valid UTF-8",
            "the scope 'Orders Read' must be",
        ] {
            assert!(text.contains(expected), "missing «{expected}» in:\n{text}");
        }
        assert_eq!(problems.len(), 6, "{text}");

        // Nothing of the old API changed.
        let after: i64 = sqlx::query_scalar("SELECT updated_at FROM apis WHERE slug = 'orders'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(after, updated_at);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM scopes s JOIN apis a ON a.id = s.api_id WHERE a.slug = 'orders'").await, 2);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM search_documents").await,
            before + 1,
            "only the ledger's own document was added"
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM search_documents d JOIN apis a ON a.id = d.api_id WHERE a.slug = 'ledger'").await,
            1
        );
    }
}

#[tokio::test]
async fn a_path_without_api_folders_is_refused_plainly() {
    for db in common::stores().await {
        let root = common::temp_dir();
        let err = import(&db.store, &root, DEFAULT_MAX_SPEC_BYTES, NOW)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no gatehouse.yaml in"), "{err}");
        let err = import(
            &db.store,
            &root.join("missing"),
            DEFAULT_MAX_SPEC_BYTES,
            NOW,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().ends_with("is not a folder"), "{err}");
        // A manifest with an unknown key is refused, naming it.
        write(
            &root.join("gatehouse.yaml"),
            "slug: x1\nname: X\nowner: t\nlifecycle: production\nsecret_sauce: 1\n",
        );
        let reports = import(&db.store, &root, DEFAULT_MAX_SPEC_BYTES, NOW)
            .await
            .unwrap();
        assert!(
            reports[0].render().contains("unknown field `secret_sauce`"),
            "{}",
            reports[0].render()
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM apis").await, 0);
    }
}

#[tokio::test]
async fn an_import_never_leaves_its_folder_takes_another_teams_api_or_prunes_what_ci_published() {
    for db in common::seeded_stores().await {
        let root = common::temp_dir();
        let dir = orders_folder(&root);
        import_ok(&db, &root).await;

        // A version CI published survives a re-import that does not list it.
        sqlx::query(
            "INSERT INTO api_versions (api_id, label, status, published_at, origin)
             SELECT id, '2.1.0', 'current', $1, 'publish' FROM apis WHERE slug = 'orders'",
        )
        .bind(NOW + 10)
        .execute(db.store.pool())
        .await
        .unwrap();
        import_ok(&db, &root).await;
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM api_versions WHERE label = '2.1.0'"
            )
            .await,
            1
        );

        // Symbolic links out of the folder: a spec, and the docs folder itself.
        let outside = common::temp_dir();
        std::fs::write(outside.join("secret.yaml"), "openapi: 3.0.0\n").unwrap();
        std::fs::create_dir_all(outside.join("docs")).unwrap();
        std::fs::write(outside.join("docs/x.md"), "# Not ours\n").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.yaml"), dir.join("specs/link.yaml"))
            .unwrap();
        std::fs::rename(dir.join("docs"), root.join("docs-moved")).unwrap();
        std::os::unix::fs::symlink(outside.join("docs"), dir.join("docs")).unwrap();
        let manifest = std::fs::read_to_string(dir.join("gatehouse.yaml")).unwrap();
        // Also: another team as owner, and a new version listed before published ones.
        let hostile = manifest.replace("owner: commerce", "owner: data").replace(
            "  - label: \"1.0.0\"",
            "  - label: \"0.9.0\"\n    spec: specs/link.yaml\n  - label: \"1.0.0\"",
        );
        write(&dir.join("gatehouse.yaml"), hostile);
        let reports = import(&db.store, &root, DEFAULT_MAX_SPEC_BYTES, NOW)
            .await
            .unwrap();
        let text = reports[0].render();
        for expected in [
            "version 0.9.0: spec specs/link.yaml: the path must stay inside the API's folder",
            "docs: symbolic links are not followed",
            "the API 'orders' belongs to the team 'commerce', not 'data'",
            "the new version '0.9.0' is listed before '1.0.0', which is already published",
        ] {
            assert!(text.contains(expected), "missing «{expected}» in:\n{text}");
        }
        assert_eq!(count(&db, "SELECT COUNT(*) FROM apis a JOIN teams t ON t.id = a.owner_team_id WHERE a.slug = 'orders' AND t.slug = 'commerce'").await, 1);
        let _ = std::fs::remove_dir_all(&outside);
    }
}
