//! The real `todo-api` binary as a child process, for what only a process shows: signals,
//! exit codes and log output. It logs JSON lines (LOG_FORMAT=json, unless a test asks for
//! `pretty`), which are collected here, and listens on an ephemeral port read from its
//! "listening" line.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long the binary may take to migrate and start listening.
const START_WITHIN: Duration = Duration::from_secs(60);

/// A running `todo-api serve`.
pub struct Binary {
    child: tokio::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Binary {
    /// Starts the binary with a SQLite database in a temp dir (unless `env` sets
    /// DATABASE_URL), the test secret, JSON logs and any extra settings in `env`.
    pub async fn start(env: &[(&str, &str)]) -> Binary {
        // The test then talks to it with reqwest, which needs the crypto provider.
        super::setup();
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = format!("sqlite://{}", dir.path().join("todo.db").display());
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-api"));
        command
            .env_clear()
            .current_dir(dir.path())
            .env("DATABASE_URL", sqlite)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("BETTER_AUTH_SECRET", super::SECRET)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (listening, on_listening) = tokio::sync::oneshot::channel();
        let collected = logs.clone();
        tokio::spawn(async move {
            let mut listening = Some(listening);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(address) = listening_address(&line)
                    && let Some(sender) = listening.take()
                {
                    let _ = sender.send(address.parse::<SocketAddr>().expect("an address"));
                }
                collected.lock().unwrap().push(line);
            }
        });
        let addr = match tokio::time::timeout(START_WITHIN, on_listening).await {
            Ok(Ok(addr)) => addr,
            _ => panic!(
                "the binary did not start listening:\n{}",
                logs.lock().unwrap().join("\n")
            ),
        };
        Binary {
            child,
            addr,
            logs,
            _dir: dir,
        }
    }

    /// Its working directory, which holds the default SQLite database `todo.db`.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The base URL.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id (for reading its `/proc` entries).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    /// Sends a signal (`TERM`, `INT`) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the process is running");
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits for the process to end, at most `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!(
                "the binary did not exit within {within:?}:\n{}",
                self.logs().join("\n")
            ),
        }
    }

    /// The log lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
}

/// The address of the "todo-api listening" line, in either log format.
fn listening_address(line: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<Value>(line) {
        return (json["fields"]["message"] == "todo-api listening")
            .then(|| json["fields"]["address"].as_str().map(str::to_owned))
            .flatten();
    }
    // `pretty`: `… todo-api listening address=127.0.0.1:PORT backend="…"`, perhaps coloured.
    let plain = strip_ansi(line);
    let rest = plain.split_once("todo-api listening")?.1;
    let value = rest.split_once("address=")?.1;
    value.split_whitespace().next().map(str::to_owned)
}

/// `line` without its ANSI colour sequences (`ESC [ … letter`).
pub fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
