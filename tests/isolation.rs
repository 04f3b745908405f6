//! The isolation matrix: one user can never read, change or delete another user's tasks,
//! through any REST endpoint or GraphQL operation, on either backend.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    rest_isolation_matrix,
    graphql_isolation_matrix,
    lists_never_mix_users
);

async fn rest_isolation_matrix(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "alice's secret", "description": "d"}),
        )
        .await
        .good(StatusCode::CREATED);
    let id = task["id"].as_i64().unwrap();

    // Under bob's own path, alice's task does not exist.
    let as_bob_own_path: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/bob/tasks/{id}"), None),
        (
            Method::PUT,
            format!("/api/bob/tasks/{id}"),
            Some(json!({"title": "pwned", "completed": true})),
        ),
        (
            Method::PUT,
            format!("/api/bob/tasks/{id}"),
            Some(json!({"description": null})),
        ),
        (Method::PATCH, format!("/api/bob/tasks/{id}/complete"), None),
        (Method::DELETE, format!("/api/bob/tasks/{id}"), None),
    ];
    for (method, path, body) in as_bob_own_path {
        bob.request(method.clone(), &path, body)
            .await
            .detail(StatusCode::NOT_FOUND, "Task not found");
    }
    // Under alice's path, bob is forbidden on every endpoint.
    let as_bob_alice_path: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/alice/tasks".into(), None),
        (
            Method::POST,
            "/api/alice/tasks".into(),
            Some(json!({"title": "planted"})),
        ),
        (Method::GET, format!("/api/alice/tasks/{id}"), None),
        (
            Method::PUT,
            format!("/api/alice/tasks/{id}"),
            Some(json!({"title": "pwned"})),
        ),
        (
            Method::PATCH,
            format!("/api/alice/tasks/{id}/complete"),
            None,
        ),
        (Method::DELETE, format!("/api/alice/tasks/{id}"), None),
    ];
    for (method, path, body) in as_bob_alice_path {
        bob.request(method, &path, body).await.detail(
            StatusCode::FORBIDDEN,
            "Not authorized to access this user's tasks",
        );
    }
    // Alice's task is untouched and alone in her list; bob's list is empty.
    assert_eq!(
        alice
            .get(&alice.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::OK),
        task
    );
    assert_eq!(
        alice.get(&alice.tasks_path("")).await.good(StatusCode::OK),
        json!([task])
    );
    assert_eq!(
        bob.get(&bob.tasks_path("")).await.good(StatusCode::OK),
        json!([])
    );
}

async fn graphql_isolation_matrix(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let task = alice.create_task("alice only").await;
    let id = task["id"].as_i64().unwrap().to_string();

    let read = bob
        .graphql_data(
            "query($id: ID!) { task(id: $id) { id title } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        read["task"],
        Value::Null,
        "another user's task reads as null"
    );

    for mutation in [
        "mutation($id: ID!) { updateTask(id: $id, input: {title: \"pwned\"}) { id } }",
        "mutation($id: ID!) { toggleTask(id: $id) { id } }",
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }",
        "mutation($id: ID!) { deleteTask(id: $id) }",
    ] {
        let body = bob.graphql(mutation, json!({"id": id})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{mutation}: {body}"
        );
        assert_eq!(body["errors"][0]["message"], "Task not found");
    }
    let bobs = bob.graphql_data("{ tasks { id } }", json!({})).await;
    assert_eq!(bobs["tasks"], json!([]));
    assert_eq!(
        alice
            .get(&alice.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::OK),
        task
    );
}

async fn lists_never_mix_users(app: TestApp) {
    let users = ["alice", "bob", "carol"];
    for user in users {
        let client = app.user(user);
        for n in 0..3 {
            client.create_task(&format!("{user} {n}")).await;
        }
    }
    for user in users {
        let client = app.user(user);
        for query in [
            "",
            "?status=pending",
            "?sort=title",
            "?sort_by=status&order=desc",
        ] {
            let list = client
                .get(&client.tasks_path(query))
                .await
                .good(StatusCode::OK);
            let list = list.as_array().unwrap();
            assert_eq!(list.len(), 3, "{user}{query}");
            assert!(list.iter().all(|t| t["user_id"] == user && t["title"].as_str().unwrap().starts_with(user)));
        }
        let data = client
            .graphql_data("{ tasks(status: ALL, sort: TITLE) { title } }", json!({}))
            .await;
        let titles = data["tasks"].as_array().unwrap();
        assert_eq!(titles.len(), 3);
        assert!(
            titles
                .iter()
                .all(|t| t["title"].as_str().unwrap().starts_with(user))
        );
    }
}
