//! The `gatehouse` binary: configuration → telemetry → store → migrations → router.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    gatehouse::server::cli::main()
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser bundle starts from `hydrate()` in lib.rs; there is no client-side main.
}
