//! GraphQL subscriptions over WebSocket (graphql-transport-ws): token in `connection_init`,
//! events for the subscriber's own tasks only, on both backends.

use std::time::Duration;

use crate::common::{TestApp, live};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

backend_tests!(
    events_reach_only_their_owner,
    events_carry_v2_fields_and_clear_completed_deletes,
    bad_or_missing_token_closes_the_socket,
    events_keep_the_selection_order,
    a_normal_close_is_answered_with_a_close_frame
);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, init_payload: Value) -> Socket {
    connect_with(app, "graphql-transport-ws", init_payload).await
}

/// A socket speaking `protocol` (graphql-transport-ws or the legacy graphql-ws), initialised
/// with `init_payload` (not yet acknowledged).
async fn connect_with(app: &TestApp, protocol: &str, init_payload: Value) -> Socket {
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
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
    let text = next_text(socket).await?;
    Some(serde_json::from_str(&text).unwrap())
}

async fn events_reach_only_their_owner(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mut socket = live::socket(&app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "1",
        "subscription { taskEvents { kind id task { title completed } } }",
    )
    .await;
    live::registered(&app, "alice", &mut socket).await;

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

async fn events_carry_v2_fields_and_clear_completed_deletes(app: TestApp) {
    let alice = app.user("alice");
    let mut socket = live::socket(&app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "1",
        "subscription { taskEvents { kind id task { priority category dueDate completedAt } } }",
    )
    .await;
    live::registered(&app, "alice", &mut socket).await;

    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "t", "priority": "high", "category": "work", "due_date": "2026-12-01T00:00:00Z"}),
        )
        .await
        .good(StatusCode::CREATED);
    let id = task["id"].as_i64().unwrap();
    let done = alice
        .patch(&alice.tasks_path(&format!("/{id}/complete")))
        .await
        .good(StatusCode::OK);
    let other = alice.create_task("other").await;
    let other_id = other["id"].as_i64().unwrap();
    alice
        .patch(&alice.tasks_path(&format!("/{other_id}/complete")))
        .await
        .good(StatusCode::OK);
    let cleared = alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    assert_eq!(cleared["clearCompleted"].as_array().unwrap().len(), 2);

    let first = next_json(&mut socket).await.expect("an event");
    assert_eq!(
        first["payload"]["data"]["taskEvents"],
        json!({"kind": "CREATED", "id": id.to_string(), "task": {"priority": "HIGH", "category": "WORK",
               "dueDate": "2026-12-01T00:00:00.000000Z", "completedAt": null}})
    );
    let second = next_json(&mut socket).await.expect("an event");
    assert_eq!(
        second["payload"]["data"]["taskEvents"]["task"]["completedAt"],
        done["completed_at"]
    );
    // other's CREATED and UPDATED, then one DELETED per cleared task.
    next_json(&mut socket).await.expect("an event");
    next_json(&mut socket).await.expect("an event");
    let mut deleted = Vec::new();
    for _ in 0..2 {
        let event = next_json(&mut socket).await.expect("an event");
        let event = &event["payload"]["data"]["taskEvents"];
        assert_eq!(event["kind"], "DELETED", "{event}");
        assert_eq!(event["task"], Value::Null);
        deleted.push(event["id"].as_str().unwrap().parse::<i64>().unwrap());
    }
    deleted.sort();
    assert_eq!(deleted, vec![id, other_id]);
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

/// The next text message as sent (key order intact), or `None` when the socket closes; fails
/// after 10 s.
async fn next_text(socket: &mut Socket) -> Option<String> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s");
        match message {
            Some(Ok(Message::Text(text))) => return Some(text.to_string()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

/// An event's objects keep the order of the subscription's selection, not alphabetical order,
/// as HTTP responses do; on both WebSocket protocols.
async fn events_keep_the_selection_order(app: TestApp) {
    let alice = app.user("alice");
    let query = "subscription { taskEvents { task { title id completed } kind } }";
    for (protocol, start, next) in [
        ("graphql-transport-ws", "subscribe", "next"),
        ("graphql-ws", "start", "data"),
    ] {
        let token = format!("Bearer {}", app.token("alice"));
        let mut socket = connect_with(&app, protocol, json!({"Authorization": token})).await;
        let ack = next_json(&mut socket).await.expect("an ack");
        assert_eq!(ack["type"], "connection_ack", "{protocol}");
        let subscribe = json!({"id": "1", "type": start, "payload": {"query": query}});
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .unwrap();
        live::registered(&app, "alice", &mut socket).await;

        let task = alice.create_task(protocol).await;
        let id = task["id"].as_i64().unwrap();
        let text = next_text(&mut socket).await.expect("an event");
        let message: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(message["type"], next, "{protocol}: {text}");
        let want = format!(
            r#"{{"taskEvents":{{"task":{{"title":"{protocol}","id":"{id}","completed":false}},"kind":"CREATED"}}}}"#
        );
        assert!(
            text.contains(&want),
            "{protocol}: {text} should hold {want}"
        );
        socket.close(None).await.ok();
    }
}

/// A client that closes with 1000 gets a close frame back before the stream ends (browsers
/// and Node's `ws` report 1006 otherwise).
async fn a_normal_close_is_answered_with_a_close_frame(app: TestApp) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let mut socket = live::socket(&app, "alice").await;
    live::subscribe(&mut socket, "1").await;
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    };
    socket.send(Message::Close(Some(frame))).await.unwrap();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer within 10 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Normal);
                break;
            }
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a close frame from the server, got {other:?}"),
        }
    }
}
