//! My profile and ending sessions, on real databases: who may end whose sessions, and what the
//! profile shows.

mod common;

use common::{NOW, actor, person_id, seeded_stores};
use gatehouse::server::authz;
use gatehouse::server::services::{people, sessions};
use std::time::Duration;

fn timeouts() -> sessions::Timeouts {
    sessions::Timeouts {
        idle: Duration::from_secs(3600),
        lifetime: Duration::from_secs(8 * 3600),
    }
}

async fn session(store: &gatehouse::server::db::Store, person: i64, at: i64) -> String {
    sessions::start(
        store,
        person,
        sessions::AuthMethod::Dev,
        timeouts(),
        &Default::default(),
        at,
    )
    .await
    .unwrap()
    .token
}

async fn sessions_of(store: &gatehouse::server::db::Store, person: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE person_id = $1")
        .bind(person)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_contractors_profile_shows_sponsor_end_date_and_live_sessions_marking_this_one() {
    for db in seeded_stores().await {
        let dana = actor(&db.store, "dana.fox@northwind.example").await;
        session(&db.store, dana.person_id, NOW - 7200).await; // idle for two hours by NOW
        session(&db.store, dana.person_id, NOW - 60).await;
        let this = session(&db.store, dana.person_id, NOW).await;
        let profile = people::my_profile(&db.store, &dana, Some(&this), timeouts(), NOW)
            .await
            .unwrap();

        assert_eq!(
            profile.sponsor.as_ref().map(|p| p.name.as_str()),
            Some("Sam Taylor"),
            "{}",
            db.backend
        );
        assert_eq!(profile.manager, None);
        assert_eq!(profile.company.as_deref(), Some("Northwind Consulting"));
        assert_eq!(profile.contract_ends_at, Some(NOW + 90 * 86_400));
        assert!(profile.teams.is_empty());
        assert_eq!(
            profile.sessions.len(),
            2,
            "{}: the session idle for two hours is not listed",
            db.backend
        );
        assert_eq!(profile.sessions.iter().filter(|s| s.current).count(), 1);
        assert!(
            profile.sessions[0].current,
            "{}: newest first, and it is this one",
            db.backend
        );
    }
}

#[tokio::test]
async fn an_employees_profile_shows_manager_and_teams_with_roles() {
    for db in seeded_stores().await {
        let jordan = actor(&db.store, "jordan.kim@example.com").await;
        let profile = people::my_profile(&db.store, &jordan, None, timeouts(), NOW)
            .await
            .unwrap();
        assert_eq!(
            profile.manager.map(|p| p.email),
            Some("morgan.lee@example.com".to_owned()),
            "{}",
            db.backend
        );
        let teams: Vec<(String, bool)> = profile
            .teams
            .into_iter()
            .map(|m| (m.team.slug, m.owner))
            .collect();
        assert_eq!(
            teams,
            [
                ("commerce".to_owned(), false),
                ("platform".to_owned(), false)
            ]
        );
        assert!(profile.sessions.is_empty());
    }
}

#[tokio::test]
async fn people_end_their_own_sessions_admins_anyones_and_nobody_else_anyone_elses() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let morgan = person_id(&db.store, "morgan.lee@example.com").await;

        assert!(
            authz::end_sessions_of(&sam, morgan).is_none(),
            "a manager's sessions are not an employee's to end"
        );
        assert!(
            !authz::end_sessions_of(&sam, sam.person_id)
                .unwrap()
                .by_admin()
        );
        assert!(
            authz::end_sessions_of(&alex, sam.person_id)
                .unwrap()
                .by_admin()
        );

        for _ in 0..2 {
            session(&db.store, sam.person_id, NOW).await;
        }
        session(&db.store, morgan, NOW).await;

        let cap = authz::end_sessions_of(&alex, sam.person_id).unwrap();
        let ended = sessions::end_all(&db.store, &alex, &cap, &Default::default(), NOW)
            .await
            .unwrap();
        assert_eq!(ended, 2, "{}", db.backend);
        assert_eq!(sessions_of(&db.store, sam.person_id).await, 0);
        assert_eq!(
            sessions_of(&db.store, morgan).await,
            1,
            "{}: only the named person's sessions end",
            db.backend
        );

        let (actor_id, target, details): (Option<i64>, String, String) = sqlx::query_as(
            "SELECT actor_id, target_id, details FROM audit_events WHERE action = 'sessions_ended'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            (actor_id, target),
            (Some(alex.person_id), sam.person_id.to_string())
        );
        let details: serde_json::Value = serde_json::from_str(&details).unwrap();
        assert_eq!(
            details,
            serde_json::json!({ "sessions": 2, "by_admin": true }),
            "{}",
            db.backend
        );
    }
}
