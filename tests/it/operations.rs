//! Operating behaviour over real HTTP: request ids, 500 bodies, health, metrics, CORS, body
//! size, request timeout, rate limit, connection cap, settings, and the binary's JSON logs.
//! What touches the database runs on SQLite and PostgreSQL; what cannot depend on it (CORS,
//! limits, settings) on SQLite.

use std::time::{Duration, Instant};

use crate::common::binary::Binary;
use crate::common::{Backend, SECRET, TestApp, pg};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

backend_tests!(
    request_ids_are_kept_or_made_and_echoed,
    health_and_readiness,
    metrics_by_route_template_pool_and_graphql_operation,
);

async fn sqlite_app(args: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(Backend::Sqlite);
    for (flag, value) in args {
        builder = builder.arg(flag, value);
    }
    builder.start().await.expect("SQLite test app")
}

async fn request_ids_are_kept_or_made_and_echoed(app: TestApp) {
    let kept = app
        .raw(
            Method::GET,
            "/healthz",
            &[("x-request-id", "lb-7f3a_9:2")],
            None,
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some("lb-7f3a_9:2"));

    let made = app.raw(Method::GET, "/healthz", &[], None).await;
    let id = made.header("x-request-id").expect("an id is made");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    // An id the logs could not carry safely is replaced.
    let long = "x".repeat(200);
    for odd in [long.as_str(), "has space", ""] {
        let replaced = app
            .raw(Method::GET, "/healthz", &[("x-request-id", odd)], None)
            .await;
        let id = replaced.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{odd:?} became {id:?}");
    }

    // Errors carry it too.
    let denied = app
        .raw(
            Method::GET,
            "/api/alice/tasks",
            &[("x-request-id", "req-401")],
            None,
        )
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    assert_eq!(denied.header("x-request-id"), Some("req-401"));
}

/// A database this test can break: (URL, what keeps it alive).
async fn own_database(backend: Backend) -> Option<(String, Box<dyn std::any::Any>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = crate::common::template::sqlite_url(dir.path());
            Some((url, Box::new(dir)))
        }
        Backend::Postgres => {
            let db = pg::TempDatabase::migrated().await?;
            Some((db.url.clone(), Box::new(db)))
        }
    }
}

/// Drops the tasks table under the running app: every task query then fails unexpectedly.
async fn drop_tasks_table(url: &str) {
    if let Some(path) = url.strip_prefix("sqlite://") {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut conn = diesel::SqliteConnection::establish(path).unwrap();
        // The server's jobs (reminders, webhooks) write now and then: wait for their lock.
        conn.batch_execute("PRAGMA busy_timeout = 10000; DROP TABLE tasks")
            .unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        // CASCADE: the tag index and the subtasks' parent key refer to it.
        client
            .batch_execute("DROP TABLE tasks CASCADE")
            .await
            .unwrap();
    }
}

