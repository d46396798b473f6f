//! Company sign-in. ID-token checks are tested directly with tokens signed by test keys; the
//! callback's checks through the in-process app against a small identity provider started here,
//! which, unlike a real one, can be told to misbehave (wrong issuer, foreign key, rotated keys).
//! The real provider (npm oidc-provider) is exercised by the end-to-end suite.

mod common;

use axum::http::StatusCode;
use common::idp::*;
use common::web::{SAME_ORIGIN, get as get_req, post_form, send};
use common::{NOW, count, person_id, seeded_stores};
use gatehouse::server::http::router;
use gatehouse::server::oidc::id_token::{self, Expected, IdTokenError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example.com";

fn claims(nonce: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "user-1", "nonce": nonce,
        "iat": NOW, "exp": NOW + 300, "email": "sam.taylor@example.com", "name": "Sam Taylor",
    })
}

fn expected(nonce: &str) -> Expected<'_> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        nonce,
        now: NOW,
    }
}

fn check(token: &str) -> Result<id_token::VerifiedClaims, IdTokenError> {
    id_token::verify(token, &jwk("key-a"), &expected("n-1"))
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

#[test]
fn a_token_signed_by_the_published_key_with_the_right_claims_is_accepted() {
    let verified = check(&sign("key-a", "key-a", &claims("n-1"))).unwrap();
    assert_eq!(verified.subject, "user-1");
    assert_eq!(verified.text("email"), Some("sam.taylor@example.com"));
}

#[test]
fn wrong_issuer_audience_expiry_and_nonce_are_refused() {
    let cases = [
        (
            with(claims("n-1"), "iss", json!("https://evil.example.com")),
            IdTokenError::WrongIssuer {
                expected: ISSUER.into(),
            },
        ),
        (
            with(claims("n-1"), "iss", json!("https://idp.example.com/")),
            IdTokenError::WrongIssuer {
                expected: ISSUER.into(),
            },
        ),
        (
            with(claims("n-1"), "aud", json!("someone-else")),
            IdTokenError::WrongAudience,
        ),
        (
            // Several audiences need `azp` naming us.
            with(claims("n-1"), "aud", json!([CLIENT_ID, "someone-else"])),
            IdTokenError::WrongAudience,
        ),
        (
            with(claims("n-1"), "exp", json!(NOW - 61)),
            IdTokenError::Expired,
        ),
        (
            with(claims("n-1"), "iat", json!(NOW + 3600)),
            IdTokenError::IssuedInFuture,
        ),
        (claims("n-2"), IdTokenError::NonceMismatch),
        (
            {
                let mut c = claims("n-1");
                c.as_object_mut().unwrap().remove("nonce");
                c
            },
            IdTokenError::NonceMismatch,
        ),
    ];
    for (claims, error) in cases {
        assert_eq!(
            check(&sign("key-a", "key-a", &claims)).unwrap_err(),
            error,
            "{claims}"
        );
    }
    // Within the minute of leeway, an expiry is still accepted.
    assert!(
        check(&sign(
            "key-a",
            "key-a",
            &with(claims("n-1"), "exp", json!(NOW - 30))
        ))
        .is_ok()
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    // Signed with key B but claiming to be key A.
    let forged = sign("key-b", "key-a", &claims("n-1"));
    assert_eq!(check(&forged).unwrap_err(), IdTokenError::BadSignature);
    // A tampered payload under a genuine signature.
    let genuine = sign("key-a", "key-a", &claims("n-1"));
    let parts: Vec<&str> = genuine.split('.').collect();
    let payload = b64(with(claims("n-1"), "sub", json!("admin"))
        .to_string()
        .as_bytes());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(check(&tampered).unwrap_err(), IdTokenError::BadSignature);
}

#[test]
fn alg_none_and_hmac_keyed_with_the_public_key_are_refused() {
    let payload = b64(claims("n-1").to_string().as_bytes());
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","kid":"key-a"}"#));
    assert_eq!(
        check(&none).unwrap_err(),
        IdTokenError::AlgorithmRefused("none".into())
    );
    // The classic confusion: HS256 with the RSA public key as the HMAC secret.
    let public_pem = fixture("key-a.pub.pem");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-a".into());
    let hmac = jsonwebtoken::encode(
        &header,
        &claims("n-1"),
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        check(&hmac).unwrap_err(),
        IdTokenError::AlgorithmRefused("HS256".into())
    );
    assert!(matches!(
        check("not-a-jwt").unwrap_err(),
        IdTokenError::Malformed(_)
    ));
}

#[test]
fn keys_are_chosen_by_id_and_encryption_keys_are_skipped() {
    let keys = vec![jwk("key-a"), jwk("key-b")];
    assert_eq!(
        id_token::select_key(&keys, Some("key-b"))
            .unwrap()
            .common
            .key_id
            .as_deref(),
        Some("key-b")
    );
    assert!(id_token::select_key(&keys, Some("key-c")).is_none());
    // Without a kid, only an unambiguous key set will do.
    assert!(id_token::select_key(&keys, None).is_none());
    assert!(id_token::select_key(&keys[..1], None).is_some());
    let doc = json!({ "keys": [
        { "kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB" },
        { "kty": "unknown-type", "kid": "odd" },
        serde_json::from_str::<Value>(&fixture("key-a.jwk.json")).unwrap(),
    ]});
    let parsed = id_token::parse_jwks(doc.to_string().as_bytes()).unwrap();
    assert!(id_token::select_key(&parsed, Some("enc")).is_none());
    assert!(id_token::select_key(&parsed, Some("key-a")).is_some());
}

#[tokio::test]
async fn a_known_person_signs_in_and_is_bound_to_their_subject() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        let reply = round_trip(&app, &idp, "next=%2Fapis%2Fpet-store", |idp, out| {
            idp.claims(out, "sub-sam", "Sam.Taylor@example.com")
        })
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", db.backend);
        assert_eq!(reply.location(), "/apis/pet-store");
        let session = reply.cookie("gatehouse_session").expect("session cookie");
        // The sign-in cookie is cleared.
        assert!(
            reply
                .set_cookies()
                .iter()
                .any(|c| c.starts_with("gatehouse_login=;") && c.contains("Max-Age=0"))
        );
        let me = send(
            &app,
            post_form("/api/me", String::new(), SAME_ORIGIN, Some(&session)),
        )
        .await;
        assert!(me.body.contains("sam.taylor@example.com"), "{}", me.body);

        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let (issuer, subject, name, department): (String, String, String, String) = sqlx::query_as(
            "SELECT oidc_issuer, oidc_subject, name, department FROM people WHERE id = $1",
        )
        .bind(sam)
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            (issuer.as_str(), subject.as_str()),
            (idp.issuer.as_str(), "sub-sam")
        );
        assert_eq!(
            (name.as_str(), department.as_str()),
            ("Signed In Name", "Research")
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in'"
            )
            .await,
            1
        );

        // Next time the subject alone finds them, even when the email claim changed.
        let reply = round_trip(&app, &idp, "", |idp, out| {
            idp.claims(out, "sub-sam", "sam@new-domain.example")
        })
        .await;
        assert_eq!(reply.location(), "/");
        assert!(reply.cookie("gatehouse_session").is_some());
    }
}

