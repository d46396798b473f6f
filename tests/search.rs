//! Search through the database's own full-text engine (FTS5 on SQLite, tsvector on PostgreSQL):
//! operations by a fragment of their path or a word of their summary, guide sections, schemas,
//! grouped by API, and never anything of an API hidden from the person searching.

mod common;

use axum::http::StatusCode;
use common::web::{get, send};
use common::{NOW, actor, app_state, config, seeded_stores};
use gatehouse::model::{SearchHit, SearchResults};
use gatehouse::server::http::router;
use gatehouse::server::services::search::search;

fn hits<'a>(found: &'a SearchResults, api: &str) -> Vec<&'a SearchHit> {
    found
        .groups
        .iter()
        .filter(|g| g.api_slug == api)
        .flat_map(|g| g.hits.iter())
        .collect()
}

fn apis(found: &SearchResults) -> Vec<&str> {
    found.groups.iter().map(|g| g.api_slug.as_str()).collect()
}

#[tokio::test]
async fn operations_are_found_by_a_fragment_of_their_path_and_a_word_of_their_summary() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;

        // A word of the summary "Provides the general information about the API and the list of
        // fields that can be used to query the dataset" … here: "searchable".
        let found = search(&db.store, &sam, "searchable", NOW).await.unwrap();
        let ops: Vec<&SearchHit> = hits(&found, "patent-data")
            .into_iter()
            .filter(|h| h.kind == "operation")
            .collect();
        assert!(
            ops.iter()
                .any(|h| h.title == "GET /{dataset}/{version}/fields"),
            "{}: {found:#?}",
            db.backend
        );
        let hit = ops[0];
        // The link names the part of the reference that has the operation.
        assert!(
            hit.link
                .starts_with("/apis/patent-data/reference?section=tag-")
                && hit.link.contains("#op-"),
            "{}",
            hit.link
        );
        assert!(
            hit.snippet
                .iter()
                .any(|p| p.hit && p.text.to_lowercase().starts_with("searchable"))
        );

        // The anchor it links to exists in the stored part it names.
        let (part, anchor) = hit
            .link
            .split_once("?section=")
            .unwrap()
            .1
            .split_once('#')
            .unwrap();
        let html: String = sqlx::query_scalar(
            "SELECT s.html FROM reference_sections s JOIN api_versions v ON v.id = s.version_id
             JOIN apis a ON a.id = v.api_id
             WHERE a.slug = 'patent-data' AND v.label = '1.0.1' AND s.anchor = $1",
        )
        .bind(part)
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert!(
            html.contains(&format!("id=\"{anchor}\"")),
            "no element #{anchor}"
        );

        // A fragment of a path: "records" and "{version}/rec" both find the records search.
        for query in ["records", "version}/rec", "/{dataset}/{version}/records"] {
            let found = search(&db.store, &sam, query, NOW).await.unwrap();
            assert!(
                hits(&found, "patent-data")
                    .iter()
                    .any(|h| h.title == "POST /{dataset}/{version}/records"),
                "{}: {query}: {found:#?}",
                db.backend
            );
        }
        // camelCase operationIds split into words: "find pets" finds findPets.
        let found = search(&db.store, &sam, "find pets", NOW).await.unwrap();
        assert!(
            hits(&found, "pet-search")
                .iter()
                .any(|h| h.title == "GET /pets"),
            "{found:#?}"
        );
    }
}

#[tokio::test]
async fn guide_sections_schemas_and_apis_are_found_and_grouped_by_api() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let found = search(&db.store, &sam, "telemetry", NOW).await.unwrap();
        let guide = hits(&found, "pet-store")
            .into_iter()
            .find(|h| h.kind == "guide")
            .unwrap_or_else(|| panic!("{found:#?}"));
        assert_eq!(
            guide.link,
            "/apis/pet-store/guides/stripe-cli-readme#telemetry"
        );

        let found = search(&db.store, &sam, "NewPet", NOW).await.unwrap();
        assert!(
            hits(&found, "pet-search")
                .iter()
                .any(|h| h.kind == "schema" && h.title == "NewPet" && h.link.contains("#schema-")),
            "{found:#?}"
        );

        // An API by a word of its name; the API itself comes first in its group.
        let found = search(&db.store, &sam, "patent", NOW).await.unwrap();
        assert_eq!(hits(&found, "patent-data")[0].kind, "api", "{found:#?}");
        // Each API appears once, as one group.
        let names = apis(&found);
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
    }
}

