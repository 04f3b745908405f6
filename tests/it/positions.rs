//! Positions stay short (issue 21), on both backends: 1,000 moves between the same two
//! neighbours, and 1,000 moves each into the middle of the last gap, keep the order and
//! positions of at most 48 characters; the renumbering that keeps them short is seen by an
//! SSE subscriber and by sync; a create after a long key renumbers its group first. Each
//! runs without the rate limit (hundreds of requests).

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::live::SseReader;
use crate::common::{Backend, TestApp, UserClient};
use crate::moves::{four, id, move_task, order};

backend_cases!(
    thousand_moves_between_the_same_two_neighbours_stay_short,
    renumbering_is_seen_by_an_sse_subscriber,
    a_create_after_a_long_key_renumbers_its_group,
    concurrent_moves_and_creates_keep_positions_distinct,
);

/// Moves `movers` (three tasks) in turn, `moves` times, each between the two moved before it
/// (which are neighbours): the gap halves on alternate sides every time, the worst case for
/// fractional keys. Checks the order against a model as it goes; returns the longest
/// position seen.
async fn bisect(user: &UserClient<'_>, movers: [i64; 3], moves: usize) -> usize {
    let mut model = order(user).await;
    let mut longest = 0;
    for k in 0..moves {
        let mover = movers[k % 3];
        let (prev1, prev2) = (movers[(k + 2) % 3], movers[(k + 1) % 3]);
        let at = |id: i64, model: &[i64]| model.iter().position(|t| *t == id).unwrap();
        model.remove(at(mover, &model));
        let upper = at(prev1, &model).min(at(prev2, &model));
        let after = model[upper];
        model.insert(upper + 1, mover);
        let moved = move_task(user, mover, json!({"after_id": after}))
            .await
            .good(StatusCode::OK);
        longest = longest.max(moved["position"].as_str().unwrap().len());
        if k % 50 == 0 || k + 1 == moves {
            assert_eq!(order(user).await, model, "after move {k}");
            let list = user.get(&user.tasks_path("")).await.good(StatusCode::OK);
            for task in list.as_array().unwrap() {
                longest = longest.max(task["position"].as_str().unwrap().len());
            }
        }
    }
    longest
}

async fn thousand_moves_between_the_same_two_neighbours_stay_short(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0");
    let alice = app.user("alice");
    let [a, x, y, b] = four(&alice).await;
    let mut longest = 0;
    for i in 0..1000 {
        // Always just below `a`, above the task moved there before it.
        let (mover, other) = if i % 2 == 0 { (x, y) } else { (y, x) };
        let moved = move_task(&alice, mover, json!({"after_id": a}))
            .await
            .good(StatusCode::OK);
        longest = longest.max(moved["position"].as_str().unwrap().len());
        if i % 97 == 0 || i == 999 {
            assert_eq!(
                order(&alice).await,
                vec![a, mover, other, b],
                "after move {i}"
            );
        }
    }
    eprintln!("longest position, 1000 moves just below one task: {longest} characters");
    assert!(longest < 100, "positions stay short: {longest}");

    // The worst case: 1,000 moves each into the middle of the last gap.
    let z = id(&alice.create_task("z").await);
    let worst = bisect(&alice, [x, y, z], 1000).await;
    eprintln!("longest position, 1000 moves halving one gap: {worst} characters");
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
    tokio::time::sleep(Duration::from_millis(300)).await;
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
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Postgres => match crate::common::pg::TempDatabase::create().await {
            Some(db) => Some(db),
            None => return,
        },
        Backend::Sqlite => None,
    };
    let url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.path().join("todo.db").display()),
    };
    let app = TestApp::builder(backend)
        .database_url(&url)
        .start()
        .await
        .unwrap();
    let alice = app.user("alice");
    let first = id(&alice.create_task("first").await);
    let last = id(&alice.create_task("last").await);
    let long = format!("{}80", "ff".repeat(24));
    let write = format!("UPDATE tasks SET position = '{long}' WHERE id = {last}");
    match &pg {
        Some(_) => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(&write).await.unwrap();
        }
        None => {
            use diesel::{Connection, RunQueryDsl, SqliteConnection};
            let path = dir.path().join("todo.db");
            let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(&mut conn)
                .unwrap();
            diesel::sql_query(write).execute(&mut conn).unwrap();
        }
    }
    let mut sse = SseReader::open(&app, "alice", "/api/alice/tasks/events", &[]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
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
    assert_eq!(renumbered["version"], 2, "{renumbered}");
    // The renumbering's events come before the create's.
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let (_, event) = sse.next_event().await;
        kinds.push((
            event["kind"].as_str().unwrap().to_owned(),
            event["id"].clone(),
        ));
    }
    assert!(
        kinds.contains(&("UPDATED".to_owned(), json!(last))),
        "{kinds:?}"
    );
    assert_eq!(kinds[2], ("CREATED".to_owned(), new["id"].clone()));
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
