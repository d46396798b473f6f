//! The authorization matrix: every server function and sign-in-protected route, called as each
//! role (anonymous, contractor, employee, manager, API owner, admin), and for objects that belong
//! to someone else. A row states who gets through; "through" means the call reached its rules
//! (success, or a validation or conflict answer), not that it was refused as 401, 403 or 404.
//! Add a row for every new server function.

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::web::{SAME_ORIGIN, post_form, send};
use common::{NOW, TestStore, app_state, config, person_id, seeded_stores};
use gatehouse::server::actor::Actor;
use gatehouse::server::authz;
use gatehouse::server::http::router;
use gatehouse::server::services::invitations::{self, NewInvitation};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    Contractor,
    Employee,
    Manager,
    ApiOwner,
    Admin,
}

const ROLES: [Role; 6] = [
    Role::Anonymous,
    Role::Contractor,
    Role::Employee,
    Role::Manager,
    Role::ApiOwner,
    Role::Admin,
];

/// What a role gets from a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Reached the rules: any status but 401, 403, 404 and 5xx.
    Through,
    /// Exactly this status.
    Status(u16),
}

use Outcome::{Status, Through};
const UNAUTH: Outcome = Status(401);
const DENIED: Outcome = Status(403);
const HIDDEN: Outcome = Status(404);

/// Who plays each role in the demo company, plus a manager who owns no team.
async fn setup(db: &TestStore) -> Vec<(Role, Option<String>)> {
    let now = NOW;
    sqlx::query(
        "INSERT INTO people (email, name, kind, created_at, updated_at)
         VALUES ('manny.ager@example.com', 'Manny Ager', 'employee', $1, $1)",
    )
    .bind(now)
    .execute(db.store.pool())
    .await
    .unwrap();
    let manny = person_id(&db.store, "manny.ager@example.com").await;
    sqlx::query("UPDATE people SET manager_id = $1 WHERE email = 'casey.novak@example.com'")
        .bind(manny)
        .execute(db.store.pool())
        .await
        .unwrap();
    let mut out = Vec::new();
    for (role, email) in [
        (Role::Anonymous, None),
        (Role::Contractor, Some("dana.fox@northwind.example")),
        (Role::Employee, Some("casey.novak@example.com")),
        (Role::Manager, Some("manny.ager@example.com")),
        (Role::ApiOwner, Some("priya.shah@example.com")),
        (Role::Admin, Some("alex.rivera@example.com")),
    ] {
        let cookie = match email {
            None => None,
            Some(email) => Some(common::session_cookie(&db.store, email).await),
        };
        out.push((role, cookie));
    }
    out
}

async fn actor(db: &TestStore, email: &str) -> Actor {
    common::actor(&db.store, email).await
}

fn matches(outcome: Outcome, status: StatusCode) -> bool {
    match outcome {
        Status(s) => status.as_u16() == s,
        Through => !matches!(status.as_u16(), 401 | 403 | 404) && !status.is_server_error(),
    }
}

struct Row {
    path: &'static str,
    body: String,
    expect: [Outcome; 6],
}

fn row(path: &'static str, body: impl Into<String>, expect: [Outcome; 6]) -> Row {
    Row {
        path,
        body: body.into(),
        expect,
    }
}