#[tokio::test]
async fn nobody_finds_anything_of_an_api_hidden_from_them() {
    for db in seeded_stores().await {
        let dana = actor(&db.store, "dana.fox@northwind.example").await; // contractor
        let sam = actor(&db.store, "sam.taylor@example.com").await; // employee, commerce
        let alex = actor(&db.store, "alex.rivera@example.com").await; // admin

        // "pets": pet-search is for employees, pet-store for everyone.
        let found = search(&db.store, &sam, "pets", NOW).await.unwrap();
        assert!(apis(&found).contains(&"pet-search"), "{found:#?}");
        let found = search(&db.store, &dana, "pets", NOW).await.unwrap();
        assert!(!apis(&found).contains(&"pet-search"), "{found:#?}");

        // identity is hidden: only its owners (platform) and admins find its guides.
        let found = search(&db.store, &alex, "discord", NOW).await.unwrap();
        assert!(apis(&found).contains(&"identity"), "{found:#?}");
        for who in [&sam, &dana] {
            let found = search(&db.store, who, "discord", NOW).await.unwrap();
            assert!(!apis(&found).contains(&"identity"), "{found:#?}");
        }
    }
}

#[tokio::test]
async fn the_best_matches_come_first_even_when_thousands_match_and_most_are_hidden() {
    for db in seeded_stores().await {
        let b = db.backend;
        let dana = actor(&db.store, "dana.fox@northwind.example").await; // contractor
        let sam = actor(&db.store, "sam.taylor@example.com").await; // employee
        // 400 short matches in pet-search (employees only), which rank first, and three longer
        // ones in pet-store (everyone): more than the first window of candidates is hidden from
        // a contractor, who must still get pet-store's three.
        let id = |slug: &'static str| {
            sqlx::query_scalar::<_, i64>("SELECT id FROM apis WHERE slug = $1")
                .bind(slug)
                .fetch_one(db.store.pool())
        };
        let (hidden, open) = (
            id("pet-search").await.unwrap(),
            id("pet-store").await.unwrap(),
        );
        let mut tx = db.store.pool().begin().await.unwrap();
        let docs = |n: usize, words: &str| -> Vec<gatehouse::server::db::search::NewDocument> {
            (0..n)
                .map(|i| gatehouse::server::db::search::NewDocument {
                    kind: "guide",
                    title: format!("Zebra {i}"),
                    link: format!("/apis/x/guides/zebra-{i}"),
                    body: format!("zebra {words}"),
                    terms: format!("zebra{} {words}", " z".repeat(i % 3)),
                })
                .collect()
        };
        gatehouse::server::db::search::insert_many(&mut tx, hidden, None, &docs(400, "stripes"))
            .await
            .unwrap();
        gatehouse::server::db::search::insert_many(
            &mut tx,
            open,
            None,
            &docs(
                3,
                "stripes and a much longer text about grazing on the savannah",
            ),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let found = search(&db.store, &dana, "zebra stripes", NOW)
            .await
            .unwrap();
        assert_eq!(apis(&found), ["pet-store"], "{b}");
        assert_eq!(hits(&found, "pet-store").len(), 3, "{b}");
        assert!(!found.truncated);

        // The employee sees the first 60, shortest first, and is told there are more.
        let found = search(&db.store, &sam, "zebra stripes", NOW).await.unwrap();
        assert!(found.truncated, "{b}");
        let shown = hits(&found, "pet-search");
        assert_eq!(shown.len(), 60, "{b}");
        assert!(shown.iter().all(|h| !h.title_parts.is_empty()));
        let titles: Vec<usize> = shown
            .iter()
            .map(|h| h.title.trim_start_matches("Zebra ").parse().unwrap())
            .collect();
        assert!(
            titles.iter().all(|i| i % 3 == 0),
            "the shortest documents first ({b}): {titles:?}"
        );
    }
}

