//! Events and sync of shared lists (issue 29): a change to a task in a shared list is in
//! every member's journal (REST `changes?since=`, GraphQL `taskChanges`), each member's
//! cursor gap-free, and in nobody else's; a member added gets the list and its tasks as
//! created, a member who leaves gets them as deleted. The same changes live (subscriptions
//! and SSE): `shared_live`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of};
use crate::sharing::{share, task_in};

backend_tests!(
    shared_changes_reach_every_members_sync_and_nobody_elses,
    alice_bob_carol_and_dave
);

pub(crate) async fn cursor(user: &UserClient<'_>) -> String {
    let all = user
        .get(&user.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    all["cursor"].as_str().unwrap().to_owned()
}

pub(crate) async fn since(user: &UserClient<'_>, cursor: &str) -> Value {
    user.get(&user.tasks_path(&format!("/changes?since={cursor}")))
        .await
        .good(StatusCode::OK)
}

fn titles(changes: &Value) -> Vec<String> {
    let mut titles: Vec<String> = changes["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

async fn shared_changes_reach_every_members_sync_and_nobody_elses(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let carol = app.user("carol");
    let dave = app.user("dave");
    let list = id_of(&create_list(&alice, "Groceries").await);
    let milk = task_in(&alice, list, "milk").await;
    let (bob_before, dave_before) = (cursor(&bob).await, cursor(&dave).await);
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    // Joining is the list and its tasks, created.
    let joined = since(&bob, &bob_before).await;
    assert_eq!(titles(&joined), ["milk"], "{joined}");
    assert_eq!(joined["changed_lists"][0]["id"], list, "{joined}");
    let (bob_at, carol_at) = (cursor(&bob).await, cursor(&carol).await);

    // Alice changes one, Bob adds one: both reach Carol (and Bob), nothing reaches Dave.
    alice
        .put(
            &alice.tasks_path(&format!("/{}", id_of(&milk))),
            json!({"title": "oat milk"}),
        )
        .await
        .good(StatusCode::OK);
    let eggs = task_in(&bob, list, "eggs").await;
    let seen = since(&carol, &carol_at).await;
    assert_eq!(titles(&seen), ["eggs", "oat milk"], "{seen}");
    let gql = carol
        .graphql_data(
            "query($s: String) { taskChanges(since: $s) { changed { title createdBy } } }",
            json!({"s": carol_at}),
        )
        .await;
    assert_eq!(
        gql["taskChanges"]["changed"].as_array().unwrap().len(),
        2,
        "{gql}"
    );
    assert_eq!(titles(&since(&bob, &bob_at).await), ["eggs", "oat milk"]);
    let nothing = since(&dave, &dave_before).await;
    assert_eq!(
        (nothing["changed"].clone(), nothing["deleted_ids"].clone()),
        (json!([]), json!([]))
    );
    // Each member's cursor moved on by exactly their changes: a sync from it is empty.
    let carol_now = seen["cursor"].as_str().unwrap().to_owned();
    assert_eq!(since(&carol, &carol_now).await["changed"], json!([]));

    // Bob deletes one: a tombstone for everyone on the list.
    bob.delete(&bob.tasks_path(&format!("/{}", id_of(&eggs))))
        .await
        .good(StatusCode::NO_CONTENT);
    let gone = since(&carol, &carol_now).await;
    assert_eq!(gone["deleted_ids"], json!([id_of(&eggs)]), "{gone}");

    // Bob leaves: the list's tasks and the list, deleted, in his sync.
    let bob_now = cursor(&bob).await;
    bob.delete(&format!("/api/bob/lists/{list}/members/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    let left = since(&bob, &bob_now).await;
    assert_eq!(left["deleted_ids"], json!([id_of(&milk)]), "{left}");
    assert_eq!(left["deleted_list_ids"], json!([list]), "{left}");
    // Alice's own journal is hers alone: the member changes are not in it twice.
    let all = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    assert_eq!(titles(&all), ["oat milk"]);
}

/// The "done when", on both backends: Alice shares a list with Bob (editor) and
/// Carol (viewer); their REST and GraphQL lists and syncs show its tasks and their changes;
/// Bob's create, update, complete and delete work and are seen by Alice and Carol; Carol's
/// writes are 403 / FORBIDDEN; Dave gets 404 for everything of it and nothing in his sync;
/// Bob leaves and his sync gets the deletions; an invite link makes Dave a member, and an
/// expired one does not.
async fn alice_bob_carol_and_dave(app: TestApp) {
    let (alice, bob, carol, dave) = (
        app.user("alice"),
        app.user("bob"),
        app.user("carol"),
        app.user("dave"),
    );
    let list = id_of(&create_list(&alice, "Launch").await);
    let first = task_in(&alice, list, "brief").await;
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    let at = |c: &str| c.to_owned();
    let (alice_at, carol_at, dave_at) = (
        at(&cursor(&alice).await),
        at(&cursor(&carol).await),
        at(&cursor(&dave).await),
    );

    // Bob writes: create, update, complete, delete.
    let made = task_in(&bob, list, "slides").await;
    let path = |u: &UserClient<'_>, t: &Value| u.tasks_path(&format!("/{}", id_of(t)));
    bob.put(&path(&bob, &first), json!({"title": "brief v2"}))
        .await
        .good(StatusCode::OK);
    bob.patch(&format!("{}/complete", path(&bob, &made)))
        .await
        .good(StatusCode::OK);
    let scratch = task_in(&bob, list, "scratch").await;
    bob.delete(&path(&bob, &scratch))
        .await
        .good(StatusCode::NO_CONTENT);
    // Alice and Carol see it, on both APIs and in their syncs.
    for user in [&alice, &carol] {
        let tasks = user
            .get(&user.tasks_path(&format!("?list_id={list}")))
            .await
            .good(StatusCode::OK);
        assert_eq!(titles(&json!({"changed": tasks})), ["brief v2", "slides"]);
        let gql = user
            .graphql_data("{ lists { tasks { title } } }", json!({}))
            .await;
        assert_eq!(
            gql["lists"][0]["tasks"].as_array().unwrap().len(),
            2,
            "{gql}"
        );
    }
    let seen = since(&carol, &carol_at).await;
    assert_eq!(titles(&seen), ["brief v2", "slides"], "{seen}");
    assert_eq!(seen["deleted_ids"], json!([id_of(&scratch)]));
    assert_eq!(
        titles(&since(&alice, &alice_at).await),
        ["brief v2", "slides"]
    );
    // Carol's writes: 403 / FORBIDDEN.
    assert_eq!(
        carol
            .put(&path(&carol, &first), json!({"title": "x"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let refused = carol
        .graphql(
            "mutation($id: ID!) { toggleTask(id: $id) { id } }",
            json!({"id": id_of(&first).to_string()}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    // Dave: 404 for everything of it, nothing in his sync.
    assert_eq!(
        dave.get(&path(&dave, &first)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        dave.put(&path(&dave, &first), json!({"title": "x"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        dave.get(&format!("/api/dave/lists/{list}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        dave.get(&format!("/api/dave/lists/{list}/members"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let quiet = since(&dave, &dave_at).await;
    assert_eq!(
        (quiet["changed"].clone(), quiet["deleted_ids"].clone()),
        (json!([]), json!([]))
    );
    // Bob leaves: his sync gets the deletions.
    let bob_at = cursor(&bob).await;
    bob.delete(&format!("/api/bob/lists/{list}/members/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    let left = since(&bob, &bob_at).await;
    let mut gone: Vec<i64> = left["deleted_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    gone.sort();
    assert_eq!(gone, [id_of(&first), id_of(&made)]);
    assert_eq!(left["deleted_list_ids"], json!([list]));
    // An invite link makes Dave a member; an expired one would not. Three seconds: the accept
    // right after it must come first on a loaded machine too.
    let link =
        crate::invites::invite(&alice, list, json!({"role": "viewer", "expires_in": "3s"})).await;
    let token = link["token"].as_str().unwrap();
    crate::invites::accept(&dave, token)
        .await
        .good(StatusCode::OK);
    assert_eq!(dave.get(&path(&dave, &first)).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        crate::invites::accept(&app.user("erin"), token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
