//! Manual order (issue 21), on both backends and through both APIs: moves first, last and
//! between; into and out of a parent; refused neighbours (another group 422, another user's
//! 404); `sort=position` / `POSITION` order and paging (long keys and renumbering:
//! `positions`);
//! a move's precondition and idempotency key. The `*_across_lists*` cases create lists
//! through the lists API (`POST /api/{user}/lists`), which another branch adds.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, UserClient, assert_error_at};

backend_tests!(
    rest_moves_first_last_and_between,
    graphql_moves_first_last_and_between,
    moves_into_and_out_of_a_parent,
    refused_neighbours_and_foreign_ids,
    sort_by_position_orders_and_pages,
    a_move_takes_a_precondition_and_an_idempotency_key,
    moves_across_lists_take_the_subtree_along,
    moves_across_lists_refuse_foreign_lists_and_other_groups,
);

pub(crate) fn id(task: &Value) -> i64 {
    task["id"].as_i64().expect("an id")
}

async fn create(user: &UserClient<'_>, body: Value) -> Value {
    user.post(&user.tasks_path(""), body)
        .await
        .good(StatusCode::CREATED)
}

/// `POST …/tasks/{id}/move` with `body`.
pub(crate) async fn move_task(
    user: &UserClient<'_>,
    task: i64,
    body: Value,
) -> crate::common::TestResponse {
    user.post(&user.tasks_path(&format!("/{task}/move")), body)
        .await
}

/// The ids of the user's tasks in `query` (a list query string), in the order given.
async fn ids(user: &UserClient<'_>, query: &str) -> Vec<i64> {
    let list = user
        .get(&user.tasks_path(&format!("?{query}")))
        .await
        .good(StatusCode::OK);
    list.as_array().unwrap().iter().map(id).collect()
}

/// The top-level inbox tasks in manual order.
pub(crate) async fn order(user: &UserClient<'_>) -> Vec<i64> {
    ids(user, "sort=position&parent_id=none").await
}

pub(crate) async fn four(user: &UserClient<'_>) -> [i64; 4] {
    let mut made = [0; 4];
    for (i, title) in ["a", "b", "c", "d"].into_iter().enumerate() {
        made[i] = id(&user.create_task(title).await);
    }
    made
}

