//! The isolation matrix: one user can never read, change or delete another user's tasks,
//! through any REST endpoint or GraphQL operation, on either backend.

use crate::common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    rest_isolation_matrix,
    graphql_isolation_matrix,
    lists_never_mix_users,
    search_stats_pages_and_clear_completed_stay_per_user
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

async fn search_stats_pages_and_clear_completed_stay_per_user(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mut alice_ids = Vec::new();
    for n in 0..4 {
        let task = alice
            .post(
                &alice.tasks_path(""),
                json!({"title": format!("shared word {n}"), "description": "needle",
                       "priority": "high", "due_date": "2020-01-01T00:00:00Z"}),
            )
            .await
            .good(StatusCode::CREATED);
        let id = task["id"].as_i64().unwrap();
        alice
            .patch(&alice.tasks_path(&format!("/{id}/complete")))
            .await
            .good(StatusCode::OK);
        alice_ids.push(id);
    }
    let own = bob.create_task("shared word bob").await;

    // Search: bob finds only his own, through REST and GraphQL.
    for query in ["?search=shared", "?search=needle", "?search=shared&limit=1"] {
        let list = bob.get(&bob.tasks_path(query)).await.good(StatusCode::OK);
        let ids: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        let expected = if query.contains("needle") {
            vec![]
        } else {
            vec![own["id"].as_i64().unwrap()]
        };
        assert_eq!(ids, expected, "{query}");
    }
    let data = bob
        .graphql_data("{ tasks(search: \"needle\") { id } }", json!({}))
        .await;
    assert_eq!(data["tasks"], json!([]));

    // Stats count only bob's.
    let stats = bob
        .get(&bob.tasks_path("/stats"))
        .await
        .good(StatusCode::OK);
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["completed"], 0);
    assert_eq!(stats["by_priority"]["high"], 0);
    let data = bob
        .graphql_data("{ taskStats { total overdue } }", json!({}))
        .await;
    assert_eq!(data["taskStats"], json!({"total": 1, "overdue": 0}));
    bob.get("/api/alice/tasks/stats").await.detail(
        StatusCode::FORBIDDEN,
        "Not authorized to access this user's tasks",
    );

    // Pages: totals are bob's, and alice's cursor shows bob only his own tasks.
    let page = bob.get(&bob.tasks_path("?limit=1")).await;
    assert_eq!(page.header("x-total-count"), Some("1"));
    assert!(page.header("link").is_none());
    let alice_page = alice.get(&alice.tasks_path("?limit=1")).await;
    assert_eq!(alice_page.header("x-total-count"), Some("4"));
    let link = alice_page.header("link").unwrap().to_owned();
    let cursor = link
        .split("cursor=")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let replay = bob
        .get(&bob.tasks_path(&format!("?limit=5&cursor={cursor}")))
        .await
        .good(StatusCode::OK);
    assert!(
        replay
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["user_id"] == "bob"),
        "{replay}"
    );
    bob.get(&format!("/api/alice/tasks?limit=1&cursor={cursor}"))
        .await
        .detail(
            StatusCode::FORBIDDEN,
            "Not authorized to access this user's tasks",
        );
    let data = bob
        .graphql_data(
            "{ tasksConnection(first: 10) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["tasksConnection"]["totalCount"], 1);

    // clearCompleted by bob leaves alice's completed tasks alone.
    let data = bob
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    assert_eq!(data["clearCompleted"], json!([]));
    for id in &alice_ids {
        alice
            .get(&alice.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::OK);
    }
    let data = alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    assert_eq!(data["clearCompleted"].as_array().unwrap().len(), 4);
    bob.get(&bob.tasks_path(&format!("/{}", own["id"])))
        .await
        .good(StatusCode::OK);
}
