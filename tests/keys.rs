//! API keys and their verification, on every backend: issuance under a grant with its limits,
//! storage (no plaintext anywhere), the JSON verify endpoint and forward-auth with every denial
//! code, rotation's grace period, revocation reaching the cache at once, and object-level
//! authorization.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use common::web::{Reply, send};
use common::{NOW, TestStore, actor, allowed_calls_written, app_state, config, seeded_stores};
use gatehouse::model::{Decision, KeyCreated, KeyInput, RequestInput};
use gatehouse::server::error::ServiceError;
use gatehouse::server::http::router;
use gatehouse::server::services::{access, gateways, keys};
use gatehouse::server::state::AppState;
use gatehouse::server::verify::{Code, VerifyRequest};

const SAM: &str = "sam.taylor@example.com";
const JORDAN: &str = "jordan.kim@example.com";
const MORGAN: &str = "morgan.lee@example.com";
const ALEX: &str = "alex.rivera@example.com";
const DAY: i64 = 86_400;

fn ask(scopes: &[&str]) -> RequestInput {
    RequestInput {
        environment: "production".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        justification: "The storefront's inventory sync job calls it.".into(),
        duration_days: "30".into(),
    }
}

/// Sam holds read:pets on Pet Store (approved automatically by its policy); Jordan holds
/// read:pets and write:pets (his manager, then an admin as the second approver).
async fn grants(db: &TestStore) -> (i64, i64) {
    let sam = actor(&db.store, SAM).await;
    let id = access::submit(&db.store, &sam, "pet-store", &ask(&["read:pets"]), NOW)
        .await
        .unwrap();
    let jordan = actor(&db.store, JORDAN).await;
    let id2 = access::submit(
        &db.store,
        &jordan,
        "pet-store",
        &ask(&["read:pets", "write:pets"]),
        NOW,
    )
    .await
    .unwrap();
    access::decide(
        &db.store,
        &actor(&db.store, MORGAN).await,
        id2,
        0,
        Decision::Approve,
        "",
        NOW,
    )
    .await
    .unwrap();
    access::decide(
        &db.store,
        &actor(&db.store, ALEX).await,
        id2,
        1,
        Decision::Approve,
        "",
        NOW,
    )
    .await
    .unwrap();
    let grant = |id: i64| async move {
        sqlx::query_scalar::<_, i64>("SELECT id FROM grants WHERE request_id = $1")
            .bind(id)
            .fetch_one(db.store.pool())
            .await
            .unwrap()
    };
    (grant(id).await, grant(id2).await)
}

fn input(grant_id: i64, scopes: &[&str]) -> KeyInput {
    KeyInput {
        grant_id,
        name: "inventory-sync".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..KeyInput::default()
    }
}

async fn create(state: &AppState, who: &str, input: &KeyInput) -> Result<KeyCreated, ServiceError> {
    keys::create(
        &state.store,
        state.secrets.key_pepper.expose(),
        &actor(&state.store, who).await,
        input,
        NOW,
    )
    .await
}

async fn gateway(state: &AppState) -> String {
    gateways::create(&state.store, &actor(&state.store, ALEX).await, "nginx", NOW)
        .await
        .unwrap()
        .secret
}

/// What a gateway test starts from: the app state, its router, Sam's and Jordan's grants, and a
/// gateway's credential.
async fn gate(db: &TestStore) -> (AppState, Router, i64, i64, String) {
    let state = app_state(db.store.clone(), config(&db.dir, &[]));
    let app = router(state.clone());
    let (sam_grant, jordan_grant) = grants(db).await;
    let gw = gateway(&state).await;
    (state, app, sam_grant, jordan_grant, gw)
}

/// A key's stored last use.
async fn last_used(db: &TestStore, key_id: i64) -> Option<i64> {
    sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1")
        .bind(key_id)
        .fetch_one(db.store.pool())
        .await
        .unwrap()
}

