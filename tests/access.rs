//! Access requests end to end at the service level, on the demo company and every backend:
//! routing by policy, the stages in order, separation of duties, one decision under concurrent
//! approvals, expiry and reminders on an injected clock, grants and their revocation.

mod common;

use common::{NOW, TestStore, actor, count, person_id, seeded_stores};
use gatehouse::model::{Decision, RequestInput, RequestState, StepState};
use gatehouse::server::error::ServiceError;
use gatehouse::server::services::{access, notify};

const DAY: i64 = 86_400;
const SAM: &str = "sam.taylor@example.com";
const MORGAN: &str = "morgan.lee@example.com";
const PRIYA: &str = "priya.shah@example.com";
const ALEX: &str = "alex.rivera@example.com";
const JORDAN: &str = "jordan.kim@example.com";
const RILEY: &str = "riley.chen@example.com";
const DANA: &str = "dana.fox@northwind.example";
const ELI: &str = "eli.brooks@contoso.example";

fn input(env: &str, scopes: &[&str], days: &str) -> RequestInput {
    RequestInput {
        environment: env.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        justification: "Nightly reconciliation job for the finance team.".into(),
        duration_days: days.into(),
    }
}

async fn submit(
    db: &TestStore,
    who: &str,
    slug: &str,
    input: &RequestInput,
) -> Result<i64, ServiceError> {
    access::submit(&db.store, &actor(&db.store, who).await, slug, input, NOW).await
}

async fn decide(
    db: &TestStore,
    who: &str,
    id: i64,
    position: usize,
    decision: Decision,
    comment: &str,
) -> Result<RequestState, ServiceError> {
    access::decide(
        &db.store,
        &actor(&db.store, who).await,
        id,
        position,
        decision,
        comment,
        NOW,
    )
    .await
}

fn seen(request_id: i64, revision: i64, position: usize) -> access::SeenStage {
    access::SeenStage {
        request_id,
        revision,
        position,
    }
}

async fn rows(db: &TestStore) -> (i64, i64, i64, i64) {
    (
        count(db, "SELECT COUNT(*) FROM access_requests").await,
        count(db, "SELECT COUNT(*) FROM approval_steps").await,
        count(db, "SELECT COUNT(*) FROM grants").await,
        count(db, "SELECT COUNT(*) FROM audit_events").await,
    )
}

/// Adds an employee as an owner of a team, for tests that need more approvers.
async fn add_owner(db: &TestStore, email: &str, team: &str) -> String {
    sqlx::query(
        "INSERT INTO people (email, name, kind, created_at, updated_at) VALUES ($1, $1, 'employee', $2, $2)",
    )
    .bind(email)
    .bind(NOW)
    .execute(db.store.pool())
    .await
    .unwrap();
    let id = person_id(&db.store, email).await;
    sqlx::query(
        "INSERT INTO team_members (team_id, person_id, role, added_at) SELECT id, $1, 'owner', $2 FROM teams WHERE slug = $3",
    )
    .bind(id)
    .bind(NOW)
    .bind(team)
    .execute(db.store.pool())
    .await
    .unwrap();
    email.to_owned()
}

