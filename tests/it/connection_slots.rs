//! Connection slots come back (issue 26, item 2): a refused live open (SSE, WebSocket
//! upgrade) closes its connection, idle keep-alive connections are closed before a new client
//! waits for a `MAX_CONNECTIONS` slot, and one user's connections of any kind stay within
//! CONNECTION_SHARE_PER_USER, as do one client address's until a token verifies (sockets
//! trickling their first headers, slow bodies with a junk or a valid token). Driven with raw
//! TCP clients that keep every connection open, as an attacker would; another client's
//! `/healthz` must answer promptly throughout (`PROMPT`).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::{Backend, TestApp};

backend_cases!(
    refused_live_opens_close_their_connection,
    one_user_opening_64_streams_leaves_healthz_prompt,
    eleven_accounts_opening_many_streams_leave_healthz_prompt,
    idle_keep_alive_connections_are_reclaimed_under_pressure,
    one_users_connections_stay_within_their_share,
    trickled_headers_stay_within_the_addresss_share,
    unverified_slow_bodies_stay_within_the_addresss_share,
);

/// How long another client's `/healthz` may take, from the first second of an attack on. The
/// attack, the server and the probe share the test's two runtime threads (a probe was seen to
/// take over a second on a loaded machine); what is guarded against holds the slots until
/// HEADER_READ_TIMEOUT (10 s by default, 60 s where a test sets it).
const PROMPT: Duration = Duration::from_secs(3);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A TCP connection to the server from the loopback address `from`.
async fn connect(app: &TestApp, from: &str) -> TcpStream {
    let server: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(ip(from), 0)).unwrap();
    socket.connect(server).await.expect("connects")
}

/// An HTTP/1.1 `GET path` (kept alive), with a bearer token when one is given.
fn get(path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n{auth}\r\n")
}

