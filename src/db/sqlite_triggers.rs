//! SQLite's triggers that name every column of `tasks`, generated from the table itself
//! (issue 59): PostgreSQL's functions read a whole row (`bump_version` compares rows,
//! `webhook_enqueue` writes `to_jsonb`), SQLite's triggers must spell each column. Written by
//! hand they were ~70 lines a new field had to repeat; here they are made from
//! `pragma_table_info('tasks')` after the migrations, so a column a migration adds is in them
//! at the next start:
//!
//! - `tasks_version`: a change of any column but `version` (and the two people columns,
//!   whose own rule `tasks_version_people` keeps) bumps the version, as `bump_version` does;
//! - `tasks_times_readable_insert` / `_update`: each `TIMESTAMP` column holds a time the
//!   server can read back (PostgreSQL's `<table>_<column>_readable` checks);
//! - `task_changes_webhooks_insert` / `_update`: the webhook event of a journal change, with
//!   the row as the JSON PostgreSQL's `to_jsonb` writes (times RFC 3339, booleans as JSON),
//!   without the search keys.
//!
//! [`apply`] compares each with `sqlite_master` and re-creates only what differs, in one
//! transaction; [`SUPERSEDED`] are older hand-written triggers a generated one replaced.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use super::SqliteConn;

/// Hand-written triggers that a generated one now covers, dropped where they remain.
pub const SUPERSEDED: &[&str] = &["tasks_version_reminders"];

/// Columns the generated version rule leaves out: the version itself, and the people columns
/// (`tasks_version_people` decides when a lost assignee is a change of its own).
const NOT_VERSIONED: &[&str] = &["version", "created_by", "assignee_id"];

/// Columns the webhook JSON leaves out, as `webhook_enqueue` does: the search keys.
const NOT_SENT: &[&str] = &["title_key", "description_key"];

/// One column of `tasks`, as `pragma_table_info` declares it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Column {
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its declared type (`TIMESTAMP`, `BOOLEAN`, `TEXT`, …).
    #[diesel(sql_type = Text, column_name = "type")]
    pub declared: String,
}

impl Column {
    fn is_time(&self) -> bool {
        self.declared.eq_ignore_ascii_case("TIMESTAMP")
    }

    fn is_bool(&self) -> bool {
        self.declared.eq_ignore_ascii_case("BOOLEAN")
    }
}

/// The generated triggers for these columns of `tasks`: each name with its whole
/// `CREATE TRIGGER` statement, as `sqlite_master` keeps it.
pub fn triggers(columns: &[Column]) -> Vec<(&'static str, String)> {
    let times: Vec<&str> = columns
        .iter()
        .filter(|c| c.is_time())
        .map(|c| c.name.as_str())
        .collect();
    let mut all = vec![("tasks_version", version(columns))];
    all.push(("tasks_times_readable_insert", readable(&times, false)));
    all.push(("tasks_times_readable_update", readable(&times, true)));
    for (name, event) in [
        ("task_changes_webhooks_insert", "INSERT"),
        ("task_changes_webhooks_update", "UPDATE"),
    ] {
        all.push((name, webhook(name, event, columns)));
    }
    all
}

fn version(columns: &[Column]) -> String {
    let changed: Vec<String> = columns
        .iter()
        .filter(|c| !NOT_VERSIONED.contains(&c.name.as_str()))
        .map(|c| format!("NEW.{0} IS NOT OLD.{0}", c.name))
        .collect();
    format!(
        "CREATE TRIGGER tasks_version AFTER UPDATE ON tasks\n\
         WHEN NEW.version = OLD.version AND (\n    {})\n\
         BEGIN\n    UPDATE tasks SET version = OLD.version + 1 WHERE id = NEW.id;\nEND",
        changed.join("\n    OR ")
    )
}

/// A time SQLite and the server both read back: NULL, or `YYYY-MM-DD HH:MM…` in years
/// 0001-9999 with a real day of its month (migration 000069's rule).
fn readable_time(value: &str) -> String {
    format!(
        "({value} IS NULL OR (typeof({value}) = 'text'\n\
         \x20       AND {value} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]*'\n\
         \x20       AND substr({value}, 1, 4) <> '0000' AND julianday({value}) IS NOT NULL\n\
         \x20       AND substr({value}, 6, 2) BETWEEN '01' AND '12' AND substr({value}, 9, 2) >= '01'\n\
         \x20       AND substr({value}, 9, 2) <= strftime('%d', substr({value}, 1, 8) || '01', '+1 month', '-1 day')))"
    )
}

/// The readable-times rule on insert, or on an update of any of the time columns.
fn readable(times: &[&str], on_update: bool) -> String {
    let (name, event) = match on_update {
        false => ("tasks_times_readable_insert", "INSERT".to_owned()),
        true => (
            "tasks_times_readable_update",
            format!("UPDATE OF {}", times.join(", ")),
        ),
    };
    let checks: Vec<String> = times
        .iter()
        .map(|c| readable_time(&format!("NEW.{c}")))
        .collect();
    format!(
        "CREATE TRIGGER {name} BEFORE {event} ON tasks\n\
         WHEN NOT ({})\n\
         BEGIN\n    SELECT RAISE(ABORT, 'CHECK constraint failed: tasks_times_readable ({}: each a time \
         in years 0001-9999, YYYY-MM-DD HH:MM[:SS[.fff]][Z|+HH:MM])');\nEND",
        checks.join("\n    AND "),
        times.join(", ")
    )
}