#[tokio::test]
async fn search_syntax_in_a_query_is_only_text_and_bad_queries_are_refused_plainly() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        for query in [
            "\"",
            "pets*",
            "NEAR(pets",
            "pets OR",
            "-pets",
            "pets:*",
            "a & | ! b",
            "'; DROP TABLE apis; --",
            "^*",
        ] {
            let found = search(&db.store, &sam, query, NOW).await;
            assert!(found.is_ok(), "{}: {query}: {found:?}", db.backend);
        }
        let found = search(&db.store, &sam, "  /// ", NOW).await.unwrap();
        assert!(found.groups.is_empty());
        let found = search(&db.store, &sam, "zzzqqqxxx", NOW).await.unwrap();
        assert!(found.groups.is_empty());
        let err = search(&db.store, &sam, &"a".repeat(201), NOW)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("at most 200 characters"), "{err}");
    }
}

#[tokio::test]
async fn the_search_page_renders_results_with_links_to_the_operation() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let cookie = common::session_cookie(&db.store, "sam.taylor@example.com").await;
        let reply = send(&app, get("/search?q=searchable", Some(&cookie))).await;
        assert_eq!(reply.status, StatusCode::OK);
        let doc = scraper::Html::parse_document(&reply.body);
        let link =
            scraper::Selector::parse(".search-group[data-api=patent-data] a.search-hit-title")
                .unwrap();
        let hrefs: Vec<&str> = doc
            .select(&link)
            .filter_map(|a| a.value().attr("href"))
            .collect();
        assert!(
            hrefs.iter().any(
                |h| h.starts_with("/apis/patent-data/reference?section=tag-") && h.contains("#op-")
            ),
            "{hrefs:?}"
        );
        let marks = scraper::Selector::parse(".search-snippet mark").unwrap();
        assert!(doc.select(&marks).next().is_some());
        // Anonymous visitors are sent to sign in.
        let reply = send(&app, get("/search?q=records", None)).await;
        assert_eq!(reply.status, StatusCode::FOUND);
    }
}

#[tokio::test]
async fn a_database_from_before_search_is_indexed_at_start_up() {
    for db in seeded_stores().await {
        // As a database migrated from before search looks: no documents, no rendered
        // descriptions.
        sqlx::query("DELETE FROM search_documents")
            .execute(db.store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE apis SET description_html = ''")
            .execute(db.store.pool())
            .await
            .unwrap();
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        assert!(
            search(&db.store, &sam, "searchable", NOW)
                .await
                .unwrap()
                .groups
                .is_empty()
        );

        let filled = gatehouse::server::services::publish::backfill(&db.store)
            .await
            .unwrap();
        assert_eq!(
            filled as i64,
            common::count(&db, "SELECT COUNT(*) FROM apis").await
        );
        let found = search(&db.store, &sam, "searchable", NOW).await.unwrap();
        assert!(
            hits(&found, "patent-data")
                .iter()
                .any(|h| h.title == "GET /{dataset}/{version}/fields"),
            "{}: {found:#?}",
            db.backend
        );
        let found = search(&db.store, &sam, "telemetry", NOW).await.unwrap();
        assert!(hits(&found, "pet-store").iter().any(|h| h.kind == "guide"));
        assert_eq!(
            common::count(
                &db,
                "SELECT COUNT(*) FROM apis WHERE description_md <> '' AND description_html = ''"
            )
            .await,
            0
        );
        // Once done, nothing is left to do.
        assert_eq!(
            gatehouse::server::services::publish::backfill(&db.store)
                .await
                .unwrap(),
            0
        );
    }
}
