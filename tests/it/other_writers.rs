//! Every writer's changes reach sync and live clients (issue 27): inserts, updates, deletes
//! and a `TRUNCATE … RESTART IDENTITY CASCADE` made in plain SQL by another program (its own
//! connection, none of the server's code) appear in `changes?since=`, and on PostgreSQL in
//! the SSE stream and GraphQL subscriptions, for their owner only and in order, with
//! versions bumped; a stale `If-Match` after such an update is 412; reused ids of another
//! user never make a later request fail. On SQLite live events for another program's writes
//! wait for the next sync (there is no NOTIFY): the live checks are PostgreSQL's.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::live::{self, Socket, SseReader};
use crate::common::other_writer::Shared;
use crate::common::{Backend, TestApp};

backend_cases!(
    plain_sql_changes_reach_sync_and_live_streams_of_their_owner,
    a_truncate_is_tombstones_and_reused_ids_never_fail_a_request,
    a_stale_if_match_after_another_programs_update_is_412,
    ids_another_program_gives_never_fail_a_later_create,
    a_new_assignee_or_author_is_a_new_version,
    a_task_inserted_again_with_its_old_id_is_created_again,
);

/// A re-import that gives its own ids, past the server's sequence (a task and a list): the
/// server's next creates still succeed, with new ids, and the imported rows are the owner's.
async fn ids_another_program_gives_never_fail_a_later_create(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    let first = id_of(&alice.create_task("before the import").await);
    let list = alice
        .post("/api/alice/lists", json!({"name": "before"}))
        .await
        .good(StatusCode::CREATED);
    let (task_id, list_id) = (first + 3, id_of(&list) + 3);
    db.other_writer(&format!(
        "INSERT INTO tasks (id, user_id, title, completed, created_at, updated_at, position)
         VALUES ({}, 'alice', 'imported 1', FALSE, '2026-11-24 10:00:00', '2026-11-24 10:00:00', 'a0'),
                ({task_id}, 'alice', 'imported 2', FALSE, '2026-11-24 10:00:00', '2026-11-24 10:00:00', 'a1');
         INSERT INTO task_lists (id, user_id, name, name_key, position, version, created_at, updated_at)
         VALUES ({list_id}, 'alice', 'imported', 'imported', 'ff', 1, '2026-11-24 10:00:00', '2026-11-24 10:00:00')",
        first + 1
    ))
    .await;
    for title in ["after the import", "and again"] {
        let created = alice.create_task(title).await;
        assert!(id_of(&created) > task_id, "{created}");
    }
    let created = alice
        .post("/api/alice/lists", json!({"name": "after"}))
        .await
        .good(StatusCode::CREATED);
    assert!(id_of(&created) > list_id, "{created}");
    let all = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(all.as_array().expect("tasks").len(), 5, "{all}");
}

const SUBSCRIPTION: &str =
    "subscription { taskEvents { kind id cursor task { id title version position } } }";

fn id_of(task: &Value) -> i64 {
    task["id"].as_i64().expect("task id")
}

async fn changes(app: &TestApp, user: &str, since: &str) -> Value {
    let client = app.user(user);
    let path = client.tasks_path(&format!("/changes?since={since}"));
    client.get(&path).await.good(StatusCode::OK)
}

