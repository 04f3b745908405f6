//! Writes at the database's pace (issue 41): the server's writes take no NOTIFY in their
//! transaction (NOTIFY's lock on the whole database, held through the commit's flush, made
//! every write commit alone); each instance publishes its writes after the commit, to its own
//! subscribers at once and to the others by batched NOTIFYs, and a signal lost between a
//! commit and its batch is caught up from the journal by the receivers' sweep.
//!
//! PostgreSQL only: SQLite is one instance with no NOTIFY, and its writes were always
//! delivered after the commit, in-process (`realtime::` and `other_writers::` run there).

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use crate::common::live;
use crate::common::proxy::TcpProxy;
use crate::common::{Backend, TestApp, pg};

/// A plain client LISTENing on the events' channel, and what it hears as it comes.
async fn listener(url: &str) -> (tokio_postgres::Client, mpsc::UnboundedReceiver<String>) {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the listener connects");
    let (heard, hearing) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(n) = message {
                let _ = heard.send(n.payload().to_owned());
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", todo_api::db::events::CHANNEL))
        .await
        .expect("LISTEN");
    (client, hearing)
}

/// The next `count` payloads heard (within 10 s in all, however late a batch comes), then
/// `quiet` with nothing more (a payload sent twice).
async fn heard(
    hearing: &mut mpsc::UnboundedReceiver<String>,
    count: usize,
    quiet: Duration,
) -> Vec<String> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while all.len() < count {
        match tokio::time::timeout_at(deadline, hearing.recv()).await {
            Ok(Some(payload)) => all.push(payload),
            Ok(None) => panic!("the listener stopped after {all:?}"),
            Err(_) => panic!("{count} payloads within 10 s, heard {all:?}"),
        }
    }
    if let Ok(Some(more)) = tokio::time::timeout(quiet, hearing.recv()).await {
        panic!("more than {count} payloads: {all:?}, then {more}");
    }
    all
}

/// The server's writes notify nobody in their transaction: what the channel carries of them
/// comes in the instance's batches after the commit, each payload marked with the instance's
/// origin (`{"o": …, …}`); another program's write still notifies in its own transaction, as
/// before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_servers_writes_are_signalled_after_commit_in_batches() {
    let Some(db) = pg::TempDatabase::create().await else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&db.url)
        .arg("--event-heartbeat-interval", "1h")
        .start()
        .await
        .expect("the server starts");
    let (_client, mut hearing) = listener(&db.url).await;
    let alice = app.user("alice");
    for n in 0..3 {
        alice.create_task(&format!("task {n}")).await;
    }
    // Each create's payload, once (`heard` fails on fewer or more).
    let server = heard(&mut hearing, 3, Duration::from_millis(500)).await;
    for payload in &server {
        assert!(
            payload.starts_with("{\"o\": \""),
            "a write of the server's notified in its transaction: {payload}"
        );
    }
    let other = pg::client(&db.url).await;
    other
        .batch_execute(
            "INSERT INTO tasks (user_id, title, completed, created_at, updated_at)
             VALUES ('alice', 'from psql', FALSE, now(), now())",
        )
        .await
        .unwrap();
    let theirs = heard(&mut hearing, 1, Duration::from_millis(500)).await;
    assert!(
        theirs[0].starts_with("{\"e\":") && theirs[0].contains("from psql"),
        "another program's write notifies in its transaction: {}",
        theirs[0]
    );
}

/// An instance that stops between a write's commit and its batch (here: what its event and
/// listener connections send, the batch among it, no longer reaches the database while its
/// requests' connections still do, and the instance is then killed) loses no event: the other
/// instance's sweep finds the subscriber's counter ahead of what it delivered and reads the
/// change from the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_signal_lost_between_commit_and_batch_is_caught_up_from_the_journal() {
    let Some(db) = pg::TempDatabase::create().await else {
        return;
    };
    let b = TestApp::builder(Backend::Postgres)
        .database_url(&db.url)
        .start()
        .await
        .expect("instance B");
    // Every connection of A through the proxy, in clear text: the proxy tells the event,
    // listener and webhook connections from the requests' by their startup's application name.
    let proxy = TcpProxy::start(&pg::address_of(&pg::admin_url())).await;
    let mut through = url::Url::parse(&proxy.url(&db.url)).unwrap();
    through.query_pairs_mut().append_pair("sslmode", "disable");
    let a = TestApp::builder(Backend::Postgres)
        .database_url(through.as_str())
        .arg("--database-direct-url", through.as_str())
        .start()
        .await
        .expect("instance A");

    let mut socket = live::socket(&b, "alice").await;
    live::subscribe(&mut socket, "1").await;
    live::registered(&b, "alice", &mut socket).await;
    // Heard through the batch, while A's listener still reaches the database.
    let first = a.user("alice").create_task("signalled").await;
    let event = live::next_event(&mut socket).await;
    assert_eq!(
        (event["kind"].as_str(), &event["id"]),
        (Some("CREATED"), &serde_json::json!(first["id"].to_string()))
    );

    // What reaches the channel from now on, heard on a connection of its own: the proof that
    // the batch was held back (a stall that did not take would deliver through it, at once).
    let (_listening, mut hearing) = listener(&db.url).await;
    proxy.stall_events();
    let lost = a.user("alice").create_task("never signalled").await;
    let written = Instant::now();
    drop(a);
    let event = live::next_event(&mut socket).await;
    let caught_up = written.elapsed();
    assert_eq!(event["kind"], "CREATED", "{event}");
    assert_eq!(event["id"], lost["id"].to_string(), "{event}");
    assert_eq!(event["task"]["title"], "never signalled");
    // Two sweeps at most (500 ms each) and a read: well within 8 s on a loaded machine.
    assert!(
        caught_up < Duration::from_secs(8),
        "caught up after {caught_up:?}"
    );
    println!("a lost signal caught up after {caught_up:?}");
    while let Ok(payload) = hearing.try_recv() {
        assert!(
            !payload.contains("never signalled"),
            "the batch was not held back: {payload}"
        );
    }
    let status = b
        .user("alice")
        .get(&b.user("alice").tasks_path(""))
        .await
        .status;
    assert_eq!(status, StatusCode::OK);
}
