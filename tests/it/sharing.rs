//! Shared lists (issue 29) on both backends and through both APIs: members (the owner adds,
//! re-roles and removes them; a member leaves), each list's `role` and `owner_id`, and what a
//! member sees: the shared list and its tasks, everywhere reads go (REST list and filters,
//! one task, GraphQL `lists`, `tasks`, `List.tasks`), and nothing else of the owner's. A
//! stranger gets 404 for all of it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of, lists_path};

backend_tests!(
    members_through_rest,
    members_through_graphql,
    members_see_the_shared_list_and_its_tasks_only,
    sharing_is_the_owners,
    bad_member_requests_are_4xx
);

backend_cases!(the_member_cap_is_409);

pub(crate) fn members_path(user: &UserClient<'_>, list: i64, suffix: &str) -> String {
    lists_path(user, &format!("/{list}/members{suffix}"))
}

/// `owner` shares `list` with `member` in `role` through REST.
pub(crate) async fn share(owner: &UserClient<'_>, list: i64, member: &str, role: &str) -> Value {
    owner
        .post(
            &members_path(owner, list, ""),
            json!({"user_id": member, "role": role}),
        )
        .await
        .good(StatusCode::CREATED)
}

/// Creates a task in `list` as `user` through REST.
pub(crate) async fn task_in(user: &UserClient<'_>, list: i64, title: &str) -> Value {
    user.post(
        &user.tasks_path(""),
        json!({"title": title, "list_id": list}),
    )
    .await
    .good(StatusCode::CREATED)
}

