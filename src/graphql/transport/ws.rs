//! GraphQL over WebSocket (graphql-transport-ws, and the legacy graphql-ws), written here
//! rather than taken from async-graphql's defaults so that a socket obeys every limit HTTP
//! does, and the ones only a socket needs:
//!
//! - opening a socket passes the admission gate like any request: the upgrade is charged (to
//!   the user of a header token, else to the client address), and until `connection_init` the
//!   socket holds one of its address's places for connections without a user (refused 429);
//!   once a user is known, one of that user's live-connection places and one of the server's
//!   (over either: an upgrade is answered 429 / 503, an acknowledged socket closes 4430 /
//!   4503).
//! - `connection_init` within WS_INIT_TIMEOUT (else close 4408); a refused one closes 4403;
//!   a second one 4429; an operation before the ack 4401; a malformed message 4400.
//! - no operation running for WS_IDLE_TIMEOUT closes it with 4410 (reconnect when needed).
//! - each `subscribe` passes the same pipeline as an HTTP request ([`Pipeline`]: size,
//!   nesting, aliases, then depth and complexity with its own variables, field order in every
//!   event, metrics) and the per-user rate limit of the admission gate the connection passed
//!   at `connection_init` (`auth::Gate`); refused ones get a graphql-ws `error` with
//!   the same `extensions.code` as over HTTP.
//! - at most WS_MAX_SUBSCRIPTIONS_PER_CONNECTION operations at once; messages over
//!   WS_MAX_MESSAGE_SIZE close the socket (1009).
//! - the socket lives only as long as its credentials: it closes with 4401 when the token's
//!   `exp` passes, and when re-verification (every session cache period) fails, so a revoked
//!   Better Auth session ends its sockets.
//!
//! Events themselves come from `TaskService::subscribe` through the schema; nothing here
//! knows about tasks.
//!
//! `async-graphql-axum` is not a dependency: its `GraphQLWebSocket` runs `connection_init` and
//! each operation straight against the schema, past the pipeline's limits, the rate limit and
//! the credential's end that this transport applies; the protocol names come from
//! async-graphql itself (`ALL_WEBSOCKET_PROTOCOLS`).

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::Response;
use async_graphql::http::{ClientMessage, WebSocketProtocols};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use futures::stream::{BoxStream, SplitSink};
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_stream::StreamMap;

use super::pipeline::Pipeline;
use super::ws_open::{Opening, refusal_close};
use crate::auth::{Admitted, Credentials, Gate, bearer_from_value};
use crate::config::WebSocketLimits;
use crate::error::{AppError, AuthFailure};
use crate::graphql::schema::AppSchema;
use crate::graphql::schema::code::{Code, add_codes};
use crate::graphql::schema::error::to_graphql_error;

/// Everything one socket needs.
pub(super) struct SocketContext {
    pub schema: AppSchema,
    pub pipeline: Arc<Pipeline>,
    pub gate: Arc<Gate>,
    pub limits: WebSocketLimits,
}

/// The GraphQL WebSocket sub-protocol the client asked for, if it named one we speak.
pub(super) fn requested_protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().parse().ok())
}

/// Passes the upgrade through the admission gate, then accepts it and runs the socket.
pub(super) async fn upgrade(
    context: SocketContext,
    protocol: WebSocketProtocols,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> axum::response::Response {
    let opening = match Opening::admit(&context.gate, headers, client).await {
        Ok(opening) => opening,
        Err(refused) => return refused,
    };
    let max = context.limits.max_message_bytes;
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| run(socket, context, protocol, opening))
}

struct Outbox {
    sink: SplitSink<WebSocket, Message>,
    protocol: WebSocketProtocols,
}

impl Outbox {
    async fn send(&mut self, message: Value) -> bool {
        self.sink
            .send(Message::Text(message.to_string().into()))
            .await
            .is_ok()
    }

    async fn close(&mut self, code: u16, reason: &str) {
        // A close reason may hold at most 123 bytes.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let frame = CloseFrame {
            code,
            reason: reason[..end].into(),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
        let _ = self.sink.close().await;
    }

    /// Ends the socket after the client closed it: the close frame tungstenite queued in
    /// answer to the client's goes out (dropped unsent, browsers report 1006, not 1000).
    async fn finish(&mut self) {
        let _ = self.sink.close().await;
    }