async fn verify(app: &Router, credential: Option<&str>, body: serde_json::Value) -> Reply {
    let mut b = Request::post("/api/v1/keys/verify").header("content-type", "application/json");
    if let Some(c) = credential {
        b = b.header("authorization", format!("Bearer {c}"));
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

fn code(reply: &Reply) -> String {
    let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    if v["valid"] == true {
        "valid".into()
    } else {
        v["code"].as_str().unwrap_or("?").to_owned()
    }
}

async fn authz(app: &Router, headers: &[(&str, &str)]) -> Reply {
    let mut b = Request::get("/api/v1/authz");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn keys_are_issued_within_their_grant_and_refused_outside_it() {
    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let (sam_grant, _) = grants(&db).await;
        let before: i64 = common::count(&db, "SELECT COUNT(*) FROM api_keys").await;
        let bad = [
            (
                KeyInput {
                    name: " ".into(),
                    ..input(sam_grant, &["read:pets"])
                },
                "Name the key",
            ),
            (
                input(sam_grant, &["write:pets"]),
                "not a scope of this grant",
            ),
            (input(sam_grant, &[]), "at least one scope"),
            (
                KeyInput {
                    expires_on: "2030-01-01".into(),
                    ..input(sam_grant, &["read:pets"])
                },
                "cannot outlive its grant",
            ),
            (
                KeyInput {
                    expires_on: "soon".into(),
                    ..input(sam_grant, &["read:pets"])
                },
                "a date like",
            ),
            (
                KeyInput {
                    ip_allowlist: "10.0.0.0/33".into(),
                    ..input(sam_grant, &["read:pets"])
                },
                "not an IP address or CIDR",
            ),
            (
                KeyInput {
                    ip_allowlist: "banana".into(),
                    ..input(sam_grant, &["read:pets"])
                },
                "not an IP address or CIDR",
            ),
            (
                KeyInput {
                    rate_limit_per_minute: "0".into(),
                    ..input(sam_grant, &["read:pets"])
                },
                "rate limit",
            ),
        ];
        for (bad, expected) in bad {
            let err = create(&state, SAM, &bad).await.expect_err(expected);
            let message = gatehouse::model::AppError::from(err).to_string();
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?} ({})",
                db.backend
            );
        }
        // Someone else's grant does not exist for Jordan.
        assert!(matches!(
            create(&state, JORDAN, &input(sam_grant, &["read:pets"])).await,
            Err(ServiceError::NotFound(_))
        ));
        assert_eq!(
            common::count(&db, "SELECT COUNT(*) FROM api_keys").await,
            before
        );

        let created = create(
            &state,
            SAM,
            &KeyInput {
                ip_allowlist: "10.1.0.0/16, 192.0.2.7".into(),
                rate_limit_per_minute: "120".into(),
                ..input(sam_grant, &["read:pets"])
            },
        )
        .await
        .unwrap();
        assert!(created.secret.starts_with("ghk_production_"));
        assert!(gatehouse::server::keys::parse(&created.secret).is_ok());
        assert!(created.curl.contains(&created.secret));
        assert_eq!(created.key.ip_allowlist, ["10.1.0.0/16", "192.0.2.7/32"]);
        assert_eq!(
            created.key.expires_at,
            NOW + 30 * DAY,
            "the grant's end, sooner than 90 days"
        );
        assert!(created.secret.starts_with(&created.key.prefix));
        // The list shows the prefix, never the secret.
        let mine = keys::mine(&db.store, &actor(&db.store, SAM).await, NOW)
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert!(
            !serde_json::to_string(&mine)
                .unwrap()
                .contains(&created.secret)
        );
    }
}

#[tokio::test]
async fn the_apis_policy_sets_a_keys_default_expiry_and_highest_rate_limit() {
    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let (sam_grant, _) = grants(&db).await;
        let alex = actor(&db.store, ALEX).await;
        let stored: String =
            sqlx::query_scalar("SELECT p.document FROM policies p JOIN apis a ON a.id = p.api_id WHERE a.slug = 'pet-store'")
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        let mut document: serde_json::Value = serde_json::from_str(&stored).unwrap();
        document["keys"] = serde_json::json!({"default_days": 7, "max_rate_per_minute": 600});
        access::save_policy(
            &db.store,
            &alex,
            "pet-store",
            Some(&document.to_string()),
            None,
            NOW,
        )
        .await
        .unwrap();

        // The grant list tells the new-key form what the policy allows.
        let mine = access::my_grants(&db.store, &actor(&db.store, SAM).await, NOW)
            .await
            .unwrap();
        let grant = mine.iter().find(|g| g.id == sam_grant).unwrap();
        assert_eq!((grant.key_default_days, grant.key_max_rate), (7, Some(600)));

        let before: i64 = common::count(&db, "SELECT COUNT(*) FROM api_keys").await;
        let err = create(
            &state,
            SAM,
            &KeyInput {
                rate_limit_per_minute: "601".into(),
                ..input(sam_grant, &["read:pets"])
            },
        )
        .await
        .unwrap_err();
        let message = gatehouse::model::AppError::from(err).to_string();
        assert!(
            message.contains("from 1 to 600 (the API's policy)"),
            "{message}"
        );
        assert_eq!(
            common::count(&db, "SELECT COUNT(*) FROM api_keys").await,
            before
        );

        // Nothing chosen: the policy's 7 days (sooner than the grant's 30) and its highest rate.
        let created = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        assert_eq!(created.key.expires_at, NOW + 7 * DAY);
        assert_eq!(created.key.rate_limit_per_minute, Some(600));
        // A lower limit of the holder's own stands.
        let own = create(
            &state,
            SAM,
            &KeyInput {
                rate_limit_per_minute: "60".into(),
                ..input(sam_grant, &["read:pets"])
            },
        )
        .await
        .unwrap();
        assert_eq!(own.key.rate_limit_per_minute, Some(60));
    }
}

