//! The per-user queues over a real (SQLite) pool whose only connection the test can hold, so
//! a fetch waits and fails for real: one user's held-back events never delay or resync
//! another's, each user's events keep their order, and a backlog becomes one `Resync`.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures::{FutureExt, StreamExt};

use super::*;
use crate::db::{DatabaseTarget, Db, DbConn, PoolOptions};
use crate::db_run;
use crate::tasks::events::{EventStream, TaskEventKind};

/// A migrated SQLite database whose pool holds one connection, waited for `timeout` at most.
async fn one_connection(dir: &tempfile::TempDir, timeout: Duration) -> Db {
    let target = DatabaseTarget::SqliteFile(dir.path().join("events.db"));
    let options = PoolOptions {
        max_size: 1,
        acquire_timeout: timeout,
        statement_timeout: Duration::from_secs(5),
        connections_per_user: 0,
        row_security: true,
        read_connections: 2,
    };
    // Opening the file is not what these tests time: on a loaded machine (the lib's tests run
    // side by side on two cores) the first connection can take longer than `timeout`, so it
    // is tried again rather than failing the test.
    for _ in 0..20 {
        if let Ok(db) = Db::connect(&target, &options).await {
            db.migrate().await.unwrap();
            return db;
        }
    }
    panic!("no SQLite connection within 20 tries of {timeout:?}");
}

async fn insert_task(conn: &mut DbConn, owner: &str, name: &str) -> i64 {
    use crate::db::schema::tasks::dsl::*;
    let now = chrono::Utc::now().naive_utc();
    db_run!(conn, |c| diesel::insert_into(tasks)
        .values((
            user_id.eq(owner),
            title.eq(name),
            title_key.eq(name),
            completed.eq(false),
            created_at.eq(now),
            updated_at.eq(now),
            priority.eq(2_i16),
            category.eq("other"),
        ))
        .returning(id)
        .get_result::<i64>(c)
        .await)
    .unwrap()
}

fn updated(owner: &str, task_id: i64, seq: i64) -> TaskEvent {
    TaskEvent::change(owner, TaskEventKind::Updated, task_id, None, seq)
}

/// The owner's changes numbered `after < seq <= upto`.
fn reference(owner: &str, after: i64, upto: i64) -> Reference {
    Reference {
        owner: owner.to_owned(),
        after,
        upto,
    }
}

/// What the stream holds right now: (kind, cursor) in order.
fn received(stream: &mut EventStream) -> Vec<(TaskEventKind, Option<i64>)> {
    let mut events = Vec::new();
    while let Some(Some(event)) = stream.next().now_or_never() {
        events.push((event.kind, event.cursor));
    }
    events
}

async fn finish_one(pending: &mut Pending) {
    let fetched = tokio::time::timeout(Duration::from_secs(10), pending.next_done())
        .await
        .expect("the fetch ends within its timeout");
    pending.done(fetched);
}

/// Two users listening ("noisy" and "quiet") and the queues in front of them, over a pool of
/// one connection waited for 300 ms at most: (the database's folder, the router, the database,
/// noisy's stream, quiet's stream, the queues).
async fn listening() -> (
    tempfile::TempDir,
    EventRouter,
    Db,
    EventStream,
    EventStream,
    Pending,
) {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(300);
    let db = one_connection(&dir, timeout).await;
    let router = EventRouter::new(10);
    let noisy = router.subscribe("noisy", None).unwrap();
    let quiet = router.subscribe("quiet", None).unwrap();
    let pending = Pending::new(router.clone(), UnitOfWork::new(db.clone()), timeout);
    (dir, router, db, noisy, quiet, pending)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_fetch_holds_back_and_resyncs_only_its_own_user() {
    let (_dir, _router, db, mut noisy, mut quiet, mut pending) = listening().await;

    // The fetch pool's only connection is busy: noisy's fetch waits for it.
    let mut held = db.conn().await.unwrap();
    // Its journal entry is change 1 (the database's trigger).
    let task = insert_task(&mut held, "noisy", "large").await;
    pending.fetch(reference("noisy", 0, 1));
    pending.ready(updated("noisy", task, 2));
    pending.ready(updated("quiet", 99, 1));
    assert_eq!(
        received(&mut quiet),
        [(TaskEventKind::Updated, Some(1))],
        "another user's event goes straight through"
    );
    assert_eq!(received(&mut noisy), [], "held behind its earlier event");

    // The wait ends in a timeout: a Resync for noisy, then its later event, in order.
    finish_one(&mut pending).await;
    assert_eq!(
        received(&mut noisy),
        [
            (TaskEventKind::Resync, None),
            (TaskEventKind::Updated, Some(2))
        ]
    );
    assert_eq!(received(&mut quiet), [], "no Resync for anyone else");

    // With the connection free, each fetched task arrives whole, as its journal entry says
    // (created), before what followed it.
    let mut conn = held;
    for name in ["second", "third", "fourth"] {
        insert_task(&mut conn, "noisy", name).await;
    }
    drop(conn);
    pending.fetch(reference("noisy", 1, 3));
    pending.ready(updated("noisy", task, 5));
    pending.fetch(reference("noisy", 3, 4));
    finish_one(&mut pending).await;
    finish_one(&mut pending).await;
    let events: Vec<TaskEvent> = std::iter::from_fn(|| noisy.next().now_or_never().flatten())
        .take(10)
        .collect();
    let cursors: Vec<Option<i64>> = events.iter().map(|e| e.cursor).collect();
    assert_eq!(cursors, [Some(2), Some(3), Some(5), Some(4)]);
    let titles: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.task.as_ref().map(|t| t.title.as_str()))
        .collect();
    assert_eq!(
        titles,
        [Some("second"), Some("third"), None, Some("fourth")]
    );
    assert_eq!(events[0].kind, TaskEventKind::Created);
    assert_eq!(received(&mut quiet), []);

    // A large event of a user nobody here listens to costs no read.
    pending.fetch(reference("elsewhere", 0, 1));
    assert!(pending.fetches.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_past_the_buffer_becomes_one_resync_for_its_user() {
    let (_dir, _router, db, mut noisy, mut quiet, mut pending) = listening().await;
    let held = db.conn().await.unwrap();

    pending.fetch(reference("noisy", 0, 1));
    let buffer = i64::try_from(EVENT_BUFFER).unwrap();
    // Fills the queue, then one more: the queue goes, a Resync takes its place.
    for seq in 2..=buffer + 2 {
        pending.ready(updated("noisy", 1, seq));
    }
    pending.ready(updated("quiet", 7, 1));
    // After the Resync, events flow again at once.
    pending.ready(updated("noisy", 1, buffer + 3));
    assert_eq!(
        received(&mut noisy),
        [
            (TaskEventKind::Resync, None),
            (TaskEventKind::Updated, Some(buffer + 3))
        ]
    );
    assert_eq!(received(&mut quiet), [(TaskEventKind::Updated, Some(1))]);

    // The abandoned fetch ends unheard.
    finish_one(&mut pending).await;
    drop(held);
    assert_eq!(received(&mut noisy), []);
}