/// The titles of a list of tasks, sorted.
pub(crate) fn titles(tasks: &Value) -> Vec<String> {
    let mut titles: Vec<String> = tasks
        .as_array()
        .expect("a list of tasks")
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

async fn members_through_rest(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&alice, "Groceries").await);
    let added = share(&alice, list, "bob", "editor").await;
    assert_eq!(added["user_id"], "bob");
    assert_eq!(added["role"], "editor");
    assert!(
        added["added_at"].as_str().unwrap().ends_with('Z'),
        "{added}"
    );
    share(&alice, list, "carol", "viewer").await;

    let members = alice
        .get(&members_path(&alice, list, ""))
        .await
        .good(StatusCode::OK);
    let members: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [("alice", "owner"), ("bob", "editor"), ("carol", "viewer")]
            .map(|(u, r)| (u.to_owned(), r.to_owned()))
    );
    // A member reads the same list of members.
    let seen = bob
        .get(&members_path(&bob, list, ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(seen.as_array().unwrap().len(), 3);

    // Adding again: 409 DUPLICATE_MEMBER; the owner themself too.
    for user in ["bob", "alice"] {
        let again = alice
            .post(
                &members_path(&alice, list, ""),
                json!({"user_id": user, "role": "viewer"}),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
        assert_eq!(again.json()["code"], "DUPLICATE_MEMBER");
    }

    // The owner changes a role.
    let changed = alice
        .put(
            &members_path(&alice, list, "/carol"),
            json!({"role": "editor"}),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(changed["role"], "editor");
    // No such member: 404.
    alice
        .put(
            &members_path(&alice, list, "/zed"),
            json!({"role": "editor"}),
        )
        .await
        .good(StatusCode::NOT_FOUND);

    // Bob sees the list with his role and its owner.
    let lists = bob.get(&lists_path(&bob, "")).await.good(StatusCode::OK);
    assert_eq!(lists.as_array().unwrap().len(), 1, "{lists}");
    assert_eq!(lists[0]["role"], "editor");
    assert_eq!(lists[0]["owner_id"], "alice");
    let one = bob
        .get(&lists_path(&bob, &format!("/{list}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(one["role"], "editor");
    let own = alice
        .get(&lists_path(&alice, &format!("/{list}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (own["role"].as_str(), own["owner_id"].as_str()),
        (Some("owner"), Some("alice"))
    );

    // Bob leaves; the owner removes carol; the list is gone for both.
    bob.delete(&members_path(&bob, list, "/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    alice
        .delete(&members_path(&alice, list, "/carol"))
        .await
        .good(StatusCode::NO_CONTENT);
    alice
        .delete(&members_path(&alice, list, "/carol"))
        .await
        .good(StatusCode::NOT_FOUND);
    let lists = bob.get(&lists_path(&bob, "")).await.good(StatusCode::OK);
    assert_eq!(lists, json!([]));
    bob.get(&lists_path(&bob, &format!("/{list}")))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    bob.get(&members_path(&bob, list, ""))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
}

async fn members_through_graphql(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&alice, "Launch").await).to_string();
    let added = alice
        .graphql_data(
            "mutation($l: ID!) { addListMember(listId: $l, userId: \"bob\", role: VIEWER) \
             { userId role addedAt } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(added["addListMember"]["role"], "VIEWER");
    let seen = bob
        .graphql_data(
            "{ lists { id ownerId role members { userId role } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["lists"][0]["id"], list.as_str());
    assert_eq!(seen["lists"][0]["ownerId"], "alice");
    assert_eq!(seen["lists"][0]["role"], "VIEWER");
    assert_eq!(
        seen["lists"][0]["members"],
        json!([{"userId": "alice", "role": "OWNER"}, {"userId": "bob", "role": "VIEWER"}])
    );
    let own = alice
        .graphql_data("{ lists { role ownerId } }", json!({}))
        .await;
    assert_eq!(own["lists"], json!([{"role": "OWNER", "ownerId": "alice"}]));

    let changed = alice
        .graphql_data(
            "mutation($l: ID!) { updateListMember(listId: $l, userId: \"bob\", role: EDITOR) \
             { role } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(changed["updateListMember"]["role"], "EDITOR");

    // Errors: a duplicate, a member sharing, OWNER as a role, a stranger.
    let again = alice
        .graphql(
            "mutation($l: ID!) { addListMember(listId: $l, userId: \"bob\", role: VIEWER) \
             { role } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "DUPLICATE_MEMBER",
        "{again}"
    );
    let by_member = bob
        .graphql(
            "mutation($l: ID!) { addListMember(listId: $l, userId: \"dave\", role: VIEWER) \
             { role } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(
        by_member["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{by_member}"
    );
    let owner_role = alice
        .graphql(
            "mutation($l: ID!) { addListMember(listId: $l, userId: \"dave\", role: OWNER) \
             { role } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(
        owner_role["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let stranger = app
        .user("dave")
        .graphql(
            "mutation($l: ID!) { removeListMember(listId: $l, userId: \"bob\") }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(stranger["errors"][0]["extensions"]["code"], "NOT_FOUND");

    let left = bob
        .graphql_data(
            "mutation($l: ID!) { removeListMember(listId: $l, userId: \"bob\") }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(left["removeListMember"], true);
    let seen = bob.graphql_data("{ lists { id } }", json!({})).await;
    assert_eq!(seen["lists"], json!([]));
}

async fn members_see_the_shared_list_and_its_tasks_only(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let dave = app.user("dave");
    let shared = id_of(&create_list(&alice, "Groceries").await);
    let private = id_of(&create_list(&alice, "Private").await);
    let milk = task_in(&alice, shared, "milk").await;
    task_in(&alice, shared, "eggs").await;
    task_in(&alice, private, "secret").await;
    alice.create_task("inbox secret").await;
    bob.create_task("bob's own").await;
    share(&alice, shared, "bob", "viewer").await;

    // REST: the list, its filter, one task.
    let all = bob.get(&bob.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(titles(&all), ["bob's own", "eggs", "milk"]);
    let filtered = bob
        .get(&bob.tasks_path(&format!("?list_id={shared}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(titles(&filtered), ["eggs", "milk"]);
    let searched = bob
        .get(&bob.tasks_path("?search=mil"))
        .await
        .good(StatusCode::OK);
    assert_eq!(titles(&searched), ["milk"]);
    let one = bob
        .get(&bob.tasks_path(&format!("/{}", id_of(&milk))))
        .await
        .good(StatusCode::OK);
    assert_eq!(one["user_id"], "alice", "the task keeps its owner");
    bob.get(&bob.tasks_path(&format!("?list_id={private}")))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");

    // GraphQL: tasks, lists and a list's tasks.
    let data = bob
        .graphql_data(
            "{ tasks { title } lists { name tasks { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(titles(&data["tasks"]), ["bob's own", "eggs", "milk"]);
    assert_eq!(data["lists"][0]["name"], "Groceries");
    assert_eq!(titles(&data["lists"][0]["tasks"]), ["eggs", "milk"]);

    // The owner still sees everything of theirs; a stranger nothing of it.
    let own = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(own.as_array().unwrap().len(), 4);
    dave.get(&dave.tasks_path(&format!("/{}", id_of(&milk))))
        .await
        .detail(StatusCode::NOT_FOUND, "Task not found");
    dave.get(&lists_path(&dave, &format!("/{shared}")))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    dave.get(&members_path(&dave, shared, ""))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    let nothing = dave.get(&dave.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(nothing, json!([]));
}

async fn sharing_is_the_owners(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&alice, "Team").await);
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    // A member may not share, re-role or remove others: 403.
    let refused = bob
        .post(
            &members_path(&bob, list, ""),
            json!({"user_id": "dave", "role": "viewer"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.json()["code"], "FORBIDDEN");
    let refused = bob
        .put(
            &members_path(&bob, list, "/carol"),
            json!({"role": "editor"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = bob.delete(&members_path(&bob, list, "/carol")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nor rename, move or delete the list: it is not theirs to change (404, as before).
    let renamed = bob
        .put(
            &lists_path(&bob, &format!("/{list}")),
            json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::NOT_FOUND, "{}", renamed.text);
    let deleted = bob
        .delete(&lists_path(&bob, &format!("/{list}?tasks=delete")))
        .await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    // The owner cannot leave their own list.
    let leave = alice.delete(&members_path(&alice, list, "/alice")).await;
    assert_eq!(
        leave.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        leave.text
    );
    // Another user's path: 403, as for tasks.
    let other = bob.get(&members_path(&alice, list, "")).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // Deleting the list takes its members with it.
    alice
        .delete(&lists_path(&alice, &format!("/{list}?tasks=delete")))
        .await
        .good(StatusCode::OK);
    let lists = bob.get(&lists_path(&bob, "")).await.good(StatusCode::OK);
    assert_eq!(lists, json!([]));
}

async fn bad_member_requests_are_4xx(app: TestApp) {
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Team").await);
    let path = members_path(&alice, list, "");
    for (body, field, kind) in [
        (json!({"role": "viewer"}), "user_id", "missing"),
        (json!({"user_id": "bob"}), "role", "missing"),
        (json!({"user_id": "bob", "role": "owner"}), "role", "enum"),
        (json!({"user_id": "bob", "role": "admin"}), "role", "enum"),
        (
            json!({"user_id": 7, "role": "viewer"}),
            "user_id",
            "string_type",
        ),
        (
            json!({"user_id": "", "role": "viewer"}),
            "user_id",
            "string_too_short",
        ),
        (
            json!({"user_id": "x".repeat(256), "role": "viewer"}),
            "user_id",
            "string_too_long",
        ),
    ] {
        let refused = alice.post(&path, body.clone()).await;
        let detail = refused.validation();
        crate::common::assert_error_at(&detail, json!(["body", field]), kind);
    }
    let not_json = app
        .raw(
            reqwest::Method::POST,
            &path,
            &[
                ("authorization", &format!("Bearer {}", app.token("alice"))),
                ("content-type", "application/json"),
            ],
            Some(b"{".to_vec()),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_id = alice.get(&lists_path(&alice, "/abc/members")).await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_list = alice.get(&lists_path(&alice, "/999999/members")).await;
    assert_eq!(no_list.status, StatusCode::NOT_FOUND);
}

async fn the_member_cap_is_409(backend: crate::common::Backend) {
    let app = start_app!(backend, "--max-members-per-list" => "2");
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Team").await);
    share(&alice, list, "bob", "viewer").await;
    share(&alice, list, "carol", "viewer").await;
    let full = alice
        .post(
            &members_path(&alice, list, ""),
            json!({"user_id": "dave", "role": "viewer"}),
        )
        .await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{}", full.text);
    assert_eq!(full.json()["code"], "LIMIT_EXCEEDED");
}
