//! Parity (issue 42): every task write has two implementations, PL/pgSQL functions on
//! PostgreSQL (`tasks::service::folded`, one `.sql` file per function beside it) and Rust statement
//! by statement on SQLite (`tasks::service::folded::stepwise` and friends). One script of writes
//! runs through the real server over real HTTP with real signed tokens, once on each backend,
//! one request at a time; then the rows it left are read directly from each database (tasks,
//! tags, lists, members, invites and the journal: `task_changes`, `list_changes`,
//! `task_sync_cursors`, `list_task_changes`, `list_journal_counters`) and compared field by
//! field. A difference names the table, the row, the field and both values.
//!
//! What legitimately differs is normalised, and only that:
//! - wall-clock timestamps (`created_at`, `updated_at`, `completed_at`, `changed_at`,
//!   `added_at`, the invite's times): the two runs happen at different moments, so only
//!   whether each is set is compared, plus, for a task, whether `updated_at` is still its
//!   `created_at` or later (never written again vs written since);
//! - an invite's `token_hash`: the hash of a random token;
//! - a task's search keys (`title_key`, `description_key`) are not compared: PostgreSQL's
//!   trigger keeps them, SQLite folds text as it searches and leaves them ''/NULL on purpose
//!   (migrations/sqlite, 000011), so they are no part of a write's result there;
//! - the storage types: a boolean is `t`/`f` on PostgreSQL and 0/1 on SQLite, and an instant
//!   a `timestamptz` there and text here, so instants the script gives (due dates, a series'
//!   start) are compared as instants, to the microsecond.
//!
//! SQLite's `journal_touched` (whose counters a write moved, for its own event delivery; the
//! server empties it in each write's transaction) has no PostgreSQL twin and is not compared.
//!
//! Ids are compared as they are: both backends number from 1 and the script makes no
//! request that fails (PostgreSQL's sequences would keep a number a failed insert took).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use todo_api::tasks::task::fields::TASK_FIELDS;

use crate::common::direct::Direct;
use crate::common::{Backend, TestApp, UserClient};
use crate::invites::{accept, invite};
use crate::lists::{create_list, id_of, lists_path};
use crate::moves::move_task;
use crate::sharing::{members_path, share};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_leave_the_same_rows() {
    let Some(postgres) = Direct::start(Backend::Postgres).await else {
        return;
    };
    let sqlite = Direct::start(Backend::Sqlite)
        .await
        .expect("a SQLite server");
    script(&postgres.app).await;
    script(&sqlite.app).await;
    let mut differences = Vec::new();
    for table in TABLES {
        for side in [&postgres, &sqlite] {
            every_column_counted(side, table).await;
        }
        let left = rows(&postgres, table).await;
        let right = rows(&sqlite, table).await;
        assert!(!left.is_empty(), "the script leaves rows in {}", table.name);
        compare(table, &left, &right, &mut differences);
    }
    assert!(
        differences.is_empty(),
        "PostgreSQL and SQLite disagree after the same writes ({} differences):\n{}",
        differences.len(),
        differences.join("\n")
    );
}

// ---- The script -------------------------------------------------------------------------

