//! Realtime across instances and incremental sync: events through PostgreSQL between two
//! servers on one database (in order, to their owner only, RESYNC after the listener is
//! killed), sync after a gap, expired cursors, the SSE stream, and the per-user cap on
//! WebSocket and SSE alike; clearCompleted leaves a tombstone and an event per task; an SSE
//! stream ends with its token; replay after a gap reports the true kind of each change.

use std::time::{Duration, Instant};

use crate::common::live::{self, Sse, SseReader};
use crate::common::{Backend, SECRET, TestApp, pg};
use reqwest::StatusCode;
use serde_json::{Value, json};
use todo_api::auth::{SecretKey, mint_token};

backend_cases!(
    sync_after_a_gap_returns_exactly_what_changed,
    an_expired_or_foreign_cursor_is_410,
    sse_streams_events_and_resumes,
    the_per_user_cap_holds_for_websocket_and_sse,
    concurrent_writes_give_gap_free_cursors_in_order,
    clear_completed_leaves_tombstones_and_events,
    sse_streams_end_when_their_token_expires,
    sse_resume_replays_created_updated_and_deleted,
);

/// The servers a test makes changes through: two on one fresh PostgreSQL database (dropped
/// after them), or the one SQLite server playing both parts.
struct Instances {
    a: TestApp,
    b: Option<TestApp>,
    db: Option<pg::TempDatabase>,
}

impl Instances {
    fn a(&self) -> &TestApp {
        &self.a
    }

    fn b(&self) -> &TestApp {
        self.b.as_ref().unwrap_or(&self.a)
    }

    fn database_name(&self) -> &str {
        &self.db.as_ref().expect("a PostgreSQL database").name
    }
}

async fn instances(backend: Backend, extra: &[(&str, &str)]) -> Option<Instances> {
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(pg::TempDatabase::migrated().await?),
    };
    let start = || {
        let mut builder = TestApp::builder(backend);
        if let Some(db) = &db {
            builder = builder.database_url(&db.url);
        }
        for (flag, value) in extra {
            builder = builder.arg(flag, value);
        }
        builder.start()
    };
    let a = start().await.expect("instance A");
    let b = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(start().await.expect("instance B")),
    };
    Some(Instances { a, b, db })
}

fn id_of(task: &Value) -> i64 {
    task["id"].as_i64().expect("task id")
}

async fn changes(app: &TestApp, user: &str, since: Option<&str>) -> Value {
    let client = app.user(user);
    let path = match since {
        Some(since) => client.tasks_path(&format!("/changes?since={since}")),
        None => client.tasks_path("/changes"),
    };
    client.get(&path).await.good(StatusCode::OK)
}

