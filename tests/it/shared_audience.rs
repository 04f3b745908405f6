//! A shared list's audience, as issue 60 states it for the journal's next shape (held here
//! before the journal changes, so that the change keeps it): a member added after a thousand
//! changes of the list gets its current tasks, and then every later change once, in sync and
//! live; a member removed gets tombstones and nothing after, whoever writes; and two instances
//! and another program writing at once keep each member's order. Cursors and event ids are
//! used as the opaque texts the APIs promise, never read as numbers.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::live::SseReader;
use crate::common::other_writer::{Shared, TwoInstances, numbers, run_sql, timestamp};
use crate::common::{Backend, TestApp, UserClient};
use crate::lists::{create_list, id_of};
use crate::shared_events::{cursor, since};
use crate::sharing::{share, task_in};

backend_cases!(
    a_member_added_after_a_thousand_changes_gets_the_list_then_each_change_once,
    a_member_removed_gets_tombstones_and_nothing_after,
);

/// The ids in a change set's array (`changed`, `deleted_ids`, …), each a task or a bare id.
fn ids(values: &Value) -> Vec<i64> {
    values
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| {
            if v.is_object() {
                id_of(v)
            } else {
                v.as_i64().expect("an id")
            }
        })
        .collect()
}

/// The list's tasks as its owner reads them: id -> title.
async fn tasks_of(owner: &UserClient<'_>, list: i64) -> HashMap<i64, String> {
    let page = owner
        .get(&owner.tasks_path(&format!("?list_id={list}&limit=200")))
        .await
        .good(StatusCode::OK);
    page.as_array()
        .expect("tasks")
        .iter()
        .map(|t| (id_of(t), t["title"].as_str().expect("a title").to_owned()))
        .collect()
}

/// `user`'s SSE stream resuming after `after`, once it hears the user's own writes (a
/// subscription is not acknowledged: the user writes a task of their own until the stream has
/// it, then the stream is read past it).
async fn stream_from(app: &TestApp, user: &UserClient<'_>, after: &str) -> SseReader {
    let path = user.tasks_path("/events");
    let mut sse = SseReader::open(app, &user.user, &path, &[("last-event-id", after)]).await;
    let probe = id_of(&user.create_task("probe").await);
    loop {
        let (_, data) = sse.next_event().await;
        if data["id"] == probe {
            break;
        }
    }
    sse
}

/// The next event: (kind, task or list id, title when it carries a task).
async fn next(sse: &mut SseReader) -> (String, i64, Option<String>) {
    next_with_id(sse).await.1
}

/// [`next`] with the event's id (the cursor to resume after it).
async fn next_with_id(sse: &mut SseReader) -> (String, (String, i64, Option<String>)) {
    let (id, data) = sse.next_event().await;
    let id = id.unwrap_or_else(|| panic!("every event carries an id to resume from: {data}"));
    let kind = data["kind"].as_str().expect("a kind").to_owned();
    let which = match kind.starts_with("LIST_") {
        true => &data["list_id"],
        false => &data["id"],
    };
    let title = data["task"]["title"].as_str().map(str::to_owned);
    (id, (kind, which.as_i64().expect("an id"), title))
}

async fn quiet(sse: &mut SseReader) -> bool {
    tokio::time::timeout(Duration::from_millis(400), sse.next_event())
        .await
        .is_err()
}

/// One later change must reach the member once: in sync since `at` exactly this change, and
/// on the live stream exactly this event. Returns the cursor after it.
async fn once(
    member: &UserClient<'_>,
    sse: &mut SseReader,
    at: &str,
    expected: (&str, i64, Option<&str>),
) -> String {
    let (kind, id, title) = expected;
    let seen = since(member, at).await;
    let (changed, gone) = (ids(&seen["changed"]), ids(&seen["deleted_ids"]));
    match kind {
        "DELETED" => assert_eq!((changed, gone), (vec![], vec![id]), "{seen}"),
        _ => {
            assert_eq!((changed, gone), (vec![id], vec![]), "{seen}");
            assert_eq!(seen["changed"][0]["title"].as_str(), title, "{seen}");
        }
    }
    assert_eq!(
        next(sse).await,
        (kind.to_owned(), id, title.map(str::to_owned))
    );
    seen["cursor"].as_str().expect("a cursor").to_owned()
}