async fn rest_moves_first_last_and_between(app: TestApp) {
    let alice = app.user("alice");
    let [a, b, c, d] = four(&alice).await;
    assert_eq!(order(&alice).await, vec![a, b, c, d], "created in order");

    let first = move_task(&alice, d, json!({"before_id": a})).await;
    let moved = first.good(StatusCode::OK);
    assert_eq!(moved["version"], 2, "a move is a change: {moved}");
    assert_eq!(first.header("etag"), Some(format!("\"{d}-2\"").as_str()));
    assert_eq!(order(&alice).await, vec![d, a, b, c], "first");

    move_task(&alice, d, json!({})).await.good(StatusCode::OK);
    assert_eq!(order(&alice).await, vec![a, b, c, d], "last (no neighbour)");

    move_task(&alice, a, json!({"after_id": b}))
        .await
        .good(StatusCode::OK);
    assert_eq!(order(&alice).await, vec![b, a, c, d], "between, after");
    move_task(&alice, d, json!({"before_id": c}))
        .await
        .good(StatusCode::OK);
    assert_eq!(order(&alice).await, vec![b, a, d, c], "between, before");
    move_task(&alice, c, json!({"after_id": d}))
        .await
        .good(StatusCode::OK);
    assert_eq!(order(&alice).await, vec![b, a, d, c], "onto its own place");
    // Descending is bottom first; the position is in the JSON.
    assert_eq!(
        ids(&alice, "sort=position&order=desc").await,
        vec![c, d, a, b]
    );
    let tasks = alice
        .get(&alice.tasks_path("?sort_by=position"))
        .await
        .good(StatusCode::OK);
    let positions: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["position"].as_str().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

async fn graphql_moves_first_last_and_between(app: TestApp) {
    let alice = app.user("alice");
    let [a, b, c, _] = four(&alice).await;
    let gql_move = |vars: Value| {
        let alice = app.user("alice");
        async move {
            alice
                .graphql_data(
                    "mutation($id: ID!, $after: ID, $before: ID) {
                       moveTask(id: $id, afterId: $after, beforeId: $before) { id version position }
                     }",
                    vars,
                )
                .await
        }
    };
    let order = || async {
        let data = app
            .user("alice")
            .graphql_data("{ tasks(sort: POSITION) { id } }", json!({}))
            .await;
        data["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().parse::<i64>().unwrap())
            .collect::<Vec<_>>()
    };
    let d = order().await[3];
    let moved = gql_move(json!({"id": d.to_string(), "before": a.to_string()})).await;
    assert_eq!(moved["moveTask"]["version"], 2);
    assert_eq!(
        order().await,
        vec![d, a, b, c],
        "POSITION is ascending by default"
    );
    gql_move(json!({"id": d.to_string()})).await;
    assert_eq!(order().await, vec![a, b, c, d]);
    gql_move(json!({"id": a.to_string(), "after": c.to_string()})).await;
    assert_eq!(order().await, vec![b, c, a, d]);

    let both = alice
        .graphql(
            "mutation($id: ID!) { moveTask(id: $id, afterId: \"1\", beforeId: \"2\") { id } }",
            json!({"id": d.to_string()}),
        )
        .await;
    assert_eq!(
        both["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{both}"
    );
    let stale = alice
        .graphql(
            "mutation($id: ID!) { moveTask(id: $id, expectedVersion: 1) { id } }",
            json!({"id": d.to_string()}),
        )
        .await;
    let error = &stale["errors"][0]["extensions"];
    assert_eq!(error["code"], "VERSION_CONFLICT", "{stale}");
    assert_eq!(error["task"]["id"], d.to_string());
    let keyed = "mutation($id: ID!) { moveTask(id: $id, idempotencyKey: \"m-1\") { version } }";
    let once = alice
        .graphql_data(keyed, json!({"id": b.to_string()}))
        .await;
    let again = alice
        .graphql_data(keyed, json!({"id": b.to_string()}))
        .await;
    assert_eq!(once, again, "a replay, not a second move");
}

async fn moves_into_and_out_of_a_parent(app: TestApp) {
    let alice = app.user("alice");
    let [a, b, c, d] = four(&alice).await;
    let into = move_task(&alice, c, json!({"parent_id": a}))
        .await
        .good(StatusCode::OK);
    assert_eq!(into["parent_id"], a, "{into}");
    move_task(&alice, d, json!({"parent_id": a, "before_id": c}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        ids(&alice, &format!("parent_id={a}&sort=position")).await,
        vec![d, c]
    );
    assert_eq!(
        order(&alice).await,
        vec![a, b],
        "subtasks are not top-level"
    );

    let out = move_task(&alice, c, json!({"parent_id": null, "after_id": a}))
        .await
        .good(StatusCode::OK);
    assert_eq!(out["parent_id"], Value::Null);
    assert_eq!(order(&alice).await, vec![a, c, b]);

    // GraphQL: the same through moveTask, and subtasks in order.
    let data = alice
        .graphql_data(
            "mutation($id: ID!, $parent: ID) { moveTask(id: $id, parentId: $parent) {
               parentId parent { id } } }",
            json!({"id": b.to_string(), "parent": a.to_string()}),
        )
        .await;
    assert_eq!(data["moveTask"]["parent"]["id"], a.to_string());
    let data = alice
        .graphql_data(
            "query($id: ID!) { task(id: $id) { subtasks { id } } }",
            json!({"id": a.to_string()}),
        )
        .await;
    assert_eq!(
        data["task"]["subtasks"],
        json!([{"id": d.to_string()}, {"id": b.to_string()}])
    );
    // PUT with a new parent is a move to the end of its subtasks.
    let put = alice
        .put(
            &alice.tasks_path(&format!("/{c}")),
            json!({"parent_id": a, "title": "c2"}),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (put["parent_id"].clone(), put["title"].clone()),
        (json!(a), json!("c2"))
    );
    assert_eq!(
        ids(&alice, &format!("parent_id={a}&sort=position")).await,
        vec![d, b, c]
    );
}

async fn refused_neighbours_and_foreign_ids(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let [a, b, c, _] = four(&alice).await;
    let theirs = id(&bob.create_task("bob's").await);
    move_task(&alice, c, json!({"parent_id": a}))
        .await
        .good(StatusCode::OK);

    // A neighbour in another group (c is under a): 422 naming it.
    let other_group = move_task(&alice, b, json!({"after_id": c})).await;
    let detail = other_group.validation();
    assert_error_at(&detail, json!(["body", "after_id"]), "value_error");
    assert!(
        detail[0]["msg"].as_str().unwrap().contains(&c.to_string()),
        "{detail:?}"
    );
    let detail = move_task(&alice, b, json!({"after_id": a, "before_id": c}))
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "before_id"]), "value_error");
    let detail = move_task(&alice, b, json!({"before_id": b}))
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "before_id"]), "value_error");
    let detail = move_task(&alice, b, json!({"after_id": "x"}))
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "after_id"]), "int_type");

    // Another user's (or a missing) task, neighbour or parent: 404.
    for body in [
        json!({"after_id": theirs}),
        json!({"parent_id": theirs}),
        json!({"before_id": 987_654}),
    ] {
        let refused = move_task(&alice, b, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "{body}: {}",
            refused.text
        );
    }
    let refused = move_task(&alice, theirs, json!({})).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // Nothing changed for either.
    let bobs = bob
        .get(&bob.tasks_path(&format!("/{theirs}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(bobs["version"], 1);

    let gql = |q: &'static str, vars: Value| {
        let alice = app.user("alice");
        async move { alice.graphql(q, vars).await["errors"][0]["extensions"]["code"].clone() }
    };
    let neighbour = "mutation($id: ID!, $n: ID) { moveTask(id: $id, afterId: $n) { id } }";
    let vars = json!({"id": b.to_string(), "n": c.to_string()});
    assert_eq!(gql(neighbour, vars).await, "BAD_USER_INPUT");
    let vars = json!({"id": b.to_string(), "n": theirs.to_string()});
    assert_eq!(gql(neighbour, vars).await, "NOT_FOUND");
}

async fn sort_by_position_orders_and_pages(app: TestApp) {
    let alice = app.user("alice");
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(id(&alice.create_task(&format!("t{i}")).await));
    }
    move_task(&alice, made[6], json!({"before_id": made[0]}))
        .await
        .good(StatusCode::OK);
    move_task(&alice, made[2], json!({"after_id": made[4]}))
        .await
        .good(StatusCode::OK);
    let whole = order(&alice).await;
    assert_eq!(
        whole,
        vec![
            made[6], made[0], made[1], made[3], made[4], made[2], made[5]
        ]
    );

    let mut paged = Vec::new();
    let mut next = Some(alice.tasks_path("?sort=position&limit=3"));
    while let Some(url) = next.take() {
        let page = alice.get(&url).await;
        let body = page.good(StatusCode::OK);
        paged.extend(body.as_array().unwrap().iter().map(id));
        assert_eq!(page.header("x-total-count"), Some("7"));
        next = page
            .header("link")
            .map(|l| l[1..l.find('>').unwrap()].to_owned());
    }
    assert_eq!(paged, whole, "keyset pages in manual order");

    let first = alice
        .graphql_data(
            "{ tasksConnection(sort: POSITION, first: 4) { nodes { id } pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let end = first["tasksConnection"]["pageInfo"]["endCursor"].clone();
    let rest = alice
        .graphql_data(
            "query($after: String) { tasksConnection(sort: POSITION, first: 4, after: $after) {
               nodes { id } } }",
            json!({"after": end}),
        )
        .await;
    let graph: Vec<i64> = [&first, &rest]
        .iter()
        .flat_map(|d| d["tasksConnection"]["nodes"].as_array().unwrap().clone())
        .map(|t| t["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(graph, whole);
}

async fn a_move_takes_a_precondition_and_an_idempotency_key(app: TestApp) {
    let alice = app.user("alice");
    let [a, b, _, _] = four(&alice).await;
    let path = alice.tasks_path(&format!("/{b}/move"));
    let auth = format!("Bearer {}", app.token("alice"));
    let send = |headers: Vec<(&'static str, String)>, body: Value| {
        let (app, auth, path) = (&app, auth.clone(), path.clone());
        async move {
            let mut all = vec![
                ("authorization", auth),
                ("content-type", "application/json".into()),
            ];
            all.extend(headers);
            let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.raw(
                Method::POST,
                &path,
                &all,
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let stale = send(
        vec![("if-match", format!("\"{b}-7\""))],
        json!({"before_id": a}),
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    let keyed = vec![("idempotency-key", "move-1".to_owned())];
    let once = send(keyed.clone(), json!({"before_id": a})).await;
    let moved = once.good(StatusCode::OK);
    assert_eq!(moved["version"], 2);
    let again = send(keyed, json!({"before_id": a})).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), moved, "the first outcome, not a second move");
    let now = alice
        .get(&alice.tasks_path(&format!("/{b}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(now["version"], 2);
    let fresh = send(vec![("if-match", format!("\"{b}-2\""))], json!({})).await;
    assert_eq!(fresh.good(StatusCode::OK)["version"], 3);
}

/// A list through the lists API: its id.
async fn new_list(user: &UserClient<'_>, name: &str) -> i64 {
    crate::lists::id_of(&crate::lists::create_list(user, name).await)
}

async fn moves_across_lists_take_the_subtree_along(app: TestApp) {
    let alice = app.user("alice");
    let list = new_list(&alice, "Work").await;
    let parent = id(&alice.create_task("parent").await);
    let child = id(&create(&alice, json!({"title": "child", "parent_id": parent})).await);
    let grandchild = id(&create(&alice, json!({"title": "gc", "parent_id": child})).await);
    let moved = move_task(&alice, parent, json!({"list_id": list}))
        .await
        .good(StatusCode::OK);
    assert_eq!(moved["list_id"], list);
    for task in [child, grandchild] {
        let now = alice
            .get(&alice.tasks_path(&format!("/{task}")))
            .await
            .good(StatusCode::OK);
        assert_eq!(
            (now["list_id"].clone(), now["version"].clone()),
            (json!(list), json!(2))
        );
    }
    assert_eq!(
        ids(&alice, "sort=position&parent_id=none").await,
        vec![parent]
    );
    // A subtask alone: with parent_id null it leaves for the other list's top level.
    let out = move_task(
        &alice,
        grandchild,
        json!({"list_id": null, "parent_id": null}),
    )
    .await
    .good(StatusCode::OK);
    assert_eq!(
        (out["list_id"].clone(), out["parent_id"].clone()),
        (Value::Null, Value::Null)
    );
    let data = alice
        .graphql_data(
            "mutation($id: ID!) { moveTask(id: $id, listId: null) { listId } }",
            json!({"id": parent.to_string()}),
        )
        .await;
    assert_eq!(data["moveTask"]["listId"], Value::Null);
    // PUT with a list is the same move, subtree included.
    let path = alice.tasks_path(&format!("/{parent}"));
    let put = alice.put(&path, json!({"list_id": list})).await;
    assert_eq!(put.good(StatusCode::OK)["list_id"], list);
    let path = alice.tasks_path(&format!("/{child}"));
    assert_eq!(alice.get(&path).await.good(StatusCode::OK)["list_id"], list);
}

async fn moves_across_lists_refuse_foreign_lists_and_other_groups(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = new_list(&alice, "Home").await;
    let bobs = new_list(&bob, "Bob's").await;
    let [a, b, _, _] = four(&alice).await;
    move_task(&alice, a, json!({"list_id": list}))
        .await
        .good(StatusCode::OK);
    let refused = move_task(&alice, b, json!({"list_id": bobs})).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    // `a` is in the list now: not a neighbour in the inbox.
    let detail = move_task(&alice, b, json!({"before_id": a}))
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "before_id"]), "value_error");
    move_task(&alice, b, json!({"list_id": list, "before_id": a}))
        .await
        .good(StatusCode::OK);
    let listed = ids(&alice, &format!("sort=position&list_id={list}")).await;
    assert_eq!(listed, vec![b, a]);
}
