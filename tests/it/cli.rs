//! The `todo-api` binary itself: start-up checks, the development secret, `token`, `migrate`.
//! Each case runs on SQLite and PostgreSQL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Backend;
use crate::common::pg::TempDatabase;

backend_cases!(
    dev_mode_on_loopback_serves_with_minted_tokens,
    dev_secret_file_is_private,
    refuses_a_network_address_without_auth,
    bad_settings_name_the_variable,
    migrate_applies_once,
);

const BIN: &str = env!("CARGO_BIN_EXE_todo-api");

/// A database URL for the backend (a fresh one), plus what keeps it alive.
async fn database(backend: Backend, dir: &Path) -> Option<(String, Option<TempDatabase>)> {
    match backend {
        Backend::Sqlite => Some((format!("sqlite://{}", dir.join("todo.db").display()), None)),
        Backend::Postgres => {
            let db = TempDatabase::create().await?;
            Some((db.url.clone(), Some(db)))
        }
    }
}

/// The binary with a clean environment (no auth, no database from the caller's shell).
fn command(dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(BIN);
    for var in [
        "BETTER_AUTH_SECRET",
        "JWT_SECRET",
        "BETTER_AUTH_URL",
        "JWKS_URL",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_ALGORITHMS",
        "HOST",
        "PORT",
        "DEV_SECRET_FILE",
    ] {
        command.env_remove(var);
    }
    // The development secret's default place is under XDG_CONFIG_HOME: keep it in the test's
    // directory, never the real home.
    command
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("RUST_LOG", "info");
    command
}