async fn cursor(app: &TestApp, user: &str) -> String {
    let client = app.user(user);
    let all = client.get(&client.tasks_path("/changes")).await;
    all.good(StatusCode::OK)["cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned()
}

/// The live streams of a user on PostgreSQL (a WebSocket subscription and an SSE stream),
/// open and listening.
struct Live {
    socket: Socket,
    sse: SseReader,
    /// The user's cursor once both listen: the test's changes come after it.
    since: String,
}

impl Live {
    /// Opens both streams and waits until both hear the user's changes. The SSE stream's
    /// subscription is in place once its head has come; the WebSocket's is not acknowledged,
    /// so probes are written until it hears one ([`live::registered`], which removes them),
    /// and the SSE stream, which heard every probe, is read up to where the journal then stands.
    async fn open(app: &TestApp, user: &str) -> Live {
        let mut socket = live::socket(app, user).await;
        live::subscribe_to(&mut socket, "1", SUBSCRIPTION).await;
        let path = app.user(user).tasks_path("/events");
        let mut sse = SseReader::open(app, user, &path, &[]).await;
        assert_eq!(sse.response.status(), StatusCode::OK);
        live::registered(app, user, &mut socket).await;
        let since = cursor(app, user).await;
        let at: i64 = since.parse().expect("a numeric cursor");
        loop {
            let (id, event) = sse.next_event().await;
            let heard: i64 = id.expect("an event id").parse().unwrap();
            assert!(
                heard <= at,
                "only probes before the test's changes: {event}"
            );
            if heard == at {
                break;
            }
        }
        Live { socket, sse, since }
    }

    /// The next `n` events on both streams: (kind, id, title, version), the same on each,
    /// with growing cursors.
    async fn next(&mut self, n: usize) -> Vec<(String, i64, Option<String>, Option<i64>)> {
        let mut seen = Vec::new();
        let mut last = 0;
        for _ in 0..n {
            let ws = live::next_event(&mut self.socket).await;
            let (sse_id, sse) = self.sse.next_event().await;
            let cursor: i64 = ws["cursor"].as_str().unwrap().parse().unwrap();
            assert!(cursor > last, "cursors grow: {ws}");
            last = cursor;
            assert_eq!(sse_id, Some(cursor.to_string()), "{sse}");
            assert_eq!(sse["kind"], ws["kind"], "{sse} / {ws}");
            assert_eq!(
                sse["id"].as_i64().map(|i| i.to_string()),
                ws["id"].as_str().map(Into::into)
            );
            assert_eq!(sse["task"]["title"], ws["task"]["title"]);
            assert_eq!(
                sse["task"]["version"].as_i64(),
                ws["task"]["version"].as_i64()
            );
            seen.push((
                ws["kind"].as_str().unwrap().to_owned(),
                ws["id"].as_str().unwrap().parse().unwrap(),
                ws["task"]["title"].as_str().map(Into::into),
                ws["task"]["version"].as_i64(),
            ));
        }
        seen
    }
}

async fn plain_sql_changes_reach_sync_and_live_streams_of_their_owner(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let app = &db.app;
    let alice = app.user("alice");
    let one = id_of(&alice.create_task("one").await);
    let two = id_of(&alice.create_task("two").await);
    let last_position = alice.get(&alice.tasks_path(&format!("/{two}"))).await;
    let last_position = last_position.good(StatusCode::OK)["position"].clone();
    app.user("bob").create_task("bob's").await;
    // On PostgreSQL the cursors are taken once the streams listen (after their probes).
    let (mut live, since, bob_since) = match backend {
        Backend::Postgres => {
            let alice_live = Live::open(app, "alice").await;
            let mut bob = live::socket(app, "bob").await;
            live::subscribe_to(&mut bob, "1", SUBSCRIPTION).await;
            live::registered(app, "bob", &mut bob).await;
            let since = alice_live.since.clone();
            (Some((alice_live, bob)), since, cursor(app, "bob").await)
        }
        Backend::Sqlite => (None, cursor(app, "alice").await, cursor(app, "bob").await),
    };

    db.insert("alice", "from psql", None).await;
    db.other_writer(&format!(
        "UPDATE tasks SET title = 'retitled' WHERE id = {one}"
    ))
    .await;
    db.other_writer(&format!("DELETE FROM tasks WHERE id = {two}"))
        .await;

    let sync = changes(app, "alice", &since).await;
    let changed = sync["changed"].as_array().expect("changed").clone();
    let titles: Vec<&str> = changed
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["from psql", "retitled"], "{sync}");
    assert_eq!(changed[1]["version"], 2, "the update bumped the version");
    assert_eq!(changed[0]["version"], 1);
    assert_eq!(sync["deleted_ids"], json!([two]));
    let inserted = id_of(&changed[0]);
    if backend == Backend::Postgres {
        // Without a position of its own, the new task goes to the end of its group.
        let position = changed[0]["position"].as_str().unwrap();
        assert!(
            position > last_position.as_str().unwrap(),
            "{position} after {last_position}"
        );
    }
    let bob_sync = changes(app, "bob", &bob_since).await;
    assert_eq!(
        bob_sync["changed"],
        json!([]),
        "bob sees nothing of alice's"
    );
    assert_eq!(bob_sync["deleted_ids"], json!([]));

    if let Some((mut alice_live, mut bob)) = live.take() {
        let seen = alice_live.next(3).await;
        assert_eq!(
            seen,
            [
                (
                    "CREATED".into(),
                    inserted,
                    Some("from psql".into()),
                    Some(1)
                ),
                ("UPDATED".into(), one, Some("retitled".into()), Some(2)),
                ("DELETED".into(), two, None, None),
            ]
        );
        assert!(live::stays_quiet(&mut bob, Duration::from_millis(500)).await);
    }
    // The server's own writes go on as before.
    alice
        .put(
            &alice.tasks_path(&format!("/{inserted}")),
            json!({"title": "mine now"}),
        )
        .await
        .good(StatusCode::OK);
}

