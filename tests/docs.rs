//! Guides as people read them: rendered at publish, stored, served with their navigation, and
//! only to people who may see the API.

mod common;

use axum::http::StatusCode;
use common::web::{SAME_ORIGIN, get, post_form, send};
use common::{app_state, config, count, seeded_stores};
use gatehouse::server::http::router;
use gatehouse::server::render::openapi;

async fn cookie(db: &common::TestStore, email: &str) -> String {
    common::session_cookie(&db.store, email).await
}

#[tokio::test]
async fn every_published_guide_is_stored_rendered_and_served_with_its_navigation() {
    for db in seeded_stores().await {
        let guides = count(&db, "SELECT COUNT(*) FROM guides").await;
        assert!(guides >= 6);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM rendered_artifacts WHERE kind = 'guide'"
            )
            .await,
            guides,
            "every guide is rendered at publish"
        );
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = cookie(&db, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/guide",
                "slug=pet-store&guide=stripe-cli-readme".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(page["guide"]["slug"], "stripe-cli-readme");
        assert!(page["html"].as_str().unwrap().contains("<h2 id="));
        assert!(!page["toc"].as_array().unwrap().is_empty());

        // The page itself, rendered on the server.
        let html = send(
            &app,
            get("/apis/pet-store/guides/stripe-cli-readme", Some(&sam)),
        )
        .await;
        assert_eq!(html.status, StatusCode::OK);
        assert!(html.body.contains(r#"data-testid="guide-nav""#));
        assert!(html.body.contains(r#"data-testid="toc""#));
        assert!(html.body.contains("hl-"), "code blocks arrive highlighted");

        // An unknown guide, and a guide of an API the person may not see, are not found.
        let dana = cookie(&db, "dana.fox@northwind.example").await;
        for (who, body) in [
            (&sam, "slug=pet-store&guide=nope"),
            (&dana, "slug=files&guide=octokit-js-readme"),
        ] {
            let reply = send(
                &app,
                post_form("/api/catalog/guide", body.into(), SAME_ORIGIN, Some(who)),
            )
            .await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{body}: {}",
                reply.body
            );
        }
        let reply = send(
            &app,
            post_form(
                "/api/catalog/guide",
                "slug=pet-store&guide=stripe-cli-readme".into(),
                SAME_ORIGIN,
                None,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn every_published_spec_has_a_stored_reference_served_to_those_who_may_see_it() {
    for db in seeded_stores().await {
        let specs = count(
            &db,
            "SELECT COUNT(*) FROM api_versions WHERE spec_source IS NOT NULL",
        )
        .await;
        assert!(specs >= 8);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM rendered_artifacts WHERE kind = 'reference'"
            )
            .await,
            specs
        );
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = cookie(&db, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/reference",
                "slug=pet-store".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let nav = page["nav"].as_array().unwrap();
        assert!(
            nav.iter().any(|e| e["id"] == "op-findpetsbystatus"),
            "{nav:?}"
        );
        assert!(
            page["html"]
                .as_str()
                .unwrap()
                .contains("id=\"op-findpetsbystatus\"")
        );

        let html = send(&app, get("/apis/pet-store/reference", Some(&sam))).await;
        assert_eq!(html.status, StatusCode::OK);
        assert!(html.body.contains(r#"data-testid="reference-nav""#));
        let overview = send(&app, get("/apis/pet-store", Some(&sam))).await;
        assert!(
            overview
                .body
                .contains(r#"href="/apis/pet-store/reference""#)
        );

        let dana = cookie(&db, "dana.fox@northwind.example").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/reference",
                "slug=files".into(),
                SAME_ORIGIN,
                Some(&dana),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn release_notes_are_rendered_at_publish_and_shown_in_the_changelog() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = cookie(&db, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/changelog",
                "slug=pet-store".into(),
                SAME_ORIGIN,
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let entry = &page["entries"][0];
        assert_eq!(entry["version"]["label"], "1.0.27");
        // The demo's notes say "Adds `findByTags` …": Markdown, rendered.
        assert!(
            entry["html"]
                .as_str()
                .unwrap()
                .contains("<code>findByTags</code>"),
            "{entry}"
        );
        let html = send(&app, get("/apis/pet-store/changelog", Some(&sam))).await;
        assert!(html.body.contains(r#"data-testid="changelog""#));

        let dana = cookie(&db, "dana.fox@northwind.example").await;
        let reply = send(
            &app,
            post_form(
                "/api/catalog/changelog",
                "slug=files".into(),
                SAME_ORIGIN,
                Some(&dana),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_large_reference_is_served_a_part_at_a_time_with_the_whole_navigation() {
    for db in seeded_stores().await {
        let b = db.backend;
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = cookie(&db, "sam.taylor@example.com").await;
        let part = |query: String| {
            let app = app.clone();
            let sam = sam.clone();
            async move {
                send(
                    &app,
                    post_form("/api/catalog/reference", query, SAME_ORIGIN, Some(&sam)),
                )
                .await
            }
        };
        // The reference is stored in parts only: its artifact row keeps no second copy.
        let (version_id, stored, source): (i64, String, String) = sqlx::query_as(
            "SELECT v.id, r.html, v.spec_source FROM rendered_artifacts r
             JOIN api_versions v ON v.id = r.version_id JOIN apis a ON a.id = v.api_id
             WHERE a.slug = 'files' AND r.kind = 'reference'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(stored, "", "{b}");
        let whole = openapi::render(
            source.as_bytes(),
            &openapi::Context {
                base_url: None,
                max_bytes: openapi::DEFAULT_MAX_SPEC_BYTES,
            },
        )
        .unwrap()
        .html;

        // Without a part: the overview and the first tag, a small share of the whole, and the
        // navigation of every part.
        let reply = part("slug=files".into()).await;
        assert_eq!(reply.status, StatusCode::OK, "{b}: {}", reply.body);
        let first: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let html = first["html"].as_str().unwrap();
        assert!(
            html.contains("ref-info") && html.len() * 10 < whole.len(),
            "{b}: {} of {}",
            html.len(),
            whole.len()
        );
        let nav = first["nav"].as_array().unwrap();
        let operations = nav
            .iter()
            .filter(|e| e["id"].as_str().unwrap().starts_with("op-"))
            .count();
        assert_eq!(operations, whole.matches("class=\"ref-op\"").count(), "{b}");
        let shown = first["section"].as_str().unwrap().to_owned();
        assert!(
            nav.iter()
                .filter(|e| e["section"] == shown.as_str())
                .all(|e| html.contains(&format!("id=\"{}\"", e["id"].as_str().unwrap())))
        );

        // Another tag's part: its operations and not the first tag's.
        let other = nav
            .iter()
            .find(|e| e["level"] == 2 && e["section"] != shown.as_str() && e["id"] != "schemas")
            .unwrap()["section"]
            .as_str()
            .unwrap()
            .to_owned();
        let reply = part(format!("slug=files&section={other}")).await;
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(page["section"], other.as_str());
        let html = page["html"].as_str().unwrap();
        assert!(
            html.contains(&format!("id=\"{other}\"")) && !html.contains(&format!("id=\"{shown}\"")),
            "{b}"
        );
        assert!(!html.contains("ref-info"));
        // Its links to schemas lead to the schemas part; with a version named, they keep it.
        assert!(html.contains("href=\"?section=schemas#schema-"), "{b}");
        let version = page["version"].as_str().unwrap().to_owned();
        let reply = part(format!("slug=files&version={version}&section={other}")).await;
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert!(
            page["html"].as_str().unwrap().contains(&format!(
                "href=\"?version={version}&amp;section=schemas#schema-"
            )),
            "{b}"
        );

        // A part that does not exist is not found, and says which.
        let reply = part("slug=files&section=tag-nothing".into()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{b}");
        assert!(reply.body.contains("tag-nothing"));

        // The page: the part's tag is marked current, other parts are linked by name.
        let page = send(
            &app,
            get(
                &format!("/apis/files/reference?section={other}"),
                Some(&sam),
            ),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains(&format!("href=\"#{other}\" aria-current=\"location\"")),
            "{b}"
        );
        assert!(
            page.body
                .contains(&format!("href=\"?section={shown}#{shown}\"")),
            "{b}"
        );
        // Every entry is linked: in the part shown by its anchor, elsewhere on its part's page.
        for entry in nav {
            let (id, section) = (
                entry["id"].as_str().unwrap(),
                entry["section"].as_str().unwrap(),
            );
            let href = if section == other {
                format!("href=\"#{id}\"")
            } else {
                format!("href=\"?section={section}#{id}\"")
            };
            assert!(page.body.contains(&href), "{b}: no link {href}");
        }
        assert_eq!(
            page.body.matches("<li class=\"nav-").count(),
            nav.len(),
            "{b}"
        );
        // The navigation is in the page once: the data for hydration does not repeat it.
        let data = &page.body[page.body.find("__RESOLVED_RESOURCES").unwrap()..];
        for entry in nav.iter().filter(|e| e["level"] == 3) {
            let id = entry["id"].as_str().unwrap();
            assert!(!data.contains(id), "{b}: the hydration data repeats {id}");
        }
        // With a version named, links to other parts keep it.
        let page = send(
            &app,
            get(
                &format!("/apis/files/reference?version={version}&section={other}"),
                Some(&sam),
            ),
        )
        .await;
        assert!(
            page.body.contains(&format!(
                "href=\"?version={version}&amp;section={shown}#{shown}\""
            )),
            "{b}"
        );

        // A database from before parts held each reference whole in its artifact, and no parts:
        // start-up splits the stored references again.
        let parts = count(&db, "SELECT COUNT(*) FROM reference_sections").await;
        assert!(parts > 0);
        sqlx::query(
            "UPDATE rendered_artifacts SET html = $2 WHERE version_id = $1 AND kind = 'reference'",
        )
        .bind(version_id)
        .bind(&whole)
        .execute(db.store.pool())
        .await
        .unwrap();
        sqlx::query("DELETE FROM reference_sections WHERE version_id = $1")
            .bind(version_id)
            .execute(db.store.pool())
            .await
            .unwrap();
        // Meanwhile the page is split from the stored whole.
        let reply = part(format!("slug=files&section={other}")).await;
        let again: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(again["section"], other.as_str(), "{b}");
        gatehouse::server::services::publish::backfill(&db.store)
            .await
            .unwrap();
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM reference_sections").await,
            parts,
            "{b}"
        );
    }
}

/// The navigation is written as text: whatever a spec names its tags and operations, it stays
/// text, and the version in its links stays one attribute.
#[test]
fn the_reference_navigation_escapes_titles_and_links() {
    use gatehouse::model::ReferenceNavEntry;
    use gatehouse::pages::reference::nav_html;
    let entry = |level: u8, id: &str, title: &str, section: &str| ReferenceNavEntry {
        level,
        id: id.into(),
        title: title.into(),
        section: section.into(),
    };
    let html = nav_html(
        &[
            entry(2, "tag-a", "<b>Pets</b> & \"friends\"", "tag-a"),
            entry(3, "op-a", "GET /pets", "tag-a"),
            entry(2, "tag-b", "Store", "tag-b"),
            entry(3, "op-b", "POST /store/order", "tag-b"),
        ],
        "tag-a",
        "version=1.0%20beta&",
    );
    assert_eq!(
        html,
        concat!(
            r##"<li class="nav-group"><a href="#tag-a" aria-current="location">&lt;b&gt;Pets&lt;/b&gt; &amp; &quot;friends&quot;</a></li>"##,
            r##"<li class="nav-item"><a href="#op-a">GET /pets</a></li>"##,
            r##"<li class="nav-group"><a href="?version=1.0%20beta&amp;section=tag-b#tag-b">Store</a></li>"##,
            r##"<li class="nav-item"><a href="?version=1.0%20beta&amp;section=tag-b#op-b">POST /store/order</a></li>"##,
        )
    );
}
