//! Repeating tasks (issue 21) on both backends and both APIs: `recurrence` and `time_zone` on
//! create and update, validation naming the part that is wrong, completing (REST complete /
//! PUT, GraphQL toggleTask / setTaskCompleted / updateTask) moves the due date to the next
//! occurrence and leaves the task pending, the last occurrence completes it for good, events
//! and sync carry the advance, a keyed replay does not advance twice. The occurrence rules
//! case by case are unit tests (`tasks::series::recurrence`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::live;
use crate::common::{TestApp, TestResponse};

backend_tests!(
    rest_create_with_recurrence_and_time_zone,
    rest_refuses_bad_rules_naming_the_part,
    graphql_refuses_bad_rules_naming_the_part,
    rest_completing_advances_by_complete_and_put,
    graphql_completing_advances_by_each_mutation,
    last_occurrence_completes_for_good,
    short_months_and_leap_days_through_the_api,
    due_date_changes_restart_or_stop_the_series,
    events_and_sync_see_the_advance,
    keyed_replay_does_not_advance_twice,
    concurrent_completions_each_advance_once,
    another_users_repeating_task_is_404,
    openapi_documents_the_new_body_fields
);

/// 09:00 in New York on 7 March 2026 (standard time), the day before the switch.
const NY_0900: &str = "2026-03-07T14:00:00Z";

fn path(app: &TestApp, user: &str, id: i64, suffix: &str) -> String {
    app.user(user).tasks_path(&format!("/{id}{suffix}"))
}

/// Creates a repeating task through REST and returns its JSON.
async fn repeating(app: &TestApp, user: &str, rule: &str, zone: &str, due: &str) -> Value {
    let client = app.user(user);
    let body = json!({"title": "repeat", "due_date": due, "recurrence": rule, "time_zone": zone});
    client
        .post(&client.tasks_path(""), body)
        .await
        .good(StatusCode::CREATED)
}

fn id_of(task: &Value) -> i64 {
    task["id"].as_i64().expect("an id")
}

/// The one 422 entry of a response, checked to be about `field`.
fn refused(response: TestResponse, field: &str) -> String {
    let body = response.good(StatusCode::UNPROCESSABLE_ENTITY);
    let entry = &body["detail"][0];
    assert_eq!(entry["loc"], json!(["body", field]), "{body}");
    entry["msg"].as_str().expect("a message").to_owned()
}

