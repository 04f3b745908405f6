//! The ceiling: `pgbench` running the server's own SQL and transactions (issue 19), at the
//! load's client concurrency, without TLS, interleaved with the server in the same run.
//!
//! The scripts are the statements the server issues for each request, as PostgreSQL logs them
//! with `log_statement = all` (src/tasks/store/*.rs): the pool's check on checkout
//! (`SELECT 1`, one simple-protocol message), the list, and the write transactions (the
//! owner's advisory locks and task count before a create, the INSERT / UPDATE, the change
//! number, the `task_changes` row and a NOTIFY with an event-sized payload). Every unit is
//! one transaction (reads READ ONLY) whose first round trip is the server's BEGIN batch
//! (`db::transaction`): BEGIN, the statement budget, `SET LOCAL ROLE todo_api_app` and
//! `set_config('app.user_id', …, true)` (row security, on by default), sent here as one pgbench pipeline, since `-M prepared` cannot
//! prepare a multi-statement string. Parameters the server binds (timestamps, the user id)
//! are computed in SQL here; the NOTIFY goes to a channel no server listens on. If the server's
//! SQL changes, these scripts change with it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{HOT_TASKS, Sample, without_tls};

const COLUMNS: &str = "\"tasks\".\"id\", \"tasks\".\"user_id\", \"tasks\".\"title\", \
    \"tasks\".\"description\", \"tasks\".\"completed\", \"tasks\".\"created_at\", \
    \"tasks\".\"updated_at\", \"tasks\".\"priority\", \"tasks\".\"category\", \
    \"tasks\".\"due_date\", \"tasks\".\"completed_at\"";
/// The pool's check on every checkout (diesel-async / deadpool), one round trip per request.
const PING: &str = "SELECT 1;";
const CHANNEL: &str = "todo_api_bench_ceiling";
/// The task part of an event, as long as the server's for a seeded task (about 260 bytes).
const EVENT_TASK: &str = r#""t":{"id":1,"user_id":"u1","title":"Task 1 of u1","description":null,"completed":false,"created_at":"2026-11-24T10:09:32.870076Z","updated_at":"2026-11-24T10:09:32.870076Z","priority":"none","category":"other","due_date":null,"completed_at":null}"#;

/// The server's first round trip of a unit for `user` (an SQL expression): `begin` and the
/// transaction's settings, pipelined (STATEMENT_TIMEOUT at its default, 5s).
fn begin(begin: &str, user: &str) -> String {
    format!(
        "\\startpipeline\n{begin};\nSET LOCAL statement_timeout = 5000;\n\
         SET LOCAL ROLE todo_api_app;\nSELECT set_config('app.user_id', {user}, true);\n\
         \\endpipeline\n"
    )
}

/// The scripts of one scenario with their weights.
pub type Scripts = &'static [(&'static str, u32)];
pub const LIST: Scripts = &[("list", 1)];
pub const CREATE: Scripts = &[("create", 1)];
pub const TOGGLE: Scripts = &[("toggle", 1)];
/// The 80/10/10 mix, as the load's.
pub const MIX: Scripts = &[("list", 8), ("create", 1), ("toggle", 1)];

/// What the ceiling ran in one slice.
pub struct Outcome {
    pub sample: Sample,
    /// Transactions of each script, in the order given (list, create, toggle for the mix).
    pub per_script: Vec<u64>,
}

/// The scripts, written once per run.
pub struct Pgbench {
    dir: tempfile::TempDir,
    url: String,
}

impl Pgbench {
    /// `None` when pgbench is not installed.
    pub fn new(url: &str, users: usize, hot: &[(usize, i64)]) -> Option<Pgbench> {
        let found = std::process::Command::new("pgbench")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let user = format!("\\set u random(0, {})\n", users - 1);
        let list = format!(
            "{user}{PING}\n{}SELECT {COLUMNS} FROM \"tasks\" WHERE (\"tasks\".\"user_id\" = 'u' || :u) \
             ORDER BY \"tasks\".\"created_at\" DESC, \"tasks\".\"id\" DESC;\nCOMMIT;\n",
            begin("BEGIN READ ONLY", "'u' || :u"),
        );
        let create = format!(
            "{user}{PING}\n{}\
             SELECT pg_advisory_xact_lock((hashtextextended('u' || :u, 0) & 4611686018427387903) \
             | 4611686018427387904), pg_advisory_xact_lock((hashtextextended('u' || :u, 0) \
             & 4611686018427387903) | -9223372036854775808);\n\
             SELECT COUNT(*) FROM \"tasks\" WHERE (\"tasks\".\"user_id\" = 'u' || :u);\n\
             INSERT INTO \"tasks\" (\"user_id\", \"title\", \"title_key\", \"description\", \
             \"description_key\", \"completed\", \"created_at\", \"updated_at\", \"priority\", \
             \"category\", \"due_date\") VALUES ('u' || :u, 'bench', 'bench', DEFAULT, DEFAULT, \
             false, now(), now(), 0, 'other', DEFAULT) RETURNING {COLUMNS} \\gset t_\n\
             {}{}COMMIT;\n",
            begin("BEGIN", "'u' || :u"),
            record_change("'u' || :u", ":t_id", true),
            notify("created", "'u' || :u", ":t_id"),
        );
        // The hot tasks the server's mix toggles, task h owned by user h.
        let mut pick = format!("\\set h random(0, {})\n", HOT_TASKS - 1);
        for (i, (_, id)) in hot.iter().enumerate() {
            let keyword = if i == 0 { "\\if" } else { "\\elif" };
            pick.push_str(&format!("{keyword} :h = {i}\n\\set id {id}\n"));
        }
        pick.push_str("\\endif\n");
        let toggle = format!(
            "{pick}{PING}\n{}\
             UPDATE \"tasks\" SET \"completed\" = NOT (\"tasks\".\"completed\"), \
             \"updated_at\" = now(), \"completed_at\" = CASE WHEN ((\"tasks\".\"completed\" = false)) \
             THEN (now()) END WHERE ((\"tasks\".\"id\" = :id) AND (\"tasks\".\"user_id\" = 'u' || :h)) \
             RETURNING {COLUMNS};\n{}{}COMMIT;\n",
            begin("BEGIN", "'u' || :h"),
            record_change("'u' || :h", ":id", false),
            notify("updated", "'u' || :h", ":id"),
        );
        for (name, text) in [("list", list), ("create", create), ("toggle", toggle)] {
            std::fs::write(dir.path().join(format!("{name}.sql")), text).expect("pgbench script");
        }
        Some(Pgbench {
            dir,
            url: without_tls(url),
        })
    }

