//! Lists (issue 21) on both backends and through both APIs: create, read, update and delete;
//! names unique per user case-insensitively (409 `DUPLICATE_NAME`); bad names and colours
//! (422 / BAD_USER_INPUT); the per-user cap; moves (first, last, between, refused
//! neighbours, many moves into one gap keep positions short); another user's list is 404
//! everywhere; keyed writes replay. Lists' tasks (delete both ways, events, sync, filters)
//! are `list_tasks`'.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, UserClient, assert_error_at};

backend_tests!(
    rest_crud_in_manual_order,
    graphql_crud,
    duplicate_names_are_409_case_insensitively,
    bad_names_and_colours_are_422,
    delete_needs_a_tasks_parameter,
    moves_first_last_between_and_refused_neighbours,
    many_moves_into_one_gap_keep_positions_short,
    another_users_list_is_404_everywhere,
    keyed_writes_replay
);

backend_cases!(the_list_cap_is_409);

pub(crate) fn lists_path(user: &UserClient<'_>, suffix: &str) -> String {
    format!("/api/{}/lists{suffix}", user.user)
}

/// Creates a list through REST and returns its JSON.
pub(crate) async fn create_list(user: &UserClient<'_>, name: &str) -> Value {
    user.post(&lists_path(user, ""), json!({ "name": name }))
        .await
        .good(StatusCode::CREATED)
}

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

/// The user's list ids, in order.
async fn order(user: &UserClient<'_>) -> Vec<i64> {
    let lists = user.get(&lists_path(user, "")).await.good(StatusCode::OK);
    lists.as_array().unwrap().iter().map(id_of).collect()
}

