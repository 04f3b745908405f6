//! Subtasks (issue 21), on both backends and through both APIs: `parent_id` on create (the
//! parent's list, 404 for another user's parent), the `parent_id` filter, `Task.subtasks` /
//! `Task.parent`; depth beyond 3 and cycles refused; deleting a parent deletes its subtree
//! (tombstones in sync, events on SSE), also when clearing completed tasks; completing a
//! parent leaves its subtasks; stats count every task.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::live::SseReader;
use crate::common::{TestApp, UserClient, assert_error_at};

backend_tests!(
    subtasks_are_created_under_a_parent_and_listed,
    depth_beyond_three_is_refused,
    cycles_are_refused,
    deleting_a_parent_deletes_its_subtree_with_tombstones_and_events,
    clearing_completed_takes_subtasks_along,
    completing_a_parent_leaves_subtasks_and_stats_count_all,
    foreign_and_missing_parents_are_404,
);

fn id(task: &Value) -> i64 {
    task["id"].as_i64().expect("an id")
}

async fn subtask(user: &UserClient<'_>, title: &str, parent: i64) -> crate::common::TestResponse {
    user.post(
        &user.tasks_path(""),
        json!({"title": title, "parent_id": parent}),
    )
    .await
}

async fn child(user: &UserClient<'_>, title: &str, parent: i64) -> i64 {
    id(&subtask(user, title, parent).await.good(StatusCode::CREATED))
}

async fn ids(user: &UserClient<'_>, query: &str) -> Vec<i64> {
    let list = user
        .get(&user.tasks_path(&format!("?{query}")))
        .await
        .good(StatusCode::OK);
    list.as_array().unwrap().iter().map(id).collect()
}

async fn status(user: &UserClient<'_>, task: i64) -> StatusCode {
    user.get(&user.tasks_path(&format!("/{task}"))).await.status
}