#[tokio::test]
async fn no_plaintext_key_is_stored_in_any_column() {
    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let (sam_grant, jordan_grant) = grants(&db).await;
        let mut secrets = Vec::new();
        secrets.push(
            create(&state, SAM, &input(sam_grant, &["read:pets"]))
                .await
                .unwrap(),
        );
        let k = create(&state, JORDAN, &input(jordan_grant, &["write:pets"]))
            .await
            .unwrap();
        let rotated = keys::rotate(
            &db.store,
            state.secrets.key_pepper.expose(),
            &actor(&db.store, JORDAN).await,
            k.key.id,
            0,
            DAY,
            NOW,
        )
        .await
        .unwrap();
        secrets.push(k);
        secrets.push(rotated);
        let columns: Vec<(String, String)> = if db.backend == "sqlite" {
            let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%fts%'")
                .fetch_all(db.store.pool())
                .await
                .unwrap();
            let mut out = Vec::new();
            for t in tables {
                let cols: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')"))
                        .fetch_all(db.store.pool())
                        .await
                        .unwrap();
                out.extend(cols.into_iter().map(|c| (t.clone(), c)));
            }
            out
        } else {
            sqlx::query_as("SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public'")
                .fetch_all(db.store.pool())
                .await
                .unwrap()
        };
        assert!(columns.len() > 100, "{} columns", columns.len());
        for created in &secrets {
            // The secret part alone must not appear either.
            let secret_part = &created.secret[created.secret.len() - 38..created.secret.len() - 6];
            for (table, column) in &columns {
                let hits: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE $1"
                ))
                .bind(format!("%{secret_part}%"))
                .fetch_one(db.store.pool())
                .await
                .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
                assert_eq!(hits, 0, "{table}.{column} holds a key ({})", db.backend);
            }
        }
    }
}

