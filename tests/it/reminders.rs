//! Reminders (issue 43), on both backends and through both APIs: `remind_at` / `remindAt` is
//! set on create and update like a due date, and fires once at its time: `reminded_at` set
//! (an ordinary change: a version, an `UPDATED` event) and a `REMINDER` on SSE and
//! `taskEvents` for the task's owner and its assignee. A new time re-arms it, clearing
//! cancels it, a completed task does not fire (un-completing re-arms), a deleted one never
//! does, and completing a repeating task moves it with the due date. Bad values are 422 /
//! BAD_USER_INPUT and write nothing.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::live::{self, Socket, Sse, SseReader};
use crate::common::{TestApp, UserClient, assert_error_at};
use crate::lists::{create_list, id_of};
use crate::sharing::share;

backend_tests!(
    a_reminder_fires_once_on_both_streams,
    a_new_time_rearms_and_clearing_cancels,
    completed_and_deleted_tasks_do_not_fire,
    a_repeating_tasks_reminder_moves_with_its_due_date,
    the_assignee_is_reminded_too,
    bad_times_are_refused_and_write_nothing,
    graphql_sets_and_shows_reminders,
);

/// `seconds` from now, as the APIs take it.
pub fn in_secs(seconds: i64) -> String {
    spell(Utc::now() + chrono::Duration::seconds(seconds))
}

fn spell(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn path(user: &UserClient<'_>, task: &Value) -> String {
    user.tasks_path(&format!("/{}", id_of(task)))
}

async fn get(user: &UserClient<'_>, task: &Value) -> Value {
    user.get(&path(user, task)).await.good(StatusCode::OK)
}

async fn create(user: &UserClient<'_>, body: Value) -> Value {
    user.post(&user.tasks_path(""), body)
        .await
        .good(StatusCode::CREATED)
}

/// The `REMINDER`s an SSE stream gets within `within` (other events skipped).
pub async fn sse_reminders(sse: &mut SseReader, within: Duration) -> Vec<Value> {
    let until = tokio::time::Instant::now() + within;
    let mut reminders = Vec::new();
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return reminders;
        }
        let chunk = tokio::time::timeout(left, sse.next(Duration::from_secs(3600))).await;
        match chunk {
            Ok(Sse::Event {
                name: None,
                id,
                data,
            }) if data["kind"] == "REMINDER" => {
                // No cursor: the change itself is the UPDATED event with one.
                assert_eq!((id, &data["cursor"]), (None, &Value::Null), "{data}");
                reminders.push(data);
            }
            Ok(_) => {}
            Err(_) => return reminders,
        }
    }
}

/// Waits for the first `REMINDER` on `sse` (at most 10 s).
async fn one_reminder(sse: &mut SseReader) -> Value {
    let mut got = sse_reminders_until_one(sse).await;
    got.remove(0)
}

async fn sse_reminders_until_one(sse: &mut SseReader) -> Vec<Value> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let got = sse_reminders(sse, left.min(Duration::from_millis(200))).await;
        if !got.is_empty() || left.is_zero() {
            assert!(!got.is_empty(), "no REMINDER within 10 s");
            return got;
        }
    }
}

/// The `REMINDER`s `sse` gets up to and including `sentinel`'s, a task whose reminder is
/// due after every reminder the caller expects not to fire (or to fire no more). Due
/// reminders fire in the order of their times, a batch at a time, so one that should not fire
/// would have come before the sentinel's, or with it in the same batch (whose events are read
/// on for 300 ms more). Waiting on that instead of a quiet window keeps a test as short as
/// its sentinel's time.
async fn sse_reminders_through(sse: &mut SseReader, sentinel: &Value) -> Vec<Value> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while !got.iter().any(|r: &Value| r["id"] == sentinel["id"]) {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no REMINDER for the sentinel within 10 s: {got:?}"
        );
        got.extend(sse_reminders(sse, left.min(Duration::from_millis(200))).await);
    }
    got.extend(sse_reminders(sse, Duration::from_millis(300)).await);
    got
}

/// [`sse_reminders_through`] for a `taskEvents` subscription.
async fn socket_reminders_through(socket: &mut Socket, sentinel: &Value) -> Vec<Value> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let sentinel = sentinel["id"].to_string();
    let mut got = Vec::new();
    while !got.iter().any(|r: &Value| r["id"] == sentinel.as_str()) {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no REMINDER for the sentinel within 10 s: {got:?}"
        );
        got.extend(socket_reminders(socket, left.min(Duration::from_millis(200))).await);
    }
    got.extend(socket_reminders(socket, Duration::from_millis(300)).await);
    got
}

/// How many of `reminders` are `task`'s.
fn count_of(reminders: &[Value], task: &Value) -> usize {
    let id = &task["id"];
    reminders
        .iter()
        .filter(|r| r["id"] == *id || r["id"] == id.to_string().as_str())
        .count()
}

