//! Concurrency: atomic toggles and parallel creates, on both backends (SQLite included: many
//! concurrent writers must never see "database is locked").

use crate::common::TestApp;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

backend_tests!(
    parallel_toggles_flip_once_each,
    parallel_creates_all_land,
    parallel_graphql_toggles
);

async fn parallel_toggles_flip_once_each(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("contended").await["id"].as_i64().unwrap();
    let path = alice.tasks_path(&format!("/{id}/complete"));
    let responses = join_all((0..21).map(|_| alice.patch(&path))).await;
    for response in &responses {
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    }
    // 21 flips from false: completed. Each response saw a distinct state change.
    let task = alice
        .get(&alice.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(task["completed"], true);
    let trues = responses
        .iter()
        .filter(|r| r.json()["completed"] == true)
        .count();
    assert_eq!(trues, 11, "11 of 21 flips end in true");
}

async fn parallel_creates_all_land(app: TestApp) {
    let alice = app.user("alice");
    let path = alice.tasks_path("");
    let responses =
        join_all((0..50).map(|n| alice.post(&path, json!({"title": format!("task {n}")})))).await;
    let mut ids: Vec<i64> = responses
        .iter()
        .map(|r| r.good(StatusCode::CREATED)["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "50 distinct ids");
    let list = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 50);
}

async fn parallel_graphql_toggles(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("contended").await["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let query = "mutation($id: ID!) { toggleTask(id: $id) { completed } }";
    let bodies = join_all((0..21).map(|_| alice.graphql(query, json!({"id": id})))).await;
    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
    }
    let data = alice
        .graphql_data(
            "query($id: ID!) { task(id: $id) { completed } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(data["task"]["completed"], true);
}
