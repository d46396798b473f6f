//! The docs page cache: a docs page opened again is answered as it was rendered, with a nonce of
//! its own, for the same session only, and never after a change it could show has committed,
//! whichever process made it.

mod common;

use axum::http::{StatusCode, header};
use common::web::{Reply, SAME_ORIGIN, get, post_form, send};
use common::{TestStore, app_state, config, seeded_stores};
use gatehouse::server::config::DatabaseUrl;
use gatehouse::server::db::Store;
use gatehouse::server::http::router;
use gatehouse::server::page_cache::SOURCE_HEADER;

const SAM: &str = "sam.taylor@example.com";
const REFERENCE: &str = "/apis/pet-store/reference";
const GUIDE: &str = "/apis/pet-store/guides/stripe-cli-readme";

fn source(reply: &Reply) -> &str {
    reply
        .headers
        .get(SOURCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
}

/// The nonce a page's CSP allows.
fn policy_nonce(reply: &Reply) -> String {
    let policy = reply
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .expect("a page carries a CSP");
    let start = policy.find("'nonce-").expect("a nonce in the CSP") + "'nonce-".len();
    let len = policy[start..].find('\'').unwrap();
    policy[start..start + len].to_owned()
}

/// Another connection to the same database: what another replica or process would write with.
async fn other_process(db: &TestStore) -> Store {
    let url = match &db.url {
        Some(url) => DatabaseUrl::Postgres(url.clone()),
        None => DatabaseUrl::Sqlite(db.dir.join("test.db")),
    };
    Store::connect(&url, 1).await.expect("a second connection")
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn a_docs_page_opened_again_is_the_kept_one_with_a_nonce_of_its_own() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = common::session_cookie(&db.store, SAM).await;
        for path in [REFERENCE, GUIDE] {
            let first = send(&app, get(path, Some(&sam))).await;
            assert_eq!(first.status, StatusCode::OK, "{path}");
            assert_eq!(source(&first), "rendered", "{path}");
            assert!(
                first.body.contains("Sam Taylor"),
                "{path}: the page is Sam's"
            );
            let second = send(&app, get(path, Some(&sam))).await;
            assert_eq!(second.status, StatusCode::OK);
            assert_eq!(source(&second), "kept", "{} {path}", db.backend);

            // The same page, but each answer has its own nonce, in its CSP and in the page.
            let (a, b) = (policy_nonce(&first), policy_nonce(&second));
            assert_ne!(a, b, "a kept page gets a fresh nonce");
            assert_eq!(a.len(), b.len());
            assert!(second.body.contains(&format!("nonce=\"{b}\"")));
            assert!(!second.body.contains(&a), "no trace of the first nonce");
            assert_eq!(first.body.replace(&a, &b), second.body);
            for name in [
                header::CONTENT_TYPE,
                header::CACHE_CONTROL,
                header::X_FRAME_OPTIONS,
            ] {
                assert_eq!(
                    first.headers.get(&name),
                    second.headers.get(&name),
                    "{name}"
                );
            }

            // A hard reload renders the page again.
            let mut fresh = get(path, Some(&sam));
            fresh
                .headers_mut()
                .insert(header::CACHE_CONTROL, "no-cache".parse().unwrap());
            assert_eq!(source(&send(&app, fresh).await), "rendered");
        }

        // Another person's session never gets Sam's page.
        let jordan = common::session_cookie(&db.store, "jordan.kim@example.com").await;
        let theirs = send(&app, get(REFERENCE, Some(&jordan))).await;
        assert_eq!(theirs.status, StatusCode::OK);
        assert_eq!(source(&theirs), "rendered");
        assert!(!theirs.body.contains("Sam Taylor"));
        // Nor does another session of Sam's (a session is what a kept page is kept for).
        let sam_again = common::session_cookie(&db.store, SAM).await;
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam_again))).await),
            "rendered"
        );

        // Only docs pages are kept.
        for path in ["/", "/apis/pet-store", "/keys"] {
            for _ in 0..2 {
                let reply = send(&app, get(path, Some(&sam))).await;
                assert_eq!(source(&reply), "none", "{path}");
            }
        }
    }
}