/// Alice's list has had a thousand changes (another program's, in five statements: 400
/// tasks created, 300 renamed, 100 completed, 100 deleted, 100 moved out of it) when Bob
/// joins: his sync from before the join has the list and its 200 tasks as they are, each
/// once, none of the deleted or moved ones; his full sync the same; then each of six later
/// changes (created, renamed by him, completed, moved out, deleted; Alice's private task) is
/// in his sync and on his live stream once, and the private one nowhere.
async fn a_member_added_after_a_thousand_changes_gets_the_list_then_each_change_once(
    backend: Backend,
) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let (alice, bob) = (db.app.user("alice"), db.app.user("bob"));
    let list = id_of(&create_list(&alice, "Team").await);
    let bob_before = cursor(&bob).await;
    // The bulk's ids follow this one (one sequence, one statement).
    let first = id_of(&alice.create_task("alice's own").await) + 1;
    let (n, at) = (numbers(backend, 400), timestamp(backend));
    // Positions in the server's own key format, after the one it gave Alice's own task.
    let key = match backend {
        Backend::Postgres => "lpad(to_hex(n.i), 6, '0') || '000080'",
        Backend::Sqlite => "printf('%06x000080', n.i)",
    };
    let bulk = |i: &str| format!("'bulk ' || {i}");
    db.other_writer(&format!(
        "INSERT INTO tasks (user_id, title, completed, created_at, updated_at, list_id, position)
         SELECT 'alice', {}, FALSE, {at}, {at}, {list}, {key} FROM {n}",
        bulk("n.i")
    ))
    .await;
    let nth = |k: i64| first + k - 1;
    db.other_writer(&format!(
        "UPDATE tasks SET title = 'renamed ' || id WHERE id BETWEEN {} AND {};
         UPDATE tasks SET completed = TRUE WHERE id BETWEEN {} AND {};
         DELETE FROM tasks WHERE id BETWEEN {} AND {};
         UPDATE tasks SET list_id = NULL WHERE id BETWEEN {} AND {};",
        nth(1),
        nth(300),
        nth(301),
        nth(400),
        nth(101),
        nth(200),
        nth(201),
        nth(300),
    ))
    .await;
    let current = tasks_of(&alice, list).await;
    assert_eq!(
        current.len(),
        200,
        "400 created, 100 deleted, 100 moved out"
    );

    share(&alice, list, "bob", "editor").await;
    let joined = since(&bob, &bob_before).await;
    let changed = ids(&joined["changed"]);
    let distinct: BTreeSet<i64> = changed.iter().copied().collect();
    assert_eq!(distinct.len(), changed.len(), "each task once: {joined}");
    assert_eq!(distinct, current.keys().copied().collect(), "{joined}");
    for task in joined["changed"].as_array().expect("changed") {
        assert_eq!(task["title"].as_str(), Some(current[&id_of(task)].as_str()));
    }
    assert_eq!(ids(&joined["deleted_ids"]), Vec::<i64>::new(), "{joined}");
    assert_eq!(ids(&joined["changed_lists"]), [list], "{joined}");
    let everything = bob
        .get(&bob.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    let all: BTreeSet<i64> = ids(&everything["changed"]).into_iter().collect();
    assert_eq!(all, distinct);

    // Bob's live stream resumes from the join's cursor: it hears his probe, and from then on
    // each later change once.
    let mut sse = stream_from(&db.app, &bob, joined["cursor"].as_str().unwrap()).await;
    let mut at = cursor(&bob).await;
    let later = id_of(&task_in(&alice, list, "later").await);
    at = once(&bob, &mut sse, &at, ("CREATED", later, Some("later"))).await;
    let (one, two, three) = (nth(1), nth(2), nth(3));
    bob.put(
        &bob.tasks_path(&format!("/{one}")),
        json!({"title": "bob's"}),
    )
    .await
    .good(StatusCode::OK);
    at = once(&bob, &mut sse, &at, ("UPDATED", one, Some("bob's"))).await;
    alice
        .patch(&alice.tasks_path(&format!("/{two}/complete")))
        .await
        .good(StatusCode::OK);
    let title = current[&two].as_str();
    at = once(&bob, &mut sse, &at, ("UPDATED", two, Some(title))).await;
    alice
        .put(
            &alice.tasks_path(&format!("/{three}")),
            json!({"list_id": null}),
        )
        .await
        .good(StatusCode::OK);
    at = once(&bob, &mut sse, &at, ("DELETED", three, None)).await;
    alice
        .delete(&alice.tasks_path(&format!("/{later}")))
        .await
        .good(StatusCode::NO_CONTENT);
    at = once(&bob, &mut sse, &at, ("DELETED", later, None)).await;
    alice.create_task("alice's other").await;
    let nothing = since(&bob, &at).await;
    assert_eq!(
        (ids(&nothing["changed"]), ids(&nothing["deleted_ids"])),
        (vec![], vec![]),
        "{nothing}"
    );
    assert!(quiet(&mut sse).await, "nothing more, and nothing twice");
}

