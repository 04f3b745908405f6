//! The ceiling: `pgbench` running the server's own SQL and transactions (issue 19), at the
//! load's client concurrency, without TLS, interleaved with the server in the same run.
//!
//! The scripts are the statements the server issues for each request, as PostgreSQL logs them
//! with `log_statement = all` (src/tasks/store/*.rs): the list, and the write transactions
//! (the owner's advisory locks and task count before a create, the INSERT / UPDATE). The change
//! number, the journal entry and the NOTIFY are the database's own triggers since issue 27, so
//! they fire for pgbench's writes exactly as for the server's; the pool no longer checks a
//! connection on checkout (no `SELECT 1`). Every unit is
//! one transaction (reads READ ONLY) whose first round trip is the server's BEGIN batch
//! (`db::transaction`): BEGIN, the statement budget, `SET LOCAL ROLE todo_api_app` and
//! `set_config('app.user_id', …, true)` (row security, on by default), sent here as one pgbench pipeline, since `-M prepared` cannot
//! prepare a multi-statement string. Parameters the server binds (timestamps, the user id)
//! are computed in SQL here. If the server's SQL changes, these scripts change with it. (A
//! server built before issue 27 wrote its journal itself: against it these scripts are the
//! lighter transaction.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{HOT_TASKS, Sample, without_tls};

const COLUMNS: &str = "\"tasks\".\"id\", \"tasks\".\"user_id\", \"tasks\".\"title\", \
    \"tasks\".\"description\", \"tasks\".\"completed\", \"tasks\".\"created_at\", \
    \"tasks\".\"updated_at\", \"tasks\".\"priority\", \"tasks\".\"category\", \
    \"tasks\".\"due_date\", \"tasks\".\"completed_at\"";

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
            "{user}{}SELECT {COLUMNS} FROM \"tasks\" WHERE (\"tasks\".\"user_id\" = 'u' || :u) \
             ORDER BY \"tasks\".\"created_at\" DESC, \"tasks\".\"id\" DESC;\nCOMMIT;\n",
            begin("BEGIN READ ONLY", "'u' || :u"),
        );
        let create = format!(
            "{user}{}\
             SELECT pg_advisory_xact_lock((hashtextextended('u' || :u, 0) & 4611686018427387903) \
             | 4611686018427387904), pg_advisory_xact_lock((hashtextextended('u' || :u, 0) \
             & 4611686018427387903) | -9223372036854775808);\n\
             SELECT COUNT(*) FROM \"tasks\" WHERE (\"tasks\".\"user_id\" = 'u' || :u);\n\
             INSERT INTO \"tasks\" (\"user_id\", \"title\", \"title_key\", \"description\", \
             \"description_key\", \"completed\", \"created_at\", \"updated_at\", \"priority\", \
             \"category\", \"due_date\") VALUES ('u' || :u, 'bench', 'bench', DEFAULT, DEFAULT, \
             false, now(), now(), 0, 'other', DEFAULT) RETURNING {COLUMNS} \\gset t_\n\
             COMMIT;\n",
            begin("BEGIN", "'u' || :u"),
        );
        // The hot tasks the server's mix toggles, task h owned by user h.
        let mut pick = format!("\\set h random(0, {})\n", HOT_TASKS - 1);
        for (i, (_, id)) in hot.iter().enumerate() {
            let keyword = if i == 0 { "\\if" } else { "\\elif" };
            pick.push_str(&format!("{keyword} :h = {i}\n\\set id {id}\n"));
        }
        pick.push_str("\\endif\n");
        let toggle = format!(
            "{pick}{}\
             UPDATE \"tasks\" SET \"completed\" = NOT (\"tasks\".\"completed\"), \
             \"updated_at\" = now(), \"completed_at\" = CASE WHEN ((\"tasks\".\"completed\" = false)) \
             THEN (now()) END WHERE ((\"tasks\".\"id\" = :id) AND (\"tasks\".\"user_id\" = 'u' || :h)) \
             RETURNING {COLUMNS};\nCOMMIT;\n",
            begin("BEGIN", "'u' || :h"),
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
        command.arg(&self.url);
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