#[tokio::test]
async fn a_change_a_kept_page_could_show_is_seen_at_once_from_any_process() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = common::session_cookie(&db.store, SAM).await;
        let other = other_process(&db).await;
        let warm = || async {
            send(&app, get(REFERENCE, Some(&sam))).await;
            let kept = send(&app, get(REFERENCE, Some(&sam))).await;
            assert_eq!(source(&kept), "kept", "{}", db.backend);
            kept
        };

        // The API renamed by another process: the next answer shows it.
        warm().await;
        exec(
            &other,
            "UPDATE apis SET name = 'Pet Shop' WHERE slug = 'pet-store'",
        )
        .await;
        let reply = send(&app, get(REFERENCE, Some(&sam))).await;
        assert_eq!(source(&reply), "rendered");
        assert!(reply.body.contains("Pet Shop"));

        // A notification for Sam changes the header's count.
        let before = warm().await;
        exec(
            &other,
            "INSERT INTO notifications (person_id, kind, subject, body, link, created_at, email_due_at)
             SELECT id, 'decision', 'Hello', 'Hello', '/', 1795867200, NULL FROM people
             WHERE email = 'sam.taylor@example.com'",
        )
        .await;
        let reply = send(&app, get(REFERENCE, Some(&sam))).await;
        assert_eq!(source(&reply), "rendered");
        assert_ne!(
            reply.body.replace(&policy_nonce(&reply), ""),
            before.body.replace(&policy_nonce(&before), ""),
            "the page shows the new notification"
        );

        // Right after a change, many requests at once: every one shows it.
        warm().await;
        exec(
            &other,
            "UPDATE apis SET name = 'Pet Emporium' WHERE slug = 'pet-store'",
        )
        .await;
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (app, sam) = (app.clone(), sam.clone());
            burst.spawn(async move { send(&app, get(REFERENCE, Some(&sam))).await });
        }
        for reply in burst.join_all().await {
            assert_eq!(reply.status, StatusCode::OK);
            assert!(reply.body.contains("Pet Emporium"), "{}", db.backend);
        }

        // What pages never show (key usage, the audit chain) leaves kept pages kept.
        warm().await;
        exec(&other, "DELETE FROM key_usage").await;
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam))).await),
            "kept"
        );
        other.close().await;
    }
}

#[tokio::test]
async fn a_kept_page_is_not_answered_once_its_session_has_ended() {
    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let app = router(state.clone());
        let other = other_process(&db).await;

        // Signed out here.
        let sam = common::session_cookie(&db.store, SAM).await;
        send(&app, get(REFERENCE, Some(&sam))).await;
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam))).await),
            "kept"
        );
        let out = send(
            &app,
            post_form("/auth/sign-out", String::new(), SAME_ORIGIN, Some(&sam)),
        )
        .await;
        assert!(out.status.is_redirection(), "{}", out.status);
        let after = send(&app, get(REFERENCE, Some(&sam))).await;
        assert_ne!(source(&after), "kept");
        assert!(!after.body.contains("Sam Taylor"), "{}", db.backend);

        // Signed out on another replica (the session's row deleted there).
        let sam = common::session_cookie(&db.store, SAM).await;
        send(&app, get(REFERENCE, Some(&sam))).await;
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam))).await),
            "kept"
        );
        exec(&other, "DELETE FROM sessions").await;
        let after = send(&app, get(REFERENCE, Some(&sam))).await;
        assert_ne!(source(&after), "kept");
        assert!(!after.body.contains("Sam Taylor"));

        // A minute on, the session's `last_seen_at` is due: the page is rendered (and the
        // session touched) again, then kept anew.
        let sam = common::session_cookie(&db.store, SAM).await;
        send(&app, get(REFERENCE, Some(&sam))).await;
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam))).await),
            "kept"
        );
        state.clock.advance(61);
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam))).await),
            "rendered"
        );
        let seen: i64 = sqlx::query_scalar("SELECT MAX(last_seen_at) FROM sessions")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(seen, state.clock.now(), "the session was touched");
        assert_eq!(
            source(&send(&app, get(REFERENCE, Some(&sam))).await),
            "kept"
        );

        // Past the idle timeout (eight hours by default) the session is over.
        state.clock.advance(8 * 3600 + 10);
        let after = send(&app, get(REFERENCE, Some(&sam))).await;
        assert_ne!(source(&after), "kept");
        assert!(!after.body.contains("Sam Taylor"));
        other.close().await;
    }
}