async fn a_truncate_is_tombstones_and_reused_ids_never_fail_a_request(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let app = &db.app;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mut gone = vec![
        id_of(&alice.create_task("a1").await),
        id_of(&alice.create_task("a2").await),
    ];
    let bobs = id_of(&bob.create_task("b1").await);
    let bob_since = cursor(app, "bob").await;
    // On PostgreSQL alice's cursor is taken once her streams listen (after their probes).
    let (mut live, since) = match backend {
        Backend::Postgres => {
            let live = Live::open(app, "alice").await;
            let since = live.since.clone();
            (Some(live), since)
        }
        Backend::Sqlite => (None, cursor(app, "alice").await),
    };

    // What a test harness's reset does between tests (SQLite has no TRUNCATE).
    match backend {
        Backend::Postgres => {
            db.other_writer("TRUNCATE tasks RESTART IDENTITY CASCADE")
                .await
        }
        Backend::Sqlite => {
            db.other_writer("DELETE FROM task_tags; DELETE FROM tasks")
                .await;
        }
    }

    let sync = changes(app, "alice", &since).await;
    gone.sort();
    assert_eq!(sync["deleted_ids"], json!(gone), "{sync}");
    assert_eq!(sync["changed"], json!([]));
    assert_eq!(
        changes(app, "bob", &bob_since).await["deleted_ids"],
        json!([bobs])
    );
    if let Some(live) = live.as_mut() {
        let seen = live.next(2).await;
        let kinds: Vec<(&str, i64)> = seen.iter().map(|(k, id, ..)| (k.as_str(), *id)).collect();
        assert_eq!(kinds, [("DELETED", gone[0]), ("DELETED", gone[1])]);
    }

    // Ids start again (on PostgreSQL bob's next task takes alice's old id 1): every request
    // of either user succeeds, and each sees only their own changes.
    let new_bob = id_of(&bob.create_task("bob again").await);
    let new_alice = id_of(&alice.create_task("alice again").await);
    if backend == Backend::Postgres {
        assert_eq!(new_bob, gone[0], "the identity restarted");
    }
    let path = alice.tasks_path(&format!("/{new_alice}"));
    alice
        .put(&path, json!({"title": "edited"}))
        .await
        .good(StatusCode::OK);
    alice
        .patch(&alice.tasks_path(&format!("/{new_alice}/complete")))
        .await
        .good(StatusCode::OK);
    let created = bob
        .graphql_data(
            "mutation { createTask(input: {title: \"by graphql\"}) { id version } }",
            json!({}),
        )
        .await;
    assert_eq!(created["createTask"]["version"], 1);
    assert_eq!(alice.delete(&path).await.status, StatusCode::NO_CONTENT);
    let bob_sync = changes(app, "bob", &bob_since).await;
    let mut bob_ids: Vec<i64> = bob_sync["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    bob_ids.sort();
    assert_eq!(bob_ids[0], new_bob);
    assert_eq!(bob_ids.len(), 2, "{bob_sync}");
    let alice_sync = changes(app, "alice", &since).await;
    assert_eq!(alice_sync["changed"], json!([]), "{alice_sync}");
    assert!(
        alice_sync["deleted_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(new_alice))
    );
    if let Some(live) = live.as_mut() {
        let seen = live.next(3).await;
        let kinds: Vec<(&str, i64)> = seen.iter().map(|(k, id, ..)| (k.as_str(), *id)).collect();
        assert_eq!(
            kinds,
            [
                ("CREATED", new_alice),
                ("UPDATED", new_alice),
                ("UPDATED", new_alice)
            ]
        );
    }
}

async fn a_stale_if_match_after_another_programs_update_is_412(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let app = &db.app;
    let alice = app.user("alice");
    let id = id_of(&alice.create_task("shared").await);
    let path = alice.tasks_path(&format!("/{id}"));
    let tag = alice.get(&path).await.header("etag").unwrap().to_owned();
    assert_eq!(tag, format!("\"{id}-1\""));

    db.other_writer(&format!(
        "UPDATE tasks SET title = 'elsewhere' WHERE id = {id}"
    ))
    .await;
    let read = alice.get(&path).await;
    assert_eq!(read.header("etag"), Some(format!("\"{id}-2\"").as_str()));
    let token = app.token("alice");
    let stale = app
        .raw(
            Method::PUT,
            &path,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
                ("if-match", &tag),
            ],
            Some(json!({"title": "lost update"}).to_string().into_bytes()),
        )
        .await;
    let body = stale.good(StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["task"]["title"], "elsewhere", "{body}");

    // Rewriting a row as it was is no change: no version, no journal entry.
    let since = cursor(app, "alice").await;
    db.other_writer(&format!("UPDATE tasks SET title = title WHERE id = {id}"))
        .await;
    assert_eq!(alice.get(&path).await.good(StatusCode::OK)["version"], 2);
    assert_eq!(changes(app, "alice", &since).await["changed"], json!([]));
}

/// Who made a task and who it is assigned to are its fields like the others: changing one
/// (here by another program) moves its version and journals it, once, on both backends.
async fn a_new_assignee_or_author_is_a_new_version(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let app = &db.app;
    let alice = app.user("alice");
    let id = id_of(&alice.create_task("who").await);
    let path = alice.tasks_path(&format!("/{id}"));
    for (n, sql) in [
        (
            2,
            format!("UPDATE tasks SET assignee_id = 'bob' WHERE id = {id}"),
        ),
        (
            3,
            format!("UPDATE tasks SET created_by = 'carol' WHERE id = {id}"),
        ),
        (
            4,
            format!("UPDATE tasks SET assignee_id = NULL, title = 'both' WHERE id = {id}"),
        ),
    ] {
        let since = cursor(app, "alice").await;
        db.other_writer(&sql).await;
        let task = alice.get(&path).await.good(StatusCode::OK);
        assert_eq!(task["version"], n, "{sql}: {task}");
        let changed = changes(app, "alice", &since).await;
        assert_eq!(changed["changed"].as_array().unwrap().len(), 1, "{changed}");
        let next: i64 = changed["cursor"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            next,
            since.parse::<i64>().unwrap() + 1,
            "journaled once: {sql}"
        );
    }
}

/// Another program inserts a task again with the id of one of the owner's deleted tasks (a
/// restore of one row): the journal's tombstone becomes the new task's entry (on PostgreSQL
/// the entry is updated where it is there, else inserted without `ON CONFLICT`, issue 60), so
/// sync since before the delete shows it changed and not deleted, and the server's next
/// writes of it journal as usual.
async fn a_task_inserted_again_with_its_old_id_is_created_again(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let app = &db.app;
    let alice = app.user("alice");
    let since = cursor(app, "alice").await;
    let id = id_of(&alice.create_task("first life").await);
    let path = alice.tasks_path(&format!("/{id}"));
    assert_eq!(alice.delete(&path).await.status, StatusCode::NO_CONTENT);
    let after_delete = cursor(app, "alice").await;
    assert_eq!(
        changes(app, "alice", &since).await["deleted_ids"],
        json!([id])
    );
    db.other_writer(&format!(
        "INSERT INTO tasks (id, user_id, title, description, completed, created_at, updated_at)
         VALUES ({id}, 'alice', 'second life', NULL, FALSE, '2026-11-24 10:00:00',
                 '2026-11-24 10:00:00')"
    ))
    .await;
    for from in [&since, &after_delete] {
        let sync = changes(app, "alice", from).await;
        let titles: Vec<&str> = sync["changed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["second life"], "{sync}");
        assert_eq!(sync["deleted_ids"], json!([]), "{sync}");
    }
    alice
        .patch(&alice.tasks_path(&format!("/{id}/complete")))
        .await
        .good(StatusCode::OK);
    let sync = changes(app, "alice", &after_delete).await;
    assert_eq!(sync["changed"][0]["completed"], true, "{sync}");
}
