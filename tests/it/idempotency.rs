//! Idempotency keys (issue 20) on both APIs and both backends: a retried write happens once
//! (one task, one event) and replays the first response byte for byte with
//! `Idempotent-Replayed: true`; concurrent duplicates get 409 or the replay; a key reused for
//! another request is 422; a malformed key 400; keys are per user, expire, are capped per
//! user; two PostgreSQL instances receiving the same key at once write once.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::live::{self, Socket};
use crate::common::other_writer::TwoInstances;
use crate::common::{Backend, TestApp, TestResponse};

const REPLAYED: &str = "idempotent-replayed";

/// A REST request as `user` with an `Idempotency-Key` (and a JSON body when given).
pub(crate) async fn keyed(
    app: &TestApp,
    user: &str,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> TestResponse {
    let auth = format!("Bearer {}", app.token(user));
    let mut headers = vec![("authorization", auth.as_str()), ("idempotency-key", key)];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(|body| body.to_string().into_bytes());
    app.raw(method, path, &headers, body).await
}

/// `POST /api/{user}/tasks` with a key.
async fn keyed_create(app: &TestApp, user: &str, key: &str, title: &str) -> TestResponse {
    let path = format!("/api/{user}/tasks");
    keyed(
        app,
        user,
        Method::POST,
        &path,
        key,
        Some(json!({ "title": title })),
    )
    .await
}

/// A GraphQL request as `user`, with an `Idempotency-Key` header when given.
async fn graphql_keyed(
    app: &TestApp,
    user: &str,
    header: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let auth = format!("Bearer {}", app.token(user));
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(key) = header {
        headers.push(("idempotency-key", key));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let response = app
        .raw(Method::POST, "/graphql", &headers, Some(body.into_bytes()))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json()
}

const CREATE: &str = "mutation($title: String!, $key: String) { \
    createTask(input: {title: $title}, idempotencyKey: $key) { id title } }";

fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {body}"))
}

async fn task_count(app: &TestApp, user: &str) -> usize {
    let client = app.user(user);
    let tasks = client
        .get(&client.tasks_path(""))
        .await
        .good(StatusCode::OK);
    tasks.as_array().expect("a list").len()
}

/// A subscribed socket for `user`, proven live by a first event, with every probe's event read.
async fn listening(app: &TestApp, user: &str) -> Socket {
    let mut socket = live::socket(app, user).await;
    live::subscribe(&mut socket, "1").await;
    let client = app.user(user);
    // Until the subscription is registered, a write has no listener: probe until one is heard
    // (a slow machine may take longer than one wait), then read up to the last probe's event,
    // so that a late probe is never taken for one of the test's own events.
    for n in 0..50 {
        let probe = format!("probe {n}");
        client.create_task(&probe).await;
        let Some(message) = live::next_json_within(&mut socket, Duration::from_millis(300)).await
        else {
            continue;
        };
        assert_eq!(message["type"], "next", "{message}");
        let mut event = message["payload"]["data"]["taskEvents"].clone();
        while event["task"]["title"] != probe.as_str() {
            assert_eq!(event["kind"], "CREATED", "{event}");
            event = live::next_event(&mut socket).await;
        }
        return socket;
    }
    panic!("the subscription never received an event");
}

/// The events up to the next one about a task titled `marker` (created by the caller after
/// the writes being counted), as their kinds and titles.
async fn events_until(socket: &mut Socket, marker: &str) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    loop {
        let event = live::next_event(socket).await;
        let title = event["task"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if title == marker {
            return seen;
        }
        seen.push((event["kind"].as_str().unwrap().to_owned(), title));
    }
}

async fn rest_retry_writes_once_and_replays_bytes(app: TestApp) {
    let mut socket = listening(&app, "alice").await;
    let before = task_count(&app, "alice").await;
    let first = keyed_create(&app, "alice", "create-1", "milk").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.header(REPLAYED), None);
    let again = keyed_create(&app, "alice", "create-1", "milk").await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(
        again.text, first.text,
        "a replay is the first body, byte for byte"
    );
    assert_eq!(task_count(&app, "alice").await, before + 1);

    app.user("alice").create_task("marker").await;
    let events = events_until(&mut socket, "marker").await;
    assert_eq!(events, vec![("CREATED".to_owned(), "milk".to_owned())]);
}

