//! Webhook delivery across instances and restarts (issue 43): two servers on one PostgreSQL
//! database deliver each attempt once (claims with `FOR UPDATE SKIP LOCKED`), and messages
//! queued when a server stops are delivered by the next one, with the same id and body, on
//! both backends.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::pg::TempDatabase;
use crate::common::receiver::{Receiver, verify_all};
use crate::common::{Backend, TestApp, template};
use crate::webhook_delivery::{attempts, hook};

const WAIT: Duration = Duration::from_secs(30);

async fn server(backend: Backend, url: &str, args: &[(&str, &str)]) -> TestApp {
    let builder = args
        .iter()
        .fold(TestApp::builder(backend), |b, (flag, value)| {
            b.arg(flag, value)
        })
        .arg("--webhook-allow-private", "true");
    builder.database_url(url).start().await.expect("a server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_each_attempt_once() {
    let Some(db) = TempDatabase::migrated().await else {
        return;
    };
    let one = server(Backend::Postgres, &db.url, &[]).await;
    let two = server(Backend::Postgres, &db.url, &[]).await;
    let receiver = Receiver::start().await;
    // Slow enough that both workers are busy at once.
    receiver.delay(Duration::from_millis(30));
    let (id, secret) = hook(&one.user("alice"), &receiver.url("/both"), None).await;
    // Several users' webhooks too, so that both instances claim at the same time.
    let mut others = Vec::new();
    for n in 0..4 {
        let user = format!("user{n}");
        others.push(hook(&two.user(&user), &receiver.url(&format!("/{user}")), None).await);
    }
    const TASKS: usize = 20;
    for n in 0..TASKS {
        let app = if n % 2 == 0 { &one } else { &two };
        app.user("alice").create_task(&format!("task {n}")).await;
        let user = format!("user{}", n % 4);
        app.user(&user).create_task(&format!("theirs {n}")).await;
    }
    let got = receiver.wait_for("/both", TASKS, WAIT).await;
    let log = attempts(&one.user("alice"), id, TASKS).await;
    assert_eq!(log.len(), TASKS, "one attempt per message: {log:?}");
    assert!(
        log.iter()
            .all(|a| a["attempt"] == 1 && a["status_code"] == 200)
    );
    let got_after = receiver.received_at("/both");
    assert_eq!(got_after.len(), TASKS, "a message was delivered twice");
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), TASKS);
    verify_all(&secret, &got);
    for (n, (other, _)) in others.iter().enumerate() {
        let path = format!("/user{n}");
        let theirs = receiver.wait_for(&path, TASKS / 4, WAIT).await;
        let log = attempts(&two.user(&format!("user{n}")), *other, TASKS / 4).await;
        assert_eq!(log.len(), theirs.len(), "{path}: {log:?}");
    }
}

/// A server stops with messages waiting for a retry; the next one delivers every one.
async fn a_restart_loses_no_delivery(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Postgres => match TempDatabase::migrated().await {
            Some(db) => Some(db),
            None => return,
        },
        Backend::Sqlite => None,
    };
    let url = match &pg {
        Some(db) => db.url.clone(),
        None => template::sqlite_url(dir.path()),
    };
    let receiver = Receiver::start().await;
    receiver.answer(&[], 503);
    // The first server's one retry is due 6 s after each failed attempt (the due time is
    // stored: the second server sends it then), later than the steps before the stop take on
    // a loaded machine: a retry spent against the 503s would leave that message failed.
    let first = server(backend, &url, &[("--webhook-retry-schedule", "6s")]).await;
    let alice = first.user("alice");
    let (id, secret) = hook(&alice, &receiver.url("/r"), None).await;
    for n in 0..5 {
        alice.create_task(&format!("task {n}")).await;
    }
    let failed = receiver.wait_for("/r", 5, WAIT).await;
    // Each first attempt recorded (none cut short), each retry due in 6 s: then it stops.
    attempts(&alice, id, 5).await;
    drop(alice);
    drop(first);
    receiver.answer(&[], 200);
    let second = server(backend, &url, &[("--webhook-retry-schedule", "2s")]).await;
    let bob = second.user("alice");
    let start = std::time::Instant::now();
    let log = loop {
        let log = attempts(&bob, id, 5).await;
        if log.iter().filter(|a| a["status_code"] == 200).count() == 5 {
            break log;
        }
        assert!(
            start.elapsed() < WAIT,
            "not every message delivered: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let got = receiver.received_at("/r");
    let mut bodies: HashMap<String, String> = HashMap::new();
    for r in &failed {
        bodies.insert(r.id.clone(), r.body.clone());
    }
    for r in &got {
        assert_eq!(
            bodies.get(&r.id),
            Some(&r.body),
            "a retry changed the id or body"
        );
    }
    let delivered: Vec<&serde_json::Value> =
        log.iter().filter(|a| a["status_code"] == 200).collect();
    let mut ids: Vec<&str> = delivered
        .iter()
        .filter_map(|a| a["message_id"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every message delivered once: {log:?}");
    verify_all(&secret, &got);
}

backend_cases!(a_restart_loses_no_delivery);

#[derive(diesel::QueryableByName)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// SQLite's queueing triggers write the task's row as JSON column by column (it has no
/// `to_jsonb`): every column of `tasks` but the PostgreSQL-only search keys must be in both,
/// or a message would leave a field out on SQLite alone.
#[test]
fn sqlite_queues_every_column_of_a_task() {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};
    let path = template::sqlite();
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).expect("opens SQLite");
    let columns: Vec<Named> = diesel::sql_query("SELECT name FROM pragma_table_info('tasks')")
        .load(&mut conn)
        .expect("reads the columns");
    let triggers: Vec<Named> = diesel::sql_query(
        "SELECT sql AS name FROM sqlite_master WHERE type = 'trigger'
         AND name LIKE 'task_changes_webhooks_%'",
    )
    .load(&mut conn)
    .expect("reads the triggers");
    assert_eq!(triggers.len(), 2);
    for trigger in &triggers {
        for column in &columns {
            let name = column.name.as_str();
            if name == "title_key" || name == "description_key" {
                continue;
            }
            assert!(
                trigger.name.contains(&format!("'{name}', ")),
                "a webhook trigger leaves out tasks.{name}: {}",
                trigger.name
            );
        }
    }
}
