//! The `gatehouse` command: `serve` (the default), `migrate`, `seed-demo`, `import` and
//! `audit-verify`.

use super::config::Config;
use super::db::Store;
use super::secrets::Secrets;
use super::services::{audit, docs_import};
use super::state::{AppState, Clock};
use super::{http, seed, telemetry};
use axum::serve::ListenerExt as _;
use std::process::ExitCode;

const USAGE: &str =
    "usage: gatehouse [serve | migrate | seed-demo [--if-empty] | seed-scale [--divide N] [--keys-out FILE] | import PATH | gateway-credential NAME | audit-verify | help | version]

seed-scale loads the demo company and, on top, a large enterprise for benchmarks: 500 teams,
20,000 people, 10,000 APIs with 100,000 operations, 200,000 access requests, 1,000,000 keys
(every count divided by N with --divide N). With --keys-out it writes a gateway credential and
1,000 of the keys for a load generator, one per line with its API, environment and a path it may
call. It reports how long each part took.

import PATH reads one folder per API (gatehouse.yaml, its OpenAPI files, docs/*.md and images),
checks each API whole and brings the catalog in line with it; PATH is an API folder or a folder
of them. It prints a report per API and exits 1 when any API was not imported.

gateway-credential NAME creates a credential for a gateway (nginx, Traefik, Envoy) to present
when it verifies keys, and prints it once.

Settings come from GATEHOUSE_* environment variables and DATABASE_URL, over an optional TOML file
named by GATEHOUSE_CONFIG. See README.md for the list.";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    Migrate,
    SeedDemo {
        if_empty: bool,
    },
    SeedScale {
        divide: usize,
        keys_out: Option<std::path::PathBuf>,
    },
    Import {
        path: std::path::PathBuf,
    },
    GatewayCredential {
        name: String,
    },
    AuditVerify,
    Help,
    Version,
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["serve"] => Ok(Command::Serve),
        ["migrate"] => Ok(Command::Migrate),
        ["seed-demo"] => Ok(Command::SeedDemo { if_empty: false }),
        ["seed-demo", "--if-empty"] => Ok(Command::SeedDemo { if_empty: true }),
        ["seed-scale", rest @ ..] => {
            let (mut divide, mut keys_out) = (1, None);
            let mut words = rest.iter();
            while let Some(word) = words.next() {
                match (*word, words.next()) {
                    ("--divide", Some(n)) => {
                        divide = n.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            format!("--divide needs a whole number from 1, not '{n}'")
                        })?;
                    }
                    ("--keys-out", Some(path)) => keys_out = Some(path.into()),
                    (other, _) => {
                        return Err(format!(
                            "seed-scale: unknown or incomplete option '{other}'"
                        ));
                    }
                }
            }
            Ok(Command::SeedScale { divide, keys_out })
        }
        ["import", path] => Ok(Command::Import { path: path.into() }),
        ["gateway-credential", name] => Ok(Command::GatewayCredential {
            name: (*name).to_owned(),
        }),
        ["audit-verify"] => Ok(Command::AuditVerify),
        ["help" | "--help" | "-h"] => Ok(Command::Help),
        ["version" | "--version" | "-V"] => Ok(Command::Version),
        _ => Err(format!("unknown arguments: {}", words.join(" "))),
    }
}

/// One line on stderr, a non-zero exit.
fn die(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("gatehouse: {message}");
    ExitCode::from(code)
}

pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => return die(2, format!("{e}\n{USAGE}")),
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("gatehouse {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return die(2, format!("configuration: {e}")),
    };
    telemetry::init(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return die(1, format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run(command, config))
}

async fn open_store(config: &Config) -> Result<Store, ExitCode> {
    let store = Store::connect(&config.database, 16).await.map_err(|e| {
        die(
            1,
            format!(
                "DATABASE_URL: cannot open the store ({:?}): {e}",
                config.database
            ),
        )
    })?;
    store
        .migrate()
        .await
        .map_err(|e| die(1, format!("migrations failed: {e}")))?;
    Ok(store)
}

async fn run(command: Command, config: Config) -> ExitCode {
    let store = match open_store(&config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    // A database from before search needs its index, rendered descriptions and reference parts
    // filled in once.
    match super::services::publish::backfill(&store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            filled = n,
            "search index, descriptions and reference parts filled in"
        ),
        Err(e) => return die(1, format!("filling in the search index failed: {e}")),
    }
    let code = match command {
        Command::Migrate => {
            println!("migrations applied");
            ExitCode::SUCCESS
        }
        Command::SeedDemo { if_empty } => {
            match seed::seed_demo(&store, Clock::System.now()).await {
                Ok(report) => {
                    println!(
                        "demo data loaded: {} teams, {} people, {} APIs",
                        report.teams, report.people, report.apis
                    );
                    ExitCode::SUCCESS
                }
                Err(seed::SeedError::NotEmpty) if if_empty => {
                    println!("demo data skipped: the database already has people");
                    ExitCode::SUCCESS
                }
                Err(e) => die(1, format!("seed-demo: {e}")),
            }
        }
        Command::SeedScale { divide, keys_out } => {
            let secrets = match Secrets::load_or_create(&config) {
                Ok(s) => s,
                Err(e) => return die(1, format!("secrets: {e}")),
            };
            let scale = super::scale::Scale::ENTERPRISE.divided(divide);
            println!("seeding {scale:?}");
            let sample = if keys_out.is_some() { 1_000 } else { 0 };
            let now = Clock::System.now();
            match super::scale::seed_scale(&store, scale, secrets.key_pepper.expose(), sample, now)
                .await
            {
                Ok(report) => {
                    for (part, seconds) in &report.timings {
                        println!("{part}: {seconds:.1} s");
                    }
                    println!(
                        "scale data loaded in {:.1} s: {} teams, {} people, {} APIs with {} operations, {} access requests ({} stages, {} grants), {} keys",
                        report.total_seconds(),
                        report.teams,
                        report.people,
                        report.apis,
                        report.operations,
                        report.requests,
                        report.steps,
                        report.grants,
                        report.keys
                    );
                    if let Some(path) = keys_out {
                        let credential = match super::services::gateways::create_by_operator(
                            &store, "bench", now,
                        )
                        .await
                        {
                            Ok(c) => c.secret,
                            Err(e) => return die(1, crate::model::AppError::from(e)),
                        };
                        // The credential, then a key a line: key, API, environment and a
                        // path its scopes allow, separated by spaces.
                        let mut text = credential;
                        for sample in &report.sample_keys {
                            text.push_str(&format!(
                                "\n{} {} {} {}",
                                sample.key, sample.api, sample.environment, sample.path
                            ));
                        }
                        text.push('\n');
                        if let Err(e) = std::fs::write(&path, text) {
                            return die(1, format!("{}: {e}", path.display()));
                        }
                        println!(
                            "gateway credential and {} keys written to {}",
                            report.sample_keys.len(),
                            path.display()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => die(1, format!("seed-scale: {e}")),
            }
        }
        Command::GatewayCredential { name } => {
            match super::services::gateways::create_by_operator(&store, &name, Clock::System.now())
                .await
            {
                Ok(created) => {
                    println!("{}", created.secret);
                    ExitCode::SUCCESS
                }
                Err(e) => die(1, crate::model::AppError::from(e)),
            }
        }
        Command::Import { path } => {
            match docs_import::import(&store, &path, config.max_spec_bytes, Clock::System.now())
                .await
            {
                Ok(reports) => {
                    for r in &reports {
                        print!("{}", r.render());
                    }
                    let failed = reports
                        .iter()
                        .filter(|r| matches!(r.outcome, docs_import::Outcome::Failed(_)))
                        .count();
                    println!(
                        "{} of {} APIs imported",
                        reports.len() - failed,
                        reports.len()
                    );
                    if failed == 0 {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => die(1, format!("import: {e}")),
            }
        }
        Command::AuditVerify => match audit::verify(&store).await {
            Ok(audit::ChainReport::Intact { events }) => {
                println!("audit chain intact: {events} events");
                ExitCode::SUCCESS
            }
            Ok(audit::ChainReport::Broken { at_event, reason }) => match at_event {
                Some(id) => die(1, format!("audit chain broken at event {id}: {reason}")),
                None => die(1, format!("audit chain broken at its head: {reason}")),
            },
            Err(e) => die(1, format!("audit-verify: {e}")),
        },
        Command::Serve => serve(store.clone(), config).await,
        Command::Help | Command::Version => ExitCode::SUCCESS,
    };
    store.close().await;
    code
}

async fn serve(store: Store, config: Config) -> ExitCode {
    let secrets = match Secrets::load_or_create(&config) {
        Ok(s) => s,
        Err(e) => return die(1, format!("secrets: {e}")),
    };
    let bind = config.bind;
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => return die(1, format!("GATEHOUSE_BIND: cannot listen on {bind}: {e}")),
    };
    if config.dev_login {
        tracing::warn!(
            "the development sign-in is ON: anyone who reaches {bind} can act as anyone"
        );
    }
    // Port 0 asks the OS for a free port: report the one actually bound.
    let bound = listener.local_addr().unwrap_or(bind);
    let state = match AppState::new(store, config, secrets, Clock::System) {
        Ok(state) => state,
        Err(e) => return die(2, format!("GATEHOUSE_OIDC_ISSUER: {e}")),
    };
    let jobs = super::jobs::Jobs::new(
        state.store.clone(),
        &state.config,
        state.secrets.clone(),
        state.clock.clone(),
    );
    tokio::spawn(jobs.run());
    // The verifier's upkeep, on one ticker: keys in use are read again before their cache
    // entries run out (every second), and key usage, counted in memory, is written every five
    // seconds, never once per call.
    let verifier = state.verifier.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
        for second in 0u64.. {
            ticker.tick().await;
            verifier.refresh_cached().await;
            if second % 5 == 4
                && let Err(error) = verifier.flush_usage().await
            {
                tracing::warn!(%error, "writing key usage failed; it is counted again");
            }
        }
    });
    if let super::config::DatabaseUrl::Postgres(url) = &state.config.database {
        state.verifier.follow_replicas(url.clone());
    }
    if let Some(metrics_bind) = state.config.metrics_bind {
        match tokio::net::TcpListener::bind(metrics_bind).await {
            Ok(listener) => {
                let verifier = state.verifier.clone();
                let app = axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(move || {
                        let verifier = verifier.clone();
                        async move {
                            (
                                [("content-type", "text/plain; version=0.0.4")],
                                verifier.metrics.render(),
                            )
                        }
                    }),
                );
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                tracing::info!(%metrics_bind, "metrics are served");
            }
            Err(e) => {
                return die(
                    1,
                    format!("GATEHOUSE_METRICS_BIND: cannot listen on {metrics_bind}: {e}"),
                );
            }
        }
    }
    let verifier = state.verifier.clone();
    let app = http::router(state);
    tracing::info!(%bound, "Gatehouse is listening");
    println!("Gatehouse is running at http://{bound}");
    // Pages are streamed in several writes: with Nagle's algorithm on, a write that follows a
    // small one waits for the client's delayed acknowledgement (up to 40 ms on Linux).
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY could not be set on a connection");
        }
    });
    // In-flight requests get a bounded time to finish: a client that went away must not keep
    // the process alive after SIGTERM.
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
    });
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let code = tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => die(1, format!("server error: {e}")),
        },
        () = deadline => {
            tracing::warn!(
                grace = ?SHUTDOWN_GRACE,
                "requests still open after the grace period were dropped"
            );
            ExitCode::SUCCESS
        }
    };
    // Key usage is counted in memory and written every five seconds: what was counted since the
    // last write is written now, or it would be lost with the process.
    match tokio::time::timeout(SHUTDOWN_GRACE, verifier.flush_usage()).await {
        Ok(Ok(keys)) => tracing::info!(keys, "key usage written"),
        Ok(Err(error)) => tracing::error!(%error, "key usage since the last write is lost"),
        Err(_) => {
            tracing::error!("writing key usage took too long; usage since the last write is lost")
        }
    }
    tracing::info!("stopped");
    code
}

/// How long in-flight requests may take to finish once a shutdown signal arrives.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves on SIGINT or SIGTERM; in-flight requests then finish before the process exits.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn serve_is_the_default_and_unknown_words_are_refused() {
        assert_eq!(parse_args(&args(&[])), Ok(Command::Serve));
        assert_eq!(
            parse_args(&args(&["seed-demo", "--if-empty"])),
            Ok(Command::SeedDemo { if_empty: true })
        );
        assert!(parse_args(&args(&["serve", "--now"])).is_err());
        assert_eq!(
            parse_args(&args(&["import", "apis/"])),
            Ok(Command::Import {
                path: "apis/".into()
            })
        );
        assert!(parse_args(&args(&["import"])).is_err());
        assert_eq!(
            parse_args(&args(&[
                "seed-scale",
                "--divide",
                "100",
                "--keys-out",
                "k.txt"
            ])),
            Ok(Command::SeedScale {
                divide: 100,
                keys_out: Some("k.txt".into())
            })
        );
        assert!(parse_args(&args(&["seed-scale", "--divide", "0"])).is_err());
        assert!(parse_args(&args(&["seed-scale", "--divide"])).is_err());
        assert!(parse_args(&args(&["seed-scale", "--fast"])).is_err());
    }
}