/// The writes, one request at a time, every one of them a success (any refusal fails here, on
/// the backend that refused).
async fn script(app: &TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let carol = app.user("carol");
    let work = id_of(&create_list(&alice, "Work").await);
    let home = id_of(&create_list(&alice, "Home").await);

    // Create, with every plain field; update; toggle (REST twice, GraphQL once).
    let a = create(
        &alice,
        json!({"title": "a", "description": "first", "priority": "high", "category": "work",
               "due_date": "2026-05-01T09:00:00Z", "tags": ["Urgent", "home"]}),
    )
    .await;
    let b = create(&alice, json!({"title": "b", "tags": ["home"]})).await;
    let c = create(&alice, json!({"title": "c"})).await;
    put(
        &alice,
        a,
        json!({"title": "a two", "description": null, "priority": "low",
               "tags": ["urgent", "errands"], "due_date": "2026-05-02T10:30:00.123456Z"}),
    )
    .await;
    complete(&alice, b).await;
    complete(&alice, b).await;
    alice
        .graphql_data(
            "mutation($id: ID!) { toggleTask(id: $id) { id } }",
            json!({"id": c.to_string()}),
        )
        .await;

    // A repeating task: completed it advances (REST complete, PUT), the last occurrence
    // completes it for good, toggled back it is pending, a new due date restarts the series.
    let repeat = create(
        &alice,
        json!({"title": "water", "due_date": "2026-03-07T14:00:00Z",
               "recurrence": "FREQ=DAILY;COUNT=3", "time_zone": "America/New_York"}),
    )
    .await;
    complete(&alice, repeat).await;
    put(&alice, repeat, json!({"completed": true})).await;
    complete(&alice, repeat).await;
    complete(&alice, repeat).await;
    put(&alice, repeat, json!({"due_date": "2026-04-01T12:00:00Z"})).await;
    complete(&alice, repeat).await;

    // Subtasks, two deep.
    let a1 = create(&alice, json!({"title": "a1", "parent_id": a})).await;
    let a2 = create(&alice, json!({"title": "a2", "parent_id": a})).await;
    create(&alice, json!({"title": "a1x", "parent_id": a1})).await;

    // Moves within a group: first, last, between, among siblings.
    moved(&alice, c, json!({"before_id": a})).await;
    moved(&alice, a, json!({})).await;
    moved(&alice, repeat, json!({"after_id": c})).await;
    moved(&alice, a2, json!({"before_id": a1})).await;
    // Across lists: a parent with its subtree, a subtask alone to another list's top, a PUT
    // with a list, GraphQL's move.
    moved(&alice, a, json!({"list_id": work})).await;
    moved(&alice, a1, json!({"list_id": home, "parent_id": null})).await;
    put(&alice, b, json!({"list_id": home})).await;
    alice
        .graphql_data(
            "mutation($id: ID!, $list: ID) { moveTask(id: $id, listId: $list) { id } }",
            json!({"id": c.to_string(), "list": work.to_string()}),
        )
        .await;

    // Sharing: bob an editor by the owner, carol a viewer by an invite link.
    share(&alice, work, "bob", "editor").await;
    let link = invite(&alice, work, json!({"role": "viewer", "expires_in": "7d"})).await;
    accept(&carol, link["token"].as_str().expect("a token"))
        .await
        .good(StatusCode::OK);

    // The editor's writes in the shared list: create (assigned), update, toggle, move,
    // assign, a subtask, GraphQL's update.
    let bobs = create(
        &bob,
        json!({"title": "bob's", "list_id": work, "assignee_id": "carol", "tags": ["home"]}),
    )
    .await;
    put(&bob, a, json!({"title": "a by bob", "assignee_id": "bob"})).await;
    complete(&bob, a2).await;
    moved(&bob, bobs, json!({"before_id": a})).await;
    put(&bob, c, json!({"assignee_id": "carol"})).await;
    let under = create(&bob, json!({"title": "under", "parent_id": bobs})).await;
    bob.graphql_data(
        "mutation($id: ID!) { updateTask(id: $id, input: {title: \"c by bob\"}) { id } }",
        json!({"id": c.to_string()}),
    )
    .await;

    // Assign and unassign: cleared by null, and by a move to where the assignee is no
    // member (one change, one version).
    put(&alice, a2, json!({"assignee_id": "carol"})).await;
    moved(&alice, a2, json!({"list_id": home, "parent_id": null})).await;
    put(&alice, a, json!({"assignee_id": null})).await;

    // Tags across tasks: a rename that merges, a delete.
    alice
        .put(&tag_path(&alice, "/Urgent"), json!({"name": "Errands"}))
        .await
        .good(StatusCode::OK);
    alice
        .delete(&tag_path(&alice, "/home"))
        .await
        .good(StatusCode::OK);

    // A member removed: the tasks assigned to them lose their assignee.
    alice
        .delete(&members_path(&alice, work, "/carol"))
        .await
        .good(StatusCode::NO_CONTENT);

    // Deletes: the editor's own subtask, a task with its subtree, a list moving its tasks to
    // the inbox, a list taking its tasks along; a list renamed and moved first.
    bob.delete(&bob.tasks_path(&format!("/{under}")))
        .await
        .good(StatusCode::NO_CONTENT);
    alice
        .delete(&alice.tasks_path(&format!("/{a1}")))
        .await
        .good(StatusCode::NO_CONTENT);
    alice
        .put(
            &lists_path(&alice, &format!("/{work}")),
            json!({"name": "Office"}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .post(
            &lists_path(&alice, &format!("/{home}/move")),
            json!({"before_id": work}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .delete(&lists_path(&alice, &format!("/{home}?tasks=inbox")))
        .await
        .good(StatusCode::OK);
    let temp = id_of(&create_list(&alice, "Temp").await);
    create(&alice, json!({"title": "gone", "list_id": temp})).await;
    alice
        .delete(&lists_path(&alice, &format!("/{temp}?tasks=delete")))
        .await
        .good(StatusCode::OK);
}

fn tag_path(user: &UserClient<'_>, suffix: &str) -> String {
    format!("/api/{}/tags{suffix}", user.user)
}

async fn create(user: &UserClient<'_>, body: Value) -> i64 {
    id_of(
        &user
            .post(&user.tasks_path(""), body)
            .await
            .good(StatusCode::CREATED),
    )
}

async fn put(user: &UserClient<'_>, task: i64, body: Value) {
    user.put(&user.tasks_path(&format!("/{task}")), body)
        .await
        .good(StatusCode::OK);
}

async fn complete(user: &UserClient<'_>, task: i64) {
    user.patch(&user.tasks_path(&format!("/{task}/complete")))
        .await
        .good(StatusCode::OK);
}

async fn moved(user: &UserClient<'_>, task: i64, body: Value) {
    move_task(user, task, body).await.good(StatusCode::OK);
}

// ---- Reading and comparing ----------------------------------------------------------------

/// How a column is compared.
#[derive(Clone, Copy)]
enum Kind {
    /// As stored (numbers, text, NULL).
    Same,
    /// A boolean (`true`/`false` on PostgreSQL, 0/1 on SQLite).
    Flag,
    /// An instant the script gave or the write derived from one (a due date): the same
    /// instant, to the microsecond.
    Instant,
    /// A wall-clock time: whether it is set (the runs happen at different moments).
    Clock,
    /// Random by design (an invite token's hash): whether it is set.
    Random,
}

use Kind::{Clock, Flag, Instant, Random, Same};

struct Table {
    name: &'static str,
    /// The columns that identify a row (compared as they are).
    key: &'static [&'static str],
    /// The other columns compared.
    columns: &'static [(&'static str, Kind)],
    /// Columns deliberately not compared (each says why where it is listed): with `columns`,
    /// every column the table has, so a column added later cannot escape parity.
    skipped: &'static [&'static str],
}

