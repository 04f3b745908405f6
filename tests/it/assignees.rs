//! Assignees (issue 29), on both backends and through both APIs: a task's `assignee_id` is
//! its list's owner or one of its members (the inbox: its owner), anyone else a 422 /
//! BAD_USER_INPUT that writes nothing; `null` clears it, absent keeps it; `assignee=` and
//! `tasks(assigneeId:)` filter by it; a task moved where its assignee is no member, and the
//! tasks of a member who leaves or is removed, lose their assignee (a change, in sync too).
//! And the owner's caps count every task of theirs when an editor creates one.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of};
use crate::sharing::{members_path, share, task_in};

backend_tests!(
    assignees_are_the_lists_people,
    the_filter_finds_a_users_tasks,
    a_move_unassigns_a_non_member,
    leaving_unassigns,
    assignees_through_graphql
);

backend_cases!(an_editors_creates_count_against_the_owners_cap);

fn task_path(user: &UserClient<'_>, task: &Value) -> String {
    user.tasks_path(&format!("/{}", id_of(task)))
}

/// Alice's list "Groceries", shared with bob (editor) and carol (viewer).
async fn shared(alice: &UserClient<'_>) -> i64 {
    let list = id_of(&create_list(alice, "Groceries").await);
    share(alice, list, "bob", "editor").await;
    share(alice, list, "carol", "viewer").await;
    list
}

/// A task of `list` assigned to `who`, created by `user`.
async fn assigned(user: &UserClient<'_>, list: i64, title: &str, who: &str) -> Value {
    user.post(
        &user.tasks_path(""),
        json!({"title": title, "list_id": list, "assignee_id": who}),
    )
    .await
    .good(StatusCode::CREATED)
}

/// A refused assignee: 422 naming the field.
fn refused(response: &crate::common::TestResponse) {
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text
    );
    assert!(response.text.contains("assignee_id"), "{}", response.text);
}