#[tokio::test]
async fn an_employees_high_risk_request_goes_to_the_manager_then_an_api_owner_and_ends_in_a_grant()
{
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.state, RequestState::Pending, "{}", db.backend);
        let who: Vec<&str> = view.stages.iter().map(|s| s.approver.as_str()).collect();
        assert_eq!(who, ["Morgan Lee", "owners of Data"], "{}", db.backend);
        assert_eq!(view.stages[0].state, StepState::Pending);
        assert_eq!(view.stages[1].state, StepState::Waiting);

        // Priya owns the API but the first stage is Morgan's; the second is not open yet.
        assert!(matches!(
            decide(&db, PRIYA, id, 0, Decision::Approve, "").await,
            Err(ServiceError::Forbidden)
        ));
        assert!(matches!(
            decide(&db, PRIYA, id, 1, Decision::Approve, "").await,
            Err(ServiceError::Conflict(m)) if m.contains("not the one awaiting")
        ));
        assert_eq!(
            access::header_counts(&db.store, &actor(&db.store, PRIYA).await, NOW)
                .await
                .unwrap()
                .1,
            0
        );
        // Morgan's header: the stage waiting for them, and their unread notifications.
        let morgan = actor(&db.store, MORGAN).await;
        let (unread, approvals) = access::header_counts(&db.store, &morgan, NOW)
            .await
            .unwrap();
        assert_eq!(approvals, 1, "{}", db.backend);
        assert_eq!(unread, notify::unread(&db.store, &morgan).await.unwrap());
        assert!(
            unread > 0,
            "Morgan was told of the request waiting for them"
        );

        assert_eq!(
            decide(&db, MORGAN, id, 0, Decision::Approve, "Fine by me.")
                .await
                .unwrap(),
            RequestState::Pending
        );
        let inbox = access::inbox(&db.store, &actor(&db.store, PRIYA).await, NOW)
            .await
            .unwrap();
        assert_eq!(inbox.len(), 1, "{}", db.backend);
        assert_eq!(inbox[0].requester.name, "Sam Taylor");
        assert_eq!(
            inbox[0]
                .manager_chain
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["Morgan Lee", "Alex Rivera"]
        );
        assert_eq!(inbox[0].risk, gatehouse::model::Risk::High);
        assert_eq!(
            decide(&db, PRIYA, id, 1, Decision::Approve, "")
                .await
                .unwrap(),
            RequestState::Approved
        );

        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.state, RequestState::Approved);
        let kinds: Vec<&str> = view.timeline.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["submitted", "approved", "approved"]);
        assert_eq!(view.timeline[1].actor.as_deref(), Some("Morgan Lee"));
        assert_eq!(view.timeline[1].comment.as_deref(), Some("Fine by me."));
        let grant_id = view.grant_id.expect("a grant");
        let grants = access::my_grants(&db.store, &actor(&db.store, SAM).await, NOW)
            .await
            .unwrap();
        let grant = grants.iter().find(|g| g.id == grant_id).unwrap();
        assert_eq!(grant.scopes, ["files.write"]);
        assert_eq!(grant.environment, "production");
        assert_eq!(grant.ends_at, NOW + 10 * DAY);
        assert!(grant.active);

        // Everyone involved heard: Morgan and Priya that a stage waited, Sam of each decision.
        let sam = person_id(&db.store, SAM).await;
        let kinds: Vec<String> =
            sqlx::query_scalar("SELECT kind FROM notifications WHERE person_id = $1 ORDER BY id")
                .bind(sam)
                .fetch_all(db.store.pool())
                .await
                .unwrap();
        assert_eq!(kinds, ["stage_approved", "approved"]);
        for approver in [MORGAN, PRIYA] {
            let id = person_id(&db.store, approver).await;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND kind = 'approval_waiting'")
                .bind(id)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
            assert_eq!(n, 1, "{approver} on {}", db.backend);
        }
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_events WHERE action LIKE 'access%' OR action LIKE 'grant%' ORDER BY id",
        )
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            actions,
            [
                "access_requested",
                "access_decided",
                "grant_created",
                "access_decided"
            ]
        );
    }
}

#[tokio::test]
async fn a_contractors_request_goes_to_the_sponsor_then_an_owner_who_rejects_with_a_comment() {
    for db in seeded_stores().await {
        // The default policy lets contractors ask for 30 days at most.
        let over = submit(
            &db,
            DANA,
            "patent-data",
            &input("production", &["datasets.read"], "31"),
        )
        .await;
        assert!(
            matches!(over, Err(ServiceError::Invalid(m)) if m.contains("30 days")),
            "{}",
            db.backend
        );

        let id = submit(
            &db,
            DANA,
            "patent-data",
            &input("production", &["datasets.read"], ""),
        )
        .await
        .unwrap();
        let view = access::get(&db.store, &actor(&db.store, DANA).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.duration_days, 30, "the policy's default");
        assert_eq!(
            view.sponsor.as_ref().map(|p| p.name.as_str()),
            Some("Sam Taylor")
        );
        let who: Vec<&str> = view.stages.iter().map(|s| s.approver.as_str()).collect();
        assert_eq!(who, ["Sam Taylor", "owners of Data"]);

        // A contractor never approves, not even a stage of someone else's request they could see.
        assert!(
            decide(&db, DANA, id, 0, Decision::Approve, "")
                .await
                .is_err()
        );
        decide(&db, SAM, id, 0, Decision::Approve, "")
            .await
            .unwrap();
        let without_reason = decide(&db, PRIYA, id, 1, Decision::Reject, "  ").await;
        assert!(matches!(without_reason, Err(ServiceError::Invalid(_))));
        assert_eq!(
            decide(
                &db,
                PRIYA,
                id,
                1,
                Decision::Reject,
                "Contractors get the sandbox, not production."
            )
            .await
            .unwrap(),
            RequestState::Rejected
        );
        let view = access::get(&db.store, &actor(&db.store, DANA).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.state, RequestState::Rejected);
        assert_eq!(
            view.stages[1].comment.as_deref(),
            Some("Contractors get the sandbox, not production.")
        );
        assert_eq!(
            view.stages[1].decided_by.as_ref().unwrap().name,
            "Priya Shah"
        );
        assert!(view.grant_id.is_none());

        // A decided request never changes again.
        let before = rows(&db).await;
        assert!(matches!(
            decide(&db, PRIYA, id, 1, Decision::Approve, "").await,
            Err(ServiceError::Conflict(_))
        ));
        assert!(matches!(
            access::cancel(&db.store, &actor(&db.store, DANA).await, id, NOW).await,
            Err(ServiceError::Conflict(_))
        ));
        assert_eq!(rows(&db).await, before);
    }
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason_and_change_nothing() {
    for db in seeded_stores().await {
        sqlx::query("UPDATE apis SET lifecycle = 'retired' WHERE slug = 'rides'")
            .execute(db.store.pool())
            .await
            .unwrap();
        let before = rows(&db).await;
        let cases: Vec<(&str, RequestInput, &str)> = vec![
            (
                "files",
                input("production", &["pets.write"], "10"),
                "no scope 'pets.write'",
            ),
            (
                "files",
                input("production", &[], "10"),
                "at least one scope",
            ),
            (
                "files",
                input("moon", &["files.read"], "10"),
                "no environment 'moon'",
            ),
            (
                "files",
                input("production", &["files.read"], "9999"),
                "longest this policy allows",
            ),
            (
                "files",
                input("production", &["files.read"], "ten"),
                "whole number",
            ),
            (
                "files",
                input("production", &["files.read"], "0"),
                "whole number",
            ),
            (
                "files",
                RequestInput {
                    justification: "  ".into(),
                    ..input("production", &["files.read"], "10")
                },
                "Say why",
            ),
            (
                "files",
                RequestInput {
                    justification: "because".into(),
                    ..input("production", &["files.read"], "10")
                },
                "at least 20 characters",
            ),
            (
                "rides",
                input("production", &["rides.read"], "10"),
                "retired",
            ),
        ];
        for (slug, bad, expected) in cases {
            let err = submit(&db, SAM, slug, &bad).await.expect_err(expected);
            let message = gatehouse::model::AppError::from(err).to_string();
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?} ({})",
                db.backend
            );
        }
        // A hidden API does not exist for those who may not see it.
        assert!(matches!(
            submit(
                &db,
                SAM,
                "identity",
                &input("production", &["openid"], "10")
            )
            .await,
            Err(ServiceError::NotFound(_))
        ));
        assert_eq!(rows(&db).await, before, "{}", db.backend);

        // A second pending request for the same API and environment is refused, pointing at the first.
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.read"], "10"),
        )
        .await
        .unwrap();
        let again = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await;
        assert!(
            matches!(again, Err(ServiceError::Conflict(m)) if m.contains(&format!("/requests/{id}")))
        );
    }
}

