//! Lists join the journal (issue 27): creating, renaming, recolouring, moving and deleting a
//! list are changes on the same cursor as tasks, in REST `changes` (`changed_lists`,
//! `deleted_list_ids`), GraphQL `taskChanges` (`changedLists`, `deletedListIds`), the SSE
//! stream and GraphQL `taskEvents` (`LIST_CREATED`, `LIST_UPDATED`, `LIST_DELETED` with the
//! list), with tombstones for deleted lists, for their owner only; on PostgreSQL another
//! program's list change is an event too.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::live::{self, Socket, SseReader};
use crate::common::other_writer::Shared;
use crate::common::{Backend, TestApp};
use crate::lists::{create_list, id_of, lists_path};

backend_cases!(list_changes_reach_sync_and_live_streams_on_both_apis);

const SUBSCRIPTION: &str = "subscription { taskEvents { kind id listId cursor \
    list { id name color version } task { id title version } } }";

/// (kind, list or task id, name or title, version) of the next `n` events, the same on the
/// WebSocket and the SSE stream, with growing cursors.
async fn next_events(
    socket: &mut Socket,
    sse: &mut SseReader,
    n: usize,
) -> Vec<(String, i64, Option<String>, Option<i64>)> {
    let mut seen = Vec::new();
    let mut last = 0;
    for _ in 0..n {
        let ws = live::next_event(socket).await;
        let (id, data) = sse.next_event().await;
        let cursor: i64 = ws["cursor"].as_str().unwrap().parse().unwrap();
        assert!(cursor > last, "cursors grow: {ws}");
        last = cursor;
        assert_eq!(id, Some(cursor.to_string()));
        assert_eq!(data["kind"], ws["kind"], "{data} / {ws}");
        let kind = ws["kind"].as_str().unwrap().to_owned();
        if kind.starts_with("LIST_") {
            let list_id: i64 = ws["listId"].as_str().unwrap().parse().unwrap();
            assert_eq!(data["list_id"], list_id, "{data}");
            assert_eq!(data["list"]["name"], ws["list"]["name"], "{data}");
            assert_eq!(ws["id"], Value::Null, "a list event names no task");
            let name = ws["list"]["name"].as_str().map(Into::into);
            seen.push((kind, list_id, name, ws["list"]["version"].as_i64()));
        } else {
            let task_id: i64 = ws["id"].as_str().unwrap().parse().unwrap();
            assert_eq!(data["id"], task_id, "{data}");
            assert_eq!(ws["listId"], Value::Null, "a task event names no list");
            let title = ws["task"]["title"].as_str().map(Into::into);
            seen.push((kind, task_id, title, ws["task"]["version"].as_i64()));
        }
    }
    seen
}

async fn cursor(app: &TestApp, user: &str) -> String {
    let client = app.user(user);
    let all = client.get(&client.tasks_path("/changes")).await;
    all.good(StatusCode::OK)["cursor"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn list_changes_reach_sync_and_live_streams_on_both_apis(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let app = &db.app;
    let alice = app.user("alice");
    let home = id_of(&create_list(&alice, "Home").await);
    let mut socket = live::socket(app, "alice").await;
    live::subscribe_to(&mut socket, "1", SUBSCRIPTION).await;
    live::registered(app, "alice", &mut socket).await;
    let mut bob = live::socket(app, "bob").await;
    live::subscribe_to(&mut bob, "1", SUBSCRIPTION).await;
    live::registered(app, "bob", &mut bob).await;
    // After the probes: the changes and the SSE stream start from here.
    let since = cursor(app, "alice").await;
    let mut sse = SseReader::open(app, "alice", &alice.tasks_path("/events"), &[]).await;

    let work = id_of(&create_list(&alice, "Work").await);
    let item = |id: i64| lists_path(&alice, &format!("/{id}"));
    alice
        .put(&item(work), json!({"name": "Office", "color": "blue"}))
        .await
        .good(StatusCode::OK);
    alice
        .post(
            &lists_path(&alice, &format!("/{work}/move")),
            json!({"before_id": home}),
        )
        .await
        .good(StatusCode::OK);
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "at home", "list_id": home}),
        )
        .await
        .good(StatusCode::CREATED);
    let task = id_of(&task);
    let deleted = alice.delete(&format!("{}?tasks=delete", item(home))).await;
    assert_eq!(deleted.status, StatusCode::OK);

    // In order: the list's own changes, its task's, and the list's deletion after its task's.
    let events = next_events(&mut socket, &mut sse, 6).await;
    assert_eq!(
        events,
        [
            ("LIST_CREATED".into(), work, Some("Work".into()), Some(1)),
            ("LIST_UPDATED".into(), work, Some("Office".into()), Some(2)),
            ("LIST_UPDATED".into(), work, Some("Office".into()), Some(3)),
            ("CREATED".into(), task, Some("at home".into()), Some(1)),
            ("DELETED".into(), task, None, None),
            ("LIST_DELETED".into(), home, None, None),
        ]
    );
    assert!(live::stays_quiet(&mut bob, Duration::from_millis(300)).await);

    let sync = alice
        .get(&alice.tasks_path(&format!("/changes?since={since}")))
        .await
        .good(StatusCode::OK);
    let lists = sync["changed_lists"].as_array().expect("changed_lists");
    assert_eq!(lists.len(), 1, "{sync}");
    assert_eq!(
        (lists[0]["id"].as_i64(), lists[0]["name"].as_str()),
        (Some(work), Some("Office"))
    );
    assert_eq!(lists[0]["version"], 3);
    assert_eq!(sync["deleted_list_ids"], json!([home]));
    let gql = alice
        .graphql_data(
            "query($s: String) { taskChanges(since: $s) { changedLists { id name color } deletedListIds } }",
            json!({"s": since}),
        )
        .await;
    assert_eq!(
        gql["taskChanges"],
        json!({"changedLists": [{"id": work.to_string(), "name": "Office", "color": "BLUE"}],
               "deletedListIds": [home.to_string()]})
    );
    // Everything, without a cursor: the lists there are.
    let all = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    let names: Vec<&str> = all["changed_lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Office"]);

    if backend == Backend::Postgres {
        db.other_writer(&format!(
            "UPDATE task_lists SET name = 'Renamed in psql', name_key = 'renamed in psql' \
             WHERE id = {work}"
        ))
        .await;
        let events = next_events(&mut socket, &mut sse, 1).await;
        assert_eq!(
            events,
            [(
                "LIST_UPDATED".into(),
                work,
                Some("Renamed in psql".into()),
                Some(4)
            )]
        );
    }
    assert!(live::stays_quiet(&mut bob, Duration::from_millis(300)).await);
}
