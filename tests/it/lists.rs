//! Lists (issue 21) on both backends and through both APIs: create, read, update and delete;
//! names unique per user case-insensitively (409 `DUPLICATE_NAME`); bad names and colours
//! (422 / BAD_USER_INPUT); the per-user cap. Moves, isolation and keyed writes are
//! `list_writes`'; lists' tasks (delete both ways, events, sync, filters) `list_tasks`'.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, UserClient, assert_error_at};

backend_tests!(
    rest_crud_in_manual_order,
    graphql_crud,
    duplicate_names_are_409_case_insensitively,
    bad_names_and_colours_are_422,
    delete_needs_a_tasks_parameter
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

pub(crate) fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

/// The user's list ids, in order.
pub(crate) async fn order(user: &UserClient<'_>) -> Vec<i64> {
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
pub(crate) fn code(body: &Value) -> &str {
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