#[tokio::test]
async fn asking_for_what_one_holds_points_to_the_grant_and_the_form_starts_from_it() {
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "patent-data",
            &input("production", &["datasets.read"], "60"),
        )
        .await
        .unwrap();
        decide(&db, MORGAN, id, 0, Decision::Approve, "")
            .await
            .unwrap();
        let held = submit(
            &db,
            SAM,
            "patent-data",
            &input("production", &["datasets.read"], "30"),
        )
        .await;
        assert!(
            matches!(held, Err(ServiceError::Conflict(m)) if m.contains("already hold")),
            "{}",
            db.backend
        );

        let form =
            access::request_form(&db.store, &actor(&db.store, SAM).await, "patent-data", NOW)
                .await
                .unwrap();
        assert_eq!(form.held.len(), 1);
        assert_eq!(form.prefill.scopes, ["datasets.read"]);
        assert_eq!(form.prefill.duration_days, "60");
        assert!(form.prefill.justification.starts_with("Nightly"));
        // Asking again for longer than the grant runs is a renewal, and allowed.
        submit(
            &db,
            SAM,
            "patent-data",
            &input("production", &["datasets.read"], "90"),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_missing_or_inactive_manager_hands_the_stage_up_the_line_or_to_the_owning_team() {
    for db in seeded_stores().await {
        // Alex has no manager: the manager stage goes to the owners of Data, who own Files.
        let id = submit(
            &db,
            ALEX,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        let view = access::get(&db.store, &actor(&db.store, ALEX).await, id, NOW)
            .await
            .unwrap();
        let who: Vec<&str> = view.stages.iter().map(|s| s.approver.as_str()).collect();
        assert_eq!(who, ["owners of Data", "owners of Data"], "{}", db.backend);
        // One person does not approve two stages of one request.
        decide(&db, PRIYA, id, 0, Decision::Approve, "")
            .await
            .unwrap();
        assert!(matches!(
            decide(&db, PRIYA, id, 1, Decision::Approve, "").await,
            Err(ServiceError::Conflict(m)) if m.contains("another approver")
        ));
        let other = add_owner(&db, "second.owner@example.com", "data").await;
        assert_eq!(
            decide(&db, &other, id, 1, Decision::Approve, "")
                .await
                .unwrap(),
            RequestState::Approved
        );

        // Morgan deactivated: Sam's manager stage goes to Morgan's manager, Alex.
        sqlx::query("UPDATE people SET deactivated_at = $1 WHERE email = $2")
            .bind(NOW)
            .bind(MORGAN)
            .execute(db.store.pool())
            .await
            .unwrap();
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.read"], "10"),
        )
        .await
        .unwrap();
        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.stages[0].approver, "Alex Rivera");
    }
}