async fn check(app: &Router, cookies: &[(Role, Option<String>)], rows: &[Row], backend: &str) {
    let mut failures = Vec::new();
    for r in rows {
        for (i, (role, cookie)) in cookies.iter().enumerate() {
            let reply = send(
                app,
                post_form(r.path, r.body.clone(), SAME_ORIGIN, cookie.as_deref()),
            )
            .await;
            if !matches(r.expect[i], reply.status) {
                failures.push(format!(
                    "{backend} {} [{}] as {role:?}: expected {:?}, got {} {}",
                    r.path,
                    r.body,
                    r.expect[i],
                    reply.status,
                    reply.body.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn every_server_function_admits_exactly_the_roles_it_should() {
    for db in seeded_stores().await {
        let cookies = setup(&db).await;
        assert_eq!(cookies.len(), ROLES.len());
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let casey = person_id(&db.store, "casey.novak@example.com").await;

        // An invitation Sam sent and revoked: only Sam, its sponsor or an admin may touch it
        // (they get a conflict, because it is revoked; everyone else is told it does not exist).
        let sam = actor(&db, "sam.taylor@example.com").await;
        let cap = authz::invite_contractors(&sam).unwrap();
        let created = invitations::create(
            &db.store,
            &sam,
            &cap,
            &NewInvitation {
                email: "pat@initech.example".into(),
                company: "Initech".into(),
                ends_on: "2027-01-31".into(),
                sponsor_email: None,
            },
            180,
            SAME_ORIGIN,
            NOW,
        )
        .await
        .unwrap();
        let inv = created.invitation.id;
        invitations::revoke(&db.store, &sam, inv, NOW)
            .await
            .unwrap();
        let eli = person_id(&db.store, "eli.brooks@contoso.example").await;

        //                                                        anon    contractor employee manager owner   admin
        let rows = vec![
            row("/api/me", "", [Status(200); 6]),
            row("/api/sign-in/options", "", [Status(200); 6]),
            row(
                "/api/catalog/list",
                "filter[q]=&filter[team]=&filter[lifecycle]=&filter[tag]=",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            row(
                "/api/catalog/facets",
                "",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            row(
                "/api/catalog/api",
                "slug=pet-store",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            // Employees only: a contractor is told it does not exist.
            row(
                "/api/catalog/api",
                "slug=files",
                [UNAUTH, HIDDEN, Through, Through, Through, Through],
            ),
            // Hidden, owned by Platform: its team and admins only.
            row(
                "/api/catalog/api",
                "slug=identity",
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, Through],
            ),
            row(
                "/api/catalog/guide",
                "slug=pet-store&guide=stripe-cli-readme",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            row(
                "/api/catalog/guide",
                "slug=files&guide=octokit-js-readme",
                [UNAUTH, HIDDEN, Through, Through, Through, Through],
            ),
            row(
                "/api/catalog/reference",
                "slug=files",
                [UNAUTH, HIDDEN, Through, Through, Through, Through],
            ),
            row(
                "/api/catalog/changelog",
                "slug=files",
                [UNAUTH, HIDDEN, Through, Through, Through, Through],
            ),
            row(
                "/api/search",
                "query=pets",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            // Editing an API: its team's owners (Priya owns Data, which owns files) and admins;
            // those who cannot see it are told it does not exist.
            row(
                "/api/catalog/edit/load",
                "slug=files",
                [UNAUTH, HIDDEN, DENIED, DENIED, Status(200), Status(200)],
            ),
            row(
                "/api/catalog/edit/load",
                "slug=identity",
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, Status(200)],
            ),
            row(
                "/api/catalog/edit/save",
                "slug=files&edit[name]=&edit[summary]=&edit[description_md]=&edit[lifecycle]=production&edit[visibility]=employees&edit[tags]=&edit[repository_url]=&edit[runbook_url]=&edit[chat_channel]=",
                [UNAUTH, HIDDEN, DENIED, DENIED, Status(422), Status(422)],
            ),
            // Publish tokens: the team's owners and admins.
            row(
                "/api/teams/tokens",
                "team=data",
                [UNAUTH, DENIED, DENIED, DENIED, Status(200), Status(200)],
            ),
            row(
                "/api/teams/tokens/create",
                "team=data&name=",
                [UNAUTH, DENIED, DENIED, DENIED, Status(422), Status(422)],
            ),
            row(
                "/api/teams/tokens/revoke",
                "team=data&id=999999",
                [UNAUTH, DENIED, DENIED, DENIED, HIDDEN, HIDDEN],
            ),
            row(
                "/api/me/profile",
                "",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            // Authorization comes before validation: an admin's bad format is a 400.
            row(
                "/api/admin/org/import",
                "format=xml&content=",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(400)],
            ),
            row(
                "/api/invitations/limits",
                "",
                [UNAUTH, DENIED, Through, Through, Through, Through],
            ),
            row(
                "/api/invitations/list",
                "",
                [UNAUTH, DENIED, Through, Through, Through, Through],
            ),
            row(
                "/api/invitations/create",
                "email=not-an-email&company=X&ends_on=2027-01-01",
                [
                    UNAUTH,
                    DENIED,
                    Status(422),
                    Status(422),
                    Status(422),
                    Status(422),
                ],
            ),
            row(
                "/api/invitations/revoke",
                format!("id={inv}"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, Status(409)],
            ),
            row(
                "/api/invitations/extend",
                format!("id={inv}&ends_on=2027-01-01"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, Status(409)],
            ),
            // The invitation page needs no sign-in: the link is the credential.
            row("/api/invitations/preview", "token=nope", [Status(422); 6]),
            row(
                "/api/admin/people",
                "q=",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/admin/person",
                format!("id={casey}"),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/admin/person/kind",
                format!("id={casey}&kind=employee"),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/admin/person/manager",
                format!("id={casey}&manager_email=manny.ager%40example.com"),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/admin/person/admin",
                format!("id={casey}&admin=false"),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/admin/person/active",
                format!("id={casey}&active=true"),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            // Ending someone else's sessions (Sam's): admins only, not even their manager.
            row(
                "/api/admin/person/sessions",
                format!("id={}", sam.person_id),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/teams/list",
                "",
                [UNAUTH, Through, Through, Through, Through, Through],
            ),
            // A team's membership: its owners (Priya owns Data) and admins.
            row(
                "/api/teams/member",
                "team=data&email=casey.novak%40example.com&role=member",
                [UNAUTH, DENIED, DENIED, DENIED, Status(200), Status(200)],
            ),
            row(
                "/api/teams/member",
                "team=commerce&email=casey.novak%40example.com&role=member",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
            row(
                "/api/teams/member",
                "team=no-such-team&email=casey.novak%40example.com&role=member",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED],
            ),
            // Eli is Riley's contractor: not Priya's (Riley's manager) nor anyone else's to end,
            // but an admin's. The admin goes last, so the engagement is still running until then.
            row(
                "/api/contractors/end",
                format!("person_id={eli}"),
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(200)],
            ),
        ];
        check(&app, &cookies, &rows, db.backend).await;

        // Object ownership beyond roles: Sam (the inviter) reaches his own invitation; Riley
        // (the sponsor) reaches Eli's engagement.
        let sam_cookie = common::session_cookie(&db.store, "sam.taylor@example.com").await;
        let reply = send(
            &app,
            post_form(
                "/api/invitations/revoke",
                format!("id={inv}"),
                SAME_ORIGIN,
                Some(&sam_cookie),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);

        // Everyone may end their own sessions.
        for (role, cookie) in &cookies {
            let Some(cookie) = cookie else { continue };
            let me = match role {
                Role::Contractor => "dana.fox@northwind.example",
                Role::Employee => "casey.novak@example.com",
                Role::Manager => "manny.ager@example.com",
                Role::ApiOwner => "priya.shah@example.com",
                Role::Admin => "alex.rivera@example.com",
                Role::Anonymous => unreachable!(),
            };
            let id = person_id(&db.store, me).await;
            let reply = send(
                &app,
                post_form(
                    "/api/admin/person/sessions",
                    format!("id={id}"),
                    SAME_ORIGIN,
                    Some(cookie),
                ),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{role:?}: {}", reply.body);
        }
    }
}

#[tokio::test]
async fn session_cookies_are_no_credential_for_scim() {
    for db in seeded_stores().await {
        let cookies = setup(&db).await;
        let app = router(app_state(
            db.store.clone(),
            config(
                &db.dir,
                &[(
                    "GATEHOUSE_SCIM_TOKEN",
                    "scim-token-for-tests-0123456789abcdef",
                )],
            ),
        ));
        for (role, cookie) in &cookies {
            let mut request = common::web::get("/scim/v2/Users", cookie.as_deref());
            request
                .headers_mut()
                .insert("accept", "application/scim+json".parse().unwrap());
            let reply = send(&app, request).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{role:?}");
        }
    }
}

/// The access request functions: requests and grants belong to Sam, who is none of the roles;
/// only the API's owner (Priya owns Data, which owns Files and Patent Data) and admins reach
/// them, and only Sam may cancel or resubmit.
#[tokio::test]
async fn every_access_function_admits_exactly_the_roles_it_should() {
    use gatehouse::model::{Decision, RequestInput};
    use gatehouse::server::services::access;
    for db in seeded_stores().await {
        let cookies = setup(&db).await;
        let app = router(app_state(db.store.clone(), config(&db.dir, &[])));
        let sam = actor(&db, "sam.taylor@example.com").await;
        let ask = |scope: &str| RequestInput {
            environment: "production".into(),
            scopes: vec![scope.into()],
            justification: "For the nightly reconciliation of refunds.".into(),
            duration_days: "10".into(),
        };
        let req = access::submit(&db.store, &sam, "files", &ask("files.write"), NOW)
            .await
            .unwrap();
        let granted = access::submit(&db.store, &sam, "patent-data", &ask("datasets.read"), NOW)
            .await
            .unwrap();
        let morgan = actor(&db, "morgan.lee@example.com").await;
        access::decide(&db.store, &morgan, granted, 0, Decision::Approve, "", NOW)
            .await
            .unwrap();
        let grant: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
            .bind(granted)
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        let ok = Status(200);
        let bad = Status(422);
        let request_fields = "request[environment]=production&request[scopes][0]=files.read&request[justification]=short&request[duration_days]=5";
        let rows = vec![
            row(
                "/api/access/form",
                "slug=files",
                [UNAUTH, HIDDEN, ok, ok, ok, ok],
            ),
            row(
                "/api/access/preview",
                "slug=files&environment=production&scopes[0]=files.read",
                [UNAUTH, HIDDEN, ok, ok, ok, ok],
            ),
            row(
                "/api/access/submit",
                format!("slug=files&{request_fields}"),
                [UNAUTH, HIDDEN, bad, bad, bad, bad],
            ),
            row(
                "/api/access/request",
                format!("id={req}"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, ok, ok],
            ),
            row("/api/access/mine", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row(
                "/api/access/cancel",
                format!("id={req}"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, DENIED, DENIED],
            ),
            row(
                "/api/access/resubmit",
                format!("id={req}&{request_fields}"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, DENIED, DENIED],
            ),
            row(
                "/api/access/comment",
                format!("id={req}&comment=Why+write%3F"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, ok, ok],
            ),
            row("/api/access/inbox", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row("/api/access/counts", "", [ok; 6]),
            row(
                "/api/access/bulk-approve",
                format!("items[0]={req}:0:1"),
                [UNAUTH, ok, ok, ok, ok, ok],
            ),
            row("/api/access/grants/mine", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row(
                "/api/access/grants/api",
                "slug=files",
                [UNAUTH, HIDDEN, DENIED, DENIED, ok, ok],
            ),
            // A reason is needed to revoke someone else's grant: those who may get a 422.
            row(
                "/api/access/grants/revoke",
                format!("id={grant}&reason="),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, bad, bad],
            ),
            row(
                "/api/access/policy",
                "slug=files",
                [UNAUTH, HIDDEN, DENIED, DENIED, ok, ok],
            ),
            row(
                "/api/access/policy/save",
                "slug=files&document=%7B%7D",
                [UNAUTH, HIDDEN, DENIED, DENIED, bad, bad],
            ),
            row(
                "/api/access/policy/preview",
                "slug=files&email=sam.taylor%40example.com&environment=production&scopes=files.read",
                [UNAUTH, HIDDEN, DENIED, DENIED, ok, ok],
            ),
            row("/api/notifications", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row("/api/notifications/read", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row("/api/access/delegations", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row(
                "/api/access/delegations/add",
                "email=x&starts_on=soon&ends_on=later",
                [UNAUTH, DENIED, bad, bad, bad, bad],
            ),
            row(
                "/api/access/delegations/end",
                "id=999999",
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN],
            ),
            row(
                "/api/admin/access-limits",
                "",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, ok],
            ),
            row(
                "/api/admin/access-limits/save",
                "employee_max_days=0&contractor_max_days=30&request_expiry_days=14&reminder_days_before=2",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, bad],
            ),
            // Each person sees the webhooks of the teams they manage only (none, for most).
            row("/api/teams/webhooks", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row(
                "/api/teams/webhook/save",
                "team=data&url=ftp%3A%2F%2Fexample.com",
                [UNAUTH, DENIED, DENIED, DENIED, bad, bad],
            ),
            // Deciding Morgan's stage: the owner of a later stage is refused, the admin (last)
            // may decide any stage.
            row(
                "/api/access/decide",
                format!("id={req}&revision=1&position=0&decision=approve"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, DENIED, ok],
            ),
        ];
        check(&app, &cookies, &rows, db.backend).await;
        // Nothing anyone else did reached Sam's requests: still pending, one stage decided (by
        // the admin, last), Sam's grant unrevoked.
        let state: String = sqlx::query_scalar("SELECT state FROM access_requests WHERE id = $1")
            .bind(req)
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(state, "pending", "{}", db.backend);
        let revoked: Option<i64> =
            sqlx::query_scalar("SELECT revoked_at FROM grants WHERE id = $1")
                .bind(grant)
                .fetch_one(db.store.pool())
                .await
                .unwrap();
        assert_eq!(revoked, None);
    }
}

/// Keys and gateway credentials: a key is its holder's (Sam's, here none of the roles); the
/// API's team owners and admins may see and revoke keys for their API; gateway credentials are
/// for admins.
#[tokio::test]
async fn every_key_function_admits_exactly_the_roles_it_should() {
    for db in seeded_stores().await {
        let cookies = setup(&db).await;
        let state = app_state(db.store.clone(), config(&db.dir, &[]));
        let app = router(state.clone());
        let (_, grant, key) =
            common::sam_pet_store_key(&db.store, state.secrets.key_pepper.expose(), NOW).await;
        let kid = key.key.id;
        let ok = Status(200);
        let rows = vec![
            row("/api/keys/mine", "", [UNAUTH, ok, ok, ok, ok, ok]),
            row(
                "/api/keys/create",
                format!("key[grant_id]={grant}&key[name]=mine&key[scopes][0]=read%3Apets"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN],
            ),
            row(
                "/api/keys/rotate",
                format!("id={kid}&rotations=0"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN],
            ),
            // Priya owns Data, not Commerce (Pet Store's team).
            row(
                "/api/keys/api",
                "slug=pet-store",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, ok],
            ),
            row(
                "/api/admin/gateways",
                "",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, ok],
            ),
            row(
                "/api/admin/gateways/create",
                "name=",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, Status(422)],
            ),
            row(
                "/api/admin/gateways/revoke",
                "id=999999",
                [UNAUTH, DENIED, DENIED, DENIED, DENIED, HIDDEN],
            ),
            // Revoking Sam's key: nobody but an admin among the roles (last, so it stays live
            // for the rows above).
            row(
                "/api/keys/revoke",
                format!("id={kid}&reason=test"),
                [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, ok],
            ),
        ];
        check(&app, &cookies, &rows, db.backend).await;
    }
}