    /// One result of an operation. Serialized straight from the `Response`, never through a
    /// `serde_json::Value` (whose maps sort their keys), so the data keeps the selection order
    /// the pipeline gave it.
    async fn next(&mut self, id: &str, payload: &Response) -> bool {
        #[derive(Serialize)]
        struct Next<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
            payload: &'a Response,
        }
        let kind = match self.protocol {
            WebSocketProtocols::GraphQLWS => "next",
            WebSocketProtocols::SubscriptionsTransportWS => "data",
        };
        let Ok(text) = serde_json::to_string(&Next { id, kind, payload }) else {
            return false;
        };
        self.sink.send(Message::Text(text.into())).await.is_ok()
    }

    /// An operation refused before it ran: graphql-ws `error`, with `extensions.code`.
    async fn error(&mut self, id: &str, code: Code, message: &str, extra: Option<Value>) -> bool {
        let mut error = json!({"message": message, "extensions": {"code": code.as_str()}});
        if let Some(Value::Object(extra)) = extra {
            for (key, value) in extra {
                error["extensions"][key] = value;
            }
        }
        let payload = match self.protocol {
            WebSocketProtocols::GraphQLWS => json!([error]),
            WebSocketProtocols::SubscriptionsTransportWS => error,
        };
        self.send(json!({"id": id, "type": "error", "payload": payload}))
            .await
    }
}

/// What came in: a protocol message, or the reason to stop.
enum Incoming {
    Message(Box<ClientMessage>),
    /// Closed by the client, or the connection broke.
    Gone,
    /// A message that is not a protocol message (close 4400).
    Malformed(String),
    /// Over WS_MAX_MESSAGE_SIZE, or a frame error (close 1009).
    TooBig,
}

fn read(message: Option<Result<Message, axum::Error>>) -> Option<Incoming> {
    Some(match message {
        None | Some(Ok(Message::Close(_))) => Incoming::Gone,
        Some(Err(_)) => Incoming::TooBig,
        Some(Ok(Message::Text(text))) => match ClientMessage::from_bytes(text.as_bytes()) {
            Ok(message) => Incoming::Message(Box::new(message)),
            Err(error) => Incoming::Malformed(format!("Invalid message received: {error}")),
        },
        Some(Ok(Message::Binary(_))) => {
            Incoming::Malformed("Invalid message received: binary frames are not used".into())
        }
        // WebSocket-level pings are answered by axum.
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => return None,
    })
}

/// The token from the `connection_init` payload, or else from the upgrade's header.
fn init_token(payload: &Value, header_token: Option<String>) -> Result<String, AuthFailure> {
    let from_payload = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(*key).and_then(Value::as_str))
        .map(|value| bearer_from_value(value).map(str::to_owned));
    match (from_payload, header_token) {
        (Some(Ok(token)), _) | (None, Some(token)) => Ok(token),
        (Some(Err(failure)), _) => Err(failure),
        (None, None) => Err(AuthFailure::Missing),
    }
}

async fn run(
    socket: WebSocket,
    context: SocketContext,
    protocol: WebSocketProtocols,
    opening: Opening,
) {
    let Opening {
        header_token,
        admitted: mut opened,
        pending,
    } = opening;
    let (sink, mut incoming) = socket.split();
    let mut out = Outbox { sink, protocol };

    // Until `connection_init`: nothing but pings, for at most WS_INIT_TIMEOUT.
    let deadline = tokio::time::sleep(context.limits.init_timeout);
    tokio::pin!(deadline);
    let (admitted, live) = loop {
        let message = tokio::select! {
            () = &mut deadline => {
                out.close(4408, "Connection initialisation timeout").await;
                return;
            }
            message = incoming.next() => message,
        };
        match read(message) {
            None => continue,
            Some(Incoming::Gone) => return out.finish().await,
            Some(Incoming::TooBig) => return out.close(1009, "Message too big").await,
            Some(Incoming::Malformed(why)) => return out.close(4400, &why).await,
            Some(Incoming::Message(message)) => match *message {
                ClientMessage::ConnectionInit { payload } => {
                    let payload = payload.unwrap_or_default();
                    let token = init_token(&payload, header_token.clone());
                    // The header's token, admitted at the upgrade: already charged and placed.
                    if token.as_ref().ok() == header_token.as_ref()
                        && let Some(opened) = opened.take()
                    {
                        break opened;
                    }
                    drop(opened.take());
                    let token = token.as_deref().map_err(Clone::clone);
                    // The connection passes the admission gate here (charged as a request,
                    // then given a live place); its operations are charged one by one below.
                    let admitted = context.gate.admit(Credentials::Connection(token)).await;
                    match admitted.and_then(|a| Ok((context.gate.hold_live(a.user())?, a))) {
                        Ok((live, admitted)) => break (admitted, live),
                        Err(
                            error @ (AppError::TooManyConnections(_) | AppError::RateLimited(_)),
                        ) => {
                            let (code, reason) = refusal_close(&error);
                            return out.close(code, &reason).await;
                        }
                        Err(error) => {
                            // Refused by its token (or the key server): the socket closes.
                            let failure = match error {
                                AppError::Unauthenticated(failure) => failure,
                                other => AuthFailure::Invalid(other.to_string()),
                            };
                            tracing::debug!(reason = %failure.reason(), "subscription not authenticated");
                            if protocol == WebSocketProtocols::SubscriptionsTransportWS {
                                let payload = json!({"message": failure.detail()});
                                out.send(json!({"type": "connection_error", "payload": payload}))
                                    .await;
                            }
                            return out
                                .close(4403, &format!("Forbidden: {}", failure.detail()))
                                .await;
                        }
                    }
                }
                ClientMessage::Ping { payload } => {
                    out.send(json!({"type": "pong", "payload": payload})).await;
                }
                ClientMessage::Pong { .. } => {}
                ClientMessage::ConnectionTerminate => return,
                ClientMessage::Start { .. } | ClientMessage::Stop { .. } => {
                    return out.close(4401, "Unauthorized").await;
                }
            },
        }
    };
    // Authenticated: no longer one of the address's connections without a user.
    drop(pending);
    if !out.send(json!({"type": "connection_ack"})).await {
        return;
    }
    serve_operations(&context, &mut out, &mut incoming, admitted).await;
    drop(live);
}

