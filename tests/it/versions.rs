//! Versions and conditional requests (issue 20), on both backends and through both APIs: the
//! version starts at 1 and grows by one per change; a stale `If-Match` / `expectedVersion`
//! loses (412 / VERSION_CONFLICT carrying the winner's task), sequentially and concurrently;
//! 304 for an unchanged read; `If-Match: *`; 428 under REQUIRE_IF_MATCH; another user's task
//! is 404 whatever the tag; events, sync and SSE carry the version.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use todo_api::tasks::task::fields::TASK_FIELDS;

use crate::common::live::{self, SseReader};
use crate::common::{Backend, TestApp, TestResponse};

backend_tests!(
    version_starts_at_one_and_grows_by_one_per_change,
    rest_lost_update_is_refused_with_the_winners_task,
    rest_concurrent_conditional_updates_have_one_winner,
    rest_if_none_match_gives_304_while_unchanged,
    rest_if_match_star_weak_and_malformed,
    rest_conditional_delete_and_toggle,
    another_users_task_is_404_whatever_the_tag,
    graphql_lost_update_is_refused_with_the_winners_task,
    graphql_concurrent_conditional_updates_have_one_winner,
    each_api_names_its_own_precondition_in_a_conflict,
    events_sync_and_sse_carry_the_version,
    openapi_documents_the_headers_and_statuses
);

backend_cases!(
    require_if_match_refuses_unconditional_writes,
    cors_allows_the_conditional_headers
);

fn task_path(app: &TestApp, user: &str, id: i64, suffix: &str) -> String {
    app.user(user).tasks_path(&format!("/{id}{suffix}"))
}

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

fn etag_of(task: &Value) -> String {
    format!("\"{}-{}\"", task["id"], task["version"])
}

async fn version_starts_at_one_and_grows_by_one_per_change(app: TestApp) {
    let alice = app.user("alice");
    let created = alice
        .post(&alice.tasks_path(""), json!({"title": "v"}))
        .await;
    let task = created.good(StatusCode::CREATED);
    assert_eq!(task["version"], 1, "{task}");
    assert_eq!(created.header("etag"), Some(etag_of(&task).as_str()));
    let id = task["id"].as_i64().unwrap();

    let path = task_path(&app, "alice", id, "");
    let read = alice.get(&path).await;
    assert_eq!(read.good(StatusCode::OK)["version"], 1);
    assert_eq!(read.header("etag"), Some(format!("\"{id}-1\"").as_str()));

    let updated = alice.put(&path, json!({"title": "v2"})).await;
    assert_eq!(updated.good(StatusCode::OK)["version"], 2);
    assert_eq!(updated.header("etag"), Some(format!("\"{id}-2\"").as_str()));
    let toggled = alice
        .patch(&task_path(&app, "alice", id, "/complete"))
        .await;
    assert_eq!(toggled.good(StatusCode::OK)["version"], 3);
    assert_eq!(toggled.header("etag"), Some(format!("\"{id}-3\"").as_str()));

    let gql = |query: &'static str| {
        let alice = app.user("alice");
        async move {
            alice
                .graphql_data(query, json!({"id": id.to_string()}))
                .await
        }
    };
    let data = gql("mutation($id: ID!) { toggleTask(id: $id) { version } }").await;
    assert_eq!(data["toggleTask"]["version"], 4);
    let set = "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { version } }";
    assert_eq!(gql(set).await["setTaskCompleted"]["version"], 5);
    // Setting the state it already has changes nothing: the version stays.
    assert_eq!(gql(set).await["setTaskCompleted"]["version"], 5);
    let upd = "mutation($id: ID!) { updateTask(id: $id, input: {priority: HIGH}) { version } }";
    assert_eq!(gql(upd).await["updateTask"]["version"], 6);
    let read = gql("query($id: ID!) { task(id: $id) { version } }").await;
    assert_eq!(read["task"]["version"], 6);
    let list = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(list[0]["version"], 6, "lists carry it too: {list}");
}

