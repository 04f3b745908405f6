//! Graceful shutdown of the real binary: on SIGTERM / SIGINT it stops accepting, lets a request
//! in flight finish, closes its database connections and exits 0; a request that never
//! finishes holds it up for SHUTDOWN_TIMEOUT at most.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::binary::Binary;
use crate::common::{pg, token_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TITLE: &str = "Written during shutdown";

/// A POST whose body is sent in two halves over a raw connection, so it can be in flight
/// while the signal arrives.
struct SlowPost {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowPost {
    /// Sends the headers and half the body.
    async fn begin(addr: SocketAddr, user: &str) -> SlowPost {
        let body = serde_json::to_vec(&serde_json::json!({ "title": TITLE })).unwrap();
        let head = format!(
            "POST /api/{user}/tasks HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            token_for(user),
            body.len()
        );
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(head.as_bytes()).await.unwrap();
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).await.unwrap();
        stream.flush().await.unwrap();
        SlowPost {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Sends the rest and reads the whole response: (status, raw response).
    async fn finish(mut self) -> (u16, String) {
        self.stream.write_all(&self.rest).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            self.stream.read_to_end(&mut response),
        )
        .await
        .expect("the response comes")
        .expect("the response reads");
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }
}

/// The server's `http_requests_in_flight` (its own process: the gauge is the binary's alone).
async fn requests_in_flight(server: &Binary) -> f64 {
    let metrics = crate::common::http_client()
        .get(format!("{}/metrics", server.base()))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics reads");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("http_requests_in_flight "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Starts a slow POST and waits until the server has read its head and entered the handler
/// (the in-flight gauge above what it read before), so the signal finds it in flight.
async fn begin_in_flight(server: &Binary) -> SlowPost {
    let idle = requests_in_flight(server).await;
    let post = SlowPost::begin(server.addr, "alice").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while requests_in_flight(server).await <= idle {
        assert!(
            Instant::now() < deadline,
            "the slow POST never got in flight"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    post
}

async fn in_flight_request_completes(server: &mut Binary) {
    let post = begin_in_flight(server).await;
    server.signal("TERM");
    // The listener closes once the signal is handled: wait for that, not for a clock.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(server.addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.exited().is_none(), "exited with a request in flight");

    let (status, response) = post.finish().await;
    assert_eq!(status, 201, "{response}");
    assert!(response.contains(TITLE), "{response}");
    let exit = server.wait_exit(Duration::from_secs(15)).await;
    assert!(
        exit.success(),
        "exit status {exit:?}:\n{}",
        server.logs().join("\n")
    );
    let logs = server.logs().join("\n");
    assert!(logs.contains("shutdown signal received"), "{logs}");
    assert!(logs.contains("shut down"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_flight_request_completes_on_sigterm() {
    let mut server = Binary::start(&[]).await;
    let wal = server.dir().join("todo.db-wal");
    assert!(wal.exists(), "SQLite is not in WAL mode");
    in_flight_request_completes(&mut server).await;
    // The last SQLite connection to close checkpoints the WAL and deletes it: the pool was
    // closed, not abandoned.
    assert!(
        !wal.exists(),
        "{} is still there: the connections were not closed",
        wal.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_in_flight_request_completes_on_sigterm() {
    let Some(database) = pg::TempDatabase::migrated().await else {
        return;
    };
    let mut server = Binary::start(&[("DATABASE_URL", &database.url)]).await;
    in_flight_request_completes(&mut server).await;

    let admin = pg::admin_client().await.expect("admin connection");
    // The acknowledged write is there, and the pool's connections are gone.
    let client = {
        let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    };
    let row = client
        .query_one("SELECT count(*) FROM tasks WHERE title = $1", &[&TITLE])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    drop(client);
    let mut open = i64::MAX;
    for _ in 0..50 {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&database.name],
            )
            .await
            .unwrap();
        open = row.get(0);
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        open, 0,
        "connections to the test database remain after exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_is_bounded_by_shutdown_timeout() {
    let mut server = Binary::start(&[("SHUTDOWN_TIMEOUT", "1s")]).await;
    let _stuck = begin_in_flight(&server).await;
    let signalled = Instant::now();
    server.signal("INT");
    let exit = server.wait_exit(Duration::from_secs(15)).await;
    assert!(exit.success(), "exit status {exit:?}");
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "exited before SHUTDOWN_TIMEOUT: {took:?}"
    );
    let logs = server.logs().join("\n");
    assert!(logs.contains("SHUTDOWN_TIMEOUT"), "{logs}");
}

/// An open SSE stream ends at SIGTERM instead of holding the drain up for SHUTDOWN_TIMEOUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_event_streams_end_on_sigterm() {
    let mut server = Binary::start(&[("SHUTDOWN_TIMEOUT", "20s")]).await;
    let client = crate::common::http_client();
    let mut stream = client
        .get(format!("{}/api/alice/tasks/events", server.base()))
        .bearer_auth(token_for("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), reqwest::StatusCode::OK);
    // No pause: the stream's head came, so its handler has run and the stream is open.
    let signalled = Instant::now();
    server.signal("TERM");
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream is still open after SIGTERM");
    let exit = server.wait_exit(Duration::from_secs(15)).await;
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "held up by the stream: {:?}",
        signalled.elapsed()
    );
}