/// A graphql-transport-ws upgrade with the token in its header.
fn upgrade(token: &str) -> String {
    format!(
        "GET /graphql HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    )
}

/// A response head as read off the socket: its status and its headers (names lowercased).
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    /// Bytes read past the head (the start of the body).
    rest: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response head within `within` (`None`: closed or too slow).
async fn read_head(stream: &mut TcpStream, within: Duration) -> Option<Head> {
    let mut buffer = Vec::new();
    let read = async {
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8_lossy(&buffer[..end]).into_owned();
                let mut lines = text.lines();
                let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
                let headers = lines
                    .filter_map(|line| line.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let rest = buffer[end + 4..].to_vec();
                return Some(Head {
                    status,
                    headers,
                    rest,
                });
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok().flatten()
}

/// Sends `request` and reads the head of its answer (a whole small body too, so a kept-alive
/// connection is then idle between requests).
async fn ask(stream: &mut TcpStream, request: &str) -> Option<Head> {
    stream.write_all(request.as_bytes()).await.ok()?;
    let head = read_head(stream, Duration::from_secs(10)).await?;
    if let Some(length) = head.header("content-length") {
        let mut left = length
            .parse::<usize>()
            .ok()?
            .saturating_sub(head.rest.len());
        let mut chunk = [0u8; 4096];
        while left > 0 {
            let n = stream.read(&mut chunk[..left.min(4096)]).await.ok()?;
            if n == 0 {
                return None;
            }
            left -= n;
        }
    }
    Some(head)
}

/// True when the server closes `stream` within `within` (whatever it sends before).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let drain = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, drain).await.is_ok()
}

/// True when `stream` is still open: nothing to read within a moment (an SSE stream may be
/// sending keep-alive comments: reads that return data are open too).
async fn still_open(stream: &mut TcpStream) -> bool {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(Duration::from_millis(30), stream.read(&mut chunk)).await {
        Err(_) => true,
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
    }
}

/// How many of `streams` are still open (`still_open`), all looked at at once (one by one,
/// each open one took its 30 ms).
async fn open_count(streams: &mut [TcpStream]) -> usize {
    let open = streams.iter_mut().map(still_open);
    let open = futures::future::join_all(open).await;
    open.into_iter().filter(|open| *open).count()
}

/// Another client's `/healthz` on a fresh connection: answered 200 within `PROMPT`, or the
/// time it took is reported.
async fn healthz(app: &TestApp) -> Result<Duration, String> {
    healthz_within(app, PROMPT).await
}

/// [`healthz`], answered within `within`.
async fn healthz_within(app: &TestApp, within: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let answer = tokio::time::timeout(within, async {
        let mut stream = connect(app, "127.0.0.9").await;
        ask(
            &mut stream,
            "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
        .await
    })
    .await;
    match answer {
        Ok(Some(head)) if head.status == 200 => Ok(started.elapsed()),
        Ok(other) => Err(format!("answered {:?}", other.map(|h| h.status))),
        Err(_) => Err(format!("no answer within {within:?}")),
    }
}

/// Probes `/healthz` every 100 ms while `attack` runs, from its first moment on, and for
/// `after` once it has ended (what it holds, held); panics on any probe slower than `PROMPT`
/// counted from the attack's first second on ([`FIRST_SECOND`]). Returns what the attack
/// returned. (A fixed window of 3 to 5 s mostly probed the held state after attacks that end
/// within a second or two.)
async fn healthz_stays_prompt<T: Send + 'static>(
    app: &TestApp,
    attack: impl Future<Output = T> + Send + 'static,
    after: Duration,
) -> T {
    let first_second = Instant::now() + FIRST_SECOND;
    let attack = tokio::spawn(attack);
    let mut until = None;
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while until.is_none_or(|until| Instant::now() < until) {
        let within = PROMPT + first_second.saturating_duration_since(Instant::now());
        match healthz_within(app, within).await {
            Ok(took) => slowest = slowest.max(took),
            Err(why) => panic!("probe {probes}: /healthz {why}"),
        }
        probes += 1;
        if until.is_none() && attack.is_finished() {
            until = Some(Instant::now() + after);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("{probes} /healthz probes during the attack and after, the slowest {slowest:?}");
    attack.await.unwrap()
}

/// The attack's first moment, when the test's own 176 connections, the server and the probe
/// share the test process's two runtime threads (on a loaded machine, a probe sent then was
/// seen to take over a second in 2 of 10 runs, before and after the attack's change alike):
/// a probe is held to `PROMPT` counted from the end of it.
const FIRST_SECOND: Duration = Duration::from_secs(1);

/// How long `/healthz` is probed after an attack has ended.
const AFTER: Duration = Duration::from_secs(1);

/// Opens `count` SSE streams for each of `tokens`' users, all at once, each on its own
/// connection kept open whatever the answer, each user from its own address (127.0.0.10 on);
/// returns the statuses and the sockets (still held).
async fn open_streams(
    base: String,
    tokens: Vec<(String, String)>,
    count: usize,
) -> (Vec<u16>, Vec<TcpStream>) {
    let server: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let mut opens = Vec::new();
    for (n, (user, token)) in tokens.iter().enumerate() {
        let from = SocketAddr::new(ip(&format!("127.0.0.{}", 10 + n)), 0);
        for _ in 0..count {
            let request = get(&format!("/api/{user}/tasks/events"), Some(token));
            opens.push(tokio::spawn(async move {
                let socket = TcpSocket::new_v4().unwrap();
                socket.bind(from).unwrap();
                let mut stream = socket.connect(server).await.ok()?;
                stream.write_all(request.as_bytes()).await.ok()?;
                let head = read_head(&mut stream, Duration::from_secs(20)).await;
                Some((head.map_or(0, |h| h.status), stream))
            }));
        }
    }
    let mut statuses = Vec::new();
    let mut held = Vec::new();
    for open in opens {
        if let Some((status, stream)) = open.await.unwrap() {
            statuses.push(status);
            held.push(stream);
        }
    }
    (statuses, held)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// A refused SSE open and a refused WebSocket upgrade say `Connection: close` and the server
/// closes the socket at once, over the user's live share (429) and the server's (503).
async fn refused_live_opens_close_their_connection(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "16",
        "--max-live-connections-per-user" => "1",
        "--header-read-timeout" => "60s",
    );
    let alice = app.token("alice");
    let mut first = connect(&app, "127.0.0.2").await;
    let opened = ask(&mut first, &get("/api/alice/tasks/events", Some(&alice))).await;
    assert_eq!(opened.map(|h| h.status), Some(200));

    for request in [
        get("/api/alice/tasks/events", Some(&alice)),
        upgrade(&alice),
    ] {
        let mut refused = connect(&app, "127.0.0.2").await;
        refused.write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut refused, Duration::from_secs(5))
            .await
            .expect("an answer");
        assert_eq!(head.status, 429, "{request}");
        assert_eq!(head.header("connection"), Some("close"), "{request}");
        let started = Instant::now();
        assert!(
            closed_within(&mut refused, Duration::from_secs(1)).await,
            "the refused connection stayed open: {request}"
        );
        eprintln!("closed {:?} after the refusal", started.elapsed());
    }

    // The server's live share (half of 16): 8 streams of 8 users, then a 503 that closes.
    let mut streams = Vec::new();
    for n in 0..7 {
        let user = format!("u{n}");
        let mut stream = connect(&app, "127.0.0.2").await;
        let path = format!("/api/{user}/tasks/events");
        let opened = ask(&mut stream, &get(&path, Some(&app.token(&user)))).await;
        assert_eq!(opened.map(|h| h.status), Some(200), "{user}");
        streams.push(stream);
    }
    for request in [
        get("/api/busy/tasks/events", Some(&app.token("busy"))),
        upgrade(&app.token("busy")),
    ] {
        let mut refused = connect(&app, "127.0.0.2").await;
        refused.write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut refused, Duration::from_secs(5))
            .await
            .expect("an answer");
        assert_eq!(head.status, 503, "{request}");
        assert_eq!(head.header("connection"), Some("close"), "{request}");
        assert!(
            closed_within(&mut refused, Duration::from_secs(1)).await,
            "the refused connection stayed open: {request}"
        );
    }
    assert!(
        still_open(&mut first).await,
        "an accepted stream was closed"
    );
    healthz(&app).await.unwrap();
}

/// The measured reproduction: one user opens 64 SSE streams with MAX_CONNECTIONS=64 and keeps
/// every connection; 16 are accepted (the live cap per user), the rest refused and closed
/// (429, or, while the address's share of 16 is still held by connections not yet verified,
/// closed at once without an answer), and `/healthz` answers promptly from the first moment on.
async fn one_user_opening_64_streams_leaves_healthz_prompt(backend: Backend) {
    let app = start_app!(backend, "--max-connections" => "64");
    let tokens = vec![("mallory".to_owned(), app.token("mallory"))];
    let attack = open_streams(app.base.clone(), tokens, 64);
    let (statuses, mut held) = healthz_stays_prompt(&app, attack, AFTER).await;
    assert_eq!(count(&statuses, 200), 16, "{statuses:?}");
    assert_eq!(
        count(&statuses, 429) + count(&statuses, 0),
        48,
        "{statuses:?}"
    );
    // The refused ones are closed: only the 16 streams still hold slots.
    let open = open_count(&mut held).await;
    assert_eq!(open, 16, "connections of the attack still open");
    healthz(&app).await.unwrap();
}

/// The scaled reproduction: 11 accounts × 16 streams (176 opens) with MAX_CONNECTIONS=128:
/// the live share (64) is taken, the rest refused and closed, and `/healthz` stays prompt.
async fn eleven_accounts_opening_many_streams_leave_healthz_prompt(backend: Backend) {
    let app = start_app!(backend, "--max-connections" => "128");
    let tokens = (0..11)
        .map(|n| (format!("acct{n}"), app.token(&format!("acct{n}"))))
        .collect();
    let attack = open_streams(app.base.clone(), tokens, 16);
    let (statuses, mut held) = healthz_stays_prompt(&app, attack, AFTER).await;
    assert_eq!(statuses.len(), 176);
    assert_eq!(count(&statuses, 200), 64, "{statuses:?}");
    assert_eq!(count(&statuses, 503), 176 - 64, "{statuses:?}");
    let open = open_count(&mut held).await;
    assert_eq!(open, 64, "connections of the attack still open");
}

/// With every slot held by idle keep-alive connections (HEADER_READ_TIMEOUT far away), a new
/// client is answered at once: the longest idle connection is closed for it. A busy one (an
/// SSE stream) is never closed for that.
async fn idle_keep_alive_connections_are_reclaimed_under_pressure(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "8",
        "--header-read-timeout" => "60s",
        "--sse-keep-alive" => "1s",
    );
    let mut busy = connect(&app, "127.0.0.2").await;
    let opened = ask(
        &mut busy,
        &get("/api/streamer/tasks/events", Some(&app.token("streamer"))),
    )
    .await;
    assert_eq!(opened.map(|h| h.status), Some(200));
    let mut idle = Vec::new();
    for n in 0..7 {
        let user = format!("idle{n}");
        let mut stream = connect(&app, "127.0.0.2").await;
        let path = format!("/api/{user}/tasks");
        let answer = ask(&mut stream, &get(&path, Some(&app.token(&user)))).await;
        assert_eq!(answer.map(|h| h.status), Some(200));
        idle.push(stream);
    }
    // Every slot is taken; each new client takes an idle one's place at once.
    for probe in 0..7 {
        let took = healthz(&app)
            .await
            .unwrap_or_else(|why| panic!("probe {probe}: {why}"));
        eprintln!("probe {probe} answered in {took:?}");
    }
    // (All at once: one by one, each still open took its 500 ms.)
    let closing = idle
        .iter_mut()
        .map(|stream| closed_within(stream, Duration::from_millis(500)));
    let closed = futures::future::join_all(closing)
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
    assert!(closed >= 1, "no idle connection was closed");
    assert!(still_open(&mut busy).await, "the busy stream was closed");
    // The stream still carries its keep-alive comments.
    let mut chunk = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(3), busy.read(&mut chunk))
        .await
        .expect("a keep-alive comment")
        .unwrap();
    assert!(n > 0);
}