#[tokio::test]
async fn verify_answers_every_case_with_its_code() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, jordan_grant, gw) = gate(&db).await;
        let read = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap()
            .secret;
        let both = create(
            &state,
            JORDAN,
            &input(jordan_grant, &["read:pets", "write:pets"]),
        )
        .await
        .unwrap()
        .secret;
        let limited = create(
            &state,
            SAM,
            &KeyInput {
                ip_allowlist: "10.1.0.0/16".into(),
                rate_limit_per_minute: "2".into(),
                ..input(sam_grant, &["read:pets"])
            },
        )
        .await
        .unwrap()
        .secret;
        let v = |body: serde_json::Value| {
            let app = app.clone();
            let gw = gw.clone();
            async move { verify(&app, Some(&gw), body).await }
        };

        let ok =
            v(serde_json::json!({"key": read, "api": "pet-store", "environment": "production"}))
                .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        let body: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
        assert_eq!(body["valid"], true, "{} on {}", ok.body, db.backend);
        assert_eq!(body["subject"]["email"], SAM);
        assert_eq!(body["subject"]["kind"], "employee");
        assert_eq!(body["scopes"], serde_json::json!(["read:pets"]));
        assert_eq!(body["api"], "pet-store");

        // Unknown, malformed, for another API; never a 500.
        let (unknown, _) = gatehouse::server::keys::generate("production");
        let long = "a".repeat(10_240);
        let mut typo = read.clone().into_bytes();
        let last = typo.len() - 8;
        typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(typo).unwrap();
        for key in [
            unknown.as_str(),
            "",
            long.as_str(),
            "ghk_prod_ünï",
            "sk_live_123",
            typo.as_str(),
        ] {
            let r = v(serde_json::json!({"key": key})).await;
            assert_eq!(r.status, StatusCode::OK, "{key:.40}");
            assert_eq!(code(&r), "invalid", "{key:.40}");
        }
        assert_eq!(
            code(&v(serde_json::json!({"key": read, "api": "rides"})).await),
            "insufficient_scope"
        );
        assert_eq!(
            code(&v(serde_json::json!({"key": read, "environment": "staging"})).await),
            "insufficient_scope"
        );
        // Scopes: a subset passes, a superset does not.
        assert_eq!(
            code(&v(serde_json::json!({"key": both, "scopes": ["read:pets"]})).await),
            "valid"
        );
        assert_eq!(
            code(&v(serde_json::json!({"key": read, "scopes": ["read:pets", "write:pets"]})).await),
            "insufficient_scope"
        );
        // The operation's scopes come from the spec: findByStatus needs read:pets and write:pets;
        // GET /pet/{petId} also accepts the api_key scheme, which needs no scope.
        assert_eq!(code(&v(serde_json::json!({"key": read, "method": "GET", "path": "/api/v3/pet/findByStatus?status=sold"})).await), "insufficient_scope");
        assert_eq!(
            code(
                &v(serde_json::json!({"key": both, "method": "GET", "path": "/pet/findByStatus"}))
                    .await
            ),
            "valid"
        );
        assert_eq!(
            code(&v(serde_json::json!({"key": read, "method": "GET", "path": "/pet/42"})).await),
            "valid"
        );
        // IP allowlist, then the rate limit (2 per minute).
        assert_eq!(
            code(&v(serde_json::json!({"key": limited, "ip": "192.0.2.1"})).await),
            "ip_not_allowed"
        );
        assert_eq!(
            code(&v(serde_json::json!({"key": limited})).await),
            "ip_not_allowed"
        );
        assert_eq!(
            code(&v(serde_json::json!({"key": limited, "ip": "10.1.2.3"})).await),
            "valid"
        );
        assert_eq!(
            code(&v(serde_json::json!({"key": limited, "ip": "10.1.2.3"})).await),
            "valid"
        );
        let limited_reply = v(serde_json::json!({"key": limited, "ip": "10.1.2.3"})).await;
        assert_eq!(code(&limited_reply), "rate_limited");
        assert!(limited_reply.body.contains("retry_after"));

        // The gateway credential: missing, wrong, revoked.
        assert_eq!(
            verify(&app, None, serde_json::json!({"key": read}))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            verify(
                &app,
                Some("ghgw_000000000000_0000"),
                serde_json::json!({"key": read})
            )
            .await
            .status,
            StatusCode::UNAUTHORIZED
        );
        // A body that is not a verify request is a 400, not a 500.
        assert_eq!(
            verify(&app, Some(&gw), serde_json::json!({"nope": 1}))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );

        // Expiry, on the injected clock: the grant ends after 30 days.
        state.clock.advance(30 * DAY);
        assert_eq!(
            code(&v(serde_json::json!({"key": read})).await),
            "expired",
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_grace_period_and_revocation_is_immediate() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let old = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        let sam = actor(&db.store, SAM).await;
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": old.secret})).await),
            "valid"
        );
        // Jordan can neither rotate nor revoke Sam's key: it does not exist for him.
        let jordan = actor(&db.store, JORDAN).await;
        let pepper = state.secrets.key_pepper.expose();
        assert!(matches!(
            keys::rotate(&db.store, pepper, &jordan, old.key.id, 0, DAY, NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            keys::revoke(&db.store, &jordan, old.key.id, "", NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(
            keys::mine(&db.store, &jordan, NOW)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            keys::for_api(&db.store, &jordan, "pet-store", NOW).await,
            Err(ServiceError::Forbidden)
        ));

        assert_eq!(old.key.rotations, 0);
        let new = keys::rotate(&db.store, pepper, &sam, old.key.id, 0, DAY, NOW)
            .await
            .unwrap();
        assert_eq!(new.key.prefix, old.key.prefix, "the key keeps its identity");
        assert_eq!(new.key.previous_valid_until, Some(NOW + DAY));
        assert_eq!(new.key.rotations, 1);
        // The same page asks again (a double click): refused, and both secrets still work.
        // Rotating again would have put the unused first new secret in the grace slot.
        let again = keys::rotate(&db.store, pepper, &sam, old.key.id, 0, DAY, NOW).await;
        assert!(
            matches!(&again, Err(ServiceError::Conflict(m)) if m.contains("rotated again")),
            "{}: {again:?}",
            db.backend
        );
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": new.secret})).await),
            "valid"
        );
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": old.secret})).await),
            "valid",
            "inside the grace period"
        );
        state.clock.advance(DAY);
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": old.secret})).await),
            "expired",
            "after it"
        );
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": new.secret})).await),
            "valid"
        );

        // The API's owner (Morgan owns Commerce) sees the key and revokes it; the cached record
        // is forgotten at once.
        let morgan = actor(&db.store, MORGAN).await;
        let listed = keys::for_api(&db.store, &morgan, "pet-store", NOW + DAY)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        keys::revoke(
            &db.store,
            &morgan,
            old.key.id,
            "Leaked in a log.",
            NOW + DAY,
        )
        .await
        .unwrap();
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": new.secret})).await),
            "revoked",
            "{}",
            db.backend
        );
        let audited = common::count(&db, "SELECT COUNT(*) FROM audit_events WHERE action IN ('key_created', 'key_rotated', 'key_revoked')").await;
        assert_eq!(audited, 3);
    }
}

