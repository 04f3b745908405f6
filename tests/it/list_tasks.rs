//! Lists and their tasks (issue 21), on both backends: a task created in a list goes last
//! there; the list filter (`list_id=<id>` / `list_id=none`, `tasks(listId:)` /
//! `tasks(inbox: true)`, `List.tasks`); deleting a list deletes its tasks or moves them to the
//! inbox, and subscribers (GraphQL subscription and SSE) and sync see every affected task.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::live::{self, SseReader};
use crate::common::{TestApp, UserClient, assert_error_at};
use crate::lists::{create_list, lists_path};

backend_tests!(
    a_task_created_in_a_list_goes_last_there,
    the_list_filter_takes_a_list_or_the_inbox,
    inside_a_list_its_manual_order_is_the_default,
    deleting_a_list_moves_its_tasks_to_the_inbox_for_everyone,
    deleting_a_list_deletes_its_tasks_for_everyone
);

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

async fn task_in(user: &UserClient<'_>, title: &str, list: Option<i64>) -> Value {
    user.post(
        &user.tasks_path(""),
        json!({"title": title, "list_id": list}),
    )
    .await
    .good(StatusCode::CREATED)
}

/// The ids of a REST task list, sorted by position (then id).
fn by_position(tasks: &Value) -> Vec<i64> {
    let mut tasks = tasks.as_array().expect("a list").clone();
    tasks.sort_by_key(|t| (t["position"].as_str().unwrap().to_owned(), id_of(t)));
    tasks.iter().map(id_of).collect()
}

fn ids(tasks: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = tasks
        .as_array()
        .expect("a list")
        .iter()
        .map(id_of)
        .collect();
    ids.sort_unstable();
    ids
}