#[tokio::test]
async fn a_contractors_pages_are_never_kept() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let dana = common::session_cookie(&db.store, "dana.fox@northwind.example").await;
        for _ in 0..3 {
            let reply = send(&app, get(REFERENCE, Some(&dana))).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", db.backend);
            assert_eq!(source(&reply), "rendered");
        }
    }
}

/// Tables whose changes no page shows, left out of the page generation on purpose (see the
/// `page_generation` migration). A table added later must be put in one list or the other.
const LEFT_OUT: &[&str] = &[
    "_sqlx_migrations",
    "page_generation",
    "audit_events",
    "audit_head",
    "api_keys",
    "api_key_scopes",
    "key_usage",
    "webhook_deliveries",
    "oidc_logins",
    "password_attempts",
    "search_documents",
];

#[tokio::test]
async fn every_table_moves_the_page_generation_or_is_left_out_on_purpose() {
    for db in common::stores().await {
        let pool = db.store.pool();
        let (tables, covered): (Vec<String>, Vec<(String, String)>) = if db.url.is_some() {
            (
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                )
                .fetch_all(pool)
                .await
                .unwrap(),
                sqlx::query_as(
                    "SELECT event_object_table::text, event_manipulation::text
                     FROM information_schema.triggers WHERE trigger_name = 'pages_changed'",
                )
                .fetch_all(pool)
                .await
                .unwrap(),
            )
        } else {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'pages_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            (
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_fts%'",
                )
                .fetch_all(pool)
                .await
                .unwrap(),
                rows.into_iter()
                    .map(|(table, sql)| {
                        let event = ["INSERT", "UPDATE", "DELETE"]
                            .into_iter()
                            .find(|e| sql.contains(&format!("AFTER {e} ON")))
                            .unwrap_or("?");
                        (table, event.to_owned())
                    })
                    .collect(),
            )
        };
        let events = |table: &str| {
            let mut e: Vec<&str> = covered
                .iter()
                .filter(|(t, _)| t == table)
                .map(|(_, e)| e.as_str())
                .collect();
            e.sort();
            e
        };
        assert!(tables.len() > 30, "{}: {tables:?}", db.backend);
        for table in &tables {
            let expected: &[&str] = if table == "sessions" {
                &["DELETE"]
            } else if LEFT_OUT.contains(&table.as_str()) {
                &[]
            } else {
                &["DELETE", "INSERT", "UPDATE"]
            };
            assert_eq!(events(table), expected, "{}: table {table}", db.backend);
        }

        // And it moves: once for a change, whatever it touched.
        let n = || async {
            sqlx::query_scalar::<_, i64>("SELECT n FROM page_generation WHERE id = 1")
                .fetch_one(pool)
                .await
                .unwrap()
        };
        let before = n().await;
        exec(
            &db.store,
            "INSERT INTO teams (slug, name, created_at) VALUES ('t1', 'T1', 1)",
        )
        .await;
        let after = n().await;
        assert!(after > before, "{}", db.backend);
        exec(&db.store, "UPDATE sessions SET last_seen_at = 1").await;
        exec(&db.store, "DELETE FROM key_usage").await;
        assert_eq!(n().await, after, "left-out tables do not move it");
    }
}
