//! Importing the org file on real databases: applied whole or not at all, admins only, audited.

mod common;

use common::{NOW, actor, seeded_stores};
use gatehouse::domain::org::OrgFormat;
use gatehouse::model::{AppError, OrgImportReport};
use gatehouse::server::authz;
use gatehouse::server::db::Store;
use gatehouse::server::services::org;

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn snapshot(store: &Store) -> (i64, i64, i64, i64) {
    (
        count(store, "SELECT COUNT(*) FROM people").await,
        count(store, "SELECT COUNT(*) FROM team_members").await,
        count(
            store,
            "SELECT COUNT(*) FROM people WHERE manager_id IS NOT NULL",
        )
        .await,
        count(store, "SELECT COUNT(*) FROM audit_events").await,
    )
}

const FILE: &str = "email,name,manager_email,teams
casey.novak@example.com,Casey Novak-Reyes,morgan.lee@example.com,data
new.hire@example.com,New Hire,casey.novak@example.com,commerce;platform
\"lead@example.com\",\"Lee, Ada\",alex.rivera@example.com,data:owner
sam.taylor@example.com,Sam Taylor,morgan.lee@example.com,commerce
";

#[tokio::test]
async fn an_admin_imports_people_managers_and_teams_and_a_second_run_changes_nothing() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).expect("admins manage the org");
        let report = org::import(&db.store, &alex, &cap, OrgFormat::Csv, FILE, NOW)
            .await
            .unwrap();
        assert_eq!(
            report,
            OrgImportReport {
                created: 2,
                updated: 1,
                unchanged: 1,
                memberships_added: 4,
                roles_changed: 0
            },
            "{}",
            db.backend
        );
        let (name, manager): (String, String) = sqlx::query_as(
            "SELECT p.name, m.email FROM people p JOIN people m ON m.id = p.manager_id WHERE p.email = 'new.hire@example.com'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            (name.as_str(), manager.as_str()),
            ("New Hire", "casey.novak@example.com"),
            "{}",
            db.backend
        );
        let lead_role: String = sqlx::query_scalar(
            "SELECT m.role FROM team_members m JOIN people p ON p.id = m.person_id JOIN teams t ON t.id = m.team_id
             WHERE p.email = 'lead@example.com' AND t.slug = 'data'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(lead_role, "owner");
        assert_eq!(
            count(
                &db.store,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'org_imported'"
            )
            .await,
            1
        );

        let again = org::import(&db.store, &alex, &cap, OrgFormat::Csv, FILE, NOW + 1)
            .await
            .unwrap();
        assert_eq!(
            again,
            OrgImportReport {
                unchanged: 4,
                ..Default::default()
            },
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_file_with_problems_is_refused_whole_with_every_problem_by_line() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).unwrap();
        let before = snapshot(&db.store).await;
        // Line 2 is fine on its own; lines 3 and 4 are not, and nothing may be written.
        let bad = "email,name,manager_email\nok@example.com,Okay,alex.rivera@example.com\nx@example.com,X,ghost@example.com\nok@example.com,Twice,\n";
        let err = AppError::from(
            org::import(&db.store, &alex, &cap, OrgFormat::Csv, bad, NOW)
                .await
                .unwrap_err(),
        );
        assert_eq!(err.status(), 422);
        assert_eq!(
            err.to_string(),
            "The org file was not imported; nothing changed.\nline 3: manager ghost@example.com is neither in the file nor in Gatehouse\nline 4: ok@example.com is listed twice (first at line 2)",
            "{}",
            db.backend
        );
        assert_eq!(
            snapshot(&db.store).await,
            before,
            "{}: nothing changed",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_cycle_through_people_outside_the_file_is_refused() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).unwrap();
        let before = snapshot(&db.store).await;
        // Sam reports to Morgan, who reports to Alex: making Alex report to Sam closes a loop.
        let file = r#"[{"email": "alex.rivera@example.com", "name": "Alex Rivera", "manager_email": "sam.taylor@example.com"}]"#;
        let err = AppError::from(
            org::import(&db.store, &alex, &cap, OrgFormat::Json, file, NOW)
                .await
                .unwrap_err(),
        );
        assert!(err.to_string().contains("entry 1: the reporting line loops: alex.rivera@example.com → sam.taylor@example.com → morgan.lee@example.com → alex.rivera@example.com"), "{}: {err}", db.backend);
        assert_eq!(snapshot(&db.store).await, before);
    }
}

#[tokio::test]
async fn only_admins_may_import_the_org_file() {
    for db in seeded_stores().await {
        for email in [
            "sam.taylor@example.com",
            "morgan.lee@example.com",
            "dana.fox@northwind.example",
        ] {
            let who = actor(&db.store, email).await;
            assert!(
                authz::manage_org(&who).is_none(),
                "{email} must not manage the org"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imports_sent_side_by_side_each_apply_against_what_the_one_before_wrote() {
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let before = count(&db.store, "SELECT COUNT(*) FROM people").await;
        // Two admins (or one clicking twice) import the same file at once: both must succeed,
        // the second finding the first's people there, not failing on them or adding them twice.
        let mut imports = tokio::task::JoinSet::new();
        for at in 0..4 {
            let (store, alex) = (db.store.clone(), alex.clone());
            imports.spawn(async move {
                let cap = authz::manage_org(&alex).unwrap();
                org::import(&store, &alex, &cap, OrgFormat::Csv, FILE, NOW + at).await
            });
        }
        let mut reports = Vec::new();
        while let Some(done) = imports.join_next().await {
            reports.push(
                done.unwrap()
                    .unwrap_or_else(|e| panic!("{}: {e}", db.backend)),
            );
        }
        assert_eq!(
            reports.iter().map(|r| r.created).sum::<usize>(),
            2,
            "{}: {reports:?}",
            db.backend
        );
        assert_eq!(
            count(&db.store, "SELECT COUNT(*) FROM people").await,
            before + 2,
            "{}",
            db.backend
        );
        assert_eq!(
            count(
                &db.store,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'org_imported'"
            )
            .await,
            4,
            "{}",
            db.backend
        );
    }
}
