//! Wrong answers of issue 18 (9–12): due dates outside years 0001–9999 in UTC, `/dev/token`
//! for requests that name their host twice, what `/openapi.json` allows and the server
//! refused, tombstones bounded per user and pruned on a schedule, the SSE cursor error's
//! parameter, `/docs`' Content-Security-Policy, and introspection turned off.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Backend, TestApp, assert_error_at, pg};

backend_tests!(
    due_dates_leaving_years_1_to_9999_in_utc_are_refused,
    what_the_document_allows_is_accepted,
    the_sse_cursor_error_names_the_parameter_used,
);

backend_cases!(
    tombstones_are_bounded_per_user,
    tombstones_are_pruned_on_a_schedule,
);

const CREATE: &str =
    "mutation($input: CreateTaskInput!) { createTask(input: $input) { id dueDate } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateTaskInput!) { updateTask(id: $id, input: $input) { id dueDate } }";

fn graphql_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

async fn due_dates_leaving_years_1_to_9999_in_utc_are_refused(app: TestApp) {
    let alice = app.user("alice");
    let task = alice.create_task("due").await;
    let id = task["id"].as_i64().unwrap();
    for outside in [
        "0000-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:00-00:01",
        "0000-06-01T00:00:00Z",
    ] {
        let create = alice
            .post(
                &alice.tasks_path(""),
                json!({"title": "t", "due_date": outside}),
            )
            .await;
        assert_error_at(
            &create.validation(),
            json!(["body", "due_date"]),
            "value_error",
        );
        let update = alice
            .put(
                &alice.tasks_path(&format!("/{id}")),
                json!({"due_date": outside}),
            )
            .await;
        assert_error_at(
            &update.validation(),
            json!(["body", "due_date"]),
            "value_error",
        );
        let input = json!({"title": "t", "dueDate": outside});
        let body = alice.graphql(CREATE, json!({"input": input})).await;
        assert_eq!(graphql_code(&body), "BAD_USER_INPUT", "{outside}: {body}");
        let body = alice
            .graphql(
                UPDATE,
                json!({"id": id.to_string(), "input": {"dueDate": outside}}),
            )
            .await;
        assert_eq!(graphql_code(&body), "BAD_USER_INPUT", "{outside}: {body}");
    }
    // The edges are stored, and what comes back is accepted when sent back.
    for (sent, stored) in [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("0001-01-01T23:59:00+23:59", "0001-01-01T00:00:00.000000Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
        ("9999-12-31T00:00:00-23:59", "9999-12-31T23:59:00.000000Z"),
    ] {
        let created = alice
            .post(
                &alice.tasks_path(""),
                json!({"title": "edge", "due_date": sent}),
            )
            .await
            .good(StatusCode::CREATED);
        assert_eq!(created["due_date"], stored, "{sent}");
        let again = alice
            .put(
                &alice.tasks_path(&format!("/{}", created["id"])),
                json!({"due_date": created["due_date"]}),
            )
            .await
            .good(StatusCode::OK);
        assert_eq!(again["due_date"], stored);
        let input = json!({"title": "edge", "dueDate": sent});
        let data = alice.graphql_data(CREATE, json!({"input": input})).await;
        assert_eq!(data["createTask"]["dueDate"], stored, "{sent}");
    }
}

async fn what_the_document_allows_is_accepted(app: TestApp) {
    let alice = app.user("alice");
    alice.create_task("one").await;
    // Empty `cursor=` is the first page; empty `since=` is "no cursor".
    let page = alice
        .get(&alice.tasks_path("?cursor=&limit=5"))
        .await
        .good(StatusCode::OK);
    assert_eq!(page.as_array().map(Vec::len), Some(1), "{page}");
    let changes = alice
        .get(&alice.tasks_path("/changes?since="))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        changes["changed"].as_array().map(Vec::len),
        Some(1),
        "{changes}"
    );
    let stream = app
        .client
        .get(format!(
            "{}{}",
            app.base,
            alice.tasks_path("/events?since=")
        ))
        .bearer_auth(app.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    drop(stream);
    // `null` priority and category on create are the defaults.
    let created = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "nulls", "priority": null, "category": null}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(created["priority"], "none");
    assert_eq!(created["category"], "other");
    // An update still refuses them, as documented (`nullable: false`).
    let update = alice
        .put(
            &alice.tasks_path(&format!("/{}", created["id"])),
            json!({"priority": null}),
        )
        .await;
    assert_error_at(&update.validation(), json!(["body", "priority"]), "enum");
    // The document says so.
    let document = app
        .anonymous()
        .get("/openapi.json")
        .await
        .good(StatusCode::OK);
    let text = document.to_string();
    assert!(
        text.contains("none or empty: everything"),
        "since on /changes"
    );
    assert!(text.contains("Empty: the\\nfirst page") || text.contains("Empty: the first page"));
}

