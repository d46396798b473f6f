//! Contractor invitations: created by employees within the limits, accepted once through the
//! identity provider or with a local password, revoked, extended and ended by the people
//! involved only.

mod common;

use axum::http::StatusCode;
use common::idp::*;
use common::web::{SAME_ORIGIN, post_form, send};
use common::{NOW, TestStore, actor, count, person_id, seeded_stores};
use gatehouse::model::InvitationStatus;
use gatehouse::server::authz;
use gatehouse::server::error::ServiceError;
use gatehouse::server::services::invitations::{self, NewInvitation};

const MAX_DAYS: u32 = 180;
const ORIGIN: &str = "http://127.0.0.1:3000";

fn new(email: &str, ends_on: &str) -> NewInvitation {
    NewInvitation {
        email: email.into(),
        company: "Initech".into(),
        ends_on: ends_on.into(),
        sponsor_email: None,
    }
}

/// Invites as the named employee; returns (invitation id, token).
async fn invite(db: &TestStore, inviter: &str, input: NewInvitation) -> (i64, String) {
    let who = actor(&db.store, inviter).await;
    let cap = authz::invite_contractors(&who).expect("employees may invite");
    let created = invitations::create(&db.store, &who, &cap, &input, MAX_DAYS, ORIGIN, NOW)
        .await
        .unwrap();
    let token = created
        .link
        .strip_prefix("http://127.0.0.1:3000/invitations/")
        .expect("a link to the invitation page")
        .to_owned();
    assert_eq!(token.len(), 64);
    (created.invitation.id, token)
}

#[tokio::test]
async fn a_contractor_accepts_through_the_identity_provider_once() {
    for db in seeded_stores().await {
        let (id, token) = invite(
            &db,
            "sam.taylor@example.com",
            new("Pat@Initech.example", "2027-01-31"),
        )
        .await;
        // Only the hash is stored.
        let stored: String =
            sqlx::query_scalar("SELECT token_hash FROM contractor_invitations WHERE id = $1")
                .bind(id)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        assert_ne!(stored, token);

        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        let out = begin(&app, &format!("invitation={token}"))
            .await
            .ok()
            .unwrap();
        let code = idp.issue(&out, idp.claims(&out, "guest:pat", "pat@initech.example"));
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
        let (kind, company, ends, sponsor): (String, String, i64, String) = sqlx::query_as(
            "SELECT p.kind, p.company, p.contract_ends_at, s.email FROM people p
             JOIN people s ON s.id = p.sponsor_id WHERE p.email = 'pat@initech.example'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(kind, "contractor");
        assert_eq!(company, "Initech");
        assert_eq!(sponsor, "sam.taylor@example.com");
        // The end of 2027-01-31, UTC.
        assert_eq!(ends, 1_801_440_000);

        // The link is used up.
        let reply = begin(&app, &format!("invitation={token}"))
            .await
            .err()
            .unwrap();
        assert_refused(&reply, "invitation");
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let list = invitations::list(&db.store, &sam, NOW).await.unwrap();
        assert_eq!(list[0].status, InvitationStatus::Accepted);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation_accepted'"
            )
            .await,
            1
        );
    }
}

#[tokio::test]
async fn a_forwarded_expired_or_revoked_link_gets_nobody_in() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);

        // Forwarded: someone else signs in with it.
        let (_, token) = invite(
            &db,
            "sam.taylor@example.com",
            new("pat@initech.example", "2027-01-31"),
        )
        .await;
        let out = begin(&app, &format!("invitation={token}"))
            .await
            .ok()
            .unwrap();
        let code = idp.issue(
            &out,
            idp.claims(&out, "guest:mallory", "mallory@evil.example"),
        );
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "invitation-email");

        // Revoked.
        let (id, token) = invite(
            &db,
            "sam.taylor@example.com",
            new("quinn@initech.example", "2027-01-31"),
        )
        .await;
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        invitations::revoke(&db.store, &sam, id, NOW).await.unwrap();
        assert_refused(
            &begin(&app, &format!("invitation={token}"))
                .await
                .err()
                .unwrap(),
            "invitation",
        );
        assert!(matches!(
            invitations::preview(&db.store, &token, None, false, NOW).await,
            Err(ServiceError::Invalid(_))
        ));

        // Garbage and unknown tokens.
        for bad in ["nope", &"0".repeat(64), "<script>"] {
            assert!(matches!(
                invitations::preview(&db.store, bad, None, false, NOW).await,
                Err(ServiceError::Invalid(_))
            ));
        }
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM people WHERE kind = 'contractor'").await,
            2,
            "only the two demo contractors exist"
        );
    }
}

