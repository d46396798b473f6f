//! The `gatehouse` binary as operators meet it: bad settings, migrations, secrets and shutdown.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn gatehouse(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATEHOUSE_DATA_DIR", dir)
        .env("GATEHOUSE_LOG", "info");
    cmd
}

#[test]
fn each_bad_setting_exits_non_zero_with_one_line_naming_it() {
    let dir = common::temp_dir();
    let toml = dir.join("bad.toml");
    std::fs::write(&toml, "bind = [\n").unwrap();
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let cases: [(&str, &str, &str); 5] = [
        (
            "DATABASE_URL",
            "mysql://localhost/gatehouse",
            "DATABASE_URL: unsupported scheme 'mysql'",
        ),
        (
            "GATEHOUSE_BIND",
            "not-an-address",
            "GATEHOUSE_BIND: 'not-an-address' is not an address",
        ),
        (
            "GATEHOUSE_CONFIG",
            toml.to_str().unwrap(),
            "invalid TOML at line 2, column 1",
        ),
        (
            "GATEHOUSE_DATA_DIR",
            file.to_str().unwrap(),
            "not a directory",
        ),
        (
            "GATEHOUSE_BIND",
            "0.0.0.0:3000",
            "GATEHOUSE_DEV_LOGIN: the development sign-in",
        ),
    ];
    for (name, value, expected) in cases {
        let out = gatehouse(&dir)
            .env(name, value)
            .env(
                "GATEHOUSE_DEV_LOGIN",
                if name == "GATEHOUSE_BIND" && value.starts_with("0.") {
                    "true"
                } else {
                    "false"
                },
            )
            .arg("migrate")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}={value}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{name}={value}: one line, got {stderr:?}"
        );
        assert!(stderr.starts_with("gatehouse: configuration: "), "{stderr}");
        assert!(
            stderr.contains(expected),
            "{name}={value}: {stderr:?} lacks {expected:?}"
        );
    }
}

#[test]
fn unknown_arguments_are_refused_with_usage() {
    let dir = common::temp_dir();
    let out = gatehouse(&dir).arg("serve-please").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: gatehouse"));
}

#[test]
fn migrate_and_seed_demo_prepare_an_sqlite_file_and_seed_only_once() {
    let dir = common::temp_dir();
    let out = gatehouse(&dir).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("gatehouse.db").exists());

    let out = gatehouse(&dir)
        .args(["seed-demo", "--if-empty"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo data loaded: 3 teams, 9 people"));
    let out = gatehouse(&dir)
        .args(["seed-demo", "--if-empty"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipped"));
    let out = gatehouse(&dir).arg("seed-demo").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "without --if-empty a full database is an error"
    );
}

#[test]
fn import_prints_a_report_per_api_and_exits_non_zero_when_one_fails() {
    let dir = common::temp_dir();
    let out = gatehouse(&dir).arg("seed-demo").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let apis = dir.join("apis");
    for (name, manifest) in [
        (
            "ledger",
            "slug: ledger\nname: Ledger\nowner: data\nlifecycle: experimental\nversions:\n  - label: '1.0'\n    spec: openapi.yaml\n",
        ),
        (
            "broken",
            "slug: broken\nname: Broken\nowner: data\nlifecycle: sunset\n",
        ),
    ] {
        std::fs::create_dir_all(apis.join(name).join("docs")).unwrap();
        std::fs::write(apis.join(name).join("gatehouse.yaml"), manifest).unwrap();
    }
    std::fs::write(
        apis.join("ledger/openapi.yaml"),
        "openapi: 3.1.0\ninfo: {title: Ledger, version: '1.0'}\npaths:\n  /entries:\n    get: {summary: List entries, responses: {'200': {description: ok}}}\n",
    )
    .unwrap();
    std::fs::write(apis.join("ledger/docs/intro.md"), "# Intro\n").unwrap();

    let out = gatehouse(&dir).arg("import").arg(&apis).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("ledger: created: 1 version(s), 1 guide(s), 1 operation(s), 0 image(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("broken (broken): not imported, 1 problem:"),
        "{stdout}"
    );
    assert!(stdout.contains("unknown lifecycle 'sunset'"), "{stdout}");
    assert!(stdout.contains("1 of 2 APIs imported"), "{stdout}");

    // Fixed, the same command imports both and exits 0; the ledger is updated, not duplicated.
    std::fs::write(
        apis.join("broken/gatehouse.yaml"),
        "slug: broken\nname: Broken\nowner: data\nlifecycle: retired\n",
    )
    .unwrap();
    let out = gatehouse(&dir).arg("import").arg(&apis).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("ledger: updated"), "{stdout}");
    assert!(stdout.contains("2 of 2 APIs imported"), "{stdout}");

    let out = gatehouse(&dir)
        .args(["import", "/nonexistent/apis"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
}

#[test]
fn serve_generates_private_secrets_never_logs_them_refuses_oversized_headers_and_stops_cleanly_on_sigterm()
 {
    let dir = common::temp_dir();
    let mut child = gatehouse(&dir)
        .env("GATEHOUSE_BIND", "127.0.0.1:0")
        .env("GATEHOUSE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("Gatehouse is running at http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();

    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Oversized headers are refused by the HTTP layer before any handler runs, and the server
    // goes on answering.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let huge = format!(
        "GET /me HTTP/1.1\r\nHost: x\r\nCookie: gatehouse_session={}\r\nConnection: close\r\n\r\n",
        "a".repeat(600_000)
    );
    // The server may close before reading it all; what matters is its answer.
    let _ = conn.write_all(huge.as_bytes());
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("shutdown signal received"), "{logs}");

    for file in ["session.key", "key-pepper.key"] {
        let path = dir.join("secrets").join(file);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
        let secret = std::fs::read_to_string(&path).unwrap();
        assert_eq!(secret.trim().len(), 64);
        assert!(
            !logs.contains(secret.trim()) && !line.contains(secret.trim()),
            "{file} leaked into the logs"
        );
    }
}
