//! Webhook deliveries (issue 43), on both backends, checked by a real receiver and the
//! official `standardwebhooks` library: one signed message per change of a task the user
//! sees (their own, a shared list's, another program's), its type (`task.completed` for a
//! completion and a repeating task's occurrence), the event filter, retries with the same id
//! and body, failed after the schedule, an endpoint disabled after failing
//! WEBHOOK_DISABLE_AFTER, network errors, no SSRF without WEBHOOK_ALLOW_PRIVATE, redirects
//! not followed, and one user's slow endpoint delaying nobody else.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::other_writer::Shared;
use crate::common::receiver::{Receiver, verify_all};
use crate::common::{Backend, UserClient};

const PRIVATE: (&str, &str) = ("--webhook-allow-private", "true");
const WAIT: Duration = Duration::from_secs(20);

/// Creates a webhook of `user`'s at `url`; its id and secret.
pub async fn hook(user: &UserClient<'_>, url: &str, events: Option<Value>) -> (i64, String) {
    let mut body = json!({"url": url});
    if let Some(events) = events {
        body["events"] = events;
    }
    let path = format!("/api/{}/webhooks", user.user);
    let made = user.post(&path, body).await.good(StatusCode::CREATED);
    let secret = made["secret"].as_str().unwrap().to_owned();
    (made["id"].as_i64().unwrap(), secret)
}

/// A new list of `owner`'s shared with `member` as `role`; its id.
pub async fn shared_list(owner: &UserClient<'_>, member: &str, role: &str) -> i64 {
    let lists = format!("/api/{}/lists", owner.user);
    let list = owner
        .post(&lists, json!({"name": "Shared"}))
        .await
        .good(StatusCode::CREATED);
    let list_id = list["id"].as_i64().unwrap();
    owner
        .post(
            &format!("{lists}/{list_id}/members"),
            json!({"user_id": member, "role": role}),
        )
        .await
        .good(StatusCode::CREATED);
    list_id
}

