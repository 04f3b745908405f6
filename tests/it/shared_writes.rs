//! Writes in shared lists (issue 29), on both backends and through both APIs: an editor
//! creates, updates, completes and deletes the tasks of a list shared with them (the task
//! keeps its owner, `created_by` names the editor) and the owner sees it; a viewer's writes
//! are 403 / FORBIDDEN and change nothing; a stranger gets 404; a member's writes reach
//! nothing else of the owner's; a shared list's tasks stay in it. The row-security matrix of
//! the same rules, in SQL, is at the end.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::{Backend, TestApp};
use crate::lists::{create_list, id_of};
use crate::row_security::{as_app, connect, count};
use crate::sharing::{share, task_in};

backend_tests!(
    an_editor_writes_the_shared_lists_tasks,
    a_viewers_writes_are_403_and_change_nothing,
    members_write_nothing_else_of_the_owners,
    shared_tasks_through_graphql,
    an_editors_tags_are_the_owners
);

async fn tags_of(user: &crate::common::UserClient<'_>) -> Value {
    let path = format!("/api/{}/tags", user.user);
    user.get(&path).await.good(StatusCode::OK)
}

/// The tags an editor writes on a task of a shared list are its owner's, as the task is:
/// they count among the owner's tags (and cap), not the editor's, and replacing them
/// replaces the owner's.
async fn an_editors_tags_are_the_owners(app: TestApp) {
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let list = id_of(&create_list(&alice, "Groceries").await);
    share(&alice, list, "bob", "editor").await;
    let made = bob
        .post(
            &bob.tasks_path(""),
            json!({"title": "eggs", "list_id": list, "tags": ["fresh"]}),
        )
        .await
        .good(StatusCode::CREATED);
    let owned = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "milk", "list_id": list, "tags": ["dairy"]}),
        )
        .await
        .good(StatusCode::CREATED);
    bob.put(
        &bob.tasks_path(&format!("/{}", id_of(&owned))),
        json!({"tags": ["cold"]}),
    )
    .await
    .good(StatusCode::OK);
    assert_eq!(
        tags_of(&alice).await,
        json!([{"name": "cold", "count": 1}, {"name": "fresh", "count": 1}])
    );
    assert_eq!(tags_of(&bob).await, json!([]));
    // The owner's tag operations reach them.
    alice
        .delete("/api/alice/tags/fresh")
        .await
        .good(StatusCode::OK);
    let after = alice
        .get(&alice.tasks_path(&format!("/{}", id_of(&made))))
        .await
        .good(StatusCode::OK);
    assert_eq!(after["tags"], json!([]), "{after}");
}