/// A task of `user`'s reminded `at`, created to be waited for ([`sse_reminders_through`]).
async fn sentinel(user: &UserClient<'_>, at: DateTime<Utc>) -> Value {
    create(user, json!({"title": "sentinel", "remind_at": spell(at)})).await
}

/// Makes tasks reminded `lead` from now (`make`), then does to them what should keep them
/// from firing (`undo`), and answers when they were due and the tasks. When `undo` comes
/// after that time (a loaded machine), the check could not tell, so it is made again with
/// new tasks and a longer lead (the late ones may fire: they are not checked).
async fn before_their_time<M, U>(make: M, undo: U) -> (DateTime<Utc>, Vec<Value>)
where
    M: AsyncFn(&str) -> Vec<Value>,
    U: AsyncFn(&[Value]),
{
    for lead in [1, 3, 8] {
        let at = Utc::now() + chrono::Duration::seconds(lead);
        let tasks = make(&spell(at)).await;
        undo(&tasks).await;
        if Utc::now() < at {
            return (at, tasks);
        }
    }
    panic!("three tries could not undo a reminder before its time (8 s ahead at most)");
}

/// The `taskEvents` of `kind` REMINDER within `within` (other events skipped).
async fn socket_reminders(socket: &mut Socket, within: Duration) -> Vec<Value> {
    let until = tokio::time::Instant::now() + within;
    let mut reminders = Vec::new();
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let Some(message) = live::next_json_within(socket, left).await else {
            return reminders;
        };
        let event = &message["payload"]["data"]["taskEvents"];
        if event["kind"] == "REMINDER" {
            reminders.push(event.clone());
        }
    }
}

async fn events(app: &TestApp, user: &str) -> SseReader {
    let sse = SseReader::open(app, user, &format!("/api/{user}/tasks/events"), &[]).await;
    assert_eq!(sse.response.status(), StatusCode::OK);
    sse
}

async fn a_reminder_fires_once_on_both_streams(app: TestApp) {
    let alice = app.user("alice");
    let mut sse = events(&app, "alice").await;
    let mut socket = live::socket(&app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "r",
        "subscription { taskEvents { kind id cursor task { id version remindAt remindedAt } } }",
    )
    .await;
    live::registered(&app, "alice", &mut socket).await;
    let task = create(
        &alice,
        json!({"title": "call mum", "remind_at": in_secs(1)}),
    )
    .await;
    assert_eq!(task["reminded_at"], Value::Null, "{task}");
    let reminder = one_reminder(&mut sse).await;
    assert_eq!(reminder["id"], task["id"], "{reminder}");
    assert_eq!(reminder["task"]["title"], "call mum");
    assert_eq!(reminder["task"]["version"], 2, "one change: {reminder}");
    assert!(reminder["task"]["reminded_at"].is_string(), "{reminder}");
    // Once on each stream: a later reminder fires after any second firing of this one would.
    let later = sentinel(&alice, Utc::now()).await;
    let over_graphql = socket_reminders_through(&mut socket, &later).await;
    assert_eq!(count_of(&over_graphql, &task), 1, "{over_graphql:?}");
    assert_eq!(over_graphql[0]["id"], task["id"].to_string());
    assert_eq!(over_graphql[0]["cursor"], Value::Null);
    assert!(over_graphql[0]["task"]["remindedAt"].is_string());
    let more = sse_reminders_through(&mut sse, &later).await;
    assert_eq!(count_of(&more, &task), 0, "{more:?}");
    // And the task is at its second version.
    let now = get(&alice, &task).await;
    assert_eq!(
        (now["version"].clone(), now["reminded_at"].clone()),
        (json!(2), reminder["task"]["reminded_at"].clone())
    );
    // A change like any other: sync has it.
    let changes = alice
        .get(&alice.tasks_path("/changes?since=1"))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        changes["changed"][0]["reminded_at"], now["reminded_at"],
        "{changes}"
    );
}

