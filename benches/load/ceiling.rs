//! The ceilings: `pgbench -M prepared` on the bench's database, at the load's concurrency,
//! without TLS, interleaved with the servers in the same run (issues 19 and 28). Two of them:
//!
//! - **plain**: what the job costs the database with nothing around it. The list is ONE
//!   `SELECT` of the server's columns of a user's tasks, newest first; a create ONE `INSERT …
//!   RETURNING` (the database's triggers place the task, fold its search keys and keep the
//!   journal, as for every insert); a toggle ONE `UPDATE … SET completed = NOT completed …
//!   RETURNING`. No transaction around them, no role, no `app.user_id`: pgbench connects as the
//!   tables' owner, which row security does not bind. The mix is list / create / toggle 8/1/1.
//! - **exact**: the server's own statements and transactions, as PostgreSQL logs them
//!   (`benches/load/capture_sql.sh`), round trip by round trip: a read is ONE pipeline (the
//!   BEGIN READ ONLY batch: statement budget, `SET LOCAL ROLE todo_api_app`, `set_config`; the
//!   SELECT; COMMIT), as `db::pg`'s read scope sends it; a write's BEGIN batch travels with its
//!   first statement, each later statement waits for the one before, and COMMIT is waited for.
//!   The writes are in [`EXACT_CREATE`] and [`EXACT_TOGGLE`] (main before issue 28's
//!   one-statement writes) and [`ONE_STATEMENT_CREATE`] and [`ONE_STATEMENT_TOGGLE`] (after:
//!   taken when the database has `task_create`): when the server's SQL changes, re-run the
//!   capture and change them there. pgbench prepares every statement (the server
//!   runs a few unnamed, parse and execute in one exchange: the same round trips). The server's
//!   BEGIN batch is one simple-protocol string; `-M prepared` cannot prepare a multi-statement
//!   string, so here it is its four statements inside the same pipeline.
//!
//! Parameters the server binds (timestamps, the user, a new task's position) are computed in
//! SQL or taken with `\gset` here. The exact list is the REST list's (`LIMIT 100`, the page
//! size; GraphQL's has none: the same 50 rows).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{HOT_TASKS, Sample, without_tls};

/// The server's column list (every read and `RETURNING`), as the log shows it.
const COLUMNS: &str = r#""tasks"."id", "tasks"."user_id", "tasks"."title", "tasks"."description",
    "tasks"."completed", "tasks"."created_at", "tasks"."updated_at", "tasks"."priority",
    "tasks"."category", "tasks"."due_date", "tasks"."completed_at", "tasks"."version",
    "tasks"."list_id", "tasks"."parent_id", "tasks"."position", "tasks"."tags",
    "tasks"."recurrence", "tasks"."time_zone", "tasks"."recurrence_start""#;

// The statements are SQL as the log shows it (line breaks and indentation are folded into one
// space), with `{columns}` for [`COLUMNS`], `{user}` for the acting user's id and `:id` for the
// toggled task's: pgbench's variables become the prepared statements' parameters where the
// server binds its own.

const PLAIN_LIST: &str = r#"SELECT {columns} FROM "tasks" WHERE "tasks"."user_id" = {user}
    ORDER BY "tasks"."created_at" DESC, "tasks"."id" DESC"#;
const PLAIN_CREATE: &str =
    r#"INSERT INTO "tasks" ("user_id", "title") VALUES ({user}, 'bench') RETURNING {columns}"#;
const PLAIN_TOGGLE: &str = r#"UPDATE "tasks" SET "completed" = NOT "tasks"."completed",
    "updated_at" = now(), "completed_at" = CASE WHEN "tasks"."completed" THEN NULL ELSE now() END
    WHERE "tasks"."id" = :id AND "tasks"."user_id" = {user} RETURNING {columns}"#;

/// The server's list, one round trip with its BEGIN READ ONLY batch (`db::pg`'s read scope):
/// the REST list's statement (GraphQL's is the same without `LIMIT`).
const EXACT_LIST: &[&[&str]] = &[&[
    r#"SELECT {columns} FROM "tasks" WHERE ("tasks"."user_id" = {user})
    ORDER BY "tasks"."created_at" DESC, "tasks"."id" DESC LIMIT 100"#,
    "COMMIT",
]];

