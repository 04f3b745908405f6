//! The OpenAPI document matches the server exactly: schemathesis (pinned, from PyPI) generates
//! requests from `/openapi.json` with a fixed seed and a bounded number of examples, against
//! the real binary on SQLite and PostgreSQL, and must find no server error and no response
//! that breaks the document.
//!
//! Opt-in, because it installs schemathesis from PyPI (a network side effect a plain
//! `cargo test` must not have): it runs when `TODO_API_CONTRACT=1`, which `.ci/run` sets. Once
//! opted in, it installs schemathesis into a virtualenv under `target/` and a failed install is
//! a failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::common::binary::Binary;
use crate::common::token_for;

/// The pinned schemathesis release.
const SCHEMATHESIS: &str = "4.32.5";
/// Examples per operation: enough to reach every status a route documents, few enough to
/// keep the run within a couple of minutes.
const EXAMPLES: &str = "30";
const SEED: &str = "20261123";

/// True when the run asked for the contract test (`TODO_API_CONTRACT=1`); otherwise it says
/// how to ask and the test returns.
fn opted_in() -> bool {
    let on = std::env::var("TODO_API_CONTRACT").is_ok_and(|v| !v.is_empty() && v != "0");
    if !on {
        eprintln!("contract test not run: set TODO_API_CONTRACT=1 (it installs schemathesis)");
    }
    on
}

/// The `st` executable, installing it on first use (a failure to install fails the test).
fn schemathesis() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis-venv");
    let st = venv.join("bin/st");
    let pinned = venv.join(format!(".schemathesis-{SCHEMATHESIS}"));
    if st.exists() && pinned.exists() {
        return st;
    }
    let problem = match Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
    {
        Ok(status) if status.success() => match Command::new(venv.join("bin/pip"))
            .args(["install", "-q", &format!("schemathesis=={SCHEMATHESIS}")])
            .status()
        {
            Ok(status) if status.success() => {
                std::fs::write(&pinned, SCHEMATHESIS).expect("marks the install");
                return st;
            }
            other => format!("pip install schemathesis=={SCHEMATHESIS} failed: {other:?}"),
        },
        other => format!("python3 -m venv failed: {other:?}"),
    };
    panic!("TODO_API_CONTRACT=1: the contract test cannot run: {problem}");
}

fn run_against(server: &Binary) {
    let st = schemathesis();
    let base = server.base();
    // Requests act as the token's user, so that they reach the handlers instead of the 403
    // a random `user_id` gets (that path is tested once per operation all the same).
    // Each run its own config, in its server's directory: the two backends' runs start at
    // about the same time, and one rewriting a shared file while the other's `st` read it
    // left that run without its user.
    let config = server.dir().join("schemathesis.toml");
    std::fs::write(&config, "[parameters]\n\"path.user_id\" = \"alice\"\n")
        .expect("writes the schemathesis config");
    let output = Command::new(st)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--url", &base])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", token_for("alice")),
        ])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
        ])
        .args(["--seed", SEED])
        .args(["--max-examples", EXAMPLES])
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        // The same cases every run (no examples replayed from earlier runs), and no caches
        // written into the source tree.
        .args(["--generation-database", "none"])
        .current_dir(server.dir())
        .arg("--no-color")
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{report}");
    if !output.status.success() {
        // The report's failures last, and no backtrace after them (`resume_unwind` skips the
        // panic hook): a CI log that keeps only its tail still says what was found.
        eprintln!("schemathesis found problems:\n{}", failures(&report));
        std::panic::resume_unwind(Box::new("schemathesis found problems (above)"));
    }
}

/// The FAILURES section of a schemathesis report (the whole report when it has none), at most
/// 60 lines.
fn failures(report: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(" FAILURES "))
        .unwrap_or(0);
    let end = lines
        .iter()
        .skip(start)
        .position(|l| l.contains(" SUMMARY "))
        .map_or(lines.len(), |n| start + n);
    lines[start..end]
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .take(60)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Settings for the run: no rate limits (thousands of requests from one user and address).
const SETTINGS: [(&str, &str); 2] = [("RATE_LIMIT", "0"), ("ANONYMOUS_RATE_LIMIT", "0")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_contract_on_sqlite() {
    if !opted_in() {
        return;
    }
    let server = Binary::start(&SETTINGS).await;
    tokio::task::block_in_place(|| run_against(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_contract_on_postgres() {
    if !opted_in() {
        return;
    }
    let Some(database) = crate::common::pg::TempDatabase::migrated().await else {
        return;
    };
    let mut settings = SETTINGS.to_vec();
    settings.push(("DATABASE_URL", &database.url));
    let server = Binary::start(&settings).await;
    tokio::task::block_in_place(|| run_against(&server));
}