#[tokio::test]
async fn revoking_the_grant_stops_its_keys_at_once() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let k = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await),
            "valid"
        );
        access::revoke_grant(&db.store, &actor(&db.store, SAM).await, sam_grant, "", NOW)
            .await
            .unwrap();
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await),
            "revoked",
            "{}",
            db.backend
        );
        let revoked = common::count(
            &db,
            "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL",
        )
        .await;
        assert_eq!(revoked, 1);
    }
}

/// Forward-auth reads its headers in one pass: the caller's address from X-Real-IP, else the
/// first address of X-Forwarded-For; the key from Authorization before X-Api-Key; of a header
/// sent twice, the first; a value that is not visible text counts as absent.
#[tokio::test]
async fn forward_auth_takes_each_header_as_gateways_send_it() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let key = create(
            &state,
            SAM,
            &KeyInput {
                ip_allowlist: "10.1.0.0/16".into(),
                ..input(sam_grant, &["read:pets"])
            },
        )
        .await
        .unwrap()
        .secret;
        let bearer = format!("Bearer {key}");
        let call = |extra: Vec<(&'static str, String)>| {
            let app = app.clone();
            let gw = gw.clone();
            async move {
                let mut h: Vec<(&str, &str)> = vec![
                    ("x-gatehouse-gateway", gw.as_str()),
                    ("x-original-method", "GET"),
                    ("x-original-uri", "/pet/7"),
                ];
                h.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
                let reply = authz(&app, &h).await;
                let code = reply
                    .headers
                    .get("x-gatehouse-code")
                    .map_or("ok".to_owned(), |c| c.to_str().unwrap().to_owned());
                (reply.status, code)
            }
        };
        let with = |pairs: &[(&'static str, &str)]| {
            let mut v = vec![("authorization", bearer.clone())];
            v.extend(pairs.iter().map(|(k, v)| (*k, v.to_string())));
            v
        };
        let allowed = (StatusCode::OK, "ok".to_owned());
        let outside = (StatusCode::FORBIDDEN, "ip_not_allowed".to_owned());
        let cases = vec![
            (
                with(&[("x-real-ip", "10.1.2.3")]),
                &allowed,
                "X-Real-IP inside",
            ),
            (
                with(&[("x-real-ip", "192.0.2.1")]),
                &outside,
                "X-Real-IP outside",
            ),
            (
                with(&[("x-forwarded-for", "10.1.2.3, 192.0.2.1")]),
                &allowed,
                "first of X-Forwarded-For inside",
            ),
            (
                with(&[("x-forwarded-for", "192.0.2.1, 10.1.2.3")]),
                &outside,
                "first of X-Forwarded-For outside",
            ),
            (
                with(&[("x-real-ip", "192.0.2.1"), ("x-forwarded-for", "10.1.2.3")]),
                &outside,
                "X-Real-IP before X-Forwarded-For",
            ),
            (
                with(&[("x-real-ip", "10.1.2.3"), ("x-real-ip", "192.0.2.1")]),
                &allowed,
                "the first of a header sent twice",
            ),
            (
                with(&[("x-real-ip", "192.0.2.1"), ("x-real-ip", "10.1.2.3")]),
                &outside,
                "the first of a header sent twice",
            ),
            (with(&[]), &outside, "no address"),
            // HTTP allows other bytes in a value; one that is not visible text counts as absent.
            (
                with(&[("x-real-ip", "10.1.2.3é"), ("x-forwarded-for", "10.1.2.3")]),
                &allowed,
                "an X-Real-IP that is not text is absent",
            ),
            (
                with(&[("x-real-ip", "  "), ("x-forwarded-for", "10.1.2.3")]),
                &allowed,
                "a blank X-Real-IP is absent",
            ),
        ];
        for (headers, expected, what) in cases {
            assert_eq!(&call(headers).await, expected, "{what} ({})", db.backend);
        }
        // The key from Authorization before X-Api-Key, even a wrong one.
        let wrong_first = call(vec![
            ("authorization", "Bearer ghk_production_nope".into()),
            ("x-api-key", key.clone()),
            ("x-real-ip", "10.1.2.3".into()),
        ])
        .await;
        assert_eq!(wrong_first.0, StatusCode::UNAUTHORIZED, "{}", db.backend);
        let api_key = call(vec![
            ("x-api-key", key.clone()),
            ("x-real-ip", "10.1.2.3".into()),
        ])
        .await;
        assert_eq!(api_key, allowed, "{}", db.backend);
    }
}