/// Where `command` keeps the development secret.
fn dev_secret(dir: &Path) -> std::path::PathBuf {
    dir.join("config").join("todo-api").join("dev-secret")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on an ephemeral port and returns it with the address it logged.
fn serve(command: Command) -> (Server, String, String) {
    let (server, address, log, _) = serve_logging(command);
    (server, address, log)
}

/// As `serve`, plus the log lines written after start-up.
fn serve_logging(
    mut command: Command,
) -> (Server, String, String, std::sync::mpsc::Receiver<String>) {
    let mut child = command
        .args(["--port", "0", "serve"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining for the server's whole life: a closed pipe would fail its log writes.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = String::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            log.push_str(&line);
            log.push('\n');
            if line.contains("todo-api listening") {
                let plain = strip_ansi(&line);
                let address = plain
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("address="))
                    .expect("address in the log")
                    .to_owned();
                return (server, address, log, rx);
            }
        }
    }
    panic!("server did not start; log:\n{log}");
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn dev_mode_on_loopback_serves_with_minted_tokens(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _db)) = database(backend, dir.path()).await else {
        return;
    };
    let (_server, address, log) = serve(command(dir.path(), &url));
    let log = strip_ansi(&log);
    assert!(log.contains("DEVELOPMENT MODE"), "{log}");
    for command in ["`cargo run -- token alice`", "`todo-api token alice`"] {
        assert!(
            log.contains(command),
            "the log says how to mint a token: {log}"
        );
    }
    for url in [
        format!("http://{address}/graphql"),
        format!("http://{address}/docs/"),
        format!("http://{address}/healthz"),
    ] {
        assert!(log.contains(&url), "the log names {url}: {log}");
    }
    assert!(
        log.contains("http://localhost:3000"),
        "dev CORS is logged: {log}"
    );
    let secret_file = dev_secret(dir.path());
    assert!(log.contains(&secret_file.display().to_string()), "{log}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&secret_file)
            .expect("the secret file exists")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the secret");

    // `token` finds the same secret whatever DATABASE_URL and working directory it is given.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = command(dir.path(), "sqlite://some-other.db")
        .current_dir(elsewhere.path())
        .args(["token", "alice", "--ttl", "10m"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    let client = crate::common::http_client();
    let created = client
        .post(format!("http://{address}/api/alice/tasks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "from the CLI test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let forged = client
        .get(format!("http://{address}/api/alice/tasks"))
        .bearer_auth(crate::common::token_for("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "only the dev secret verifies"
    );
}

/// A refused CORS preflight is logged with the setting that would allow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_preflight_is_logged_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    let (_server, address, _, log) = serve_logging(command(dir.path(), &url));
    let client = crate::common::http_client();
    let preflight = |origin: &'static str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("http://{address}/graphql"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    // Development mode's default allows the Next.js dev server: nothing to log.
    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert!(
        allowed
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let refused = preflight("http://localhost:4000").await.unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    while Instant::now() < deadline {
        if let Ok(line) = log.recv_timeout(Duration::from_millis(200)) {
            let line = strip_ansi(&line);
            if line.contains("refused a CORS preflight") {
                assert!(
                    line.contains("CORS_ORIGINS=http://localhost:4000"),
                    "the hint names the setting and value: {line}"
                );
                assert!(!seen.contains("localhost:3000 "), "{seen}");
                return;
            }
            seen.push_str(&line);
            seen.push('\n');
        }
    }
    panic!("no log line for the refused preflight:\n{seen}");
}

async fn refuses_a_network_address_without_auth(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _db)) = database(backend, dir.path()).await else {
        return;
    };
    let output = command(dir.path(), &url)
        .args(["--host", "0.0.0.0", "--port", "0", "serve"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("BETTER_AUTH_SECRET"),
        "names the variable: {stderr}"
    );
    // With a secret it starts.
    let mut with_secret = command(dir.path(), &url);
    with_secret
        .env("BETTER_AUTH_SECRET", crate::common::SECRET)
        .env("HOST", "0.0.0.0");
    let (_server, address, _) = serve(with_secret);
    assert!(address.starts_with("0.0.0.0:"), "{address}");
}

async fn bad_settings_name_the_variable(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _db)) = database(backend, dir.path()).await else {
        return;
    };
    let cases: Vec<(&str, &str, &str)> = vec![
        ("PORT", "eighty", "PORT"),
        ("HOST", "not-an-ip", "HOST"),
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE"),
        ("DB_TIMEOUT", "soon", "DB_TIMEOUT"),
        ("JWT_LEEWAY", "-5", "JWT_LEEWAY"),
        ("JWT_ALGORITHMS", "HS999", "JWT_ALGORITHMS"),
        ("BETTER_AUTH_SECRET", "short", "BETTER_AUTH_SECRET"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("GRAPHQL_INTROSPECTION", "maybe", "GRAPHQL_INTROSPECTION"),
    ];
    for (variable, value, named) in cases {
        let output = command(dir.path(), &url)
            .env(variable, value)
            .arg("serve")
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "{variable}={value} must stop start-up"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{variable}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

async fn migrate_applies_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _db)) = database(backend, dir.path()).await else {
        return;
    };
    let first = command(dir.path(), &url).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Every migration of the backend's folder, whatever their number.
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let all =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_owned() + folder)
            .unwrap()
            .count();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains(&format!("applied {all} migration(s)")),
        "{stdout}"
    );
    let second = command(dir.path(), &url).arg("migrate").output().unwrap();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("applied 0 migration(s)"));
}

/// `sqlite::memory:` is one private database shared by every request of the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_sqlite_keeps_its_data_across_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(dir.path(), "sqlite::memory:");
    command.env("BETTER_AUTH_SECRET", crate::common::SECRET);
    let (_server, address, _) = serve(command);
    let client = crate::common::http_client();
    let token = crate::common::token_for("alice");
    let creates = (0..20).map(|n| {
        client
            .post(format!("http://{address}/api/alice/tasks"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"title": format!("in memory {n}")}))
            .send()
    });
    for response in futures::future::join_all(creates).await {
        assert_eq!(response.unwrap().status(), reqwest::StatusCode::CREATED);
    }
    let list: serde_json::Value = client
        .get(format!("http://{address}/api/alice/tasks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 20);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written to disk"
    );
}

