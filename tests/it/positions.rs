//! Positions stay short (issue 21), on both backends: 1,000 moves between the same two
//! neighbours, and 1,000 moves each into the middle of the last gap, keep the order and
//! positions of at most 48 characters; the renumbering that keeps them short is seen by an
//! SSE subscriber and by sync; a create after a long key renumbers its group first. Each
//! runs without the rate limit (hundreds of requests). Also moves to a list written in SQL,
//! so the list rules run before the lists API is merged.

use std::collections::BTreeSet;

use futures::future::join_all;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::direct::Direct;
use crate::common::live::SseReader;
use crate::common::{Backend, UserClient};
use crate::moves::{four, id, move_task, order};

backend_cases!(
    thousand_moves_between_the_same_two_neighbours_stay_short,
    renumbering_is_seen_by_an_sse_subscriber,
    a_create_after_a_long_key_renumbers_its_group,
    concurrent_moves_and_creates_keep_positions_distinct,
    a_new_list_takes_the_subtree_along_with_a_list_written_in_sql,
);

/// Moves `movers` (three tasks) in turn, `moves` times, each between the two moved before it
/// (which are neighbours): the gap halves on alternate sides every time, the worst case for
/// fractional keys. Checks the order against a model as it goes; returns the longest
/// position seen. The moves go [`BATCH`] to a GraphQL document (`moveTask` under aliases, run
/// one after another, each its own write as a REST move is): the same service, a fraction of
/// the requests.
async fn bisect(user: &UserClient<'_>, movers: [i64; 3], moves: usize) -> usize {
    let mut model = order(user).await;
    let mut longest = 0;
    let mut k = 0;
    while k < moves {
        let mut document = String::from("mutation {");
        let batch = BATCH.min(moves - k);
        for j in 0..batch {
            let step = k + j;
            let mover = movers[step % 3];
            let (prev1, prev2) = (movers[(step + 2) % 3], movers[(step + 1) % 3]);
            let at = |id: i64, model: &[i64]| model.iter().position(|t| *t == id).unwrap();
            model.remove(at(mover, &model));
            let upper = at(prev1, &model).min(at(prev2, &model));
            let after = model[upper];
            model.insert(upper + 1, mover);
            document.push_str(&format!(
                " m{j}: moveTask(id: \"{mover}\", afterId: \"{after}\") {{ position }}"
            ));
        }
        document.push_str(" }");
        let data = user.graphql_data(&document, json!({})).await;
        for j in 0..batch {
            let position = data[format!("m{j}")]["position"]
                .as_str()
                .expect("a position");
            longest = longest.max(position.len());
        }
        k += batch;
        if k % 50 == 0 || k == moves {
            assert_eq!(order(user).await, model, "after move {k}");
            let list = user.get(&user.tasks_path("")).await.good(StatusCode::OK);
            for task in list.as_array().unwrap() {
                longest = longest.max(task["position"].as_str().unwrap().len());
            }
        }
    }
    longest
}

/// Moves per GraphQL document in [`bisect`] (GRAPHQL_MAX_ALIASES is 30).
const BATCH: usize = 25;

/// A hundred and fifty moves just below one task stay short, then eight hundred halvings of one
/// gap stay within the renumbering bound. Slow on purpose (950 moves, each its own write; the
/// halvings 25 to a GraphQL document): halving one gap adds a character about every fourteen
/// moves, so the group first reaches the 48-character renumbering only after several hundred
/// halvings (about 700: the keys are deterministic, so is that move); fewer would never reach
/// the bound being checked. The first part needs no such length: a key that grew by a character
/// a move would pass 100 by move 100, so 150 moves show it as well as the thousand it took
/// before.
async fn thousand_moves_between_the_same_two_neighbours_stay_short(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0");
    let alice = app.user("alice");
    let [a, x, y, b] = four(&alice).await;
    let mut longest = 0;
    for i in 0..150 {
        // Always just below `a`, above the task moved there before it.
        let (mover, other) = if i % 2 == 0 { (x, y) } else { (y, x) };
        let moved = move_task(&alice, mover, json!({"after_id": a}))
            .await
            .good(StatusCode::OK);
        longest = longest.max(moved["position"].as_str().unwrap().len());
        if i % 49 == 0 || i == 149 {
            assert_eq!(
                order(&alice).await,
                vec![a, mover, other, b],
                "after move {i}"
            );
        }
    }
    eprintln!("longest position, 150 moves just below one task: {longest} characters");
    assert!(longest < 100, "positions stay short: {longest}");

    // The worst case: 800 moves each into the middle of the last gap.
    let z = id(&alice.create_task("z").await);
    let worst = bisect(&alice, [x, y, z], 800).await;
    eprintln!("longest position, 800 moves halving one gap: {worst} characters");
    assert!(
        worst <= 52,
        "as the design says (48 + one move's key): {worst}"
    );
    // The neighbours were renumbered on the way (each time: version + 1).
    let first = alice
        .get(&alice.tasks_path(&format!("/{b}")))
        .await
        .good(StatusCode::OK);
    assert!(first["version"].as_i64().unwrap() > 1, "{first}");
}