const TABLES: &[Table] = &[
    Table {
        name: "tasks",
        key: &["id"],
        columns: &[
            ("user_id", Same),
            ("title", Same),
            ("description", Same),
            ("completed", Flag),
            ("created_at", Clock),
            ("updated_at", Clock),
            ("priority", Same),
            ("category", Same),
            ("due_date", Instant),
            ("completed_at", Clock),
            ("version", Same),
            ("list_id", Same),
            ("parent_id", Same),
            ("position", Same),
            ("tags", Same),
            ("recurrence", Same),
            ("time_zone", Same),
            ("recurrence_start", Instant),
            // The plain fields follow, from the field table (`Table::compared`).
        ],
        // Search keys: PostgreSQL's trigger keeps them; SQLite folds text as it searches and
        // leaves them ''/NULL on purpose (migrations/sqlite, 000011).
        skipped: &["title_key", "description_key"],
    },
    Table {
        name: "task_tags",
        key: &["task_id", "tag_key"],
        columns: &[("user_id", Same), ("name", Same), ("changed_at", Clock)],
        skipped: &[],
    },
    Table {
        name: "task_lists",
        key: &["id"],
        columns: &[
            ("user_id", Same),
            ("name", Same),
            ("name_key", Same),
            ("color", Same),
            ("position", Same),
            ("version", Same),
            ("created_at", Clock),
            ("updated_at", Clock),
        ],
        skipped: &[],
    },
    Table {
        name: "list_members",
        key: &["list_id", "user_id"],
        columns: &[("role", Same), ("added_at", Clock)],
        skipped: &[],
    },
    Table {
        name: "list_invites",
        key: &["list_id", "role", "created_by"],
        columns: &[
            ("token_hash", Random),
            ("created_at", Clock),
            ("expires_at", Clock),
            ("revoked", Flag),
        ],
        skipped: &[],
    },
    // The journal: each user's last change of each task and list (tombstones included),
    // numbered by that user's counter, and the counters themselves.
    Table {
        name: "task_changes",
        key: &["user_id", "task_id"],
        columns: JOURNAL,
        skipped: &[],
    },
    Table {
        name: "list_changes",
        key: &["user_id", "list_id"],
        columns: JOURNAL,
        skipped: &[],
    },
    Table {
        name: "task_sync_cursors",
        key: &["user_id"],
        columns: &[("last_seq", Same), ("pruned_seq", Same)],
        skipped: &[],
    },
    // A shared list's own scope (issue 60 item 1): each task's last change there, numbered
    // by the list's counter, and the counters.
    Table {
        name: "list_task_changes",
        key: &["list_id", "task_id"],
        columns: JOURNAL,
        skipped: &[],
    },
    Table {
        name: "list_journal_counters",
        key: &["list_id"],
        columns: &[("last_seq", Same), ("pruned_seq", Same)],
        skipped: &[],
    },
];

