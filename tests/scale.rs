//! The scale seeder on every backend, at a small size: what it writes holds together (counts,
//! every request state with its stages, grants for the approved ones, keys under grants), the
//! generated specs go through the real pipeline (searchable operations, scopes per operation),
//! its sample keys verify, and a second run is refused without changing anything.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::web::send;
use common::{NOW, actor, app_state, config, count, seeded_stores};
use gatehouse::server::http::router;
use gatehouse::server::scale::{Scale, ScaleError, generated_spec, seed_scale};
use gatehouse::server::services::{gateways, search};

const SMALL: Scale = Scale {
    teams: 5,
    people: 60,
    apis: 12,
    operations_per_api: 10,
    requests: 100,
    keys: 300,
};

#[test]
fn a_generated_spec_has_the_operations_asked_for_each_with_a_scope() {
    let spec: serde_json::Value = serde_json::from_str(&generated_spec(
        "orders-refund-00001",
        "Orders",
        "refund",
        10,
    ))
    .unwrap();
    let operations: Vec<&serde_json::Value> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .collect();
    assert_eq!(operations.len(), 10);
    for op in operations {
        let scope = op["security"][0]["oauth"][0].as_str().unwrap();
        assert!(scope == "read:refund" || scope == "write:refund", "{scope}");
    }
    assert_eq!(
        Scale::ENTERPRISE.apis * Scale::ENTERPRISE.operations_per_api,
        100_000
    );
}