async fn the_sse_cursor_error_names_the_parameter_used(app: TestApp) {
    let alice = app.user("alice");
    let by_query = alice.get(&alice.tasks_path("/events?since=bad")).await;
    let detail = by_query.validation();
    assert_eq!(detail[0]["loc"][1], "since", "{detail:?}");
    let by_header = app
        .raw(
            Method::GET,
            &alice.tasks_path("/events"),
            &[
                ("authorization", &format!("Bearer {}", app.token("alice"))),
                ("last-event-id", "bad"),
            ],
            None,
        )
        .await;
    let detail = by_header.validation();
    assert_eq!(detail[0]["loc"][1], "Last-Event-ID", "{detail:?}");
}

/// (status, deleted ids) of `/changes?since=`.
async fn changes_since(app: &TestApp, since: i64) -> (StatusCode, Value) {
    let alice = app.user("alice");
    let response = alice
        .get(&alice.tasks_path(&format!("/changes?since={since}")))
        .await;
    let body = if response.status == StatusCode::OK {
        response.json()["deleted_ids"].clone()
    } else {
        Value::Null
    };
    (response.status, body)
}

/// With MAX_TASKS_PER_USER=3, a user who creates and deletes 5 tasks keeps the 3 newest
/// tombstones; a cursor from before the ones dropped is refused (410), not answered short.
async fn tombstones_are_bounded_per_user(backend: Backend) {
    let app = start_app!(backend, "--max-tasks-per-user" => "3");
    let alice = app.user("alice");
    let mut ids = Vec::new();
    for n in 0..5 {
        let task = alice.create_task(&format!("t{n}")).await;
        let id = task["id"].as_i64().unwrap();
        alice
            .delete(&alice.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::NO_CONTENT);
        ids.push(id);
    }
    // Changes 1..=10: create / delete pairs; the deletions are 2, 4, 6, 8, 10.
    assert_eq!(changes_since(&app, 0).await.0, StatusCode::GONE);
    assert_eq!(changes_since(&app, 3).await.0, StatusCode::GONE);
    let (status, deleted) = changes_since(&app, 4).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, json!(ids[2..]));
    // The SSE stream answers a too-old cursor with a RESYNC, as before.
    let stream = app
        .client
        .get(format!(
            "{}{}",
            app.base,
            alice.tasks_path("/events?since=0")
        ))
        .bearer_auth(app.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut stream = stream;
    let mut text = String::new();
    while !text.contains("RESYNC") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Tombstones in the database, read behind the server's back.
async fn tombstone_rows(backend: Backend, url: &str) -> i64 {
    let sql = "SELECT count(*) FROM task_changes WHERE deleted";
    match backend {
        Backend::Postgres => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.query_one(sql, &[]).await.unwrap().get(0)
        }
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").to_owned();
            tokio::task::spawn_blocking(move || {
                use diesel::prelude::*;
                #[derive(QueryableByName)]
                struct Count {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
                diesel::sql_query("SELECT count(*) AS n FROM task_changes WHERE deleted")
                    .get_result::<Count>(&mut conn)
                    .unwrap()
                    .n
            })
            .await
            .unwrap()
        }
    }
}

/// A user who deletes once and never syncs or deletes again: the tombstone goes after
/// TOMBSTONE_RETENTION all the same (here 1 s, pruned every second), and a cursor from before
/// it is refused (410), a later one answered.
async fn tombstones_are_pruned_on_a_schedule(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _db) = match backend {
        Backend::Sqlite => (crate::common::template::sqlite_url(dir.path()), None),
        Backend::Postgres => {
            let Some(db) = pg::TempDatabase::migrated().await else {
                return;
            };
            (db.url.clone(), Some(db))
        }
    };
    let app = TestApp::builder(backend)
        .database_url(&url)
        .arg("--tombstone-retention", "1s")
        .arg("--tombstone-prune-interval", "1s")
        .start()
        .await
        .expect("app starts");
    let alice = app.user("alice");
    let task = alice.create_task("gone").await;
    alice
        .delete(&alice.tasks_path(&format!("/{}", task["id"])))
        .await
        .good(StatusCode::NO_CONTENT);
    assert_eq!(tombstone_rows(backend, &url).await, 1);
    let started = Instant::now();
    while tombstone_rows(backend, &url).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the tombstone is still there after 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(changes_since(&app, 1).await.0, StatusCode::GONE);
    let (status, deleted) = changes_since(&app, 2).await;
    assert_eq!((status, deleted), (StatusCode::OK, json!([])));
}