/// CONNECTION_SHARE_PER_USER: with 16 connections and 25%, a user holds at most 4, of any
/// kind. Four busy streams: a fifth connection's request is refused 429 with
/// `Connection: close`. Idle keep-alive connections of the same user make way instead: the
/// longest idle one is closed, the new request answered. Another user is not affected.
async fn one_users_connections_stay_within_their_share(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "16",
        "--connection-share-per-user" => "25%",
        "--max-live-connections-per-user" => "16",
        "--header-read-timeout" => "60s",
        "--sse-keep-alive" => "1s",
    );
    let mallory = app.token("mallory");
    let mut streams = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&app, "127.0.0.2").await;
        let opened = ask(
            &mut stream,
            &get("/api/mallory/tasks/events", Some(&mallory)),
        )
        .await;
        assert_eq!(opened.map(|h| h.status), Some(200));
        streams.push(stream);
    }
    let mut fifth = connect(&app, "127.0.0.2").await;
    let refused = ask(&mut fifth, &get("/api/mallory/tasks", Some(&mallory)))
        .await
        .expect("an answer");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("connection"), Some("close"));
    assert!(closed_within(&mut fifth, Duration::from_secs(1)).await);
    // GraphQL over HTTP is held to the same share.
    let mut graphql = connect(&app, "127.0.0.2").await;
    let refused = ask(
        &mut graphql,
        &get("/graphql?query=%7Btasks%7Bid%7D%7D", Some(&mallory)),
    )
    .await
    .expect("an answer");
    assert_eq!(refused.status, 429);
    assert!(closed_within(&mut graphql, Duration::from_secs(1)).await);

    // Two streams end (the server sees it at its next keep-alive comment); keep-alive
    // connections fill the share, then make way for each other.
    streams.truncate(2);
    let mut kept = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while kept.len() < 2 {
        let mut stream = connect(&app, "127.0.0.2").await;
        let answer = ask(&mut stream, &get("/api/mallory/tasks", Some(&mallory))).await;
        match answer.map(|h| h.status) {
            Some(200) => kept.push(stream),
            other => assert!(
                Instant::now() < deadline,
                "the ended streams' places never came back: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..2 {
        let mut stream = connect(&app, "127.0.0.2").await;
        let answer = ask(&mut stream, &get("/api/mallory/tasks", Some(&mallory))).await;
        assert_eq!(answer.map(|h| h.status), Some(200));
        kept.push(stream);
    }
    let mut open = 0;
    for stream in kept.iter_mut().chain(streams.iter_mut()) {
        open += usize::from(still_open(stream).await);
    }
    assert!(open <= 4, "mallory holds {open} connections");
    for stream in &mut streams {
        assert!(still_open(stream).await, "a busy stream made way");
    }
    // The first idle one made way for the last; a kept connection is reused as usual.
    assert!(closed_within(&mut kept[0], Duration::from_secs(1)).await);
    let again = ask(&mut kept[3], &get("/api/mallory/tasks", Some(&mallory))).await;
    assert_eq!(again.map(|h| h.status), Some(200));

    // Without a token the client address is the tenant: four requests whose bodies are
    // still on their way hold its share. A fresh connection from it is closed at once; one
    // that was a user's is refused (in GraphQL's shape) when its next request has no token.
    let mut carols = connect(&app, "127.0.0.4").await;
    let answer = ask(
        &mut carols,
        &get("/api/carol/tasks", Some(&app.token("carol"))),
    )
    .await;
    assert_eq!(answer.map(|h| h.status), Some(200));
    let mut uploading = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&app, "127.0.0.4").await;
        let partial = "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                       Content-Length: 100\r\n\r\n{\"query\"";
        stream.write_all(partial.as_bytes()).await.unwrap();
        uploading.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fresh = connect(&app, "127.0.0.4").await;
    assert!(closed_within(&mut fresh, Duration::from_secs(1)).await);
    let refused = ask(&mut carols, &get("/graphql?query=%7B__typename%7D", None))
        .await
        .expect("an answer");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("connection"), Some("close"));
    let body = String::from_utf8_lossy(&refused.rest).into_owned();
    assert!(body.contains("LIMIT_EXCEEDED"), "{body}");
    // Another address is not affected.
    let mut elsewhere = connect(&app, "127.0.0.5").await;
    let answer = ask(
        &mut elsewhere,
        &get("/graphql?query=%7B__typename%7D", None),
    )
    .await;
    assert_eq!(answer.map(|h| h.status), Some(200));
    drop(uploading);

    // Bob has his own share.
    let mut bobs = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&app, "127.0.0.3").await;
        let answer = ask(&mut stream, &get("/api/bob/tasks", Some(&app.token("bob")))).await;
        assert_eq!(answer.map(|h| h.status), Some(200));
        bobs.push(stream);
    }
    healthz(&app).await.unwrap();
}

