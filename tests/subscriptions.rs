//! GraphQL subscriptions over WebSocket (graphql-transport-ws): token in `connection_init`,
//! events for the subscriber's own tasks only, on both backends.

mod common;

use std::time::Duration;

use common::TestApp;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

backend_tests!(
    events_reach_only_their_owner,
    bad_or_missing_token_closes_the_socket
);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, init_payload: Value) -> Socket {
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    let init = json!({"type": "connection_init", "payload": init_payload});
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    socket
}

/// The next JSON message, or `None` when the socket closes; fails after 10 s.
async fn next_json(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s");
        match message {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

async fn events_reach_only_their_owner(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mut socket = connect(
        &app,
        json!({"Authorization": format!("Bearer {}", app.token("alice"))}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await.unwrap()["type"],
        "connection_ack"
    );
    let subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": {"query": "subscription { taskEvents { kind id task { title completed } } }"},
    });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    // The subscription is registered asynchronously; give it a moment before acting.
    tokio::time::sleep(Duration::from_millis(300)).await;

    bob.create_task("bob's task").await;
    let task = alice.create_task("alice's task").await;
    let id = task["id"].as_i64().unwrap();
    alice
        .patch(&alice.tasks_path(&format!("/{id}/complete")))
        .await
        .good(StatusCode::OK);
    let deleted = alice.delete(&alice.tasks_path(&format!("/{id}"))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let expected = [
        json!({"kind": "CREATED", "id": id.to_string(), "task": {"title": "alice's task", "completed": false}}),
        json!({"kind": "UPDATED", "id": id.to_string(), "task": {"title": "alice's task", "completed": true}}),
        json!({"kind": "DELETED", "id": id.to_string(), "task": null}),
    ];
    for want in expected {
        let message = next_json(&mut socket).await.expect("an event");
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], "1");
        assert_eq!(
            message["payload"]["data"]["taskEvents"], want,
            "bob's task never shows up"
        );
    }
    socket.close(None).await.ok();
}

async fn bad_or_missing_token_closes_the_socket(app: TestApp) {
    for payload in [
        json!({}),
        json!({"Authorization": "Bearer not-a-jwt"}),
        json!({"Authorization": "Basic x"}),
    ] {
        let mut socket = connect(&app, payload.clone()).await;
        let reply = next_json(&mut socket).await;
        assert!(
            reply.as_ref().is_none_or(|m| m["type"] != "connection_ack"),
            "no ack for {payload}: {reply:?}"
        );
    }
}