async fn rest_lost_update_is_refused_with_the_winners_task(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("shared").await["id"].as_i64().unwrap();
    let path = task_path(&app, "alice", id, "");
    // Two devices read version 1.
    let tag = alice.get(&path).await.header("etag").unwrap().to_owned();
    assert_eq!(tag, format!("\"{id}-1\""));

    let first = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &[("if-match", &tag)],
        Some(json!({"title": "phone"})),
    )
    .await;
    assert_eq!(first.good(StatusCode::OK)["version"], 2);
    let second = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &[("if-match", &tag)],
        Some(json!({"title": "laptop"})),
    )
    .await;
    let body = second.good(StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["code"], "VERSION_CONFLICT", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("version 2"),
        "{body}"
    );
    assert_eq!(body["task"]["title"], "phone", "the winner's task: {body}");
    assert_eq!(body["task"]["version"], 2);
    assert_eq!(second.header("etag"), Some(format!("\"{id}-2\"").as_str()));
    // Nothing was written by the loser.
    let now = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(
        (now["title"].clone(), now["version"].clone()),
        (json!("phone"), json!(2))
    );

    // The merge-on-412 pattern: retry with the ETag the 412 carried.
    let merged = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &[("if-match", second.header("etag").unwrap())],
        Some(json!({"title": "phone + laptop"})),
    )
    .await;
    assert_eq!(merged.good(StatusCode::OK)["version"], 3);
    // A list of tags matches any of them.
    let list = format!("\"{id}-1\", \"{id}-3\"");
    let listed = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &[("if-match", &list)],
        Some(json!({"title": "listed"})),
    )
    .await;
    assert_eq!(listed.good(StatusCode::OK)["version"], 4);
}

/// Bound: 8 concurrent conditional PUTs on one task.
async fn rest_concurrent_conditional_updates_have_one_winner(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("contended").await["id"].as_i64().unwrap();
    let path = task_path(&app, "alice", id, "");
    let tag = format!("\"{id}-1\"");
    let headers = [("if-match", tag.as_str())];
    let responses = join_all((0..8).map(|n| {
        send(
            &app,
            "alice",
            Method::PUT,
            &path,
            &headers,
            Some(json!({"title": format!("writer {n}")})),
        )
    }))
    .await;
    let winners: Vec<&TestResponse> = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "{responses:?}");
    let winner = winners[0].json();
    assert_eq!(winner["version"], 2);
    for loser in responses.iter().filter(|r| r.status != StatusCode::OK) {
        let body = loser.good(StatusCode::PRECONDITION_FAILED);
        assert_eq!(body["task"], winner, "every loser sees the winner's task");
    }
    let now = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(now, winner);
}

async fn rest_if_none_match_gives_304_while_unchanged(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("cached").await["id"].as_i64().unwrap();
    let path = task_path(&app, "alice", id, "");
    let tag = format!("\"{id}-1\"");
    for value in [tag.clone(), format!("W/{tag}"), "*".to_owned()] {
        let cached = send(
            &app,
            "alice",
            Method::GET,
            &path,
            &[("if-none-match", &value)],
            None,
        )
        .await;
        assert_eq!(
            cached.status,
            StatusCode::NOT_MODIFIED,
            "{value}: {}",
            cached.text
        );
        assert_eq!(cached.text, "");
        assert_eq!(cached.header("etag"), Some(tag.as_str()));
    }
    alice
        .put(&path, json!({"title": "changed"}))
        .await
        .good(StatusCode::OK);
    let fresh = send(
        &app,
        "alice",
        Method::GET,
        &path,
        &[("if-none-match", &tag)],
        None,
    )
    .await;
    assert_eq!(fresh.good(StatusCode::OK)["title"], "changed");
    assert_eq!(fresh.header("etag"), Some(format!("\"{id}-2\"").as_str()));
    // A malformed If-None-Match is ignored: the full answer.
    let odd = send(
        &app,
        "alice",
        Method::GET,
        &path,
        &[("if-none-match", "junk")],
        None,
    )
    .await;
    odd.good(StatusCode::OK);
}