#[tokio::test]
async fn seed_scale_writes_a_consistent_company_whose_keys_verify() {
    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let pepper = state.secrets.key_pepper.expose().to_vec();
        let apis_before = count(&db, "SELECT COUNT(*) FROM apis").await;
        let report = seed_scale(&db.store, SMALL, &pepper, 10, NOW)
            .await
            .unwrap();
        let b = db.backend;
        assert_eq!(
            (report.teams, report.people, report.apis, report.operations),
            (5, 60, 12, 120),
            "{b}"
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM apis").await,
            apis_before + 12
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM people WHERE email LIKE '%@scale.example.com' AND manager_id IS NULL").await,
            1,
            "one person at the top of the reporting line ({b})"
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM people WHERE email LIKE '%@scale.example.com' AND kind = 'contractor' AND sponsor_id IS NOT NULL AND contract_ends_at IS NOT NULL").await,
            3
        );
        // Requests in every state, each with its stages; a grant per approved request.
        let generated = "FROM access_requests WHERE justification LIKE 'Generated:%'";
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) {generated}")).await,
            100
        );
        for (state, n) in [
            ("approved", 70),
            ("pending", 10),
            ("rejected", 10),
            ("expired", 10),
        ] {
            assert_eq!(
                count(
                    &db,
                    &format!("SELECT COUNT(*) {generated} AND state = '{state}'")
                )
                .await,
                n,
                "{state} ({b})"
            );
        }
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) {generated} AND id NOT IN (SELECT request_id FROM approval_steps)")).await,
            0
        );
        assert_eq!(report.steps as i64, count(&db, "SELECT COUNT(*) FROM approval_steps s JOIN access_requests r ON r.id = s.request_id WHERE r.justification LIKE 'Generated:%'").await);
        assert_eq!(report.grants, 70);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM grants g JOIN access_requests r ON r.id = g.request_id WHERE r.state = 'approved' AND r.justification LIKE 'Generated:%'").await,
            70
        );
        // No pending request is overdue or owes its approvers a reminder (two days before it
        // expires): the first job passes after start-up have no backlog to work through.
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT COUNT(*) {generated} AND state = 'pending' AND expires_at <= {}",
                    NOW + i64::from(
                        gatehouse::domain::access::AccessLimits::default().reminder_days_before
                    ) * 86_400
                )
            )
            .await,
            0,
            "{b}"
        );
        // Keys under grants, each with at least one scope, and none stored in plaintext.
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM api_keys WHERE name LIKE 'app-%'").await,
            300
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM api_keys k WHERE k.name LIKE 'app-%' AND NOT EXISTS (SELECT 1 FROM api_key_scopes s WHERE s.key_id = k.id)").await,
            0
        );
        assert_eq!(report.sample_keys.len(), 10);
        let sample = &report.sample_keys[0].key;
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM api_keys WHERE secret_hash = '{sample}' OR lookup_id = '{sample}'")).await,
            0
        );

        // The generated operations are searchable through the real index.
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let found = search::search(&db.store, &alex, "invoice", NOW)
            .await
            .unwrap();
        assert!(
            found
                .groups
                .iter()
                .filter(|g| g.api_slug.contains("-invoice-"))
                .flat_map(|g| g.hits.iter())
                .any(|h| h.kind == "operation"),
            "{found:?} ({b})"
        );

        // Every sample key verifies, and the spec's scope per operation applies.
        let app = router(state.clone());
        let gateway = gateways::create(&state.store, &alex, "bench", NOW)
            .await
            .unwrap()
            .secret;
        // Each for its API and environment, and forward-auth allows the call written beside it:
        // what the benchmark's load generator sends.
        for sample in &report.sample_keys {
            let reply = send(
                &app,
                Request::post("/api/v1/keys/verify")
                    .header("authorization", format!("Bearer {gateway}"))
                    .header("content-type", "application/json")
                    .body(Body::from(
                        serde_json::json!({ "key": sample.key, "api": sample.api, "environment": sample.environment })
                            .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
            let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            assert_eq!(answer["valid"], true, "{answer} ({b})");
            assert!(
                sample
                    .key
                    .starts_with(&format!("ghk_{}_", sample.environment)),
                "{sample:?}"
            );
            let reply = send(
                &app,
                Request::get("/api/v1/authz")
                    .header("x-gatehouse-gateway", &gateway)
                    .header("x-gatehouse-api", &sample.api)
                    .header("x-gatehouse-environment", sample.environment)
                    .header("x-original-method", "GET")
                    .header("x-original-uri", &sample.path)
                    .header("authorization", format!("Bearer {}", sample.key))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status, 200, "{sample:?}: {} ({b})", reply.body);
        }
        assert!(
            report
                .sample_keys
                .iter()
                .any(|s| s.environment == "staging")
        );

        // A second run is refused, and writes nothing.
        let teams = count(&db, "SELECT COUNT(*) FROM teams").await;
        assert!(matches!(
            seed_scale(&db.store, SMALL, &pepper, 0, NOW).await,
            Err(ScaleError::AlreadySeeded)
        ));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM teams").await, teams);
    }
}

/// Gateways spread calls over many keys: one flush then holds hundreds of usage rows, written a
/// few hundred rows per statement. Every count arrives, and each key's last use is its latest
/// allowed call, also when the flush spans two days.
#[tokio::test]
async fn a_flush_over_many_keys_and_two_days_writes_every_count() {
    use gatehouse::server::verify::VerifyRequest;
    use std::borrow::Cow;
    use std::collections::HashMap;

    for db in seeded_stores().await {
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let pepper = state.secrets.key_pepper.expose().to_vec();
        let report = seed_scale(&db.store, SMALL, &pepper, SMALL.keys, NOW)
            .await
            .unwrap();
        let b = db.backend;
        let mut allowed = 0_i64;
        let mut latest: HashMap<i64, i64> = HashMap::new();
        // Each key twice today and once tomorrow: two usage rows per key, 600 in all.
        for at in [NOW, NOW + 60, NOW + 86_400] {
            for sample in &report.sample_keys {
                let request = VerifyRequest {
                    key: Cow::Borrowed(&sample.key),
                    api: Some(Cow::Borrowed(&sample.api)),
                    environment: Some(Cow::Borrowed(sample.environment)),
                    ..VerifyRequest::default()
                };
                if let Ok(ok) = state.verifier.verify(&request, at).await {
                    allowed += 1;
                    latest.insert(ok.key_id(), at);
                }
            }
        }
        assert!(allowed > 500, "{allowed} allowed calls ({b})");
        let rows = state.verifier.flush_usage().await.unwrap();
        assert!(rows > 500, "{rows} usage rows in the flush ({b})");
        let written = count(
            &db,
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM key_usage WHERE result = 'ok'",
        )
        .await;
        assert_eq!(written, allowed, "{b}");
        for (key_id, at) in &latest {
            let used: Option<i64> =
                sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1")
                    .bind(key_id)
                    .fetch_one(db.store.pool())
                    .await
                    .unwrap();
            assert_eq!(used, Some(*at), "key {key_id} ({b})");
        }
        // A second flush adds to the rows already there.
        let sample = &report.sample_keys[0];
        let request = VerifyRequest {
            key: Cow::Borrowed(&sample.key),
            api: Some(Cow::Borrowed(&sample.api)),
            environment: Some(Cow::Borrowed(sample.environment)),
            ..VerifyRequest::default()
        };
        let again = state.verifier.verify(&request, NOW + 120).await.is_ok();
        state.verifier.flush_usage().await.unwrap();
        let written = count(
            &db,
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM key_usage WHERE result = 'ok'",
        )
        .await;
        assert_eq!(written, allowed + i64::from(again), "{b}");
    }
}