#[tokio::test]
async fn forward_auth_answers_gateways_with_status_and_headers() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let read = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        let bearer = format!("Bearer {}", read.secret);
        let base = [
            ("x-gatehouse-gateway", gw.as_str()),
            ("x-gatehouse-api", "pet-store"),
            ("x-gatehouse-environment", "production"),
        ];
        let with = |extra: &[(&'static str, &str)]| {
            let mut h: Vec<(&str, String)> =
                base.iter().map(|(k, v)| (*k, v.to_string())).collect();
            h.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            h
        };
        let call = |h: Vec<(&'static str, String)>| {
            let app = app.clone();
            async move {
                let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
                authz(&app, &h).await
            }
        };
        // nginx: Authorization, X-Original-Method/URI.
        let ok = call(with(&[
            ("authorization", &bearer),
            ("x-original-method", "GET"),
            ("x-original-uri", "/pet/7"),
        ]))
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{:?} {}", ok.headers, db.backend);
        assert_eq!(ok.headers["x-gatehouse-subject"], SAM);
        assert_eq!(ok.headers["x-gatehouse-scopes"], "read:pets");
        assert_eq!(
            ok.headers["x-gatehouse-key-id"],
            read.key.id.to_string().as_str()
        );
        // Traefik: X-Api-Key and X-Forwarded-Method/Uri; the operation needs write:pets too.
        let denied = call(with(&[
            ("x-api-key", &read.secret),
            ("x-forwarded-method", "POST"),
            ("x-forwarded-uri", "/pet"),
        ]))
        .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert_eq!(denied.headers["x-gatehouse-code"], "insufficient_scope");
        // No key, or a key only in the query string: 401.
        let none = call(with(&[("x-original-uri", "/pet/7")])).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        let query = format!("/pet/7?api_key={}", read.secret);
        let in_query = call(with(&[("x-original-uri", &query)])).await;
        assert_eq!(in_query.status, StatusCode::UNAUTHORIZED);
        // A bad key, and no gateway credential.
        let bad = call(with(&[("authorization", "Bearer ghk_production_nope")])).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        let no_gateway = authz(&app, &[("authorization", &bearer)]).await;
        assert_eq!(no_gateway.status, StatusCode::UNAUTHORIZED);
        // Usage is counted in memory and written in a batch. A batch the store cannot take
        // waits for the next flush: nothing counted is lost.
        let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
        sqlx::query(&rename("key_usage", "key_usage_away"))
            .execute(db.store.pool())
            .await
            .unwrap();
        assert!(state.verifier.flush_usage().await.is_err());
        sqlx::query(&rename("key_usage_away", "key_usage"))
            .execute(db.store.pool())
            .await
            .unwrap();
        assert!(state.verifier.flush_usage().await.unwrap() >= 1);
        let ok_count: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM key_usage WHERE result = 'ok'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(ok_count, 1);
        assert_eq!(last_used(&db, read.key.id).await, Some(NOW));
        let metrics = state.verifier.metrics.render();
        assert!(
            metrics.contains("gatehouse_verifications_total{result=\"insufficient_scope\"} 1"),
            "{metrics}"
        );
    }
}

/// "Last used" is shown to the minute, and a key's time is written when the minute of its latest
/// call changes: a key in steady use does not rewrite its row on every flush. Its calls are
/// still all counted on every flush.
#[tokio::test]
async fn a_keys_last_use_is_written_when_its_minute_changes() {
    for db in seeded_stores().await {
        let (state, _, sam_grant, _, _) = gate(&db).await;
        let key = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        let request = VerifyRequest {
            key: key.secret.as_str().into(),
            ..Default::default()
        };
        assert_eq!(NOW % 60, 0, "the test's times assume NOW starts a minute");
        for (at, written) in [
            (NOW + 5, NOW + 5),
            (NOW + 50, NOW + 5),
            (NOW + 59, NOW + 5),
            (NOW + 61, NOW + 61),
            (NOW + 200, NOW + 200),
        ] {
            assert!(state.verifier.verify(&request, at).await.is_ok());
            assert_eq!(state.verifier.flush_usage().await.unwrap(), 1);
            assert_eq!(
                last_used(&db, key.key.id).await,
                Some(written),
                "after a call at NOW + {} ({})",
                at - NOW,
                db.backend
            );
        }
        assert_eq!(allowed_calls_written(&db.store, key.key.id).await, 5);
    }
}

