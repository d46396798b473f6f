//! The HTTP surface, in process: probes, the development sign-in, the CSRF guard, server
//! functions and server-rendered pages.

mod common;

use axum::Router;
use axum::http::{StatusCode, header};
use common::web::{SAME_ORIGIN, get, post_form, send};
use common::{app_state, config, person_id, seeded_stores};
use gatehouse::server::http::router;

/// The app with the development sign-in enabled.
fn dev_app(db: &common::TestStore) -> Router {
    router(app_state(
        db.store.clone(),
        config(&db.dir, &[("GATEHOUSE_DEV_LOGIN", "true")]),
    ))
}

/// The dev-login app and the cookie of the named demo person, signed in through the form.
async fn signed_in(db: &common::TestStore, email: &str) -> (Router, String) {
    let app = dev_app(db);
    let person = person_id(&db.store, email).await;
    let cookie = sign_in(&app, person).await;
    (app, cookie)
}

async fn session_count(store: &gatehouse::server::db::Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Signs in through the development form and returns the cookie pair to send back.
async fn sign_in(app: &Router, person: i64) -> String {
    let reply = send(
        app,
        post_form(
            "/auth/dev-login",
            format!("person_id={person}&next=%2Fapis%2Fpet-store"),
            SAME_ORIGIN,
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.headers[header::LOCATION], "/apis/pet-store");
    let set_cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn health_is_always_ok_and_readiness_follows_the_store() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        assert_eq!(
            send(&app, get("/healthz", None)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            send(&app, get("/readyz", None)).await.status,
            StatusCode::OK
        );
        db.store.close().await;
        let reply = send(&app, get("/readyz", None)).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            db.backend
        );
        assert_eq!(
            send(&app, get("/healthz", None)).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_development_sign_in_does_not_exist_unless_enabled() {
    for db in seeded_stores().await {
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/auth/dev-login",
                format!("person_id={sam}"),
                SAME_ORIGIN,
                None,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", db.backend);
        assert!(reply.headers.get(header::SET_COOKIE).is_none());
        assert_eq!(session_count(&db.store).await, 0);

        let page = send(&app, get("/sign-in", None)).await;
        assert!(
            page.body.contains("Company sign-in is not configured"),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("Sam Taylor"),
            "the people list must not show when disabled"
        );
    }
}

#[tokio::test]
async fn a_cross_site_post_is_refused_and_changes_nothing() {
    for db in seeded_stores().await {
        let app = dev_app(&db);
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/auth/dev-login",
                format!("person_id={sam}"),
                "https://evil.example",
                None,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", db.backend);
        assert!(reply.body.contains("Cross-site request refused"));
        assert_eq!(session_count(&db.store).await, 0, "{}", db.backend);

        let cookie = sign_in(&app, sam).await;
        let reply = send(
            &app,
            post_form(
                "/auth/sign-out",
                String::new(),
                "https://evil.example",
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(
            session_count(&db.store).await,
            1,
            "{}: a forged sign-out must not end the session",
            db.backend
        );
    }
}

#[tokio::test]
async fn the_catalog_page_shows_a_page_of_cards_and_links_to_the_others() {
    for db in seeded_stores().await {
        let b = db.backend;
        common::add_zeta_apis(&db.store, 60, false).await;
        let app = dev_app(&db);
        let cookie = sign_in(&app, person_id(&db.store, "sam.taylor@example.com").await).await;
        let first = send(&app, get("/", Some(&cookie))).await;
        assert_eq!(first.status, StatusCode::OK, "{b}");
        for text in [
            "1–48 of 68 APIs",
            "Page 1 of 2",
            "href=\"/?page=2\"",
            "Pet Store",
        ] {
            assert!(first.body.contains(text), "{b}: page 1 lacks {text:?}");
        }
        assert_eq!(first.body.matches("data-testid=\"api-card\"").count(), 48);

        let second = send(&app, get("/?tag=&page=2", Some(&cookie))).await;
        for text in ["49–68 of 68 APIs", "Page 2 of 2", "Zeta 059"] {
            assert!(second.body.contains(text), "{b}: page 2 lacks {text:?}");
        }
        assert!(!second.body.contains("Pet Store"), "{b}");
        assert_eq!(second.body.matches("data-testid=\"api-card\"").count(), 20);

        let past = send(&app, get("/?page=7", Some(&cookie))).await;
        assert!(past.body.contains("Page 7 is past the last one (2)"), "{b}");
        let bad = send(&app, get("/?page=0", Some(&cookie))).await;
        assert!(
            bad.body.contains("the page must be a whole number"),
            "{b}: {}",
            bad.body.len()
        );
    }
}

#[tokio::test]
async fn signing_in_shows_the_catalog_and_signing_out_ends_the_session_server_side() {
    for db in seeded_stores().await {
        let app = dev_app(&db);
        let options = send(&app, get("/sign-in", None)).await;
        assert!(
            options.body.contains("Sam Taylor") && options.body.contains("Dana Fox"),
            "{}",
            db.backend
        );

        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let cookie = sign_in(&app, sam).await;
        assert!(
            cookie.starts_with("gatehouse_session="),
            "plain-http loopback uses the unprefixed cookie: {cookie}"
        );

        let page = send(&app, get("/", Some(&cookie))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        for text in ["API catalog", "Pet Store", "Patent Data", "Sam Taylor"] {
            assert!(
                page.body.contains(text),
                "{}: catalog page lacks {text:?}",
                db.backend
            );
        }
        assert!(
            !page.body.contains(">Identity<"),
            "{}: the hidden API must not be listed",
            db.backend
        );

        let reply = send(
            &app,
            post_form("/auth/sign-out", String::new(), SAME_ORIGIN, Some(&cookie)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        assert!(
            reply.headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        assert_eq!(session_count(&db.store).await, 0, "{}", db.backend);

        let me = send(
            &app,
            post_form("/api/me", String::new(), SAME_ORIGIN, Some(&cookie)),
        )
        .await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(
            me.body, "null",
            "{}: the old cookie must identify nobody",
            db.backend
        );
    }
}

#[tokio::test]
async fn pages_send_people_who_are_not_signed_in_to_the_sign_in_page() {
    for db in seeded_stores().await {
        let app = dev_app(&db);
        // Pages rendered on the server alone, and pages whose island loads its own data (whose
        // server functions also fail for someone signed out: the redirect must still win).
        for (path, next) in [
            ("/apis/pet-store", "%2Fapis%2Fpet-store"),
            (
                "/apis/pet-store/reference?section=tag-store",
                "%2Fapis%2Fpet-store%2Freference%3Fsection%3Dtag-store",
            ),
            ("/", "%2F"),
            ("/keys", "%2Fkeys"),
            ("/approvals", "%2Fapprovals"),
            ("/apis/pet-store/request", "%2Fapis%2Fpet-store%2Frequest"),
            ("/admin/people?q=lee", "%2Fadmin%2Fpeople%3Fq%3Dlee"),
        ] {
            for _ in 0..3 {
                let reply = send(&app, get(path, None)).await;
                assert_eq!(
                    reply.status,
                    StatusCode::FOUND,
                    "{}: {path}: {:?}",
                    db.backend,
                    reply.headers
                );
                assert_eq!(
                    reply.headers[header::LOCATION],
                    format!("/sign-in?next={next}"),
                    "{}: {path}",
                    db.backend
                );
            }
        }
    }
}

#[tokio::test]
async fn server_functions_require_a_session_and_answer_errors_with_their_status() {
    for db in seeded_stores().await {
        let app = dev_app(&db);
        let anonymous = send(
            &app,
            post_form(
                "/api/catalog/list",
                "filter[q]=pet&filter[team]=&filter[lifecycle]=&filter[tag]=".into(),
                SAME_ORIGIN,
                None,
            ),
        )
        .await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{}: {}",
            db.backend,
            anonymous.body
        );
        assert!(
            anonymous.body.contains("Unauthenticated"),
            "{}",
            anonymous.body
        );

        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let cookie = sign_in(&app, sam).await;
        let found = send(
            &app,
            post_form(
                "/api/catalog/list",
                "filter[q]=pet&filter[team]=&filter[lifecycle]=&filter[tag]=".into(),
                SAME_ORIGIN,
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(
            found.status,
            StatusCode::OK,
            "{}: {}",
            db.backend,
            found.body
        );
        let results: serde_json::Value = serde_json::from_str(&found.body).unwrap();
        assert_eq!(
            (results["total"].as_u64(), results["page"].as_u64()),
            (Some(3), Some(1))
        );
        let slugs: Vec<&str> = results["apis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["pet-search", "pet-store", "webhooks"]);

        let bad = send(
            &app,
            post_form(
                "/api/catalog/list",
                "filter[q]=&filter[team]=&filter[lifecycle]=beta&filter[tag]=".into(),
                SAME_ORIGIN,
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(bad.body.contains("unknown lifecycle"), "{}", bad.body);

        let malformed = send(
            &app,
            post_form(
                "/api/catalog/list",
                "filter[q]=pet".into(),
                SAME_ORIGIN,
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(
            malformed.status,
            StatusCode::BAD_REQUEST,
            "{}",
            malformed.body
        );
        assert!(
            malformed.body.contains("Bad arguments"),
            "{}",
            malformed.body
        );
    }
}

#[tokio::test]
async fn an_api_page_renders_for_those_who_may_see_it_and_is_not_found_for_others() {
    for db in seeded_stores().await {
        let (app, cookie) = signed_in(&db, "dana.fox@northwind.example").await;
        let page = send(&app, get("/apis/pet-store", Some(&cookie))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        for text in [
            "Pet Store",
            "Commerce",
            "write:pets",
            "High risk",
            "https://pets.api.example.com/v3",
        ] {
            assert!(
                page.body.contains(text),
                "{}: API page lacks {text:?}",
                db.backend
            );
        }
        let hidden = send(&app, get("/apis/files", Some(&cookie))).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", db.backend);
        assert!(
            hidden
                .body
                .contains("The API &#x27;files&#x27; was not found")
                || hidden.body.contains("The API 'files' was not found"),
            "{}",
            hidden.body
        );

        let nowhere = send(&app, get("/no/such/page", Some(&cookie))).await;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_person_and_only_theirs() {
    for db in seeded_stores().await {
        let app = dev_app(&db);
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let riley = person_id(&db.store, "riley.chen@example.com").await;
        let laptop = sign_in(&app, sam).await;
        let phone = sign_in(&app, sam).await;
        let others = sign_in(&app, riley).await;

        let profile = send(&app, get("/me", Some(&laptop))).await;
        assert_eq!(profile.status, StatusCode::OK, "{}", db.backend);
        for text in [
            "Where you are signed in",
            "2 active sessions",
            "This browser",
            "Morgan Lee",
            "Commerce",
        ] {
            assert!(
                profile.body.contains(text),
                "{}: profile lacks {text:?}",
                db.backend
            );
        }

        let forged = send(
            &app,
            post_form(
                "/auth/sign-out-everywhere",
                String::new(),
                "https://evil.example",
                Some(&laptop),
            ),
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(session_count(&db.store).await, 3, "{}", db.backend);

        let reply = send(
            &app,
            post_form(
                "/auth/sign-out-everywhere",
                String::new(),
                SAME_ORIGIN,
                Some(&laptop),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        assert_eq!(reply.headers[header::LOCATION], "/sign-in");
        for cookie in [&laptop, &phone] {
            let me = send(
                &app,
                post_form("/api/me", String::new(), SAME_ORIGIN, Some(cookie)),
            )
            .await;
            assert_eq!(
                me.body, "null",
                "{}: every session of Sam has ended",
                db.backend
            );
        }
        let still = send(
            &app,
            post_form("/api/me", String::new(), SAME_ORIGIN, Some(&others)),
        )
        .await;
        assert!(
            still.body.contains("Riley Chen"),
            "{}: Riley's session must survive",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_cross_site_call_to_a_server_function_is_refused_even_with_a_valid_session() {
    for db in seeded_stores().await {
        let (app, cookie) = signed_in(&db, "sam.taylor@example.com").await;
        let body = "filter[q]=&filter[team]=&filter[lifecycle]=&filter[tag]=".to_owned();
        let reply = send(
            &app,
            post_form(
                "/api/catalog/list",
                body,
                "https://evil.example",
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", db.backend);
        assert!(
            !reply.body.contains("pet-store"),
            "{}: nothing may be answered",
            db.backend
        );
    }
}

#[tokio::test]
async fn tampered_foreign_or_malformed_session_cookies_identify_nobody() {
    for db in seeded_stores().await {
        let (app, real) = signed_in(&db, "sam.taylor@example.com").await;
        let token = real.split_once('=').unwrap().1.to_owned();
        let stored: String = sqlx::query_scalar("SELECT id_hash FROM sessions")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        let mut flipped = token.clone().into_bytes();
        flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
        let flipped = String::from_utf8(flipped).unwrap();
        for cookie in [
            format!("gatehouse_session={flipped}"),
            format!("gatehouse_session={stored}"),
            format!("__Host-gatehouse={token}"),
            format!("gatehouse_session={}", "z".repeat(5000)),
            "gatehouse_session=".to_owned(),
            format!("gatehouse_session={token}0"),
        ] {
            let reply = send(
                &app,
                post_form("/api/me", String::new(), SAME_ORIGIN, Some(&cookie)),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}: {cookie:.40}", db.backend);
            assert_eq!(
                reply.body, "null",
                "{}: {cookie:.40} must identify nobody",
                db.backend
            );
            let page = send(&app, get("/me", Some(&cookie))).await;
            assert_eq!(
                page.status,
                StatusCode::FOUND,
                "{}: {cookie:.40}",
                db.backend
            );
        }
        assert_eq!(
            session_count(&db.store).await,
            1,
            "{}: bad cookies change nothing",
            db.backend
        );
    }
}

#[tokio::test]
async fn the_org_import_answers_403_to_non_admins_and_changes_nothing() {
    for db in seeded_stores().await {
        let (app, cookie) = signed_in(&db, "morgan.lee@example.com").await;
        let body = "format=csv&content=email%2Cname%0Ax%40example.com%2CX%0A".to_owned();
        let reply = send(
            &app,
            post_form(
                "/api/admin/org/import",
                body.clone(),
                SAME_ORIGIN,
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{}: {}",
            db.backend,
            reply.body
        );
        let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(people, 9, "{}", db.backend);

        let alex = person_id(&db.store, "alex.rivera@example.com").await;
        let admin = sign_in(&app, alex).await;
        let reply = send(
            &app,
            post_form("/api/admin/org/import", body, SAME_ORIGIN, Some(&admin)),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.backend,
            reply.body
        );
        assert!(reply.body.contains("\"created\":1"), "{}", reply.body);
    }
}

/// Form-encodes a value the way browsers do (every byte but letters and digits escaped).
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An org file of `n` new people with long accented names (1.2 KB each, form-encoded), each
/// reporting to the one before, all in the platform team.
fn large_org_file(n: usize) -> String {
    let mut file = String::from("email,name,manager_email,teams\n");
    let name = "é".repeat(190);
    for i in 0..n {
        let manager = if i == 0 {
            String::new()
        } else {
            format!("bulk{}@example.com", i - 1)
        };
        file.push_str(&format!(
            "bulk{i}@example.com,{name} {i},{manager},platform\n"
        ));
    }
    file
}

async fn people(store: &gatehouse::server::db::Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Server functions read at most 2 MB (axum's default); an admin's org import may carry a
/// whole company's file. Over either limit, the answer is 413 with a message, whether the length
/// was declared or the body was cut off while read, and nothing changes.
#[tokio::test]
async fn a_large_org_file_is_imported_for_admins_and_refused_clearly_over_the_limit() {
    use gatehouse::server::http::{ORG_IMPORT_BODY_LIMIT, SERVER_FN_BODY_LIMIT};
    for db in seeded_stores().await {
        let body = format!("format=csv&content={}", form_encode(&large_org_file(2_000)));
        assert!(body.len() > SERVER_FN_BODY_LIMIT, "{}", body.len());
        let before = people(&db.store).await;
        let import = |body: String, cookie: &str, declared: bool| {
            let length = body.len();
            let mut request = post_form("/api/admin/org/import", body, SAME_ORIGIN, Some(cookie));
            if declared {
                request
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, length.into());
            }
            request
        };

        // Not an admin: the default limit, told as such.
        let (app, morgan) = signed_in(&db, "morgan.lee@example.com").await;
        for declared in [true, false] {
            let reply = send(&app, import(body.clone(), &morgan, declared)).await;
            assert_eq!(
                reply.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{}: declared {declared}: {}",
                db.backend,
                reply.body
            );
            let expected = if declared {
                "The request is larger than 2 MB, the most this accepts; nothing was changed."
            } else {
                "The request is larger than the server accepts for this; nothing was changed."
            };
            assert_eq!(reply.body, format!("{{\"TooLarge\":\"{expected}\"}}"));
        }
        assert_eq!(people(&db.store).await, before, "{}", db.backend);

        // An admin: imported, sent without a declared length as well.
        let alex = sign_in(&app, person_id(&db.store, "alex.rivera@example.com").await).await;
        let reply = send(&app, import(body, &alex, false)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.backend,
            reply.body
        );
        assert!(reply.body.contains("\"created\":2000"), "{}", reply.body);
        assert_eq!(people(&db.store).await, before + 2_000, "{}", db.backend);

        // Over the admin's limit too.
        let huge = format!("format=csv&content={}", "a".repeat(ORG_IMPORT_BODY_LIMIT));
        for declared in [true, false] {
            let reply = send(&app, import(huge.clone(), &alex, declared)).await;
            assert_eq!(
                reply.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{}: declared {declared}: {}",
                db.backend,
                reply.body
            );
            assert!(reply.body.contains("TooLarge"), "{}", reply.body);
        }
        assert_eq!(people(&db.store).await, before + 2_000, "{}", db.backend);

        // Other server functions keep the default, and a body they cannot read is a 400 that
        // says why, not a 502.
        let reply = send(
            &app,
            post_form(
                "/api/catalog/list",
                format!("filter[q]={}", "a".repeat(3 << 20)),
                SAME_ORIGIN,
                Some(&alex),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            reply.body
        );
    }
}

/// The data each resource sent for hydration, in the page's order.
fn hydration_payloads(page: &str) -> Vec<&str> {
    const MARK: &str = "__RESOLVED_RESOURCES[";
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find(MARK) {
        rest = &rest[at + MARK.len()..];
        let Some(start) = rest.find("] = \"") else {
            break;
        };
        let body = &rest[start + 5..];
        // The payload is a JavaScript string: it ends at the first quote not escaped.
        let mut escaped = false;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })
            .map(|(i, _)| i)
            .expect("an unterminated resource payload");
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

/// Creating a page's resources inside the signed-in gate ran each server function again for
/// every pass of server rendering, and sent every result twice. Each page now loads its data
/// once: no two resources of a page carry the same data. Pages are rendered on the server and
/// only their islands are hydrated, so a page sends data only for what its island shows: the
/// pages people read (an API, its docs, search, their profile) send none at all, and HTML
/// rendered into the page is never sent again as data.
#[tokio::test]
async fn every_page_loads_its_data_once() {
    for db in seeded_stores().await {
        let b = db.backend;
        for (email, paths) in [
            (
                "alex.rivera@example.com",
                &[
                    "/",
                    "/?q=pet",
                    "/search?q=pet",
                    "/apis/pet-store",
                    "/apis/pet-store/reference",
                    "/apis/pet-store/guides/stripe-cli-readme",
                    "/apis/pet-store/changelog",
                    "/apis/pet-store/edit",
                    "/apis/pet-store/request",
                    "/apis/pet-store/access",
                    "/apis/pet-store/policy",
                    "/requests",
                    "/approvals",
                    "/access",
                    "/notifications",
                    "/admin/access",
                    "/keys",
                    "/admin/gateways",
                    "/me",
                    "/invitations",
                    "/admin/people",
                    "/teams",
                ][..],
            ),
            (
                "sam.taylor@example.com",
                &["/", "/apis/files/reference", "/access", "/requests"][..],
            ),
        ] {
            let (app, cookie) = signed_in(&db, email).await;
            for path in paths {
                let page = send(&app, get(path, Some(&cookie))).await;
                assert!(
                    page.status.is_success(),
                    "{b}: {path} for {email} answered {}",
                    page.status
                );
                // Each page names itself in the title (set from inside the page, often inside
                // its island: the title must still reach the server-rendered head).
                assert!(
                    page.body.contains(" · Gatehouse</title>"),
                    "{b}: {path} has no title of its own: {}",
                    page.body.split("</title>").next().unwrap_or_default()
                );
                let payloads = hydration_payloads(&page.body);
                let read_only = path.starts_with("/apis/")
                    && !["/edit", "/request", "/access", "/policy"]
                        .iter()
                        .any(|tail| path.ends_with(tail))
                    || path.starts_with("/search")
                    || *path == "/me";
                if read_only {
                    assert!(
                        payloads.is_empty(),
                        "{b}: {path} is rendered on the server, yet sent data: {payloads:?}"
                    );
                } else {
                    // The island's data: the person, then what the page shows.
                    assert!(
                        payloads.len() >= 2,
                        "{b}: {path} sent no data for its island"
                    );
                }
                if path.contains("/reference") || path.contains("/guides/") {
                    assert!(
                        page.body.contains("class=\"doc"),
                        "{b}: {path} lacks its document"
                    );
                }
                let mut seen = std::collections::HashSet::new();
                for payload in payloads.iter().filter(|p| p.len() > 48) {
                    assert!(
                        seen.insert(*payload),
                        "{b}: {path} for {email} sent this data twice: {}…",
                        payload.chars().take(160).collect::<String>()
                    );
                }
            }
        }
    }
}

/// The nonce in a page's Content-Security-Policy (`'nonce-…'`).
fn policy_nonce(policy: &str) -> &str {
    let start = policy
        .find("'nonce-")
        .expect("the page's policy names a nonce")
        + "'nonce-".len();
    let end = start + policy[start..].find('\'').expect("the nonce is quoted");
    &policy[start..end]
}

#[tokio::test]
async fn pages_allow_only_their_own_scripts_and_nothing_may_frame_them() {
    for db in seeded_stores().await {
        let (app, cookie) = signed_in(&db, "dana.fox@northwind.example").await;
        let mut nonces = Vec::new();
        for path in ["/apis/pet-store", "/apis/pet-store", "/no/such/page"] {
            let page = send(&app, get(path, Some(&cookie))).await;
            let policy = page.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .to_owned();
            for directive in [
                "default-src 'self'",
                "'wasm-unsafe-eval'",
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ] {
                assert!(policy.contains(directive), "{path}: {policy}");
            }
            assert!(
                !policy.contains("'unsafe-eval'")
                    && !policy.contains("script-src 'self' 'unsafe-inline'"),
                "{policy}"
            );
            let nonce = policy_nonce(&policy).to_owned();
            assert!(nonce.len() >= 16, "a nonce of 128 bits: {nonce}");
            // Every script in the page carries this response's nonce, so the browser runs it.
            let scripts = page.body.matches("<script").count();
            assert!(scripts > 0, "{path}: a page hydrates through scripts");
            assert_eq!(
                page.body
                    .matches(&format!("<script nonce=\"{nonce}\""))
                    .count()
                    + page
                        .body
                        .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                        .count(),
                scripts,
                "{}: {path}: a script without the nonce:\n{}",
                db.backend,
                page.body
            );
            assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(page.headers[header::REFERRER_POLICY], "same-origin");
            nonces.push(nonce);
        }
        nonces.sort();
        nonces.dedup();
        assert_eq!(nonces.len(), 3, "every page gets a fresh nonce");

        // Anything that is not a page may run nothing at all; plain HTTP on loopback gets no HSTS.
        let health = send(&app, get("/healthz", None)).await;
        assert_eq!(
            health.headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(health.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            !health
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
    }
}

/// The bundle keeps its file names from build to build: browsers must revalidate it (and get a
/// 304 when their copy is current) rather than run a copy from before a deploy. Pages are one
/// person's and kept by no shared cache.
#[tokio::test]
async fn the_browser_bundle_is_revalidated_and_pages_are_private() {
    let stores = seeded_stores().await;
    let db = &stores[0];
    let site = db.dir.join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let script = "console.log('gatehouse');\n".repeat(64);
    std::fs::write(site.join("pkg/gatehouse.js"), &script).unwrap();
    // What the release build writes beside it (the bytes are the browser's business).
    std::fs::write(site.join("pkg/gatehouse.js.gz"), "gzipped").unwrap();
    let app = router(app_state(
        db.store.clone(),
        config(&db.dir, &[("GATEHOUSE_SITE_ROOT", site.to_str().unwrap())]),
    ));
    let file = |headers: &[(header::HeaderName, &str)]| {
        let mut request =
            axum::http::Request::get("/pkg/gatehouse.js").header(header::HOST, "127.0.0.1:3000");
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        send(&app, request.body(axum::body::Body::empty()).unwrap())
    };

    let first = file(&[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, script);
    assert_eq!(first.headers[header::CACHE_CONTROL], "no-cache");
    let modified = first.headers[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    // A browser asking again with what it has gets no body.
    let again = file(&[(header::IF_MODIFIED_SINCE, &modified)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.headers[header::CACHE_CONTROL], "no-cache");
    // The precompressed copy goes to browsers that take it.
    let gzipped = file(&[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(gzipped.status, StatusCode::OK);
    assert_eq!(gzipped.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gzipped.body, "gzipped");
    assert_eq!(
        send(&app, get("/pkg/nothing.wasm", None)).await.status,
        StatusCode::NOT_FOUND
    );

    let page = send(&app, get("/sign-in", None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::CACHE_CONTROL], "private, no-cache");
    let health = send(&app, get("/healthz", None)).await;
    assert!(!health.headers.contains_key(header::CACHE_CONTROL));
}

#[tokio::test]
async fn behind_https_browsers_are_told_to_keep_to_it() {
    let stores = seeded_stores().await;
    let db = &stores[0];
    let app = router(app_state(
        db.store.clone(),
        config(
            &db.dir,
            &[("GATEHOUSE_PUBLIC_URL", "https://gatehouse.example.com")],
        ),
    ));
    let health = send(&app, get("/healthz", None)).await;
    assert_eq!(
        health.headers[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );
}

/// Listing the app's routes renders it with data loading suspended process-wide (Leptos keeps
/// that flag for the whole process): a page whose data was first asked for meanwhile waited
/// forever. Routers built while pages render, as tests do all the time, must leave every page
/// answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_answer_while_another_router_is_built() {
    let stores = seeded_stores().await;
    let db = &stores[0];
    let (app, cookie) = signed_in(db, "alex.rivera@example.com").await;
    let building = {
        let store = db.store.clone();
        let dir = db.dir.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                drop(router(app_state(store.clone(), config(&dir, &[]))));
                tokio::task::yield_now().await;
            }
        })
    };
    for _ in 0..3 {
        for path in [
            "/",
            "/?q=pet",
            "/search?q=pet",
            "/apis/pet-store",
            "/apis/pet-store/reference",
            "/apis/pet-store/request",
            "/requests",
            "/approvals",
            "/keys",
            "/me",
            "/admin/people",
        ] {
            let page = send(&app, get(path, Some(&cookie))).await;
            assert!(page.status.is_success(), "{path}: {}", page.status);
        }
    }
    building.await.unwrap();
}

#[tokio::test]
async fn a_panic_while_answering_is_a_500_that_says_so_and_the_next_request_is_answered() {
    let app = Router::new()
        .route(
            "/defect",
            axum::routing::get(|| async {
                let empty: Vec<u8> = Vec::new();
                empty[3].to_string()
            }),
        )
        .route("/fine", axum::routing::get(|| async { "fine" }))
        .layer(gatehouse::server::http::panic_guard());
    let reply = send(&app, get("/defect", None)).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply
            .body
            .contains("Gatehouse failed while answering this request"),
        "{}",
        reply.body
    );
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    let reply = send(&app, get("/fine", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "fine");
}

/// The header's search box carries the search page's words, not another page's `q` (the People
/// page's search, the catalog's filter).
#[tokio::test]
async fn the_header_search_box_shows_only_the_search_pages_words() {
    fn header_search(page: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(page);
        let input = scraper::Selector::parse("#site-search").unwrap();
        let found = doc.select(&input).next().expect("the header's search box");
        found.value().attr("value").map(str::to_owned)
    }
    for db in seeded_stores().await {
        let b = db.backend;
        let app = dev_app(&db);
        let alex = sign_in(&app, person_id(&db.store, "alex.rivera@example.com").await).await;
        let search = send(&app, get("/search?q=pets", Some(&alex))).await;
        assert_eq!(search.status, StatusCode::OK, "{b}");
        assert_eq!(header_search(&search.body).as_deref(), Some("pets"), "{b}");
        for other in ["/admin/people?q=novak", "/?q=novak"] {
            let page = send(&app, get(other, Some(&alex))).await;
            assert_eq!(page.status, StatusCode::OK, "{b}: {other}");
            assert!(
                page.body.contains("novak"),
                "{b}: {other} keeps its own words"
            );
            assert_eq!(
                header_search(&page.body).unwrap_or_default(),
                "",
                "{b}: {other}"
            );
        }
    }
}