/// Runs operations for a verified user until the socket or its credentials end.
async fn serve_operations(
    context: &SocketContext,
    out: &mut Outbox,
    incoming: &mut futures::stream::SplitStream<WebSocket>,
    admitted: Admitted,
) {
    // Each operation's responses, then `None` when it completes.
    let mut operations: StreamMap<String, BoxStream<'static, Option<Response>>> = StreamMap::new();
    let ended = context.gate.credential(admitted.clone()).ended();
    tokio::pin!(ended);
    // Runs only while no operation does: a socket that does nothing gives its place back.
    let idle_timeout = context.limits.idle_timeout;
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    loop {
        if !operations.is_empty() {
            idle.as_mut()
                .reset(tokio::time::Instant::now() + idle_timeout);
        }
        tokio::select! {
            end = &mut ended => return out.close(4401, &end.message()).await,
            () = &mut idle, if operations.is_empty() => {
                let reason = format!(
                    "Idle: no operation for {}s (WS_IDLE_TIMEOUT); reconnect when needed",
                    idle_timeout.as_secs()
                );
                return out.close(4410, &reason).await;
            }
            Some((id, item)) = operations.next(), if !operations.is_empty() => {
                let sent = match item {
                    Some(response) => out.next(&id, &add_codes(response)).await,
                    None => {
                        operations.remove(&id);
                        out.send(json!({"id": id, "type": "complete"})).await
                    }
                };
                if !sent {
                    return;
                }
            }
            message = incoming.next() => {
                let message = match read(message) {
                    None => continue,
                    Some(Incoming::Gone) => return out.finish().await,
                    Some(Incoming::TooBig) => return out.close(1009, "Message too big").await,
                    Some(Incoming::Malformed(why)) => return out.close(4400, &why).await,
                    Some(Incoming::Message(message)) => *message,
                };
                match message {
                    ClientMessage::Start { id, payload } => {
                        if operations.contains_key(&id) {
                            return out
                                .close(4409, &format!("Subscriber for {id} already exists"))
                                .await;
                        }
                        let checked = if operations.len() >= context.limits.max_operations {
                            Err((Code::LimitExceeded, format!(
                                "at most {} operations may run at once on one connection",
                                context.limits.max_operations
                            ), None))
                        } else {
                            context
                                .pipeline
                                .check(payload)
                                .map_err(|refusal| (refusal.code, refusal.message, None))
                                .and_then(|checked| match context.gate.charge(&admitted) {
                                    Ok(()) => Ok(checked),
                                    Err(error) => {
                                        let extra = match &error {
                                            AppError::RateLimited(limited) => Some(
                                                json!({"retryAfter": limited.retry_after_secs()}),
                                            ),
                                            _ => None,
                                        };
                                        let code = Code::of(&error);
                                        let message = to_graphql_error(error).message;
                                        Err((code, message, extra))
                                    }
                                })
                        };
                        let checked = match checked {
                            Ok(checked) => checked,
                            Err((code, message, extra)) => {
                                if !out.error(&id, code, &message, extra).await {
                                    return;
                                }
                                continue;
                            }
                        };
                        let stream = context
                            .pipeline
                            .execute_stream(&context.schema, checked, admitted.user())
                            .map(Some)
                            .chain(futures::stream::once(async { None }))
                            .boxed();
                        operations.insert(id, stream);
                    }
                    ClientMessage::Stop { id } => {
                        operations.remove(&id);
                    }
                    ClientMessage::ConnectionInit { .. } => {
                        return out.close(4429, "Too many initialisation requests").await;
                    }
                    ClientMessage::Ping { payload } => {
                        out.send(json!({"type": "pong", "payload": payload})).await;
                    }
                    ClientMessage::Pong { .. } => {}
                    ClientMessage::ConnectionTerminate => return,
                }
            }
        }
    }
}
