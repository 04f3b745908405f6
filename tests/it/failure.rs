//! Failure behaviour against a PostgreSQL the test stops and restarts under a running server:
//! requests answer 503 `{"detail": "Service unavailable"}` within DB_TIMEOUT (never hang, never
//! 500), readiness says the database is down, the service recovers by itself, and no write
//! that was acknowledged is lost. And readiness during an outage answers every probe within
//! READY_TIMEOUT, on both backends: PostgreSQL behind a proxy that stops forwarding (the
//! database answers nothing), SQLite locked by another process while the pool's one
//! connection waits on it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::cluster::PgCluster;
use crate::common::proxy::TcpProxy;
use crate::common::{Backend, TestApp, pg};
use reqwest::StatusCode;
use serde_json::json;

/// The pool wait the server is given; every answer must come within it plus this slack.
const DB_TIMEOUT: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_secs(3);
const WRITERS: usize = 4;

/// What one write attempt saw.
struct Attempt {
    status: StatusCode,
    took: Duration,
    body: String,
}

/// How many tasks each writer has stored.
async fn stored_per_writer(app: &TestApp) -> Vec<usize> {
    let mut stored = Vec::new();
    for i in 0..WRITERS {
        let user = app.user(&format!("writer{i}"));
        let list = user.get(&user.tasks_path("")).await.good(StatusCode::OK);
        stored.push(list.as_array().map_or(0, Vec::len));
    }
    stored
}