/// Alice removes Bob from her list of three tasks: his sync has the three as tombstones and
/// the list as deleted, and so does his live stream; after that, nothing of the list reaches
/// him, whether Alice writes through the API (created, renamed, completed, deleted) or
/// another program writes its tasks, and his reads of them are 404.
async fn a_member_removed_gets_tombstones_and_nothing_after(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let (alice, bob) = (db.app.user("alice"), db.app.user("bob"));
    let list = id_of(&create_list(&alice, "Launch").await);
    let mut tasks = Vec::new();
    for title in ["brief", "slides", "demo"] {
        tasks.push(id_of(&task_in(&alice, list, title).await));
    }
    share(&alice, list, "bob", "editor").await;
    let member_at = cursor(&bob).await;
    let mut sse = stream_from(&db.app, &bob, &member_at).await;
    let at = cursor(&bob).await;

    alice
        .delete(&format!("/api/alice/lists/{list}/members/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    let left = since(&bob, &at).await;
    let mut gone = ids(&left["deleted_ids"]);
    gone.sort();
    assert_eq!(gone, tasks, "{left}");
    assert_eq!(ids(&left["changed"]), Vec::<i64>::new(), "{left}");
    assert_eq!(ids(&left["deleted_list_ids"]), [list], "{left}");
    let mut heard = Vec::new();
    for _ in 0..4 {
        heard.push(next(&mut sse).await);
    }
    let mut heard_tasks: Vec<i64> = heard
        .iter()
        .filter(|(kind, ..)| kind == "DELETED")
        .map(|(_, id, _)| *id)
        .collect();
    heard_tasks.sort();
    assert_eq!(heard_tasks, tasks, "{heard:?}");
    assert_eq!(
        heard[3],
        ("LIST_DELETED".to_owned(), list, None),
        "{heard:?}"
    );
    let after = left["cursor"].as_str().expect("a cursor").to_owned();

    let later = id_of(&task_in(&alice, list, "later").await);
    alice
        .put(
            &alice.tasks_path(&format!("/{}", tasks[0])),
            json!({"title": "new brief"}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .patch(&alice.tasks_path(&format!("/{}/complete", tasks[1])))
        .await
        .good(StatusCode::OK);
    alice
        .delete(&alice.tasks_path(&format!("/{}", tasks[2])))
        .await
        .good(StatusCode::NO_CONTENT);
    db.other_writer(&format!(
        "UPDATE tasks SET title = 'renamed elsewhere' WHERE id = {later};
         INSERT INTO tasks (user_id, title, completed, created_at, updated_at, list_id, position)
         VALUES ('alice', 'imported', FALSE, {at}, {at}, {list}, 'z0');",
        at = timestamp(backend)
    ))
    .await;
    let nothing = since(&bob, &after).await;
    assert_eq!(
        (ids(&nothing["changed"]), ids(&nothing["deleted_ids"])),
        (vec![], vec![]),
        "{nothing}"
    );
    assert_eq!(
        ids(&nothing["changed_lists"]),
        Vec::<i64>::new(),
        "{nothing}"
    );
    assert!(
        quiet(&mut sse).await,
        "nothing of the list after the removal"
    );
    for id in [later, tasks[0]] {
        bob.get(&bob.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::NOT_FOUND);
    }
}

/// Alice's list shared with Bob; Bob listens on instance A and Alice on instance B while, at
/// once, Alice renames one task twenty times through B, Bob another through A, and another
/// program a third: each listener hears each event once and each task's renames in the order
/// they were made (one after another, so that is their commit order), up to the last, and
/// nothing more; each one's sync from before ends at the last titles.
const ROUNDS: usize = 20;

/// `who`'s [`ROUNDS`] renames of task `id`, one after another: `who 1`, `who 2`, …
async fn rename(user: &UserClient<'_>, id: i64, who: &str) {
    for k in 1..=ROUNDS {
        let title = format!("{who} {k}");
        user.put(&user.tasks_path(&format!("/{id}")), json!({"title": title}))
            .await
            .good(StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_and_another_program_keep_each_members_order() {
    let Some(both) = TwoInstances::start().await else {
        return;
    };
    let (a, b) = (&both.a, &both.b);
    let (alice, bob) = (b.user("alice"), a.user("bob"));
    let list = id_of(&create_list(&alice, "Ops").await);
    let mut tasks = Vec::new();
    for who in ["alice", "bob", "other"] {
        tasks.push(id_of(&task_in(&alice, list, &format!("{who} 0")).await));
    }
    share(&alice, list, "bob", "editor").await;
    let (alice_at, bob_at) = (cursor(&alice).await, cursor(&bob).await);
    let mut bob_live = stream_from(a, &bob, &bob_at).await;
    let mut alice_live = stream_from(b, &alice, &alice_at).await;

    let other = tasks[2];
    let program = async {
        for k in 1..=ROUNDS {
            let sql = format!("UPDATE tasks SET title = 'other {k}' WHERE id = {other}");
            run_sql(Backend::Postgres, &both.db.url, &sql).await;
        }
    };
    tokio::join!(
        rename(&alice, tasks[0], "alice"),
        rename(&bob, tasks[1], "bob"),
        program,
    );

    for (name, live) in [("bob", &mut bob_live), ("alice", &mut alice_live)] {
        // Each event once (no id twice), and each task's state never older than one heard
        // before: an event carries its row's current state, so a change whose row was read
        // after the next rename committed shows that rename, and the next one again.
        let (mut last, mut ids) = (HashMap::new(), BTreeSet::new());
        while last.values().filter(|&&k| k == ROUNDS).count() < 3 {
            let (id, (kind, task, title)) = next_with_id(live).await;
            assert!(ids.insert(id.clone()), "{name}: event {id} twice");
            assert_eq!(kind, "UPDATED", "{name}: {task} {title:?}");
            let title = title.expect("a title");
            let (who, k) = title.split_once(' ').expect("who and round");
            let k: usize = k.parse().expect("a round");
            let before = last.insert(who.to_owned(), k).unwrap_or(0);
            assert!(k >= before, "{name}: {who} {k} heard after {before}");
        }
        assert!(quiet(live).await, "{name}: nothing more");
    }
    for (user, at) in [(&alice, &alice_at), (&bob, &bob_at)] {
        let seen = since(user, at).await;
        let mut titles: Vec<&str> = seen["changed"]
            .as_array()
            .expect("changed")
            .iter()
            .filter_map(|t| t["title"].as_str())
            .filter(|t| !t.starts_with("probe"))
            .collect();
        titles.sort();
        assert_eq!(titles, ["alice 20", "bob 20", "other 20"], "{seen}");
    }
}
