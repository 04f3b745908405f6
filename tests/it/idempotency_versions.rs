//! Idempotency keys and versions on the same write (issue 20), on both backends and through
//! both APIs. The order of checks: the key first (a replay is answered whatever the version
//! says now), then ownership (404), then the version (412 / VERSION_CONFLICT), which stores
//! nothing under the key. A replayed REST write carries the ETag of the version it made.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, TestResponse};

backend_tests!(
    rest_keyed_conditional_write_replays_with_its_etag,
    rest_stale_if_match_stores_nothing_under_the_key,
    rest_keyed_write_to_another_users_task_is_404,
    graphql_keyed_conditional_write_replays_not_conflicts
);

const REPLAYED: &str = "idempotent-replayed";

/// A request as `user` with extra headers and an optional JSON body.
async fn send(
    app: &TestApp,
    user: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> TestResponse {
    let auth = format!("Bearer {}", app.token(user));
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    if body.is_some() {
        all.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string().into_bytes());
    app.raw(method, path, &all, body).await
}

fn tag(id: &Value, version: i64) -> String {
    format!("\"{id}-{version}\"")
}

async fn rest_keyed_conditional_write_replays_with_its_etag(app: TestApp) {
    let task = app.user("alice").create_task("first").await;
    let id = &task["id"];
    let path = app.user("alice").tasks_path(&format!("/{id}"));
    let v1 = tag(id, 1);
    let headers = [("if-match", v1.as_str()), ("idempotency-key", "edit-1")];
    let body = json!({ "title": "second" });
    let first = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &headers,
        Some(body.clone()),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.header("etag"), Some(tag(id, 2).as_str()));
    assert_eq!(first.header(REPLAYED), None);

    // Someone else moves the task on: the retry's If-Match is stale now.
    let other = app
        .user("alice")
        .put(&path, json!({ "title": "third" }))
        .await;
    assert_eq!(other.good(StatusCode::OK)["version"], 3);

    let retry = send(&app, "alice", Method::PUT, &path, &headers, Some(body)).await;
    assert_eq!(
        retry.status,
        StatusCode::OK,
        "a replay, not a 412: {}",
        retry.text
    );
    assert_eq!(retry.header(REPLAYED), Some("true"));
    assert_eq!(retry.text, first.text, "the stored body, byte for byte");
    assert_eq!(retry.header("etag"), Some(tag(id, 2).as_str()));
    let now = app.user("alice").get(&path).await.good(StatusCode::OK);
    assert_eq!(
        (now["title"].as_str(), now["version"].as_i64()),
        (Some("third"), Some(3))
    );

    // A keyed toggle replays its ETag too; a keyed delete's 204 has none.
    let toggle_path = format!("{path}/complete");
    let key = [("idempotency-key", "flip-1")];
    let flip = send(&app, "alice", Method::PATCH, &toggle_path, &key, None).await;
    assert_eq!(flip.header("etag"), Some(tag(id, 4).as_str()));
    let again = send(&app, "alice", Method::PATCH, &toggle_path, &key, None).await;
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.header("etag"), Some(tag(id, 4).as_str()));
    let v4 = tag(id, 4);
    let gone = [("if-match", v4.as_str()), ("idempotency-key", "drop-1")];
    let deleted = send(&app, "alice", Method::DELETE, &path, &gone, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let replay = send(&app, "alice", Method::DELETE, &path, &gone, None).await;
    assert_eq!(replay.status, StatusCode::NO_CONTENT);
    assert_eq!(replay.header(REPLAYED), Some("true"));
    assert_eq!(replay.header("etag"), None);
}

async fn rest_stale_if_match_stores_nothing_under_the_key(app: TestApp) {
    let task = app.user("alice").create_task("first").await;
    let id = &task["id"];
    let path = app.user("alice").tasks_path(&format!("/{id}"));
    let stale = tag(id, 7);
    let body = json!({ "title": "mine" });
    let headers = [("if-match", stale.as_str()), ("idempotency-key", "edit-2")];
    let refused = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &headers,
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        refused.text
    );
    assert_eq!(refused.json()["code"], "VERSION_CONFLICT");
    assert_eq!(refused.json()["task"]["version"], 1);

    // The merged retry, under the same key, runs: the 412 was not stored.
    let current = tag(id, 1);
    let headers = [
        ("if-match", current.as_str()),
        ("idempotency-key", "edit-2"),
    ];
    let merged = send(&app, "alice", Method::PUT, &path, &headers, Some(body)).await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    assert_eq!(merged.header(REPLAYED), None);
    assert_eq!(merged.json()["version"], 2);
}

async fn rest_keyed_write_to_another_users_task_is_404(app: TestApp) {
    let task = app.user("alice").create_task("hers").await;
    let id = &task["id"];
    let path = app.user("mallory").tasks_path(&format!("/{id}"));
    let current = tag(id, 1);
    for if_match in [current.as_str(), "\"0-0\"", "*"] {
        let headers = [("if-match", if_match), ("idempotency-key", "steal")];
        let body = Some(json!({ "title": "mine" }));
        let response = send(&app, "mallory", Method::PUT, &path, &headers, body).await;
        response.detail(StatusCode::NOT_FOUND, "Task not found");
        assert_eq!(
            response.header("etag"),
            None,
            "nothing about her task leaks"
        );
    }
    let hers = app.user("alice").tasks_path(&format!("/{id}"));
    let unchanged = app.user("alice").get(&hers).await.good(StatusCode::OK);
    assert_eq!(
        (unchanged["title"].as_str(), unchanged["version"].as_i64()),
        (Some("hers"), Some(1))
    );
}

const UPDATE: &str = "mutation($id: ID!, $title: String!, $v: Int, $key: String) { \
    updateTask(id: $id, input: {title: $title}, expectedVersion: $v, idempotencyKey: $key) \
    { title version } }";

async fn graphql_keyed_conditional_write_replays_not_conflicts(app: TestApp) {
    let alice = app.user("alice");
    let task = alice.create_task("first").await;
    let id = task["id"].to_string();
    let vars = json!({ "id": id, "title": "second", "v": 1, "key": "g-1" });
    let first = alice.graphql_data(UPDATE, vars.clone()).await;
    assert_eq!(
        first["updateTask"],
        json!({ "title": "second", "version": 2 })
    );
    let moved = json!({ "id": id, "title": "third", "v": null, "key": null });
    alice.graphql_data(UPDATE, moved).await;

    // The retry gets the stored result, not VERSION_CONFLICT, and writes nothing.
    let retry = alice.graphql_data(UPDATE, vars).await;
    assert_eq!(
        retry["updateTask"],
        json!({ "title": "second", "version": 2 })
    );

    // A stale version under a new key is refused and stores nothing: the key then runs.
    let stale = json!({ "id": id, "title": "fourth", "v": 2, "key": "g-2" });
    let refused = alice.graphql(UPDATE, stale).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "VERSION_CONFLICT",
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["extensions"]["task"]["version"], 3);
    let merged = json!({ "id": id, "title": "fourth", "v": 3, "key": "g-2" });
    let done = alice.graphql_data(UPDATE, merged).await;
    assert_eq!(
        done["updateTask"],
        json!({ "title": "fourth", "version": 4 })
    );
}