/// Writes tasks as `user` until `stop`, recording every attempt.
async fn write_until(app: Arc<TestApp>, user: String, stop: Arc<AtomicBool>) -> Vec<Attempt> {
    let client = app.user(&user);
    let mut attempts = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let started = Instant::now();
        let response = client
            .post(
                &client.tasks_path(""),
                json!({ "title": format!("{user} #{n}") }),
            )
            .await;
        attempts.push(Attempt {
            status: response.status,
            took: started.elapsed(),
            body: response.text,
        });
        if response.status != StatusCode::CREATED {
            // Do not spin while the database is down.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    attempts
}

/// A PostgreSQL of the test's own (`PgCluster`: initdb, TLS, stopped and started under the
/// server), so the time is mostly that cluster's: initdb and two starts, a few seconds each on
/// a loaded machine, and the outage's requests, each bounded by DB_TIMEOUT (2 s, the
/// shortest the pool's check-outs are meant to wait).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_answers_503_and_recovers_without_losing_writes() {
    let cluster = PgCluster::start_new().await;
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&cluster.url("localhost", "sslmode=require"))
        .arg("--db-timeout", "2s")
        .arg("--rate-limit", "0")
        .start()
        .await
        .expect("the app starts");
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| tokio::spawn(write_until(app.clone(), format!("writer{i}"), stop.clone())))
        .collect();
    // The outage begins once every writer has a write stored (they are under way).
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored_per_writer(&app).await.contains(&0) {
        assert!(
            Instant::now() < deadline,
            "the writers wrote nothing in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    cluster.stop().await;
    let reader = app.user("reader");
    for _ in 0..3 {
        let started = Instant::now();
        let response = reader.get(&reader.tasks_path("")).await;
        let took = started.elapsed();
        response.detail(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
        assert!(
            took <= DB_TIMEOUT + SLACK,
            "a request took {took:?} with the database down"
        );
        eprintln!("measured: 503 with the database down after {took:?}");
    }
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert_eq!(ready.json()["checks"]["database"], "unavailable");
    app.anonymous().get("/healthz").await.good(StatusCode::OK);

    // GraphQL says the same in its own shape.
    let started = Instant::now();
    let body = reader.graphql("{ tasks { id } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body}"
    );
    assert!(started.elapsed() <= DB_TIMEOUT + SLACK);

    cluster.start().await;
    let restarted = Instant::now();
    // Recovery needs nothing from us: the next requests get fresh connections.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = reader.get(&reader.tasks_path("")).await;
        if response.status == StatusCode::OK {
            eprintln!(
                "measured: first 200 {:?} after the database was back",
                restarted.elapsed()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery: {} {}",
            response.status,
            response.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Ready again by itself: the events listener reconnects on its own backoff, so a probe
    // may still say `"events":"failing"` for a moment after the first 200 above.
    ready_within(&app, Duration::from_secs(30), "again after the outage").await;
    // The writers stop once every one of them has stored a write since the recovery.
    let recovered = stored_per_writer(&app).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = stored_per_writer(&app).await;
        if now.iter().zip(&recovered).all(|(now, then)| now > then) {
            break;
        }
        assert!(Instant::now() < deadline, "no writes after the recovery");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);

    let mut unavailable = 0;
    let mut created_after_outage = 0;
    for (i, writer) in writers.into_iter().enumerate() {
        let attempts = writer.await.expect("writer task");
        let user = app.user(&format!("writer{i}"));
        let stored: BTreeSet<String> = user
            .get(&user.tasks_path(""))
            .await
            .good(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect();
        let mut seen_503 = false;
        for attempt in &attempts {
            assert!(
                attempt.took <= DB_TIMEOUT + SLACK,
                "a write took {:?}",
                attempt.took
            );
            match attempt.status {
                StatusCode::CREATED => {
                    let task: serde_json::Value = serde_json::from_str(&attempt.body).unwrap();
                    let title = task["title"].as_str().unwrap();
                    assert!(
                        stored.contains(title),
                        "acknowledged write {title:?} was lost"
                    );
                    created_after_outage += usize::from(seen_503);
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!(attempt.body, r#"{"detail":"Service unavailable"}"#);
                    unavailable += 1;
                    seen_503 = true;
                }
                other => panic!("a write got {other}: {}", attempt.body),
            }
        }
    }
    assert!(unavailable > 0, "no write met the outage");
    // The outage shows in the pool metrics: check-outs that gave up after DB_TIMEOUT.
    let metrics = app.anonymous().get("/metrics").await.text;
    let timeouts: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("db_pool_wait_timeouts_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no db_pool_wait_timeouts_total in:\n{metrics}"));
    assert!(timeouts > 0.0, "{metrics}");
    // A check-out that DB_TIMEOUT cut short is no longer counted as waiting.
    let waiting: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("db_pool_waiting "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no db_pool_waiting in:\n{metrics}"));
    assert_eq!(waiting, 0.0, "{metrics}");
    assert!(
        created_after_outage > 0,
        "no write succeeded after the database came back"
    );
}

backend_cases!(readiness_answers_within_its_own_bound_during_an_outage);

/// READY_TIMEOUT as the test sets it; DB_TIMEOUT is set far above it.
const READY_TIMEOUT: Duration = Duration::from_millis(500);
/// Scheduling and HTTP on a shared, loaded machine, on top of READY_TIMEOUT: the bound
/// (3.5 s) stays well under the 10 s DB_TIMEOUT a probe that waited for the pool would take.
const READY_SLACK: Duration = Duration::from_secs(3);

/// What makes the outage, and ends it.
enum Outage {
    /// PostgreSQL behind a proxy that stops forwarding.
    Silent(TcpProxy),
    /// A SQLite file whose write lock another connection takes (once the server made it).
    Locked(Option<diesel::SqliteConnection>, tempfile::TempDir),
}

async fn readiness_answers_within_its_own_bound_during_an_outage(backend: Backend) {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    // The PostgreSQL database lives as long as the test.
    let mut _database = None;
    let (url, mut outage) = match backend {
        Backend::Postgres => {
            let Some(db) = pg::TempDatabase::migrated().await else {
                return;
            };
            let proxy = TcpProxy::start(&pg::address_of(&pg::admin_url())).await;
            let url = proxy.url(&db.url);
            _database = Some(db);
            (url, Outage::Silent(proxy))
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = crate::common::template::sqlite_url(dir.path());
            (url, Outage::Locked(None, dir))
        }
    };
    let ready_timeout = format!("{}ms", READY_TIMEOUT.as_millis());
    let app = TestApp::builder(backend)
        .database_url(&url)
        .arg("--ready-timeout", &ready_timeout)
        .arg("--db-timeout", "10s")
        .arg("--db-pool-size", "1")
        .arg("--statement-timeout", "30s")
        .start()
        .await
        .expect("the app starts");
    // Ready before the outage. A probe may meet the pool's one connection still being made,
    // or taken by a job, for longer than READY_TIMEOUT on a loaded machine: asked again.
    ready_within(&app, Duration::from_secs(5), "before the outage").await;

    // The outage begins.
    let mut writer = None;
    match &mut outage {
        Outage::Silent(proxy) => proxy.stall(),
        Outage::Locked(lock, dir) => {
            let path = dir.path().join("todo.db");
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap())
                .expect("a connection of the test's own");
            // The server's jobs (reminders, webhooks) write now and then: wait for their lock.
            conn.batch_execute("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE")
                .expect("the write lock");
            *lock = Some(conn);
            // A write takes the pool's one connection and waits for the lock with it.
            let (client, url, token) = (
                app.client.clone(),
                format!("{}/api/alice/tasks", app.base),
                app.token("alice"),
            );
            writer = Some(tokio::spawn(async move {
                let sent = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"title": "waits"}));
                sent.send().await.expect("the write answers").status()
            }));
        }
    }
    let mut unavailable = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let ready = app.anonymous().get("/readyz").await;
        let took = started.elapsed();
        assert!(
            took <= READY_TIMEOUT + READY_SLACK,
            "/readyz took {took:?} during the outage: {}",
            ready.text
        );
        if ready.status == StatusCode::SERVICE_UNAVAILABLE {
            let body = ready.json();
            assert_eq!(body["status"], "unavailable", "{body}");
            assert_eq!(body["checks"]["database"], "unavailable", "{body}");
            eprintln!("measured: /readyz answered 503 in {took:?} during the outage");
            unavailable += 1;
            if unavailable == 3 {
                break;
            }
        } else {
            // The outage may not have reached the pool yet (the write on its way).
            assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
        }
    }
    assert_eq!(
        unavailable, 3,
        "/readyz never said the database was unavailable"
    );

    // The outage ends: ready again, by itself.
    match &mut outage {
        Outage::Silent(proxy) => proxy.resume(),
        Outage::Locked(lock, _) => {
            if let Some(conn) = lock {
                conn.batch_execute("COMMIT").expect("the lock is released");
            }
        }
    }
    if let Some(writer) = writer {
        assert_eq!(writer.await.unwrap(), StatusCode::CREATED);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.anonymous().get("/readyz").await.status != StatusCode::OK {
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asks `/readyz` every 200 ms until it answers 200, within `within`; until then only a 503
/// may answer.
async fn ready_within(app: &TestApp, within: Duration, when: &str) {
    let deadline = Instant::now() + within;
    loop {
        let ready = app.anonymous().get("/readyz").await;
        if ready.status == StatusCode::OK {
            return;
        }
        assert_eq!(
            ready.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            ready.text
        );
        assert!(
            Instant::now() < deadline,
            "not ready {when}: {}",
            ready.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