async fn assignees_are_the_lists_people(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = shared(&alice).await;
    let milk = assigned(&alice, list, "milk", "carol").await;
    assert_eq!(milk["assignee_id"], "carol");
    // The editor assigns to the owner; nobody assigns to a stranger, and a refused create
    // leaves nothing behind.
    let eggs = assigned(&bob, list, "eggs", "alice").await;
    assert_eq!(
        (eggs["assignee_id"].as_str(), eggs["user_id"].as_str()),
        (Some("alice"), Some("alice"))
    );
    let before = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    refused(
        &bob.post(
            &bob.tasks_path(""),
            json!({"title": "x", "list_id": list, "assignee_id": "dave"}),
        )
        .await,
    );
    // The inbox: its owner only.
    refused(
        &alice
            .post(
                &alice.tasks_path(""),
                json!({"title": "x", "assignee_id": "bob"}),
            )
            .await,
    );
    let mine = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "mine", "assignee_id": "alice"}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(mine["assignee_id"], "alice");
    let after = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );
    // Not a user id at all.
    let empty = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "x", "assignee_id": ""}),
        )
        .await;
    refused(&empty);
    let number = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "x", "assignee_id": 7}),
        )
        .await;
    assert_eq!(
        number.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        number.text
    );

    // PUT: a member; absent keeps it; null clears it; a stranger is refused and changes
    // nothing.
    let path = task_path(&bob, &milk);
    let to_bob = bob
        .put(&path, json!({"assignee_id": "bob"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(to_bob["assignee_id"], "bob");
    let renamed = bob
        .put(&path, json!({"title": "oat milk"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(renamed["assignee_id"], "bob");
    refused(
        &bob.put(&path, json!({"assignee_id": "dave", "title": "no"}))
            .await,
    );
    let same = alice
        .get(&task_path(&alice, &milk))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (
            same["title"].as_str(),
            same["assignee_id"].as_str(),
            same["version"].as_i64()
        ),
        (Some("oat milk"), Some("bob"), renamed["version"].as_i64())
    );
    let cleared = alice
        .put(&task_path(&alice, &milk), json!({"assignee_id": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(cleared["assignee_id"], Value::Null);
    // A viewer may be assigned, not assign.
    let carol = app.user("carol");
    let refused_write = carol
        .put(&task_path(&carol, &milk), json!({"assignee_id": "carol"}))
        .await;
    assert_eq!(
        refused_write.status,
        StatusCode::FORBIDDEN,
        "{}",
        refused_write.text
    );
}

async fn the_filter_finds_a_users_tasks(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = shared(&alice).await;
    for (title, who) in [("milk", "bob"), ("eggs", "carol"), ("bread", "bob")] {
        assigned(&alice, list, title, who).await;
    }
    task_in(&alice, list, "jam").await;
    for user in [&alice, &bob] {
        let bobs = user
            .get(&user.tasks_path("?assignee=bob&sort_by=title&order=asc"))
            .await
            .good(StatusCode::OK);
        let titles: Vec<&str> = bobs
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["bread", "milk"]);
    }
    // Combined with the others (AND), and nobody's: nothing.
    let listed = bob
        .get(&bob.tasks_path(&format!("?assignee=carol&list_id={list}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let none = bob
        .get(&bob.tasks_path("?assignee=dave"))
        .await
        .good(StatusCode::OK);
    assert_eq!(none, json!([]));
    // A stranger filtering by bob sees none of alice's.
    let dave = app.user("dave");
    let strangers = dave
        .get(&dave.tasks_path("?assignee=bob"))
        .await
        .good(StatusCode::OK);
    assert_eq!(strangers, json!([]));
}

async fn a_move_unassigns_a_non_member(app: TestApp) {
    let alice = app.user("alice");
    let list = shared(&alice).await;
    let private = id_of(&create_list(&alice, "Private").await);
    let mut tasks = Vec::new();
    for title in ["milk", "eggs", "bread"] {
        tasks.push(assigned(&alice, list, title, "bob").await);
    }
    // Moving with an assignee who is no member there: refused, nothing moves.
    let path = task_path(&alice, &tasks[0]);
    refused(
        &alice
            .put(&path, json!({"list_id": private, "assignee_id": "bob"}))
            .await,
    );
    let still = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(
        (still["list_id"].as_i64(), still["assignee_id"].as_str()),
        (Some(list), Some("bob"))
    );
    // Moved by PUT: bob is no member of "Private", so the task loses him; the owner stays.
    let moved = alice
        .put(&path, json!({"list_id": private}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (moved["list_id"].as_i64(), moved["assignee_id"].clone()),
        (Some(private), Value::Null)
    );
    let read = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(read["assignee_id"], Value::Null);
    // One change, one version: the move and the assignee it clears are one write.
    let version = |task: &Value| task["version"].as_i64().expect("a version");
    assert_eq!(version(&moved), version(&still) + 1, "{moved}");
    assert_eq!(version(&read), version(&moved));
    // Moved by the move endpoint, and to the inbox: the same.
    let path = task_path(&alice, &tasks[1]);
    let moved = alice
        .post(&format!("{path}/move"), json!({"list_id": private}))
        .await
        .good(StatusCode::OK);
    assert_eq!(moved["assignee_id"], Value::Null, "{moved}");
    let read = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(read["assignee_id"], Value::Null);
    assert_eq!(version(&read), version(&tasks[1]) + 1, "{read}");
    let path = task_path(&alice, &tasks[2]);
    let owned = alice
        .put(&path, json!({"assignee_id": "alice"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(owned["assignee_id"], "alice");
    let inbox = alice
        .put(&path, json!({"list_id": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        inbox["assignee_id"], "alice",
        "the owner stays assigned anywhere"
    );
}

async fn leaving_unassigns(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = shared(&alice).await;
    let milk = assigned(&alice, list, "milk", "bob").await;
    let eggs = assigned(&alice, list, "eggs", "carol").await;
    let cursor = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK)["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Bob leaves; alice removes carol.
    bob.delete(&members_path(&bob, list, "/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    alice
        .delete(&members_path(&alice, list, "/carol"))
        .await
        .good(StatusCode::NO_CONTENT);
    for task in [&milk, &eggs] {
        let now = alice
            .get(&task_path(&alice, task))
            .await
            .good(StatusCode::OK);
        assert_eq!(now["assignee_id"], Value::Null, "{now}");
        assert_eq!(
            now["version"].as_i64(),
            Some(task["version"].as_i64().unwrap() + 1)
        );
    }
    // The owner's sync carries the change.
    let changes = alice
        .get(&alice.tasks_path(&format!("/changes?since={cursor}")))
        .await
        .good(StatusCode::OK);
    let mut changed: Vec<(&str, Value)> = changes["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["title"].as_str().unwrap(), t["assignee_id"].clone()))
        .collect();
    changed.sort_by_key(|c| c.0);
    assert_eq!(
        changed,
        [("eggs", Value::Null), ("milk", Value::Null)],
        "{changes}"
    );
}

async fn assignees_through_graphql(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = shared(&alice).await;
    let create =
        "mutation($input: CreateTaskInput!) { createTask(input: $input) { id assigneeId } }";
    let made = bob
        .graphql_data(
            create,
            json!({"input": {"title": "milk", "listId": list.to_string(), "assigneeId": "carol"}}),
        )
        .await;
    assert_eq!(made["createTask"]["assigneeId"], "carol");
    let id = made["createTask"]["id"].as_str().unwrap().to_owned();
    let stranger = bob
        .graphql(
            create,
            json!({"input": {"title": "x", "listId": list.to_string(), "assigneeId": "dave"}}),
        )
        .await;
    assert_eq!(
        stranger["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{stranger}"
    );
    assert!(
        stranger["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("assignee"),
        "{stranger}"
    );

    let update = "mutation($id: ID!, $input: UpdateTaskInput!) { \
                  updateTask(id: $id, input: $input) { assigneeId title } }";
    let updated = bob
        .graphql_data(update, json!({"id": id, "input": {"assigneeId": "bob"}}))
        .await;
    assert_eq!(updated["updateTask"]["assigneeId"], "bob");
    let kept = bob
        .graphql_data(update, json!({"id": id, "input": {"title": "oat milk"}}))
        .await;
    assert_eq!(kept["updateTask"]["assigneeId"], "bob");
    let refused = bob
        .graphql(update, json!({"id": id, "input": {"assigneeId": "dave"}}))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );

    let filter = "query($who: String!) { tasks(assigneeId: $who) { title assigneeId } }";
    for user in [&alice, &bob] {
        let found = user.graphql_data(filter, json!({"who": "bob"})).await;
        assert_eq!(
            found["tasks"],
            json!([{"title": "oat milk", "assigneeId": "bob"}])
        );
    }
    let carols = alice.graphql_data(filter, json!({"who": "carol"})).await;
    assert_eq!(carols["tasks"], json!([]));
    let cleared = alice
        .graphql_data(update, json!({"id": id, "input": {"assigneeId": null}}))
        .await;
    assert_eq!(cleared["updateTask"]["assigneeId"], Value::Null);
}

async fn an_editors_creates_count_against_the_owners_cap(backend: crate::common::Backend) {
    let app = start_app!(backend, "--max-tasks-per-user" => "3");
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&alice, "Groceries").await);
    share(&alice, list, "bob", "editor").await;
    // Two of alice's tasks bob cannot see, one he can: alice is at her cap.
    alice.create_task("private one").await;
    alice.create_task("private two").await;
    task_in(&alice, list, "milk").await;
    let over = bob
        .post(
            &bob.tasks_path(""),
            json!({"title": "eggs", "list_id": list}),
        )
        .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.text);
    let over = bob
        .graphql(
            "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
            json!({"input": {"title": "eggs", "listId": list.to_string()}}),
        )
        .await;
    assert_eq!(
        over["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{over}"
    );
    // Bob's own tasks are his own cap's.
    bob.create_task("bob's").await;
    let all = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 3);
}