/// The attempts log of a webhook, once it holds at least `count` (newest first).
pub async fn attempts(user: &UserClient<'_>, id: i64, count: usize) -> Vec<Value> {
    let path = format!("/api/{}/webhooks/{id}/deliveries?limit=100", user.user);
    let start = Instant::now();
    loop {
        let log = user.get(&path).await.good(StatusCode::OK);
        let log = log.as_array().unwrap().clone();
        if log.len() >= count {
            return log;
        }
        assert!(
            start.elapsed() < WAIT,
            "{} of {count} attempts: {log:?}",
            log.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn kinds(received: &[crate::common::receiver::Received]) -> Vec<String> {
    let mut kinds: Vec<String> = received.iter().map(|r| r.kind()).collect();
    kinds.sort();
    kinds
}

async fn every_change_is_delivered_signed(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1);
    let receiver = Receiver::start().await;
    let alice = app.user("alice");
    let (_, secret) = hook(&alice, &receiver.url("/all"), None).await;
    let task = alice.create_task("write the report").await;
    let id = task["id"].as_i64().unwrap();
    let path = alice.tasks_path(&format!("/{id}"));
    alice
        .put(&path, json!({"title": "write the report today"}))
        .await
        .good(StatusCode::OK);
    alice
        .patch(&format!("{path}/complete"))
        .await
        .good(StatusCode::OK);
    alice.delete(&path).await;
    let created = alice
        .graphql_data(
            "mutation { createTask(input: {title: \"from GraphQL\"}) { id } }",
            json!({}),
        )
        .await;
    let got = receiver.wait_for("/all", 5, WAIT).await;
    assert_eq!(
        kinds(&got),
        [
            "task.completed",
            "task.created",
            "task.created",
            "task.deleted",
            "task.updated"
        ]
    );
    verify_all(&secret, &got);
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one webhook-id per message");
    for r in &got {
        assert_eq!(r.content_type, "application/json");
        let body = r.json();
        let stamp = body["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
        match r.kind().as_str() {
            "task.deleted" => assert_eq!(body["data"], json!({"id": id, "user_id": "alice"})),
            _ => {
                assert_eq!(body["data"]["user_id"], "alice", "{body}");
                assert!(body["data"]["version"].as_i64().unwrap() >= 1, "{body}");
                assert!(body["data"]["title"].is_string(), "{body}");
            }
        }
    }
    let completed = got
        .iter()
        .find(|r| r.kind() == "task.completed")
        .unwrap()
        .json();
    assert_eq!(completed["data"]["id"], id);
    let graphql_id: i64 = created["createTask"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(got.iter().any(|r| r.json()["data"]["id"] == graphql_id));
    // Every attempt is counted by outcome.
    let metrics = app.anonymous().get("/metrics").await;
    assert!(
        metrics.text.contains("webhook_deliveries_total"),
        "{}",
        metrics.text
    );
}

async fn completions_and_the_event_filter(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1);
    let receiver = Receiver::start().await;
    let alice = app.user("alice");
    let (_, secret) = hook(
        &alice,
        &receiver.url("/done"),
        Some(json!(["task.completed"])),
    )
    .await;
    let (_, all_secret) = hook(&alice, &receiver.url("/all"), None).await;
    let due = "2026-12-01T09:00:00Z";
    let repeating = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "stand-up", "due_date": due, "recurrence": "FREQ=DAILY"}),
        )
        .await
        .good(StatusCode::CREATED);
    let rid = repeating["id"].as_i64().unwrap();
    alice
        .patch(&alice.tasks_path(&format!("/{rid}/complete")))
        .await
        .good(StatusCode::OK);
    let plain = alice.create_task("plain").await["id"].as_i64().unwrap();
    let plain_path = alice.tasks_path(&format!("/{plain}"));
    let completed = alice
        .patch(&format!("{plain_path}/complete"))
        .await
        .good(StatusCode::OK);
    // Un-completing and renaming are updates: not for the filtered webhook.
    alice
        .patch(&format!("{plain_path}/complete"))
        .await
        .good(StatusCode::OK);
    alice
        .put(&plain_path, json!({"title": "renamed"}))
        .await
        .good(StatusCode::OK);
    let all = receiver.wait_for("/all", 6, WAIT).await;
    verify_all(&all_secret, &all);
    assert_eq!(
        kinds(&all),
        [
            "task.completed",
            "task.completed",
            "task.created",
            "task.created",
            "task.updated",
            "task.updated"
        ]
    );
    let done = receiver.wait_for("/done", 2, WAIT).await;
    verify_all(&secret, &done);
    assert_eq!(kinds(&done), ["task.completed", "task.completed"]);
    let occurrence = done
        .iter()
        .map(|r| r.json()["data"].clone())
        .find(|d| d["id"] == rid)
        .expect("the occurrence's completion");
    // Each message carries the task as that change left it, in the REST shape: the
    // completion's is what the completing request answered, whatever came after.
    let plain_done = done
        .iter()
        .map(|r| r.json()["data"].clone())
        .find(|d| d["id"] == plain);
    assert_eq!(plain_done, Some(completed));
    // The occurrence was completed: the task stays pending, due the next day.
    assert_eq!(occurrence["completed"], false, "{occurrence}");
    assert!(
        occurrence["due_date"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-02"),
        "{occurrence}"
    );
}

async fn retries_keep_the_id_and_body(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1, "--webhook-retry-schedule" => "1s,1s");
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 503], 200);
    let alice = app.user("alice");
    let (id, secret) = hook(&alice, &receiver.url("/flaky"), None).await;
    let test = alice
        .post(&format!("/api/alice/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(test.status, StatusCode::ACCEPTED);
    let got = receiver.wait_for("/flaky", 3, WAIT).await;
    verify_all(&secret, &got);
    assert!(
        got.iter()
            .all(|r| r.id == got[0].id && r.body == got[0].body),
        "{:?}",
        got.iter().map(|r| (&r.id, &r.body)).collect::<Vec<_>>()
    );
    assert_eq!(got[0].kind(), "webhook.test");
    assert_eq!(got[0].json()["data"]["webhook_id"], id);
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(900),
        "retried too soon"
    );
    let log = attempts(&alice, id, 3).await;
    let seen: Vec<(i64, Value)> = log
        .iter()
        .map(|a| (a["attempt"].as_i64().unwrap(), a["status_code"].clone()))
        .collect();
    assert_eq!(seen, [(3, json!(200)), (2, json!(503)), (1, json!(500))]);
    assert!(log.iter().all(|a| a["message_id"] == got[0].id.as_str()));
    assert_eq!(log[0]["next_attempt_at"], Value::Null);
    assert_eq!(log[0]["error"], Value::Null);
    assert!(log[1]["next_attempt_at"].is_string() && log[2]["next_attempt_at"].is_string());
    assert_eq!(log[1]["event_type"], "webhook.test");
    assert!(log.iter().all(|a| a["duration_ms"].as_i64().unwrap() >= 0));
    // GraphQL shows the same log.
    let data = alice
        .graphql_data(
            "query($id: ID!) { webhook(id: $id) { deliveries(first: 2) { attempt statusCode } } }",
            json!({"id": id.to_string()}),
        )
        .await;
    assert_eq!(
        data["webhook"]["deliveries"],
        json!([{"attempt": 3, "statusCode": 200}, {"attempt": 2, "statusCode": 503}])
    );
}

