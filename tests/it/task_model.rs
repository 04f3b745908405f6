//! Task model v3 across its features (issue 21), on both backends: a list's deletion takes
//! its subtasks and their tags along (both ways), and every new path, field and argument
//! treats another user's id as absent (404 / NOT_FOUND) without touching their data.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of, lists_path};

backend_tests!(
    deleting_a_list_moves_or_deletes_its_subtrees,
    another_users_ids_are_absent_everywhere
);

async fn create(user: &UserClient<'_>, body: Value) -> Value {
    user.post(&user.tasks_path(""), body)
        .await
        .good(StatusCode::CREATED)
}

/// The user's tags as `{name: count}`.
async fn tag_counts(user: &UserClient<'_>) -> Value {
    let tags = user
        .get(&format!("/api/{}/tags", user.user))
        .await
        .good(StatusCode::OK);
    let mut counts = serde_json::Map::new();
    for tag in tags.as_array().expect("a list") {
        counts.insert(
            tag["name"].as_str().unwrap().to_owned(),
            tag["count"].clone(),
        );
    }
    Value::Object(counts)
}

async fn deleting_a_list_moves_or_deletes_its_subtrees(app: TestApp) {
    let alice = app.user("alice");
    let cursor = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK)["cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    // To the inbox: the parent goes last in the inbox, its subtask stays under it.
    let kept = id_of(&create_list(&alice, "Kept tasks").await);
    let inbox_task = id_of(&create(&alice, json!({"title": "already in the inbox"})).await);
    let parent = id_of(&create(&alice, json!({"title": "parent", "list_id": kept})).await);
    let child = create(
        &alice,
        json!({"title": "child", "parent_id": parent, "tags": ["x"]}),
    )
    .await;
    assert_eq!(
        (child["list_id"].as_i64(), child["parent_id"].as_i64()),
        (Some(kept), Some(parent))
    );
    let child = id_of(&child);
    let done = alice
        .delete(&lists_path(&alice, &format!("/{kept}?tasks=inbox")))
        .await
        .good(StatusCode::OK);
    assert_eq!(done["tasks"], "moved_to_inbox");
    let moved_parent = alice
        .get(&alice.tasks_path(&format!("/{parent}")))
        .await
        .good(StatusCode::OK);
    let moved_child = alice
        .get(&alice.tasks_path(&format!("/{child}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(moved_parent["list_id"], Value::Null);
    assert_eq!(
        (&moved_child["list_id"], moved_child["parent_id"].as_i64()),
        (&Value::Null, Some(parent))
    );
    let top = alice
        .get(&alice.tasks_path("?list_id=none&parent_id=none&sort=position"))
        .await
        .good(StatusCode::OK);
    let top: Vec<i64> = top.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(top, vec![inbox_task, parent], "the moved parent goes last");
    assert_eq!(tag_counts(&alice).await, json!({"x": 1}));

    // Deleted: the parent, its subtask and the subtask's tag go; tombstones for both.
    let gone = id_of(&create_list(&alice, "Gone tasks").await);
    let parent2 = id_of(&create(&alice, json!({"title": "parent 2", "list_id": gone})).await);
    let child2 = id_of(
        &create(
            &alice,
            json!({"title": "child 2", "parent_id": parent2, "tags": ["y"]}),
        )
        .await,
    );
    let grandchild =
        id_of(&create(&alice, json!({"title": "grandchild", "parent_id": child2})).await);
    let done = alice
        .delete(&lists_path(&alice, &format!("/{gone}?tasks=delete")))
        .await
        .good(StatusCode::OK);
    let mut deleted: Vec<i64> = serde_json::from_value(done["task_ids"].clone()).unwrap();
    deleted.sort_unstable();
    assert_eq!(deleted, vec![parent2, child2, grandchild]);
    for id in [parent2, child2, grandchild] {
        alice
            .get(&alice.tasks_path(&format!("/{id}")))
            .await
            .detail(StatusCode::NOT_FOUND, "Task not found");
    }
    assert_eq!(
        tag_counts(&alice).await,
        json!({"x": 1}),
        "the deleted subtask's tag is gone"
    );
    let sync = alice
        .get(&alice.tasks_path(&format!("/changes?since={cursor}")))
        .await
        .good(StatusCode::OK);
    let mut tombstones: Vec<i64> = serde_json::from_value(sync["deleted_ids"].clone()).unwrap();
    tombstones.sort_unstable();
    assert_eq!(tombstones, vec![parent2, child2, grandchild], "{sync}");
    let changed: Vec<i64> = sync["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    for id in [inbox_task, parent, child] {
        assert!(changed.contains(&id), "{id} in {sync}");
    }
}

async fn another_users_ids_are_absent_everywhere(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&alice, "Private").await);
    let task = create(
        &alice,
        json!({"title": "secret", "list_id": list, "tags": ["mine"]}),
    )
    .await;
    let task_id = id_of(&task);
    let bobs = id_of(&create(&bob, json!({"title": "bob's"})).await);

    let not_found = [
        bob.get(&lists_path(&bob, &format!("/{list}"))).await,
        bob.put(
            &lists_path(&bob, &format!("/{list}")),
            json!({"name": "mine now"}),
        )
        .await,
        bob.post(&lists_path(&bob, &format!("/{list}/move")), json!({}))
            .await,
        bob.delete(&lists_path(&bob, &format!("/{list}?tasks=delete")))
            .await,
        bob.post(&bob.tasks_path(""), json!({"title": "t", "list_id": list}))
            .await,
        bob.post(
            &bob.tasks_path(""),
            json!({"title": "t", "parent_id": task_id}),
        )
        .await,
        bob.get(&bob.tasks_path(&format!("?list_id={list}"))).await,
        bob.get(&bob.tasks_path(&format!("?parent_id={task_id}")))
            .await,
        bob.post(&bob.tasks_path(&format!("/{task_id}/move")), json!({}))
            .await,
        bob.post(
            &bob.tasks_path(&format!("/{bobs}/move")),
            json!({"after_id": task_id}),
        )
        .await,
        bob.post(
            &bob.tasks_path(&format!("/{bobs}/move")),
            json!({"list_id": list}),
        )
        .await,
        bob.post(
            &bob.tasks_path(&format!("/{bobs}/move")),
            json!({"parent_id": task_id}),
        )
        .await,
        bob.put(
            &bob.tasks_path(&format!("/{bobs}")),
            json!({"list_id": list}),
        )
        .await,
        bob.put(
            &bob.tasks_path(&format!("/{bobs}")),
            json!({"parent_id": task_id}),
        )
        .await,
        bob.put("/api/bob/tags/mine", json!({"name": "stolen"}))
            .await,
        bob.delete("/api/bob/tags/mine").await,
    ];
    for (i, response) in not_found.iter().enumerate() {
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "case {i}: {:?}",
            response.json()
        );
    }
    // Reading alice's path with bob's token is refused before any of it.
    assert_eq!(
        bob.get(&format!("/api/alice/lists/{list}")).await.status,
        StatusCode::FORBIDDEN
    );
    let refused = [
        format!("{{ list(id: \"{list}\") {{ id }} }}"),
        format!("mutation {{ updateList(id: \"{list}\", input: {{name: \"x\"}}) {{ id }} }}"),
        format!("mutation {{ moveList(id: \"{list}\") {{ id }} }}"),
        format!("mutation {{ deleteList(id: \"{list}\", tasks: DELETE) {{ listId }} }}"),
        format!("{{ tasks(listId: \"{list}\") {{ id }} }}"),
        format!("{{ tasks(parentId: \"{task_id}\") {{ id }} }}"),
        format!("mutation {{ createTask(input: {{title: \"t\", listId: \"{list}\"}}) {{ id }} }}"),
        format!(
            "mutation {{ createTask(input: {{title: \"t\", parentId: \"{task_id}\"}}) {{ id }} }}"
        ),
        format!("mutation {{ moveTask(id: \"{task_id}\") {{ id }} }}"),
        format!("mutation {{ moveTask(id: \"{bobs}\", afterId: \"{task_id}\") {{ id }} }}"),
        format!("mutation {{ moveTask(id: \"{bobs}\", listId: \"{list}\") {{ id }} }}"),
        "mutation { renameTag(from: \"mine\", to: \"stolen\") }".to_owned(),
        "mutation { deleteTag(name: \"mine\") }".to_owned(),
    ];
    for query in &refused {
        let answer = bob.graphql(query, json!({})).await;
        let absent = answer["data"]["list"].is_null()
            && answer["errors"].as_array().is_none_or(|e| e.is_empty());
        let code = &answer["errors"][0]["extensions"]["code"];
        assert!(
            code == "NOT_FOUND" || (query.starts_with("{ list(") && absent),
            "{query}: {answer}"
        );
    }
    // Bob's lists and tags show nothing of alice's; alice's data is as it was.
    assert_eq!(
        bob.get(&lists_path(&bob, "")).await.good(StatusCode::OK),
        json!([])
    );
    assert_eq!(tag_counts(&bob).await, json!({}));
    let after = alice
        .get(&alice.tasks_path(&format!("/{task_id}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(after, task, "alice's task is untouched");
    let lists = alice
        .get(&lists_path(&alice, ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (lists[0]["name"].clone(), lists[0]["version"].clone()),
        (json!("Private"), json!(1))
    );
}