async fn an_editor_writes_the_shared_lists_tasks(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&alice, "Groceries").await);
    share(&alice, list, "bob", "editor").await;
    let milk = task_in(&alice, list, "milk").await;
    assert_eq!(milk["created_by"], "alice");
    assert_eq!(milk["assignee_id"], Value::Null);

    // Create: the owner's task, made by bob.
    let eggs = task_in(&bob, list, "eggs").await;
    assert_eq!(eggs["user_id"], "alice", "{eggs}");
    assert_eq!(eggs["created_by"], "bob");
    assert_eq!(eggs["list_id"], list);
    // A subtask of the owner's task too.
    let sub = bob
        .post(
            &bob.tasks_path(""),
            json!({"title": "brown ones", "parent_id": id_of(&eggs)}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(
        (sub["user_id"].as_str(), sub["list_id"].as_i64()),
        (Some("alice"), Some(list))
    );

    // Update, complete, delete.
    let path = bob.tasks_path(&format!("/{}", id_of(&milk)));
    let renamed = bob
        .put(&path, json!({"title": "oat milk"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (renamed["title"].as_str(), renamed["user_id"].as_str()),
        (Some("oat milk"), Some("alice"))
    );
    let done = bob
        .patch(&format!("{path}/complete"))
        .await
        .good(StatusCode::OK);
    assert_eq!(done["completed"], true);
    bob.delete(&bob.tasks_path(&format!("/{}", id_of(&eggs))))
        .await
        .good(StatusCode::NO_CONTENT);

    // Alice sees it all.
    let mine = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    let mine: Vec<(String, bool)> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                t["completed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(mine, [("oat milk".to_owned(), true)]);
}

async fn a_viewers_writes_are_403_and_change_nothing(app: TestApp) {
    let alice = app.user("alice");
    let carol = app.user("carol");
    let dave = app.user("dave");
    let list = id_of(&create_list(&alice, "Launch").await);
    share(&alice, list, "carol", "viewer").await;
    let task = task_in(&alice, list, "ship it").await;
    let path =
        |user: &crate::common::UserClient<'_>| user.tasks_path(&format!("/{}", id_of(&task)));

    let refused = carol
        .post(
            &carol.tasks_path(""),
            json!({"title": "x", "list_id": list}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.json()["code"], "FORBIDDEN");
    let refused = carol
        .post(
            &carol.tasks_path(""),
            json!({"title": "x", "parent_id": id_of(&task)}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    for response in [
        carol.put(&path(&carol), json!({"title": "mine"})).await,
        carol.patch(&format!("{}/complete", path(&carol))).await,
        carol.delete(&path(&carol)).await,
    ] {
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.text);
    }
    // A stranger: 404 for every one of them.
    let refused = dave
        .post(&dave.tasks_path(""), json!({"title": "x", "list_id": list}))
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    for response in [
        dave.put(&path(&dave), json!({"title": "mine"})).await,
        dave.patch(&format!("{}/complete", path(&dave))).await,
        dave.delete(&path(&dave)).await,
        dave.get(&path(&dave)).await,
    ] {
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.text);
    }
    // Nothing changed.
    let same = alice.get(&path(&alice)).await.good(StatusCode::OK);
    assert_eq!(
        (
            same["title"].as_str(),
            same["completed"].as_bool(),
            same["version"].as_i64()
        ),
        (Some("ship it"), Some(false), Some(1))
    );
    // The viewer made an editor may write.
    alice
        .put(
            &format!("/api/alice/lists/{list}/members/carol"),
            json!({"role": "editor"}),
        )
        .await
        .good(StatusCode::OK);
    carol
        .put(&path(&carol), json!({"title": "shipped"}))
        .await
        .good(StatusCode::OK);
}

async fn members_write_nothing_else_of_the_owners(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let shared = id_of(&create_list(&alice, "Shared").await);
    let private = id_of(&create_list(&alice, "Private").await);
    share(&alice, shared, "bob", "editor").await;
    let secret = task_in(&alice, private, "secret").await;
    let inbox = alice.create_task("inbox").await;
    let moving = task_in(&alice, shared, "moving").await;
    // Not in her private list, not her inbox task.
    let refused = bob
        .post(
            &bob.tasks_path(""),
            json!({"title": "x", "list_id": private}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    for task in [&secret, &inbox] {
        let path = bob.tasks_path(&format!("/{}", id_of(task)));
        assert_eq!(
            bob.put(&path, json!({"title": "x"})).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(bob.delete(&path).await.status, StatusCode::NOT_FOUND);
    }
    // A shared list's task stays in it: not to bob's inbox, nor to a list of his.
    let his = id_of(&create_list(&bob, "Bob's").await);
    let path = bob.tasks_path(&format!("/{}", id_of(&moving)));
    for target in [Value::Null, json!(his)] {
        let moved = bob.put(&path, json!({"list_id": target})).await;
        assert_eq!(moved.status, StatusCode::FORBIDDEN, "{}", moved.text);
    }
    // Nor does the owner move her task into bob's list.
    let planted = alice
        .put(
            &alice.tasks_path(&format!("/{}", id_of(&inbox))),
            json!({"list_id": his}),
        )
        .await;
    assert_eq!(planted.status, StatusCode::NOT_FOUND);
    // Bob's own task cannot go into alice's list either.
    let own = bob.create_task("bob's").await;
    let into = bob
        .put(
            &bob.tasks_path(&format!("/{}", id_of(&own))),
            json!({"list_id": shared}),
        )
        .await;
    assert_eq!(into.status, StatusCode::FORBIDDEN, "{}", into.text);
    // Once removed, nothing of the list is his to write.
    alice
        .delete(&format!("/api/alice/lists/{shared}/members/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    assert_eq!(
        bob.put(&path, json!({"title": "x"})).await.status,
        StatusCode::NOT_FOUND
    );
    let refused = bob
        .post(
            &bob.tasks_path(""),
            json!({"title": "x", "list_id": shared}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

async fn shared_tasks_through_graphql(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let carol = app.user("carol");
    let list = id_of(&create_list(&alice, "Team").await);
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    let created = bob
        .graphql_data(
            "mutation($l: ID!) { createTask(input: {title: \"plan\", listId: $l}) \
             { id createdBy assigneeId list { ownerId role } } }",
            json!({"l": list.to_string()}),
        )
        .await;
    let task = &created["createTask"];
    assert_eq!(task["createdBy"], "bob");
    assert_eq!(task["list"], json!({"ownerId": "alice", "role": "EDITOR"}));
    let id = task["id"].as_str().unwrap();
    let updated = bob
        .graphql_data(
            "mutation($id: ID!) { updateTask(id: $id, input: {title: \"planned\"}) { title } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(updated["updateTask"]["title"], "planned");
    let refused = carol
        .graphql(
            "mutation($id: ID!) { updateTask(id: $id, input: {title: \"no\"}) { title } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let refused = carol
        .graphql(
            "mutation($l: ID!) { createTask(input: {title: \"no\", listId: $l}) { id } }",
            json!({"l": list.to_string()}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let seen = carol
        .graphql_data("{ tasks { title createdBy } }", json!({}))
        .await;
    assert_eq!(
        seen["tasks"],
        json!([{"title": "planned", "createdBy": "bob"}])
    );
    let gone = bob
        .graphql_data(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(gone["deleteTask"], id);
    let seen = alice.graphql_data("{ tasks { id } }", json!({})).await;
    assert_eq!(seen["tasks"], json!([]));
}

/// The same rules in SQL, as the server's role: a member reads the shared list's tasks and
/// nothing else of the owner's; a viewer's UPDATE changes 0 rows, an editor's changes the
/// shared task and nothing else; a removed member sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_policies_share_a_list_in_sql() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&database.url)
        .start()
        .await
        .expect("app");
    let alice = app.user("alice");
    let shared = id_of(&create_list(&alice, "Shared").await);
    let private = id_of(&create_list(&alice, "Private").await);
    task_in(&alice, shared, "shared one").await;
    task_in(&alice, shared, "shared two").await;
    task_in(&alice, private, "private").await;
    alice.create_task("inbox").await;
    share(&alice, shared, "bob", "editor").await;
    share(&alice, shared, "carol", "viewer").await;
    let db = connect(&database.url).await;

    for member in ["bob", "carol"] {
        let seen = count(&db, Some(member), "SELECT count(*) FROM tasks").await;
        assert_eq!(seen, 2, "{member} reads the shared list's tasks only");
        let lists = count(&db, Some(member), "SELECT count(*) FROM task_lists").await;
        assert_eq!(lists, 1, "{member} reads the shared list only");
        let members = count(&db, Some(member), "SELECT count(*) FROM list_members").await;
        assert_eq!(members, 2, "{member} reads the list's members");
    }
    let update = "UPDATE tasks SET title = 'x' RETURNING 1";
    assert_eq!(
        as_app(&db, Some("carol"), update).await.unwrap().len(),
        0,
        "a viewer's UPDATE"
    );
    assert_eq!(
        as_app(&db, Some("bob"), update).await.unwrap().len(),
        2,
        "an editor's UPDATE"
    );
    let delete = "DELETE FROM tasks WHERE list_id IS NOT NULL RETURNING 1";
    assert_eq!(as_app(&db, Some("carol"), delete).await.unwrap().len(), 0);
    // Not even an editor renames the list, nor adds members.
    let rename = "UPDATE task_lists SET name = 'x' RETURNING 1";
    assert_eq!(as_app(&db, Some("bob"), rename).await.unwrap().len(), 0);
    let add = format!(
        "INSERT INTO list_members (list_id, user_id, role, added_at) VALUES ({shared}, 'dave', 'editor', now())"
    );
    let planted = as_app(&db, Some("bob"), &add).await;
    assert!(planted.is_err_and(|e| e.starts_with("42501")));
    // Dave, a stranger, sees nothing.
    assert_eq!(
        count(&db, Some("dave"), "SELECT count(*) FROM tasks").await,
        0
    );
    // Carol leaves: nothing of it any more.
    app.user("carol")
        .delete(&format!("/api/carol/lists/{shared}/members/carol"))
        .await
        .good(StatusCode::NO_CONTENT);
    for table in ["tasks", "task_lists", "list_members"] {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(count(&db, Some("carol"), &sql).await, 0, "{table}");
    }
}
