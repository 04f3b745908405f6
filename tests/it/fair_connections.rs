//! Fair shares of connections (issue 18, items 1–3 and the leeway rule of 12): no user, token
//! or client address can hold more than a bounded share of the server's connections, and
//! after each attack another user's ordinary request is answered within 2 s (`prompt`; 5 s
//! while silent sockets are being reconnected).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::common::live::SseReader;
use crate::common::{Backend, SECRET, TestApp};

backend_cases!(
    live_connections_are_capped_per_user,
    the_live_share_leaves_room_for_ordinary_requests,
    opening_a_stream_or_socket_is_charged,
    one_leeway_rule_on_every_path,
);

type Socket = tokio_tungstenite::WebSocketStream<TcpStream>;

/// The bound every test holds another user's ordinary request to.
const PROMPT: Duration = Duration::from_secs(2);

/// Another user's ordinary request (a task list, on a fresh connection) answers 200 within
/// `PROMPT`.
async fn prompt(app: &TestApp, user: &str) {
    prompt_within(app, user, PROMPT).await;
}

/// [`prompt`], answered within `within`.
async fn prompt_within(app: &TestApp, user: &str, within: Duration) {
    let client = crate::common::http_client_builder()
        .local_address(ip("127.0.0.9"))
        .build()
        .unwrap();
    let started = Instant::now();
    let response = tokio::time::timeout(
        within,
        client
            .get(format!("{}/api/{user}/tasks", app.base))
            .bearer_auth(app.token(user))
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("{user}'s list took longer than {within:?}"))
    .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < within);
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn server_addr(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// A TCP connection to the server from the loopback address `from`.
async fn tcp_from(app: &TestApp, from: &str) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ip(from), 0))?;
    socket.connect(server_addr(app)).await
}

/// A graphql-transport-ws upgrade from `from` with extra headers: the socket, or the error
/// (an HTTP refusal, or the connection closed).
async fn upgrade(
    app: &TestApp,
    from: &str,
    headers: &[(&str, &str)],
) -> Result<Socket, tungstenite::Error> {
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let stream = tcp_from(app, from).await.map_err(tungstenite::Error::Io)?;
    tokio_tungstenite::client_async(request, stream)
        .await
        .map(|(socket, _)| socket)
}

/// The HTTP status of a refused upgrade.
fn refused_status(result: Result<Socket, tungstenite::Error>) -> Option<u16> {
    match result {
        Err(tungstenite::Error::Http(response)) => Some(response.status().as_u16()),
        _ => None,
    }
}

async fn send_init(socket: &mut Socket, token: &str) {
    let init = json!({"type": "connection_init",
                      "payload": {"Authorization": format!("Bearer {token}")}});
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message, or the close code when the socket closes; panics after `within`.
async fn next(socket: &mut Socket, within: Duration) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(within, socket.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            None | Some(Err(_)) => return Err(None),
            Some(Ok(_)) => continue,
        }
    }
}

/// A socket for `user` with the token in `connection_init`: acknowledged, or its close code.
async fn socket_for(app: &TestApp, user: &str) -> Result<Socket, Option<u16>> {
    let mut socket = upgrade(app, "127.0.0.1", &[]).await.expect("upgrades");
    send_init(&mut socket, &app.token(user)).await;
    match next(&mut socket, Duration::from_secs(10)).await {
        Ok(ack) if ack["type"] == "connection_ack" => Ok(socket),
        Ok(other) => panic!("unexpected {other}"),
        Err(code) => Err(code),
    }
}

async fn sse(app: &TestApp, user: &str) -> SseReader {
    SseReader::open(app, user, &format!("/api/{user}/tasks/events"), &[]).await
}