async fn rest_create_with_recurrence_and_time_zone(app: TestApp) {
    let alice = app.user("alice");
    let task = repeating(
        &app,
        "alice",
        "rrule:freq=weekly;byday=th,mo;interval=1",
        "europe/berlin",
        "2026-11-23T08:00:00Z",
    )
    .await;
    assert_eq!(task["recurrence"], "FREQ=WEEKLY;BYDAY=MO,TH");
    assert_eq!(task["time_zone"], "Europe/Berlin");
    let read = alice
        .get(&path(&app, "alice", id_of(&task), ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(read["recurrence"], task["recurrence"]);
    // A task that sends neither: no recurrence, UTC; a zone alone is fine.
    let plain = alice.create_task("plain").await;
    assert_eq!(
        (plain["recurrence"].clone(), plain["time_zone"].clone()),
        (Value::Null, json!("UTC"))
    );
    let zoned = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "z", "time_zone": "Asia/Tokyo", "recurrence": null}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(zoned["time_zone"], "Asia/Tokyo");
    // GraphQL shows the same.
    let data = alice
        .graphql_data(
            "query($id: ID!) { task(id: $id) { recurrence timeZone } }",
            json!({"id": task["id"].to_string()}),
        )
        .await;
    assert_eq!(
        data["task"],
        json!({"recurrence": "FREQ=WEEKLY;BYDAY=MO,TH", "timeZone": "Europe/Berlin"})
    );
}

async fn rest_refuses_bad_rules_naming_the_part(app: TestApp) {
    let alice = app.user("alice");
    let create = |body: Value| {
        let alice = app.user("alice");
        async move { alice.post(&alice.tasks_path(""), body).await }
    };
    let due = "2026-12-01T09:00:00Z";
    for (rule, says) in [
        ("FREQ=DAILY;BYMONTH=1", "BYMONTH is not supported"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY is not supported"),
        (
            "FREQ=DAILY;INTERVAL=0",
            "INTERVAL must be a whole number from 1 to 1000",
        ),
        (
            "FREQ=DAILY;COUNT=2;UNTIL=20270101",
            "UNTIL and COUNT cannot both be given",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO",
            "BYDAY is only supported with FREQ=WEEKLY",
        ),
        (
            "FREQ=WEEKLY;BYDAY=2TU",
            "numeric prefixes are not supported",
        ),
        ("COUNT=3", "FREQ is required"),
        (
            "FREQ=DAILY;UNTIL=00000101",
            "UNTIL=00000101 must be in years 0001 to 9999",
        ),
        (
            "FREQ=DAILY;UNTIL=00001231T235959Z",
            "UNTIL=00001231T235959Z must be in years 0001 to 9999",
        ),
    ] {
        let msg = refused(
            create(json!({"title": "t", "due_date": due, "recurrence": rule})).await,
            "recurrence",
        );
        assert!(msg.contains(says), "{rule}: {msg}");
    }
    let msg = refused(
        create(json!({"title": "t", "recurrence": "FREQ=DAILY"})).await,
        "recurrence",
    );
    assert!(msg.contains("needs a due date"), "{msg}");
    let msg = refused(
        create(json!({"title": "t", "time_zone": "Mars/Olympus"})).await,
        "time_zone",
    );
    assert!(msg.contains("Mars/Olympus"), "{msg}");
    let body = create(json!({"title": "t", "recurrence": 7}))
        .await
        .good(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_type", "{body}");

    // On update: a recurrence needs a due date the task has or gets; a zone is never null.
    let id = id_of(&alice.create_task("no date").await);
    let update = |body: Value| {
        let (alice, at) = (app.user("alice"), path(&app, "alice", id, ""));
        async move { alice.put(&at, body).await }
    };
    let msg = refused(
        update(json!({"recurrence": "FREQ=DAILY"})).await,
        "recurrence",
    );
    assert!(msg.contains("needs a due date"), "{msg}");
    refused(update(json!({"time_zone": null})).await, "time_zone");
    refused(
        update(json!({"recurrence": "FREQ=DAILY;WKST=SU", "due_date": due})).await,
        "recurrence",
    );
    let task = update(json!({"recurrence": "FREQ=DAILY", "due_date": due}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (task["recurrence"].clone(), task["version"].clone()),
        (json!("FREQ=DAILY"), json!(2))
    );
}

const CREATE: &str = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id recurrence timeZone dueDate } }";

async fn graphql_refuses_bad_rules_naming_the_part(app: TestApp) {
    let alice = app.user("alice");
    // An UNTIL outside years 0001–9999 is refused as a due date outside them is.
    for (rule, says) in [
        ("FREQ=DAILY;BYMONTH=1", "BYMONTH is not supported"),
        (
            "FREQ=DAILY;UNTIL=00000101",
            "UNTIL=00000101 must be in years 0001 to 9999",
        ),
    ] {
        let input = json!({"title": "t", "dueDate": "2026-12-01T09:00:00Z", "recurrence": rule});
        let body = alice.graphql(CREATE, json!({"input": input})).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], "recurrence", "{body}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("recurrence: ") && message.contains(says),
            "{message}"
        );
    }
    let input = json!({"title": "t", "timeZone": "Nowhere/Special"});
    let body = alice.graphql(CREATE, json!({"input": input})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "time_zone",
        "{body}"
    );
    let input = json!({"title": "t", "dueDate": "2026-12-01T09:00:00Z", "recurrence": "rrule:FREQ=daily", "timeZone": "America/New_York"});
    let data = alice.graphql_data(CREATE, json!({"input": input})).await;
    assert_eq!(data["createTask"]["recurrence"], "FREQ=DAILY");
    assert_eq!(data["createTask"]["timeZone"], "America/New_York");
    let update = "mutation($id: ID!) { updateTask(id: $id, input: {timeZone: null}) { id } }";
    let id = data["createTask"]["id"].clone();
    let body = alice.graphql(update, json!({"id": id})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

/// Asserts a task was advanced to `due`: pending, `completed_at` set, at `version`.
fn advanced(task: &Value, due: &str, version: i64) {
    let due_key = if task.get("due_date").is_some() {
        "due_date"
    } else {
        "dueDate"
    };
    let stamp_key = if task.get("completed_at").is_some() {
        "completed_at"
    } else {
        "completedAt"
    };
    assert_eq!(task[due_key], due, "{task}");
    assert_eq!(task["completed"], false, "{task}");
    assert!(task[stamp_key].is_string(), "{task}");
    assert_eq!(task["version"], version, "{task}");
}

async fn rest_completing_advances_by_complete_and_put(app: TestApp) {
    let alice = app.user("alice");
    let task = repeating(&app, "alice", "FREQ=DAILY", "America/New_York", NY_0900).await;
    let id = id_of(&task);
    // 09:00 New York time each day, across the switch to daylight time on 8 March.
    let toggled = alice
        .patch(&path(&app, "alice", id, "/complete"))
        .await
        .good(StatusCode::OK);
    advanced(&toggled, "2026-03-08T13:00:00.000000Z", 2);
    let put = alice
        .put(&path(&app, "alice", id, ""), json!({"completed": true}))
        .await
        .good(StatusCode::OK);
    advanced(&put, "2026-03-09T13:00:00.000000Z", 3);
    // Other fields in the same PUT apply in the same change.
    let both = alice
        .put(
            &path(&app, "alice", id, ""),
            json!({"completed": true, "title": "water plants"}),
        )
        .await
        .good(StatusCode::OK);
    advanced(&both, "2026-03-10T13:00:00.000000Z", 4);
    assert_eq!(both["title"], "water plants");
    // Un-completing a pending task changes nothing about its series.
    let list = alice
        .get(&alice.tasks_path("?status=pending"))
        .await
        .good(StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

async fn graphql_completing_advances_by_each_mutation(app: TestApp) {
    let alice = app.user("alice");
    let id = id_of(
        &repeating(
            &app,
            "alice",
            "FREQ=WEEKLY;BYDAY=MO,FR",
            "UTC",
            "2026-11-23T09:00:00Z",
        )
        .await,
    );
    let fields = "{ dueDate completed completedAt version recurrence }";
    let toggle = format!("mutation($id: ID!) {{ toggleTask(id: $id) {fields} }}");
    let set =
        format!("mutation($id: ID!) {{ setTaskCompleted(id: $id, completed: true) {fields} }}");
    let update = format!(
        "mutation($id: ID!) {{ updateTask(id: $id, input: {{completed: true}}) {fields} }}"
    );
    let vars = json!({"id": id.to_string()});
    let data = alice.graphql_data(&toggle, vars.clone()).await;
    advanced(&data["toggleTask"], "2026-11-27T09:00:00.000000Z", 2);
    let data = alice.graphql_data(&set, vars.clone()).await;
    advanced(&data["setTaskCompleted"], "2026-11-30T09:00:00.000000Z", 3);
    let data = alice.graphql_data(&update, vars.clone()).await;
    advanced(&data["updateTask"], "2026-12-04T09:00:00.000000Z", 4);
    // setTaskCompleted(false) on the pending task changes nothing.
    let unset =
        format!("mutation($id: ID!) {{ setTaskCompleted(id: $id, completed: false) {fields} }}");
    let data = alice.graphql_data(&unset, vars).await;
    assert_eq!(data["setTaskCompleted"]["version"], 4);
}

async fn last_occurrence_completes_for_good(app: TestApp) {
    let alice = app.user("alice");
    let complete = |id: i64| {
        let (alice, at) = (app.user("alice"), path(&app, "alice", id, "/complete"));
        async move { alice.patch(&at).await.good(StatusCode::OK) }
    };
    // COUNT=2: the first due date and one more.
    let id = id_of(
        &repeating(
            &app,
            "alice",
            "FREQ=DAILY;COUNT=2",
            "UTC",
            "2026-11-24T09:00:00Z",
        )
        .await,
    );
    advanced(&complete(id).await, "2026-11-25T09:00:00.000000Z", 2);
    let done = complete(id).await;
    assert_eq!(
        (done["completed"].clone(), done["due_date"].clone()),
        (json!(true), json!("2026-11-25T09:00:00.000000Z"))
    );
    // Toggling again makes it pending at that last due date; completing ends it again.
    let back = complete(id).await;
    assert_eq!(
        (back["completed"].clone(), back["completed_at"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(complete(id).await["completed"], true);
    // COUNT=1, and UNTIL already past when set (accepted): the first completion ends it.
    for rule in ["FREQ=WEEKLY;COUNT=1", "FREQ=DAILY;UNTIL=20200101"] {
        let id = id_of(&repeating(&app, "alice", rule, "UTC", "2026-11-24T09:00:00Z").await);
        let done = alice
            .put(&path(&app, "alice", id, ""), json!({"completed": true}))
            .await
            .good(StatusCode::OK);
        assert_eq!(done["completed"], true, "{rule}: {done}");
        assert_eq!(done["due_date"], "2026-11-24T09:00:00.000000Z", "{rule}");
    }
    // UNTIL past, but the due date further past: the occurrences up to UNTIL remain.
    let id = id_of(
        &repeating(
            &app,
            "alice",
            "FREQ=DAILY;UNTIL=20200102T090000Z",
            "UTC",
            "2020-01-01T09:00:00Z",
        )
        .await,
    );
    advanced(&complete(id).await, "2020-01-02T09:00:00.000000Z", 2);
    assert_eq!(complete(id).await["completed"], true);
}

async fn short_months_and_leap_days_through_the_api(app: TestApp) {
    let alice = app.user("alice");
    let monthly = id_of(
        &repeating(
            &app,
            "alice",
            "FREQ=MONTHLY",
            "Europe/Berlin",
            "2027-01-31T09:00:00Z",
        )
        .await,
    );
    let mut dues = Vec::new();
    for _ in 0..3 {
        let task = alice
            .patch(&path(&app, "alice", monthly, "/complete"))
            .await
            .good(StatusCode::OK);
        dues.push(task["due_date"].as_str().unwrap_or_default().to_owned());
    }
    // 10:00 Berlin time on the 31st or the month's last day (summer time from 28 March).
    assert_eq!(
        dues,
        [
            "2027-02-28T09:00:00.000000Z",
            "2027-03-31T08:00:00.000000Z",
            "2027-04-30T08:00:00.000000Z"
        ]
    );
    let yearly =
        id_of(&repeating(&app, "alice", "FREQ=YEARLY", "UTC", "2028-02-29T12:00:00Z").await);
    let task = alice
        .patch(&path(&app, "alice", yearly, "/complete"))
        .await
        .good(StatusCode::OK);
    assert_eq!(task["due_date"], "2029-02-28T12:00:00.000000Z");
}

async fn due_date_changes_restart_or_stop_the_series(app: TestApp) {
    let alice = app.user("alice");
    let id = id_of(
        &repeating(
            &app,
            "alice",
            "FREQ=DAILY;COUNT=2",
            "America/New_York",
            "2026-11-24T14:00:00Z",
        )
        .await,
    );
    let at = path(&app, "alice", id, "");
    advanced(
        &alice
            .patch(&path(&app, "alice", id, "/complete"))
            .await
            .good(StatusCode::OK),
        "2026-11-25T14:00:00.000000Z",
        2,
    );
    // A new due date starts the series anew: COUNT counts from it.
    alice
        .put(&at, json!({"due_date": "2026-12-01T14:00:00Z"}))
        .await
        .good(StatusCode::OK);
    advanced(
        &alice
            .put(&at, json!({"completed": true}))
            .await
            .good(StatusCode::OK),
        "2026-12-02T14:00:00.000000Z",
        4,
    );
    // Completing with a new due date completes the occurrence on it.
    let task = alice
        .put(
            &at,
            json!({"completed": true, "due_date": "2026-12-10T14:00:00Z"}),
        )
        .await
        .good(StatusCode::OK);
    advanced(&task, "2026-12-11T14:00:00.000000Z", 5);
    // Sending the same values back restarts nothing (COUNT=2 is used up by the next one).
    let same = json!({"recurrence": "FREQ=DAILY;COUNT=2", "time_zone": "America/New_York", "due_date": "2026-12-11T14:00:00Z"});
    alice.put(&at, same).await.good(StatusCode::OK);
    assert_eq!(
        alice
            .put(&at, json!({"completed": true}))
            .await
            .good(StatusCode::OK)["completed"],
        true
    );
    // Clearing the due date of a repeating task stops it repeating (the zone stays)...
    let id = id_of(
        &repeating(
            &app,
            "alice",
            "FREQ=DAILY",
            "Asia/Tokyo",
            "2026-11-24T00:00:00Z",
        )
        .await,
    );
    let at = path(&app, "alice", id, "");
    let cleared = alice
        .put(&at, json!({"due_date": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (cleared["recurrence"].clone(), cleared["time_zone"].clone()),
        (Value::Null, json!("Asia/Tokyo"))
    );
    assert_eq!(
        alice
            .patch(&path(&app, "alice", id, "/complete"))
            .await
            .good(StatusCode::OK)["completed"],
        true
    );
    // ...unless the same request sets a recurrence: refused.
    let id = id_of(&repeating(&app, "alice", "FREQ=DAILY", "UTC", "2026-11-24T00:00:00Z").await);
    let body = json!({"due_date": null, "recurrence": "FREQ=WEEKLY"});
    refused(
        alice.put(&path(&app, "alice", id, ""), body).await,
        "recurrence",
    );
    // recurrence: null stops it too; completing then completes for good.
    let stopped = alice
        .put(
            &path(&app, "alice", id, ""),
            json!({"recurrence": null, "completed": true}),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (stopped["completed"].clone(), stopped["recurrence"].clone()),
        (json!(true), Value::Null)
    );
}

async fn events_and_sync_see_the_advance(app: TestApp) {
    let alice = app.user("alice");
    let mut socket = live::socket(&app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "1",
        "subscription { taskEvents { kind task { id dueDate completed completedAt version } } }",
    )
    .await;
    live::registered(&app, "alice", &mut socket).await;
    let id = id_of(&repeating(&app, "alice", "FREQ=DAILY", "UTC", "2026-11-24T09:00:00Z").await);
    let before = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    let cursor = before["cursor"].as_str().expect("a cursor").to_owned();
    alice
        .patch(&path(&app, "alice", id, "/complete"))
        .await
        .good(StatusCode::OK);
    assert_eq!(live::next_event(&mut socket).await["kind"], "CREATED");
    let event = live::next_event(&mut socket).await;
    assert_eq!(event["kind"], "UPDATED", "{event}");
    advanced(&event["task"], "2026-11-25T09:00:00.000000Z", 2);
    // One change: sync after the creation holds the task once, advanced.
    let since = alice.tasks_path(&format!("/changes?since={cursor}"));
    let sync = alice.get(&since).await.good(StatusCode::OK);
    assert_eq!(sync["changed"].as_array().map(Vec::len), Some(1), "{sync}");
    advanced(&sync["changed"][0], "2026-11-25T09:00:00.000000Z", 2);
}

async fn keyed_replay_does_not_advance_twice(app: TestApp) {
    let alice = app.user("alice");
    let id = id_of(&repeating(&app, "alice", "FREQ=DAILY", "UTC", "2026-11-24T09:00:00Z").await);
    let auth = format!("Bearer {}", app.token("alice"));
    let complete = path(&app, "alice", id, "/complete");
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "done-1"),
    ];
    let first = app
        .raw(Method::PATCH, &complete, &headers, None)
        .await
        .good(StatusCode::OK);
    let again = app.raw(Method::PATCH, &complete, &headers, None).await;
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(again.good(StatusCode::OK), first);
    let set = "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true, idempotencyKey: \"done-2\") { dueDate version } }";
    let vars = json!({"id": id.to_string()});
    let one = alice.graphql_data(set, vars.clone()).await;
    let two = alice.graphql_data(set, vars).await;
    assert_eq!(one, two);
    let now = alice
        .get(&path(&app, "alice", id, ""))
        .await
        .good(StatusCode::OK);
    advanced(&now, "2026-11-26T09:00:00.000000Z", 3);
}

async fn another_users_repeating_task_is_404(app: TestApp) {
    let id = id_of(&repeating(&app, "alice", "FREQ=DAILY", "UTC", "2026-11-24T09:00:00Z").await);
    let bob = app.user("bob");
    let at = format!("/api/bob/tasks/{id}");
    bob.patch(&format!("{at}/complete"))
        .await
        .good(StatusCode::NOT_FOUND);
    bob.put(&at, json!({"completed": true, "recurrence": "FREQ=WEEKLY"}))
        .await
        .good(StatusCode::NOT_FOUND);
    let body = bob
        .graphql(
            "mutation($id: ID!) { toggleTask(id: $id) { id } }",
            json!({"id": id.to_string()}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let task = app
        .user("alice")
        .get(&path(&app, "alice", id, ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (task["version"].clone(), task["due_date"].clone()),
        (json!(1), json!("2026-11-24T09:00:00.000000Z"))
    );
}

async fn openapi_documents_the_new_body_fields(app: TestApp) {
    let doc = app
        .anonymous()
        .get("/openapi.json")
        .await
        .good(StatusCode::OK);
    let schemas = &doc["components"]["schemas"];
    for body in ["TaskCreate", "TaskUpdate"] {
        let props = &schemas[body]["properties"];
        for field in ["recurrence", "time_zone"] {
            let text = props[field]["description"].as_str().unwrap_or_default();
            assert!(!text.is_empty(), "{body}.{field}: {}", props[field]);
        }
        assert_eq!(props["recurrence"]["maxLength"], 200, "{body}");
    }
    let task = &schemas["Task"]["properties"];
    assert!(
        task["recurrence"].is_object() && task["time_zone"].is_object(),
        "{task}"
    );
}

async fn concurrent_completions_each_advance_once(app: TestApp) {
    let id = id_of(&repeating(&app, "alice", "FREQ=DAILY", "UTC", "2026-11-24T09:00:00Z").await);
    let complete = path(&app, "alice", id, "/complete");
    let alice = app.user("alice");
    let done = futures::future::join_all((0..6).map(|_| alice.patch(&complete))).await;
    let mut versions: Vec<i64> = done
        .iter()
        .map(|r| {
            r.good(StatusCode::OK)["version"]
                .as_i64()
                .unwrap_or_default()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4, 5, 6, 7]);
    let task = alice
        .get(&path(&app, "alice", id, ""))
        .await
        .good(StatusCode::OK);
    advanced(&task, "2026-11-30T09:00:00.000000Z", 7);
}