#[tokio::test]
async fn holders_hear_7_days_and_1_day_before_a_key_expires() {
    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let (sam_grant, _) = grants(&db).await;
        let k = create(
            &state,
            SAM,
            &KeyInput {
                expires_on: gatehouse::domain::time::format_date(NOW + 20 * DAY),
                ..input(sam_grant, &["read:pets"])
            },
        )
        .await
        .unwrap();
        let ends = k.key.expires_at;
        assert_eq!(
            keys::run_due(&db.store, ends - 8 * DAY).await.unwrap(),
            0,
            "{}",
            db.backend
        );
        assert_eq!(keys::run_due(&db.store, ends - 7 * DAY).await.unwrap(), 1);
        assert_eq!(
            keys::run_due(&db.store, ends - 6 * DAY).await.unwrap(),
            0,
            "once"
        );
        assert_eq!(keys::run_due(&db.store, ends - DAY).await.unwrap(), 1);
        let notices = common::count(
            &db,
            "SELECT COUNT(*) FROM notifications WHERE kind = 'key_expiring'",
        )
        .await;
        assert_eq!(notices, 2);
    }
}

#[tokio::test]
async fn deactivating_the_holder_stops_their_keys_at_once() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let k = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await),
            "valid"
        );
        let sam = common::person_id(&db.store, SAM).await;
        let alex = actor(&db.store, ALEX).await;
        let cap = gatehouse::server::authz::manage_org(&alex).unwrap();
        gatehouse::server::services::admin::set_active(&db.store, &alex, &cap, sam, false, NOW)
            .await
            .unwrap();
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await),
            "revoked",
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn with_the_store_gone_verification_answers_from_fresh_cache_or_fails_closed() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let cached = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        let other = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": cached.secret})).await),
            "valid"
        );
        db.store.close().await;
        // Fresh in the cache: still answered. Not cached: refused, and counted.
        assert_eq!(
            code(&verify(&app, Some(&gw), serde_json::json!({"key": cached.secret})).await),
            "valid",
            "{}",
            db.backend
        );
        let reply = verify(&app, Some(&gw), serde_json::json!({"key": other.secret})).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(code(&reply), "unavailable");
        assert!(
            state
                .verifier
                .metrics
                .render()
                .contains("gatehouse_verify_store_failures_total 1")
        );
    }
}

/// An allowed call's JSON body and forward-auth headers.
type Answer = (Vec<u8>, Vec<(HeaderName, HeaderValue)>);

/// What a server's two worker threads answer for a key: each thread makes `calls` calls from
/// the cache on a runtime of its own (no store access, so nothing waits for the caller's
/// runtime, which this blocks). Answers are the body and forward-auth headers, or the code.
fn on_two_threads(state: &AppState, secret: &str, calls: usize) -> Vec<Result<Answer, Code>> {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    let request = VerifyRequest {
                        key: secret.into(),
                        ..Default::default()
                    };
                    (0..calls)
                        .map(|_| {
                            runtime
                                .block_on(state.verifier.verify(&request, NOW))
                                .map(|a| (a.clone().json().to_vec(), a.forward_headers().to_vec()))
                                .map_err(|denied| denied.code)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    })
}

#[tokio::test]
async fn a_key_used_on_several_threads_is_written_as_one_count() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let key = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        // The first call reads the key into the cache (and is counted on this thread).
        let first = verify(&app, Some(&gw), serde_json::json!({"key": key.secret})).await;
        assert_eq!(code(&first), "valid", "{}", db.backend);
        // Each worker thread counts its own calls. Two more threads use the key.
        for answer in on_two_threads(&state, &key.secret, 1) {
            assert!(answer.is_ok(), "{}: {answer:?}", db.backend);
        }
        // One row for the key's day however many threads counted it.
        let rows = state.verifier.flush_usage().await;
        assert_eq!(rows.unwrap(), 1, "{}", db.backend);
        let written = allowed_calls_written(&db.store, key.key.id).await;
        assert_eq!(written, 3, "{}", db.backend);
    }
}

#[tokio::test]
async fn a_key_in_use_on_several_threads_answers_alike_on_each_and_is_refused_on_all_once_revoked()
{
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let key = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        // The first call reads the key from the store into the shared cache.
        let first = verify(&app, Some(&gw), serde_json::json!({"key": key.secret})).await;
        assert_eq!(code(&first), "valid", "{}", db.backend);
        let request = VerifyRequest {
            key: key.secret.as_str().into(),
            ..Default::default()
        };
        let headers = state
            .verifier
            .verify(&request, NOW)
            .await
            .unwrap()
            .forward_headers()
            .to_vec();
        for answer in on_two_threads(&state, &key.secret, 3) {
            let (body, forwarded) = answer.expect("valid");
            assert_eq!(body, first.body.as_bytes(), "{}", db.backend);
            assert_eq!(forwarded, headers, "{}", db.backend);
        }
        keys::revoke(&db.store, &actor(&db.store, SAM).await, key.key.id, "", NOW)
            .await
            .unwrap();
        // This thread reads the revoked key from the store; every thread refuses it.
        let reply = verify(&app, Some(&gw), serde_json::json!({"key": key.secret})).await;
        assert_eq!(code(&reply), "revoked", "{}", db.backend);
        for answer in on_two_threads(&state, &key.secret, 3) {
            assert_eq!(answer.map(|_| ()), Err(Code::Revoked), "{}", db.backend);
        }
    }
}