#[tokio::test]
async fn a_link_works_for_seven_days_only() {
    for db in seeded_stores().await {
        let (_, token) = invite(
            &db,
            "sam.taylor@example.com",
            new("pat@initech.example", "2027-01-31"),
        )
        .await;
        let later = NOW + 7 * 86_400;
        assert!(
            invitations::preview(&db.store, &token, None, false, later - 1)
                .await
                .is_ok()
        );
        assert!(
            invitations::preview(&db.store, &token, None, false, later)
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn bad_invitations_are_refused_and_change_nothing() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let cap = authz::invite_contractors(&sam).unwrap();
        let cases = [
            (new("not-an-email", "2027-01-31"), "not an email"),
            (new("a@b.example", "2026-11-27"), "in the past"),
            (new("a@b.example", "2027-05-28"), "at most 180 days"),
            (new("a@b.example", "2027-02-30"), "not a date"),
            (
                new("morgan.lee@example.com", "2027-01-31"),
                "belongs to an employee",
            ),
            (
                new("dana.fox@northwind.example", "2027-01-31"),
                "already has access",
            ),
            (
                NewInvitation {
                    company: "  ".into(),
                    ..new("a@b.example", "2027-01-31")
                },
                "company",
            ),
            (
                NewInvitation {
                    sponsor_email: Some("dana.fox@northwind.example".into()),
                    ..new("a@b.example", "2027-01-31")
                },
                "active employee",
            ),
        ];
        for (input, message) in cases {
            let err = invitations::create(&db.store, &sam, &cap, &input, MAX_DAYS, ORIGIN, NOW)
                .await
                .unwrap_err();
            assert!(err.to_string().contains(message), "{}: {err}", input.email);
        }
        // The latest allowed day is fine; a second pending one for the same address is not.
        invite(
            &db,
            "sam.taylor@example.com",
            new("a@b.example", "2027-05-27"),
        )
        .await;
        let err = invitations::create(
            &db.store,
            &sam,
            &cap,
            &new("A@B.example", "2027-01-31"),
            MAX_DAYS,
            ORIGIN,
            NOW,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{err}");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM contractor_invitations").await,
            1
        );

        // Someone an admin deactivated is not brought back by an invitation.
        sqlx::query(
            "UPDATE people SET deactivated_at = $1 WHERE email = 'eli.brooks@contoso.example'",
        )
        .bind(NOW - 60)
        .execute(db.store.pool())
        .await
        .unwrap();
        let err = invitations::create(
            &db.store,
            &sam,
            &cap,
            &new("eli.brooks@contoso.example", "2027-01-31"),
            MAX_DAYS,
            ORIGIN,
            NOW,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("reactivate"), "{err}");

        // Contractors cannot invite at all.
        let dana = actor(&db.store, "dana.fox@northwind.example").await;
        assert!(authz::invite_contractors(&dana).is_none());
        assert!(matches!(
            invitations::list(&db.store, &dana, NOW).await,
            Err(ServiceError::Forbidden)
        ));
    }
}

