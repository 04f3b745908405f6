//! List writes (issue 21) on both backends and through both APIs: moves (first, last,
//! between, refused neighbours, many moves into one gap keep positions short); another
//! user's list is 404 everywhere; keyed writes replay; `If-Match` / `expectedVersion`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, assert_error_at};
use crate::lists::{code, create_list, id_of, lists_path, order};

backend_tests!(
    moves_first_last_between_and_refused_neighbours,
    many_moves_into_one_gap_keep_positions_short,
    another_users_list_is_404_everywhere,
    keyed_writes_replay,
    conditional_writes_refuse_a_stale_version
);

backend_cases!(require_if_match_covers_list_changes);

async fn moves_first_last_between_and_refused_neighbours(app: TestApp) {
    let alice = app.user("alice");
    let [a, b, c] = [
        id_of(&create_list(&alice, "A").await),
        id_of(&create_list(&alice, "B").await),
        id_of(&create_list(&alice, "C").await),
    ];
    let mv = |id: i64| lists_path(&alice, &format!("/{id}/move"));
    let moved = alice
        .post(&mv(c), json!({"before_id": a}))
        .await
        .good(StatusCode::OK);
    assert_eq!(moved["version"], 2);
    assert_eq!(order(&alice).await, vec![c, a, b], "first");
    alice.post(&mv(c), json!({})).await.good(StatusCode::OK);
    assert_eq!(
        order(&alice).await,
        vec![a, b, c],
        "last (neither neighbour)"
    );
    alice
        .post(&mv(c), json!({"after_id": a}))
        .await
        .good(StatusCode::OK);
    assert_eq!(order(&alice).await, vec![a, c, b], "between");
    alice
        .post(&mv(a), json!({"after_id": b, "before_id": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(order(&alice).await, vec![c, b, a], "after the last");
    // GraphQL, to the front.
    let gql = alice
        .graphql_data(
            "mutation($id: ID!, $b: ID!) { moveList(id: $id, beforeId: $b) { id version } }",
            json!({"id": a.to_string(), "b": c.to_string()}),
        )
        .await;
    assert_eq!(gql["moveList"]["id"], json!(a.to_string()));
    assert_eq!(order(&alice).await, vec![a, c, b]);

    // Refused: both neighbours, itself (422); a neighbour that does not exist (404).
    let both = alice
        .post(&mv(a), json!({"after_id": b, "before_id": c}))
        .await
        .validation();
    assert_error_at(&both, json!(["body", "before_id"]), "value_error");
    let itself = alice
        .post(&mv(a), json!({"after_id": a}))
        .await
        .validation();
    assert_error_at(&itself, json!(["body", "after_id"]), "value_error");
    assert_error_at(
        &alice
            .post(&mv(a), json!({"after_id": "x"}))
            .await
            .validation(),
        json!(["body", "after_id"]),
        "int_type",
    );
    alice
        .post(&mv(a), json!({"after_id": 999_999}))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    alice
        .post(&mv(999_999), json!({}))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    let gql = alice
        .graphql(
            "mutation($id: ID!) { moveList(id: $id, afterId: $id) { id } }",
            json!({"id": a.to_string()}),
        )
        .await;
    assert_eq!(code(&gql), "BAD_USER_INPUT");
    assert_eq!(gql["errors"][0]["extensions"]["field"], "afterId");
    assert_eq!(
        order(&alice).await,
        vec![a, c, b],
        "refused moves change nothing"
    );
}

/// Two lists moved in turn, 200 times, into the gap after the first list: each key lies
/// between ever closer neighbours. The order stays right and no position passes 48
/// characters (`tasks::order::position::MAX_POSITION_CHARS`; past it the user's lists would be
/// renumbered).
async fn many_moves_into_one_gap_keep_positions_short(app: TestApp) {
    let alice = app.user("alice");
    let first = id_of(&create_list(&alice, "first").await);
    let last = id_of(&create_list(&alice, "last").await);
    let x = id_of(&create_list(&alice, "x").await);
    let y = id_of(&create_list(&alice, "y").await);
    let mut longest = 0;
    for i in 0..200 {
        let moving = if i % 2 == 0 { x } else { y };
        let moved = alice
            .post(
                &lists_path(&alice, &format!("/{moving}/move")),
                json!({"after_id": first}),
            )
            .await
            .good(StatusCode::OK);
        longest = longest.max(moved["position"].as_str().unwrap().len());
    }
    let lists = alice
        .get(&lists_path(&alice, ""))
        .await
        .good(StatusCode::OK);
    let ids: Vec<i64> = lists.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(
        ids,
        vec![first, y, x, last],
        "the last moved (y) is right after first"
    );
    for list in lists.as_array().unwrap() {
        longest = longest.max(list["position"].as_str().unwrap().len());
    }
    assert!(longest <= 48, "positions stay short: {longest}");
}

async fn another_users_list_is_404_everywhere(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mine = id_of(&create_list(&alice, "Mine").await);
    let theirs = id_of(&create_list(&bob, "Theirs").await);
    let item = lists_path(&alice, &format!("/{theirs}"));
    let not_found =
        |r: crate::common::TestResponse| r.detail(StatusCode::NOT_FOUND, "List not found");
    not_found(alice.get(&item).await);
    not_found(alice.put(&item, json!({"name": "stolen"})).await);
    not_found(alice.delete(&format!("{item}?tasks=delete")).await);
    not_found(alice.post(&format!("{item}/move"), json!({})).await);
    not_found(
        alice
            .post(
                &lists_path(&alice, &format!("/{mine}/move")),
                json!({"after_id": theirs}),
            )
            .await,
    );
    not_found(
        alice
            .post(
                &alice.tasks_path(""),
                json!({"title": "t", "list_id": theirs}),
            )
            .await,
    );
    not_found(
        alice
            .get(&alice.tasks_path(&format!("?list_id={theirs}")))
            .await,
    );
    not_found(
        alice
            .get(&alice.tasks_path(&format!("?list_id={theirs}&limit=5")))
            .await,
    );
    let id = json!({"id": theirs.to_string()});
    let gql = alice
        .graphql_data("query($id: ID!) { list(id: $id) { id } }", id.clone())
        .await;
    assert_eq!(gql["list"], Value::Null);
    for query in [
        "mutation($id: ID!) { updateList(id: $id, input: {name: \"x\"}) { id } }",
        "mutation($id: ID!) { deleteList(id: $id, tasks: MOVE_TO_INBOX) { listId } }",
        "mutation($id: ID!) { moveList(id: $id) { id } }",
        "mutation($id: ID!) { createTask(input: {title: \"t\", listId: $id}) { id } }",
        "query($id: ID!) { tasks(listId: $id) { id } }",
        "query($id: ID!) { tasksConnection(listId: $id) { totalCount } }",
    ] {
        assert_eq!(
            code(&alice.graphql(query, id.clone()).await),
            "NOT_FOUND",
            "{query}"
        );
    }
    // Bob's list is untouched and alice has created no task.
    let theirs_now = bob
        .get(&lists_path(&bob, &format!("/{theirs}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (theirs_now["name"].clone(), theirs_now["version"].clone()),
        (json!("Theirs"), json!(1))
    );
    assert_eq!(
        alice.get(&alice.tasks_path("")).await.good(StatusCode::OK),
        json!([])
    );
}

async fn keyed_writes_replay(app: TestApp) {
    let alice = app.user("alice");
    let auth = format!("Bearer {}", app.token("alice"));
    let send = |method: Method, path: String, key: &'static str, body: &'static str| {
        let auth = auth.clone();
        let app = &app;
        async move {
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("idempotency-key", key),
            ];
            app.raw(method, &path, &headers, Some(body.as_bytes().to_vec()))
                .await
        }
    };
    let path = lists_path(&alice, "");
    let first = send(
        Method::POST,
        path.clone(),
        "create-1",
        r#"{"name": "Work"}"#,
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let again = send(
        Method::POST,
        path.clone(),
        "create-1",
        r#"{"name": "Work"}"#,
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "a replay, not a 409: {}",
        again.text
    );
    assert_eq!(again.text, first.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.header("etag"),
        first.header("etag"),
        "a replay has the ETag"
    );
    assert_eq!(order(&alice).await.len(), 1);
    let reused = send(
        Method::POST,
        path.clone(),
        "create-1",
        r#"{"name": "Home"}"#,
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);

    let id = id_of(&first.json());
    let delete = format!("{}?tasks=delete", lists_path(&alice, &format!("/{id}")));
    let gone = send(Method::DELETE, delete.clone(), "delete-1", "").await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    let replay = send(Method::DELETE, delete, "delete-1", "").await;
    assert_eq!(
        (replay.status, replay.text.clone()),
        (StatusCode::OK, gone.text.clone())
    );
    // The same key for the other disposal is another request.
    let other = format!("{}?tasks=inbox", lists_path(&alice, &format!("/{id}")));
    assert_eq!(
        send(Method::DELETE, other, "delete-1", "").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let create =
        "mutation { createList(input: {name: \"Keyed\"}, idempotencyKey: \"gql-1\") { id } }";
    let one = alice.graphql_data(create, json!({})).await;
    let two = alice.graphql_data(create, json!({})).await;
    assert_eq!(one, two);
    assert_eq!(order(&alice).await.len(), 1);
}

async fn conditional_writes_refuse_a_stale_version(app: TestApp) {
    let alice = app.user("alice");
    let auth = format!("Bearer {}", app.token("alice"));
    let created = alice
        .post(&lists_path(&alice, ""), json!({"name": "Work"}))
        .await;
    let id = id_of(&created.good(StatusCode::CREATED));
    let v1 = format!("\"{id}-1\"");
    assert_eq!(created.header("etag"), Some(v1.as_str()));
    let item = lists_path(&alice, &format!("/{id}"));
    assert_eq!(alice.get(&item).await.header("etag"), Some(v1.as_str()));
    let send = |method: Method, path: String, tag: String, body: &'static str| {
        let auth = auth.clone();
        let app = &app;
        async move {
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("if-match", tag.as_str()),
            ];
            app.raw(method, &path, &headers, Some(body.as_bytes().to_vec()))
                .await
        }
    };
    let renamed = send(
        Method::PUT,
        item.clone(),
        v1.clone(),
        r#"{"name": "Office"}"#,
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.header("etag"), Some(format!("\"{id}-2\"").as_str()));
    // v1 is stale now: every change is refused with the list as it is.
    let move_path = format!("{item}/move");
    let delete_path = format!("{item}?tasks=delete");
    for (method, path, body) in [
        (Method::PUT, item.clone(), r#"{"name": "Lost"}"#),
        (Method::POST, move_path, "{}"),
        (Method::DELETE, delete_path.clone(), ""),
    ] {
        let stale = send(method.clone(), path, v1.clone(), body).await;
        assert_eq!(
            stale.status,
            StatusCode::PRECONDITION_FAILED,
            "{method}: {}",
            stale.text
        );
        let body = stale.json();
        assert_eq!(body["code"], "VERSION_CONFLICT");
        assert_eq!(
            (
                body["list"]["name"].clone(),
                body["list"]["version"].clone()
            ),
            (json!("Office"), json!(2))
        );
        assert_eq!(stale.header("etag"), Some(format!("\"{id}-2\"").as_str()));
    }
    let gql = alice
        .graphql(
            "mutation($id: ID!) { updateList(id: $id, input: {name: \"Lost\"}, expectedVersion: 1) { id } }",
            json!({"id": id.to_string()}),
        )
        .await;
    assert_eq!(code(&gql), "VERSION_CONFLICT");
    assert_eq!(gql["errors"][0]["extensions"]["list"]["version"], 2);
    let fresh = alice
        .graphql_data(
            "mutation($id: ID!) { moveList(id: $id, expectedVersion: 2) { version } }",
            json!({"id": id.to_string()}),
        )
        .await;
    assert_eq!(fresh["moveList"]["version"], 3);
    let gone = send(Method::DELETE, delete_path, "*".to_owned(), "").await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    let _: Value = gone.json();
}

async fn require_if_match_covers_list_changes(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .arg("--require-if-match", "true")
        .start()
        .await
    else {
        return;
    };
    let alice = app.user("alice");
    // Creating needs none (there is nothing to match yet).
    let id = id_of(&create_list(&alice, "Work").await);
    let item = lists_path(&alice, &format!("/{id}"));
    for response in [
        alice.put(&item, json!({"name": "x"})).await,
        alice.post(&format!("{item}/move"), json!({})).await,
        alice.delete(&format!("{item}?tasks=inbox")).await,
    ] {
        assert_eq!(
            response.status,
            StatusCode::PRECONDITION_REQUIRED,
            "{}",
            response.text
        );
    }
    let kept = alice.get(&item).await.good(StatusCode::OK);
    assert_eq!(
        (kept["name"].clone(), kept["version"].clone()),
        (json!("Work"), json!(1))
    );
}