/// Sockets of one address that sent a byte and trickle their first request's headers (never
/// idle, so never reclaimed) are the address's from the start: with 16 connections and 25%,
/// 4 of 24 are kept and the rest closed at once, and another client's `/healthz` stays
/// prompt (the 24 would otherwise hold every slot until HEADER_READ_TIMEOUT).
async fn trickled_headers_stay_within_the_addresss_share(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "16",
        "--connection-share-per-user" => "25%",
        "--header-read-timeout" => "60s",
    );
    let server: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let attack = async move {
        let mut trickling = Vec::new();
        for _ in 0..24 {
            trickling.push(tokio::spawn(async move {
                let socket = TcpSocket::new_v4().unwrap();
                socket.bind(SocketAddr::new(ip("127.0.0.6"), 0)).unwrap();
                let mut stream = socket.connect(server).await.ok()?;
                // A byte at once, then the headers one byte every 100 ms for a second, never
                // ending (the attack lasts that second and the probes go on one more).
                let head = "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ".bytes();
                for byte in head.chain(std::iter::repeat(b'a')).take(10) {
                    stream.write_all(&[byte]).await.ok()?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(stream)
            }));
        }
        let mut held = Vec::new();
        for socket in trickling {
            held.extend(socket.await.unwrap());
        }
        held
    };
    let mut held = healthz_stays_prompt(&app, attack, AFTER).await;
    let open = open_count(&mut held).await;
    assert_eq!(open, 4, "trickling connections of one address still open");
    // Another address still has its own share.
    let mut elsewhere = connect(&app, "127.0.0.5").await;
    let answer = ask(&mut elsewhere, &get("/healthz", None)).await;
    assert_eq!(answer.map(|h| h.status), Some(200));
}