#[tokio::test]
async fn only_the_inviter_the_sponsor_or_an_admin_manage_an_invitation() {
    for db in seeded_stores().await {
        let input = NewInvitation {
            sponsor_email: Some("jordan.kim@example.com".into()),
            ..new("pat@initech.example", "2027-01-31")
        };
        let (id, _) = invite(&db, "sam.taylor@example.com", input).await;
        let riley = actor(&db.store, "riley.chen@example.com").await;
        // Someone uninvolved learns nothing: not found, not forbidden.
        assert!(matches!(
            invitations::revoke(&db.store, &riley, id, NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            invitations::extend(&db.store, &riley, id, "2027-02-28", MAX_DAYS, NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(
            invitations::list(&db.store, &riley, NOW)
                .await
                .unwrap()
                .is_empty()
        );
        // The sponsor sees and extends it, within the limit.
        let jordan = actor(&db.store, "jordan.kim@example.com").await;
        assert_eq!(
            invitations::list(&db.store, &jordan, NOW)
                .await
                .unwrap()
                .len(),
            1
        );
        let err = invitations::extend(&db.store, &jordan, id, "2028-01-01", MAX_DAYS, NOW)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("at most 180 days"), "{err}");
        let extended = invitations::extend(&db.store, &jordan, id, "2027-02-28", MAX_DAYS, NOW)
            .await
            .unwrap();
        assert_eq!(
            gatehouse::domain::time::format_date(extended.ends_at - 1),
            "2027-02-28"
        );
        // An admin revokes it; revoking twice is a conflict.
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        assert_eq!(
            invitations::revoke(&db.store, &alex, id, NOW)
                .await
                .unwrap()
                .status,
            InvitationStatus::Revoked
        );
        assert!(matches!(
            invitations::revoke(&db.store, &alex, id, NOW).await,
            Err(ServiceError::Conflict(_))
        ));
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action IN ('invitation_created', 'invitation_extended', 'invitation_revoked')"
            )
            .await,
            3
        );
    }
}

#[tokio::test]
async fn ending_an_engagement_stops_sign_in_and_sessions_at_once() {
    for db in seeded_stores().await {
        let idp = start_idp().await;
        let app = oidc_app(&db, &idp.issuer, &[]);
        // Dana (sponsored by Sam) signs in.
        let out = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(
            &out,
            idp.claims(&out, "guest:dana", "dana.fox@northwind.example"),
        );
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        let session = reply.cookie("gatehouse_session").expect("signed in");
        let dana = person_id(&db.store, "dana.fox@northwind.example").await;

        // Not her sponsor: refused.
        let riley = actor(&db.store, "riley.chen@example.com").await;
        assert!(matches!(
            invitations::end_engagement_capability(&db.store, &riley, dana).await,
            Err(ServiceError::Forbidden)
        ));
        // Her sponsor ends it.
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let cap = invitations::end_engagement_capability(&db.store, &sam, dana)
            .await
            .unwrap();
        invitations::end_engagement(&db.store, &sam, &cap, NOW)
            .await
            .unwrap();
        let me = send(
            &app,
            post_form("/api/me", String::new(), SAME_ORIGIN, Some(&session)),
        )
        .await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body, "null", "the old session no longer works");
        let out = begin(&app, "").await.ok().unwrap();
        let code = idp.issue(
            &out,
            idp.claims(&out, "guest:dana", "dana.fox@northwind.example"),
        );
        let reply = callback(
            &app,
            &format!("code={code}&state={}", out.state),
            Some(&out.cookie),
        )
        .await;
        assert_refused(&reply, "inactive");
        assert!(matches!(
            invitations::end_engagement(&db.store, &sam, &cap, NOW).await,
            Err(ServiceError::Conflict(_))
        ));
        // An ended engagement is not revived by moving its end date; it takes a new invitation.
        let (inv, _) = invite(
            &db,
            "sam.taylor@example.com",
            new("pat@initech.example", "2027-01-31"),
        )
        .await;
        sqlx::query(
            "UPDATE contractor_invitations SET accepted_at = $1, accepted_by = $2 WHERE id = $3",
        )
        .bind(NOW)
        .bind(dana)
        .bind(inv)
        .execute(db.store.pool())
        .await
        .unwrap();
        assert!(matches!(
            invitations::extend(&db.store, &sam, inv, "2027-03-01", MAX_DAYS, NOW + 60).await,
            Err(ServiceError::Conflict(_))
        ));
        // Employees have no engagement to end.
        let morgan = person_id(&db.store, "morgan.lee@example.com").await;
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        assert!(matches!(
            invitations::end_engagement_capability(&db.store, &alex, morgan).await,
            Err(ServiceError::NotFound(_))
        ));
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'engagement_ended'"
            )
            .await,
            1
        );
    }
}

