//! Hostile clients: nothing a client sends, with or without a token, can crash, stall or lock
//! out the server, over HTTP and WebSocket alike. After every attack the server must still
//! answer `/healthz`.

use std::time::{Duration, Instant};

use crate::common::{Backend, SECRET, TestApp};
use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use todo_api::auth::{SecretKey, mint_token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

backend_tests!(
    deep_documents_are_refused_before_parsing,
    documents_at_the_nesting_bound_run,
    websocket_operations_obey_the_http_limits,
    refused_connection_init_closes_4403,
    task_lists_cost_by_their_bound,
    wrongly_shaped_variables_are_bad_user_input,
    get_honours_operation_name,
);

backend_cases!(
    idle_http2_connections_give_their_slot_back,
    the_task_cap_holds_even_under_concurrency,
    websocket_rate_limit_and_subscription_cap,
    sockets_end_when_their_token_expires,
);

/// The bound the server enforces (src/graphql/transport/nesting.rs).
const MAX_NESTING: usize = 64;

async fn assert_healthy(app: &TestApp) {
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        app.raw(Method::GET, "/healthz", &[], None),
    )
    .await
    .expect("/healthz answers within 5 s");
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
}

async fn post_graphql(app: &TestApp, body: Value) -> crate::common::TestResponse {
    let token = format!("Bearer {}", app.token("alice"));
    app.raw(
        Method::POST,
        "/graphql",
        &[
            ("content-type", "application/json"),
            ("accept", "application/graphql-response+json"),
            ("authorization", &token),
        ],
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn get_graphql(app: &TestApp, params: &[(&str, &str)]) -> crate::common::TestResponse {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let token = format!("Bearer {}", app.token("alice"));
    app.raw(
        Method::GET,
        &format!("/graphql?{query}"),
        &[
            ("accept", "application/graphql-response+json"),
            ("authorization", &token),
        ],
        None,
    )
    .await
}

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Documents nested `n` deep in each way the parser recurses.
fn deep_documents(n: usize) -> Vec<(&'static str, String)> {
    let open = |s: &str, k: usize| s.repeat(k);
    vec![
        (
            "list argument",
            format!(
                "{{ task(id: {}1{}) {{ id }} }}",
                open("[", n - 2),
                open("]", n - 2)
            ),
        ),
        (
            "input object",
            format!(
                "{{ task(id: {}1{}) {{ id }} }}",
                open("{a: ", n - 2),
                open("}", n - 2)
            ),
        ),
        (
            "selection set",
            format!("{}{}", open("{a ", n), open("}", n)),
        ),
        (
            "variable default",
            format!(
                "query Q($v: [Int] = {}1{}) {{ __typename }}",
                open("[", n - 2),
                open("]", n - 2)
            ),
        ),
        (
            "directive argument",
            format!(
                "{{ __typename @include(if: {}true{}) }}",
                open("[", n - 2),
                open("]", n - 2)
            ),
        ),
    ]
}

async fn deep_documents_are_refused_before_parsing(app: TestApp) {
    for (what, document) in deep_documents(1500) {
        let post = post_graphql(&app, json!({ "query": document })).await;
        assert_eq!(
            post.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            post.text
        );
        assert_eq!(code(&post.json()), "GRAPHQL_PARSE_FAILED", "{what}");
        let get = get_graphql(&app, &[("query", &document)]).await;
        assert_eq!(get.status, StatusCode::BAD_REQUEST, "{what}: {}", get.text);
        assert_eq!(code(&get.json()), "GRAPHQL_PARSE_FAILED", "{what}");
        assert_healthy(&app).await;
    }
    // Variables nested deeper than the bound (but within JSON's own limit).
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let body = json!({"query": "query Q($v: [Int]) { __typename }", "variables": {"v": deep}});
    let post = post_graphql(&app, body).await;
    assert_eq!(post.status, StatusCode::BAD_REQUEST, "{}", post.text);
    assert_eq!(code(&post.json()), "GRAPHQL_PARSE_FAILED");
    let get = get_graphql(
        &app,
        &[
            ("query", "query Q($v: [Int]) { __typename }"),
            ("variables", &json!({ "v": deep }).to_string()),
        ],
    )
    .await;
    assert_eq!(get.status, StatusCode::BAD_REQUEST, "{}", get.text);
    assert_eq!(code(&get.json()), "GRAPHQL_PARSE_FAILED");

    // And over WebSocket.
    let mut socket = connect_as(&app, "alice").await;
    let (_, document) = deep_documents(1500).remove(0);
    subscribe(&mut socket, "deep", &document).await;
    let error = next_json(&mut socket).await.expect("an answer");
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert_healthy(&app).await;
}

/// The largest documents that pass the bound are parsed, validated and answered (with an
/// error, since they are nonsense) without overflowing a worker's stack.
async fn documents_at_the_nesting_bound_run(app: TestApp) {
    for (what, document) in deep_documents(MAX_NESTING) {
        let post = post_graphql(&app, json!({ "query": document })).await;
        assert_ne!(
            code(&post.json()),
            "GRAPHQL_PARSE_FAILED",
            "{what}: {}",
            post.text
        );
        assert!(
            post.status.is_client_error() || post.status.is_success(),
            "{what}"
        );
        let get = get_graphql(&app, &[("query", &document)]).await;
        assert_ne!(
            code(&get.json()),
            "GRAPHQL_PARSE_FAILED",
            "{what}: {}",
            get.text
        );
    }
    let mut deep = json!(1);
    for _ in 0..MAX_NESTING - 1 {
        deep = json!([deep]);
    }
    let body = json!({"query": "query Q($v: [Int]) { __typename }", "variables": {"v": deep}});
    let post = post_graphql(&app, body).await;
    assert_ne!(code(&post.json()), "GRAPHQL_PARSE_FAILED", "{}", post.text);
    assert_healthy(&app).await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(app: &TestApp) -> Socket {
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

async fn connect_with_token(app: &TestApp, token: &str) -> Socket {
    let mut socket = open_socket(app).await;
    let payload = json!({"Authorization": format!("Bearer {token}")});
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": payload}),
    )
    .await;
    socket
}

async fn connect_as(app: &TestApp, user: &str) -> Socket {
    let mut socket = connect_with_token(app, &app.token(user)).await;
    let ack = next_json(&mut socket).await.expect("an ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    send(
        socket,
        json!({"id": id, "type": "subscribe", "payload": {"query": query}}),
    )
    .await;
}

/// What a socket got next: a JSON message, or how it closed.
#[derive(Debug)]
enum Got {
    Json(Value),
    Closed(Option<u16>, String),
}

async fn next_event(socket: &mut Socket, within: Duration) -> Got {
    loop {
        let message = tokio::time::timeout(within, socket.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Text(text))) => {
                return Got::Json(serde_json::from_str(&text).unwrap());
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(frame))) => {
                return Got::Closed(
                    frame.as_ref().map(|f| u16::from(f.code)),
                    frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                );
            }
            None | Some(Err(_)) => return Got::Closed(None, String::new()),
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

async fn next_json(socket: &mut Socket) -> Option<Value> {
    match next_event(socket, Duration::from_secs(10)).await {
        Got::Json(value) => Some(value),
        Got::Closed(..) => None,
    }
}

async fn closed_with(socket: &mut Socket, within: Duration) -> (Option<u16>, String) {
    loop {
        match next_event(socket, within).await {
            Got::Closed(code, reason) => return (code, reason),
            Got::Json(_) => continue,
        }
    }
}

async fn websocket_operations_obey_the_http_limits(app: TestApp) {
    let mut socket = connect_as(&app, "alice").await;
    // Document size (HTTP: 16 KiB).
    let big = format!("{{ __typename {} }}", " ".repeat(20_000));
    subscribe(&mut socket, "big", &big).await;
    let error = next_json(&mut socket).await.unwrap();
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "big");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    // Aliases (HTTP: 30).
    let aliases: String = (0..40).map(|i| format!("a{i}: __typename ")).collect();
    subscribe(&mut socket, "aliases", &format!("{{ {aliases} }}")).await;
    let error = next_json(&mut socket).await.unwrap();
    assert_eq!(error["type"], "error", "{error}");
    assert!(
        error["payload"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{error}"
    );
    // Depth and complexity are the schema's, as over HTTP.
    let lists: String = (0..30)
        .map(|i| format!("l{i}: tasks {{ id title }} "))
        .collect();
    subscribe(&mut socket, "complex", &format!("{{ {lists} }}")).await;
    let answer = next_json(&mut socket).await.unwrap();
    assert!(answer.to_string().contains("complex"), "{answer}");
    // The same document again (parsed once, then from the cache) is measured with each
    // operation's own variables: a small page runs, a page past the complexity limit does not.
    let paged = "query($n: Int) { tasksConnection(first: $n) { nodes { id title description \
                 completed priority category dueDate } } }";
    for (round, (first, runs)) in [(5, true), (200, false), (5, true), (200, false)]
        .into_iter()
        .enumerate()
    {
        let id = format!("paged{round}");
        send(
            &mut socket,
            json!({"id": id, "type": "subscribe",
                   "payload": {"query": paged, "variables": {"n": first}}}),
        )
        .await;
        let answer = loop {
            let message = next_json(&mut socket).await.unwrap();
            if message["id"] == id.as_str() && message["type"] != "complete" {
                break message;
            }
        };
        let refused = answer.to_string().contains("Query is too complex.");
        assert_eq!(!refused, runs, "first: {first}: {answer}");
        if runs {
            assert!(answer["payload"]["data"]["tasksConnection"]["nodes"].is_array());
        }
    }
    // A query over the socket still runs.
    subscribe(&mut socket, "ok", "{ viewer { id } }").await;
    loop {
        let message = next_json(&mut socket).await.unwrap();
        if message["id"] == "ok" && message["type"] == "next" {
            assert_eq!(message["payload"]["data"]["viewer"]["id"], "alice");
            break;
        }
    }
    // A message over WS_MAX_MESSAGE_SIZE (64 KiB) closes the socket with 1009.
    let huge = format!("{{ __typename {} }}", " ".repeat(100_000));
    subscribe(&mut socket, "huge", &huge).await;
    let (code, _) = closed_with(&mut socket, Duration::from_secs(10)).await;
    assert!(matches!(code, Some(1009) | None), "closed with {code:?}");
    assert_healthy(&app).await;
}

async fn refused_connection_init_closes_4403(app: TestApp) {
    let mut socket = connect_with_token(&app, "not-a-token").await;
    let (code, reason) = closed_with(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(code, Some(4403), "{reason}");
    // Nothing but the init before the ack: an early subscribe is 4401.
    let mut socket = open_socket(&app).await;
    subscribe(&mut socket, "1", "{ __typename }").await;
    let (code, _) = closed_with(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(code, Some(4401));
    assert_healthy(&app).await;
}

async fn websocket_rate_limit_and_subscription_cap(backend: Backend) {
    let app = start_app!(backend,
        "--rate-limit" => "5",
        "--ws-max-subscriptions-per-connection" => "3",
    );
    let mut socket = connect_as(&app, "alice").await;
    for i in 0..3 {
        subscribe(
            &mut socket,
            &format!("s{i}"),
            "subscription { taskEvents { id } }",
        )
        .await;
    }
    subscribe(&mut socket, "s3", "subscription { taskEvents { id } }").await;
    let error = next_json(&mut socket).await.unwrap();
    assert_eq!(error["id"], "s3", "{error}");
    assert_eq!(error["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    // Three subscriptions took three of alice's five requests; mutations take the rest.
    let mut refused = 0;
    for i in 0..10 {
        let id = format!("m{i}");
        send(&mut socket, json!({"id": "s0", "type": "complete"})).await;
        subscribe(
            &mut socket,
            &id,
            &format!("mutation {{ createTask(input: {{title: \"t{i}\"}}) {{ id }} }}"),
        )
        .await;
        loop {
            let message = next_json(&mut socket).await.unwrap();
            if message["id"] != id.as_str() {
                continue;
            }
            if message["type"] == "error" {
                assert_eq!(message["payload"][0]["extensions"]["code"], "RATE_LIMITED");
                refused += 1;
                break;
            }
            if message["type"] == "complete" {
                break;
            }
        }
    }
    assert!(
        refused >= 8,
        "only {refused} of 10 mutations were rate limited"
    );
    // REST agrees: alice's bucket is empty.
    let rest = app
        .user("alice")
        .get(&app.user("alice").tasks_path(""))
        .await;
    assert_eq!(rest.status, StatusCode::TOO_MANY_REQUESTS);
    assert_healthy(&app).await;
}

async fn sockets_end_when_their_token_expires(backend: Backend) {
    // A socket lives until `exp` + JWT_LEEWAY, as verification allows (issue 18): no leeway
    // here, so the 4 s token ends the socket at its `exp`, refused once a whole second is past
    // it: 4 to 5 s after it is made, room for a loaded machine to connect and initialise.
    let app = start_app!(backend, "--jwt-leeway" => "0s");
    let minted = Instant::now();
    let token = mint_token(
        &SecretKey::new(SECRET.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
        "alice",
        Duration::from_secs(4),
        None,
        None,
    )
    .unwrap();
    let mut socket = connect_with_token(&app, &token).await;
    assert_eq!(
        next_json(&mut socket).await.unwrap()["type"],
        "connection_ack"
    );
    subscribe(&mut socket, "1", "subscription { taskEvents { id } }").await;
    let started = Instant::now();
    let (code, reason) = closed_with(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(code, Some(4401), "{reason}");
    assert!(reason.contains("expired"), "{reason}");
    // Not before `exp`, and at it (not at the next re-verification, a minute on).
    assert!(
        minted.elapsed() >= Duration::from_secs(4),
        "cut {:?} after the token was made",
        minted.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_healthy(&app).await;
}

async fn the_task_cap_holds_even_under_concurrency(backend: Backend) {
    let app = start_app!(backend, "--max-tasks-per-user" => "5", "--rate-limit" => "0");
    let alice = app.user("alice");
    let path = alice.tasks_path("");
    let creates = (0..20).map(|i| {
        let alice = app.user("alice");
        let path = path.clone();
        async move { alice.post(&path, json!({"title": format!("t{i}")})).await }
    });
    let responses = futures::future::join_all(creates).await;
    let created = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 5);
    for refused in responses.iter().filter(|r| r.status != StatusCode::CREATED) {
        refused.detail(StatusCode::CONFLICT, "Task limit reached");
    }
    let listed = alice.get(&path).await.good(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 5);
    let body = alice
        .graphql(
            "mutation { createTask(input: {title: \"one more\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    // Another user is not affected.
    app.user("bob").create_task("bob's").await;
    assert_healthy(&app).await;
}

async fn task_lists_cost_by_their_bound(app: TestApp) {
    let alice = app.user("alice");
    let fields = "id title description completed createdAt";
    let lists: String = (0..30)
        .map(|i| format!("l{i}: tasks {{ {fields} }} "))
        .collect();
    let body = alice.graphql(&format!("{{ {lists} }}"), json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{body}"
    );
    let dashboard = format!(
        "{{ pending: tasks(status: PENDING) {{ {fields} }} done: tasks(status: COMPLETED) {{ {fields} }} all: tasks {{ id }} }}"
    );
    alice.graphql_data(&dashboard, json!({})).await;
}

async fn wrongly_shaped_variables_are_bad_user_input(app: TestApp) {
    let body = json!({
        "query": "mutation M($i: CreateTaskInput!) { createTask(input: $i) { id } }",
        "variables": {"i": "x"},
    });
    let response = post_graphql(&app, body).await;
    assert!(
        response.status.is_client_error(),
        "{} {}",
        response.status,
        response.text
    );
    assert_eq!(
        code(&response.json()),
        "BAD_USER_INPUT",
        "{}",
        response.text
    );
    assert_healthy(&app).await;
}

async fn get_honours_operation_name(app: TestApp) {
    let document = "query A { a: __typename } query B { b: __typename }";
    let response = get_graphql(&app, &[("query", document), ("operationName", "B")]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json()["data"], json!({"b": "Query"}));
}

/// An HTTP/2 client that answers the server's pings is alive, but once idle for
/// HEADER_READ_TIMEOUT it must give its MAX_CONNECTIONS slot back, like an idle HTTP/1.1
/// keep-alive connection; a busy stream (SSE) keeps its connection open.
async fn idle_http2_connections_give_their_slot_back(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "1",
        "--header-read-timeout" => "1s",
    );
    let h2 = crate::common::http_client_builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let token = app.token("alice");
    let list = h2
        .get(format!("{}/api/alice/tasks", app.base))
        .bearer_auth(&token)
        .send()
        .within(10)
        .await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(list.version(), reqwest::Version::HTTP_2);

    // A long-lived stream keeps its connection (and the only slot) busy past the timeout…
    let mut events = h2
        .get(format!("{}/api/alice/tasks/events", app.base))
        .bearer_auth(&token)
        .send()
        .within(10)
        .await;
    assert_eq!(events.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let created = h2
        .post(format!("{}/api/alice/tasks", app.base))
        .bearer_auth(&token)
        .json(&json!({"title": "over the busy h2 connection"}))
        .send()
        .within(10)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let mut seen = String::new();
    while !seen.contains("over the busy h2 connection") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk())
            .await
            .expect("an event on the busy stream")
            .unwrap()
            .expect("the stream is still open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(events);

    // …but once nothing is in flight, the idle connection is closed within about two
    // timeouts, and another client gets the slot. (`h2` stays alive, answering pings.)
    let other = crate::common::http_client_builder()
        .http1_only()
        .timeout(Duration::from_secs(6))
        .build()
        .unwrap();
    let health = other
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("the idle HTTP/2 connection gave its slot back");
    assert_eq!(health.status(), StatusCode::OK);
    drop(h2);
}

/// A request's answer within `seconds`, or a test failure (not a hang).
trait Within: std::future::IntoFuture<Output = reqwest::Result<reqwest::Response>> + Sized {
    async fn within(self, seconds: u64) -> reqwest::Response {
        tokio::time::timeout(Duration::from_secs(seconds), self.into_future())
            .await
            .expect("an answer in time")
            .expect("a response")
    }
}

impl<F: std::future::IntoFuture<Output = reqwest::Result<reqwest::Response>>> Within for F {}

/// Connection hygiene does not depend on storage: SQLite only.
///
/// Each timeout is waited out (1 s, set short here): the silent sockets' by waiting for their
/// close, not a fixed time; the idle connection's, the slow body's and the WebSocket's all at
/// once (one after another they took 3 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slow_connections_cannot_lock_the_server_out() {
    let app = start_app!(Backend::Sqlite,
        "--max-connections" => "20",
        "--header-read-timeout" => "1s",
        "--body-read-timeout" => "1s",
        "--ws-init-timeout" => "1s",
    );
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Every slot taken by sockets that send nothing…
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(&addr).await.unwrap());
    }
    // …are closed by the header-read timeout, and the server answers again.
    let closes = silent.iter_mut().map(|socket| async move {
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_millis(4500), socket.read(&mut byte)).await
    });
    for closed in join_all(closes).await {
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "silent socket still open: {closed:?}"
        );
    }
    assert_healthy(&app).await;
    drop(silent);
    let token = app.token("alice");
    tokio::join!(
        idle_keep_alive_is_closed(&addr),
        huge_content_length_is_refused_at_once(&addr, &token),
        unfinished_body_is_408(&addr, &token),
        async {
            // A WebSocket that never sends connection_init is closed with 4408.
            let mut socket = open_socket(&app).await;
            let (code, reason) = closed_with(&mut socket, Duration::from_secs(5)).await;
            assert_eq!(code, Some(4408), "{reason}");
        },
    );
    assert_healthy(&app).await;
}

/// An idle keep-alive connection to `addr` is closed (HEADER_READ_TIMEOUT).
async fn idle_keep_alive_is_closed(addr: &str) {
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = idle.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection still open"
    );
}

/// A huge Content-Length is refused at once, without waiting for the body.
async fn huge_content_length_is_refused_at_once(addr: &str, token: &str) {
    let mut liar = TcpStream::connect(addr).await.unwrap();
    liar.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), liar.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 413"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A body that never finishes is a 408 after BODY_READ_TIMEOUT.
async fn unfinished_body_is_408(addr: &str, token: &str) {
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"query\""
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_are_rate_limited_per_address() {
    let app = start_app!(Backend::Sqlite,
        "--anonymous-rate-limit" => "3",
        "--trusted-proxies" => "127.0.0.1",
    );
    let introspect = |forwarded: &'static str| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                "/graphql",
                &[
                    ("content-type", "application/json"),
                    ("x-forwarded-for", forwarded),
                ],
                Some(
                    json!({"query": "{ __schema { queryType { name } } }"})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(introspect("203.0.113.7").await.status, StatusCode::OK);
    }
    let limited = introspect("203.0.113.7").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert_eq!(code(&limited.json()), "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    // Another client behind the same proxy has its own bucket.
    assert_eq!(introspect("203.0.113.8").await.status, StatusCode::OK);
    // Requests with a token are limited per user instead; probes are never limited.
    app.user("alice").create_task("fine").await;
    assert_healthy(&app).await;
}

#[test]
fn blank_secrets_are_refused() {
    let settings = todo_api::config::settings_from_args([
        "--auth-secret",
        &" ".repeat(40),
        "--database-url",
        "sqlite::memory:",
    ])
    .unwrap();
    let error = settings.validate().unwrap_err();
    assert_eq!(error.variable, "BETTER_AUTH_SECRET");
    assert!(error.problem.contains("blank"), "{}", error.problem);
}

/// Junk operation names from requests without a token, or that do not validate, never become
/// metric labels; a verified user's validated operation does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_operation_names_do_not_become_metric_labels() {
    let app = start_app!(Backend::Sqlite, "--anonymous-rate-limit" => "0");
    for i in 0..50 {
        let body = json!({"query": format!("query Junk{i} {{ __typename }}")});
        let response = app
            .raw(
                Method::POST,
                "/graphql",
                &[("content-type", "application/json")],
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK);
        app.user("alice")
            .graphql(&format!("query Bad{i} {{ nope }}"), json!({}))
            .await;
    }
    app.user("alice")
        .graphql_data("query Dashboard { viewer { id } }", json!({}))
        .await;
    let metrics = app.raw(Method::GET, "/metrics", &[], None).await.text;
    assert!(!metrics.contains("Junk"), "{metrics}");
    assert!(!metrics.contains("Bad"), "{metrics}");
    assert!(metrics.contains("operation=\"Dashboard\""), "{metrics}");
}

/// Without TRUSTED_PROXIES, X-Forwarded-For is the client's say-so and is ignored: changing it
/// does not buy a fresh bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let app = start_app!(Backend::Sqlite, "--anonymous-rate-limit" => "2");
    let mut statuses = Vec::new();
    for i in 0..3 {
        let forwarded = format!("198.51.100.{i}");
        let response = app
            .raw(
                Method::POST,
                "/graphql",
                &[
                    ("content-type", "application/json"),
                    ("x-forwarded-for", &forwarded),
                ],
                Some(json!({"query": "{ __typename }"}).to_string().into_bytes()),
            )
            .await;
        statuses.push(response.status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_healthy(&app).await;
}
