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

/// An org file of `n` people `p0`… in the platform team; `shape` gives each one's name suffix,
/// manager (by number) and whether they own the team.
fn company(n: usize, shape: impl Fn(usize) -> (&'static str, Option<usize>, bool)) -> String {
    let mut file = String::from("email,name,manager_email,teams\n");
    for i in 0..n {
        let (suffix, manager, owner) = shape(i);
        let manager = manager
            .map(|m| format!("p{m}@corp.example.com"))
            .unwrap_or_default();
        let team = if owner { "platform:owner" } else { "platform" };
        file.push_str(&format!(
            "p{i}@corp.example.com,Person {i}{suffix},{manager},{team}\n"
        ));
    }
    file
}

/// What the store holds for the file's people: name, manager's email, role in platform.
async fn people_of_company(store: &Store) -> Vec<(String, String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT p.email, p.name, m.email, tm.role FROM people p
         LEFT JOIN people m ON m.id = p.manager_id
         JOIN team_members tm ON tm.person_id = p.id JOIN teams t ON t.id = tm.team_id AND t.slug = 'platform'
         WHERE p.email LIKE '%@corp.example.com' ORDER BY p.id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// Everyone not in the generated company, as stored.
async fn others(store: &Store) -> Vec<(i64, String, Option<i64>, i64)> {
    sqlx::query_as(
        "SELECT id, name, manager_id, updated_at FROM people
         WHERE email NOT LIKE '%@corp.example.com' ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// Thousands of people, written several hundred to a statement: the first import creates them
/// all; a reorganisation renames some, takes the manager away from more than a whole statement's
/// worth (a batch of nothing but NULLs), moves others and changes roles both ways, and changes
/// nothing else.
#[tokio::test]
async fn a_company_is_imported_whole_and_a_reorganisation_changes_exactly_what_moved() {
    const N: usize = 1_300;
    for db in seeded_stores().await {
        let alex = actor(&db.store, "alex.rivera@example.com").await;
        let cap = authz::manage_org(&alex).unwrap();
        let others_before = others(&db.store).await;
        let first = company(N, |i| {
            ("", i.checked_sub(1).map(|m| m / 4), i.is_multiple_of(100))
        });
        let report = org::import(&db.store, &alex, &cap, OrgFormat::Csv, &first, NOW)
            .await
            .unwrap();
        assert_eq!(
            report,
            OrgImportReport {
                created: N,
                memberships_added: N,
                ..Default::default()
            },
            "{}",
            db.backend
        );
        let stored = people_of_company(&db.store).await;
        assert_eq!(stored.len(), N, "{}", db.backend);
        for (i, (email, name, manager, role)) in stored.iter().enumerate() {
            assert_eq!(email, &format!("p{i}@corp.example.com"));
            assert_eq!(name, &format!("Person {i}"));
            let expected = i
                .checked_sub(1)
                .map(|m| format!("p{}@corp.example.com", m / 4));
            assert_eq!(manager, &expected, "{}: p{i}", db.backend);
            assert_eq!(
                role,
                if i.is_multiple_of(100) {
                    "owner"
                } else {
                    "member"
                }
            );
        }

        // People 1–700 lose their manager; 701–900 report to p0; every third is renamed; owners
        // are demoted and every 50th (not 100th) promoted.
        let shape = |i: usize| {
            let suffix = if i.is_multiple_of(3) {
                " (renamed)"
            } else {
                ""
            };
            let manager = match i {
                0..=700 => None,
                701..=900 => Some(0),
                _ => Some((i - 1) / 4),
            };
            (suffix, manager, i % 100 == 50)
        };
        let second = company(N, shape);
        let report = org::import(&db.store, &alex, &cap, OrgFormat::Csv, &second, NOW + 1)
            .await
            .unwrap();
        let moved = (1..N)
            .filter(|&i| (i <= 700) || (701..=900).contains(&i) && (i - 1) / 4 != 0)
            .count();
        let renamed = (0..N).filter(|i| i.is_multiple_of(3)).count();
        let updated = (0..N)
            .filter(|&i| {
                i.is_multiple_of(3)
                    || (1..=700).contains(&i)
                    || (701..=900).contains(&i) && (i - 1) / 4 != 0
            })
            .count();
        assert!(moved > 500 && renamed > 0);
        assert_eq!(
            report,
            OrgImportReport {
                created: 0,
                updated,
                unchanged: N - updated,
                memberships_added: 0,
                roles_changed: (0..N).filter(|i| i.is_multiple_of(50)).count(),
            },
            "{}",
            db.backend
        );
        for (i, (_, name, manager, role)) in people_of_company(&db.store).await.iter().enumerate() {
            let (suffix, expected, owner) = shape(i);
            assert_eq!(name, &format!("Person {i}{suffix}"), "{}", db.backend);
            assert_eq!(
                manager,
                &expected.map(|m| format!("p{m}@corp.example.com")),
                "{}: p{i}",
                db.backend
            );
            assert_eq!(
                role,
                if owner { "owner" } else { "member" },
                "{}: p{i}",
                db.backend
            );
        }
        // Everyone else is untouched.
        assert_eq!(others(&db.store).await, others_before, "{}", db.backend);
    }
}