async fn rest_crud_in_manual_order(app: TestApp) {
    let alice = app.user("alice");
    let work = alice
        .post(
            &lists_path(&alice, ""),
            json!({"name": "  Work ", "color": "blue"}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(work["name"], "Work", "the name is stored trimmed");
    assert_eq!(work["color"], "blue");
    assert_eq!(work["user_id"], "alice");
    assert_eq!(work["version"], 1);
    let keys: Vec<&str> = work
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "user_id",
        "name",
        "color",
        "position",
        "version",
        "created_at",
        "updated_at",
    ] {
        assert!(keys.contains(&key), "{key} in {work}");
    }
    let home = create_list(&alice, "Home").await;
    assert_eq!(home["color"], Value::Null);
    assert!(
        home["position"].as_str() > work["position"].as_str(),
        "a new list goes last"
    );
    assert_eq!(order(&alice).await, vec![id_of(&work), id_of(&home)]);

    let path = lists_path(&alice, &format!("/{}", id_of(&work)));
    assert_eq!(alice.get(&path).await.good(StatusCode::OK), work);
    let renamed = alice
        .put(&path, json!({"name": "Office", "color": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (renamed["name"].clone(), renamed["color"].clone()),
        (json!("Office"), Value::Null)
    );
    assert_eq!(renamed["version"], 2);
    assert_eq!(
        renamed["position"], work["position"],
        "an update does not move it"
    );
    let recoloured = alice
        .put(&path, json!({"color": "green"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (recoloured["name"].clone(), recoloured["version"].clone()),
        (json!("Office"), json!(3))
    );

    let deleted = alice
        .delete(&format!("{path}?tasks=inbox"))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        deleted,
        json!({"deleted_list": id_of(&work), "tasks": "moved_to_inbox", "task_ids": []})
    );
    alice
        .get(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    assert_eq!(order(&alice).await, vec![id_of(&home)]);
    // The path's user must be the token's, as for tasks.
    let bobs = "/api/bob/lists";
    assert_eq!(alice.get(bobs).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        alice.post(bobs, json!({"name": "x"})).await.status,
        StatusCode::FORBIDDEN
    );
}

const LIST_FIELDS: &str = "id name color position version createdAt updatedAt";

async fn graphql_crud(app: TestApp) {
    let alice = app.user("alice");
    let created = alice
        .graphql_data(
            &format!("mutation {{ createList(input: {{name: \" Errands \", color: PINK}}) {{ {LIST_FIELDS} }} }}"),
            json!({}),
        )
        .await["createList"]
        .clone();
    assert_eq!(
        (created["name"].clone(), created["color"].clone()),
        (json!("Errands"), json!("PINK"))
    );
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().unwrap().to_owned();
    let second = alice
        .graphql_data(
            "mutation { createList(input: {name: \"Later\"}) { id color } }",
            json!({}),
        )
        .await["createList"]
        .clone();
    assert_eq!(second["color"], Value::Null);

    let lists = alice.graphql_data("{ lists { id name } }", json!({})).await;
    assert_eq!(
        lists["lists"],
        json!([{"id": id, "name": "Errands"}, {"id": second["id"], "name": "Later"}])
    );
    let one = alice
        .graphql_data(
            "query($id: ID!) { list(id: $id) { name } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(one["list"]["name"], "Errands");

    let updated = alice
        .graphql_data(
            "mutation($id: ID!) { updateList(id: $id, input: {name: \"Chores\", color: null}) { name color version } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        updated["updateList"],
        json!({"name": "Chores", "color": null, "version": 2})
    );

    // A task in it: `Task.list` and `List.tasks`.
    let task = alice
        .graphql_data(
            "mutation($id: ID!) { createTask(input: {title: \"sweep\", listId: $id}) { id listId list { name } } }",
            json!({"id": id}),
        )
        .await["createTask"]
        .clone();
    assert_eq!(task["listId"], json!(id));
    assert_eq!(task["list"]["name"], "Chores");
    let inbox = alice
        .graphql_data(
            "mutation { createTask(input: {title: \"loose\"}) { list { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(inbox["createTask"]["list"], Value::Null);
    let nested = alice
        .graphql_data(
            "{ lists { name tasks { title } tasksConnection(first: 1) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(nested["lists"][0]["tasks"], json!([{"title": "sweep"}]));
    assert_eq!(nested["lists"][0]["tasksConnection"]["totalCount"], 1);
    assert_eq!(nested["lists"][1]["tasks"], json!([]));

    let deleted = alice
        .graphql_data(
            "mutation($id: ID!) { deleteList(id: $id, tasks: DELETE) { listId tasks taskIds } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        deleted["deleteList"],
        json!({"listId": id, "tasks": "DELETE", "taskIds": [task["id"]]})
    );
    let gone = alice
        .graphql_data(
            "query($id: ID!) { list(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(gone["list"], Value::Null);
}

/// The `extensions.code` of the first error of a GraphQL answer.
fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error code: {body}"))
}

async fn duplicate_names_are_409_case_insensitively(app: TestApp) {
    let alice = app.user("alice");
    let work = create_list(&alice, "Work").await;
    let other = create_list(&alice, "Other").await;
    for name in ["Work", " work", "WORK "] {
        let refused = alice
            .post(&lists_path(&alice, ""), json!({"name": name}))
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
        let body = refused.json();
        assert_eq!(body["code"], "DUPLICATE_NAME");
        assert!(
            body["detail"].as_str().unwrap().contains(name.trim()),
            "{body}"
        );
    }
    let rename = alice
        .put(
            &lists_path(&alice, &format!("/{}", id_of(&other))),
            json!({"name": "wORK"}),
        )
        .await;
    assert_eq!(rename.status, StatusCode::CONFLICT);
    // Its own name in another case is no conflict; another user's names are theirs.
    alice
        .put(
            &lists_path(&alice, &format!("/{}", id_of(&work))),
            json!({"name": "work"}),
        )
        .await
        .good(StatusCode::OK);
    create_list(&app.user("bob"), "Work").await;
    let gql = alice
        .graphql(
            "mutation { createList(input: {name: \"OTHER\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&gql), "DUPLICATE_NAME");
    assert_eq!(order(&alice).await.len(), 2);
}

async fn bad_names_and_colours_are_422(app: TestApp) {
    let alice = app.user("alice");
    let path = lists_path(&alice, "");
    let long = "x".repeat(101);
    for (body, loc, kind) in [
        (json!({}), json!(["body", "name"]), "missing"),
        (json!({"name": 7}), json!(["body", "name"]), "string_type"),
        (
            json!({"name": "   "}),
            json!(["body", "name"]),
            "string_too_short",
        ),
        (
            json!({"name": long}),
            json!(["body", "name"]),
            "string_too_long",
        ),
        (
            json!({"name": "ok", "color": "magenta"}),
            json!(["body", "color"]),
            "enum",
        ),
        (
            json!({"name": "ok", "color": 3}),
            json!(["body", "color"]),
            "enum",
        ),
    ] {
        let detail = alice.post(&path, body.clone()).await.validation();
        assert_error_at(&detail, loc, kind);
    }
    let detail = alice
        .post(&path, json!({"name": "ok", "color": "magenta"}))
        .await
        .validation();
    let message = detail[0]["msg"].as_str().unwrap();
    for color in [
        "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "gray",
    ] {
        assert!(message.contains(color), "{message} names {color}");
    }
    // 100 characters (not bytes) is fine.
    create_list(&alice, &"é".repeat(100)).await;
    let list = create_list(&alice, "kept").await;
    let item = lists_path(&alice, &format!("/{}", id_of(&list)));
    assert_error_at(
        &alice.put(&item, json!({"name": ""})).await.validation(),
        json!(["body", "name"]),
        "string_too_short",
    );
    assert_error_at(
        &alice.put(&item, json!({"name": null})).await.validation(),
        json!(["body", "name"]),
        "string_type",
    );
    assert_error_at(
        &alice.get(&lists_path(&alice, "/x")).await.validation(),
        json!(["path", "id"]),
        "int_parsing",
    );
    let empty = "mutation { createList(input: {name: \"  \"}) { id } }";
    assert_eq!(
        code(&alice.graphql(empty, json!({})).await),
        "BAD_USER_INPUT"
    );
    // A colour outside the enum does not even validate as a document.
    let magenta = "mutation { createList(input: {name: \"ok\", color: MAGENTA}) { id } }";
    let refused = alice.graphql(magenta, json!({})).await;
    assert_eq!(code(&refused), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(order(&alice).await.len(), 2);
}

async fn delete_needs_a_tasks_parameter(app: TestApp) {
    let alice = app.user("alice");
    let list = create_list(&alice, "Work").await;
    let item = lists_path(&alice, &format!("/{}", id_of(&list)));
    assert_error_at(
        &alice.delete(&item).await.validation(),
        json!(["query", "tasks"]),
        "missing",
    );
    for bad in ["all", "DELETE", ""] {
        let detail = alice
            .delete(&format!("{item}?tasks={bad}"))
            .await
            .validation();
        assert_error_at(&detail, json!(["query", "tasks"]), "literal_error");
    }
    alice.get(&item).await.good(StatusCode::OK);
    let gql = alice
        .graphql(
            "mutation($id: ID!) { deleteList(id: $id, tasks: KEEP) { listId } }",
            json!({"id": list["id"].to_string()}),
        )
        .await;
    assert!(gql["errors"].is_array(), "{gql}");
    alice.get(&item).await.good(StatusCode::OK);
}

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
    assert_eq!(
        order(&alice).await,
        vec![a, c, b],
        "refused moves change nothing"
    );
}

/// Two lists moved in turn, 200 times, into the gap after the first list: each key lies
/// between ever closer neighbours. The order stays right and no position passes 48
/// characters (`tasks::position::MAX_POSITION_CHARS`; past it the user's lists would be
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
        None,
        "lists have no ETag, replays included"
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

async fn the_list_cap_is_409(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .arg("--max-lists-per-user", "2")
        .start()
        .await
    else {
        return;
    };
    let alice = app.user("alice");
    create_list(&alice, "one").await;
    create_list(&alice, "two").await;
    let refused = alice
        .post(&lists_path(&alice, ""), json!({"name": "three"}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.json()["code"], "LIMIT_EXCEEDED");
    let gql = alice
        .graphql(
            "mutation { createList(input: {name: \"three\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&gql), "LIMIT_EXCEEDED");
    assert_eq!(gql["errors"][0]["extensions"]["limit"], 2);
    create_list(&app.user("bob"), "bob's one").await;
}
