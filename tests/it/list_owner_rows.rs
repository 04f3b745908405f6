//! A list's owner and its members, as another program may write them (issue 40, item 3), on
//! both backends through the real server: the owner as a member of their own list, a task
//! whose owner is not its list's owner, and a list given an owner its tasks or members do not
//! fit are refused with the rule's name; an owner already among the members (from before the
//! rule, or written past it) no longer fails writes to the list, and each recipient's journal
//! counts each change once. Written past the rule: on PostgreSQL by a replica-mode session
//! (logical replication, `pg_restore --disable-triggers`), on SQLite by a program that drops
//! the refusing trigger.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bad_rows::{changed_ids, ids_of};
use crate::common::Backend;
use crate::common::other_writer::{Shared, write_as_other};
use crate::lists::{create_list, id_of};
use crate::sharing::{share, task_in};

backend_cases!(
    the_owner_as_a_member_is_refused,
    an_owner_already_a_member_does_not_fail_writes,
    a_task_in_another_owners_list_is_refused,
);

/// The API refuses adding a list's owner as its member; another program is refused too.
async fn the_owner_as_a_member_is_refused(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let alice = db.app.user("alice");
    let list = id_of(&create_list(&alice, "Shared").await);
    let refused = write_as_other(backend, &db.url, &owner_as_member(list)).await;
    let message = refused.expect_err("the owner as a member is refused");
    assert!(message.contains("list_members_not_owner"), "{message}");
    // A list's owner changed to one of its members, by SQL: refused too.
    share(&alice, list, "bob", "viewer").await;
    let sql = format!("UPDATE task_lists SET user_id = 'bob' WHERE id = {list}");
    let message = write_as_other(backend, &db.url, &sql)
        .await
        .expect_err("refused");
    assert!(message.contains("task_lists_owner_fits"), "{message}");
}

/// An owner among the members from before (or written past the rule): every write to the
/// list's tasks succeeds, and each recipient's journal counts each change once.
async fn an_owner_already_a_member_does_not_fail_writes(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let (alice, bob) = (db.app.user("alice"), db.app.user("bob"));
    let list = id_of(&create_list(&alice, "Shared").await);
    share(&alice, list, "bob", "editor").await;
    let insert = owner_as_member(list);
    db.other_writer(&match backend {
        Backend::Postgres => format!("SET session_replication_role = replica; {insert}"),
        Backend::Sqlite => format!("DROP TRIGGER list_members_not_owner_insert; {insert}"),
    })
    .await;
    let cursor = |v: &Value| -> i64 { v["cursor"].as_str().expect("cursor").parse().expect("n") };
    let start = [
        cursor(
            &alice
                .get(&alice.tasks_path("/changes"))
                .await
                .good(StatusCode::OK),
        ),
        cursor(
            &bob.get(&bob.tasks_path("/changes"))
                .await
                .good(StatusCode::OK),
        ),
    ];
    let task = id_of(&task_in(&alice, list, "milk").await);
    let path = |user: &str| format!("/api/{user}/tasks/{task}");
    alice
        .put(&path("alice"), json!({"title": "oat milk"}))
        .await
        .good(StatusCode::OK);
    bob.put(&path("bob"), json!({"title": "soy milk"}))
        .await
        .good(StatusCode::OK);
    alice
        .patch(&format!("{}/complete", path("alice")))
        .await
        .good(StatusCode::OK);
    let other = id_of(&task_in(&bob, list, "eggs").await);
    alice
        .delete(&format!("/api/alice/tasks/{other}"))
        .await
        .good(StatusCode::NO_CONTENT);
    // Six changes: each user's counter moved by six, one number each.
    for (user, from) in [(&alice, start[0]), (&bob, start[1])] {
        let since = user.tasks_path(&format!("/changes?since={from}"));
        let changes = user.get(&since).await.good(StatusCode::OK);
        assert_eq!(cursor(&changes) - from, 6, "{}: {changes}", user.user);
        assert_eq!(
            changed_ids(&changes),
            vec![task, other],
            "{}: {changes}",
            user.user
        );
    }
    let seen = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(ids_of(&seen), vec![task], "{seen}");
}

/// A task whose owner is not its list's owner: refused, by insert or by update, with the
/// rule's name; the API's own writes in a shared list still pass (the task is the owner's).
async fn a_task_in_another_owners_list_is_refused(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let (alice, bob) = (db.app.user("alice"), db.app.user("bob"));
    let list = id_of(&create_list(&alice, "Shared").await);
    share(&alice, list, "bob", "editor").await;
    let insert = format!(
        "INSERT INTO tasks (user_id, title, completed, created_at, updated_at, list_id)
         VALUES ('bob', 'sneaky', FALSE, '2026-11-24 10:00:00', '2026-11-24 10:00:00', {list})"
    );
    let message = write_as_other(backend, &db.url, &insert)
        .await
        .expect_err("refused");
    assert!(message.contains("tasks_list_owner"), "{message}");
    let own = id_of(&bob.create_task("bob's own").await);
    let update = format!("UPDATE tasks SET list_id = {list} WHERE id = {own}");
    let message = write_as_other(backend, &db.url, &update)
        .await
        .expect_err("refused");
    assert!(message.contains("tasks_list_owner"), "{message}");
    let made = task_in(&bob, list, "by the editor").await;
    assert_eq!(made["user_id"], "alice", "{made}");
}

/// Another program's insert of `alice`, the owner of `list`, as its member.
fn owner_as_member(list: i64) -> String {
    format!(
        "INSERT INTO list_members (list_id, user_id, role, added_at)
         VALUES ({list}, 'alice', 'editor', '2026-11-24 10:00:00')"
    )
}