#[tokio::test]
async fn state_mismatch_replay_and_a_missing_sign_in_cookie_are_refused() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);

        // State mismatch: the answer belongs to another sign-in.
        let out = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(&out, idp.claims(&out, "sub-sam", "sam.taylor@example.com"));
        let reply = callback(
            &app,
            &format!("code={code}&state=forged"),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "state");
        // …and the browser's own sign-in is left to finish: an answer forged into the browser
        // (a link to the callback with another state) does not cancel it, nor its cookie.
        assert!(
            reply
                .set_cookies()
                .iter()
                .all(|c| !c.starts_with(LOGIN_COOKIE)),
            "{:?}",
            reply.set_cookies()
        );
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert!(
            reply.cookie("gatehouse_session").is_some(),
            "{}",
            reply.location()
        );

        // Replay: a completed callback sent again.
        let out = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(&out, idp.claims(&out, "sub-sam", "sam.taylor@example.com"));
        let query = format!("code={code}&state={}", out.state);
        let first = callback(&app, &query, Some(&out.cookie)).await;
        assert!(first.cookie("gatehouse_session").is_some());
        assert_refused(&callback(&app, &query, Some(&out.cookie)).await, "expired");

        // No sign-in cookie: another browser, or no PKCE verifier to send. The provider is
        // never asked.
        let out = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(&out, idp.claims(&out, "sub-sam", "sam.taylor@example.com"));
        let reply = callback(&app, &format!("code={code}&state={}", out.state), None).await;
        assert_refused(&reply, "expired");
        assert!(!idp.state.lock().unwrap().used.contains(&code));

        // A foreign sign-in cookie of the right shape.
        let out = begin(&app, "").await.ok().unwrap();
        let reply = callback(
            &app,
            &format!("code=x&state={}", out.state),
            Some(&format!("{LOGIN_COOKIE}={}", "ab".repeat(32))),
        )
        .await;
        assert_refused(&reply, "expired");

        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM sessions").await,
            2,
            "only the two good sign-ins made sessions"
        );
        assert!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in_failed'"
            )
            .await
                >= 4
        );
    }
}