fn sorted_ids(list: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            // A bare id or a task; a number (REST) or a string (GraphQL ID).
            let id = if v.is_object() { &v["id"] } else { v };
            id.as_i64()
                .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
                .expect("an id")
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_instance_sees_changes_made_through_the_other_in_order() {
    let Some(pair) = instances(Backend::Postgres, &[]).await else {
        return;
    };
    let (a, b) = (pair.a(), pair.b());
    let mut alice_socket = live::socket(a, "alice").await;
    live::subscribe(&mut alice_socket, "1").await;
    live::registered(a, "alice", &mut alice_socket).await;
    let mut bob_socket = live::socket(a, "bob").await;
    live::subscribe(&mut bob_socket, "1").await;
    live::registered(a, "bob", &mut bob_socket).await;

    let alice = b.user("alice");
    let task = alice.create_task("through B").await;
    let id = id_of(&task);
    alice
        .put(
            &alice.tasks_path(&format!("/{id}")),
            json!({"title": "renamed"}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .patch(&alice.tasks_path(&format!("/{id}/complete")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        alice
            .delete(&alice.tasks_path(&format!("/{id}")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let expected = [
        (
            "CREATED",
            json!({"id": id.to_string(), "title": "through B", "completed": false}),
        ),
        (
            "UPDATED",
            json!({"id": id.to_string(), "title": "renamed", "completed": false}),
        ),
        (
            "UPDATED",
            json!({"id": id.to_string(), "title": "renamed", "completed": true}),
        ),
        ("DELETED", Value::Null),
    ];
    let mut last_cursor = 0;
    for (kind, task) in expected {
        let event = live::next_event(&mut alice_socket).await;
        assert_eq!(event["kind"], kind, "{event}");
        assert_eq!(event["id"], id.to_string());
        assert_eq!(event["task"], task, "{event}");
        let cursor: i64 = event["cursor"].as_str().unwrap().parse().unwrap();
        assert!(cursor > last_cursor, "cursors grow: {event}");
        last_cursor = cursor;
    }
    // The cursor of the last event is where sync stands: nothing after it.
    let after = changes(b, "alice", Some(&last_cursor.to_string())).await;
    assert_eq!(
        after,
        json!({"changed": [], "deleted_ids": [], "changed_lists": [], "deleted_list_ids": [],
               "cursor": last_cursor.to_string()})
    );
    assert!(
        live::stays_quiet(&mut bob_socket, Duration::from_millis(500)).await,
        "bob hears nothing of alice's tasks"
    );

    // Delivery delay from instance B's write to A's subscriber, on this machine.
    let mut delays = Vec::new();
    for n in 0..100 {
        let started = Instant::now();
        alice.create_task(&format!("timed {n}")).await;
        let event = live::next_event(&mut alice_socket).await;
        assert_eq!(event["kind"], "CREATED");
        delays.push(started.elapsed());
    }
    delays.sort();
    let p50 = delays[delays.len() / 2];
    let p95 = delays[delays.len() * 95 / 100];
    let max = delays[delays.len() - 1];
    println!(
        "cross-instance delivery (request sent on B -> event on A's WebSocket): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    // The 95th percentile, not the slowest of 100 samples (one stall of a loaded machine is
    // not a failure): events that wait (for a pool, a read) break it, and a single event
    // waiting out DB_TIMEOUT (5 s) breaks the max. Signals that never arrive are caught up by
    // the receiver's sweep every 500 ms (a median near 250 ms and more): the median says the
    // batches carry them.
    assert!(p50 < Duration::from_millis(150), "p50 {p50:?}");
    assert!(p95 < Duration::from_secs(1), "p95 {p95:?}");
    assert!(max < Duration::from_secs(4), "max {max:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listener_leads_to_resync_then_events_again() {
    let Some(pair) = instances(Backend::Postgres, &[]).await else {
        return;
    };
    let mut socket = live::socket(pair.a(), "alice").await;
    live::subscribe(&mut socket, "1").await;
    live::registered(pair.a(), "alice", &mut socket).await;

    let admin = pg::admin_client().await.expect("admin connection");
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'todo-api-listener' AND datname = $1",
            &[&pair.database_name()],
        )
        .await
        .expect("terminate the listeners");
    assert_eq!(killed.len(), 2, "one listener per instance");

    let event = live::next_event(&mut socket).await;
    assert_eq!(
        event,
        json!({"kind": "RESYNC", "id": null, "cursor": null, "task": null})
    );
    let task = pair
        .b()
        .user("alice")
        .create_task("after the reconnect")
        .await;
    let event = live::next_event(&mut socket).await;
    assert_eq!(event["kind"], "CREATED");
    assert_eq!(event["id"], id_of(&task).to_string());
}

async fn sync_after_a_gap_returns_exactly_what_changed(backend: Backend) {
    let Some(both) = instances(backend, &[]).await else {
        return;
    };
    // Writes alternate between the instances.
    let (a, b) = (both.a(), both.b());
    let t1 = id_of(&a.user("alice").create_task("one").await);
    let t2 = id_of(&a.user("alice").create_task("two").await);
    let t3 = id_of(&b.user("alice").create_task("three").await);
    b.user("bob").create_task("bob's").await;

    let everything = changes(a, "alice", None).await;
    assert_eq!(sorted_ids(&everything["changed"]), vec![t1, t2, t3]);
    assert_eq!(everything["deleted_ids"], json!([]));
    let cursor = everything["cursor"].as_str().unwrap().to_owned();
    // An empty `since` is none, on both APIs: everything again.
    assert_eq!(changes(a, "alice", Some("")).await, everything);
    for query in [
        r#"{ taskChanges(since: "") { changed { id } deletedIds cursor } }"#,
        r#"{ taskChanges(since: "  ") { changed { id } deletedIds cursor } }"#,
    ] {
        let data = b.user("alice").graphql_data(query, json!({})).await;
        let sync = &data["taskChanges"];
        assert_eq!(sorted_ids(&sync["changed"]), vec![t1, t2, t3], "{query}");
        assert_eq!(sync["deletedIds"], json!([]), "{query}");
        assert_eq!(sync["cursor"], everything["cursor"], "{query}");
    }

    // The client goes away; changes happen through both instances.
    let alice_b = b.user("alice");
    alice_b
        .put(
            &alice_b.tasks_path(&format!("/{t1}")),
            json!({"description": "more"}),
        )
        .await
        .good(StatusCode::OK);
    alice_b.delete(&alice_b.tasks_path(&format!("/{t2}"))).await;
    let alice_a = a.user("alice");
    alice_a
        .patch(&alice_a.tasks_path(&format!("/{t3}/complete")))
        .await
        .good(StatusCode::OK);
    let t4 = id_of(&alice_a.create_task("four").await);
    let t5 = id_of(&alice_b.create_task("five").await);
    alice_a.delete(&alice_a.tasks_path(&format!("/{t5}"))).await;
    b.user("bob").create_task("bob's second").await;

    for app in [a, b] {
        let gap = changes(app, "alice", Some(&cursor)).await;
        assert_eq!(sorted_ids(&gap["changed"]), vec![t1, t3, t4], "{gap}");
        assert_eq!(sorted_ids(&gap["deleted_ids"]), vec![t2, t5], "{gap}");
        let t1_now = gap["changed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == t1)
            .unwrap();
        assert_eq!(t1_now["description"], "more");
        let next = gap["cursor"].as_str().unwrap();
        assert_ne!(next, cursor);
        // Nothing since the new cursor.
        assert_eq!(
            changes(app, "alice", Some(next)).await,
            json!({"changed": [], "deleted_ids": [], "changed_lists": [], "deleted_list_ids": [],
                   "cursor": next})
        );
        // The same through GraphQL.
        let data = app
            .user("alice")
            .graphql_data(
                "query($s: String) { taskChanges(since: $s) { changed { id description completed } deletedIds cursor } }",
                json!({"s": cursor}),
            )
            .await;
        let sync = &data["taskChanges"];
        assert_eq!(sorted_ids(&sync["changed"]), vec![t1, t3, t4]);
        assert_eq!(sorted_ids(&sync["deletedIds"]), vec![t2, t5]);
        assert_eq!(sync["cursor"], next);
    }
    // Bob's cursor is his own.
    let bob = changes(b, "bob", None).await;
    assert_eq!(bob["changed"].as_array().unwrap().len(), 2);
}

/// `clearCompleted` deletes several tasks in one transaction: each deletion is a tombstone for
/// sync and an event on every instance, like a single delete.
async fn clear_completed_leaves_tombstones_and_events(backend: Backend) {
    let Some(both) = instances(backend, &[]).await else {
        return;
    };
    let (a, b) = (both.a(), both.b());
    let alice = b.user("alice");
    let t1 = id_of(&alice.create_task("done one").await);
    let kept = id_of(&alice.create_task("still to do").await);
    let t3 = id_of(&alice.create_task("done two").await);
    for id in [t1, t3] {
        alice
            .patch(&alice.tasks_path(&format!("/{id}/complete")))
            .await
            .good(StatusCode::OK);
    }
    let bob = b.user("bob");
    let bobs = id_of(&bob.create_task("bob's, done").await);
    bob.patch(&bob.tasks_path(&format!("/{bobs}/complete")))
        .await
        .good(StatusCode::OK);
    let cursor = changes(a, "alice", None).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stream = SseReader::open(a, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(stream.response.status(), StatusCode::OK);

    let data = alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    assert_eq!(sorted_ids(&data["clearCompleted"]), vec![t1, t3]);

    // One DELETED event per task, in id order, on the other instance.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (event_id, event) = stream.next_event().await;
        assert_eq!(event["kind"], "DELETED", "{event}");
        assert_eq!(event_id.as_deref(), event["cursor"].as_str());
        seen.push(event["id"].as_i64().unwrap());
    }
    assert_eq!(seen, vec![t1, t3]);

    // Sync from before sees the tombstones, through both instances and both APIs.
    for app in [a, b] {
        let gap = changes(app, "alice", Some(&cursor)).await;
        assert_eq!(gap["changed"], json!([]), "{gap}");
        assert_eq!(sorted_ids(&gap["deleted_ids"]), vec![t1, t3], "{gap}");
        let data = app
            .user("alice")
            .graphql_data(
                "query($s: String) { taskChanges(since: $s) { deletedIds } }",
                json!({"s": cursor}),
            )
            .await;
        assert_eq!(sorted_ids(&data["taskChanges"]["deletedIds"]), vec![t1, t3]);
    }
    // Alice's pending task and Bob's completed one are untouched.
    let left = changes(a, "alice", None).await;
    assert_eq!(sorted_ids(&left["changed"]), vec![kept]);
    let bob_left = changes(a, "bob", None).await;
    assert_eq!(sorted_ids(&bob_left["changed"]), vec![bobs]);
}

async fn an_expired_or_foreign_cursor_is_410(backend: Backend) {
    // Retention long enough for the delete and the read within it on a loaded machine.
    let Some(both) = instances(backend, &[("--tombstone-retention", "3s")]).await else {
        return;
    };
    let app = both.b();
    let alice = app.user("alice");
    let task = alice.create_task("short-lived").await;
    let before = changes(app, "alice", None).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .delete(&alice.tasks_path(&format!("/{}", id_of(&task))))
        .await;
    // Within the retention time the deletion is reported.
    let gap = changes(app, "alice", Some(&before)).await;
    assert_eq!(gap["deleted_ids"], json!([id_of(&task)]));
    let after = gap["cursor"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_millis(3300)).await;
    let expired = alice
        .get(&alice.tasks_path(&format!("/changes?since={before}")))
        .await;
    assert_eq!(expired.status, StatusCode::GONE, "{}", expired.text);
    assert_eq!(expired.json()["code"], "CURSOR_EXPIRED");
    assert!(
        expired.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("CURSOR_EXPIRED")
    );
    let body = alice
        .graphql(
            "query($s: String) { taskChanges(since: $s) { cursor } }",
            json!({"s": before}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CURSOR_EXPIRED",
        "{body}"
    );
    // A cursor that saw the deletion is still good.
    assert_eq!(
        changes(app, "alice", Some(&after)).await["cursor"],
        after.as_str()
    );
    // A cursor from the future (another database) is refused the same way; junk is a 422.
    let future = alice.get(&alice.tasks_path("/changes?since=999999")).await;
    assert_eq!(future.status, StatusCode::GONE);
    let junk = alice
        .get(&alice.tasks_path("/changes?since=abc"))
        .await
        .validation();
    crate::common::assert_error_at(&junk, json!(["query", "since"]), "value_error");
    // Another user's path is 403, as everywhere.
    alice.get("/api/bob/tasks/changes").await.detail(
        StatusCode::FORBIDDEN,
        "Not authorized to access this user's tasks",
    );
}

async fn sse_streams_events_and_resumes(backend: Backend) {
    // A stream outlives REQUEST_TIMEOUT: the timeout bounds producing the response, not it.
    let extra = [("--sse-keep-alive", "1s"), ("--request-timeout", "1s")];
    let Some(both) = instances(backend, &extra).await else {
        return;
    };
    let (a, b) = (both.a(), both.b());
    let mut stream = SseReader::open(a, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(stream.response.status(), StatusCode::OK);
    assert!(
        stream.response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let alice = b.user("alice");
    b.user("bob").create_task("not alice's").await;
    let id = id_of(&alice.create_task("streamed").await);
    alice
        .patch(&alice.tasks_path(&format!("/{id}/complete")))
        .await
        .good(StatusCode::OK);
    alice.delete(&alice.tasks_path(&format!("/{id}"))).await;

    let (created_id, created) = stream.next_event().await;
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(created["task"]["title"], "streamed");
    assert_eq!(created["task"]["user_id"], "alice");
    assert_eq!(created_id.as_deref(), created["cursor"].as_str());
    let (_, toggled) = stream.next_event().await;
    assert_eq!(
        (
            toggled["kind"].as_str(),
            toggled["task"]["completed"].as_bool()
        ),
        (Some("UPDATED"), Some(true))
    );
    let (deleted_id, deleted) = stream.next_event().await;
    assert_eq!(
        deleted,
        json!({"kind": "DELETED", "id": id, "task": null, "cursor": deleted_id.clone().unwrap()})
    );
    // Idle: keep-alive comments.
    assert_eq!(
        stream.next(Duration::from_secs(5)).await,
        Sse::Comment("keep-alive".into())
    );

    // Resuming after the CREATED replays what came after it, then goes live.
    let resume = created_id.unwrap();
    let mut resumed = SseReader::open(
        a,
        "alice",
        "/api/alice/tasks/events",
        &[("last-event-id", &resume)],
    )
    .await;
    let (_, replayed) = resumed.next_event().await;
    assert_eq!(
        replayed["kind"], "DELETED",
        "the update was superseded by the deletion: {replayed}"
    );
    assert_eq!(replayed["id"], id);
    let later = id_of(&alice.create_task("after resume").await);
    let (_, live_event) = resumed.next_event().await;
    assert_eq!(
        (live_event["kind"].as_str(), live_event["id"].as_i64()),
        (Some("CREATED"), Some(later))
    );

    // Auth and the 403 rule as on every REST path.
    let other = SseReader::open(a, "alice", "/api/bob/tasks/events", &[]).await;
    assert_eq!(other.response.status(), StatusCode::FORBIDDEN);
    let anonymous = a.anonymous().get("/api/alice/tasks/events").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let junk = SseReader::open(
        a,
        "alice",
        "/api/alice/tasks/events",
        &[("last-event-id", "x")],
    )
    .await;
    assert_eq!(junk.response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_per_user_cap_holds_for_websocket_and_sse(backend: Backend) {
    let Some(both) = instances(
        backend,
        &[
            ("--max-subscriptions-per-user", "2"),
            ("--sse-keep-alive", "1s"),
        ],
    )
    .await
    else {
        return;
    };
    let app = both.a();
    let first = SseReader::open(app, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(first.response.status(), StatusCode::OK);
    let mut socket = live::socket(app, "alice").await;
    live::subscribe(&mut socket, "1").await;
    live::registered(app, "alice", &mut socket).await;

    // Two open (one SSE, one WebSocket): a third is refused on either transport.
    let refused = SseReader::open(app, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(refused.response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = refused.response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Too many open subscriptions: at most 2 per user; close one first"})
    );
    live::subscribe(&mut socket, "2").await;
    let message = live::next_json(&mut socket, Duration::from_secs(10))
        .await
        .unwrap();
    let code = if message["type"] == "error" {
        message["payload"][0]["extensions"]["code"].clone()
    } else {
        message["payload"]["errors"][0]["extensions"]["code"].clone()
    };
    assert_eq!(code, "TOO_MANY_SUBSCRIPTIONS", "{message}");
    assert_eq!(message["id"], "2");

    // Another user is not affected.
    let bob = SseReader::open(app, "bob", "/api/bob/tasks/events", &[]).await;
    assert_eq!(bob.response.status(), StatusCode::OK);

    // Closing the SSE stream gives its place back (noticed at the next keep-alive write).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = SseReader::open(app, "alice", "/api/alice/tasks/events", &[]).await;
        if again.response.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn concurrent_writes_give_gap_free_cursors_in_order(backend: Backend) {
    let Some(both) = instances(backend, &[]).await else {
        return;
    };
    let mut socket = live::socket(both.a(), "alice").await;
    live::subscribe(&mut socket, "1").await;
    live::registered(both.a(), "alice", &mut socket).await;
    // The cursor after the probes' changes.
    let start: i64 = changes(both.b(), "alice", None).await["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .expect("a cursor");
    // 40 creates at once, half through each instance.
    let writes = (0..40).map(|n| {
        let app = if n % 2 == 0 { both.a() } else { both.b() };
        async move {
            app.user("alice")
                .create_task(&format!("parallel {n}"))
                .await
        }
    });
    let created = futures::future::join_all(writes).await;
    assert_eq!(created.len(), 40);
    // Every event, each cursor exactly one more than the last: no gap, no reordering.
    for expected in start + 1..=start + 40 {
        let event = live::next_event(&mut socket).await;
        assert_eq!(event["kind"], "CREATED");
        assert_eq!(event["cursor"], expected.to_string(), "{event}");
    }
    let all = changes(both.b(), "alice", Some("0")).await;
    assert_eq!(all["changed"].as_array().unwrap().len(), 40);
    assert_eq!(all["cursor"], (start + 40).to_string());
}

/// A task too large for a NOTIFY payload (characters JSON escapes as `\u00XX`, 6 bytes each)
/// travels by reference and arrives whole on the other instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_too_large_for_the_payload_arrives_whole() {
    let Some(pair) = instances(Backend::Postgres, &[]).await else {
        return;
    };
    let mut socket = live::socket(pair.a(), "alice").await;
    let subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": {"query": "subscription { taskEvents { kind id task { title description } } }"},
    });
    use futures::SinkExt;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            subscribe.to_string().into(),
        ))
        .await
        .unwrap();
    live::registered(pair.a(), "alice", &mut socket).await;
    let title = "\u{1}".repeat(200);
    let description = "\u{2}".repeat(1000);
    let alice = pair.b().user("alice");
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": title, "description": description}),
        )
        .await
        .good(StatusCode::CREATED);
    let event = live::next_event(&mut socket).await;
    assert_eq!(event["kind"], "CREATED");
    assert_eq!(event["id"], id_of(&task).to_string());
    assert_eq!(
        event["task"],
        json!({"title": title, "description": description})
    );
}

/// An SSE stream lives as long as its token, like a GraphQL socket (closed 4401): at `exp` it
/// gets a last `event: unauthorized` saying `TOKEN_EXPIRED`, with no `id:` (the last cursor
/// stays the one to resume from), and the stream ends.
async fn sse_streams_end_when_their_token_expires(backend: Backend) {
    // A stream lives until `exp` + JWT_LEEWAY, as verification allows (issue 18): no leeway
    // here, so the 5 s token ends the stream at its `exp`. 5 s, not less: it must outlast
    // opening the stream, a write and its event on a loaded machine.
    let extra = [("--sse-keep-alive", "1s"), ("--jwt-leeway", "0s")];
    let Some(both) = instances(backend, &extra).await else {
        return;
    };
    let short = mint_token(
        &SecretKey::new(SECRET.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
        "alice",
        Duration::from_secs(5),
        None,
        None,
    )
    .unwrap();
    let opened = Instant::now();
    let mut stream =
        SseReader::open_with_token(both.a(), &short, "/api/alice/tasks/events", &[]).await;
    assert_eq!(stream.response.status(), StatusCode::OK);
    // Live until then, for changes made through either instance.
    let task = both.b().user("alice").create_task("while valid").await;
    let (_, event) = stream.next_event().await;
    assert_eq!(
        (event["kind"].as_str(), event["id"].as_i64()),
        (Some("CREATED"), Some(id_of(&task)))
    );

    let (name, id, data) = stream.next_named(Duration::from_secs(10)).await;
    let at = opened.elapsed();
    assert_eq!(name, "unauthorized");
    assert_eq!(id, None, "the last event id stays the last change's cursor");
    assert_eq!(
        data,
        json!({"code": "TOKEN_EXPIRED", "detail": "Token has expired"})
    );
    // `exp` is in whole seconds and refused once the second after it begins: the token is
    // good for 5 to 6 s after it was minted (just before opening).
    assert!(
        at >= Duration::from_secs(4) && at < Duration::from_secs(8),
        "ended {at:?} after opening with a 5 s token"
    );
    assert!(
        stream.ends(Duration::from_secs(5)).await,
        "the stream ends after it"
    );
    // A fresh token streams again.
    let mut again = SseReader::open(both.a(), "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(again.response.status(), StatusCode::OK);
    both.b().user("alice").create_task("after").await;
    assert_eq!(again.next_event().await.1["kind"], "CREATED");
}

/// What a client away since a cursor is told on resume: a task created in the gap is CREATED
/// (with its latest state, even when it was also changed in the gap: the client does not have
/// it yet), an older task changed in the gap is UPDATED, a deleted one DELETED, each once, in
/// the order of their last changes, whichever instance they were made through.
async fn sse_resume_replays_created_updated_and_deleted(backend: Backend) {
    let Some(both) = instances(backend, &[]).await else {
        return;
    };
    let (a, b) = (both.a(), both.b());
    let alice_a = a.user("alice");
    let alice_b = b.user("alice");
    let old = id_of(&alice_a.create_task("old").await);
    let doomed = id_of(&alice_a.create_task("doomed").await);
    let cursor = changes(a, "alice", None).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    // Away: through both instances.
    let new = id_of(&alice_b.create_task("new").await);
    let after_new = changes(a, "alice", None).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    alice_a
        .put(
            &alice_a.tasks_path(&format!("/{new}")),
            json!({"title": "new, renamed"}),
        )
        .await
        .good(StatusCode::OK);
    alice_b
        .patch(&alice_b.tasks_path(&format!("/{old}/complete")))
        .await
        .good(StatusCode::OK);
    alice_a
        .delete(&alice_a.tasks_path(&format!("/{doomed}")))
        .await;
    let flash = id_of(&alice_b.create_task("flash").await);
    alice_a
        .delete(&alice_a.tasks_path(&format!("/{flash}")))
        .await;
    b.user("bob").create_task("bob's").await;

    async fn replay(app: &TestApp, since: &str, count: usize) -> Vec<(String, i64, Value, i64)> {
        let mut stream = SseReader::open(
            app,
            "alice",
            "/api/alice/tasks/events",
            &[("last-event-id", since)],
        )
        .await;
        assert_eq!(stream.response.status(), StatusCode::OK);
        let mut seen = Vec::new();
        for _ in 0..count {
            let (id, event) = stream.next_event().await;
            assert_eq!(id.as_deref(), event["cursor"].as_str(), "{event}");
            seen.push((
                event["kind"].as_str().unwrap().to_owned(),
                event["id"].as_i64().unwrap(),
                event["task"].clone(),
                id.unwrap().parse::<i64>().unwrap(),
            ));
        }
        let cursors: Vec<i64> = seen.iter().map(|e| e.3).collect();
        assert!(cursors.is_sorted(), "oldest first: {cursors:?}");
        seen
    }

    for app in [a, b] {
        let seen = replay(app, &cursor, 4).await;
        let kinds: Vec<(&str, i64)> = seen.iter().map(|(k, id, ..)| (k.as_str(), *id)).collect();
        assert_eq!(
            kinds,
            vec![
                ("CREATED", new),
                ("UPDATED", old),
                ("DELETED", doomed),
                ("DELETED", flash),
            ]
        );
        assert_eq!(seen[0].2["title"], "new, renamed", "its latest state");
        assert_eq!(seen[1].2["completed"], true);
        assert_eq!(seen[2].2, Value::Null);

        // A client that already had `new` (its cursor is after the creation) is told UPDATED.
        let seen = replay(app, &after_new, 4).await;
        assert_eq!(
            (seen[0].0.as_str(), seen[0].1, seen[0].2["title"].as_str()),
            ("UPDATED", new, Some("new, renamed"))
        );
    }
}