/// One column's value in the webhook JSON, as `to_jsonb` writes it.
fn json_value(column: &Column) -> String {
    let c = &column.name;
    if column.is_time() {
        format!("replace(t.{c}, ' ', 'T') || 'Z'")
    } else if column.is_bool() {
        format!("json(CASE WHEN t.{c} IS NULL THEN 'null' WHEN t.{c} THEN 'true' ELSE 'false' END)")
    } else {
        format!("t.{c}")
    }
}

/// The webhook event of a journal change (as PostgreSQL's `webhook_enqueue` decides it): the
/// WHEN clause is the probe, so a user without an enabled webhook gets nothing else.
fn webhook(name: &str, event: &str, columns: &[Column]) -> String {
    let pairs: Vec<String> = columns
        .iter()
        .filter(|c| !NOT_SENT.contains(&c.name.as_str()))
        .map(|c| format!("'{}', {}", c.name, json_value(c)))
        .collect();
    let changed = if event == "UPDATE" {
        "NEW.seq IS NOT OLD.seq\n     AND "
    } else {
        ""
    };
    format!(
        "CREATE TRIGGER {name} AFTER {event} ON task_changes\n\
         WHEN {changed}EXISTS (SELECT 1 FROM webhooks w WHERE w.user_id = NEW.user_id AND NOT w.disabled)\n\
         BEGIN\n\
         \x20   INSERT INTO webhook_events (user_id, event_type, task_id, webhook_ids, task_row, created_at)\n\
         \x20   SELECT NEW.user_id, e.t, NEW.task_id, e.ids, e.r, strftime('%Y-%m-%d %H:%M:%f', 'now')\n\
         \x20   FROM (SELECT (SELECT group_concat(w.id, ',') FROM webhooks w\n\
         \x20                 WHERE w.user_id = NEW.user_id AND NOT w.disabled\n\
         \x20                   AND instr(',' || w.events || ',', ',' || x.t || ',') > 0) AS ids, x.t, x.r\n\
         \x20         FROM (SELECT CASE\n\
         \x20             WHEN NEW.deleted OR t.id IS NULL THEN 'task.deleted'\n\
         \x20             WHEN NEW.created_seq = NEW.seq THEN 'task.created'\n\
         \x20             WHEN t.completed_at = t.updated_at THEN 'task.completed'\n\
         \x20             ELSE 'task.updated' END AS t,\n\
         \x20             CASE WHEN NEW.deleted OR t.id IS NULL THEN NULL ELSE json_object(\n\
         \x20              {}) END AS r\n\
         \x20         FROM (SELECT 1) LEFT JOIN tasks t ON t.id = NEW.task_id) x) e\n\
         \x20   WHERE e.ids IS NOT NULL;\n\
         END",
        pairs.join(",\n               ")
    )
}

/// A trigger as `sqlite_master` keeps it (`SELECT name, sql FROM sqlite_master …`).
#[derive(Debug, QueryableByName)]
pub struct Stored {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub sql: String,
}

/// The columns of `tasks` as the database declares them, in their order.
pub async fn columns(conn: &mut SqliteConn) -> anyhow::Result<Vec<Column>> {
    Ok(
        diesel::sql_query("SELECT name, type FROM pragma_table_info('tasks') ORDER BY cid")
            .load::<Column>(conn)
            .await?,
    )
}

/// Brings the generated triggers to the table's columns: each one whose stored text differs
/// (or that is missing) is re-created, and [`SUPERSEDED`] ones dropped, in one transaction
/// that reads and writes (so two instances starting on one file take turns). Returns how many
/// it re-created or dropped (0 on a database already up to date).
pub async fn apply(conn: &mut SqliteConn) -> anyhow::Result<usize> {
    conn.batch_execute("BEGIN IMMEDIATE").await?;
    match bring(conn).await {
        Ok(changed) => {
            conn.batch_execute("COMMIT").await?;
            Ok(changed)
        }
        Err(e) => {
            let _ = conn.batch_execute("ROLLBACK").await;
            Err(e.context("re-creating SQLite's generated triggers"))
        }
    }
}

async fn bring(conn: &mut SqliteConn) -> anyhow::Result<usize> {
    let columns = columns(conn).await?;
    if columns.is_empty() {
        anyhow::bail!("SQLite has no `tasks` table after the migrations");
    }
    let stored: Vec<Stored> =
        diesel::sql_query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            .load(conn)
            .await?;
    let text_of = |name: &str| {
        stored
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.sql.as_str())
    };
    let mut script = String::new();
    let mut changed = 0;
    for name in SUPERSEDED {
        if text_of(name).is_some() {
            script.push_str(&format!("DROP TRIGGER {name};\n"));
            changed += 1;
        }
    }
    for (name, sql) in triggers(&columns) {
        match text_of(name) {
            Some(text) if text == sql => continue,
            Some(_) => script.push_str(&format!("DROP TRIGGER {name};\n")),
            None => {}
        }
        script.push_str(&sql);
        script.push_str(";\n");
        changed += 1;
    }
    if changed > 0 {
        conn.batch_execute(&script).await?;
    }
    Ok(changed)
}
