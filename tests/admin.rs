//! The admin screens' rules: people's kind, manager, admin role and activation, and team
//! membership, each refused with a reason when it would break something.

mod common;

use common::{NOW, actor, count, person_id, seeded_stores};
use gatehouse::model::{PersonKind, TeamRoleChoice};
use gatehouse::server::authz;
use gatehouse::server::error::ServiceError;
use gatehouse::server::services::admin::{self, KindChange};
use gatehouse::server::services::sessions::{self, AuthMethod, ClientInfo, Timeouts};
use std::time::Duration;

fn invalid(result: Result<(), ServiceError>, needle: &str) {
    match result {
        Err(ServiceError::Invalid(message)) => assert!(message.contains(needle), "{message}"),
        other => panic!("expected Invalid({needle}), got {other:?}"),
    }
}

#[tokio::test]
async fn admins_search_and_read_people() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).unwrap();
        let found = admin::search_people(&db.store, &cap, "TAYLOR")
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].email, "sam.taylor@example.com");
        assert_eq!(found[0].manager.as_ref().unwrap().name, "Morgan Lee");
        assert_eq!(
            admin::search_people(&db.store, &cap, "")
                .await
                .unwrap()
                .len(),
            9
        );
        // LIKE wildcards in the search are literal.
        assert!(
            admin::search_people(&db.store, &cap, "%")
                .await
                .unwrap()
                .is_empty()
        );
        let dana = person_id(&db.store, "dana.fox@northwind.example").await;
        let detail = admin::person(&db.store, &cap, dana).await.unwrap();
        assert_eq!(detail.sponsor.unwrap().email, "sam.taylor@example.com");
        assert_eq!(detail.all_teams.len(), 3);
        assert!(matches!(
            admin::person(&db.store, &cap, 999_999).await,
            Err(ServiceError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn role_changes_are_checked_and_audited() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).unwrap();
        let casey = person_id(&db.store, "casey.novak@example.com").await;
        let dana = person_id(&db.store, "dana.fox@northwind.example").await;
        let morgan = person_id(&db.store, "morgan.lee@example.com").await;

        invalid(
            admin::set_admin(&db.store, &alex, &cap, alex.person_id, false, NOW).await,
            "your own admin role",
        );
        invalid(
            admin::set_admin(&db.store, &alex, &cap, dana, true, NOW).await,
            "active employees",
        );
        admin::set_admin(&db.store, &alex, &cap, casey, true, NOW)
            .await
            .unwrap();
        assert!(actor(&db.store, "casey.novak@example.com").await.is_admin);
        admin::set_admin(&db.store, &alex, &cap, casey, false, NOW)
            .await
            .unwrap();
        assert!(!actor(&db.store, "casey.novak@example.com").await.is_admin);

        // Two admins demoting each other: the second finds nobody would be left.
        admin::set_admin(&db.store, &alex, &cap, casey, true, NOW)
            .await
            .unwrap();
        let casey_admin = actor(&db.store, "casey.novak@example.com").await;
        let casey_cap = authz::manage_org(&casey_admin).unwrap();
        admin::set_admin(
            &db.store,
            &casey_admin,
            &casey_cap,
            alex.person_id,
            false,
            NOW,
        )
        .await
        .unwrap();
        invalid(
            admin::set_admin(&db.store, &alex, &cap, casey, false, NOW).await,
            "at least one admin",
        );
        admin::set_admin(
            &db.store,
            &casey_admin,
            &casey_cap,
            alex.person_id,
            true,
            NOW,
        )
        .await
        .unwrap();
        admin::set_admin(&db.store, &alex, &cap, casey, false, NOW)
            .await
            .unwrap();

        // Morgan manages Sam; Sam cannot become Morgan's manager.
        invalid(
            admin::set_manager(
                &db.store,
                &alex,
                &cap,
                morgan,
                Some("sam.taylor@example.com"),
                NOW,
            )
            .await,
            "loop",
        );
        invalid(
            admin::set_manager(
                &db.store,
                &alex,
                &cap,
                casey,
                Some("nobody@example.com"),
                NOW,
            )
            .await,
            "Nobody",
        );
        admin::set_manager(
            &db.store,
            &alex,
            &cap,
            casey,
            Some("morgan.lee@example.com"),
            NOW,
        )
        .await
        .unwrap();
        admin::set_manager(&db.store, &alex, &cap, casey, None, NOW)
            .await
            .unwrap();

        let to_contractor =
            |sponsor: Option<&'static str>, ends_on: Option<&'static str>| KindChange {
                kind: PersonKind::Contractor,
                sponsor_email: sponsor,
                ends_on,
            };
        invalid(
            admin::set_kind(
                &db.store,
                &alex,
                &cap,
                casey,
                &to_contractor(None, Some("2027-01-01")),
                180,
                NOW,
            )
            .await,
            "sponsor",
        );
        invalid(
            admin::set_kind(
                &db.store,
                &alex,
                &cap,
                casey,
                &to_contractor(Some("dana.fox@northwind.example"), Some("2027-01-01")),
                180,
                NOW,
            )
            .await,
            "sponsor",
        );
        invalid(
            admin::set_kind(
                &db.store,
                &alex,
                &cap,
                casey,
                &to_contractor(Some("sam.taylor@example.com"), Some("2030-01-01")),
                180,
                NOW,
            )
            .await,
            "180 days",
        );
        admin::set_kind(
            &db.store,
            &alex,
            &cap,
            casey,
            &to_contractor(Some("sam.taylor@example.com"), Some("2027-01-01")),
            180,
            NOW,
        )
        .await
        .unwrap();
        let casey_now = actor(&db.store, "casey.novak@example.com").await;
        assert_eq!(casey_now.kind, PersonKind::Contractor);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'role_changed'"
            )
            .await,
            7
        );
    }
}