#[tokio::test]
async fn with_local_passwords_a_contractor_accepts_and_signs_in_with_a_password() {
    for db in seeded_stores().await {
        let (_, token) = invite(
            &db,
            "sam.taylor@example.com",
            new("pat@initech.example", "2027-01-31"),
        )
        .await;
        let app = oidc_app(
            &db,
            "http://127.0.0.1:9",
            &[("GATEHOUSE_LOCAL_PASSWORDS", "true")],
        );
        let accept = |body: String| post_form("/auth/invitations/accept", body, SAME_ORIGIN, None);

        let reply = send(
            &app,
            accept(format!("token={token}&name=Pat&password=short")),
        )
        .await;
        assert_eq!(
            reply.location(),
            format!("/invitations/{token}?error=weak-password")
        );
        let reply = send(
            &app,
            accept(format!(
                "token={token}&name=+&password=long-enough-password"
            )),
        )
        .await;
        assert_eq!(reply.location(), format!("/invitations/{token}?error=name"));
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM people WHERE email = 'pat@initech.example'"
            )
            .await,
            0
        );

        let reply = send(
            &app,
            accept(format!(
                "token={token}&name=Pat+Doe&password=correct+horse+battery"
            )),
        )
        .await;
        assert!(
            reply.cookie("gatehouse_session").is_some(),
            "{}",
            reply.location()
        );
        let hash: String = sqlx::query_scalar(
            "SELECT password_hash FROM people WHERE email = 'pat@initech.example'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        // Once only.
        let reply = send(
            &app,
            accept(format!(
                "token={token}&name=Pat&password=another+long+password"
            )),
        )
        .await;
        assert_eq!(
            reply.location(),
            format!("/invitations/{token}?error=invitation")
        );

        let sign_in = |password: &str| {
            post_form(
                "/auth/password",
                format!("email=Pat%40initech.example&password={password}&next=%2Fme"),
                SAME_ORIGIN,
                None,
            )
        };
        let reply = send(&app, sign_in("correct+horse+battery")).await;
        assert_eq!(reply.location(), "/me");
        assert!(reply.cookie("gatehouse_session").is_some());
        let reply = send(&app, sign_in("wrong+password+entirely")).await;
        assert_refused(&reply, "password");
        // An employee without a password, and an unknown address, get the same answer.
        let reply = send(
            &app,
            post_form(
                "/auth/password",
                "email=sam.taylor%40example.com&password=whatever+it+is".into(),
                SAME_ORIGIN,
                None,
            ),
        )
        .await;
        assert_refused(&reply, "password");

        // Guessing is slowed down: after ten failures in fifteen minutes, even the right
        // password is refused for a while.
        for _ in 0..9 {
            assert_refused(
                &send(&app, sign_in("wrong+password+entirely")).await,
                "password",
            );
        }
        assert_refused(
            &send(&app, sign_in("correct+horse+battery")).await,
            "throttled",
        );

        // Where the company does not allow passwords, neither route works.
        let strict = oidc_app(&db, "http://127.0.0.1:9", &[]);
        assert_refused(
            &send(&strict, sign_in("correct+horse+battery")).await,
            "disabled",
        );

        // A contractor who becomes an employee signs in through the identity provider from then
        // on: the local password is gone.
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let manage = authz::manage_org(&alex).unwrap();
        let pat = person_id(&db.store, "pat@initech.example").await;
        gatehouse::server::services::admin::set_kind(
            &db.store,
            &alex,
            &manage,
            pat,
            &gatehouse::server::services::admin::KindChange {
                kind: gatehouse::model::PersonKind::Employee,
                sponsor_email: None,
                ends_on: None,
            },
            MAX_DAYS,
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM people WHERE password_hash IS NOT NULL"
            )
            .await,
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_guesses_sent_at_once_are_throttled_as_they_arrive() {
    use gatehouse::model::SignInError;
    use gatehouse::server::services::sign_in::{self, Refusal, THROTTLE_ATTEMPTS};
    for db in seeded_stores().await {
        // Twenty guesses at once: each is counted before its password is checked, so only the
        // first ten are checked at all, however close together they come.
        let guesses = (0..20).map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                sign_in::with_password(
                    &store,
                    "Pat@initech.example",
                    &format!("guess number {i}"),
                    NOW,
                )
                .await
            })
        });
        let mut checked = 0;
        let mut throttled = 0;
        for guess in guesses.collect::<Vec<_>>() {
            match guess.await.unwrap() {
                Err(Refusal::Refused(SignInError::Password)) => checked += 1,
                Err(Refusal::Refused(SignInError::Throttled)) => throttled += 1,
                other => panic!("{}: {other:?}", db.backend),
            }
        }
        assert_eq!(checked, THROTTLE_ATTEMPTS, "{}", db.backend);
        assert_eq!(throttled, 20 - THROTTLE_ATTEMPTS, "{}", db.backend);
        // Once the window has passed, guesses are checked again.
        let later = NOW + sign_in::THROTTLE_WINDOW + 1;
        assert!(matches!(
            sign_in::with_password(&db.store, "pat@initech.example", "one more guess", later).await,
            Err(Refusal::Refused(SignInError::Password))
        ));
    }
}
