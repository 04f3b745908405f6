//! `reminder.due` (issue 43): a reminder that fires queues a message for the webhooks of each
//! recipient (the owner, and the assignee when that is someone else), in the firing's own
//! transaction; delivered signed, on both backends.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::Backend;
use crate::common::receiver::{Receiver, verify_all};
use crate::webhook_delivery::{hook, shared_list};

async fn a_fired_reminder_is_delivered_to_each_recipient(backend: Backend) {
    let app = start_app!(backend, "--webhook-allow-private" => "true");
    let receiver = Receiver::start().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let events = Some(json!(["reminder.due"]));
    let (_, alice_secret) = hook(&alice, &receiver.url("/alice"), events.clone()).await;
    let (_, bob_secret) = hook(&bob, &receiver.url("/bob"), events).await;
    let list_id = shared_list(&alice, "bob", "editor").await;
    let due = (Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "ship it", "list_id": list_id, "assignee_id": "bob",
                   "remind_at": due}),
        )
        .await
        .good(StatusCode::CREATED);
    let wait = Duration::from_secs(20);
    for (path, secret) in [("/alice", alice_secret), ("/bob", bob_secret)] {
        let got = receiver.wait_for(path, 1, wait).await;
        verify_all(&secret, &got);
        assert_eq!(got.len(), 1, "{path}: {got:?}");
        let body = got[0].json();
        assert_eq!(body["type"], "reminder.due");
        assert_eq!(body["data"]["id"], task["id"]);
        assert_eq!(body["data"]["title"], "ship it");
        assert!(body["data"]["reminded_at"].is_string(), "{body}");
    }
}

backend_cases!(a_fired_reminder_is_delivered_to_each_recipient);