async fn failing_endpoints_fail_then_are_disabled(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1,
        "--webhook-retry-schedule" => "1s", "--webhook-disable-after" => "1s");
    let receiver = Receiver::start().await;
    receiver.answer(&[], 500);
    let alice = app.user("alice");
    let (id, _) = hook(&alice, &receiver.url("/down"), None).await;
    alice
        .post(&format!("/api/alice/webhooks/{id}/test"), json!({}))
        .await;
    let log = attempts(&alice, id, 2).await;
    assert_eq!(log[0]["attempt"], 2);
    assert_eq!(
        log[0]["next_attempt_at"],
        Value::Null,
        "failed for good: {log:?}"
    );
    assert_eq!(log[0]["error"], "answered 500");
    let path = format!("/api/alice/webhooks/{id}");
    let start = Instant::now();
    let hook_now = loop {
        let now = alice.get(&path).await.good(StatusCode::OK);
        if now["disabled"] == true || start.elapsed() > WAIT {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(hook_now["disabled"], true, "{hook_now}");
    let reason = hook_now["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("WEBHOOK_DISABLE_AFTER"), "{reason}");
    // Disabled: changes queue nothing for it; re-enabled, they do again.
    alice.create_task("while disabled").await;
    let enabled = alice
        .request(Method::PATCH, &path, Some(json!({"disabled": false})))
        .await
        .good(StatusCode::OK);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    receiver.answer(&[], 200);
    alice.create_task("after").await;
    let got = receiver.wait_for("/down", 3, WAIT).await;
    let titles: Vec<Value> = got
        .iter()
        .map(|r| r.json()["data"]["title"].clone())
        .collect();
    assert_eq!(titles[2], "after", "{titles:?}");
    assert!(!titles.contains(&json!("while disabled")));
}

async fn unreachable_endpoints_have_no_status(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1);
    // A port nothing listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let alice = app.user("alice");
    let (id, _) = hook(&alice, &url, None).await;
    alice
        .post(&format!("/api/alice/webhooks/{id}/test"), json!({}))
        .await;
    let log = attempts(&alice, id, 1).await;
    assert_eq!(log[0]["status_code"], Value::Null, "{log:?}");
    assert!(!log[0]["error"].as_str().unwrap().is_empty());
    assert!(log[0]["next_attempt_at"].is_string(), "retried later");
}

/// Without WEBHOOK_ALLOW_PRIVATE a name that resolves to loopback reaches nothing (checked on
/// the address connected to), and with it a redirect is answered, never followed.
async fn no_request_forgery(backend: Backend) {
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    {
        let app = start_app!(backend);
        let alice = app.user("alice");
        let (id, _) = hook(&alice, &format!("https://localhost:{port}/ssrf"), None).await;
        alice
            .post(&format!("/api/alice/webhooks/{id}/test"), json!({}))
            .await;
        let log = attempts(&alice, id, 1).await;
        assert_eq!(log[0]["status_code"], Value::Null);
        let error = log[0]["error"].as_str().unwrap();
        assert!(error.contains("no public address"), "{error}");
        assert!(receiver.received().is_empty());
    }
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1, "--webhook-retry-schedule" => "");
    receiver.answer(&[], 307);
    let alice = app.user("alice");
    let (id, _) = hook(&alice, &receiver.url("/moved"), None).await;
    alice
        .post(&format!("/api/alice/webhooks/{id}/test"), json!({}))
        .await;
    let log = attempts(&alice, id, 1).await;
    assert_eq!(log[0]["status_code"], 307);
    assert_eq!(
        log[0]["next_attempt_at"],
        Value::Null,
        "no retries scheduled"
    );
    assert_eq!(receiver.received_at("/moved").len(), 1);
    assert!(
        receiver.received_at("/followed").is_empty(),
        "a redirect was followed"
    );
}

