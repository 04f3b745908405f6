//! Webhooks' API against the delivery worker's locks (issue 43), on PostgreSQL, where the two
//! take row locks: a delete of a webhook whose message the worker is recording an attempt of
//! waits for that record, never deadlocks with it. (SQLite has one writer at a time: a delete
//! there waits for the worker's transaction, whatever it locks.)

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp, pg};

/// A delete while the worker records an attempt of one of the webhook's messages: the worker
/// locks the message's row, then (the log's foreign key) shares the webhook's. Another
/// connection plays the worker, step by step, once the real one has tried the message and
/// will not again for an hour: it locks the message, waits until the API's delete is waiting
/// for that lock, then writes an attempt. Were the delete to lock the webhook
/// before its messages, the two would wait for each other (PostgreSQL ends one: a 500 or a
/// lost record); the delete takes the messages first, so it waits, then answers 204, and the
/// record is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_delete_waits_for_an_attempt_being_recorded() {
    let Some(db) = pg::TempDatabase::create().await else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&db.url)
        .arg("--webhook-allow-private", "true")
        // The real worker's one attempt fails, and its retry is an hour away: from then on
        // the test's connection is the only one locking the message.
        .arg("--webhook-retry-schedule", "1h")
        .start()
        .await
        .expect("the server starts");
    let receiver = Receiver::start().await;
    receiver.answer(&[], 500);
    let alice = app.user("alice");
    let made = alice
        .post("/api/alice/webhooks", json!({"url": receiver.url("/a")}))
        .await
        .good(StatusCode::CREATED);
    let hook = made["id"].as_i64().unwrap();
    alice.create_task("to deliver").await;
    let worker = pg::client(&db.url).await;
    let mut message = None;
    for _ in 0..200 {
        let rows = worker
            .query(
                "SELECT id FROM webhook_deliveries WHERE webhook_id = $1 AND attempts = 1 \
                 AND lease_token IS NULL",
                &[&hook],
            )
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            message = Some(row.get::<_, i64>(0));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let message = message.expect("the change's message is tried once within 10 s");
    worker.batch_execute("BEGIN").await.unwrap();
    let locked = worker
        .query(
            "SELECT id FROM webhook_deliveries WHERE id = $1 FOR UPDATE",
            &[&message],
        )
        .await
        .unwrap();
    assert_eq!(
        locked.len(),
        1,
        "the message is still queued, and now locked"
    );
    let holder: i32 = worker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    // Watched from a connection of its own: inside the worker's transaction, the activity
    // view would be read once and kept until it ends.
    let observer = pg::client(&db.url).await;
    let path = format!("/api/alice/webhooks/{hook}");
    let record = async {
        // The API's delete, waiting for this connection's lock (not the worker's record).
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) \
                       AND query LIKE 'DELETE FROM \"webhook%'";
        let mut seen = false;
        for _ in 0..200 {
            if observer
                .query_one(waiting, &[&holder])
                .await
                .unwrap()
                .get::<_, i64>(0)
                > 0
            {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(seen, "the API's delete never waited for the message's lock");
        let written = worker
            .batch_execute(&format!(
                "INSERT INTO webhook_attempts (delivery_id, webhook_id, user_id, message_id, \
                 event_type, attempt, duration_ms, attempted_at) \
                 VALUES ({message}, {hook}, 'alice', 'm', 'task.created', 9, 1, now()); COMMIT"
            ))
            .await;
        assert!(written.is_ok(), "the record failed: {written:?}");
    };
    let (gone, ()) = tokio::join!(alice.delete(&path), record);
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    alice
        .get(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "Webhook not found");
}
