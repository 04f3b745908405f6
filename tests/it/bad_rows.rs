//! Rows another program writes with times the server cannot read (issue 40, item 2), on
//! both backends through the real server: `infinity`, a date past 9999 or SQLite text that is
//! no calendar time is refused by the database in every table a user's reads decode; one that
//! is there anyway leaves every read answering 200 (list, single read, sync, GraphQL, SSE
//! replay) without the row, or with the field as null, and is logged with its id.
//!
//! How "there anyway" is made, honestly: on PostgreSQL the test drops the CHECK constraints
//! first, as a program with DDL rights might (a restore of an older schema, an admin silencing
//! an error); nothing else gets past a CHECK. On SQLite no rule is dropped: it refuses what
//! SQLite's date functions do not read as a calendar time, and the test writes text they do
//! read and chrono does not (`24:00:00`, a trailing space).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::other_writer::{Shared, write_as_other};
use crate::common::{Backend, token_for};
use crate::fair_memory::start_binary;
use crate::lists::{create_list, id_of};
use crate::sharing::{share, task_in};

backend_cases!(
    unreadable_times_are_refused_by_the_database,
    a_row_that_cannot_be_read_is_left_out_and_logged,
    the_migration_mends_existing_rows,
);

/// Each table's timestamps: another program's `infinity` (and on SQLite text that is no
/// time) is refused with the rule's name; what the API writes still passes.
async fn unreadable_times_are_refused_by_the_database(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    let list = id_of(&create_list(&alice, "Shared").await);
    share(&alice, list, "bob", "viewer").await;
    let task = id_of(&task_in(&alice, list, "milk").await);
    alice
        .put(
            &alice.tasks_path(&format!("/{task}")),
            json!({"tags": ["x"]}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .post(
            &format!("/api/alice/lists/{list}/invites"),
            json!({"role": "viewer"}),
        )
        .await
        .good(StatusCode::CREATED);
    let bad: &[&str] = match backend {
        Backend::Postgres => &["infinity", "-infinity", "10000-01-01 00:00:00+00"],
        Backend::Sqlite => &[
            "infinity",
            "2026-02-30 10:00:00",
            "now",
            "0000-01-01 10:00:00",
        ],
    };
    let columns = [
        ("tasks", "due_date", format!("id = {task}")),
        ("tasks", "completed_at", format!("id = {task}")),
        ("tasks", "recurrence_start", format!("id = {task}")),
        ("tasks", "created_at", format!("id = {task}")),
        ("tasks", "updated_at", format!("id = {task}")),
        ("tasks", "remind_at", format!("id = {task}")),
        ("tasks", "reminded_at", format!("id = {task}")),
        ("task_lists", "created_at", format!("id = {list}")),
        ("task_lists", "updated_at", format!("id = {list}")),
        ("task_tags", "changed_at", format!("task_id = {task}")),
        ("list_members", "added_at", format!("list_id = {list}")),
        ("list_invites", "created_at", format!("list_id = {list}")),
        ("list_invites", "expires_at", format!("list_id = {list}")),
    ];
    for (table, column, row) in &columns {
        for value in bad {
            let sql = format!("UPDATE {table} SET {column} = '{value}' WHERE {row}");
            let refused = write_as_other(backend, &db.url, &sql).await;
            let rule = match backend {
                Backend::Postgres => format!("{table}_{column}_readable"),
                Backend::Sqlite => format!("{table}_times_readable"),
            };
            match refused {
                Err(message) => assert!(message.contains(&rule), "{sql}: {message}"),
                Ok(()) => panic!("{sql} was accepted"),
            }
        }
    }
    // An insert too, and the API's own extremes still pass.
    let insert = "INSERT INTO tasks (user_id, title, completed, created_at, updated_at, due_date)
                  VALUES ('alice', 'x', FALSE, '2026-11-24 10:00:00', '2026-11-24 10:00:00', 'infinity')";
    assert!(write_as_other(backend, &db.url, insert).await.is_err());
    for due in ["9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z"] {
        alice
            .post(
                &alice.tasks_path(""),
                json!({"title": due, "due_date": due}),
            )
            .await
            .good(StatusCode::CREATED);
    }
}

/// Another program's rows the server cannot read: one task's due date (answered as null),
/// another's creation time (left out), a list's update time (left out). The owner's and the
/// member's every read answers 200 with the rest; each skip is logged with the row's id.
async fn a_row_that_cannot_be_read_is_left_out_and_logged(backend: Backend) {
    let Some((server, database)) = start_binary(backend, &[]).await else {
        return;
    };
    let url = match &database {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", server.dir().join("todo.db").display()),
    };
    let http = Http {
        base: server.base(),
        client: crate::common::http_client(),
    };
    let list = id_of(
        &http
            .send(
                "alice",
                "POST",
                "/api/alice/lists",
                json!({"name": "Shared"}),
            )
            .await,
    );
    let broken_list = id_of(
        &http
            .send("alice", "POST", "/api/alice/lists", json!({"name": "B"}))
            .await,
    );
    http.send(
        "alice",
        "POST",
        &format!("/api/alice/lists/{list}/members"),
        json!({"user_id": "bob", "role": "editor"}),
    )
    .await;
    let mut ids = Vec::new();
    for title in ["fine", "no due date", "no creation"] {
        let due = "2026-12-01T10:00:00Z";
        let body = json!({"title": title, "list_id": list, "due_date": due, "tags": ["x"]});
        ids.push(id_of(
            &http.send("alice", "POST", "/api/alice/tasks", body).await,
        ));
    }
    let (fine, no_due, no_creation) = (ids[0], ids[1], ids[2]);
    let carol = json!({"user_id": "carol", "role": "viewer"});
    let members = format!("/api/alice/lists/{list}/members");
    http.send("alice", "POST", &members, carol).await;
    let before = http.get("bob", "/api/bob/tasks/changes").await["cursor"].clone();
    let before = before.as_str().expect("a cursor").to_owned();
    let sql = match backend {
        Backend::Postgres => format!(
            "ALTER TABLE tasks DROP CONSTRAINT tasks_due_date_readable,
                               DROP CONSTRAINT tasks_created_at_readable;
             ALTER TABLE task_lists DROP CONSTRAINT task_lists_updated_at_readable;
             UPDATE tasks SET due_date = 'infinity' WHERE id = {no_due};
             UPDATE tasks SET created_at = '-infinity' WHERE id = {no_creation};
             UPDATE task_lists SET updated_at = 'infinity' WHERE id = {broken_list};
             ALTER TABLE list_members DROP CONSTRAINT list_members_added_at_readable;
             ALTER TABLE task_tags DROP CONSTRAINT task_tags_changed_at_readable;
             UPDATE list_members SET added_at = 'infinity' WHERE user_id = 'carol';
             UPDATE task_tags SET changed_at = 'infinity' WHERE task_id = {fine}"
        ),
        Backend::Sqlite => format!(
            "UPDATE tasks SET due_date = '2026-12-01 10:00:00 ' WHERE id = {no_due};
             UPDATE tasks SET created_at = '2026-11-24 24:00:00' WHERE id = {no_creation};
             UPDATE task_lists SET updated_at = '2026-11-24 10:00:00 ' WHERE id = {broken_list};
             UPDATE list_members SET added_at = '2026-11-24 24:00:00' WHERE user_id = 'carol';
             UPDATE task_tags SET changed_at = '2999-11-24 24:00:00' WHERE task_id = {fine}"
        ),
    };
    write_as_other(backend, &url, &sql)
        .await
        .expect("the broken rows are written");
    // Last in every journal: once the replay has sent it, it has sent all before it.
    let body = json!({"title": "after", "list_id": list});
    let after = id_of(&http.send("alice", "POST", "/api/alice/tasks", body).await);
    for user in ["alice", "bob"] {
        let tasks = http.get(user, &format!("/api/{user}/tasks")).await;
        assert_eq!(ids_of(&tasks), vec![fine, no_due, after], "{user}: {tasks}");
        let due = http.get(user, &format!("/api/{user}/tasks/{no_due}")).await;
        assert_eq!(due["due_date"], Value::Null, "{user}: {due}");
        let gone = format!("/api/{user}/tasks/{no_creation}");
        let gone = http.request(user, "GET", &gone, None).send().await;
        assert_eq!(
            gone.expect("sent").status(),
            StatusCode::NOT_FOUND,
            "{user}"
        );
        let all = http.get(user, &format!("/api/{user}/tasks/changes")).await;
        assert_eq!(
            changed_ids(&all),
            vec![fine, no_due, after],
            "{user}: {all}"
        );
        let since = http
            .get(user, &format!("/api/{user}/tasks/changes?since={before}"))
            .await;
        if user == "bob" {
            // The two rewritten tasks changed; the unreadable one is left out.
            assert_eq!(changed_ids(&since), vec![no_due, after], "{user}: {since}");
        }
        let query = "{ tasks { id dueDate createdAt } lists { id } }";
        let answer = http
            .send(user, "POST", "/graphql", json!({"query": query}))
            .await;
        assert!(answer.get("errors").is_none(), "{user}: {answer}");
        let mut listed: Vec<i64> = answer["data"]["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["id"].as_str().expect("an id").parse().expect("a number"))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, vec![fine, no_due, after], "{user}: {answer}");
        let lists = http.get(user, &format!("/api/{user}/lists")).await;
        assert_eq!(ids_of(&lists), vec![list], "{user}: {lists}");
        // A member whose time is unreadable is left out; a tag's newest time is not needed.
        let listed = http
            .get(user, &format!("/api/{user}/lists/{list}/members"))
            .await;
        let listed: Vec<&Value> = listed
            .as_array()
            .expect("members")
            .iter()
            .map(|m| &m["user_id"])
            .collect();
        assert_eq!(listed, [&json!("alice"), &json!("bob")], "{user}");
        http.get(user, &format!("/api/{user}/tags")).await;
        let replay = http.replay(user, after).await;
        let mut replayed: Vec<i64> = replay
            .iter()
            .filter_map(|e| e["task"]["id"].as_i64())
            .collect();
        replayed.sort_unstable();
        assert_eq!(replayed, vec![fine, no_due, after], "{user}: {replay:?}");
    }
    let logs = server.logs().join("\n");
    for (id, column) in [(no_due, "due_date"), (no_creation, "created_at")] {
        let logged = server.logs().into_iter().any(|line| {
            let line: Value = serde_json::from_str(&line).unwrap_or_default();
            line["level"] == "WARN"
                && line["fields"]["id"] == id
                && line["fields"]["column"] == column
        });
        assert!(logged, "no warning for task {id}'s {column}:\n{logs}");
    }
}

/// Migration 000069 over rows written before it: undone (its `down.sql`), the bad rows
/// written, then its `up.sql` run again, as on a database that had them. Unreadable times are
/// mended (null, or the row's other time), the owner's membership goes, a task in another
/// owner's list goes back to its owner's inbox, and every read and write answers again.
/// SQL that drops every CHECK calling `readable_time` but those 000069's `down` drops itself.
fn later_readable_checks_dropped(down: &str) -> String {
    let own: Vec<String> = down
        .split("DROP CONSTRAINT ")
        .skip(1)
        .filter_map(|rest| rest.split([',', ';']).next())
        .map(|name| format!("'{}'", name.trim()))
        .collect();
    assert!(own.len() >= 11, "000069's down names its checks: {own:?}");
    format!(
        "DO $$ DECLARE c record; BEGIN
           FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
                    WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%readable_time(%'
                      AND conname NOT IN ({})
           LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname); END LOOP;
         END $$",
        own.join(", ")
    )
}

async fn the_migration_mends_existing_rows(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let (alice, bob) = (db.app.user("alice"), db.app.user("bob"));
    let list = id_of(&create_list(&alice, "Shared").await);
    share(&alice, list, "bob", "editor").await;
    let task = id_of(&task_in(&alice, list, "milk").await);
    let stray = id_of(&bob.create_task("bob's").await);
    // 000069 (every time but a reminder's) undone and done again, then 000084 (a reminder's;
    // on SQLite its down has nothing to undo).
    let [down, up, reminders_up] = match backend {
        Backend::Postgres => [
            include_str!("../../migrations/postgres/2026-11-26-000069_readable_rows/down.sql"),
            include_str!("../../migrations/postgres/2026-11-26-000069_readable_rows/up.sql"),
            include_str!("../../migrations/postgres/2026-11-28-000084_readable_reminders/up.sql"),
        ],
        Backend::Sqlite => [
            include_str!("../../migrations/sqlite/2026-11-26-000069_readable_rows/down.sql"),
            include_str!("../../migrations/sqlite/2026-11-26-000069_readable_rows/up.sql"),
            include_str!("../../migrations/sqlite/2026-11-28-000084_readable_reminders/up.sql"),
        ],
    };
    if backend == Backend::Postgres {
        // Every later CHECK that calls `readable_time` (a time field's, as 000084's) goes first,
        // or 000069's down could not drop the function; 000084's comes back below.
        db.other_writer(&later_readable_checks_dropped(down)).await;
    }
    db.other_writer(down).await;
    let (never, garbage) = match backend {
        Backend::Postgres => ("infinity", "-infinity"),
        Backend::Sqlite => ("infinity", "2026-02-30 10:00:00"),
    };
    db.other_writer(&format!(
        "UPDATE tasks SET due_date = '{never}', created_at = '{garbage}',
                          remind_at = '{never}', reminded_at = '{garbage}' WHERE id = {task};
         INSERT INTO list_members (list_id, user_id, role, added_at)
         VALUES ({list}, 'alice', 'editor', '2026-11-24 10:00:00');
         UPDATE tasks SET list_id = {list} WHERE id = {stray}"
    ))
    .await;
    db.other_writer(up).await;
    db.other_writer(reminders_up).await;
    let mended = alice
        .get(&alice.tasks_path(&format!("/{task}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(mended["due_date"], Value::Null, "{mended}");
    assert_eq!(mended["remind_at"], Value::Null, "{mended}");
    assert_eq!(mended["reminded_at"], Value::Null, "{mended}");
    assert_eq!(mended["created_at"], mended["updated_at"], "{mended}");
    let strays = bob
        .get(&bob.tasks_path(&format!("/{stray}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(strays["list_id"], Value::Null, "{strays}");
    let members = alice
        .get(&format!("/api/alice/lists/{list}/members"))
        .await
        .good(StatusCode::OK);
    let roles: Vec<(&Value, &Value)> = members
        .as_array()
        .expect("members")
        .iter()
        .map(|m| (&m["user_id"], &m["role"]))
        .collect();
    assert_eq!(
        roles,
        [
            (&json!("alice"), &json!("owner")),
            (&json!("bob"), &json!("editor"))
        ]
    );
    for (user, expect) in [(&alice, vec![task]), (&bob, vec![task, stray])] {
        let tasks = user.get(&user.tasks_path("")).await.good(StatusCode::OK);
        assert_eq!(ids_of(&tasks), expect, "{}: {tasks}", user.user);
    }
    let path = alice.tasks_path(&format!("/{task}"));
    alice
        .put(&path, json!({"title": "oat milk"}))
        .await
        .good(StatusCode::OK);
}

/// A client of the real binary with real tokens.
struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn request(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let request = self.client.request(method, format!("{}{path}", self.base));
        let request = request.bearer_auth(token_for(user));
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
    }

    /// `method path` as `user`: a 2xx answer's JSON (a 500 fails the test here).
    async fn send(&self, user: &str, method: &str, path: &str, body: Value) -> Value {
        let response = self
            .request(user, method, path, Some(body))
            .send()
            .await
            .expect("sent");
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert!(
            status.is_success(),
            "{method} {path} as {user}: {status} {text}"
        );
        serde_json::from_str(&text).expect("JSON")
    }

    async fn get(&self, user: &str, path: &str) -> Value {
        let response = self
            .request(user, "GET", path, None)
            .send()
            .await
            .expect("sent");
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert_eq!(status, StatusCode::OK, "GET {path} as {user}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// The SSE replay from the start (`Last-Event-ID: 0`) until the event of task `last`
    /// (it stays open for live events after): each event's data.
    async fn replay(&self, user: &str, last: i64) -> Vec<Value> {
        let path = format!("/api/{user}/tasks/events");
        let request = self.request(user, "GET", &path, None);
        let request = request
            .header("accept", "text/event-stream")
            .header("last-event-id", "0");
        let mut response = request.send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{user}");
        let (mut text, mut events) = (String::new(), Vec::<Value>::new());
        while !events.iter().any(|e| e["task"]["id"] == last) {
            let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
                _ => panic!("the replay of {user} ended before task {last}:\n{text}"),
            }
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .collect();
                if let Ok(event) = serde_json::from_str(data.trim()) {
                    events.push(event);
                }
            }
        }
        events
    }
}

/// The ids of an array of tasks or lists, in id order.
pub(crate) fn ids_of(items: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = items
        .as_array()
        .expect("an array")
        .iter()
        .map(id_of)
        .collect();
    ids.sort_unstable();
    ids
}

/// The ids of the tasks a sync answer carries (changed or deleted), in id order.
pub(crate) fn changed_ids(changes: &Value) -> Vec<i64> {
    let changed = changes["changed"].as_array().expect("changed").iter();
    let deleted = changes["deleted_ids"]
        .as_array()
        .expect("deleted_ids")
        .iter();
    let mut ids: Vec<i64> = changed
        .map(id_of)
        .chain(deleted.map(|id| id.as_i64().expect("an id")))
        .collect();
    ids.sort_unstable();
    ids
}
