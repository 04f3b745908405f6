//! The `todo-api` binary itself: start-up checks, the development secret, `token`, `migrate`.
//! Each case runs on SQLite and PostgreSQL.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Backend;
use common::pg::TempDatabase;

backend_cases!(
    dev_mode_on_loopback_serves_with_minted_tokens,
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
    command
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info");
    command
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on an ephemeral port and returns it with the address it logged.
fn serve(mut command: Command) -> (Server, String, String) {
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
                return (server, address, log);
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
    assert!(
        log.contains("todo-api token"),
        "the log says how to mint a token: {log}"
    );
    let secret_file = match backend {
        Backend::Sqlite => dir.path().join("todo.db.dev-secret"),
        Backend::Postgres => dir.path().join(".todo-api.dev-secret"),
    };
    assert!(secret_file.exists(), "{} exists", secret_file.display());

    let output = command(dir.path(), &url)
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

    todo_api::install_crypto_provider();
    let client = reqwest::Client::new();
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
        .bearer_auth(common::token_for("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "only the dev secret verifies"
    );
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
        .env("BETTER_AUTH_SECRET", common::SECRET)
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
    // As many as there are migration folders (the same names for both backends).
    let embedded = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    let applied = format!("applied {embedded} migration(s)");
    assert!(
        String::from_utf8_lossy(&first.stdout).contains(&applied),
        "{}",
        String::from_utf8_lossy(&first.stdout)
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
    command.env("BETTER_AUTH_SECRET", common::SECRET);
    let (_server, address, _) = serve(command);
    todo_api::install_crypto_provider();
    let client = reqwest::Client::new();
    let token = common::token_for("alice");
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
        .env("BETTER_AUTH_SECRET", common::SECRET)
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
    todo_api::install_crypto_provider();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client
            .get(format!("http://{address}/api/alice/tasks"))
            .bearer_auth(common::token_for("alice"))
            .send()
            .await
            .expect("the server still answers");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    drop(server);
}