/// The journal's columns besides its key (the user, and the task or list).
const JOURNAL: &[(&str, Kind)] = &[
    ("seq", Same),
    ("deleted", Flag),
    ("changed_at", Clock),
    ("created_seq", Same),
];

impl Table {
    /// The columns compared: those listed, and for `tasks` every other field of the field
    /// table (`todo_api::tasks::task::fields`) as stored, so that a field added there is
    /// compared without a line here.
    fn compared(&self) -> Vec<(&'static str, Kind)> {
        let mut columns = self.columns.to_vec();
        if self.name == "tasks" {
            for field in TASK_FIELDS {
                let listed = columns.iter().any(|(c, _)| *c == field.column);
                if !listed && !self.key.contains(&field.column) {
                    columns.push((field.column, Same));
                }
            }
        }
        columns
    }
}

type Row = BTreeMap<String, Value>;

/// Fails unless the table's columns in this database are exactly the ones compared or skipped.
async fn every_column_counted(direct: &Direct, table: &Table) {
    let sql = match direct.app.backend {
        Backend::Postgres => format!(
            "SELECT column_name AS text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{}'",
            table.name
        ),
        Backend::Sqlite => format!(
            "SELECT name AS text FROM pragma_table_info('{}')",
            table.name
        ),
    };
    let found: BTreeSet<String> = direct.texts(&sql).await.into_iter().collect();
    let compared = table.compared();
    let counted: BTreeSet<String> = table
        .key
        .iter()
        .chain(compared.iter().map(|(column, _)| column))
        .chain(table.skipped)
        .map(|column| (*column).to_owned())
        .collect();
    assert_eq!(
        found, counted,
        "{} on {:?}: its columns (left) are not the ones parity compares or skips (right)",
        table.name, direct.app.backend
    );
}