#[tokio::test]
async fn deactivation_ends_sessions_and_sign_in_and_can_be_undone() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).unwrap();
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let timeouts = Timeouts {
            idle: Duration::from_secs(600),
            lifetime: Duration::from_secs(6000),
        };
        let session = sessions::start(
            &db.store,
            sam,
            AuthMethod::Dev,
            timeouts,
            &ClientInfo::default(),
            NOW,
        )
        .await
        .unwrap();
        invalid(
            admin::set_active(&db.store, &alex, &cap, alex.person_id, false, NOW).await,
            "yourself",
        );
        admin::set_active(&db.store, &alex, &cap, sam, false, NOW)
            .await
            .unwrap();
        assert!(
            sessions::resolve(&db.store, &session.token, timeouts, NOW)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            sessions::start(
                &db.store,
                sam,
                AuthMethod::Dev,
                timeouts,
                &ClientInfo::default(),
                NOW
            )
            .await
            .is_err()
        );
        admin::set_active(&db.store, &alex, &cap, sam, true, NOW)
            .await
            .unwrap();
        assert!(
            sessions::start(
                &db.store,
                sam,
                AuthMethod::Dev,
                timeouts,
                &ClientInfo::default(),
                NOW
            )
            .await
            .is_ok()
        );
        for action in ["person_deactivated", "person_reactivated"] {
            assert_eq!(
                count(
                    &db,
                    &format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}'")
                )
                .await,
                1
            );
        }
    }
}

#[tokio::test]
async fn team_owners_manage_their_team_and_a_team_keeps_an_owner() {
    for db in seeded_stores().await {
        let priya = actor(&db.store, "priya.shah@example.com").await;
        let cap = admin::team_capability(&db.store, &priya, "data")
            .await
            .unwrap();
        assert!(matches!(
            admin::team_capability(&db.store, &priya, "commerce").await,
            Err(ServiceError::Forbidden)
        ));
        admin::set_team_role(
            &db.store,
            &priya,
            &cap,
            "casey.novak@example.com",
            TeamRoleChoice::Member,
            NOW,
        )
        .await
        .unwrap();
        invalid(
            admin::set_team_role(
                &db.store,
                &priya,
                &cap,
                "eli.brooks@contoso.example",
                TeamRoleChoice::Owner,
                NOW,
            )
            .await,
            "not owners",
        );
        invalid(
            admin::set_team_role(
                &db.store,
                &priya,
                &cap,
                "priya.shah@example.com",
                TeamRoleChoice::Member,
                NOW,
            )
            .await,
            "at least one owner",
        );
        invalid(
            admin::set_team_role(
                &db.store,
                &priya,
                &cap,
                "nobody@example.com",
                TeamRoleChoice::Member,
                NOW,
            )
            .await,
            "Nobody",
        );
        admin::set_team_role(
            &db.store,
            &priya,
            &cap,
            "casey.novak@example.com",
            TeamRoleChoice::Owner,
            NOW,
        )
        .await
        .unwrap();
        admin::set_team_role(
            &db.store,
            &priya,
            &cap,
            "priya.shah@example.com",
            TeamRoleChoice::None,
            NOW,
        )
        .await
        .unwrap();
        let teams = admin::teams(
            &db.store,
            &actor(&db.store, "casey.novak@example.com").await,
        )
        .await
        .unwrap();
        assert_eq!(teams.len(), 1);
        assert!(teams[0].can_manage);
        assert!(
            teams[0]
                .members
                .iter()
                .any(|m| m.email == "casey.novak@example.com" && m.owner)
        );
        assert!(
            !teams[0]
                .members
                .iter()
                .any(|m| m.email == "priya.shah@example.com")
        );
    }
}