/// The server's create (REST and GraphQL send the same), as PostgreSQL logs it: one entry per
/// round trip, each the statements sent together (a pipeline); the BEGIN batch travels with
/// the first. Main at befaec8 (issue 28, reads in one round trip): the placement and cap
/// locks, the group's last position, the owner's task count, the INSERT, COMMIT.
const EXACT_CREATE: &[&[&str]] = &[
    &[
        r#"SELECT pg_advisory_xact_lock((hashtextextended({user}, 0) & 4611686018427387903)
    | 4611686018427387904), pg_advisory_xact_lock((hashtextextended({user}, 0)
    & 4611686018427387903) | -9223372036854775808)"#,
    ],
    // The server computes the new position from this one (here the database's
    // `position_after`, as the server's); `top` keeps it for the INSERT.
    &[
        r#"SELECT coalesce(max("tasks"."position"), '') AS top FROM "tasks"
    WHERE ((("tasks"."user_id" = {user}) AND ("tasks"."list_id" IS NULL))
    AND ("tasks"."parent_id" IS NULL)) \gset"#,
    ],
    &[r#"SELECT COUNT(*) FROM "tasks" WHERE ("tasks"."user_id" = {user})"#],
    &[
        r#"INSERT INTO "tasks" ("user_id", "title", "description", "completed", "created_at",
    "updated_at", "priority", "category", "due_date", "list_id", "parent_id", "position", "tags",
    "recurrence", "time_zone", "recurrence_start") VALUES ({user}, 'bench', DEFAULT, false,
    now(), now(), 0, 'other', DEFAULT, DEFAULT, DEFAULT, position_after(NULLIF(:top, '')), '[]',
    DEFAULT, 'UTC', DEFAULT) RETURNING {columns}"#,
    ],
    &["COMMIT"],
];

/// The server's toggle (REST `PATCH …/complete` and GraphQL `toggleTask`), as [`EXACT_CREATE`]:
/// the row locked to learn whether the task repeats, the UPDATE, COMMIT.
const EXACT_TOGGLE: &[&[&str]] = &[
    &[r#"SELECT {columns} FROM "tasks"
    WHERE (("tasks"."id" = :id) AND ("tasks"."user_id" = {user})) LIMIT 1 FOR UPDATE"#],
    &[
        r#"UPDATE "tasks" SET "completed" = NOT ("tasks"."completed"), "updated_at" = now(),
    "completed_at" = CASE WHEN (("tasks"."completed" = false)) THEN (now()) END,
    "version" = ("tasks"."version" + 1) WHERE (("tasks"."id" = :id)
    AND ("tasks"."user_id" = {user})) RETURNING {columns}"#,
    ],
    &["COMMIT"],
];

/// The server's create and toggle once every plain write is ONE statement (issue 28, the
/// migration `one_statement_writes`: `task_create` and `task_complete` do in the database
/// what the steps above did from the server), as the `writes` branch's server logs them: the
/// statement travels with the BEGIN batch, then COMMIT. The bench takes these when the
/// database has `task_create` ([`Writes::detect`]). The server binds the caps (tasks per
/// owner, tags, depth, position length): their defaults here; no assignee. Since migration
/// 000073 `task_create` takes one `jsonb` (the server's `service::folded::CreateCall`), built
/// here in SQL.
const ONE_STATEMENT_CREATE: &[&[&str]] = &[
    &[
        r#"SELECT * FROM task_create(jsonb_build_object('owner', {user},
    'now', (now() AT TIME ZONE 'UTC'), 'position', NULL, 'tag_keys', '[]'::jsonb,
    'tag_names', '[]'::jsonb, 'task_cap', 10000, 'tag_cap', 500, 'max_depth', 3,
    'max_position', 48, 'task', jsonb_build_object('title', 'bench', 'description', NULL,
    'priority', 0, 'category', 'other', 'due_date', NULL, 'list_id', NULL, 'parent_id', NULL,
    'tags', '[]', 'recurrence', NULL, 'time_zone', 'UTC', 'assignee_id', NULL)))"#,
    ],
    &["COMMIT"],
];
const ONE_STATEMENT_TOGGLE: &[&[&str]] = &[
    &[
        r#"SELECT f.step, (f.task).* FROM task_complete({user}, :id, NULL, NULL,
    (now() AT TIME ZONE 'UTC')) AS f"#,
    ],
    &["COMMIT"],
];

/// Which of the server's writes the exact ceiling runs: the database says which server
/// migrated it.
#[derive(Clone, Copy, Debug)]
pub enum Writes {
    /// [`EXACT_CREATE`] and [`EXACT_TOGGLE`]: main before the one-statement writes.
    Stepwise,
    /// [`ONE_STATEMENT_CREATE`] and [`ONE_STATEMENT_TOGGLE`].
    OneStatement,
}

impl Writes {
    /// One statement when the database has the write functions.
    pub async fn detect(admin: &tokio_postgres::Client) -> Writes {
        let found: bool = admin
            .query_one("SELECT to_regproc('task_create') IS NOT NULL", &[])
            .await
            .expect("the catalog")
            .get(0);
        if found {
            Writes::OneStatement
        } else {
            Writes::Stepwise
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Writes::Stepwise => "stepwise (lock, position, count, INSERT; row lock, UPDATE)",
            Writes::OneStatement => "one statement (task_create, task_complete)",
        }
    }
}