/// A log collector that goes away (stderr becomes a closed pipe) must not break requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_log_pipe_does_not_break_requests() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    let mut command = command(dir.path(), &url);
    command
        .env("BETTER_AUTH_SECRET", crate::common::SECRET)
        .env("RUST_LOG", "debug");
    let mut child = command
        .args(["--port", "0", "serve"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = strip_ansi(&lines.next().expect("server logs").unwrap());
        if line.contains("todo-api listening") {
            break line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("address="))
                .unwrap()
                .to_owned();
        }
    };
    drop(lines); // the read end closes: every further log write fails with EPIPE
    let server = Server(child);
    let client = crate::common::http_client();
    for _ in 0..3 {
        let response = client
            .get(format!("http://{address}/api/alice/tasks"))
            .bearer_auth(crate::common::token_for("alice"))
            .send()
            .await
            .expect("the server still answers");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    drop(server);
}

async fn dev_secret_file_is_private(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _db)) = database(backend, dir.path()).await else {
        return;
    };
    let secret = dev_secret(dir.path());
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    let run = || {
        command(dir.path(), &url)
            .args(["token", "alice"])
            .output()
            .unwrap()
    };

    // Readable by others: refused, with the fix.
    std::fs::write(&secret, "a".repeat(64)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = run();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(stderr.contains(&secret.display().to_string()), "{stderr}");
    // The server refuses to start with it too.
    let output = command(dir.path(), &url)
        .args(["--port", "0", "serve"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("chmod 600"));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(run().status.success());

    // A symbolic link is never followed, to read or to write.
    std::fs::remove_file(&secret).unwrap();
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, &secret).unwrap();
    let output = run();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(!target.exists(), "nothing was written through the link");
}

/// `token` refuses what the server would refuse, instead of printing a useless token.
#[test]
fn token_refuses_what_the_server_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    let long = "x".repeat(256);
    let cases: &[(&[&str], &str)] = &[
        (&["token", ""], "empty"),
        (&["token", &long], "longer than 255"),
        (&["token", "al\u{7}ice"], "control characters"),
        (&["token", "alice", "--ttl", "366d"], "at most a year"),
        (&["token", "alice", "--ttl", "0s"], "at least 1s"),
        (
            &["token", "alice", "--ttl", "99999999999999999999d"],
            "--ttl",
        ),
        (
            &["token", "alice", "--ttl", "999999999999999999d"],
            "too long",
        ),
    ];
    for (args, words) in cases {
        let output = command(dir.path(), &url).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(output.stdout.is_empty(), "{args:?}: no token printed");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = command(dir.path(), &url)
        .args(["token", &"y".repeat(255), "--ttl", "365d"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Each subcommand's help lists the settings it uses, not every setting of the server.
#[test]
fn subcommand_help_lists_only_what_it_uses() {
    let help = |args: &[&str]| {
        let output = Command::new(BIN).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let token = help(&["token", "--help"]);
    for used in [
        "--ttl",
        "--auth-secret",
        "--dev-secret-file",
        "--jwt-issuer",
    ] {
        assert!(token.contains(used), "token uses {used}: {token}");
    }
    for unused in ["--port", "--database-url", "--rate-limit", "--cors-origins"] {
        assert!(
            !token.contains(unused),
            "token does not use {unused}: {token}"
        );
    }
    let migrate = help(&["migrate", "--help"]);
    assert!(migrate.contains("--database-url"), "{migrate}");
    for unused in ["--port", "--auth-secret", "--graphql-max-depth"] {
        assert!(!migrate.contains(unused), "migrate does not use {unused}");
    }
    let schema = help(&["print-schema", "--help"]);
    assert!(!schema.contains("--database-url"), "{schema}");
    // serve (and the bare command) list everything.
    for args in [&["serve", "--help"][..], &["--help"][..]] {
        let serve = help(args);
        for used in [
            "--port",
            "--database-url",
            "--cors-origins",
            "--auth-secret",
        ] {
            assert!(serve.contains(used), "{args:?} lists {used}");
        }
    }
    // A hidden setting is still accepted where it is not listed (one .env serves all).
    let output = Command::new(BIN)
        .args(["--port", "1", "print-schema"])
        .output()
        .unwrap();
    assert!(output.status.success());
}
