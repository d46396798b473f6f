//! Publishing the largest fixture spec (parse, resolve, render, sanitize, index for search, diff
//! against the version before, store) against a plain parse of the same file, as a ratio
//! measured in the same run. Run with `scripts/bench-publish`.

use gatehouse::model::VersionStatus;
use gatehouse::server::config::DatabaseUrl;
use gatehouse::server::db::Store;
use gatehouse::server::render::openapi::DEFAULT_MAX_SPEC_BYTES;
use gatehouse::server::services::publish::{Origin, VersionInput, prepare_version, write_version};
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        format!(
            "{}/demo/fixtures/specs/box_openapi-v2025.0.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let spec = std::fs::read_to_string(&path).expect("read the spec");

    let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&DatabaseUrl::Sqlite(dir.join("bench.db")), 2)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    sqlx::query("INSERT INTO teams (slug, name, created_at) VALUES ('t', 'T', 0)")
        .execute(store.pool())
        .await
        .unwrap();
    for slug in ["a", "b"] {
        sqlx::query("INSERT INTO apis (slug, name, owner_team_id, lifecycle, visibility, created_at, updated_at) VALUES ($1, $1, 1, 'production', 'everyone', 0, 0)")
            .bind(slug)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let input = |label: &str| VersionInput {
        label: label.to_owned(),
        status: VersionStatus::Current,
        release_notes: String::new(),
        spec: Some(("spec".to_owned(), spec.as_bytes().to_vec())),
    };
    // API b has a version already, so publishing to it also diffs against that one.
    let before = prepare_version("b", None, input("v0"), DEFAULT_MAX_SPEC_BYTES).unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    write_version(&mut tx, 2, "b", &before, Some(&[]), Origin::Import, 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // One timed publish of a new version `v1` to API `api_id`, then (untimed) its removal, so
    // every run publishes into the same state.
    let publish_once = |api_id: i64, slug: &'static str| {
        let store = store.clone();
        let spec = spec.clone();
        async move {
            let started = Instant::now();
            let version = prepare_version(
                slug,
                None,
                VersionInput {
                    label: "v1".into(),
                    status: VersionStatus::Current,
                    release_notes: String::new(),
                    spec: Some(("spec".to_owned(), spec.into_bytes())),
                },
                DEFAULT_MAX_SPEC_BYTES,
            )
            .unwrap_or_else(|p| panic!("{}", p[0]));
            let prepared = started.elapsed();
            let mut tx = store.pool().begin().await.unwrap();
            write_version(
                &mut tx,
                api_id,
                slug,
                &version,
                Some(&[]),
                Origin::Import,
                1,
            )
            .await
            .expect("publishes");
            tx.commit().await.unwrap();
            let took = started.elapsed();
            for sql in [
                "DELETE FROM search_documents WHERE version_id IN (SELECT id FROM api_versions WHERE label = 'v1')",
                "DELETE FROM version_diffs WHERE to_version_id IN (SELECT id FROM api_versions WHERE label = 'v1')",
                "DELETE FROM api_versions WHERE label = 'v1'",
            ] {
                sqlx::query(sql).execute(store.pool()).await.unwrap();
            }
            let reference = &version.spec.as_ref().unwrap().reference;
            (
                took,
                prepared,
                reference.operations.len(),
                reference.html.len(),
            )
        }
    };

    let mut parse = Vec::new();
    let mut publish = Vec::new();
    let mut prepare = Vec::new();
    let mut publish_with_diff = Vec::new();
    let mut operations = 0;
    let mut html_bytes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let value: serde_json::Value = serde_json::from_str(&spec).unwrap();
        std::hint::black_box(&value);
        parse.push(started.elapsed());

        let (took, prepared, ops, html) = publish_once(1, "a").await;
        publish.push(took);
        prepare.push(prepared);
        operations = ops;
        html_bytes = html;
        let (took, _, _, _) = publish_once(2, "b").await;
        publish_with_diff.push(took);
    }
    // Where the time goes: parsing and checking, rendering, storing.
    let mut checked = Vec::new();
    let mut rendered = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let (value, _) =
            gatehouse::server::render::openapi::parse(spec.as_bytes(), DEFAULT_MAX_SPEC_BYTES)
                .unwrap();
        std::hint::black_box(gatehouse::server::render::openapi::check_refs(&value));
        checked.push(started.elapsed());
        let started = Instant::now();
        let r = gatehouse::server::render::openapi::render(
            spec.as_bytes(),
            &gatehouse::server::render::openapi::Context {
                base_url: None,
                max_bytes: DEFAULT_MAX_SPEC_BYTES,
            },
        );
        std::hint::black_box(r.is_ok());
        rendered.push(started.elapsed());
    }
    println!(
        "  of which parse and check refs: {:?}; parse, check and render: {:?}; prepare (the same, split into parts, notes): {:?}; the rest is storing",
        median(checked),
        median(rendered),
        median(prepare)
    );
    let (parse, publish, with_diff) = (median(parse), median(publish), median(publish_with_diff));
    println!(
        "spec: {path} ({} KB, {operations} operations, {} KB of HTML stored)",
        spec.len() / 1024,
        html_bytes / 1024
    );
    println!("plain parse (serde_json to a value): {parse:?} median of {runs}");
    println!(
        "publish, first version (parse, resolve, render, sanitize, index, store): {publish:?} median of {runs}"
    );
    println!(
        "publish after a version (the same, plus the diff against it): {with_diff:?} median of {runs}"
    );
    println!(
        "ratio publish / parse: {:.1}x (goal: at most 10x); with the diff: {:.1}x",
        publish.as_secs_f64() / parse.as_secs_f64(),
        with_diff.as_secs_f64() / parse.as_secs_f64()
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
