//! `Idempotency-Key` on the webhook writes (issue 58), on both backends and both APIs: a
//! retried create makes one webhook and answers it again with `secret: null` (no secret is
//! kept for replays), a retried rotation rotates once (deliveries still verify with the first
//! answer's secret), a retried test queues one message, a retried PATCH and DELETE replay
//! their answers; a key reused for another body is 422 `IDEMPOTENCY_KEY_REUSED`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::receiver::{Receiver, verify_all};
use crate::common::{Backend, TestResponse};
use crate::idempotency::keyed;

const WAIT: Duration = Duration::from_secs(20);
const REPLAYED: &str = "idempotent-replayed";

/// Asserts `second` replays `first`, and returns its body.
#[track_caller]
fn replayed(first: &TestResponse, second: &TestResponse) -> Value {
    assert_eq!(second.status, first.status, "{}", second.text);
    assert_eq!(second.header(REPLAYED), Some("true"), "{}", second.text);
    if second.text.is_empty() {
        return Value::Null;
    }
    second.json()
}

async fn rest_writes_happen_once(backend: Backend) {
    let app = start_app!(backend, "--webhook-allow-private" => "true");
    let receiver = Receiver::start().await;
    let alice = app.user("alice");
    let base = "/api/alice/webhooks";
    let body = json!({"url": receiver.url("/hook"), "events": ["task.created", "webhook.test"]});
    let create = async |key: &str, body: &Value| {
        keyed(&app, "alice", Method::POST, base, key, Some(body.clone())).await
    };
    let first = create("c1", &body).await;
    let made = first.good(StatusCode::CREATED);
    let again = replayed(&first, &create("c1", &body).await);
    assert_eq!(again["id"], made["id"]);
    assert_eq!(again["url"], made["url"]);
    assert_eq!(again["secret"], Value::Null, "no secret kept: {again}");
    let listed = alice.get(base).await.good(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let other = create("c1", &json!({"url": receiver.url("/other")})).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );
    assert_eq!(other.json()["code"], "IDEMPOTENCY_KEY_REUSED");

    let path = format!("{base}/{}", made["id"]);
    let rotate = async |key: &str| {
        let path = format!("{path}/rotate-secret");
        keyed(&app, "alice", Method::POST, &path, key, None).await
    };
    let first = rotate("r1").await;
    let secret = first.good(StatusCode::OK)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(made["secret"], secret.as_str());
    let again = replayed(&first, &rotate("r1").await);
    assert_eq!(again["secret"], Value::Null, "{again}");

    let test = async |key: &str| {
        let path = format!("{path}/test");
        keyed(&app, "alice", Method::POST, &path, key, None).await
    };
    let first = test("t1").await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    replayed(&first, &test("t1").await);
    // Queued before it, the one test is sent before the task's message.
    alice.create_task("after").await;
    let start = std::time::Instant::now();
    let got = loop {
        let got = receiver.received_at("/hook");
        if got.iter().any(|r| r.kind() == "task.created") {
            break got;
        }
        assert!(start.elapsed() < WAIT, "{got:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let kinds: Vec<String> = got.iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, ["webhook.test", "task.created"]);
    // Signed with the first rotation's secret: there was no second.
    verify_all(&secret, &got);

    let patch = json!({"description": "once"});
    let update = async || {
        keyed(
            &app,
            "alice",
            Method::PATCH,
            &path,
            "p1",
            Some(patch.clone()),
        )
        .await
    };
    let first = update().await;
    assert_eq!(first.good(StatusCode::OK)["description"], "once");
    assert_eq!(replayed(&first, &update().await), first.json());

    let delete = async || keyed(&app, "alice", Method::DELETE, &path, "d1", None).await;
    let first = delete().await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.text);
    replayed(&first, &delete().await);
    assert_eq!(alice.get(base).await.good(StatusCode::OK), json!([]));
}

async fn graphql_writes_happen_once(backend: Backend) {
    let app = start_app!(backend);
    let alice = app.user("alice");
    let create = "mutation($key: String) { createWebhook(input: \
        {url: \"https://hooks.example.com/g\"}, idempotencyKey: $key) { secret webhook { id } } }";
    let first = alice.graphql_data(create, json!({"key": "gc"})).await;
    let again = alice.graphql_data(create, json!({"key": "gc"})).await;
    let (first, again) = (&first["createWebhook"], &again["createWebhook"]);
    assert!(first["secret"].is_string(), "{first}");
    assert_eq!(again["webhook"], first["webhook"]);
    assert_eq!(again["secret"], Value::Null);
    let all = alice.graphql_data("{ webhooks { id } }", json!({})).await;
    assert_eq!(all["webhooks"].as_array().unwrap().len(), 1, "{all}");

    let id = first["webhook"]["id"].clone();
    let rotate = "mutation($id: ID!) { rotateWebhookSecret(id: $id, idempotencyKey: \"gr\") \
        { secret } }";
    let rotated = alice.graphql_data(rotate, json!({"id": id})).await;
    assert!(rotated["rotateWebhookSecret"]["secret"].is_string());
    let again = alice.graphql_data(rotate, json!({"id": id})).await;
    assert_eq!(again["rotateWebhookSecret"]["secret"], Value::Null);
    let update = "mutation($id: ID!) { updateWebhook(id: $id, input: {description: \"x\"}, \
        idempotencyKey: \"gu\") { description events } }";
    let updated = alice.graphql_data(update, json!({"id": id})).await;
    assert_eq!(alice.graphql_data(update, json!({"id": id})).await, updated);
    assert_eq!(updated["updateWebhook"]["events"][0], "TASK_CREATED");
    let delete = "mutation($id: ID!) { deleteWebhook(id: $id, idempotencyKey: \"gd\") }";
    for _ in 0..2 {
        let deleted = alice.graphql_data(delete, json!({"id": id})).await;
        assert_eq!(deleted["deleteWebhook"], true);
    }
    let reused = alice.graphql(delete, json!({"id": "999"})).await;
    let code = &reused["errors"][0]["extensions"]["code"];
    assert_eq!(code, "IDEMPOTENCY_KEY_REUSED", "{reused}");
}

backend_cases!(rest_writes_happen_once, graphql_writes_happen_once);
