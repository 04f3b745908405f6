//! A transaction pooler nobody declared (issue 40, item 7): `DATABASE_URL` on PgBouncer in
//! transaction mode, no `DATABASE_DIRECT_URL`, a host that is not Neon's. The server finds it
//! out from PostgreSQL's own answer (`prepared statement "sN" does not exist` / `already
//! exists`), names no statement from then on, runs the request that hit it again on that
//! path, logs a warning naming the setting, and `/readyz` says so.
//!
//! Meanwhile an idle instance keeps its connections through it, its deaf listener's included
//! (issue 58), counted by a proxy between the server and the pooler.
//!
//! PostgreSQL only: a pooler stands between a server and PostgreSQL; SQLite has none.
//! Through the real binary, whose log is what an operator reads (the count in process).

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use todo_api::db::events::EVENTS_APPLICATION_NAME;

use crate::common::binary::Binary;
use crate::common::live::SseReader;
use crate::common::pg::TempDatabase;
use crate::common::pgbouncer::PgBouncer;
use crate::common::proxy::TcpProxy;
use crate::common::{Backend, TestApp, token_for};

fn json_lines(logs: &[String]) -> Vec<Value> {
    logs.iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Lines at `level` whose `setting` field is DATABASE_DIRECT_URL and whose message has `text`.
fn naming_the_setting(logs: &[String], level: &str, text: &str) -> Vec<Value> {
    json_lines(logs)
        .into_iter()
        .filter(|l| {
            l["level"] == level
                && l["fields"]["setting"] == "DATABASE_DIRECT_URL"
                && l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(text))
        })
        .collect()
}

/// What one request answered: what it was, its status and body.
type Answer = (&'static str, StatusCode, String);

/// Creates a task for `user`; its answer and the new task's id.
async fn create(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    i: usize,
) -> (Answer, Option<i64>) {
    let created = client
        .post(format!("{base}/api/{user}/tasks"))
        .bearer_auth(token_for(user))
        .json(&json!({"title": format!("task {i}")}))
        .send()
        .await
        .expect("create answers");
    let status = created.status();
    let body = created.text().await.unwrap_or_default();
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_i64());
    (("create", status, body), id)
}

/// One user's round: create, read it, complete it, list.
async fn round(client: &reqwest::Client, base: &str, user: &str, i: usize) -> Vec<Answer> {
    let token = token_for(user);
    let tasks = format!("{base}/api/{user}/tasks");
    let (created, id) = create(client, base, user, i).await;
    let mut seen = vec![created];
    let mut requests = vec![("list", client.get(&tasks))];
    if let Some(id) = id {
        requests.insert(0, ("read", client.get(format!("{tasks}/{id}"))));
        requests.insert(
            1,
            ("complete", client.patch(format!("{tasks}/{id}/complete"))),
        );
    }
    for (what, request) in requests {
        let answer = request.bearer_auth(&token).send().await.expect("answers");
        let status = answer.status();
        seen.push((what, status, answer.text().await.unwrap_or_default()));
    }
    seen
}

/// The answers whose status is not the one expected (201 for a create, else 200).
fn failed(answers: &[Answer]) -> Vec<&Answer> {
    answers
        .iter()
        .filter(|(what, status, _)| {
            let expected = if *what == "create" {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            *status != expected
        })
        .collect()
}

/// Many concurrent reads and writes through PgBouncer 1.18 (which does not track prepared
/// statements) with nothing saying it is a pooler: every one answers 200/201 (before the
/// fix, about half of the reads answered 500 with `prepared statement "sN" does not exist`),
/// `/readyz` names the problem (200, `degraded`, `pooler: undeclared`), and the log warns
/// once, naming DATABASE_DIRECT_URL; the deaf listener's error says why it is deaf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_undeclared_pooler_is_found_out_and_no_request_fails() {
    let Some(database) = TempDatabase::create().await else {
        return;
    };
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    let server = Binary::start(&[
        ("DATABASE_URL", &bouncer.url(&database.name)),
        ("EVENT_HEARTBEAT_INTERVAL", "1s"),
    ])
    .await;
    let base = server.base();
    todo_api::install_crypto_provider();
    let client = crate::common::http_client();

    // Writes first, 16 at a time: a write whose statement was kept on another server
    // connection meets the pooler inside its transaction (before the fix: 500).
    let users = ["alice", "bob", "carol", "dave"];
    let creates = (0..64).map(|i| {
        let (client, base) = (&client, base.as_str());
        async move { create(client, base, users[i % 4], i).await.0 }
    });
    let mut answers: Vec<Answer> = futures::stream::iter(creates)
        .buffer_unordered(16)
        .collect()
        .await;
    // Then 64 rounds of four requests, reads and writes, 16 rounds at a time.
    let rounds = (0..64).map(|i| {
        let (client, base) = (&client, base.as_str());
        async move { round(client, base, users[i % 4], i).await }
    });
    answers.extend(
        futures::stream::iter(rounds)
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten(),
    );
    assert_eq!(answers.len(), 64 + 64 * 4, "every round ran to its end");
    let failed = failed(&answers);
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, e.g. {:?}",
        failed.len(),
        answers.len(),
        failed.iter().take(3).collect::<Vec<_>>(),
    );

    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz answers");
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.expect("readyz JSON");
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["checks"]["pooler"], "undeclared", "{ready}");
    assert_eq!(ready["checks"]["database"], "ok", "{ready}");
    // LISTEN through the pooler hears nothing.
    assert_eq!(ready["checks"]["events"], "failing", "{ready}");

    let warned = naming_the_setting(&server.logs(), "WARN", "is a transaction pooler");
    assert_eq!(
        warned.len(),
        1,
        "one warning, when it was found: {warned:#?}"
    );
    // With PostgreSQL's own words, which prove it.
    let proof = warned[0]["fields"]["error"].as_str().unwrap_or_default();
    assert!(proof.contains("prepared statement \"s"), "{proof}");
    // The deaf listener's error (every heartbeat interval) now says why it is deaf.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let deaf = naming_the_setting(
            &server.logs(),
            "ERROR",
            "DATABASE_URL is a transaction pooler",
        );
        if !deaf.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no listener error naming the pooler:\n{}",
            server.logs().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An idle instance behind an undeclared PgBouncer (no `DATABASE_DIRECT_URL`) keeps its