async fn a_new_time_rearms_and_clearing_cancels(app: TestApp) {
    let alice = app.user("alice");
    let mut sse = events(&app, "alice").await;
    let task = create(&alice, json!({"title": "t", "remind_at": in_secs(-60)})).await;
    one_reminder(&mut sse).await;
    // A new time: re-armed (reminded_at null again), and it fires again.
    let moved = alice
        .put(&path(&alice, &task), json!({"remind_at": in_secs(1)}))
        .await
        .good(StatusCode::OK);
    assert_eq!(moved["reminded_at"], Value::Null, "{moved}");
    let again = one_reminder(&mut sse).await;
    assert_eq!(again["id"], task["id"]);
    // Cleared before its time: it never fires (a sentinel due just after it fires alone).
    let (at, made) = before_their_time(
        async |at| vec![create(&alice, json!({"title": "u", "remind_at": at})).await],
        async |tasks| {
            let cleared = alice
                .put(&path(&alice, &tasks[0]), json!({"remind_at": null}))
                .await
                .good(StatusCode::OK);
            assert_eq!(
                (cleared["remind_at"].clone(), cleared["reminded_at"].clone()),
                (Value::Null, Value::Null)
            );
        },
    )
    .await;
    let later = sentinel(&alice, at + chrono::Duration::milliseconds(500)).await;
    let got = sse_reminders_through(&mut sse, &later).await;
    assert_eq!(count_of(&got, &made[0]), 0, "{got:?}");
    // Other fields leave a fired reminder as it is.
    let renamed = alice
        .put(&path(&alice, &task), json!({"title": "renamed"}))
        .await
        .good(StatusCode::OK);
    assert!(renamed["reminded_at"].is_string(), "{renamed}");
}

async fn completed_and_deleted_tasks_do_not_fire(app: TestApp) {
    let alice = app.user("alice");
    let mut sse = events(&app, "alice").await;
    // Completed and deleted before their time: neither fires (a sentinel due just after them
    // fires alone).
    let (at, made) = before_their_time(
        async |at| {
            vec![
                create(&alice, json!({"title": "done", "remind_at": at})).await,
                create(&alice, json!({"title": "gone", "remind_at": at})).await,
            ]
        },
        async |tasks| {
            alice
                .patch(&format!("{}/complete", path(&alice, &tasks[0])))
                .await
                .good(StatusCode::OK);
            alice
                .delete(&path(&alice, &tasks[1]))
                .await
                .good(StatusCode::NO_CONTENT);
        },
    )
    .await;
    let later = sentinel(&alice, at + chrono::Duration::milliseconds(500)).await;
    let got = sse_reminders_through(&mut sse, &later).await;
    assert_eq!(
        (count_of(&got, &made[0]), count_of(&got, &made[1])),
        (0, 0),
        "{got:?}"
    );
    let done = made[0].clone();
    assert_eq!(get(&alice, &done).await["reminded_at"], Value::Null);
    // Un-completing re-arms the reminder that had not fired: it is past, so at once.
    alice
        .patch(&format!("{}/complete", path(&alice, &done)))
        .await
        .good(StatusCode::OK);
    let reminder = one_reminder(&mut sse).await;
    assert_eq!(reminder["id"], done["id"]);
}

async fn a_repeating_tasks_reminder_moves_with_its_due_date(app: TestApp) {
    let alice = app.user("alice");
    // Due Monday 09:00 (in a year), reminded at 08:45, every day.
    let task = create(
        &alice,
        json!({"title": "standup", "due_date": "2027-11-29T09:00:00Z",
               "remind_at": "2027-11-29T08:45:00Z", "recurrence": "FREQ=DAILY"}),
    )
    .await;
    let done = alice
        .patch(&format!("{}/complete", path(&alice, &task)))
        .await
        .good(StatusCode::OK);
    assert_eq!(done["due_date"], "2027-11-30T09:00:00.000000Z", "{done}");
    assert_eq!(done["remind_at"], "2027-11-30T08:45:00.000000Z", "{done}");
    assert_eq!(done["reminded_at"], Value::Null);
    // Through an update's `completed`, and GraphQL's: the same move, re-armed.
    let done = alice
        .put(&path(&alice, &task), json!({"completed": true}))
        .await
        .good(StatusCode::OK);
    assert_eq!(done["remind_at"], "2027-12-01T08:45:00.000000Z", "{done}");
    let data = alice
        .graphql_data(
            "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { dueDate remindAt remindedAt } }",
            json!({"id": task["id"].to_string()}),
        )
        .await;
    let moved = &data["setTaskCompleted"];
    assert_eq!(moved["remindAt"], "2027-12-02T08:45:00.000000Z", "{data}");
    assert_eq!(moved["remindedAt"], Value::Null);
    // A fired reminder is re-armed by the move: due now-ish, fired, then completed.
    let mut sse = events(&app, "alice").await;
    let now = Utc::now();
    let soon = create(
        &alice,
        json!({"title": "soon", "due_date": spell(now + chrono::Duration::seconds(3600)),
               "remind_at": spell(now - chrono::Duration::seconds(1)), "recurrence": "FREQ=DAILY"}),
    )
    .await;
    one_reminder(&mut sse).await;
    let next = alice
        .patch(&format!("{}/complete", path(&alice, &soon)))
        .await
        .good(StatusCode::OK);
    assert_eq!(next["reminded_at"], Value::Null, "re-armed: {next}");
    let (remind, due) = (stamp(&next["remind_at"]), stamp(&next["due_date"]));
    assert_eq!(due - remind, chrono::Duration::seconds(3601), "{next}");
}