/// The server's BEGIN batch for `{user}` (`db::transaction::begin_sql`, STATEMENT_TIMEOUT at its
/// default, 5 s, row security on), statement by statement.
fn begin_batch(begin: &str) -> [String; 4] {
    [
        begin.to_owned(),
        "SET LOCAL statement_timeout = 5000".to_owned(),
        "SET LOCAL ROLE todo_api_app".to_owned(),
        "SELECT set_config('app.user_id', {user}, true)".to_owned(),
    ]
}

/// A transaction as pgbench script: `trips` one after the other, the BEGIN batch sent with the
/// first; a trip of several statements is one pipeline.
fn transaction(begin: &str, trips: &[&[&str]]) -> String {
    let mut script = String::new();
    for (i, trip) in trips.iter().enumerate() {
        let mut statements: Vec<String> = trip.iter().map(|s| (*s).to_owned()).collect();
        if i == 0 {
            statements.splice(0..0, begin_batch(begin));
        }
        script.push_str(&pipeline(&statements));
    }
    script
}

/// `statements` sent together (one round trip), or the one statement alone.
fn pipeline(statements: &[String]) -> String {
    let body: String = statements.iter().map(|s| statement(s)).collect();
    if statements.len() == 1 {
        body
    } else {
        format!("\\startpipeline\n{body}\\endpipeline\n")
    }
}

/// One statement as a script line (its whitespace folded): `;` unless it ends in a
/// meta-command (`\gset`).
fn statement(sql: &str) -> String {
    let sql = fold(sql);
    if sql.ends_with("\\gset") {
        format!("{sql}\n")
    } else {
        format!("{sql};\n")
    }
}

/// `sql` on one line.
fn fold(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which ceiling.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Kind {
    Plain,
    Exact,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Exact => "exact",
        }
    }
}

/// The scripts of one scenario with their weights.
pub type Scripts = [(&'static str, u32); 3];

/// The list (`mix` false) or the 80/10/10 mix (as the load's) of `kind`; unused scripts
/// weigh 0.
pub fn scripts(kind: Kind, mix: bool) -> Scripts {
    let (list, create, toggle) = match kind {
        Kind::Plain => ("plain-list", "plain-create", "plain-toggle"),
        Kind::Exact => ("exact-list", "exact-create", "exact-toggle"),
    };
    if mix {
        [(list, 8), (create, 1), (toggle, 1)]
    } else {
        [(list, 1), (create, 0), (toggle, 0)]
    }
}

/// One script alone (BENCH_ONLY=ceiling).
pub fn single(kind: Kind, which: usize) -> Scripts {
    let mut scripts = scripts(kind, true);
    for (i, script) in scripts.iter_mut().enumerate() {
        script.1 = u32::from(i == which);
    }
    scripts
}

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
    /// `even`: the list and create scripts take the even-numbered users only (BENCH_SHARED=half:
    /// the users without a shared list).
    pub fn new(
        url: &str,
        users: usize,
        even: bool,
        hot: &[(usize, i64)],
        writes: Writes,
    ) -> Option<Pgbench> {
        let found = std::process::Command::new("pgbench")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let user = if even {
            format!("\\set u 2 * random(0, {})\n", users / 2 - 1)
        } else {
            format!("\\set u random(0, {})\n", users - 1)
        };
        // The hot tasks the server's mix toggles, task h owned by user h.
        let mut pick = format!("\\set u random(0, {})\n", HOT_TASKS - 1);
        for (i, (_, id)) in hot.iter().enumerate() {
            let keyword = if i == 0 { "\\if" } else { "\\elif" };
            pick.push_str(&format!("{keyword} :u = {i}\n\\set id {id}\n"));
        }
        pick.push_str("\\endif\n");
        let (create, toggle) = match writes {
            Writes::Stepwise => (EXACT_CREATE, EXACT_TOGGLE),
            Writes::OneStatement => (ONE_STATEMENT_CREATE, ONE_STATEMENT_TOGGLE),
        };
        let scripts = [
            ("plain-list", format!("{user}{}", statement(PLAIN_LIST))),
            ("plain-create", format!("{user}{}", statement(PLAIN_CREATE))),
            ("plain-toggle", format!("{pick}{}", statement(PLAIN_TOGGLE))),
            (
                "exact-list",
                format!("{user}{}", transaction("BEGIN READ ONLY", EXACT_LIST)),
            ),
            (
                "exact-create",
                format!("{user}{}", transaction("BEGIN", create)),
            ),
            (
                "exact-toggle",
                format!("{pick}{}", transaction("BEGIN", toggle)),
            ),
        ];
        for (name, text) in scripts {
            let text = text
                .replace("{columns}", &fold(COLUMNS))
                .replace("{user}", "'u' || :u");
            std::fs::write(dir.path().join(format!("{name}.sql")), text).expect("pgbench script");
        }
        Some(Pgbench {
            dir,
            url: without_tls(url),
        })
    }

    /// The script files' directory (printed by BENCH_ONLY=ceiling, to read or rerun them).
    pub fn dir(&self) -> &Path {
        self.dir.path()
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
        for (name, weight) in scripts.iter().filter(|(_, w)| *w > 0) {
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