#[tokio::test]
async fn nobody_reaches_anothers_request_and_nobody_approves_their_own() {
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        let before = rows(&db).await;
        let jordan = actor(&db.store, JORDAN).await;
        assert!(matches!(
            access::get(&db.store, &jordan, id, NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            access::cancel(&db.store, &jordan, id, NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            access::decide(&db.store, &jordan, id, 0, Decision::Approve, "", NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            access::comment(&db.store, &jordan, id, "hello", NOW).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            access::resubmit(
                &db.store,
                &jordan,
                id,
                &input("production", &["files.read"], "3"),
                NOW
            )
            .await,
            Err(ServiceError::NotFound(_))
        ));
        // The approver may look, but only the requester cancels.
        let morgan = actor(&db.store, MORGAN).await;
        assert!(access::get(&db.store, &morgan, id, NOW).await.is_ok());
        assert!(matches!(
            access::cancel(&db.store, &morgan, id, NOW).await,
            Err(ServiceError::Forbidden)
        ));
        assert_eq!(rows(&db).await, before, "{}", db.backend);

        // Morgan owns Commerce; when Morgan asks for Pet Store's high-risk scope, Morgan's own
        // stage is never Morgan's to decide, even as an owner.
        let own = submit(
            &db,
            MORGAN,
            "pet-store",
            &input("production", &["write:pets"], "5"),
        )
        .await
        .unwrap();
        decide(&db, ALEX, own, 0, Decision::Approve, "")
            .await
            .unwrap();
        assert!(matches!(
            decide(&db, MORGAN, own, 1, Decision::Approve, "").await,
            Err(ServiceError::Conflict(m)) if m.contains("own request")
        ));
        assert_eq!(
            access::header_counts(&db.store, &morgan, NOW)
                .await
                .unwrap()
                .1,
            1,
            "only Sam's request"
        );

        // Sam cancels; the cancelled request stays cancelled.
        access::cancel(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert!(matches!(
            decide(&db, MORGAN, id, 0, Decision::Approve, "").await,
            Err(ServiceError::Conflict(_))
        ));
    }
}

#[tokio::test]
async fn many_simultaneous_approvals_of_one_stage_make_one_decision_and_one_grant() {
    for db in seeded_stores().await {
        // Alex's manager stage goes to the owners of Data; give the team eight owners.
        let mut owners = vec![PRIYA.to_owned()];
        for i in 0..7 {
            owners.push(add_owner(&db, &format!("owner{i}@example.com"), "data").await);
        }
        sqlx::query("INSERT INTO policies (api_id, document, updated_at) SELECT id, $1, $2 FROM apis WHERE slug = 'files'")
            .bind(r#"{"rules": [{"stages": ["api_owner"], "max_days": 30}]}"#)
            .bind(NOW)
            .execute(db.store.pool())
            .await
            .unwrap();
        let id = submit(
            &db,
            ALEX,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for (i, owner) in owners.iter().chain(owners.iter()).enumerate() {
            let store = db.store.clone();
            let who = actor(&db.store, owner).await;
            let decision = if i % 3 == 2 {
                Decision::Reject
            } else {
                Decision::Approve
            };
            tasks.push(tokio::spawn(async move {
                access::decide(&store, &who, id, 0, decision, "at once", NOW).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(ServiceError::Conflict(_)) => {}
                Err(e) => panic!("unexpected {e:?} on {}", db.backend),
            }
        }
        assert_eq!(ok, 1, "{}", db.backend);
        let decided: i64 = count(
            &db,
            "SELECT COUNT(*) FROM approval_steps WHERE decided_by IS NOT NULL",
        )
        .await;
        assert_eq!(decided, 1);
        let state: String = sqlx::query_scalar("SELECT state FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        let grants = count(&db, "SELECT COUNT(*) FROM grants").await;
        assert_eq!(
            grants,
            i64::from(state == "approved"),
            "{state} on {}",
            db.backend
        );
        assert!(matches!(
            gatehouse::server::services::audit::verify(&db.store)
                .await
                .unwrap(),
            gatehouse::server::services::audit::ChainReport::Intact { .. }
        ));
    }
}

#[tokio::test]
async fn pending_requests_are_reminded_then_expire_on_an_injected_clock() {
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.read"], "10"),
        )
        .await
        .unwrap();
        let morgan = person_id(&db.store, MORGAN).await;
        // Defaults: expiry after 14 days, reminder 2 days before.
        let r = access::run_due(&db.store, NOW + 11 * DAY).await.unwrap();
        assert_eq!((r.expired, r.reminded), (0, 0), "{}", db.backend);
        let r = access::run_due(&db.store, NOW + 12 * DAY).await.unwrap();
        assert_eq!((r.expired, r.reminded), (0, 1));
        let r = access::run_due(&db.store, NOW + 12 * DAY + 60)
            .await
            .unwrap();
        assert_eq!(r.reminded, 0, "a reminder goes once");
        let reminders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND kind = 'approval_reminder'")
            .bind(morgan)
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(reminders, 1);
        let r = access::run_due(&db.store, NOW + 14 * DAY).await.unwrap();
        assert_eq!(r.expired, 1);
        assert_eq!(
            access::run_due(&db.store, NOW + 15 * DAY)
                .await
                .unwrap()
                .expired,
            0
        );
        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.state, RequestState::Expired);
        assert_eq!(view.timeline.last().unwrap().kind, "expired");
        assert!(matches!(
            decide(&db, MORGAN, id, 0, Decision::Approve, "").await,
            Err(ServiceError::Conflict(_))
        ));
    }
}

#[tokio::test]
async fn grant_holders_hear_7_days_and_1_day_before_the_end_and_contractor_grants_end_with_the_contract()
 {
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "patent-data",
            &input("production", &["datasets.read"], "30"),
        )
        .await
        .unwrap();
        decide(&db, MORGAN, id, 0, Decision::Approve, "")
            .await
            .unwrap();
        let ends = NOW + 30 * DAY;
        let notices = |r: access::DueReport| r.grant_notices;
        assert_eq!(
            notices(access::run_due(&db.store, ends - 8 * DAY).await.unwrap()),
            0,
            "{}",
            db.backend
        );
        assert_eq!(
            notices(access::run_due(&db.store, ends - 7 * DAY).await.unwrap()),
            1
        );
        assert_eq!(
            notices(access::run_due(&db.store, ends - 6 * DAY).await.unwrap()),
            0
        );
        assert_eq!(
            notices(access::run_due(&db.store, ends - DAY).await.unwrap()),
            1
        );
        assert_eq!(
            notices(access::run_due(&db.store, ends - 60).await.unwrap()),
            0
        );
        let sam = actor(&db.store, SAM).await;
        assert!(access::my_grants(&db.store, &sam, ends - 1).await.unwrap()[0].active);
        assert!(!access::my_grants(&db.store, &sam, ends).await.unwrap()[0].active);

        // Eli's contract ends in 30 days: a grant asked for 30 days from day 10 ends with it.
        let id = submit(
            &db,
            ELI,
            "patent-data",
            &input("production", &["datasets.read"], "30"),
        )
        .await
        .unwrap();
        let later = NOW + 10 * DAY;
        access::decide(
            &db.store,
            &actor(&db.store, RILEY).await,
            id,
            0,
            Decision::Approve,
            "",
            later,
        )
        .await
        .unwrap();
        access::decide(
            &db.store,
            &actor(&db.store, PRIYA).await,
            id,
            1,
            Decision::Approve,
            "",
            later,
        )
        .await
        .unwrap();
        let eli = actor(&db.store, ELI).await;
        let grant = &access::my_grants(&db.store, &eli, later).await.unwrap()[0];
        assert_eq!(grant.ends_at, NOW + 30 * DAY, "{}", db.backend);

        // The engagement is cut short to day 20: the grant now ends then, and its holder hears
        // 7 days before that, not before the grant's own end.
        sqlx::query("UPDATE people SET contract_ends_at = $1 WHERE id = $2")
            .bind(NOW + 20 * DAY)
            .bind(eli.person_id)
            .execute(db.store.pool())
            .await
            .unwrap();
        assert_eq!(
            notices(access::run_due(&db.store, NOW + 12 * DAY).await.unwrap()),
            0,
            "{}",
            db.backend
        );
        assert_eq!(
            notices(access::run_due(&db.store, NOW + 13 * DAY).await.unwrap()),
            1,
            "{}",
            db.backend
        );
        assert_eq!(
            notices(access::run_due(&db.store, NOW + 19 * DAY).await.unwrap()),
            1,
            "{}: a day before the contract's end",
            db.backend
        );
    }
}

#[tokio::test]
async fn sent_back_for_changes_the_requester_resubmits_and_the_stages_start_again() {
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        decide(&db, MORGAN, id, 0, Decision::Approve, "")
            .await
            .unwrap();
        decide(
            &db,
            PRIYA,
            id,
            1,
            Decision::RequestChanges,
            "Write is too much; ask for read.",
        )
        .await
        .unwrap();
        let sam = actor(&db.store, SAM).await;
        let view = access::get(&db.store, &sam, id, NOW).await.unwrap();
        assert!(view.awaiting_changes && view.can_resubmit, "{}", db.backend);
        assert_eq!(
            access::header_counts(&db.store, &actor(&db.store, PRIYA).await, NOW)
                .await
                .unwrap()
                .1,
            0
        );

        // The edited request is checked like a new one.
        let bad = access::resubmit(
            &db.store,
            &sam,
            id,
            &input("production", &["nope"], "10"),
            NOW,
        )
        .await;
        assert!(matches!(bad, Err(ServiceError::Invalid(_))));
        access::resubmit(
            &db.store,
            &sam,
            id,
            &input("production", &["files.read"], "10"),
            NOW + 60,
        )
        .await
        .unwrap();
        let view = access::get(&db.store, &sam, id, NOW).await.unwrap();
        assert_eq!(view.revision, 2);
        assert_eq!(view.stages.len(), 1, "low risk: the manager only");
        assert_eq!(view.stages[0].state, StepState::Pending);
        assert_eq!(
            view.scopes
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["files.read"]
        );
        // Morgan approved revision 1; revision 2 is a new decision, and Morgan may take it.
        assert_eq!(
            decide(&db, MORGAN, id, 0, Decision::Approve, "")
                .await
                .unwrap(),
            RequestState::Approved
        );
        let kinds: Vec<&str> = view.timeline.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["submitted", "approved", "changes_requested", "resubmitted"]
        );
    }
}

#[tokio::test]
async fn a_decision_on_a_revision_since_resubmitted_is_refused_and_changes_nothing() {
    for db in seeded_stores().await {
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        let (morgan, priya, sam) = (
            actor(&db.store, MORGAN).await,
            actor(&db.store, PRIYA).await,
            actor(&db.store, SAM).await,
        );
        access::decide_seen(
            &db.store,
            &morgan,
            seen(id, 1, 0),
            Decision::Approve,
            "",
            NOW,
        )
        .await
        .unwrap();
        access::decide_seen(
            &db.store,
            &priya,
            seen(id, 1, 1),
            Decision::RequestChanges,
            "Ask for a shorter time.",
            NOW,
        )
        .await
        .unwrap();
        // Morgan's inbox showed revision 1 when Sam resubmitted: 30 days now, not 10.
        let morgan_saw = access::get(&db.store, &morgan, id, NOW).await.unwrap();
        assert_eq!(morgan_saw.revision, 1);
        access::resubmit(
            &db.store,
            &sam,
            id,
            &input("production", &["files.read"], "30"),
            NOW + 60,
        )
        .await
        .unwrap();
        let before = count(&db, "SELECT COUNT(*) FROM audit_events").await;
        let stale = access::decide_seen(
            &db.store,
            &morgan,
            seen(id, morgan_saw.revision, 0),
            Decision::Approve,
            "",
            NOW + 120,
        )
        .await;
        match stale {
            Err(ServiceError::Conflict(message)) => assert!(
                message.contains("you read revision 1, it is now at 2"),
                "{}: {message}",
                db.backend
            ),
            other => panic!("{}: a stale approval gave {other:?}", db.backend),
        }
        let bulk = access::bulk_approve(&db.store, &morgan, &[seen(id, 1, 0)], NOW + 120)
            .await
            .unwrap();
        assert!(
            !bulk[0].ok && bulk[0].message.contains("resubmitted after you opened it"),
            "{}: {:?}",
            db.backend,
            bulk[0]
        );
        // Nothing changed: the stage waits, no grant, no event.
        let view = access::get(&db.store, &sam, id, NOW + 120).await.unwrap();
        assert_eq!(view.state, RequestState::Pending, "{}", db.backend);
        assert_eq!(view.stages[0].state, StepState::Pending, "{}", db.backend);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM grants").await, 0);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM audit_events").await,
            before
        );
        // Read again, the same approval goes through.
        assert_eq!(
            access::decide_seen(
                &db.store,
                &morgan,
                seen(id, 2, 0),
                Decision::Approve,
                "",
                NOW + 180
            )
            .await
            .unwrap(),
            RequestState::Approved
        );
    }
}