async fn renumbering_is_seen_by_an_sse_subscriber(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0");
    let alice = app.user("alice");
    let [a, x, y, z] = four(&alice).await;
    let mut sse = SseReader::open(&app, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(sse.response.status(), StatusCode::OK);
    // No pause needed: a 200 event stream's head is sent once its subscription is registered
    // (and a started server already LISTENs), so nothing written from here on can be missed.
    // Halving one gap renumbers the group within a few dozen moves.
    bisect(&alice, [x, y, z], 60).await;
    let renumbered = alice
        .get(&alice.tasks_path(&format!("/{a}")))
        .await
        .good(StatusCode::OK);
    assert!(renumbered["version"].as_i64().unwrap() > 1, "{renumbered}");
    // Every move's event comes, and the renumberings': `a` at its positions, in order.
    let mut last = None;
    while last.as_ref() != Some(&renumbered["version"]) {
        let (_, event) = sse.next_event().await;
        assert_ne!(event["kind"], "DELETED", "{event}");
        if event["id"] == a {
            assert_eq!(event["kind"], "UPDATED", "{event}");
            last = Some(event["task"]["version"].clone());
            if event["task"]["version"] == renumbered["version"] {
                assert_eq!(event["task"]["position"], renumbered["position"]);
            }
        }
    }
    let sync = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    let synced = sync["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| id(t) == a)
        .cloned();
    assert_eq!(synced.unwrap()["position"], renumbered["position"]);
}

/// Appending lengthens keys (about one byte per 127 creates); a create whose key would pass
/// the limit renumbers its group first. The long key is written directly here, as thousands
/// of creates would leave it.
async fn a_create_after_a_long_key_renumbers_its_group(backend: Backend) {
    let Some(direct) = Direct::start(backend).await else {
        return;
    };
    let app = &direct.app;
    let alice = app.user("alice");
    let first = id(&alice.create_task("first").await);
    let last = id(&alice.create_task("last").await);
    let long = format!("{}80", "ff".repeat(24));
    let write = format!("UPDATE tasks SET position = '{long}' WHERE id = {last}");
    direct.exec(&write).await;
    let mut sse = SseReader::open(app, "alice", "/api/alice/tasks/events", &[]).await;
    // No pause needed: a 200 event stream's head is sent once its subscription is registered
    // (and a started server already LISTENs), so nothing written from here on can be missed.
    let new = alice.create_task("new").await;
    assert!(new["position"].as_str().unwrap().len() <= 16, "{new}");
    assert_eq!(order(&alice).await, vec![first, last, id(&new)]);
    let list = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    for task in list.as_array().unwrap() {
        assert!(task["position"].as_str().unwrap().len() <= 16, "{task}");
    }
    let renumbered = alice
        .get(&alice.tasks_path(&format!("/{last}")))
        .await
        .good(StatusCode::OK);
    // Version 2 by the plain UPDATE above (the database bumps it for every writer), 3 by the
    // renumbering.
    assert_eq!(renumbered["version"], 3, "{renumbered}");
    // The renumbering's events come before the create's. (The plain UPDATE's own event may
    // reach the stream late on a loaded machine: the renumbering's is the one with version 3.)
    let mut before_create = Vec::new();
    loop {
        let (_, event) = sse.next_event().await;
        let kind = event["kind"].as_str().unwrap().to_owned();
        if kind == "CREATED" {
            assert_eq!(event["id"], new["id"], "{event}");
            break;
        }
        before_create.push((kind, event["id"].clone(), event["task"]["version"].clone()));
    }
    assert!(
        before_create.contains(&("UPDATED".to_owned(), json!(last), json!(3))),
        "{before_create:?}"
    );
}

/// Moves into one gap and creates at the end, all at once: each reads its neighbours under the
/// owner's placement lock, so no two tasks get the same position and none is lost.
async fn concurrent_moves_and_creates_keep_positions_distinct(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0");
    let alice = app.user("alice");
    let mut made = Vec::new();
    for i in 0..12 {
        made.push(id(&alice.create_task(&format!("t{i}")).await));
    }
    let first = made[0];
    let moves = made[1..].iter().map(|task| {
        let alice = app.user("alice");
        async move {
            move_task(&alice, *task, json!({"after_id": first}))
                .await
                .good(StatusCode::OK)
        }
    });
    let creates = (0..6).map(|i| {
        let alice = app.user("alice");
        async move { alice.create_task(&format!("new {i}")).await }
    });
    let (_, _) = tokio::join!(join_all(moves), join_all(creates));
    let list = alice
        .get(&alice.tasks_path("?sort=position"))
        .await
        .good(StatusCode::OK);
    let positions: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["position"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(positions.len(), 18);
    let distinct: BTreeSet<&String> = positions.iter().collect();
    assert_eq!(distinct.len(), 18, "{positions:?}");
    assert_eq!(order(&alice).await[0], first);
}

/// Moves to a list written in SQL (not through the lists API: a row another writer made).
/// The task's subtree follows it (each subtask's version + 1, its place kept); a subtask
/// alone cannot leave its parent's list; another user's list is 404.
async fn a_new_list_takes_the_subtree_along_with_a_list_written_in_sql(backend: Backend) {
    let Some(direct) = Direct::start(backend).await else {
        return;
    };
    let app = &direct.app;
    let alice = app.user("alice");
    direct
        .exec(
            "INSERT INTO task_lists (user_id, name, name_key, position, created_at, updated_at) \
             VALUES ('alice', 'Work', 'work', '80', '2026-11-24 00:00:00', '2026-11-24 00:00:00'), \
                    ('bob', 'Bob', 'bob', '80', '2026-11-24 00:00:00', '2026-11-24 00:00:00')",
        )
        .await;
    let (list, bobs) = (1, 2);
    let parent = id(&alice.create_task("parent").await);
    let create = |title: &'static str, parent: i64| {
        let alice = app.user("alice");
        async move {
            let body = json!({"title": title, "parent_id": parent});
            id(&alice
                .post(&alice.tasks_path(""), body)
                .await
                .good(StatusCode::CREATED))
        }
    };
    let child = create("child", parent).await;
    let second = create("second", parent).await;
    let grandchild = create("grandchild", child).await;
    let other = id(&alice.create_task("other").await);

    let moved = move_task(&alice, parent, json!({"list_id": list}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (moved["list_id"].clone(), moved["version"].clone()),
        (json!(list), json!(2))
    );
    for task in [child, second, grandchild] {
        let now = alice
            .get(&alice.tasks_path(&format!("/{task}")))
            .await
            .good(StatusCode::OK);
        assert_eq!(
            (now["list_id"].clone(), now["version"].clone()),
            (json!(list), json!(2))
        );
    }
    let under = alice
        .get(&alice.tasks_path(&format!("?parent_id={parent}&sort=position")))
        .await
        .good(StatusCode::OK);
    let under: Vec<i64> = under.as_array().unwrap().iter().map(id).collect();
    assert_eq!(under, vec![child, second], "places kept");

    // A subtask alone cannot change list while it keeps its parent.
    let refused = move_task(&alice, child, json!({"list_id": null})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    // A neighbour in the inbox is not a sibling in the list.
    let refused = move_task(&alice, parent, json!({"after_id": other})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let refused = move_task(&alice, other, json!({"list_id": bobs})).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    let missing = move_task(&alice, other, json!({"list_id": 999})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    // Into the list next to `parent`, then back to the inbox by PUT, subtree and all.
    move_task(&alice, other, json!({"list_id": list, "before_id": parent}))
        .await
        .good(StatusCode::OK);
    let back = alice
        .put(
            &alice.tasks_path(&format!("/{parent}")),
            json!({"list_id": null}),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(back["list_id"], serde_json::Value::Null);
    let gc = alice
        .get(&alice.tasks_path(&format!("/{grandchild}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (gc["list_id"].clone(), gc["version"].clone()),
        (serde_json::Value::Null, json!(3))
    );
}