/// The table's rows by key, each column normalised by its kind.
async fn rows(direct: &Direct, table: &Table) -> BTreeMap<String, Row> {
    let compared = table.compared();
    let pairs: Vec<String> = table
        .key
        .iter()
        .chain(compared.iter().map(|(column, _)| column))
        .map(|column| format!("'{column}', {column}"))
        .collect();
    let object = match direct.app.backend {
        Backend::Postgres => format!("json_build_object({})::text", pairs.join(", ")),
        Backend::Sqlite => format!("json_object({})", pairs.join(", ")),
    };
    let sql = format!(
        "SELECT {object} AS text FROM {} ORDER BY {}",
        table.name,
        table.key.join(", ")
    );
    let mut found = BTreeMap::new();
    for text in direct.texts(&sql).await {
        let raw: Row = serde_json::from_str(&text).expect("a JSON row");
        let mut row: Row = compared
            .iter()
            .map(|(column, kind)| ((*column).to_owned(), normalised(*kind, &raw[*column])))
            .collect();
        if table.name == "tasks" {
            row.insert("updated_at vs created_at".to_owned(), since(&raw));
        }
        let key: Vec<String> = table
            .key
            .iter()
            .map(|column| format!("{column}={}", raw[*column]))
            .collect();
        found.insert(key.join(" "), row);
    }
    found
}

fn normalised(kind: Kind, value: &Value) -> Value {
    match (kind, value) {
        (_, Value::Null) => Value::Null,
        (Same, value) => value.clone(),
        (Flag, Value::Number(n)) => json!(n.as_i64() != Some(0)),
        (Flag, value) => value.clone(),
        (Instant, Value::String(text)) => {
            json!(instant(text).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        }
        (Clock | Random, _) => json!("(set)"),
        (Instant, value) => panic!("an instant that is no text: {value}"),
    }
}

/// A stored instant: PostgreSQL's JSON gives RFC 3339, SQLite keeps UTC text.
fn instant(text: &str) -> DateTime<Utc> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return at.with_timezone(&Utc);
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .unwrap_or_else(|| panic!("an instant: {text:?}"))
        .and_utc()
}

/// Whether a task was written after its creation (its `updated_at` moved on), in the
/// database's own clock.
fn since(raw: &Row) -> Value {
    let at = |column: &str| instant(raw[column].as_str().expect("a time"));
    let (created, updated) = (at("created_at"), at("updated_at"));
    json!(match updated.cmp(&created) {
        std::cmp::Ordering::Equal => "same",
        std::cmp::Ordering::Greater => "later",
        std::cmp::Ordering::Less => "earlier",
    })
}

/// Every difference between the two backends' rows of `table`, one line each.
fn compare(
    table: &Table,
    postgres: &BTreeMap<String, Row>,
    sqlite: &BTreeMap<String, Row>,
    differences: &mut Vec<String>,
) {
    let keys: BTreeSet<&String> = postgres.keys().chain(sqlite.keys()).collect();
    for key in keys {
        match (postgres.get(key), sqlite.get(key)) {
            (Some(left), Some(right)) => {
                for (field, value) in left {
                    if right.get(field) != Some(value) {
                        differences.push(format!(
                            "{} row {key}, field `{field}`: postgres={value}, sqlite={}",
                            table.name,
                            right.get(field).unwrap_or(&Value::Null)
                        ));
                    }
                }
            }
            (Some(row), None) => differences.push(format!(
                "{} row {key}: only on postgres: {}",
                table.name,
                json!(row)
            )),
            (None, Some(row)) => differences.push(format!(
                "{} row {key}: only on sqlite: {}",
                table.name,
                json!(row)
            )),
            (None, None) => unreachable!("a key of one side"),
        }
    }
}
