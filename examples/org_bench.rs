//! The org file at company scale: an admin imports `PEOPLE` people (default 20,000: a reporting
//! tree eight wide, everyone in one of the demo company's teams, every fiftieth an owner), then
//! the same file again (nothing changes), then a reorganisation (a tree six wide, a third of the
//! people renamed, other owners). Prints each import's time and report. Runs on the demo company,
//! in SQLite in a temporary directory, or in the PostgreSQL database `DATABASE_URL` names (it
//! must be empty: the schema is migrated into it). Run with `scripts/bench-org`.

mod common;

use common::{BenchStore, env_number};
use gatehouse::domain::org::OrgFormat;
use gatehouse::server::authz;
use gatehouse::server::db::people;
use gatehouse::server::seed::seed_demo;
use gatehouse::server::services::org;
use std::time::Instant;

const TEAMS: [&str; 3] = ["platform", "commerce", "data"];

/// The org file: person `i` reports to `(i - 1) / width`; `renamed` and `owner` pick who.
fn company(
    n: usize,
    width: usize,
    renamed: impl Fn(usize) -> bool,
    owner: impl Fn(usize) -> bool,
) -> String {
    let mut file = String::from("email,name,manager_email,teams\n");
    for i in 0..n {
        let manager = match i {
            0 => String::new(),
            _ => format!("p{}@corp.example.com", (i - 1) / width),
        };
        let name = if renamed(i) {
            format!("Person {i} (renamed)")
        } else {
            format!("Person {i}")
        };
        let role = if owner(i) { ":owner" } else { "" };
        file.push_str(&format!(
            "p{i}@corp.example.com,{name},{manager},{}{role}\n",
            TEAMS[i % 3]
        ));
    }
    file
}

#[tokio::main]
async fn main() {
    let n = env_number("PEOPLE", 20_000);
    let bench = BenchStore::open("org-bench").await;
    let (store, backend) = (&bench.store, bench.backend);
    let now = 1_800_000_000;
    seed_demo(store, now).await.expect("the demo company");
    let admin_id: i64 =
        sqlx::query_scalar("SELECT id FROM people WHERE email = 'alex.rivera@example.com'")
            .fetch_one(store.pool())
            .await
            .expect("the demo admin");
    let admin = people::find_active_actor(store.pool(), admin_id, now)
        .await
        .expect("read the admin")
        .expect("the admin is active");
    let cap = authz::manage_org(&admin).expect("the demo admin manages the org");

    let first = company(n, 8, |_| false, |i| i.is_multiple_of(50));
    let reorganised = company(n, 6, |i| i.is_multiple_of(3), |i| i.is_multiple_of(40));
    for (what, file) in [
        ("first import", &first),
        ("the same file again", &first),
        ("a reorganisation", &reorganised),
    ] {
        let started = Instant::now();
        let report = org::import(store, &admin, &cap, OrgFormat::Csv, file, now)
            .await
            .expect("the import");
        println!(
            "{backend}: {what} of {n} people ({} KB): {:.0} ms; {report:?}",
            file.len() / 1024,
            started.elapsed().as_secs_f64() * 1e3,
        );
    }
    bench.close().await;
}