    fn script(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.sql"))
    }

    /// `scripts` with `clients` connections for `length`. Latencies come from pgbench's
    /// per-transaction log.
    pub async fn run(&self, scripts: Scripts, clients: usize, length: Duration) -> Outcome {
        let logs = tempfile::tempdir().expect("temp dir");
        let mut command = tokio::process::Command::new("pgbench");
        command
            .current_dir(logs.path())
            .kill_on_drop(true)
            .args(["-n", "-M", "prepared", "-j", "2", "-l", "-T"])
            .arg(length.as_secs().max(1).to_string())
            .args(["-c", &clients.to_string()]);
        for (name, weight) in scripts {
            command
                .arg("-f")
                .arg(format!("{}@{weight}", self.script(name).display()));
        }
        command
            .arg("-D")
            .arg(format!("channel={CHANNEL}"))
            .arg("-D")
            .arg(format!("task={EVENT_TASK}"))
            .arg(&self.url);
        // pgbench stops after -T; the timeout only guards against a hung database.
        let output = tokio::time::timeout(length + Duration::from_secs(60), command.output())
            .await
            .expect("pgbench finished in time")
            .expect("pgbench runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |prefix: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|rest| rest.split_whitespace().next())
                .map(|v| v.split('/').next().unwrap_or(v).to_owned())
        };
        let processed: u64 = field("number of transactions actually processed: ")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let tps: f64 = field("tps = ").and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let failed: u64 = field("number of failed transactions: ")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // With several scripts: "SQL script 2: …/create.sql", " - weight: …",
        // " - 1234 transactions (…)".
        let per_script = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .filter(|l| l.contains(" transactions ("))
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        let mut sample = Sample {
            requests: processed,
            errors: failed,
            latencies: read_latencies(logs.path()),
            elapsed: Duration::from_secs_f64(processed as f64 / tps.max(1e-9)),
            ..Sample::default()
        };
        if !output.status.success() || processed == 0 {
            sample.errors += 1;
            sample.first_error = Some(format!(
                "pgbench: {}{}",
                String::from_utf8_lossy(&output.stderr),
                text
            ));
        }
        Outcome { sample, per_script }
    }
}

/// The change number, the `task_changes` row (`:seq` from the cursor's RETURNING).
fn record_change(owner: &str, task: &str, created: bool) -> String {
    let created_seq = if created { ":seq" } else { "NULL" };
    format!(
        "INSERT INTO \"task_sync_cursors\" (\"user_id\", \"last_seq\", \"pruned_seq\") \
         VALUES ({owner}, 1, 0) ON CONFLICT (\"user_id\") DO UPDATE SET \"last_seq\" = \
         (\"task_sync_cursors\".\"last_seq\" + 1) RETURNING \"task_sync_cursors\".\"last_seq\" AS seq \\gset\n\
         INSERT INTO \"task_changes\" (\"task_id\", \"user_id\", \"seq\", \"deleted\", \"changed_at\", \
         \"created_seq\") VALUES ({task}, {owner}, :seq, false, now(), {created_seq}) \
         ON CONFLICT (\"task_id\") DO UPDATE SET \"seq\" = :seq, \"deleted\" = false, \"changed_at\" = now();\n"
    )
}

/// The NOTIFY the server sends in the same transaction, with an event-sized payload.
fn notify(kind: &str, owner: &str, task: &str) -> String {
    // The task's JSON and the channel are bound as parameters (`-D`), as the server binds its
    // payload: pgbench would take the colons inside a literal for variables.
    format!(
        "SELECT pg_notify(:channel, '{{\"u\":\"' || {owner} || '\",\"k\":\"{kind}\",\"i\":' || {task} \
         || ',\"s\":' || :seq || ',' || :task || '}}');\n"
    )
}

/// Every transaction's latency from pgbench's `-l` logs (third field, microseconds).
fn read_latencies(dir: &Path) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        latencies.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
                .map(Duration::from_micros),
        );
    }
    latencies
}