fn stamp(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("a time").parse().expect("RFC 3339")
}

async fn the_assignee_is_reminded_too(app: TestApp) {
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Chores").await);
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    let (mut to_alice, mut to_bob, mut to_carol) = (
        events(&app, "alice").await,
        events(&app, "bob").await,
        events(&app, "carol").await,
    );
    let task = create(
        &alice,
        json!({"title": "bins", "list_id": list, "assignee_id": "bob", "remind_at": in_secs(1)}),
    )
    .await;
    assert_eq!(one_reminder(&mut to_alice).await["id"], task["id"]);
    assert_eq!(one_reminder(&mut to_bob).await["id"], task["id"]);
    // A member who is neither its owner nor its assignee sees the change, not the reminder
    // (it would have come with the others', before a reminder of carol's own due later).
    let carols = sentinel(&app.user("carol"), Utc::now()).await;
    let got = sse_reminders_through(&mut to_carol, &carols).await;
    assert_eq!(count_of(&got, &task), 0, "{got:?}");
    // Assigned to its owner: one reminder, not two.
    let own = create(
        &alice,
        json!({"title": "own", "assignee_id": "alice", "remind_at": in_secs(0)}),
    )
    .await;
    // The first whenever it comes (a loaded machine may take seconds), then on to a later
    // reminder (a second one would be sent at once with the first).
    let mut got = sse_reminders_until_one(&mut to_alice).await;
    let later = sentinel(&alice, Utc::now()).await;
    got.extend(sse_reminders_through(&mut to_alice, &later).await);
    assert_eq!(
        got.iter().filter(|r| r["id"] == own["id"]).count(),
        1,
        "{got:?}"
    );
}

async fn bad_times_are_refused_and_write_nothing(app: TestApp) {
    let alice = app.user("alice");
    let task = alice.create_task("keep").await;
    for bad in [
        json!("nope"),
        json!("10000-01-01T00:00:00Z"),
        json!(12),
        json!("0001-01-01T00:00:00+01:00"),
    ] {
        let refused = alice
            .post(
                &alice.tasks_path(""),
                json!({"title": "x", "remind_at": bad}),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            refused.text
        );
        assert!(
            refused
                .validation()
                .iter()
                .any(|e| e["loc"] == json!(["body", "remind_at"])),
            "{}",
            refused.text
        );
        let refused = alice
            .put(
                &path(&alice, &task),
                json!({"remind_at": bad, "title": "changed"}),
            )
            .await;
        assert_error_at(
            &refused.validation(),
            json!(["body", "remind_at"]),
            refused.validation()[0]["type"].as_str().unwrap(),
        );
    }
    let all = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(
        (all[0]["title"].clone(), all[0]["version"].clone()),
        (json!("keep"), json!(1))
    );
    for bad in ["nope", "0001-01-01T00:00:00+01:00"] {
        let answer = alice
            .graphql("mutation($at: DateTime) { createTask(input: {title: \"x\", remindAt: $at}) { id } }", json!({"at": bad}))
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{bad}: {answer}"
        );
    }
    assert_eq!(
        alice
            .get(&alice.tasks_path(""))
            .await
            .good(StatusCode::OK)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn graphql_sets_and_shows_reminders(app: TestApp) {
    let alice = app.user("alice");
    let mut sse = events(&app, "alice").await;
    let at = in_secs(3600);
    let data = alice
        .graphql_data(
            "mutation($at: DateTime) { createTask(input: {title: \"g\", remindAt: $at}) { id remindAt remindedAt } }",
            json!({"at": at}),
        )
        .await;
    let id = data["createTask"]["id"].as_str().unwrap().to_owned();
    assert_eq!(stamp(&data["createTask"]["remindAt"]), stamp(&json!(at)));
    let update = "mutation($id: ID!, $at: DateTime) { updateTask(id: $id, input: {remindAt: $at}) { remindAt remindedAt } }";
    let data = alice
        .graphql_data(update, json!({"id": id, "at": in_secs(-5)}))
        .await;
    assert_eq!(data["updateTask"]["remindedAt"], Value::Null);
    let reminder = one_reminder(&mut sse).await;
    assert_eq!(reminder["id"].to_string(), id);
    let read = alice
        .graphql_data(
            "query($id: ID!) { task(id: $id) { remindedAt } }",
            json!({"id": id}),
        )
        .await;
    assert!(read["task"]["remindedAt"].is_string(), "{read}");
    let data = alice
        .graphql_data(update, json!({"id": id, "at": null}))
        .await;
    assert_eq!(
        data["updateTask"],
        json!({"remindAt": null, "remindedAt": null})
    );
}
