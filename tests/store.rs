//! Store and service behaviour against real databases: SQLite always, PostgreSQL as well when
//! TEST_DATABASE_URL is set (CI starts one).

mod common;

use common::{NOW, actor, person_id, seeded_stores, stores};
use gatehouse::model::{AppError, CatalogFilter, Lifecycle};
use gatehouse::server::db::{self, Backend};
use gatehouse::server::error::ServiceError;
use gatehouse::server::seed::{SeedError, seed_demo};
use gatehouse::server::services::{catalog, sessions};
use std::time::Duration;

fn filter(q: &str, team: &str, lifecycle: &str, tag: &str) -> CatalogFilter {
    CatalogFilter {
        q: q.into(),
        team: team.into(),
        lifecycle: lifecycle.into(),
        tag: tag.into(),
        ..CatalogFilter::default()
    }
}

fn slugs(apis: &[gatehouse::model::ApiSummary]) -> Vec<&str> {
    apis.iter().map(|a| a.slug.as_str()).collect()
}

#[tokio::test]
async fn migrations_create_the_whole_domain_and_can_run_again() {
    for db in stores().await {
        db.store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("{}: second migrate: {e}", db.backend));
        for table in [
            "people",
            "teams",
            "team_members",
            "platform_admins",
            "settings",
            "contractor_invitations",
            "apis",
            "api_tags",
            "environments",
            "scopes",
            "api_versions",
            "guides",
            "rendered_artifacts",
            "policies",
            "access_requests",
            "access_request_scopes",
            "approval_steps",
            "grants",
            "grant_scopes",
            "api_keys",
            "api_key_scopes",
            "publish_tokens",
            "gateway_credentials",
            "sessions",
            "audit_events",
            "notifications",
        ] {
            let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(db.store.pool())
                .await
                .unwrap_or_else(|e| panic!("{}: table {table}: {e}", db.backend));
            assert_eq!(count, 0, "{}: {table} starts empty", db.backend);
        }
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_enforced() {
    for db in stores()
        .await
        .into_iter()
        .filter(|s| s.store.backend() == Backend::Sqlite)
    {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(timeout, 5000);
    }
}

#[tokio::test]
async fn the_schema_refuses_dangling_references_and_unknown_values() {
    for db in stores().await {
        let orphan = sqlx::query("INSERT INTO team_members (team_id, person_id, role, added_at) VALUES (999, 999, 'owner', 0)")
            .execute(db.store.pool())
            .await;
        assert!(
            orphan.is_err(),
            "{}: a membership of nobody in no team must be refused",
            db.backend
        );
        let bad_kind = sqlx::query("INSERT INTO people (email, name, kind, created_at, updated_at) VALUES ('x@example.com', 'X', 'robot', 0, 0)")
            .execute(db.store.pool())
            .await;
        assert!(
            bad_kind.is_err(),
            "{}: an unknown person kind must be refused",
            db.backend
        );
        let sponsorless = sqlx::query(
            "INSERT INTO people (email, name, kind, contract_ends_at, created_at, updated_at) VALUES ('c@example.com', 'C', 'contractor', 1, 0, 0)",
        )
        .execute(db.store.pool())
        .await;
        assert!(
            sponsorless.is_err(),
            "{}: a contractor without a sponsor must be refused",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_duplicate_email_is_recognised_as_a_unique_violation_by_its_kind() {
    for db in stores().await {
        let insert = || {
            sqlx::query("INSERT INTO people (email, name, kind, created_at, updated_at) VALUES ('a@example.com', 'A', 'employee', 0, 0)")
                .execute(db.store.pool())
        };
        insert().await.unwrap();
        let err = insert().await.unwrap_err();
        assert!(db::is_unique_violation(&err), "{}: {err}", db.backend);
    }
}

#[tokio::test]
async fn seed_demo_loads_the_demo_company_once_and_never_over_existing_data() {
    for db in stores().await {
        let report = seed_demo(&db.store, NOW).await.unwrap();
        assert_eq!((report.teams, report.people), (3, 9), "{}", db.backend);
        assert!(report.apis >= 8);
        let count = |sql: &'static str| {
            let store = db.store.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(store.pool())
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM people WHERE kind = 'contractor' AND sponsor_id IS NOT NULL"
            )
            .await,
            2
        );
        assert_eq!(count("SELECT COUNT(*) FROM platform_admins").await, 1);
        assert_eq!(
            count("SELECT COUNT(*) FROM people WHERE manager_id IS NOT NULL").await,
            6
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM api_versions WHERE spec_format = 'swagger-2.0'").await,
            1
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM api_versions WHERE spec_format = 'openapi-3.1'").await,
            1
        );
        assert!(count("SELECT COUNT(*) FROM guides").await >= 6);

        let again = seed_demo(&db.store, NOW).await;
        assert!(
            matches!(again, Err(SeedError::NotEmpty)),
            "{}: second seed must refuse",
            db.backend
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM apis").await,
            report.apis as i64,
            "{}: nothing added twice",
            db.backend
        );
    }
}

#[tokio::test]
async fn the_catalog_filters_by_text_team_lifecycle_and_tag() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let list = |f: CatalogFilter| {
            let store = db.store.clone();
            let sam = sam.clone();
            async move { catalog::list(&store, &sam, &f, NOW).await.unwrap().apis }
        };
        let all = list(CatalogFilter::default()).await;
        assert_eq!(
            all.len(),
            8,
            "{}: an employee sees all but the hidden API: {:?}",
            db.backend,
            slugs(&all)
        );

        // Names, summaries, slugs and tags are searched: Webhooks' summary mentions a pet.
        assert_eq!(
            slugs(&list(filter("PET", "", "", "")).await),
            ["pet-search", "pet-store", "webhooks"],
            "{}",
            db.backend
        );
        assert_eq!(
            slugs(&list(filter("", "data", "", "")).await),
            ["files", "patent-data"],
            "{}",
            db.backend
        );
        let deprecated = list(filter("", "", "deprecated", "")).await;
        assert!(
            deprecated
                .iter()
                .all(|a| a.lifecycle == Lifecycle::Deprecated)
                && deprecated.len() == 2
        );
        assert_eq!(
            slugs(&list(filter("", "", "", "events")).await),
            ["event-subscriptions", "webhooks"]
        );
        assert_eq!(
            slugs(&list(filter("search", "commerce", "experimental", "pets")).await),
            ["pet-search"]
        );
        // LIKE wildcards in the text are matched literally.
        assert!(
            list(filter("%", "", "", "")).await.is_empty(),
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn the_catalog_comes_a_page_at_a_time_with_the_total() {
    for db in seeded_stores().await {
        let b = db.backend;
        // 100 more APIs open to everyone, half of them tagged, named so they sort after the demo's.
        common::add_zeta_apis(&db.store, 100, true).await;
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let page = |f: CatalogFilter| {
            let store = db.store.clone();
            let sam = sam.clone();
            async move { catalog::list(&store, &sam, &f, NOW).await }
        };
        let per_page = gatehouse::domain::catalog::CatalogQuery::PER_PAGE as usize;
        let mut seen = Vec::new();
        for n in 1..=3 {
            let results = page(CatalogFilter::default().at_page(n)).await.unwrap();
            assert_eq!(
                (results.total, results.page, results.pages()),
                (108, n, 3),
                "{b}"
            );
            assert_eq!(
                results.apis.len(),
                if n < 3 { per_page } else { 108 - 2 * per_page },
                "{b}"
            );
            seen.extend(results.apis.into_iter().map(|a| (a.slug, a.tags)));
        }
        // Every API once, in name order, each with its own tags.
        let slugs: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(slugs.len(), 108);
        assert_eq!(&slugs[8..11], ["zeta-000", "zeta-001", "zeta-002"], "{b}");
        assert_eq!(slugs.last(), Some(&"zeta-099"));
        let mut unique = slugs.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 108, "{b}: no API on two pages");
        assert!(seen.iter().all(|(s, tags)| !s.starts_with("zeta")
            || (tags == &["even"]) == s.ends_with(['0', '2', '4', '6', '8'])));

        // The filter narrows the total; the page counts within it.
        let even = page(filter("", "", "", "even").at_page(2)).await.unwrap();
        assert_eq!(
            (even.total, even.apis.len(), even.apis[0].slug.as_str()),
            (50, 2, "zeta-096"),
            "{b}"
        );
        // Past the end: no APIs, but the total, so the page can say so.
        let past = page(CatalogFilter::default().at_page(9)).await.unwrap();
        assert_eq!((past.total, past.apis.len()), (108, 0));
        // A page that is not a page is refused, and says what a page is.
        for bad in ["0", "x", "-2", "999999"] {
            let f = CatalogFilter {
                page: bad.into(),
                ..CatalogFilter::default()
            };
            let shown = AppError::from(page(f).await.unwrap_err());
            assert_eq!(shown.status(), 422, "{b}: {bad}");
            assert!(
                shown.to_string().contains("page must be a whole number"),
                "{shown}"
            );
        }
    }
}

#[tokio::test]
async fn a_bad_filter_is_refused_with_a_message() {
    for db in seeded_stores().await {
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let err = catalog::list(&db.store, &sam, &filter("", "", "beta", ""), NOW)
            .await
            .unwrap_err();
        let shown = AppError::from(err);
        assert_eq!(shown.status(), 422);
        assert!(
            shown.to_string().contains("unknown lifecycle 'beta'"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn contractors_see_only_apis_open_to_everyone_and_those_they_were_granted() {
    for db in seeded_stores().await {
        let dana = actor(&db.store, "dana.fox@northwind.example").await;
        let visible = catalog::list(&db.store, &dana, &CatalogFilter::default(), NOW)
            .await
            .unwrap()
            .apis;
        assert_eq!(
            slugs(&visible),
            ["patent-data", "pet-store", "rides", "webhooks"],
            "{}",
            db.backend
        );
        let facets = catalog::facets(&db.store, &dana, NOW).await.unwrap();
        assert_eq!(facets.visible_total, 4);
        assert!(
            !facets.tags.iter().any(|t| t == "storage"),
            "{}: tags of unseen APIs leak",
            db.backend
        );
        assert!(matches!(
            catalog::get(&db.store, &dana, "files", NOW).await,
            Err(ServiceError::NotFound(_))
        ));

        // A live grant opens the API to its holder; an expired or revoked one does not.
        let files: i64 = sqlx::query_scalar("SELECT id FROM apis WHERE slug = 'files'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        let env: i64 =
            sqlx::query_scalar("SELECT id FROM environments WHERE api_id = $1 ORDER BY id LIMIT 1")
                .bind(files)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        let grant = |expires: i64, revoked: Option<i64>| {
            sqlx::query("INSERT INTO grants (person_id, api_id, environment_id, granted_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(dana.person_id)
                .bind(files)
                .bind(env)
                .bind(NOW - 10)
                .bind(expires)
                .bind(revoked)
                .execute(db.store.pool())
        };
        grant(NOW - 1, None).await.unwrap();
        grant(NOW + 3600, Some(NOW - 5)).await.unwrap();
        assert!(
            catalog::get(&db.store, &dana, "files", NOW).await.is_err(),
            "{}: expired or revoked grants open nothing",
            db.backend
        );
        grant(NOW + 3600, None).await.unwrap();
        let detail = catalog::get(&db.store, &dana, "files", NOW).await.unwrap();
        assert_eq!(detail.summary.name, "Files");
        assert_eq!(detail.scopes.len(), 3);
    }
}

/// The totals are counted apart from the pages (by visibility, then the rest with the whole rule):
/// for everyone in the demo company, each total is the number of APIs its pages hold.
#[tokio::test]
async fn every_viewers_totals_match_the_apis_their_pages_list() {
    for db in seeded_stores().await {
        let b = db.backend;
        // Enough APIs for several pages, and a contractor holding a grant to an employees-only API.
        common::add_zeta_apis(&db.store, 40, true).await;
        sqlx::query(
            "UPDATE apis SET visibility = 'employees' WHERE slug IN ('zeta-001', 'zeta-002')",
        )
        .execute(db.store.pool())
        .await
        .unwrap();
        sqlx::query("UPDATE apis SET visibility = 'hidden' WHERE slug = 'zeta-003'")
            .execute(db.store.pool())
            .await
            .unwrap();
        let dana = person_id(&db.store, "dana.fox@northwind.example").await;
        sqlx::query(
            "INSERT INTO grants (person_id, api_id, environment_id, granted_at, expires_at)
             SELECT $1, a.id, e.id, $2, $3 FROM apis a JOIN environments e ON e.api_id = a.id
             WHERE a.slug = 'files' ORDER BY e.id LIMIT 1",
        )
        .bind(dana)
        .bind(NOW - 10)
        .bind(NOW + 3600)
        .execute(db.store.pool())
        .await
        .unwrap();
        let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM people ORDER BY email")
            .fetch_all(db.store.pool())
            .await
            .unwrap();
        assert!(emails.len() >= 9, "{b}: the demo's people");
        let mut totals = Vec::new();
        for email in &emails {
            let id = person_id(&db.store, email).await;
            let Some(who) = db::people::find_active_actor(db.store.pool(), id, NOW)
                .await
                .unwrap()
            else {
                continue;
            };
            for f in [CatalogFilter::default(), filter("", "", "", "even")] {
                let mut listed = 0;
                let mut total = None;
                for n in 1..=10 {
                    let page = catalog::list(&db.store, &who, &f.clone().at_page(n), NOW)
                        .await
                        .unwrap();
                    listed += page.apis.len();
                    assert!(total.is_none_or(|t| t == page.total), "{b} {email}");
                    total = Some(page.total);
                    if page.apis.is_empty() {
                        break;
                    }
                }
                assert_eq!(
                    total,
                    Some(listed),
                    "{b} {email} {f:?}: total and pages agree"
                );
                if f == CatalogFilter::default() {
                    let facets = catalog::facets(&db.store, &who, NOW).await.unwrap();
                    assert_eq!(facets.visible_total, listed, "{b} {email}: facets' total");
                    totals.push((email.as_str(), listed));
                }
            }
        }
        // The cases differ: admins and the owning team see the hidden APIs, employees the
        // employees-only ones, the contractor only what is open to everyone plus her grant.
        let of = |email: &str| totals.iter().find(|(e, _)| *e == email).unwrap().1;
        let everyone = common::count(
            &db,
            "SELECT COUNT(*) FROM apis WHERE visibility = 'everyone'",
        )
        .await;
        assert_eq!(
            of("dana.fox@northwind.example"),
            everyone as usize + 1,
            "{b}: {totals:?}"
        );
        assert!(
            of("sam.taylor@example.com") > of("dana.fox@northwind.example"),
            "{b}: {totals:?}"
        );
        assert!(
            of("alex.rivera@example.com") > of("sam.taylor@example.com"),
            "{b}: {totals:?}"
        );
    }
}

#[tokio::test]
async fn a_hidden_api_is_visible_to_its_team_and_admins_and_not_found_for_others() {
    for db in seeded_stores().await {
        for email in ["alex.rivera@example.com", "jordan.kim@example.com"] {
            let who = actor(&db.store, email).await;
            let detail = catalog::get(&db.store, &who, "identity", NOW)
                .await
                .unwrap_or_else(|e| panic!("{email}: {e}"));
            assert_eq!(detail.summary.team.slug, "platform");
        }
        let sam = actor(&db.store, "sam.taylor@example.com").await;
        let err = catalog::get(&db.store, &sam, "identity", NOW)
            .await
            .unwrap_err();
        assert_eq!(
            AppError::from(err),
            AppError::NotFound("The API 'identity'".into()),
            "{}",
            db.backend
        );
        assert!(matches!(
            catalog::get(&db.store, &sam, "../etc", NOW).await,
            Err(ServiceError::NotFound(_))
        ));
    }
}

async fn dev_session(
    store: &gatehouse::server::db::Store,
    person: i64,
    at: i64,
) -> Result<sessions::NewSessionId, ServiceError> {
    sessions::start(
        store,
        person,
        sessions::AuthMethod::Dev,
        timeouts(),
        &Default::default(),
        at,
    )
    .await
}

fn timeouts() -> sessions::Timeouts {
    sessions::Timeouts {
        idle: Duration::from_secs(3600),
        lifetime: Duration::from_secs(8 * 3600),
    }
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout() {
    for db in seeded_stores().await {
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let s = dev_session(&db.store, sam, NOW).await.unwrap();
        assert_eq!(s.token.len(), 64);
        let at = |t| sessions::resolve(&db.store, &s.token, timeouts(), t);
        assert_eq!(
            at(NOW + 1800).await.unwrap().map(|a| a.person_id),
            Some(sam),
            "{}",
            db.backend
        );
        // Activity at +30 min moved the idle window: +85 min is still within an hour of it.
        assert!(
            at(NOW + 5100).await.unwrap().is_some(),
            "{}: activity extends the idle window",
            db.backend
        );
        assert!(
            at(NOW + 5100 + 3600).await.unwrap().is_none(),
            "{}: idle for an hour ends the session",
            db.backend
        );
        assert!(
            at(NOW + 5100 + 10).await.unwrap().is_none(),
            "{}: an ended session stays ended",
            db.backend
        );
    }
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_however_active() {
    for db in seeded_stores().await {
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let s = dev_session(&db.store, sam, NOW).await.unwrap();
        let mut t = NOW;
        while t < NOW + 8 * 3600 - 1800 {
            t += 1800;
            assert!(
                sessions::resolve(&db.store, &s.token, timeouts(), t)
                    .await
                    .unwrap()
                    .is_some(),
                "{}: at {t}",
                db.backend
            );
        }
        assert!(
            sessions::resolve(&db.store, &s.token, timeouts(), NOW + 8 * 3600)
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn signing_out_deletes_the_session_and_forged_tokens_resolve_to_nobody() {
    for db in seeded_stores().await {
        let sam = person_id(&db.store, "sam.taylor@example.com").await;
        let s = dev_session(&db.store, sam, NOW).await.unwrap();
        let stored: String = sqlx::query_scalar("SELECT id_hash FROM sessions")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_ne!(
            stored, s.token,
            "{}: the token itself is never stored",
            db.backend
        );

        sessions::end(&db.store, &s.token, &Default::default(), NOW + 1)
            .await
            .unwrap();
        assert!(
            sessions::resolve(&db.store, &s.token, timeouts(), NOW + 1)
                .await
                .unwrap()
                .is_none()
        );
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);

        for forged in ["", "abc", &"0".repeat(64), &"Z".repeat(64), &stored] {
            assert!(
                sessions::resolve(&db.store, forged, timeouts(), NOW)
                    .await
                    .unwrap()
                    .is_none(),
                "{forged:?}"
            );
        }
    }
}

#[tokio::test]
async fn deactivated_people_and_contractors_past_their_end_date_cannot_sign_in_or_keep_sessions() {
    for db in seeded_stores().await {
        let eli = person_id(&db.store, "eli.brooks@contoso.example").await;
        let s = dev_session(&db.store, eli, NOW).await.unwrap();
        // Eli's engagement ends 30 days after seeding.
        let after_end = NOW + 31 * 86_400;
        let late = dev_session(&db.store, eli, after_end).await;
        assert!(
            matches!(late, Err(ServiceError::Forbidden)),
            "{}",
            db.backend
        );
        let long = sessions::Timeouts {
            idle: Duration::from_secs(40 * 86_400),
            lifetime: Duration::from_secs(40 * 86_400),
        };
        assert!(
            sessions::resolve(&db.store, &s.token, long, after_end)
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.backend
        );

        let casey = person_id(&db.store, "casey.novak@example.com").await;
        let s = dev_session(&db.store, casey, NOW).await.unwrap();
        sqlx::query("UPDATE people SET deactivated_at = $2 WHERE id = $1")
            .bind(casey)
            .bind(NOW)
            .execute(db.store.pool())
            .await
            .unwrap();
        assert!(
            sessions::resolve(&db.store, &s.token, timeouts(), NOW + 1)
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.backend
        );
    }
}