async fn dev_app() -> TestApp {
    TestApp::builder(Backend::Sqlite)
        .development()
        .start()
        .await
        .expect("development app")
}

/// One raw HTTP/1.1 request; the response's status and body.
async fn raw_http1(app: &TestApp, head: &str) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body = r#"{"user_id": "alice"}"#;
    let request = format!(
        "{head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response[9..12].parse().unwrap();
    (status, response)
}

/// Requests that name their host twice (RFC 9112 §3.2, RFC 9113 §8.3.1) get a 400 and no
/// token, over HTTP/1.1 and HTTP/2; well-formed ones still sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_token_refuses_requests_naming_their_host_twice() {
    let app = dev_app().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let local = format!("localhost:{port}");
    for head in [
        format!("POST /dev/token HTTP/1.1\r\nhost: {local}\r\nhost: evil.example"),
        format!("POST /dev/token HTTP/1.1\r\nhost: evil.example\r\nhost: {local}"),
        format!("POST http://evil.example/dev/token HTTP/1.1\r\nhost: {local}"),
        format!("POST http://evil.example:{port}/dev/token HTTP/1.1\r\nhost: {local}"),
    ] {
        let (status, response) = raw_http1(&app, &head).await;
        assert_eq!(status, 400, "{head}: {response}");
        assert!(response.contains("malformed request"), "{response}");
        assert!(!response.contains("access_token"), "{response}");
    }
    let (status, response) =
        raw_http1(&app, &format!("POST /dev/token HTTP/1.1\r\nhost: {local}")).await;
    assert_eq!(status, 200, "{response}");
    let (status, response) = raw_http1(
        &app,
        &format!("POST http://{local}/dev/token HTTP/1.1\r\nhost: {local}"),
    )
    .await;
    assert_eq!(status, 200, "{response}");

    // HTTP/2: `:authority` from the URL (evil.example resolved to the server), `host` says
    // localhost.
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let h2 = crate::common::http_client_builder()
        .http2_prior_knowledge()
        .resolve("evil.example", addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let sign_in = |url: String, host: Option<String>| {
        let mut request = h2
            .post(url)
            .header("content-type", "application/json")
            .body(r#"{"user_id": "alice"}"#);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    let response = sign_in(
        format!("http://evil.example:{port}/dev/token"),
        Some(local.clone()),
    )
    .await
    .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.text().await.unwrap().contains("access_token"));
    let response = sign_in(format!("http://localhost:{port}/dev/token"), None)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// `/docs` has a Content-Security-Policy as GraphiQL has (that the page still renders under
/// it was checked in headless Chromium: docs/SECURITY.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_has_a_content_security_policy() {
    let app = TestApp::builder(Backend::Sqlite).start().await.unwrap();
    for path in ["/docs/", "/docs/swagger-initializer.js"] {
        let response = app.raw(Method::GET, path, &[], None).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        let policy = response
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"));
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }
    let page = app.raw(Method::GET, "/docs/", &[], None).await;
    assert!(!page.text.contains("<script>"), "no inline script to allow");
}

/// With GRAPHQL_INTROSPECTION=false, `__schema` and `__type` are refused with an error, and
/// validation errors name no field to guess from; with it on (the default), both work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_off_is_an_error_and_suggests_nothing() {
    let typo = "{ taks { id } }";
    let on = TestApp::builder(Backend::Sqlite).start().await.unwrap();
    let alice = on.user("alice");
    let body = alice.graphql(typo, json!({})).await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    let data = alice
        .graphql_data("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");

    let off = TestApp::builder(Backend::Sqlite)
        .arg("--graphql-introspection", "false")
        .start()
        .await
        .unwrap();
    for client in [off.user("alice"), off.anonymous()] {
        for query in [
            "{ __schema { queryType { name } } }",
            "{ __type(name: \"Task\") { name } }",
            "query { viewer { id } ...on Query { __schema { types { name } } } }",
        ] {
            let body = client.graphql(query, json!({})).await;
            assert_eq!(body["data"], Value::Null, "{query}: {body}");
            assert_eq!(
                body["errors"][0]["message"], "Introspection is disabled on this server.",
                "{query}: {body}"
            );
            assert_eq!(graphql_code(&body), "GRAPHQL_VALIDATION_FAILED");
        }
        let body = client.graphql(typo, json!({})).await;
        assert!(body["errors"].is_array(), "{body}");
        assert!(!body.to_string().contains("Did you mean"), "{body}");
        assert!(!body.to_string().contains("\"tasks\""), "{body}");
    }
    // Ordinary operations still run.
    let data = off
        .user("alice")
        .graphql_data("{ viewer { id } __typename }", json!({}))
        .await;
    assert_eq!(data["viewer"]["id"], "alice");
}