#[tokio::test]
async fn grants_are_revoked_by_holder_manager_owners_and_admins_only() {
    for db in seeded_stores().await {
        let mut grants = Vec::new();
        for _ in 0..4 {
            // One grant each time: revoke the last to ask again.
            let id = submit(
                &db,
                SAM,
                "patent-data",
                &input("production", &["datasets.read"], "30"),
            )
            .await
            .unwrap();
            decide(&db, MORGAN, id, 0, Decision::Approve, "")
                .await
                .unwrap();
            let g: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
                .bind(id)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
            // Jordan and Riley are unrelated: they cannot even tell it exists.
            for stranger in [JORDAN, RILEY, DANA] {
                let r = access::revoke_grant(
                    &db.store,
                    &actor(&db.store, stranger).await,
                    g,
                    "no",
                    NOW,
                )
                .await;
                assert!(
                    matches!(r, Err(ServiceError::NotFound(_))),
                    "{stranger} on {}",
                    db.backend
                );
            }
            let by = [SAM, MORGAN, PRIYA, ALEX][grants.len()];
            let who = actor(&db.store, by).await;
            if by != SAM {
                let r = access::revoke_grant(&db.store, &who, g, "", NOW).await;
                assert!(
                    matches!(r, Err(ServiceError::Invalid(_))),
                    "a reason is needed from {by}"
                );
            }
            access::revoke_grant(&db.store, &who, g, "Project over.", NOW)
                .await
                .unwrap();
            assert!(matches!(
                access::revoke_grant(&db.store, &who, g, "again", NOW).await,
                Err(ServiceError::Conflict(_))
            ));
            grants.push(g);
        }
        let revoked = count(
            &db,
            "SELECT COUNT(*) FROM grants WHERE revoked_at IS NOT NULL",
        )
        .await;
        assert_eq!(revoked, 4);
        let audited = count(
            &db,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'grant_revoked'",
        )
        .await;
        assert_eq!(audited, 4);
        // The API's owners see who held what, revoked included.
        let seen = access::api_grants(
            &db.store,
            &actor(&db.store, PRIYA).await,
            "patent-data",
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(seen.len(), 4);
        assert!(seen.iter().all(|g| !g.active && !g.can_revoke));
        assert!(matches!(
            access::api_grants(&db.store, &actor(&db.store, SAM).await, "patent-data", NOW).await,
            Err(ServiceError::Forbidden)
        ));
    }
}

#[tokio::test]
async fn a_delegate_decides_the_approvers_personal_stages_for_the_period_only() {
    for db in seeded_stores().await {
        let morgan = actor(&db.store, MORGAN).await;
        let start = gatehouse::domain::time::format_date(NOW);
        let end = gatehouse::domain::time::format_date(NOW + 2 * DAY);
        for (email, from, to) in [
            ("nobody@example.com", start.as_str(), end.as_str()),
            (DANA, start.as_str(), end.as_str()),
            (MORGAN, start.as_str(), end.as_str()),
            (JORDAN, end.as_str(), start.as_str()),
            (JORDAN, "tomorrow", end.as_str()),
        ] {
            assert!(
                matches!(
                    access::add_delegation(&db.store, &morgan, email, from, to, NOW).await,
                    Err(ServiceError::Invalid(_))
                ),
                "{email} {from} {to}"
            );
        }
        access::add_delegation(&db.store, &morgan, JORDAN, &start, &end, NOW)
            .await
            .unwrap();
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.read"], "10"),
        )
        .await
        .unwrap();
        let jordan = actor(&db.store, JORDAN).await;
        let inbox = access::inbox(&db.store, &jordan, NOW).await.unwrap();
        assert_eq!(inbox.len(), 1, "{}", db.backend);
        assert_eq!(inbox[0].on_behalf_of.as_deref(), Some("Morgan Lee"));
        // After the period Jordan no longer may.
        assert!(matches!(
            access::decide(
                &db.store,
                &jordan,
                id,
                0,
                Decision::Approve,
                "",
                NOW + 4 * DAY
            )
            .await,
            Err(ServiceError::NotFound(_) | ServiceError::Forbidden)
        ));
        assert_eq!(
            access::decide(&db.store, &jordan, id, 0, Decision::Approve, "", NOW + 60)
                .await
                .unwrap(),
            RequestState::Approved
        );
    }
}