/// Bob's endpoint takes 10 s per delivery (within WEBHOOK_TIMEOUT, 20 s here: slow, not
/// failing); Alice's deliveries do not wait for it. Waiting for it would take her delivery
/// close to 10 s, twice the 5 s bound, which leaves a loaded machine room.
async fn a_slow_endpoint_delays_nobody_else(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1, "--webhook-timeout" => "20s");
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.delay(Duration::from_secs(10));
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    hook(&bob, &slow.url("/bob"), None).await;
    hook(&alice, &fast.url("/alice"), None).await;
    for n in 0..3 {
        bob.create_task(&format!("bob {n}")).await;
    }
    slow.wait_for("/bob", 1, WAIT).await;
    let wrote = Instant::now();
    alice.create_task("alice's").await;
    let got = fast.wait_for("/alice", 1, WAIT).await;
    let took = got[0].at.saturating_duration_since(wrote);
    assert!(
        took < Duration::from_secs(5),
        "Alice's delivery took {took:?}"
    );
    assert!(slow.received().len() < 3, "Bob's were not still queued");
}

/// A shared list's member gets its tasks' changes, and changes written by another program
/// (SQL over its own connection) are delivered like the server's.
async fn the_audience_is_the_live_streams(backend: Backend) {
    let Some(shared) = Shared::start_with(backend, &[PRIVATE]).await else {
        return;
    };
    let app = &shared.app;
    let receiver = Receiver::start().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let (_, secret) = hook(&bob, &receiver.url("/bob"), None).await;
    let list_id = shared_list(&alice, "bob", "viewer").await;
    alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "milk", "list_id": list_id}),
        )
        .await
        .good(StatusCode::CREATED);
    alice.create_task("alice's own").await;
    let got = receiver.wait_for("/bob", 1, WAIT).await;
    assert_eq!(got[0].kind(), "task.created");
    assert_eq!(got[0].json()["data"]["title"], "milk");
    assert_eq!(got[0].json()["data"]["user_id"], "alice");
    shared.insert("bob", "from psql", None).await;
    let got = receiver.wait_for("/bob", 2, WAIT).await;
    verify_all(&secret, &got);
    assert_eq!(got[1].json()["data"]["title"], "from psql");
    assert!(
        got.iter()
            .all(|r| r.json()["data"]["title"] != "alice's own")
    );
}

/// Delivered messages and their attempts are dropped after WEBHOOK_LOG_RETENTION.
async fn the_log_is_pruned(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1, "--webhook-log-retention" => "1s");
    let receiver = Receiver::start().await;
    let alice = app.user("alice");
    let (id, _) = hook(&alice, &receiver.url("/p"), None).await;
    alice
        .post(&format!("/api/alice/webhooks/{id}/test"), json!({}))
        .await;
    let log = attempts(&alice, id, 1).await;
    let got = receiver.received_at("/p").len();
    assert_eq!(log.len(), 1, "the receiver had {got}; the log: {log:#?}");
    let path = format!("/api/alice/webhooks/{id}/deliveries");
    let start = Instant::now();
    loop {
        let log = alice.get(&path).await.good(StatusCode::OK);
        if log == json!([]) {
            break;
        }
        assert!(start.elapsed() < WAIT, "never pruned: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.received_at("/p").len(), 1);
}

backend_cases!(
    the_log_is_pruned,
    every_change_is_delivered_signed,
    completions_and_the_event_filter,
    retries_keep_the_id_and_body,
    failing_endpoints_fail_then_are_disabled,
    unreachable_endpoints_have_no_status,
    no_request_forgery,
    a_slow_endpoint_delays_nobody_else,
    the_audience_is_the_live_streams,
);
