//! Clients for live updates: a graphql-transport-ws socket and a Server-Sent Events reader.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::TestApp;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws socket for `user`, acknowledged.
pub async fn socket(app: &TestApp, user: &str) -> Socket {
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", app.token(user))}});
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let ack = next_json(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(ack.expect("an ack")["type"], "connection_ack");
    socket
}

/// Sends a `taskEvents` subscription with this id.
pub async fn subscribe(socket: &mut Socket, id: &str) {
    subscribe_to(
        socket,
        id,
        "subscription { taskEvents { kind id cursor task { id title completed } } }",
    )
    .await;
}

/// Sends the subscription `query` with this id.
pub async fn subscribe_to(socket: &mut Socket, id: &str, query: &str) {
    let subscribe = json!({"id": id, "type": "subscribe", "payload": {"query": query}});
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message, or `None` when the socket closes; panics after `within`.
pub async fn next_json(socket: &mut Socket, within: Duration) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(within, socket.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

/// The next JSON message, or `None` when nothing arrives within `within` (or the socket closes).
pub async fn next_json_within(socket: &mut Socket, within: Duration) -> Option<Value> {
    tokio::time::timeout(within, next_json(socket, Duration::from_secs(3600)))
        .await
        .ok()
        .flatten()
}

/// The next `taskEvents` payload (panics on anything else).
pub async fn next_event(socket: &mut Socket) -> Value {
    let message = next_json(socket, Duration::from_secs(10))
        .await
        .expect("an event");
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"]["taskEvents"].clone()
}

/// Waits until `user`'s `taskEvents` subscription on `socket` is in place. graphql-ws says
/// nothing when a subscription starts (the server registers it after reading the user's
/// change number, a database round trip on PostgreSQL), and an event written before then is
/// not sent: a fixed pause was a guess. Instead a probe task is created through `app` until the
/// socket hears one (the first is usually heard), then every probe is deleted and the socket
/// read up to their deletions, so the test goes on with the socket quiet and no probe left.
/// The subscription must select `kind`. Returns how many probes were written (another
/// subscriber of `user`'s already in place hears each twice).
pub async fn registered(app: &TestApp, user: &str, socket: &mut Socket) -> usize {
    let writer = app.user(user);
    let mut probes = Vec::new();
    loop {
        assert!(probes.len() < 20, "the subscription never heard a write");
        let probe = writer.create_task("registration probe").await;
        probes.push(probe["id"].as_i64().expect("the probe's id"));
        if let Some(message) = next_json_within(socket, Duration::from_millis(300)).await {
            assert!(is_event(&message), "{message}");
            break;
        }
    }
    for id in &probes {
        let gone = writer.delete(&writer.tasks_path(&format!("/{id}"))).await;
        assert_eq!(
            gone.status,
            reqwest::StatusCode::NO_CONTENT,
            "{}",
            gone.text
        );
    }
    let mut deleted = 0;
    while deleted < probes.len() {
        let message = next_json(socket, Duration::from_secs(10))
            .await
            .expect("a probe's event");
        assert!(is_event(&message), "{message}");
        if message["payload"]["data"]["taskEvents"]["kind"] == "DELETED" {
            deleted += 1;
        }
    }
    probes.len()
}

/// An event of a subscription: `next` (graphql-transport-ws) or `data` (the older
/// subscriptions-transport-ws).
fn is_event(message: &Value) -> bool {
    message["type"] == "next" || message["type"] == "data"
}

/// True when nothing arrives within `quiet`.
pub async fn stays_quiet(socket: &mut Socket, quiet: Duration) -> bool {
    match tokio::time::timeout(quiet, socket.next()).await {
        Err(_) => true,
        Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => true,
        Ok(other) => {
            eprintln!("unexpected: {other:?}");
            false
        }
    }
}

/// One Server-Sent Events message: its `event:` name (none: `message`), `id:` and `data:`
/// (as JSON), or a comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Sse {
    Event {
        name: Option<String>,
        id: Option<String>,
        data: Value,
    },
    Comment(String),
}

/// A Server-Sent Events stream being read.
pub struct SseReader {
    pub response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    /// Opens `GET path` as `user` with extra headers; the response may be an error (read
    /// `response.status()`).
    pub async fn open(
        app: &TestApp,
        user: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> SseReader {
        Self::open_with_token(app, &app.token(user), path, headers).await
    }

    /// Opens `GET path` with this bearer token.
    pub async fn open_with_token(
        app: &TestApp,
        token: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> SseReader {
        let mut request = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(3600));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request is sent");
        SseReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next message; panics after `within`.
    pub async fn next(&mut self, within: Duration) -> Sse {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                let mut name = None;
                let mut id = None;
                let mut data = String::new();
                let mut comment = None;
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix(':') {
                        comment = Some(rest.trim().to_owned());
                    } else if let Some(rest) = line.strip_prefix("event:") {
                        name = Some(rest.trim().to_owned());
                    } else if let Some(rest) = line.strip_prefix("id:") {
                        id = Some(rest.trim().to_owned());
                    } else if let Some(rest) = line.strip_prefix("data:") {
                        data.push_str(rest.trim());
                    }
                }
                if data.is_empty() {
                    if let Some(comment) = comment {
                        return Sse::Comment(comment);
                    }
                    continue;
                }
                return Sse::Event {
                    name,
                    id,
                    data: serde_json::from_str(&data).expect("data is JSON"),
                };
            }
            let chunk = tokio::time::timeout(within, self.response.chunk())
                .await
                .expect("an SSE message in time")
                .expect("the stream reads")
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event, skipping keep-alive comments; panics on a named (non-`message`) event.
    pub async fn next_event(&mut self) -> (Option<String>, Value) {
        loop {
            match self.next(Duration::from_secs(10)).await {
                Sse::Event {
                    name: None,
                    id,
                    data,
                } => return (id, data),
                Sse::Event { name, data, .. } => panic!("unexpected event {name:?}: {data}"),
                Sse::Comment(_) => {}
            }
        }
    }

    /// The next named event within `within`, skipping keep-alive comments: (name, id, data).
    pub async fn next_named(&mut self, within: Duration) -> (String, Option<String>, Value) {
        let until = tokio::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Sse::Event {
                    name: Some(name),
                    id,
                    data,
                } => return (name, id, data),
                Sse::Event { data, .. } => panic!("unexpected message event: {data}"),
                Sse::Comment(_) => {}
            }
        }
    }

    /// True when the server ends the stream within `within` with nothing more than comments.
    pub async fn ends(&mut self, within: Duration) -> bool {
        let until = tokio::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Err(_)) | Ok(Ok(None)) => return self.buffer.trim().is_empty(),
                Ok(Ok(Some(chunk))) => {
                    self.buffer.push_str(&String::from_utf8_lossy(&chunk));
                    // Only keep-alive comments may come before the end.
                    let rest: String = self
                        .buffer
                        .lines()
                        .filter(|line| !line.is_empty() && !line.starts_with(':'))
                        .collect();
                    if !rest.is_empty() {
                        eprintln!("more after the end: {:?}", self.buffer);
                        return false;
                    }
                    self.buffer.clear();
                }
            }
        }
    }
}