async fn a_500_says_only_internal_server_error_and_the_request_id(backend: Backend) {
    let Some((url, _keep)) = own_database(backend).await else {
        return;
    };
    let app = TestApp::builder(backend)
        .database_url(&url)
        .start()
        .await
        .unwrap();
    let alice = app.user("alice");
    alice.create_task("Before").await;
    drop_tasks_table(&url).await;

    let response = alice.get(&alice.tasks_path("")).await;
    assert_eq!(
        response.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        response.text
    );
    let id = response.header("x-request-id").unwrap();
    assert_eq!(
        response.json(),
        json!({"detail": "Internal server error", "request_id": id})
    );

    let token = format!("Bearer {}", app.token("alice"));
    let headers = [
        ("authorization", token.as_str()),
        ("x-request-id", "bug-report-42"),
    ];
    let response = app
        .raw(Method::GET, "/api/alice/tasks", &headers, None)
        .await;
    assert_eq!(response.json()["request_id"], "bug-report-42");
    assert!(
        !response.text.contains("tasks"),
        "internal detail leaked: {}",
        response.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_error_body_on_sqlite() {
    a_500_says_only_internal_server_error_and_the_request_id(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_error_body_on_postgres() {
    a_500_says_only_internal_server_error_and_the_request_id(Backend::Postgres).await;
}

async fn health_and_readiness(app: TestApp) {
    let health = app.anonymous().get("/healthz").await;
    assert_eq!(health.good(StatusCode::OK), json!({"status": "ok"}));
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(
        ready.good(StatusCode::OK),
        json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok", "storage": "ok", "jwks": "ok", "events": "ok", "pooler": "ok"}})
    );
    assert!(
        ready
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_the_jwks_is_loaded() {
    // Nothing listens there: the first fetch fails (logged, not fatal) and keys stay unloaded.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = sqlite_app(&[("--better-auth-url", &url), ("--jwks-fetch-timeout", "1s")]).await;
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert_eq!(
        ready.json(),
        json!({"status": "unavailable", "checks": {"database": "ok", "migrations": "ok", "storage": "ok", "jwks": "not_loaded", "events": "ok", "pooler": "ok"}})
    );
    app.anonymous().get("/healthz").await.good(StatusCode::OK);
    let metrics = app.anonymous().get("/metrics").await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("jwks_refreshes_total{outcome=\"error\"}")),
        "the failed fetch is not counted:\n{metrics}"
    );
}

fn metric_lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(name)).collect()
}

async fn metrics_by_route_template_pool_and_graphql_operation(app: TestApp) {
    let alice = app.user("alice");
    alice.create_task("Counted").await;
    alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    alice.get(&alice.tasks_path("/")).await.good(StatusCode::OK);
    app.anonymous().get("/no/such/path").await;
    // Sent three times: parsed once, then from the document cache; counted every time.
    for _ in 0..3 {
        alice
            .graphql_data("query OpsMetricsList { tasks { id } }", json!({}))
            .await;
    }
    // Over WebSocket too, through the same pipeline.
    let mut socket = crate::common::live::socket(&app, "alice").await;
    crate::common::live::subscribe_to(&mut socket, "1", "query OpsMetricsSocket { viewer { id } }")
        .await;
    let answer = crate::common::live::next_json(&mut socket, Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_eq!(
        answer["payload"]["data"]["viewer"]["id"], "alice",
        "{answer}"
    );
    let broken = alice
        .graphql(
            "query OpsMetricsMissing { task(id: \"999999\") { id } }",
            json!({}),
        )
        .await;
    assert!(broken["data"]["task"].is_null(), "{broken}");
    let failed = alice
        .graphql("query OpsMetricsBad { task(id: \"x\") { id } }", json!({}))
        .await;
    assert!(failed["errors"].is_array(), "{failed}");

    let response = app.anonymous().get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &response.text;
    let requests = metric_lines(text, "http_requests_total{");
    let has =
        |lines: &[&str], parts: &[&str]| lines.iter().any(|l| parts.iter().all(|p| l.contains(p)));
    assert!(
        has(
            &requests,
            &[
                "method=\"GET\"",
                "route=\"/api/{user_id}/tasks\"",
                "status=\"200\""
            ]
        ),
        "{requests:#?}"
    );
    assert!(has(
        &requests,
        &[
            "method=\"POST\"",
            "route=\"/api/{user_id}/tasks\"",
            "status=\"201\""
        ]
    ));
    assert!(
        has(&requests, &["route=\"unmatched\"", "status=\"404\""]),
        "{requests:#?}"
    );
    assert!(
        !text.contains("route=\"/api/alice"),
        "a raw path became a label"
    );
    assert!(
        !text.contains("route=\"/api/{user_id}/tasks/\""),
        "the trailing-slash twin has its own label"
    );
    let buckets = metric_lines(text, "http_request_duration_seconds_bucket{");
    assert!(
        has(
            &buckets,
            &["route=\"/api/{user_id}/tasks\"", "le=\"0.005\""]
        ),
        "{buckets:#?}"
    );

    for gauge in [
        "db_pool_connections{state=\"in_use\"}",
        "db_pool_connections{state=\"idle\"}",
        "db_pool_max_connections",
        "db_pool_waiting",
        "db_pool_waits_total",
        "db_pool_wait_timeouts_total",
        "http_requests_in_flight",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(gauge)),
            "no {gauge} in:\n{text}"
        );
    }
    let operations = metric_lines(text, "graphql_operations_total{");
    let list = operations
        .iter()
        .find(|l| l.contains("operation=\"OpsMetricsList\"") && l.contains("outcome=\"ok\""))
        .unwrap_or_else(|| panic!("{operations:#?}"));
    let count: f64 = list.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "each repeated operation is counted: {list}");
    assert!(
        has(
            &operations,
            &["operation=\"OpsMetricsSocket\"", "outcome=\"ok\""]
        ),
        "{operations:#?}"
    );
    assert!(has(
        &operations,
        &["operation=\"OpsMetricsMissing\"", "outcome=\"ok\""]
    ));
    assert!(
        has(
            &operations,
            &["operation=\"OpsMetricsBad\"", "outcome=\"error\""]
        ),
        "{operations:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_listed_origins_only() {
    let app = sqlite_app(&[(
        "--cors-origins",
        "http://localhost:3000, https://app.example.com",
    )])
    .await;
    let preflight = app
        .raw(
            Method::OPTIONS,
            "/api/alice/tasks",
            &[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,content-type,if-match,idempotency-key",
                ),
            ],
            None,
        )
        .await;
    assert!(preflight.status.is_success(), "{preflight:?}");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "if-match",
        "idempotency-key",
    ] {
        assert!(allowed.contains(name), "{name} not allowed: {allowed}");
    }
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("PATCH")
    );
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );

    let token = format!("Bearer {}", app.token("alice"));
    let actual = app
        .raw(
            Method::GET,
            "/api/alice/tasks",
            &[
                ("origin", "https://app.example.com"),
                ("authorization", &token),
            ],
            None,
        )
        .await;
    assert_eq!(actual.status, StatusCode::OK);
    assert_eq!(
        actual.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let exposed = actual
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "etag",
        "location",
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "x-request-id",
    ] {
        assert!(
            exposed.split(',').any(|h| h.trim() == name),
            "{name} not exposed: {exposed}"
        );
    }

    let foreign = app
        .raw(
            Method::OPTIONS,
            "/api/alice/tasks",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "GET"),
            ],
            None,
        )
        .await;
    assert!(
        foreign.header("access-control-allow-origin").is_none(),
        "{foreign:?}"
    );

    // No allow-list: no CORS headers at all.
    let closed = sqlite_app(&[]).await;
    let response = closed
        .raw(
            Method::GET,
            "/healthz",
            &[("origin", "http://localhost:3000")],
            None,
        )
        .await;
    assert!(response.header("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413() {
    let app = sqlite_app(&[("--max-body-size", "1KiB")]).await;
    let alice = app.user("alice");
    let big = json!({"title": "t", "description": "d".repeat(2000)});
    alice
        .post(&alice.tasks_path(""), big.clone())
        .await
        .detail(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");

    // Chunked, with no Content-Length to check up front.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/alice/tasks HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.token("alice")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before it has all of it: write errors are expected.
    for _ in 0..8 {
        let _ = stream
            .write_all(format!("100\r\n{}\r\n", " ".repeat(256)).as_bytes())
            .await;
    }
    let _ = stream
        .write_all(b"d\r\n{\"title\":\"t\"}\r\n0\r\n\r\n")
        .await;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("an answer")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.ends_with(r#"{"detail":"Payload Too Large"}"#),
        "{response}"
    );

    let graphql = alice
        .request(
            Method::POST,
            "/graphql",
            Some(json!({"query": format!("{{ tasks {{ id }} }} #{}", "x".repeat(2000))})),
        )
        .await;
    graphql.detail(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");

    alice.create_task("Small enough").await;
}

/// Sends a request head promising a body that never fully comes; returns the response.
async fn stalled_post(base: &str, token: &str) -> (String, Duration) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/alice/tasks HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buffer))
        .await
        .expect("an answer within the bound")
        .unwrap();
    (
        String::from_utf8_lossy(&buffer[..read]).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_get_408() {
    let app = sqlite_app(&[("--request-timeout", "1s")]).await;
    let (response, took) = stalled_post(&app.base, &app.token("alice")).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains(r#"{"detail":"Request Timeout"}"#),
        "{response}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

async fn rate_limit_per_user_with_headers(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .arg("--rate-limit", "3")
        .arg("--rate-limit-window", "60s")
        .start()
        .await
    else {
        return;
    };
    let alice = app.user("alice");
    for _ in 0..3 {
        alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    }
    let limited = alice.get(&alice.tasks_path("")).await;
    limited.detail(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        limited.header("ratelimit-policy"),
        Some("\"per-user\";q=3;w=60")
    );
    assert_eq!(
        limited.header("ratelimit"),
        Some(format!("\"per-user\";r=0;t={retry}").as_str())
    );

    // GraphQL draws from the same bucket and says so in its own shape.
    let response = alice
        .request(
            Method::POST,
            "/graphql",
            Some(json!({"query": "{ tasks { id } }"})),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        response.text
    );
    assert!(response.header("retry-after").is_some());
    let body = response.json();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], "Too Many Requests");

    // Other users have their own bucket; unauthenticated requests spend none.
    let bob = app.user("bob");
    bob.get(&bob.tasks_path("")).await.good(StatusCode::OK);
    for _ in 0..5 {
        let response = app.anonymous().get("/api/alice/tasks").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_on_sqlite() {
    rate_limit_per_user_with_headers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_on_postgres() {
    rate_limit_per_user_with_headers(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_refills() {
    let app = sqlite_app(&[("--rate-limit", "2"), ("--rate-limit-window", "1s")]).await;
    let alice = app.user("alice");
    // Two in the bucket, then one more every half second: on a loaded machine requests
    // taking that long meet a refilled token, so the first refusal is looked for.
    let started = Instant::now();
    let mut answered = 0;
    let limited = loop {
        let response = alice.get(&alice.tasks_path("")).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        response.good(StatusCode::OK);
        answered += 1;
        assert!(answered < 5, "no request of {answered} was limited");
    };
    // Two, and one more only for each half second the requests took.
    let refilled = started.elapsed().as_millis() / 500;
    assert!(
        answered >= 2 && answered as u128 <= 2 + refilled,
        "refused after {answered} in {:?}: the bucket holds 2",
        started.elapsed()
    );
    assert_eq!(limited.header("retry-after"), Some("1"));
    // One token comes back every half second.
    tokio::time::sleep(Duration::from_millis(600)).await;
    alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
}

async fn raw_get(
    stream: &mut TcpStream,
    path: &str,
) -> Result<String, tokio::time::error::Elapsed> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_millis(800), stream.read(&mut buffer)).await?;
    Ok(String::from_utf8_lossy(&buffer[..read.unwrap()]).into_owned())
}

/// Past MAX_CONNECTIONS a client waits while every connection is busy (here, an SSE stream);
/// an idle keep-alive one would make way for it instead (`connection_slots`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait() {
    let app = sqlite_app(&[("--max-connections", "1")]).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut first = TcpStream::connect(&addr).await.unwrap();
    let stream = format!(
        "GET /api/alice/tasks/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\r\n",
        app.token("alice")
    );
    first.write_all(stream.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), first.read(&mut buffer))
        .await
        .expect("the first connection is served")
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));

    // The kernel completes the handshake, but the server does not serve the connection
    // while the first (streaming) holds the only slot.
    let mut second = TcpStream::connect(&addr).await.unwrap();
    assert!(
        raw_get(&mut second, "/healthz").await.is_err(),
        "served past the cap"
    );

    drop(first);
    let read = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buffer))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
}

