//! Cross-instance event delivery: two release servers on one fresh PostgreSQL database, a
//! GraphQL WebSocket subscriber and an SSE subscriber on instance A, and timed creates sent
//! one at a time to instance B. The delay of each is from sending the write request to B to
//! the event arriving on A (the write, its commit, NOTIFY, A's LISTEN connection and the
//! delivery all included). Every wait is bounded, so the part ends by itself.
//!
//! Settings: BENCH_REALTIME_WRITES (default 200). `BENCH_ONLY=realtime` runs this part alone.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{Server, common, env_or};

const USER: &str = "realtime-bench";
/// Writes before the timed ones (connections, caches).
const WARM_UP: usize = 10;
/// Longest wait for one event; a later one counts as missed.
const EVENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which subscriber saw the event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Via {
    WebSocket,
    Sse,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::WebSocket => "GraphQL WebSocket",
            Via::Sse => "SSE",
        }
    }
}

/// A `CREATED` event seen: by whom, for which task, when.
type Seen = (Via, i64, Instant);

/// Runs the part and prints p50 / p99 / max per subscriber.
pub async fn delivery_delay(bin: &Path) {
    let Some(db) = common::pg::TempDatabase::create().await else {
        println!("Realtime: skipped (PostgreSQL unreachable)");
        return;
    };
    let writes: usize = env_or("BENCH_REALTIME_WRITES", 200);
    let (a, _) = Server::start("A", bin, &db.url).await;
    let (b, _) = Server::start("B", bin, &db.url).await;
    let token = common::token_for(USER);
    let (seen, mut arrivals) = mpsc::unbounded_channel::<Seen>();
    let readers = [
        tokio::spawn(websocket_reader(
            a.base.clone(),
            token.clone(),
            seen.clone(),
        )),
        tokio::spawn(sse_reader(a.base.clone(), token.clone(), seen)),
    ];
    // Both subscriptions in place before the first write.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = reqwest::Client::new();
    let url = format!("{}/api/{USER}/tasks", b.base);
    let mut delays: HashMap<Via, Vec<Duration>> = HashMap::new();
    let mut missed: HashMap<Via, usize> = HashMap::new();
    for n in 0..WARM_UP + writes {
        let sent = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"title": format!("realtime {n}")}))
            .send()
            .await
            .expect("write to B");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let id = response.json::<Value>().await.expect("task JSON")["id"]
            .as_i64()
            .expect("task id");
        let mut waiting = vec![Via::WebSocket, Via::Sse];
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        while !waiting.is_empty() {
            match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                Ok(Some((via, seen_id, at))) if seen_id == id => {
                    waiting.retain(|w| *w != via);
                    if n >= WARM_UP {
                        delays.entry(via).or_default().push(at - sent);
                    }
                }
                // An event of an earlier write that came after its timeout.
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if n >= WARM_UP {
            for via in waiting {
                *missed.entry(via).or_default() += 1;
            }
        }
    }
    for reader in readers {
        reader.abort();
    }
    println!(
        "\n--- Realtime across instances: 2 servers on one PostgreSQL, {writes} creates sent one \
         at a time to B, subscribers on A (delay: write request sent to B -> event on A) ---"
    );
    for via in [Via::WebSocket, Via::Sse] {
        let mut list = delays.remove(&via).unwrap_or_default();
        list.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let at = |q: usize| list.get((list.len() * q / 100).min(list.len().saturating_sub(1)));
        match (at(50), at(99), list.last()) {
            (Some(p50), Some(p99), Some(max)) => println!(
                "{:<18} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, missed {} of {writes}",
                via.name(),
                ms(*p50),
                ms(*p99),
                ms(*max),
                missed.get(&via).copied().unwrap_or(0)
            ),
            _ => println!("{:<18} no events arrived", via.name()),
        }
    }
    drop((a, b));
}

/// A graphql-transport-ws subscriber to `taskEvents` on `base`.
async fn websocket_reader(base: String, token: String, seen: mpsc::UnboundedSender<Seen>) {
    let mut request = format!("{}/graphql", base.replace("http://", "ws://"))
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    let subscribe = json!({"id": "1", "type": "subscribe",
        "payload": {"query": "subscription { taskEvents { kind id } }"}});
    for message in [init, subscribe] {
        socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("websocket send");
    }
    while let Some(Ok(message)) = socket.next().await {
        let at = Instant::now();
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let event = &message["payload"]["data"]["taskEvents"];
        if event["kind"] == "CREATED"
            && let Some(id) = event["id"].as_str().and_then(|id| id.parse().ok())
            && seen.send((Via::WebSocket, id, at)).is_err()
        {
            return;
        }
    }
}

/// An SSE subscriber to `/api/{USER}/tasks/events` on `base`.
async fn sse_reader(base: String, token: String, seen: mpsc::UnboundedSender<Seen>) {
    let mut response = reqwest::Client::new()
        .get(format!("{base}/api/{USER}/tasks/events"))
        .bearer_auth(token)
        .send()
        .await
        .expect("SSE request");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let at = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            if event["kind"] == "CREATED"
                && let Some(id) = event["id"].as_i64()
                && seen.send((Via::Sse, id, at)).is_err()
            {
                return;
            }
        }
    }
}
