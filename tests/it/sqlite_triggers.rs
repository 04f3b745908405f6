//! SQLite's triggers that name every column of `tasks` are generated from the table by
//! `migrate` (`todo_api::db::sqlite_triggers`). Here, over the real `todo-api migrate`: a
//! migrated database holds exactly the generator's text (and none of the hand-written triggers
//! it replaced); a trigger changed by hand is put back; a column another migration adds is in
//! the version rule, the readable-times rule (a `TIMESTAMP`) and the webhook JSON at the next
//! migrate, with no trigger written by hand. Behaviour (versions, webhooks' JSON) is held by
//! the suites that run on both backends (`parity::`, `webhook_*`, `versions::`).

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use todo_api::db::sqlite_triggers::{Column, SUPERSEDED, Stored, triggers};

use crate::common::template;

fn open(url: &str) -> SqliteConnection {
    SqliteConnection::establish(url.trim_start_matches("sqlite://")).expect("opens SQLite")
}

fn columns(conn: &mut SqliteConnection) -> Vec<Column> {
    diesel::sql_query("SELECT name, type FROM pragma_table_info('tasks') ORDER BY cid")
        .load(conn)
        .expect("pragma_table_info reads")
}

fn stored(conn: &mut SqliteConnection, name: &str) -> Option<String> {
    diesel::sql_query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        .load::<Stored>(conn)
        .expect("sqlite_master reads")
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.sql)
}

fn run(conn: &mut SqliteConnection, sql: &str) -> Result<usize, String> {
    diesel::sql_query(sql)
        .execute(conn)
        .map_err(|e| e.to_string())
}

/// Task 1, alice's, at version 1, written as another program would.
fn seed_task(conn: &mut SqliteConnection) {
    run(
        conn,
        "INSERT INTO tasks (user_id, title, completed, created_at, updated_at, priority, category,
                            version, position, tags, time_zone, title_key)
         VALUES ('alice', 'a', 0, '2026-11-28 10:00:00', '2026-11-28 10:00:00', 1, 'work',
                 1, 'a0', '', 'UTC', 'a')",
    )
    .unwrap();
}

fn version(conn: &mut SqliteConnection, task: i64) -> i64 {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        version: i64,
    }
    diesel::sql_query(format!("SELECT version FROM tasks WHERE id = {task}"))
        .get_result::<V>(conn)
        .expect("the task reads")
        .version
}

/// Every generated trigger as the generator makes it for the table's columns.
fn assert_generated(conn: &mut SqliteConnection) {
    let columns = columns(conn);
    for (name, sql) in triggers(&columns) {
        assert_eq!(stored(conn, name).as_deref(), Some(sql.as_str()), "{name}");
    }
    for name in SUPERSEDED {
        assert_eq!(stored(conn, name), None, "{name} is replaced");
    }
}

#[tokio::test]
async fn a_migrated_database_holds_the_generated_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let url = template::sqlite_url(dir.path());
    let mut conn = open(&url);
    assert_generated(&mut conn);
    let version = stored(&mut conn, "tasks_version").unwrap();
    let webhook = stored(&mut conn, "task_changes_webhooks_insert").unwrap();
    let readable = stored(&mut conn, "tasks_times_readable_update").unwrap();
    // Every column, the reminders' too (they had a trigger of their own).
    for column in [
        "title",
        "remind_at",
        "reminded_at",
        "title_key",
        "recurrence_start",
    ] {
        assert!(
            version.contains(&format!("NEW.{column} IS NOT OLD.{column}")),
            "{column}"
        );
    }
    for column in ["remind_at", "reminded_at", "created_by", "assignee_id"] {
        assert!(
            webhook.contains(&format!("'{column}', ")),
            "{column} in the JSON"
        );
    }
    assert!(
        !webhook.contains("'title_key'"),
        "the search keys are not sent"
    );
    assert!(
        readable.contains("UPDATE OF created_at, updated_at, due_date"),
        "{readable}"
    );
    assert!(readable.contains("remind_at, reminded_at"), "{readable}");
}

#[tokio::test]
async fn a_trigger_changed_by_hand_is_put_back_by_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let url = template::sqlite_url(dir.path());
    let mut conn = open(&url);
    run(&mut conn, "DROP TRIGGER tasks_version").unwrap();
    run(
        &mut conn,
        "CREATE TRIGGER tasks_version AFTER UPDATE ON tasks WHEN 0 BEGIN SELECT 1; END",
    )
    .unwrap();
    run(&mut conn, "DROP TRIGGER task_changes_webhooks_update").unwrap();
    seed_task(&mut conn);
    run(&mut conn, "UPDATE tasks SET title = 'b' WHERE id = 1").unwrap();
    assert_eq!(version(&mut conn, 1), 1, "the broken rule bumps nothing");
    drop(conn);

    template::migrate(&url).await;
    let mut conn = open(&url);
    assert_generated(&mut conn);
    run(&mut conn, "UPDATE tasks SET title = 'c' WHERE id = 1").unwrap();
    assert_eq!(version(&mut conn, 1), 2, "the rule is back");
}

#[tokio::test]
async fn a_column_a_migration_adds_is_in_every_generated_trigger() {
    let dir = tempfile::tempdir().unwrap();
    let url = template::sqlite_url(dir.path());
    let mut conn = open(&url);
    // As a new migration would: a plain column and a time column.
    run(
        &mut conn,
        "ALTER TABLE tasks ADD COLUMN zz_sample_note TEXT",
    )
    .unwrap();
    run(
        &mut conn,
        "ALTER TABLE tasks ADD COLUMN zz_sample_time TIMESTAMP",
    )
    .unwrap();
    drop(conn);

    template::migrate(&url).await;
    let mut conn = open(&url);
    assert_generated(&mut conn);
    let webhook = stored(&mut conn, "task_changes_webhooks_update").unwrap();
    assert!(
        webhook.contains("'zz_sample_note', t.zz_sample_note"),
        "{webhook}"
    );
    assert!(
        webhook.contains("'zz_sample_time', replace(t.zz_sample_time, ' ', 'T') || 'Z'"),
        "{webhook}"
    );
    seed_task(&mut conn);
    run(
        &mut conn,
        "UPDATE tasks SET zz_sample_note = 'calm' WHERE id = 1",
    )
    .unwrap();
    assert_eq!(
        version(&mut conn, 1),
        2,
        "a change of the new column is a change"
    );
    let refused = run(
        &mut conn,
        "UPDATE tasks SET zz_sample_time = 'infinity' WHERE id = 1",
    )
    .unwrap_err();
    assert!(refused.contains("tasks_times_readable"), "{refused}");
    run(
        &mut conn,
        "UPDATE tasks SET zz_sample_time = '2026-12-01 09:00:00' WHERE id = 1",
    )
    .unwrap();
    assert_eq!(version(&mut conn, 1), 3);
}