#[tokio::test]
async fn owners_write_a_policy_that_is_checked_whole_previewed_and_applied() {
    for db in seeded_stores().await {
        let priya = actor(&db.store, PRIYA).await;
        let before = rows(&db).await;
        let bad = access::save_policy(
            &db.store,
            &priya,
            "files",
            Some(r#"{"rules": [{"requester": "any", "approve": "automatic", "max_days": 500}]}"#),
            None,
            NOW,
        )
        .await;
        match bad {
            Err(ServiceError::Invalid(m)) => {
                assert!(m.contains("over the admins' limit"), "{m}");
                assert!(m.contains("automatic approval for contractors"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            access::save_policy(
                &db.store,
                &actor(&db.store, SAM).await,
                "files",
                Some("{}"),
                None,
                NOW
            )
            .await,
            Err(ServiceError::Forbidden)
        ));
        assert_eq!(rows(&db).await, before, "{}", db.backend);

        let policy = r#"{"rules": [
            {"requester": "employee", "risk": "low", "environments": ["sandbox"], "approve": "automatic", "max_days": 30},
            {"requester": "employee", "stages": ["manager", "api_owner"], "max_days": 60},
            {"requester": "contractor", "stages": ["sponsor", "api_owner"], "max_days": 14}
        ]}"#;
        access::save_policy(&db.store, &priya, "files", Some(policy), None, NOW)
            .await
            .unwrap();
        let edit = access::get_policy(&db.store, &priya, "files", NOW)
            .await
            .unwrap();
        assert!(!edit.is_default);
        let preview = access::preview_policy(
            &db.store,
            &priya,
            "files",
            SAM,
            "production",
            &["files.read".into()],
            NOW,
        )
        .await
        .unwrap();
        let who: Vec<String> = preview.stages.unwrap().into_iter().map(|s| s.who).collect();
        assert_eq!(who, ["Morgan Lee", "owners of Data"]);
        assert_eq!(preview.max_days, 60);

        // Sandbox, low risk, employee: approved and granted at once.
        let id = submit(&db, SAM, "files", &input("sandbox", &["files.read"], ""))
            .await
            .unwrap();
        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.state, RequestState::Approved);
        assert!(view.grant_id.is_some());
        assert_eq!(view.timeline.last().unwrap().kind, "auto_approved");

        // Back to the default.
        access::save_policy(&db.store, &priya, "files", None, None, NOW)
            .await
            .unwrap();
        assert!(
            access::get_policy(&db.store, &priya, "files", NOW)
                .await
                .unwrap()
                .is_default
        );
    }
}