/// A request's connection is its client address's until its token verifies, whatever it
/// carries: 16 connections of one address, each first a different user's, then each sending
/// a slow body (with `Bearer junk`, or with the user's valid token): 4 are read (the
/// address's share), the other 12 refused 429 with `Connection: close` and closed, and
/// another client's `/healthz` stays prompt (they would otherwise hold every slot).
async fn unverified_slow_bodies_stay_within_the_addresss_share(backend: Backend) {
    let app = start_app!(backend,
        "--max-connections" => "16",
        "--connection-share-per-user" => "25%",
        "--header-read-timeout" => "60s",
    );
    let mut streams = Vec::new();
    for n in 0..16 {
        let user = format!("u{n}");
        let mut stream = connect(&app, "127.0.0.7").await;
        let path = format!("/api/{user}/tasks");
        let answer = ask(&mut stream, &get(&path, Some(&app.token(&user)))).await;
        assert_eq!(answer.map(|h| h.status), Some(200), "{user}");
        streams.push(stream);
    }
    for (n, stream) in streams.iter_mut().enumerate() {
        let user = format!("u{n}");
        let token = if n % 2 == 0 {
            "junk".to_owned()
        } else {
            app.token(&user)
        };
        let partial = format!(
            "POST /api/{user}/tasks HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        );
        stream.write_all(partial.as_bytes()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Each answer looked for at once, for 3 s: a refusal late on a loaded machine is still
    // one, and a body being read cannot be answered before BODY_READ_TIMEOUT (10 s).
    let attack = futures::future::join_all(streams.into_iter().map(|mut stream| async move {
        let head = read_head(&mut stream, Duration::from_secs(3)).await;
        (head, stream)
    }));
    let answers = healthz_stays_prompt(&app, attack, AFTER).await;
    let mut reading = 0;
    for (head, mut stream) in answers {
        match head {
            Some(head) => {
                assert_eq!(head.status, 429);
                assert_eq!(head.header("connection"), Some("close"));
                assert!(closed_within(&mut stream, Duration::from_secs(1)).await);
            }
            None => {
                assert!(
                    still_open(&mut stream).await,
                    "a body being read was closed"
                );
                reading += 1;
            }
        }
    }
    assert_eq!(reading, 4, "slow bodies of one address being read");
}