#[tokio::test]
async fn a_sign_in_left_at_the_provider_for_over_ten_minutes_is_refused() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let state = oidc_state(&db, &idp.issuer, &[]);
        let clock = state.clock.clone();
        let app = router(state);
        let out = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(&out, idp.claims(&out, "sub-sam", "sam.taylor@example.com"));
        clock.advance(601);
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "expired");
    }
}

#[tokio::test]
async fn a_sign_in_cookie_is_bound_to_its_pkce_challenge() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        // Two sign-ins in flight; the code was issued for the first one's challenge, but the
        // browser comes back with the second one's cookie and state. The verifier the app sends
        // is the second's, so the provider refuses the code.
        let first = begin(&app, "").await.ok().unwrap();
        let second = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(
            &first,
            idp.claims(&first, "sub-sam", "sam.taylor@example.com"),
        );
        let reply = callback(
            &app,
            &format!("code={code}&state={}", second.state),
            Some(&second.cookie),
        )
        .await;
        assert_refused(&reply, "token");
    }
}

#[tokio::test]
async fn denial_provider_errors_and_an_unreachable_provider_end_on_the_sign_in_page() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        let out = begin(&app, "next=%2Fme").await.ok().unwrap();
        let reply = callback(
            &app,
            &format!(
                "error=access_denied&error_description=User+cancelled&state={}",
                out.state
            ),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "denied");
        assert_eq!(reply.location(), "/sign-in?error=denied&next=%2Fme");

        let out = begin(&app, "").await.ok().unwrap();
        let reply = callback(
            &app,
            &format!("error=server_error&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "provider");

        // A provider that is down: nothing listens on the issuer's port.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let app = oidc_app(&db, &dead, &[]);
        let reply = begin(&app, "").await.err().expect("refused");
        assert_refused(&reply, "provider");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions").await, 0);
    }
}

/// A change to an otherwise good ID token's claims.
type Tweak = Box<dyn Fn(Value) -> Value>;

#[tokio::test]
async fn bad_id_tokens_from_the_provider_make_no_session() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        let tweaks: Vec<(&str, Tweak)> = vec![
            (
                "wrong issuer",
                Box::new(|c| with(c, "iss", json!("https://evil.example"))),
            ),
            (
                "wrong audience",
                Box::new(|c| with(c, "aud", json!("other-client"))),
            ),
            ("expired", Box::new(|c| with(c, "exp", json!(NOW - 3600)))),
            (
                "nonce",
                Box::new(|c| with(c, "nonce", json!("someone-elses-nonce"))),
            ),
        ];
        for (what, tweak) in tweaks {
            let out = begin(&app, "").await.ok().unwrap();
            let code = idp.issue(
                &out,
                tweak(idp.claims(&out, "sub-sam", "sam.taylor@example.com")),
            );
            let reply = callback(
                &app,
                &format!("code={code}&state={}", out.state),
                Some(&out.cookie),
            )
            .await;
            assert_eq!(reply.status, StatusCode::SEE_OTHER, "{what}");
            assert_refused(&reply, "token");
        }
        // Signed by a key the provider never published (and still does not after a refetch).
        idp.state.lock().unwrap().signing_key = "key-b".into();
        let reply = round_trip(&app, &idp, "", |idp, out| {
            idp.claims(out, "sub-sam", "sam.taylor@example.com")
        })
        .await;
        assert_refused(&reply, "token");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions").await, 0);
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let subject: Option<String> =
            sqlx::query_scalar("SELECT oidc_subject FROM people WHERE id = $1")
                .bind(sam)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        assert_eq!(subject, None, "nobody was bound by a bad token");
    }
}