#[test]
fn bad_operating_settings_name_their_variable() {
    let cases = [
        ("--cors-origins", "localhost:3000", "CORS_ORIGINS"),
        (
            "--cors-origins",
            "http://localhost:3000/app",
            "CORS_ORIGINS",
        ),
        ("--cors-origins", "*,http://localhost:3000", "CORS_ORIGINS"),
        ("--cors-max-age", "soon", "CORS_MAX_AGE"),
        ("--max-body-size", "lots", "MAX_BODY_SIZE"),
        ("--max-body-size", "0", "MAX_BODY_SIZE"),
        ("--request-timeout", "0s", "REQUEST_TIMEOUT"),
        ("--rate-limit", "-1", "RATE_LIMIT"),
        ("--rate-limit-window", "0s", "RATE_LIMIT_WINDOW"),
        ("--max-connections", "0", "MAX_CONNECTIONS"),
        ("--shutdown-timeout", "later", "SHUTDOWN_TIMEOUT"),
        ("--log-format", "xml", "LOG_FORMAT"),
    ];
    for (flag, value, variable) in cases {
        let settings = todo_api::config::settings_from_args([
            "--database-url",
            "sqlite::memory:",
            "--auth-secret",
            SECRET,
            &format!("{flag}={value}"),
        ])
        .unwrap();
        let error = settings
            .validate()
            .err()
            .unwrap_or_else(|| panic!("{flag} {value} was accepted"));
        assert!(
            error.to_string().starts_with(variable),
            "{flag} {value}: {error}"
        );
    }
}

