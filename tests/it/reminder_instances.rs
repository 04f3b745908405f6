//! Reminders across instances, restarts and writers (issue 43): two instances on one
//! PostgreSQL fire each reminder once (one `reminded_at`, one version, one `REMINDER` on each
//! stream, whichever instance it is on); reminders that came due while no instance ran fire at
//! the next start, once; a reminder another program writes fires like the server's own, and
//! on PostgreSQL another program that moves a fired reminder re-arms it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::binary::Binary;
use crate::common::live::SseReader;
use crate::common::other_writer::{Shared, TwoInstances, quote};
use crate::common::{Backend, TestApp, http_client, pg, token_for};
use crate::reminders::{in_secs, sse_reminders};

backend_cases!(
    reminders_due_while_no_instance_ran_fire_at_the_next_start,
    another_programs_reminders_fire_too,
);

async fn events(app: &TestApp, user: &str) -> SseReader {
    let sse = SseReader::open(app, user, &format!("/api/{user}/tasks/events"), &[]).await;
    assert_eq!(sse.response.status(), StatusCode::OK);
    sse
}

/// `ids`' reminders, sorted: each once.
fn ids_of(reminders: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = reminders
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// Polls `user`'s tasks until every one has fired (at most `within`); returns them.
async fn all_fired(app: &TestApp, user: &str, within: Duration) -> Vec<Value> {
    let client = app.user(user);
    let until = tokio::time::Instant::now() + within;
    loop {
        let all = client
            .get(&client.tasks_path(""))
            .await
            .good(StatusCode::OK);
        let tasks = all.as_array().expect("tasks").clone();
        if tasks.iter().all(|t| t["reminded_at"].is_string()) {
            return tasks;
        }
        assert!(tokio::time::Instant::now() < until, "not all fired: {all}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two instances (each running the reminder job) on one database, a stream on each, tasks
/// written through both: every reminder reaches both streams exactly once, and each task
/// changed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_fire_each_reminder_once() {
    let Some(both) = TwoInstances::start().await else {
        return;
    };
    let (a, b) = (&both.a, &both.b);
    let (mut on_a, mut on_b) = (events(a, "alice").await, events(b, "alice").await);
    let at = in_secs(1);
    let mut ids = Vec::new();
    for n in 0..20 {
        let app = if n % 2 == 0 { &a } else { &b };
        let alice = app.user("alice");
        let task = alice
            .post(
                &alice.tasks_path(""),
                json!({"title": format!("t{n}"), "remind_at": at}),
            )
            .await
            .good(StatusCode::CREATED);
        ids.push(task["id"].as_i64().unwrap());
    }
    // Well past the time: what each stream got by then is all it gets.
    let got_a = sse_reminders(&mut on_a, Duration::from_secs(5)).await;
    let got_b = sse_reminders(&mut on_b, Duration::from_secs(1)).await;
    assert_eq!(ids_of(&got_a), ids, "instance a's stream");
    assert_eq!(ids_of(&got_b), ids, "instance b's stream");
    for task in all_fired(a, "alice", Duration::from_secs(5)).await {
        assert_eq!(task["version"], 2, "fired once: {task}");
    }
}

/// An instance takes reminders due in a few seconds and is killed before their time; the
/// next instance, started after it, fires each once.
async fn reminders_due_while_no_instance_ran_fire_at_the_next_start(backend: Backend) {
    let pg = match backend {
        Backend::Postgres => match pg::TempDatabase::migrated().await {
            Some(db) => Some(db),
            None => return,
        },
        Backend::Sqlite => None,
    };
    let env: Vec<(&str, &str)> = pg
        .iter()
        .map(|db| ("DATABASE_URL", db.url.as_str()))
        .collect();
    let mut first = Binary::start(&env).await;
    let (client, token) = (http_client(), token_for("alice"));
    let at = in_secs(3);
    for title in ["a", "b", "c"] {
        let created = client
            .post(format!("{}/api/alice/tasks", first.base()))
            .bearer_auth(&token)
            .json(&json!({"title": title, "remind_at": at}))
            .send()
            .await
            .expect("create");
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(10)).await;
    let due: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(500)).await;
    let url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", first.dir().join("todo.db").display()),
    };
    let second = TestApp::builder(backend)
        .database_url(&url)
        .start()
        .await
        .expect("restart");
    let tasks = all_fired(&second, "alice", Duration::from_secs(10)).await;
    assert_eq!(tasks.len(), 3);
    for task in tasks {
        assert_eq!(task["version"], 2, "fired once: {task}");
    }
}

/// A task another program inserts with a past reminder fires (its owner's stream gets it);
/// on PostgreSQL, moving the fired reminder in plain SQL re-arms it and it fires again.
async fn another_programs_reminders_fire_too(backend: Backend) {
    let Some(db) = Shared::start(backend).await else {
        return;
    };
    let mut sse = events(&db.app, "alice").await;
    let (past, now) = match backend {
        Backend::Postgres => ("now() - interval '1 minute'", "now()"),
        Backend::Sqlite => ("'2020-01-01 00:00:00'", "'2026-11-24 10:00:00'"),
    };
    db.other_writer(&format!(
        "INSERT INTO tasks (user_id, title, completed, created_at, updated_at, remind_at)
         VALUES ({}, 'imported', FALSE, {now}, {now}, {past})",
        quote("alice")
    ))
    .await;
    let got = sse_reminders(&mut sse, Duration::from_secs(4)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["task"]["title"], "imported");
    if backend == Backend::Postgres {
        db.other_writer("UPDATE tasks SET remind_at = now() - interval '1 second'")
            .await;
        let again = sse_reminders(&mut sse, Duration::from_secs(4)).await;
        assert_eq!(again.len(), 1, "re-armed: {again:?}");
    }
}