async fn a_task_created_in_a_list_goes_last_there(app: TestApp) {
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Work").await);
    let first = task_in(&alice, "first", Some(list)).await;
    let second = task_in(&alice, "second", Some(list)).await;
    assert_eq!(first["list_id"], list);
    assert!(first["position"].as_str() < second["position"].as_str());
    let inbox = task_in(&alice, "inbox", None).await;
    assert_eq!(inbox["list_id"], Value::Null);
    // A client that never sends `list_id` gets the inbox, as before.
    let legacy = alice.create_task("legacy").await;
    assert_eq!(legacy["list_id"], Value::Null);
    for (bad, kind) in [
        (json!("x"), "int_type"),
        (json!(1.5), "int_from_float"),
        (json!([1]), "int_type"),
    ] {
        let detail = alice
            .post(&alice.tasks_path(""), json!({"title": "t", "list_id": bad}))
            .await
            .validation();
        assert_error_at(&detail, json!(["body", "list_id"]), kind);
    }
    alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "t", "list_id": 999_999}),
        )
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    let gql = alice
        .graphql(
            "mutation { createTask(input: {title: \"t\", listId: \"abc\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(gql["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

async fn the_list_filter_takes_a_list_or_the_inbox(app: TestApp) {
    let alice = app.user("alice");
    let work = id_of(&create_list(&alice, "Work").await);
    let home = id_of(&create_list(&alice, "Home").await);
    let w1 = id_of(&task_in(&alice, "w1", Some(work)).await);
    let w2 = id_of(&task_in(&alice, "w2", Some(work)).await);
    let h1 = id_of(&task_in(&alice, "h1", Some(home)).await);
    let i1 = id_of(&task_in(&alice, "i1", None).await);
    let get = async |query: &str| alice.get(&alice.tasks_path(&format!("?{query}"))).await;
    assert_eq!(
        ids(&get(&format!("list_id={work}")).await.good(StatusCode::OK)),
        vec![w1, w2]
    );
    assert_eq!(
        ids(&get("list_id=none").await.good(StatusCode::OK)),
        vec![i1]
    );
    assert_eq!(
        ids(&get("").await.good(StatusCode::OK)),
        vec![w1, w2, h1, i1]
    );
    let paged = get(&format!("list_id={work}&limit=1")).await;
    assert_eq!(paged.header("x-total-count"), Some("2"));
    assert_eq!(paged.good(StatusCode::OK).as_array().unwrap().len(), 1);
    let both = get(&format!("list_id={home}&status=pending"))
        .await
        .good(StatusCode::OK);
    assert_eq!(ids(&both), vec![h1]);
    for bad in ["abc", "", "None", "1.5"] {
        let detail = get(&format!("list_id={bad}")).await.validation();
        assert_error_at(&detail, json!(["query", "list_id"]), "value_error");
    }
    // A list that does not exist is a 404 rather than an empty list.
    get("list_id=999999")
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");

    let gql_ids = |data: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> = data
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().parse().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let vars = json!({"work": work.to_string()});
    let data = alice
        .graphql_data(
            "query($work: ID!) { a: tasks(listId: $work) { id } b: tasks(inbox: true) { id } \
             c: tasks(inbox: false) { id } d: tasksConnection(listId: $work, first: 1) { totalCount } \
             e: tasksConnection(inbox: true) { totalCount } }",
            vars.clone(),
        )
        .await;
    assert_eq!(gql_ids(&data["a"]), vec![w1, w2]);
    assert_eq!(gql_ids(&data["b"]), vec![i1]);
    assert_eq!(gql_ids(&data["c"]).len(), 4);
    assert_eq!(data["d"]["totalCount"], 2);
    assert_eq!(data["e"]["totalCount"], 1);
    let both = alice
        .graphql(
            "query($work: ID!) { tasks(listId: $work, inbox: true) { id } }",
            vars,
        )
        .await;
    assert_eq!(both["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let nested = alice
        .graphql_data(
            "{ lists { name tasks(sort: TITLE, order: DESC) { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        nested["lists"],
        json!([
            {"name": "Work", "tasks": [{"title": "w2"}, {"title": "w1"}]},
            {"name": "Home", "tasks": [{"title": "h1"}]}
        ])
    );
}

/// Ids as the server ordered them (no sorting here).
pub(crate) fn in_order(tasks: &Value) -> Vec<i64> {
    tasks
        .as_array()
        .expect("a list")
        .iter()
        .map(id_of)
        .collect()
}

/// GraphQL ids as the server ordered them.
fn gql_in_order(tasks: &Value) -> Vec<i64> {
    let tasks = tasks.as_array().expect("a list");
    tasks
        .iter()
        .map(|t| t["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Found by the Next.js example (issue 30): a list's tasks came newest first unless the client
/// asked for `sort=position`. Inside a list (or the inbox) no sort now means manual order, on
/// REST and GraphQL alike, paged or not; the plain task list keeps the FastAPI default.
async fn inside_a_list_its_manual_order_is_the_default(app: TestApp) {
    let alice = app.user("alice");
    let trip = id_of(&create_list(&alice, "Trip").await);
    let [a, b, c] = [
        id_of(&task_in(&alice, "a", Some(trip)).await),
        id_of(&task_in(&alice, "b", Some(trip)).await),
        id_of(&task_in(&alice, "c", Some(trip)).await),
    ];
    let [x, y] = [
        id_of(&task_in(&alice, "x", None).await),
        id_of(&task_in(&alice, "y", None).await),
    ];
    // Manual order b, a, c in the list and y, x in the inbox: unlike creation order either way.
    for (moved, before) in [(b, a), (y, x)] {
        alice
            .post(
                &alice.tasks_path(&format!("/{moved}/move")),
                json!({ "before_id": before }),
            )
            .await
            .good(StatusCode::OK);
    }
    let get = async |query: &str| {
        in_order(
            &alice
                .get(&alice.tasks_path(&format!("?{query}")))
                .await
                .good(StatusCode::OK),
        )
    };
    assert_eq!(get(&format!("list_id={trip}")).await, vec![b, a, c]);
    assert_eq!(get("list_id=none").await, vec![y, x]);
    assert_eq!(
        get(&format!("list_id={trip}&order=desc")).await,
        vec![c, a, b]
    );
    // A sort the client names is kept; without a list the legacy default stays.
    assert_eq!(
        get(&format!("list_id={trip}&sort=created")).await,
        vec![c, b, a]
    );
    assert_eq!(
        get(&format!("list_id={trip}&sort_by=title")).await,
        vec![a, b, c]
    );
    assert_eq!(get("").await, vec![y, x, c, b, a]);
    // Paged: the first page and the next one, in manual order.
    let page = alice
        .get(&alice.tasks_path(&format!("?list_id={trip}&limit=2")))
        .await;
    let link = page.header("link").expect("a next page").to_owned();
    assert_eq!(in_order(&page.good(StatusCode::OK)), vec![b, a]);
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("a link target")
        .to_owned();
    let next = alice.get(&next).await.good(StatusCode::OK);
    assert_eq!(in_order(&next), vec![c]);

    let data = alice
        .graphql_data(
            "query($trip: ID!) { list(id: $trip) { tasks { id } tasksConnection(first: 2) { \
             nodes { id } } created: tasks(sort: CREATED_AT) { id } } \
             byList: tasks(listId: $trip) { id } inbox: tasks(inbox: true) { id } \
             all: tasks { id } }",
            json!({ "trip": trip.to_string() }),
        )
        .await;
    assert_eq!(gql_in_order(&data["list"]["tasks"]), vec![b, a, c]);
    assert_eq!(
        gql_in_order(&data["list"]["tasksConnection"]["nodes"]),
        vec![b, a]
    );
    assert_eq!(gql_in_order(&data["list"]["created"]), vec![c, b, a]);
    assert_eq!(gql_in_order(&data["byList"]), vec![b, a, c]);
    assert_eq!(gql_in_order(&data["inbox"]), vec![y, x]);
    assert_eq!(gql_in_order(&data["all"]), vec![y, x, c, b, a]);
}

/// The next subscription event that is not a CREATED one (the tasks a test made before it
/// subscribed may still be on their way: on PostgreSQL events travel through LISTEN).
async fn next_change(socket: &mut live::Socket) -> Value {
    loop {
        let event = live::next_event(socket).await;
        if !matches!(event["kind"].as_str(), Some("CREATED" | "LIST_CREATED")) {
            return event;
        }
    }
}

/// The same for the SSE stream.
async fn next_sent(sse: &mut SseReader) -> Value {
    loop {
        let (_, event) = sse.next_event().await;
        if !matches!(event["kind"].as_str(), Some("CREATED" | "LIST_CREATED")) {
            return event;
        }
    }
}

/// A GraphQL subscription and an SSE stream, open and registered, and the sync cursor now.
async fn watch(app: &TestApp, alice: &UserClient<'_>) -> (live::Socket, SseReader, String) {
    let mut socket = live::socket(app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "1",
        "subscription { taskEvents { kind id listId task { id listId version } } }",
    )
    .await;
    let sse = SseReader::open(app, "alice", "/api/alice/tasks/events", &[]).await;
    assert_eq!(sse.response.status(), StatusCode::OK);
    // No pause: a 200 event stream's head is sent once its subscription is registered.
    let sync = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    (socket, sse, sync["cursor"].as_str().unwrap().to_owned())
}

async fn deleting_a_list_moves_its_tasks_to_the_inbox_for_everyone(app: TestApp) {
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Work").await);
    let kept = id_of(&create_list(&alice, "Kept").await);
    let inbox = id_of(&task_in(&alice, "already in the inbox", None).await);
    let a = id_of(&task_in(&alice, "a", Some(list)).await);
    let b = id_of(&task_in(&alice, "b", Some(list)).await);
    let other = id_of(&task_in(&alice, "elsewhere", Some(kept)).await);
    let (mut socket, mut sse, cursor) = watch(&app, &alice).await;

    let path = lists_path(&alice, &format!("/{list}?tasks=inbox"));
    let done = alice.delete(&path).await.good(StatusCode::OK);
    assert_eq!(
        done,
        json!({"deleted_list": list, "tasks": "moved_to_inbox", "task_ids": [a, b]})
    );
    for _ in 0..2 {
        let event = next_change(&mut socket).await;
        assert_eq!(event["kind"], "UPDATED", "{event}");
        assert_eq!(event["task"]["listId"], Value::Null, "{event}");
        assert_eq!(event["task"]["version"], 2, "{event}");
        let sent = next_sent(&mut sse).await;
        assert_eq!(sent["task"]["list_id"], Value::Null, "{sent}");
    }
    // Then the list's own deletion, after its tasks' changes (issue 27).
    let event = next_change(&mut socket).await;
    assert_eq!(
        (event["kind"].clone(), event["listId"].clone()),
        (json!("LIST_DELETED"), json!(list.to_string()))
    );
    let sent = next_sent(&mut sse).await;
    assert_eq!(
        (sent["kind"].clone(), sent["list_id"].clone()),
        (json!("LIST_DELETED"), json!(list))
    );
    let sync = alice
        .get(&alice.tasks_path(&format!("/changes?since={cursor}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(ids(&sync["changed"]), vec![a, b], "{sync}");
    assert_eq!(sync["deleted_ids"], json!([]));
    // In the inbox, after what was there, in their old order; the other list is untouched.
    let now = alice
        .get(&alice.tasks_path("?list_id=none"))
        .await
        .good(StatusCode::OK);
    assert_eq!(by_position(&now), vec![inbox, a, b]);
    let elsewhere = alice
        .get(&alice.tasks_path(&format!("/{other}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (elsewhere["list_id"].clone(), elsewhere["version"].clone()),
        (json!(kept), json!(1))
    );
    alice
        .get(&lists_path(&alice, &format!("/{list}")))
        .await
        .detail(StatusCode::NOT_FOUND, "List not found");
    assert!(live::stays_quiet(&mut socket, Duration::from_millis(300)).await);

    // The same through GraphQL.
    let second = id_of(&create_list(&alice, "Second").await);
    let c = id_of(&task_in(&alice, "c", Some(second)).await);
    let gql = alice
        .graphql_data(
            "mutation($id: ID!) { deleteList(id: $id, tasks: MOVE_TO_INBOX) { tasks taskIds } }",
            json!({"id": second.to_string()}),
        )
        .await;
    assert_eq!(
        gql["deleteList"],
        json!({"tasks": "MOVE_TO_INBOX", "taskIds": [c.to_string()]})
    );
    let event = next_change(&mut socket).await;
    assert_eq!(
        (event["kind"].clone(), event["id"].clone()),
        (json!("UPDATED"), json!(c.to_string()))
    );
    let now = alice
        .get(&alice.tasks_path("?list_id=none"))
        .await
        .good(StatusCode::OK);
    assert_eq!(by_position(&now), vec![inbox, a, b, c]);
}

async fn deleting_a_list_deletes_its_tasks_for_everyone(app: TestApp) {
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Work").await);
    let a = id_of(&task_in(&alice, "a", Some(list)).await);
    let b = id_of(&task_in(&alice, "b", Some(list)).await);
    let inbox = id_of(&task_in(&alice, "stays", None).await);
    let (mut socket, mut sse, cursor) = watch(&app, &alice).await;

    let path = lists_path(&alice, &format!("/{list}?tasks=delete"));
    let done = alice.delete(&path).await.good(StatusCode::OK);
    assert_eq!(
        done,
        json!({"deleted_list": list, "tasks": "deleted", "task_ids": [a, b]})
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = next_change(&mut socket).await;
        assert_eq!(
            (event["kind"].clone(), event["task"].clone()),
            (json!("DELETED"), Value::Null)
        );
        seen.push(event["id"].as_str().unwrap().parse::<i64>().unwrap());
        let sent = next_sent(&mut sse).await;
        assert_eq!(sent["kind"], "DELETED", "{sent}");
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![a, b]);
    let sync = alice
        .get(&alice.tasks_path(&format!("/changes?since={cursor}")))
        .await
        .good(StatusCode::OK);
    let mut deleted: Vec<i64> = serde_json::from_value(sync["deleted_ids"].clone()).unwrap();
    deleted.sort_unstable();
    assert_eq!(deleted, vec![a, b], "{sync}");
    assert_eq!(sync["changed"], json!([]));
    for gone in [a, b] {
        alice
            .get(&alice.tasks_path(&format!("/{gone}")))
            .await
            .detail(StatusCode::NOT_FOUND, "Task not found");
    }
    assert_eq!(
        ids(&alice.get(&alice.tasks_path("")).await.good(StatusCode::OK)),
        vec![inbox]
    );
    let gql = alice
        .graphql_data("{ taskChanges { deletedIds } }", json!({}))
        .await;
    assert!(gql["taskChanges"]["deletedIds"].is_array());
}