async fn subtasks_are_created_under_a_parent_and_listed(app: TestApp) {
    let alice = app.user("alice");
    let parent = id(&alice.create_task("trip").await);
    let made = subtask(&alice, "tickets", parent)
        .await
        .good(StatusCode::CREATED);
    assert_eq!(
        (made["parent_id"].clone(), made["list_id"].clone()),
        (json!(parent), Value::Null)
    );
    let second = child(&alice, "hotel", parent).await;
    let other = id(&alice.create_task("other").await);

    assert_eq!(
        ids(&alice, &format!("parent_id={parent}&sort=position")).await,
        vec![id(&made), second]
    );
    assert_eq!(
        ids(&alice, "parent_id=none&sort=position").await,
        vec![parent, other]
    );
    assert_eq!(
        ids(&alice, "").await.len(),
        4,
        "the plain list shows every task"
    );
    let detail = alice
        .get(&alice.tasks_path("?parent_id=x"))
        .await
        .validation();
    assert_error_at(&detail, json!(["query", "parent_id"]), "int_parsing");

    let data = alice
        .graphql_data(
            "mutation($p: ID) { createTask(input: {title: \"book\", parentId: $p}) {
               id parentId parent { id title } } }",
            json!({"p": second.to_string()}),
        )
        .await;
    let grandchild = &data["createTask"];
    assert_eq!(
        grandchild["parent"],
        json!({"id": second.to_string(), "title": "hotel"})
    );
    let data = alice
        .graphql_data(
            "query($p: ID) { tasks(parentId: $p) { id }
               task(id: $p) { parent { id } subtasks { id subtasks { id } } } }",
            json!({"p": parent.to_string()}),
        )
        .await;
    assert_eq!(data["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(data["task"]["parent"], Value::Null);
    let subs = data["task"]["subtasks"].as_array().unwrap();
    assert_eq!(subs[0]["id"], id(&made).to_string(), "in manual order");
    assert_eq!(subs[1]["subtasks"][0]["id"], grandchild["id"]);
}

async fn depth_beyond_three_is_refused(app: TestApp) {
    let alice = app.user("alice");
    let one = id(&alice.create_task("1").await);
    let two = child(&alice, "2", one).await;
    let three = child(&alice, "3", two).await;
    let four = subtask(&alice, "4", three).await;
    let detail = four.validation();
    assert_error_at(&detail, json!(["body", "parent_id"]), "value_error");
    assert!(
        detail[0]["msg"].as_str().unwrap().contains("3 levels"),
        "{detail:?}"
    );

    // A task with a subtask can go under a top-level task, not one level lower.
    let other = id(&alice.create_task("x").await);
    let other_child = child(&alice, "x.1", other).await;
    let path = alice.tasks_path(&format!("/{other}/move"));
    alice
        .post(&path, json!({"parent_id": one}))
        .await
        .good(StatusCode::OK);
    alice
        .post(&path, json!({"parent_id": null}))
        .await
        .good(StatusCode::OK);
    let deep = alice
        .post(&path, json!({"parent_id": two}))
        .await
        .validation();
    assert_error_at(&deep, json!(["body", "parent_id"]), "value_error");
    let put = alice
        .put(
            &alice.tasks_path(&format!("/{other}")),
            json!({"parent_id": two}),
        )
        .await;
    assert_error_at(
        &put.validation(),
        json!(["body", "parent_id"]),
        "value_error",
    );
    assert_eq!(status(&alice, other_child).await, StatusCode::OK);

    let data = alice
        .graphql(
            "mutation($p: ID) { createTask(input: {title: \"4\", parentId: $p}) { id } }",
            json!({"p": three.to_string()}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{data}"
    );
}

async fn cycles_are_refused(app: TestApp) {
    let alice = app.user("alice");
    let top = id(&alice.create_task("top").await);
    let mid = child(&alice, "mid", top).await;
    let low = child(&alice, "low", mid).await;
    let path = alice.tasks_path(&format!("/{top}/move"));
    for parent in [top, mid, low] {
        let refused = alice.post(&path, json!({"parent_id": parent})).await;
        assert_error_at(
            &refused.validation(),
            json!(["body", "parent_id"]),
            "value_error",
        );
    }
    let data = alice
        .graphql(
            "mutation($id: ID!, $p: ID) { moveTask(id: $id, parentId: $p) { id } }",
            json!({"id": top.to_string(), "p": low.to_string()}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{data}"
    );
    let still = alice
        .get(&alice.tasks_path(&format!("/{top}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (still["parent_id"].clone(), still["version"].clone()),
        (Value::Null, json!(1))
    );
}

async fn deleting_a_parent_deletes_its_subtree_with_tombstones_and_events(app: TestApp) {
    let alice = app.user("alice");
    let top = id(&alice.create_task("top").await);
    let mid = child(&alice, "mid", top).await;
    let low = child(&alice, "low", mid).await;
    let sibling = child(&alice, "sibling", top).await;
    let kept = id(&alice.create_task("kept").await);
    let cursor = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK)["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut sse = SseReader::open(&app, "alice", "/api/alice/tasks/events", &[]).await;
    // No pause needed: a 200 event stream's head is sent once its subscription is registered
    // (and a started server already LISTENs), so nothing written from here on can be missed.

    let path = alice.tasks_path(&format!("/{top}"));
    assert_eq!(alice.delete(&path).await.status, StatusCode::NO_CONTENT);
    let gone: BTreeSet<i64> = [top, mid, low, sibling].into();
    for task in &gone {
        assert_eq!(status(&alice, *task).await, StatusCode::NOT_FOUND);
    }
    assert_eq!(status(&alice, kept).await, StatusCode::OK);
    let mut seen = BTreeSet::new();
    let created: BTreeSet<i64> = [top, mid, low, sibling, kept].into();
    while seen.len() < 4 {
        let (_, event) = sse.next_event().await;
        // The creates above travel through the database's journal and LISTEN; under load one
        // may reach the stream after it opened. Anything else must be a deletion.
        if event["kind"] == "CREATED" && created.contains(&event["id"].as_i64().unwrap_or(-1)) {
            continue;
        }
        assert_eq!(event["kind"], "DELETED", "{event}");
        seen.insert(event["id"].as_i64().unwrap());
    }
    assert_eq!(seen, gone);
    let sync = alice
        .get(&alice.tasks_path(&format!("/changes?since={cursor}")))
        .await
        .good(StatusCode::OK);
    let deleted: BTreeSet<i64> = sync["deleted_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(deleted, gone, "{sync}");

    // GraphQL's deleteTask cascades the same way.
    let parent = id(&alice.create_task("p").await);
    let sub = child(&alice, "s", parent).await;
    alice
        .graphql_data(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            json!({"id": parent.to_string()}),
        )
        .await;
    assert_eq!(status(&alice, sub).await, StatusCode::NOT_FOUND);
}

async fn clearing_completed_takes_subtasks_along(app: TestApp) {
    let alice = app.user("alice");
    let done = id(&alice.create_task("done").await);
    let pending_child = child(&alice, "pending child", done).await;
    let done_child = child(&alice, "done child", done).await;
    let open = id(&alice.create_task("open").await);
    let done_sub = child(&alice, "done sub of open", open).await;
    for task in [done, done_child, done_sub] {
        alice
            .patch(&alice.tasks_path(&format!("/{task}/complete")))
            .await
            .good(StatusCode::OK);
    }
    let data = alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    let cleared: BTreeSet<i64> = data["clearCompleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(cleared, [done, pending_child, done_child, done_sub].into());
    assert_eq!(ids(&alice, "").await, vec![open]);
}

async fn completing_a_parent_leaves_subtasks_and_stats_count_all(app: TestApp) {
    let alice = app.user("alice");
    let parent = id(&alice.create_task("parent").await);
    let sub = child(&alice, "sub", parent).await;
    alice
        .patch(&alice.tasks_path(&format!("/{parent}/complete")))
        .await
        .good(StatusCode::OK);
    let sub_now = alice
        .get(&alice.tasks_path(&format!("/{sub}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (sub_now["completed"].clone(), sub_now["version"].clone()),
        (json!(false), json!(1))
    );
    let stats = alice
        .get(&alice.tasks_path("/stats"))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (stats["total"].clone(), stats["completed"].clone()),
        (json!(2), json!(1)),
        "{stats}"
    );
}

async fn foreign_and_missing_parents_are_404(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let theirs = id(&bob.create_task("bob's").await);
    assert_eq!(
        subtask(&alice, "x", theirs).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        subtask(&alice, "x", 987_654).await.status,
        StatusCode::NOT_FOUND
    );
    let mine = id(&alice.create_task("mine").await);
    let put = alice
        .put(
            &alice.tasks_path(&format!("/{mine}")),
            json!({"parent_id": theirs}),
        )
        .await;
    assert_eq!(put.status, StatusCode::NOT_FOUND, "{}", put.text);
    let data = alice
        .graphql(
            "mutation($p: ID) { createTask(input: {title: \"x\", parentId: $p}) { id } }",
            json!({"p": theirs.to_string()}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{data}"
    );
    let data = alice
        .graphql(
            "mutation($id: ID!, $p: ID) { updateTask(id: $id, input: {parentId: $p}) { id } }",
            json!({"id": mine.to_string(), "p": theirs.to_string()}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{data}"
    );
    assert_eq!(ids(&alice, "").await, vec![mine], "nothing created");
    // The parent filter: another user's (or a missing) parent is 404 too.
    for parent in [theirs, 987_654] {
        let listed = alice
            .get(&alice.tasks_path(&format!("?parent_id={parent}")))
            .await;
        assert_eq!(listed.status, StatusCode::NOT_FOUND, "{}", listed.text);
    }
    let data = alice
        .graphql(
            "query($p: ID) { tasks(parentId: $p) { id } }",
            json!({"p": theirs.to_string()}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{data}"
    );
    let bobs = bob.get(&bob.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(bobs.as_array().unwrap().len(), 1);
}