/// Item 1 and 2, per user: sockets and streams together, not only operations.
async fn live_connections_are_capped_per_user(backend: Backend) {
    let app = start_app!(backend, "--max-live-connections-per-user" => "2");
    let first = sse(&app, "alice").await;
    assert_eq!(first.response.status(), StatusCode::OK);
    let idle_socket = socket_for(&app, "alice")
        .await
        .expect("a second live connection");

    let third = sse(&app, "alice").await;
    assert_eq!(third.response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = third.response.json().await.unwrap();
    assert_eq!(body["code"], "TOO_MANY_CONNECTIONS", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("at most 2"),
        "{body}"
    );
    // A socket authenticating in connection_init is closed 4430; one with the token in the
    // upgrade's header is refused before upgrading.
    assert_eq!(socket_for(&app, "alice").await.err(), Some(Some(4430)));
    let bearer = format!("Bearer {}", app.token("alice"));
    let header = upgrade(&app, "127.0.0.1", &[("authorization", &bearer)]).await;
    assert_eq!(refused_status(header), Some(429));

    // Bob has his own share, and his requests are prompt.
    assert_eq!(sse(&app, "bob").await.response.status(), StatusCode::OK);
    prompt(&app, "bob").await;
    // Closing one gives its place back.
    drop(idle_socket);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sse(&app, "alice").await.response.status() != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the closed socket's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Item 2, all users: with MAX_CONNECTIONS=8 and the default half for live connections, four
/// streams fill the live share and plain requests still get through.
async fn the_live_share_leaves_room_for_ordinary_requests(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "8",
        "--header-read-timeout" => "2s",
        "--sse-keep-alive" => "1s",
    );
    let mut held = Vec::new();
    for user in ["u1", "u2", "u3", "u4"] {
        let stream = sse(&app, user).await;
        assert_eq!(stream.response.status(), StatusCode::OK, "{user}");
        held.push(stream);
    }
    let busy = sse(&app, "u5").await;
    assert_eq!(busy.response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(busy.response.headers().get("retry-after").is_some());
    let body: Value = busy.response.json().await.unwrap();
    assert_eq!(body["code"], "SERVER_BUSY", "{body}");
    assert_eq!(socket_for(&app, "u6").await.err(), Some(Some(4503)));
    for _ in 0..5 {
        prompt(&app, "u7").await;
    }
    // A place freed is a place for the next stream.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    while sse(&app, "u5").await.response.status() != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Item 1: an authenticated socket that runs nothing is closed with 4410 after
/// WS_IDLE_TIMEOUT; one running a subscription is not, until it completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_are_closed_with_4410() {
    let app = start_app!(Backend::Sqlite, "--ws-idle-timeout" => "1s");
    // Timed from before the socket opens: the server's timer starts once it has sent the
    // ack, which the client may read late on a loaded machine.
    let started = Instant::now();
    let mut idle = socket_for(&app, "alice").await.unwrap();
    assert_eq!(
        next(&mut idle, Duration::from_secs(5)).await.err(),
        Some(Some(4410))
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "closed {:?} after the socket was opened",
        started.elapsed()
    );

    let mut busy = socket_for(&app, "alice").await.unwrap();
    subscribe(&mut busy, "1").await;
    let quiet = tokio::time::timeout(Duration::from_millis(2500), busy.next()).await;
    assert!(
        quiet.is_err(),
        "a socket running a subscription was closed: {quiet:?}"
    );
    let complete = json!({"id": "1", "type": "complete"});
    busy.send(Message::Text(complete.to_string().into()))
        .await
        .unwrap();
    assert_eq!(
        next(&mut busy, Duration::from_secs(5)).await.err(),
        Some(Some(4410))
    );
    prompt(&app, "bob").await;
}

/// Sends a `taskEvents` subscription with this id (each event's task id and title).
async fn subscribe(socket: &mut Socket, id: &str) {
    let message = json!({"id": id, "type": "subscribe",
                         "payload": {"query": "subscription { taskEvents { id task { title } } }"}});
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// Item 1 and 2: opening an SSE stream or a WebSocket takes a request from the user's
/// bucket, whether the token is in the upgrade's header or in `connection_init`.
async fn opening_a_stream_or_socket_is_charged(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "3", "--max-live-connections-per-user" => "50");
    let mut streams = Vec::new();
    for _ in 0..3 {
        let stream = sse(&app, "alice").await;
        assert_eq!(stream.response.status(), StatusCode::OK);
        streams.push(stream);
    }
    let limited = sse(&app, "alice").await;
    assert_eq!(limited.response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.response.headers().get("retry-after").is_some());

    let bearer = format!("Bearer {}", app.token("bob"));
    for _ in 0..3 {
        let opened = upgrade(&app, "127.0.0.1", &[("authorization", &bearer)]).await;
        streams_keep(opened.expect("an upgrade within bob's budget"));
    }
    let refused = upgrade(&app, "127.0.0.1", &[("authorization", &bearer)]).await;
    assert_eq!(refused_status(refused), Some(429));

    for _ in 0..3 {
        let socket = socket_for(&app, "carol").await;
        streams_keep(socket.expect("a socket within carol's budget"));
    }
    assert_eq!(socket_for(&app, "carol").await.err(), Some(Some(4403)));
    prompt(&app, "dave").await;
}

/// Keeps a socket open until the end of the test run's current step (dropped at once is fine
/// too: the charge is what is measured).
fn streams_keep(socket: Socket) {
    tokio::spawn(async move {
        let mut socket = socket;
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = socket.close(None).await;
    });
}

/// Item 3: a token that fails verification is charged to its client address's anonymous
/// budget: introspection, REST and WebSocket upgrades alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_tokens_are_charged_to_the_address() {
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
                    ("authorization", "Bearer junk"),
                    ("x-forwarded-for", forwarded),
                ],
                Some(
                    json!({"query": "{ __schema { queryType { name } } }"})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await
            .status
        }
    };
    for _ in 0..3 {
        assert_eq!(introspect("203.0.113.1").await, StatusCode::OK);
    }
    assert_eq!(
        introspect("203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // REST with a junk token from the same client: the same empty bucket.
    let rest = app
        .raw(
            Method::GET,
            "/api/alice/tasks",
            &[
                ("authorization", "Bearer junk"),
                ("x-forwarded-for", "203.0.113.1"),
            ],
            None,
        )
        .await;
    assert_eq!(rest.status, StatusCode::TOO_MANY_REQUESTS);
    // A non-bearer Authorization is a request without a token, charged at the door.
    let basic = app
        .raw(
            Method::GET,
            "/api/alice/tasks",
            &[
                ("authorization", "Basic YTpi"),
                ("x-forwarded-for", "203.0.113.1"),
            ],
            None,
        )
        .await;
    assert_eq!(basic.status, StatusCode::TOO_MANY_REQUESTS);

    // WebSocket upgrades with a junk token: three from a fresh client, then 429.
    let headers = [
        ("authorization", "Bearer junk"),
        ("x-forwarded-for", "203.0.113.2"),
    ];
    for _ in 0..3 {
        streams_keep(
            upgrade(&app, "127.0.0.1", &headers)
                .await
                .expect("upgrades"),
        );
    }
    assert_eq!(
        refused_status(upgrade(&app, "127.0.0.1", &headers).await),
        Some(429)
    );
    // Verified users are not touched by any of it.
    prompt(&app, "alice").await;
}

/// Item 3: 60 silent sockets from one address that reconnect as soon as they are dropped hold
/// at most MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS slots; 10 of 10 probes from elsewhere
/// succeed, each within 5 s (the attack's reads share the test's two threads with the server
/// and the probe; unbounded, the sockets would hold every slot until HEADER_READ_TIMEOUT, 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_are_bounded_per_address() {
    let app = start_app!(Backend::Sqlite,
        "--max-connections" => "32",
        "--max-unauthenticated-connections-per-address" => "4",
    );
    let attack = {
        let base = app.base.clone();
        tokio::spawn(async move {
            let server: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
            let reconnect = || async move {
                let socket = TcpSocket::new_v4().unwrap();
                socket.bind(SocketAddr::new(ip("127.0.0.2"), 0)).unwrap();
                socket.connect(server).await.ok()
            };
            // Still open: nothing to read within 1 ms (closed: 0 bytes or an error).
            async fn alive(socket: &mut TcpStream) -> bool {
                let mut byte = [0u8; 1];
                let read = socket.read(&mut byte);
                tokio::time::timeout(Duration::from_millis(1), read)
                    .await
                    .is_err()
            }
            let mut sockets = Vec::new();
            for _ in 0..60 {
                sockets.extend(reconnect().await);
            }
            let until = Instant::now() + Duration::from_secs(4);
            while Instant::now() < until {
                for socket in &mut sockets {
                    if !alive(socket).await
                        && let Some(fresh) = reconnect().await
                    {
                        *socket = fresh;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Counted once the reconnecting stops: sockets reconnected a moment before look
            // open until the server (on the same two threads) has refused them. It has 2 s;
            // what it holds it holds until HEADER_READ_TIMEOUT (10 s).
            let settled = Instant::now() + Duration::from_secs(2);
            loop {
                let mut open = 0;
                for socket in &mut sockets {
                    open += usize::from(alive(socket).await);
                }
                if open <= 4 || Instant::now() >= settled {
                    break open;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..10 {
        prompt_within(&app, "alice", Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let open = attack.await.unwrap();
    // The share (4).
    assert!(open <= 4, "{open} silent sockets of one address still open");
}

/// Item 3, WebSockets waiting for `connection_init`, per client address; behind a trusted
/// proxy the X-Forwarded-For client is counted, never the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_before_init_are_bounded_per_client() {
    let app = start_app!(Backend::Sqlite,
        "--max-unauthenticated-connections-per-address" => "3",
        "--trusted-proxies" => "127.0.0.1",
        "--anonymous-rate-limit" => "0",
    );
    // The proxy's own silent sockets are not capped as one client's.
    let mut silent = Vec::new();
    for _ in 0..6 {
        silent.push(tcp_from(&app, "127.0.0.1").await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut byte = [0u8; 1];
    for socket in &mut silent {
        let read = tokio::time::timeout(Duration::from_millis(20), socket.read(&mut byte)).await;
        assert!(read.is_err(), "the proxy's connection was closed: {read:?}");
    }
    let from = |client: &'static str| [("x-forwarded-for", client)];
    let mut waiting = Vec::new();
    for _ in 0..3 {
        waiting.push(
            upgrade(&app, "127.0.0.1", &from("203.0.113.5"))
                .await
                .expect("upgrades"),
        );
    }
    let refused = upgrade(&app, "127.0.0.1", &from("203.0.113.5")).await;
    assert_eq!(refused_status(refused), Some(429));
    // Another client behind the same proxy is not affected.
    let mut other = upgrade(&app, "127.0.0.1", &from("203.0.113.6"))
        .await
        .expect("upgrades");
    // Authenticating gives the place back.
    send_init(&mut waiting[0], &app.token("alice")).await;
    assert_eq!(
        next(&mut waiting[0], Duration::from_secs(5)).await.unwrap()["type"],
        "connection_ack"
    );
    waiting.push(
        upgrade(&app, "127.0.0.1", &from("203.0.113.5"))
            .await
            .expect("a freed place"),
    );
    send_init(&mut other, &app.token("bob")).await;
    assert_eq!(
        next(&mut other, Duration::from_secs(5)).await.unwrap()["type"],
        "connection_ack"
    );
    prompt(&app, "carol").await;
}

/// A token `exp_offset` seconds from now (negative: already past).
fn token_expiring_in(user: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": user, "iat": now - 600, "exp": now + exp_offset}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Item 12: a token within JWT_LEEWAY past `exp` is good on every path (`/changes`, an SSE
/// stream, a WebSocket) until `exp` + JWT_LEEWAY, and then on none.
async fn one_leeway_rule_on_every_path(backend: Backend) {
    // Expired 1 s ago, so good for 6-7 s more: room for a loaded machine to open both streams
    // and carry an event on each before the cut (a 3 s window was seen to close first).
    let app = start_app!(backend, "--jwt-leeway" => "8s", "--sse-keep-alive" => "1s");
    let minted = Instant::now();
    let token = token_expiring_in("alice", -1);
    let alice = app.with_token("alice", &token);
    alice
        .get("/api/alice/tasks/changes")
        .await
        .good(StatusCode::OK);
    let mut stream = SseReader::open_with_token(&app, &token, "/api/alice/tasks/events", &[]).await;
    assert_eq!(stream.response.status(), StatusCode::OK);
    let mut socket = upgrade(&app, "127.0.0.1", &[]).await.unwrap();
    send_init(&mut socket, &token).await;
    assert_eq!(
        next(&mut socket, Duration::from_secs(5)).await.unwrap()["type"],
        "connection_ack"
    );
    subscribe(&mut socket, "1").await;
    // Not cut at once: both still carry events. The socket hears writes only once its
    // subscription is registered (no message says when): write until it hears one, then read
    // up to the last write's event on both, so that no late one is taken for the cut.
    let writer = app.user("alice");
    let mut probes = 0;
    let mut event = loop {
        probes += 1;
        assert!(probes <= 20, "the subscription never heard a write");
        writer
            .create_task(&format!("within the leeway {probes}"))
            .await;
        let heard = next(&mut socket, Duration::from_secs(3600));
        if let Ok(event) = tokio::time::timeout(Duration::from_millis(300), heard).await {
            break event.unwrap();
        }
    };
    let last = format!("within the leeway {probes}");
    loop {
        assert_eq!(event["type"], "next", "{event}");
        if event["payload"]["data"]["taskEvents"]["task"]["title"] == last.as_str() {
            break;
        }
        event = next(&mut socket, Duration::from_secs(5)).await.unwrap();
    }
    for _ in 0..probes {
        assert_eq!(stream.next_event().await.1["kind"], "CREATED");
    }
    // Cut at exp + leeway, on both, with the same words.
    let (name, _, data) = stream.next_named(Duration::from_secs(8)).await;
    assert_eq!(
        (name.as_str(), &data["code"]),
        ("unauthorized", &json!("TOKEN_EXPIRED"))
    );
    assert!(
        minted.elapsed() >= Duration::from_secs(5),
        "cut {:?} after the token was made",
        minted.elapsed()
    );
    assert_eq!(
        next(&mut socket, Duration::from_secs(5)).await.err(),
        Some(Some(4401))
    );
    // …and then no path takes it.
    alice
        .get("/api/alice/tasks/changes")
        .await
        .detail(StatusCode::UNAUTHORIZED, "Token has expired");
    let late = SseReader::open_with_token(&app, &token, "/api/alice/tasks/events", &[]).await;
    assert_eq!(late.response.status(), StatusCode::UNAUTHORIZED);
    prompt(&app, "bob").await;
}