#[tokio::test]
async fn keys_in_use_are_read_again_in_the_background_before_their_cache_entry_runs_out() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let key = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        let call = || verify(&app, Some(&gw), serde_json::json!({"key": key.secret}));
        assert_eq!(code(&call().await), "valid");
        // A change this process is not told of (as one made through another replica while its
        // notification is lost): the key's end moves into the past.
        sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
            .bind(NOW - 1)
            .bind(key.key.id)
            .execute(db.store.pool())
            .await
            .unwrap();
        // A fresh entry is not due: nothing is read again, and the cached answer stands.
        assert_eq!(code(&call().await), "valid", "{}", db.backend);
        assert_eq!(state.verifier.refresh_cached().await, 0);
        // Past the refresh age, a call is still answered from the cache and queues the key;
        // the background read brings the change, and the next call sees it.
        state.verifier.set_refresh_after(std::time::Duration::ZERO);
        assert_eq!(code(&call().await), "valid", "{}", db.backend);
        assert_eq!(state.verifier.refresh_cached().await, 1, "{}", db.backend);
        assert_eq!(code(&call().await), "expired", "{}", db.backend);
        // Queued once however often it is used before the read.
        for _ in 0..3 {
            call().await;
        }
        assert_eq!(state.verifier.refresh_cached().await, 1, "{}", db.backend);
    }
}

#[tokio::test]
async fn one_background_read_brings_every_queued_key_up_to_date() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let mut keys = Vec::new();
        for _ in 0..3 {
            keys.push(
                create(&state, SAM, &input(sam_grant, &["read:pets"]))
                    .await
                    .unwrap(),
            );
        }
        for k in &keys {
            let reply = verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await;
            assert_eq!(code(&reply), "valid", "{}", db.backend);
        }
        // Changes this process is not told of: the first key's end moves into the past, the
        // second is revoked; the third stays as it was.
        sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
            .bind(NOW - 1)
            .bind(keys[0].key.id)
            .execute(db.store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2")
            .bind(NOW)
            .bind(keys[1].key.id)
            .execute(db.store.pool())
            .await
            .unwrap();
        state.verifier.set_refresh_after(std::time::Duration::ZERO);
        for k in &keys {
            let reply = verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await;
            assert_eq!(
                code(&reply),
                "valid",
                "{}: still the cached answer",
                db.backend
            );
        }
        assert_eq!(state.verifier.refresh_cached().await, 3, "{}", db.backend);
        let mut codes = Vec::new();
        for k in &keys {
            let reply = verify(&app, Some(&gw), serde_json::json!({"key": k.secret})).await;
            codes.push(code(&reply));
        }
        assert_eq!(codes, ["expired", "revoked", "valid"], "{}", db.backend);
        // The third key's answer still names its scope, read in the same batch.
        let reply = verify(&app, Some(&gw), serde_json::json!({"key": keys[2].secret})).await;
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(
            body["scopes"],
            serde_json::json!(["read:pets"]),
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_key_queued_twice_for_the_background_read_stays_valid() {
    for db in seeded_stores().await {
        let (state, app, sam_grant, _, gw) = gate(&db).await;
        let key = create(&state, SAM, &input(sam_grant, &["read:pets"]))
            .await
            .unwrap();
        let lookup_id = key.key.prefix.rsplit('_').next().unwrap().to_owned();
        let call = || verify(&app, Some(&gw), serde_json::json!({"key": key.secret}));
        state.verifier.set_refresh_after(std::time::Duration::ZERO);
        // Used (cached, then queued), forgotten (a change elsewhere), used again (read, cached
        // anew) and used once more (queued again): the queue holds the key twice.
        assert_eq!(code(&call().await), "valid");
        assert_eq!(code(&call().await), "valid");
        state.verifier.forget(Some(&lookup_id));
        assert_eq!(code(&call().await), "valid");
        assert_eq!(code(&call().await), "valid");
        assert_eq!(state.verifier.refresh_cached().await, 2, "{}", db.backend);
        assert_eq!(code(&call().await), "valid", "{}", db.backend);
    }
}