#[tokio::test]
async fn bulk_approval_takes_low_risk_requests_and_leaves_high_risk_ones() {
    for db in seeded_stores().await {
        let low = submit(
            &db,
            SAM,
            "patent-data",
            &input("production", &["datasets.read"], "10"),
        )
        .await
        .unwrap();
        let high = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.write"], "10"),
        )
        .await
        .unwrap();
        let out = access::bulk_approve(
            &db.store,
            &actor(&db.store, MORGAN).await,
            &[seen(low, 1, 0), seen(high, 1, 0)],
            NOW,
        )
        .await
        .unwrap();
        assert!(out[0].ok, "{:?}", out[0]);
        assert!(
            !out[1].ok && out[1].message.contains("one at a time"),
            "{:?}",
            out[1]
        );
        let states: Vec<String> =
            sqlx::query_scalar("SELECT state FROM access_requests ORDER BY id")
                .fetch_all(db.store.pool())
                .await
                .unwrap();
        assert_eq!(states, ["approved", "pending"], "{}", db.backend);
    }
}

#[tokio::test]
async fn admins_set_global_limits_that_policies_must_keep() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, ALEX).await;
        let mut limits = access::get_limits(&db.store, &alex).await.unwrap();
        assert!(
            access::get_limits(&db.store, &actor(&db.store, SAM).await)
                .await
                .is_err()
        );
        limits.contractor_max_days = 7;
        limits.security_team = Some("nope".into());
        assert!(matches!(
            access::set_limits(&db.store, &alex, &limits, NOW).await,
            Err(ServiceError::Invalid(_))
        ));
        limits.security_team = Some("platform".into());
        access::set_limits(&db.store, &alex, &limits, NOW)
            .await
            .unwrap();
        // The default policy's 30 days for contractors is lowered to the new limit.
        let over = submit(
            &db,
            DANA,
            "patent-data",
            &input("production", &["datasets.read"], "8"),
        )
        .await;
        assert!(
            matches!(over, Err(ServiceError::Invalid(m)) if m.contains("7 days")),
            "{}",
            db.backend
        );
        // A security stage now resolves to the platform team.
        access::save_policy(
            &db.store,
            &actor(&db.store, PRIYA).await,
            "files",
            Some(
                r#"{"rules": [{"requester": "employee", "stages": ["security"], "max_days": 10}]}"#,
            ),
            None,
            NOW,
        )
        .await
        .unwrap();
        let id = submit(
            &db,
            SAM,
            "files",
            &input("production", &["files.read"], "5"),
        )
        .await
        .unwrap();
        let view = access::get(&db.store, &actor(&db.store, SAM).await, id, NOW)
            .await
            .unwrap();
        assert_eq!(view.stages[0].approver, "members of Platform");
        // Jordan is a platform member and may decide it.
        assert_eq!(
            decide(&db, JORDAN, id, 0, Decision::Approve, "")
                .await
                .unwrap(),
            RequestState::Approved
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_waits_while_its_api_is_retired_is_refused() {
    for db in seeded_stores().await {
        let requests = "SELECT COUNT(*) FROM access_requests";
        let before = count(&db, requests).await;
        let sam = actor(&db.store, SAM).await;
        // An admin's change holds the write lock while Sam's request is on its way: the request
        // finds Files in production (reading is not blocked), then waits for the lock.
        let mut change = gatehouse::server::services::audit::write_tx(&db.store)
            .await
            .unwrap();
        let store = db.store.clone();
        let pending = tokio::spawn(async move {
            let input = input("production", &["files.read"], "10");
            access::submit(&store, &sam, "files", &input, NOW).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        sqlx::query("UPDATE apis SET lifecycle = 'retired' WHERE slug = 'files'")
            .execute(&mut *change)
            .await
            .unwrap();
        change.commit().await.unwrap();
        let result = pending.await.unwrap();
        assert!(
            matches!(&result, Err(ServiceError::Conflict(m)) if m.contains("is retired")),
            "{}: {result:?}",
            db.backend
        );
        assert_eq!(count(&db, requests).await, before, "{}", db.backend);
    }
}

#[tokio::test]
async fn a_policy_saved_from_an_editor_someone_else_saved_over_is_refused() {
    for db in seeded_stores().await {
        let priya = actor(&db.store, PRIYA).await; // an owner of Data, which owns Files
        let alex = actor(&db.store, ALEX).await; // an admin
        let policy = |days: u32| {
            format!(
                r#"{{"rules": [
                    {{"requester": "employee", "stages": ["manager", "api_owner"], "max_days": {days}}},
                    {{"requester": "contractor", "stages": ["sponsor", "api_owner"], "max_days": 14}}
                ]}}"#
            )
        };
        // Both open the editor on the default policy; Alex saves first.
        let priya_opened = access::get_policy(&db.store, &priya, "files", NOW)
            .await
            .unwrap();
        let alex_opened = access::get_policy(&db.store, &alex, "files", NOW)
            .await
            .unwrap();
        assert_eq!(priya_opened.revision, "default");
        access::save_policy(
            &db.store,
            &alex,
            "files",
            Some(&policy(30)),
            Some(&alex_opened.revision),
            NOW,
        )
        .await
        .unwrap();
        // Priya's save, or her going back to the default, would undo Alex's unseen.
        for document in [Some(policy(60)), None] {
            let stale = access::save_policy(
                &db.store,
                &priya,
                "files",
                document.as_deref(),
                Some(&priya_opened.revision),
                NOW,
            )
            .await;
            assert!(
                matches!(&stale, Err(ServiceError::Conflict(m)) if m.contains("after you opened it")),
                "{}: {stale:?}",
                db.backend
            );
        }
        let reopened = access::get_policy(&db.store, &priya, "files", NOW)
            .await
            .unwrap();
        assert!(
            reopened.document.contains("30"),
            "{}: {}",
            db.backend,
            reopened.document
        );
        assert_ne!(reopened.revision, priya_opened.revision);
        // From the editor as it is now, her save goes through.
        access::save_policy(
            &db.store,
            &priya,
            "files",
            Some(&policy(60)),
            Some(&reopened.revision),
            NOW,
        )
        .await
        .unwrap();
    }
}
