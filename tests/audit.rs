//! The audit log on real databases: what is recorded, and that tampering is found.

mod common;

use common::{NOW, person_id, seeded_stores};
use gatehouse::server::services::audit::{self, Action, ChainReport, Event, Who};
use gatehouse::server::services::sessions;
use std::time::Duration;

fn timeouts() -> sessions::Timeouts {
    sessions::Timeouts {
        idle: Duration::from_secs(3600),
        lifetime: Duration::from_secs(8 * 3600),
    }
}

async fn actions(store: &gatehouse::server::db::Store) -> Vec<(String, Option<i64>)> {
    sqlx::query_as("SELECT action, actor_id FROM audit_events ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

fn event(n: usize) -> Event {
    Event {
        who: Who::Other("test".into()),
        action: Action::SignInFailed,
        target_kind: "person",
        target_id: n.to_string(),
        details: serde_json::json!({ "n": n }),
        ip: Some("127.0.0.1".into()),
    }
}

#[tokio::test]
async fn sign_in_failed_sign_in_and_sign_out_are_recorded_in_an_intact_chain() {
    for db in seeded_stores().await {
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let eli = person_id(&db.store, "eli.brooks@contoso.example").await;
        let s = sessions::start(
            &db.store,
            sam,
            sessions::AuthMethod::Dev,
            timeouts(),
            &Default::default(),
            NOW,
        )
        .await
        .unwrap();
        sessions::end(&db.store, &s.token, &Default::default(), NOW + 5)
            .await
            .unwrap();
        // Signing out of a session that is already gone records nothing.
        sessions::end(&db.store, &s.token, &Default::default(), NOW + 6)
            .await
            .unwrap();
        let late = NOW + 31 * 86_400;
        assert!(
            sessions::start(
                &db.store,
                eli,
                sessions::AuthMethod::Dev,
                timeouts(),
                &Default::default(),
                late
            )
            .await
            .is_err()
        );

        assert_eq!(
            actions(&db.store).await,
            [
                ("sign_in".to_owned(), Some(sam)),
                ("sign_out".to_owned(), Some(sam)),
                ("sign_in_failed".to_owned(), None)
            ],
            "{}",
            db.backend
        );
        assert_eq!(
            audit::verify(&db.store).await.unwrap(),
            ChainReport::Intact { events: 3 },
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn concurrent_appends_form_one_unbroken_chain_and_none_is_lost() {
    for db in seeded_stores().await {
        let tasks: Vec<_> = (0..24)
            .map(|n| {
                let store = db.store.clone();
                tokio::spawn(async move { audit::record_alone(&store, &event(n), NOW).await })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{}: append failed: {e}", db.backend));
        }
        assert_eq!(
            audit::verify(&db.store).await.unwrap(),
            ChainReport::Intact { events: 24 },
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn an_altered_event_is_found() {
    for db in seeded_stores().await {
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(
                audit::record_alone(&db.store, &event(n), NOW)
                    .await
                    .unwrap(),
            );
        }
        sqlx::query("UPDATE audit_events SET details = '{\"n\":99}' WHERE id = $1")
            .bind(ids[1])
            .execute(db.store.pool())
            .await
            .unwrap();
        assert_eq!(
            audit::verify(&db.store).await.unwrap(),
            ChainReport::Broken {
                at_event: Some(ids[1]),
                reason: "its content was changed".into()
            },
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_removed_event_is_found_in_the_middle_and_at_the_end() {
    for db in seeded_stores().await {
        let mut ids = Vec::new();
        for n in 0..4 {
            ids.push(
                audit::record_alone(&db.store, &event(n), NOW)
                    .await
                    .unwrap(),
            );
        }
        sqlx::query("DELETE FROM audit_events WHERE id = $1")
            .bind(ids[3])
            .execute(db.store.pool())
            .await
            .unwrap();
        assert!(
            matches!(
                audit::verify(&db.store).await.unwrap(),
                ChainReport::Broken { at_event: None, .. }
            ),
            "{}: removing the newest event must show at the head",
            db.backend
        );
        sqlx::query("DELETE FROM audit_events WHERE id = $1")
            .bind(ids[1])
            .execute(db.store.pool())
            .await
            .unwrap();
        assert_eq!(
            audit::verify(&db.store).await.unwrap(),
            ChainReport::Broken {
                at_event: Some(ids[2]),
                reason: "its predecessor is missing or was changed".into()
            },
            "{}",
            db.backend
        );
    }
}