/// Every setting the binary knows (from `--help`) is in `.env.example` and the settings
/// reference (`docs/settings.md`; both are rendered from the declarations, see
/// `config::reference`).
#[test]
fn every_setting_is_documented() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let variables: Vec<&str> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .collect();
    assert!(variables.len() > 20, "{help}");
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/settings.md")).unwrap();
    for variable in variables {
        assert!(
            example.contains(&format!("{variable}=")),
            "{variable} is not in .env.example"
        );
        assert!(
            reference.contains(&format!("`{variable}`")),
            "{variable} is not in docs/settings.md"
        );
    }
}

fn json_lines(logs: &[String]) -> Vec<Value> {
    logs.iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_on_every_line() {
    let server = Binary::start(&[("RUST_LOG", "debug")]).await;
    let client = crate::common::http_client();
    let response = client
        .get(format!("{}/api/alice/tasks", server.base()))
        .header("x-request-id", "trace-me-123")
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = json_lines(&server.logs());
        let done = lines.iter().any(|l| {
            l["fields"]["message"] == "request finished"
                && l["span"]["request_id"] == "trace-me-123"
        });
        if done {
            break lines;
        }
        assert!(Instant::now() < deadline, "no request line in {lines:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            let message = l["fields"]["message"].as_str().unwrap_or_default();
            message == "request finished" || message == "request not authenticated"
        })
        .collect();
    assert_eq!(of_request.len(), 2, "{of_request:#?}");
    for line in of_request {
        assert_eq!(line["span"]["request_id"], "trace-me-123", "{line}");
        assert_eq!(line["span"]["path"], "/api/alice/tasks", "{line}");
    }
    let finished = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request finished")
        .unwrap();
    assert_eq!(finished["fields"]["status"], 401);
}

#[test]
fn an_unknown_log_format_stops_start_up() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .env_clear()
        .env("LOG_FORMAT", "xml")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("LOG_FORMAT: expected pretty or json"),
        "{stderr}"
    );
}