#[tokio::test]
async fn a_rotated_signing_key_is_picked_up_from_the_provider() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let state = oidc_state(&db, &idp.issuer, &[]);
        let clock = state.clock.clone();
        let app = router(state);
        let sign_in = |out: &Outbound| {
            let code = idp.issue(out, idp.claims(out, "sub-sam", "sam.taylor@example.com"));
            format!("code={code}&state={}", out.state)
        };
        let out = begin(&app, "").await.ok().unwrap();
        let reply = callback(&app, &sign_in(&out), Some(&out.cookie)).await;
        assert!(reply.cookie("gatehouse_session").is_some());
        assert_eq!(idp.state.lock().unwrap().jwks_fetches, 1);

        // The provider rotates: it now signs with key B and publishes both.
        {
            let mut s = idp.state.lock().unwrap();
            s.signing_key = "key-b".into();
            s.published = vec!["key-a".into(), "key-b".into()];
        }
        // Unknown key ids trigger a refetch at most every 30 s, so forged ids cannot make us
        // hammer the provider.
        let out = begin(&app, "").await.ok().unwrap();
        let reply = callback(&app, &sign_in(&out), Some(&out.cookie)).await;
        assert_refused(&reply, "token");
        clock.advance(31);
        let out = begin(&app, "").await.ok().unwrap();
        let reply = callback(&app, &sign_in(&out), Some(&out.cookie)).await;
        assert!(
            reply.cookie("gatehouse_session").is_some(),
            "{}",
            reply.location()
        );
        assert_eq!(idp.state.lock().unwrap().jwks_fetches, 2);
    }
}

#[tokio::test]
async fn unknown_people_are_refused_unless_their_domain_is_an_employee_domain() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        let reply = round_trip(&app, &idp, "", |idp, out| {
            idp.claims(out, "sub-new", "new.hire@example.com")
        })
        .await;
        assert_refused(&reply, "unknown");

        let app = oidc_app(
            &db,
            &idp.issuer,
            &[("GATEHOUSE_OIDC_EMPLOYEE_DOMAINS", "example.com")],
        );
        let out = begin(&app, "").await.ok().unwrap();
        let mut claims = idp.claims(&out, "sub-new", "new.hire@example.com");
        claims["manager_email"] = json!("morgan.lee@example.com");
        let code = idp.issue(&out, claims);
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert!(
            reply.cookie("gatehouse_session").is_some(),
            "{}",
            reply.location()
        );
        let (kind, manager): (String, String) = sqlx::query_as(
            "SELECT p.kind, m.email FROM people p JOIN people m ON m.id = p.manager_id
             WHERE p.email = 'new.hire@example.com'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            (kind.as_str(), manager.as_str()),
            ("employee", "morgan.lee@example.com")
        );

        // An unverified email never binds or creates anyone.
        let out = begin(&app, "").await.ok().unwrap();
        let mut claims = idp.claims(&out, "sub-other", "casey.novak@example.com");
        claims["email_verified"] = json!(false);
        let code = idp.issue(&out, claims);
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "unverified");
    }
}

#[tokio::test]
async fn a_deactivated_person_or_a_contractor_past_the_end_date_cannot_sign_in() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        sqlx::query("UPDATE people SET deactivated_at = $1 WHERE email = 'sam.taylor@example.com'")
            .bind(NOW - 10)
            .execute(db.store.pool())
            .await
            .unwrap();
        sqlx::query(
            "UPDATE people SET contract_ends_at = $1 WHERE email = 'dana.fox@northwind.example'",
        )
        .bind(NOW - 10)
        .execute(db.store.pool())
        .await
        .unwrap();
        for (sub, email) in [
            ("sub-sam", "sam.taylor@example.com"),
            ("sub-dana", "dana.fox@northwind.example"),
        ] {
            let out = begin(&app, "").await.ok().unwrap();
            let code = idp.issue(&out, idp.claims(&out, sub, email));
            let reply = callback(
                &app,
                &format!("code={code}&state={}", out.state),
                Some(&out.cookie),
            )
            .await;
            assert_refused(&reply, "inactive");
        }
    }
}

#[tokio::test]
async fn the_sign_in_page_offers_the_provider_and_explains_a_refusal() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        let page = send(&app, get_req("/sign-in?error=denied", None)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Sign in with Acme SSO"), "{}", page.body);
        assert!(page.body.contains("cancelled at the identity provider"));
        assert!(page.body.contains(r#"action="/auth/oidc/start""#));
    }
}