/// connections: counted by a proxy between it and the pooler, by application, nothing new in
/// ten heartbeat intervals of idling, nor across 100 creates while the user's SSE stream is
/// open, once a first round of work has grown each pool to what it needs at once (issue 58,
/// item 7). Its listener hears nothing through the pooler, and before the fix it listened
/// again on a new connection at every missed heartbeat: 9 or 10 logins in 10 s at a 1 s
/// interval (on Neon each a TLS handshake), the reminders' and webhooks' pools keeping
/// theirs. It still reports the deaf listener, and the stream still gets the user's own
/// creates. The interval is 300 ms so that those ten rounds take 3 s, not 10.
///
/// The event pool (heartbeat, batched signals, reads for events, reminders and webhooks) may
/// still grow to its size (`--event-fetch-connections 2`) when two of its users first meet,
/// which on a loaded machine can be after the warm-up: that is a pool filling, not churn. So
/// its connections are counted over the whole run, at most its size; any other connection
/// opened while idling or creating is a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_idle_instance_behind_an_undeclared_pooler_opens_no_connection() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    let proxy = TcpProxy::start(&format!("127.0.0.1:{}", bouncer.port)).await;
    // A short heartbeat: each missed one is when the listener reconnected.
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&proxy.url(&bouncer.url(&database.name)))
        .arg("--event-heartbeat-interval", "300ms")
        .arg("--event-fetch-connections", "2")
        .start()
        .await
        .expect("a pooled instance starts");
    let alice = app.user("alice");
    let mut stream = SseReader::open(&app, "alice", "/api/alice/tasks/events", &[]).await;
    for i in 0..10 {
        alice.create_task(&format!("warm-up {i}")).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let warm = proxy.opened().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut idle = proxy.opened().split_off(warm);
    idle.retain(|name| *name != EVENTS_APPLICATION_NAME);
    assert!(
        idle.is_empty(),
        "opened in 3 idle seconds (10 heartbeats): {idle:?}"
    );

    let before = proxy.opened().len();
    let mut last = 0;
    for i in 0..100 {
        last = alice.create_task(&format!("task {i}")).await["id"]
            .as_i64()
            .expect("an id");
    }
    // Its own writes reach its stream (between the deaf listener's RESYNCs).
    while stream.next_event().await.1["id"].as_i64() != Some(last) {}
    let mut creating = proxy.opened().split_off(before);
    creating.retain(|name| *name != EVENTS_APPLICATION_NAME);
    assert!(
        creating.is_empty(),
        "opened across 100 creates: {creating:?}"
    );
    // The pool held at least one connection after the warm-up (its signals went out), so it
    // may open one more, no more. Before the fix the listener's retries opened one every
    // missed heartbeat (9 or 10 in 10 s).
    let events = proxy.opened()[warm..]
        .iter()
        .filter(|name| **name == EVENTS_APPLICATION_NAME)
        .count();
    assert!(
        events <= 1,
        "{events} event pool connections opened after the warm-up, for a pool of 2: {:?}",
        proxy.opened()
    );

    // The heartbeat went on: the listener is still reported deaf.
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(
        ready.json()["checks"]["events"],
        "failing",
        "{}",
        ready.text
    );
}