async fn graphql_retry_writes_once(app: TestApp) {
    let mut socket = listening(&app, "alice").await;
    let before = task_count(&app, "alice").await;
    let vars = json!({ "title": "bread", "key": "gql-1" });
    let first = graphql_keyed(&app, "alice", None, CREATE, vars.clone()).await;
    assert!(first.get("errors").is_none(), "{first}");
    let again = graphql_keyed(&app, "alice", None, CREATE, vars).await;
    assert_eq!(again, first, "the replay returns the stored result");
    // The same key in the header (argument left out) is the same request.
    let header = json!({ "title": "bread", "key": null });
    let third = graphql_keyed(&app, "alice", Some("gql-1"), CREATE, header).await;
    assert_eq!(third, first);
    assert_eq!(task_count(&app, "alice").await, before + 1);
    app.user("alice").create_task("marker").await;
    let events = events_until(&mut socket, "marker").await;
    assert_eq!(events, vec![("CREATED".to_owned(), "bread".to_owned())]);

    // Every mutation takes the argument: a toggle retried does not flip back.
    let id = first["data"]["createTask"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let toggle =
        "mutation($id: ID!) { toggleTask(id: $id, idempotencyKey: \"flip\") { completed } }";
    let flipped = graphql_keyed(&app, "alice", None, toggle, json!({ "id": id })).await;
    let retried = graphql_keyed(&app, "alice", None, toggle, json!({ "id": id })).await;
    assert_eq!(flipped["data"]["toggleTask"]["completed"], true);
    assert_eq!(retried, flipped);
    let delete = "mutation($id: ID!) { deleteTask(id: $id, idempotencyKey: \"gone\") }";
    let deleted = graphql_keyed(&app, "alice", None, delete, json!({ "id": id })).await;
    let retried = graphql_keyed(&app, "alice", None, delete, json!({ "id": id })).await;
    assert_eq!(deleted["data"]["deleteTask"], json!(id));
    assert_eq!(
        retried, deleted,
        "a retried delete gets its result, not NOT_FOUND"
    );
}

async fn rest_retried_delete_and_toggle_replay(app: TestApp) {
    let alice = app.user("alice");
    let task = alice.create_task("walk").await;
    let path = alice.tasks_path(&format!("/{}", task["id"]));
    let toggled = keyed(
        &app,
        "alice",
        Method::PATCH,
        &format!("{path}/complete"),
        "t",
        None,
    )
    .await;
    let again = keyed(
        &app,
        "alice",
        Method::PATCH,
        &format!("{path}/complete"),
        "t",
        None,
    )
    .await;
    assert_eq!(toggled.status, StatusCode::OK);
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.text, toggled.text);
    assert_eq!(
        alice.get(&path).await.good(StatusCode::OK)["completed"],
        true
    );

    let deleted = keyed(&app, "alice", Method::DELETE, &path, "d", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = keyed(&app, "alice", Method::DELETE, &path, "d", None).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.text);
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.text, "");
    // Without the key it is a new request: the task is gone.
    alice
        .delete(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "Task not found");
    // A PUT with a fresh key to a missing task is a 404, not stored: the same key on an
    // existing task then works.
    let other = alice.create_task("other").await;
    let missing = keyed(
        &app,
        "alice",
        Method::PUT,
        &path,
        "u",
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let missing_again = keyed(
        &app,
        "alice",
        Method::PUT,
        &path,
        "u",
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(missing_again.status, StatusCode::NOT_FOUND);
    assert_eq!(missing_again.header(REPLAYED), None);
    let other_path = alice.tasks_path(&format!("/{}", other["id"]));
    let updated = keyed(
        &app,
        "alice",
        Method::PUT,
        &other_path,
        "u",
        Some(json!({"title": "y"})),
    )
    .await;
    assert_eq!(updated.good(StatusCode::OK)["title"], "y");
}

async fn concurrent_duplicates_write_once(app: TestApp) {
    const AT_ONCE: usize = 8;
    let started = Instant::now();
    let before = task_count(&app, "alice").await;
    let sends = (0..AT_ONCE).map(|_| keyed_create(&app, "alice", "race", "once"));
    let answers = futures::future::join_all(sends).await;
    let mut written = 0;
    for answer in &answers {
        match answer.status {
            StatusCode::CREATED if answer.header(REPLAYED).is_none() => written += 1,
            StatusCode::CREATED => {}
            StatusCode::CONFLICT => {
                assert_eq!(answer.header("retry-after"), Some("1"));
                assert_eq!(answer.json()["code"], "IDEMPOTENCY_KEY_IN_USE");
            }
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert_eq!(written, 1, "exactly one request wrote");
    assert_eq!(task_count(&app, "alice").await, before + 1);

    // The same through GraphQL, with another key.
    let vars = json!({ "title": "gql once", "key": "gql-race" });
    let sends = (0..AT_ONCE).map(|_| graphql_keyed(&app, "alice", None, CREATE, vars.clone()));
    for answer in futures::future::join_all(sends).await {
        if answer.get("errors").is_some() {
            assert_eq!(error_code(&answer), "IDEMPOTENCY_KEY_IN_USE");
        }
    }
    assert_eq!(task_count(&app, "alice").await, before + 2);
    // Bounded: 16 requests; another user's ordinary request still succeeds promptly.
    let bob = Instant::now();
    app.user("bob").create_task("unaffected").await;
    assert!(bob.elapsed() < Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(60));
}

async fn same_key_other_request_is_422(app: TestApp) {
    keyed_create(&app, "alice", "k", "first")
        .await
        .good(StatusCode::CREATED);
    let other = keyed_create(&app, "alice", "k", "second").await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );
    assert_eq!(other.json()["code"], "IDEMPOTENCY_KEY_REUSED");
    let task = app.user("alice").create_task("t").await;
    let put = keyed(
        &app,
        "alice",
        Method::PUT,
        &format!("/api/alice/tasks/{}", task["id"]),
        "k",
        Some(json!({ "title": "first" })),
    )
    .await;
    assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A key used on REST is another request on GraphQL.
    let vars = json!({ "title": "first", "key": "k" });
    let graphql = graphql_keyed(&app, "alice", None, CREATE, vars).await;
    assert_eq!(error_code(&graphql), "IDEMPOTENCY_KEY_REUSED");
    let vars = json!({ "title": "a", "key": "g" });
    graphql_keyed(&app, "alice", None, CREATE, vars).await;
    let vars = json!({ "title": "b", "key": "g" });
    let changed = graphql_keyed(&app, "alice", None, CREATE, vars).await;
    assert_eq!(error_code(&changed), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(task_count(&app, "alice").await, 3);
}

async fn keys_of_two_users_never_collide(app: TestApp) {
    let alice = keyed_create(&app, "alice", "shared", "same").await;
    let bob = keyed_create(&app, "bob", "shared", "same").await;
    assert_eq!(alice.status, StatusCode::CREATED);
    assert_eq!(bob.status, StatusCode::CREATED);
    assert_eq!(bob.header(REPLAYED), None);
    assert_ne!(alice.json()["id"], bob.json()["id"]);
    let vars = json!({ "title": "same", "key": "gshared" });
    let a = graphql_keyed(&app, "alice", None, CREATE, vars.clone()).await;
    let b = graphql_keyed(&app, "bob", None, CREATE, vars).await;
    assert_ne!(a["data"]["createTask"]["id"], b["data"]["createTask"]["id"]);
    assert_eq!(task_count(&app, "alice").await, 2);
    assert_eq!(task_count(&app, "bob").await, 2);
}

async fn malformed_keys_are_400_and_refusals_are_not_stored(app: TestApp) {
    let long = "k".repeat(256);
    for bad in ["", long.as_str(), "a b", "clé"] {
        let answer = keyed_create(&app, "alice", bad, "never").await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "key {bad:?}: {}",
            answer.text
        );
        assert!(
            answer.json()["detail"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
    }
    let longest = "~".repeat(255);
    keyed_create(&app, "alice", &longest, "fine")
        .await
        .good(StatusCode::CREATED);
    let vars = json!({ "title": "never", "key": "" });
    let empty = graphql_keyed(&app, "alice", None, CREATE, vars).await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT");
    let auth = format!("Bearer {}", app.token("alice"));
    let body = json!({ "query": CREATE, "variables": { "title": "never" } }).to_string();
    let header = app
        .raw(
            Method::POST,
            "/graphql",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("idempotency-key", "a b"),
            ],
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(header.status, StatusCode::BAD_REQUEST, "{}", header.text);
    assert_eq!(task_count(&app, "alice").await, 1);

    // A write refused by validation stores nothing: the key then serves a valid request.
    let path = "/api/alice/tasks";
    let invalid = keyed(
        &app,
        "alice",
        Method::POST,
        path,
        "v",
        Some(json!({ "title": "" })),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let valid = keyed_create(&app, "alice", "v", "valid").await;
    assert_eq!(valid.status, StatusCode::CREATED);
    assert_eq!(valid.header(REPLAYED), None);
    // So does one refused for want of a token.
    let anonymous = app
        .raw(
            Method::POST,
            path,
            &[
                ("idempotency-key", "anon"),
                ("content-type", "application/json"),
            ],
            Some(b"{\"title\":\"x\"}".to_vec()),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        keyed_create(&app, "alice", "anon", "x")
            .await
            .header(REPLAYED),
        None
    );
}

backend_tests!(
    rest_retry_writes_once_and_replays_bytes,
    graphql_retry_writes_once,
    rest_retried_delete_and_toggle_replay,
    concurrent_duplicates_write_once,
    same_key_other_request_is_422,
    keys_of_two_users_never_collide,
    malformed_keys_are_400_and_refusals_are_not_stored,
);

async fn expired_key_is_a_new_request(backend: Backend) {
    let app = start_app!(backend, "--idempotency-key-retention" => "1s");
    keyed_create(&app, "alice", "old", "first")
        .await
        .good(StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let later = keyed_create(&app, "alice", "old", "second").await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.text);
    assert_eq!(later.header(REPLAYED), None);
    assert_eq!(later.json()["title"], "second");
    assert_eq!(task_count(&app, "alice").await, 2);
}

async fn stored_outcomes_are_capped_per_user(backend: Backend) {
    let app = start_app!(backend, "--max-idempotency-keys-per-user" => "2");
    for key in ["a", "b"] {
        keyed_create(&app, "alice", key, key)
            .await
            .good(StatusCode::CREATED);
    }
    let full = keyed_create(&app, "alice", "c", "c").await;
    assert_eq!(full.status, StatusCode::TOO_MANY_REQUESTS, "{}", full.text);
    assert!(
        full.json()["detail"]
            .as_str()
            .unwrap()
            .contains("at most 2")
    );
    // A retry of a stored key still replays, a write without a key still works, and
    // another user has keys of their own.
    assert_eq!(
        keyed_create(&app, "alice", "a", "a").await.header(REPLAYED),
        Some("true")
    );
    app.user("alice").create_task("unkeyed").await;
    keyed_create(&app, "bob", "c", "c")
        .await
        .good(StatusCode::CREATED);
    let vars = json!({ "title": "d", "key": "d" });
    let graphql = graphql_keyed(&app, "alice", None, CREATE, vars).await;
    assert_eq!(error_code(&graphql), "LIMIT_EXCEEDED");
    assert_eq!(graphql["errors"][0]["extensions"]["limit"], 2);
}

backend_cases!(
    expired_key_is_a_new_request,
    stored_outcomes_are_capped_per_user
);

/// Two instances on one PostgreSQL database, the same key sent to both at once: one write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_same_key_write_once() {
    let Some(both) = TwoInstances::start().await else {
        return;
    };
    let (a, b) = (&both.a, &both.b);
    for round in 0..5 {
        let key = format!("both-{round}");
        let sends = (0..6).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            keyed_create(app, "alice", &key, "once")
        });
        let answers = futures::future::join_all(sends).await;
        let written = answers
            .iter()
            .filter(|r| r.status == StatusCode::CREATED && r.header(REPLAYED).is_none())
            .count();
        assert_eq!(written, 1, "round {round}");
        for answer in &answers {
            assert!(
                [StatusCode::CREATED, StatusCode::CONFLICT].contains(&answer.status),
                "{}",
                answer.text
            );
        }
    }
    assert_eq!(task_count(a, "alice").await, 5);
    assert_eq!(task_count(b, "alice").await, 5);
}