async fn rest_if_match_star_weak_and_malformed(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("t").await["id"].as_i64().unwrap();
    let path = task_path(&app, "alice", id, "");
    let put = async |value: &str| {
        let headers = [("if-match", value)];
        let body = Some(json!({"title": "x"}));
        send(&app, "alice", Method::PUT, &path, &headers, body).await
    };
    // `*`: the task exists, whatever its version.
    assert_eq!(put("*").await.good(StatusCode::OK)["version"], 2);
    let missing = task_path(&app, "alice", id + 1000, "");
    let absent = send(
        &app,
        "alice",
        Method::PUT,
        &missing,
        &[("if-match", "*")],
        Some(json!({"title": "x"})),
    )
    .await;
    absent.detail(StatusCode::NOT_FOUND, "Task not found");
    // A weak tag never matches for If-Match (strong comparison), even the current version.
    let weak = format!("W/\"{id}-2\"");
    let refused = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &[("if-match", &weak)],
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(
        refused.good(StatusCode::PRECONDITION_FAILED)["task"]["version"],
        2
    );
    // Another task's tag, or a tag not of ours: no match.
    for other in [format!("\"{}-2\"", id + 1), "\"v2\"".to_owned()] {
        let r = send(
            &app,
            "alice",
            Method::PUT,
            &path,
            &[("if-match", &other)],
            Some(json!({"title": "x"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{other}");
    }
    // Not an entity-tag at all: 400, saying so; nothing written.
    for garbage in ["2", "\"unterminated", "W/2", "\"a\" b"] {
        let r = put(garbage).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{garbage}: {}", r.text);
        assert!(
            r.json()["detail"].as_str().unwrap().contains("If-Match"),
            "{}",
            r.text
        );
    }
    assert_eq!(alice.get(&path).await.good(StatusCode::OK)["version"], 2);
}

async fn rest_conditional_delete_and_toggle(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("t").await["id"].as_i64().unwrap();
    let path = task_path(&app, "alice", id, "");
    let complete = task_path(&app, "alice", id, "/complete");
    let v1 = format!("\"{id}-1\"");
    let toggled = send(
        &app,
        "alice",
        Method::PATCH,
        &complete,
        &[("if-match", &v1)],
        None,
    )
    .await;
    assert_eq!(toggled.good(StatusCode::OK)["completed"], true);
    let stale = send(
        &app,
        "alice",
        Method::PATCH,
        &complete,
        &[("if-match", &v1)],
        None,
    )
    .await;
    let body = stale.good(StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        (
            body["task"]["completed"].clone(),
            body["task"]["version"].clone()
        ),
        (json!(true), json!(2))
    );
    let gone = send(
        &app,
        "alice",
        Method::DELETE,
        &path,
        &[("if-match", &v1)],
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::PRECONDITION_FAILED);
    alice.get(&path).await.good(StatusCode::OK);
    let v2 = format!("\"{id}-2\"");
    let gone = send(
        &app,
        "alice",
        Method::DELETE,
        &path,
        &[("if-match", &v2)],
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    alice
        .get(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "Task not found");
}

async fn another_users_task_is_404_whatever_the_tag(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("alice's").await["id"].as_i64().unwrap();
    // Bob addresses alice's task under his own path, with its right tag, a wrong one and `*`.
    for tag in [format!("\"{id}-1\""), format!("\"{id}-9\""), "*".to_owned()] {
        for (method, suffix) in [
            (Method::PUT, ""),
            (Method::PATCH, "/complete"),
            (Method::DELETE, ""),
        ] {
            let body = (method == Method::PUT).then(|| json!({"title": "bob"}));
            let path = task_path(&app, "bob", id, suffix);
            let r = send(
                &app,
                "bob",
                method.clone(),
                &path,
                &[("if-match", &tag)],
                body,
            )
            .await;
            r.detail(StatusCode::NOT_FOUND, "Task not found");
        }
        let read = send(
            &app,
            "bob",
            Method::GET,
            &task_path(&app, "bob", id, ""),
            &[("if-none-match", &tag)],
            None,
        )
        .await;
        read.detail(StatusCode::NOT_FOUND, "Task not found");
    }
    let bob = app.user("bob");
    for mutation in [
        "mutation($id: ID!) { updateTask(id: $id, input: {title: \"b\"}, expectedVersion: 9) { id } }",
        "mutation($id: ID!) { toggleTask(id: $id, expectedVersion: 9) { id } }",
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true, expectedVersion: 9) { id } }",
        "mutation($id: ID!) { deleteTask(id: $id, expectedVersion: 9) }",
    ] {
        let body = bob.graphql(mutation, json!({"id": id.to_string()})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{body}"
        );
        assert!(
            body["errors"][0]["extensions"].get("task").is_none(),
            "{body}"
        );
    }
    // Alice's task is untouched.
    let task = alice
        .get(&task_path(&app, "alice", id, ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (task["title"].clone(), task["version"].clone()),
        (json!("alice's"), json!(1))
    );
}

const UPDATE: &str = "mutation($id: ID!, $title: String!, $v: Int) { \
    updateTask(id: $id, input: {title: $title}, expectedVersion: $v) { id title version } }";

async fn graphql_lost_update_is_refused_with_the_winners_task(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("shared").await["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let first = alice
        .graphql_data(UPDATE, json!({"id": id, "title": "phone", "v": 1}))
        .await;
    assert_eq!(first["updateTask"]["version"], 2);
    let second = alice
        .graphql(UPDATE, json!({"id": id, "title": "laptop", "v": 1}))
        .await;
    let error = &second["errors"][0];
    assert_eq!(error["extensions"]["code"], "VERSION_CONFLICT", "{second}");
    let current = &error["extensions"]["task"];
    assert_eq!(current["title"], "phone", "{second}");
    assert_eq!(current["version"], 2);
    // The same shape as the Task type's stored fields (the field table's).
    let fields: Vec<&str> = TASK_FIELDS.iter().filter_map(|f| f.graphql).collect();
    let query = format!(
        "query($id: ID!) {{ task(id: $id) {{ {} }} }}",
        fields.join(" ")
    );
    let read = alice.graphql_data(&query, json!({"id": id})).await;
    assert_eq!(current, &read["task"]);
    // Each of the other three mutations checks it too.
    for mutation in [
        "mutation($id: ID!) { toggleTask(id: $id, expectedVersion: 1) { id } }",
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true, expectedVersion: 1) { id } }",
        "mutation($id: ID!) { deleteTask(id: $id, expectedVersion: 1) }",
    ] {
        let body = alice.graphql(mutation, json!({"id": id})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VERSION_CONFLICT",
            "{body}"
        );
    }
    let ok = "mutation($id: ID!) { toggleTask(id: $id, expectedVersion: 2) { version } }";
    assert_eq!(
        alice.graphql_data(ok, json!({"id": id})).await["toggleTask"]["version"],
        3
    );
    let del = "mutation($id: ID!) { deleteTask(id: $id, expectedVersion: 3) }";
    assert_eq!(
        alice.graphql_data(del, json!({"id": id})).await["deleteTask"],
        id
    );
}

/// Found by the Next.js example (issue 30): GraphQL's VERSION_CONFLICT told the client to
/// retry "with its ETag", which a GraphQL client never sends. Each API now names its own
/// precondition: `expectedVersion` (with the version to send) in GraphQL, the ETag in REST.
async fn each_api_names_its_own_precondition_in_a_conflict(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("t").await["id"].as_i64().unwrap();
    alice
        .graphql_data(UPDATE, json!({"id": id.to_string(), "title": "u", "v": 1}))
        .await;
    let task = alice
        .graphql(UPDATE, json!({"id": id.to_string(), "title": "w", "v": 1}))
        .await;
    let list = alice
        .graphql_data(
            "mutation { createList(input: {name: \"Trip\"}) { id } }",
            json!({}),
        )
        .await["createList"]["id"]
        .clone();
    let rename = "mutation($id: ID!, $name: String!) { \
        updateList(id: $id, input: {name: $name}, expectedVersion: 1) { version } }";
    alice
        .graphql_data(rename, json!({"id": list, "name": "Lisbon"}))
        .await;
    let list = alice
        .graphql(rename, json!({"id": list, "name": "Porto"}))
        .await;
    for (body, what) in [(&task, "task"), (&list, "list")] {
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "VERSION_CONFLICT", "{body}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("expectedVersion: 2")
                && message.contains(&format!("extensions.{what}")),
            "{message}"
        );
        assert!(
            !message.contains("ETag") && !message.contains("Precondition"),
            "{message}"
        );
    }
    let stale = send(
        &app,
        "alice",
        Method::PUT,
        &task_path(&app, "alice", id, ""),
        &[("if-match", &format!("\"{id}-1\""))],
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let detail = stale.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("ETag") && !detail.contains("expectedVersion"),
        "{detail}"
    );
}

/// Bound: 8 concurrent conditional mutations on one task.
async fn graphql_concurrent_conditional_updates_have_one_winner(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("contended").await["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let bodies = join_all(
        (0..8).map(|n| alice.graphql(UPDATE, json!({"id": id, "title": format!("w{n}"), "v": 1}))),
    )
    .await;
    let winners: Vec<&Value> = bodies
        .iter()
        .filter(|b| b.get("errors").is_none())
        .collect();
    assert_eq!(winners.len(), 1, "{bodies:?}");
    let winner = &winners[0]["data"]["updateTask"];
    for loser in bodies.iter().filter(|b| b.get("errors").is_some()) {
        let ext = &loser["errors"][0]["extensions"];
        assert_eq!(ext["code"], "VERSION_CONFLICT", "{loser}");
        assert_eq!(ext["task"]["title"], winner["title"]);
        assert_eq!(ext["task"]["version"], 2);
    }
}

async fn require_if_match_refuses_unconditional_writes(backend: Backend) {
    let app = start_app!(backend, "--require-if-match" => "true");
    let alice = app.user("alice");
    // Creating needs no If-Match (there is nothing to match yet); reading neither.
    let id = alice.create_task("t").await["id"].as_i64().unwrap();
    let path = task_path(&app, "alice", id, "");
    alice.get(&path).await.good(StatusCode::OK);
    for (method, suffix) in [
        (Method::PUT, ""),
        (Method::PATCH, "/complete"),
        (Method::DELETE, ""),
    ] {
        let body = (method == Method::PUT).then(|| json!({"title": "x"}));
        let path = task_path(&app, "alice", id, suffix);
        let r = send(&app, "alice", method, &path, &[], body).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.text);
        assert!(
            r.json()["detail"].as_str().unwrap().contains("If-Match"),
            "{}",
            r.text
        );
    }
    assert_eq!(alice.get(&path).await.good(StatusCode::OK)["version"], 1);
    let tag = format!("\"{id}-1\"");
    let r = send(
        &app,
        "alice",
        Method::PUT,
        &path,
        &[("if-match", &tag)],
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(r.good(StatusCode::OK)["version"], 2);
    // Without the setting (the default), If-Match stays optional: the legacy contract. One
    // server (and one test database) at a time: `common::pg` lets eight be in use at once.
    drop(app);
    let legacy = start_app!(backend);
    let bob = legacy.user("bob");
    let id = bob.create_task("t").await["id"].as_i64().unwrap();
    let path = task_path(&legacy, "bob", id, "");
    bob.put(&path, json!({"title": "y"}))
        .await
        .good(StatusCode::OK);
}

async fn events_sync_and_sse_carry_the_version(app: TestApp) {
    let alice = app.user("alice");
    let mut socket = live::socket(&app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "1",
        "subscription { taskEvents { kind task { id version } } }",
    )
    .await;
    let mut sse = SseReader::open(&app, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(sse.response.status(), StatusCode::OK);
    // No pause: a 200 event stream's head is sent once its subscription is registered.

    let id = alice.create_task("live").await["id"].as_i64().unwrap();
    alice
        .put(
            &task_path(&app, "alice", id, ""),
            json!({"title": "live 2"}),
        )
        .await
        .good(StatusCode::OK);

    let created = live::next_event(&mut socket).await;
    assert_eq!(
        (created["kind"].clone(), created["task"]["version"].clone()),
        (json!("CREATED"), json!(1))
    );
    let updated = live::next_event(&mut socket).await;
    assert_eq!(updated["task"]["version"], 2, "{updated}");

    let (_, first) = sse.next_event().await;
    let (_, second) = sse.next_event().await;
    assert_eq!(first["task"]["version"], 1, "{first}");
    assert_eq!(second["task"]["version"], 2, "{second}");

    let sync = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    assert_eq!(sync["changed"][0]["version"], 2, "{sync}");
    let gql = alice
        .graphql_data("{ taskChanges { changed { id version } } }", json!({}))
        .await;
    assert_eq!(gql["taskChanges"]["changed"][0]["version"], 2);
}

async fn openapi_documents_the_headers_and_statuses(app: TestApp) {
    let doc = app
        .anonymous()
        .get("/openapi.json")
        .await
        .good(StatusCode::OK);
    let item = &doc["paths"]["/api/{user_id}/tasks/{id}"];
    let complete = &doc["paths"]["/api/{user_id}/tasks/{id}/complete"];
    let header_params = |op: &Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for op in [&item["put"], &item["delete"], &complete["patch"]] {
        assert_eq!(
            header_params(op),
            vec!["If-Match", "Idempotency-Key"],
            "{op}"
        );
        for status in ["400", "412", "428"] {
            assert!(op["responses"].get(status).is_some(), "{status} in {op}");
        }
    }
    assert_eq!(header_params(&item["get"]), vec!["If-None-Match"]);
    assert!(item["get"]["responses"]["304"].is_object());
    assert!(item["get"]["responses"]["200"]["headers"]["ETag"].is_object());
    let conflict = &doc["components"]["schemas"]["PreconditionFailed"];
    assert_eq!(
        conflict["properties"]["task"]["$ref"],
        "#/components/schemas/Task"
    );
    assert!(doc["components"]["schemas"]["Task"]["properties"]["version"].is_object());
}

async fn cors_allows_the_conditional_headers(backend: Backend) {
    let origin = "http://app.example";
    let app = start_app!(backend, "--cors-origins" => origin);
    let path = app.user("alice").tasks_path("/1");
    let preflight = app
        .raw(
            Method::OPTIONS,
            &path,
            &[
                ("origin", origin),
                ("access-control-request-method", "PUT"),
                (
                    "access-control-request-headers",
                    "if-match,if-none-match,idempotency-key",
                ),
            ],
            None,
        )
        .await;
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in ["if-match", "if-none-match", "idempotency-key"] {
        assert!(allowed.contains(name), "{name} not in {allowed:?}");
    }
    let id = app.user("alice").create_task("t").await["id"]
        .as_i64()
        .unwrap();
    let path = task_path(&app, "alice", id, "");
    let read = send(
        &app,
        "alice",
        Method::GET,
        &path,
        &[("origin", origin)],
        None,
    )
    .await;
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in ["etag", "idempotent-replayed"] {
        assert!(exposed.contains(name), "{name} not in {exposed:?}");
    }
    // Each name once (issue 30 found `idempotent-replayed` twice).
    let mut names: Vec<&str> = exposed.split(',').map(str::trim).collect();
    let listed = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), listed, "a header exposed twice: {exposed:?}");
}
