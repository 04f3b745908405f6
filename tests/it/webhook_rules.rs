//! Webhooks' small promises of issue 58, on both backends: special-use IPv6 literals (6to4,
//! Teredo, NAT64 of a private address, …) refused at create and update; a NUL or another
//! control character is a 422 naming its field (was a 500 on PostgreSQL), and the URL is kept
//! as parsed; a disabled webhook sends nothing it had queued, even once re-enabled, and its
//! test is 409 `WEBHOOK_DISABLED`. Deliveries are `webhook_delivery`'s; keys `webhook_keys`'.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp, assert_error_at};

const WAIT: Duration = Duration::from_secs(20);

async fn special_addresses_are_refused(app: TestApp) {
    let alice = app.user("alice");
    let base = "/api/alice/webhooks";
    for host in [
        // 127.0.0.1 in 6to4; a Teredo address; NAT64 of loopback and of the metadata address;
        // documentation, ORCHIDv1, discard-only, IPv4-compatible.
        "[2002:7f00:1::1]",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[2001:db8::1]",
        "[2001:10::1]",
        "[100::1]",
        "[::127.0.0.1]",
    ] {
        let url = format!("https://{host}/hook");
        let answer = alice.post(base, json!({ "url": url })).await;
        assert_error_at(&answer.validation(), json!(["body", "url"]), "value_error");
        let gql = alice
            .graphql(
                "mutation($url: String!) { createWebhook(input: {url: $url}) { secret } }",
                json!({ "url": url }),
            )
            .await;
        let code = &gql["errors"][0]["extensions"]["code"];
        assert_eq!(code, "BAD_USER_INPUT", "{url}: {gql}");
    }
    // NAT64 of a public address is that address: taken.
    let made = alice
        .post(base, json!({"url": "https://[64:ff9b::808:808]/hook"}))
        .await
        .good(StatusCode::CREATED);
    let path = format!("{base}/{}", made["id"]);
    let patch = json!({"url": "https://[2002:a00:1::1]/"});
    let answer = alice.request(Method::PATCH, &path, Some(patch)).await;
    assert_error_at(&answer.validation(), json!(["body", "url"]), "value_error");
}

async fn control_characters_are_422(app: TestApp) {
    let alice = app.user("alice");
    let base = "/api/alice/webhooks";
    let refused = [
        (
            json!({"url": "https://hooks.example.com/a", "description": "a\u{0}b"}),
            "description",
        ),
        (json!({"url": "https://hooks.example.com/a\u{0}b"}), "url"),
        (json!({"url": "https://hooks.example.com/a\tb"}), "url"),
        (json!({"url": "https://hooks.example.com/\u{7f}"}), "url"),
    ];
    for (body, field) in &refused {
        let answer = alice.post(base, body.clone()).await;
        assert_error_at(&answer.validation(), json!(["body", field]), "value_error");
    }
    let made = alice
        .post(base, json!({"url": "HTTPS://Hooks.Example.COM"}))
        .await
        .good(StatusCode::CREATED);
    // Kept as parsed: what deliveries go to.
    assert_eq!(made["url"], "https://hooks.example.com/");
    let path = format!("{base}/{}", made["id"]);
    for (body, field) in refused {
        let answer = alice.request(Method::PATCH, &path, Some(body)).await;
        assert_error_at(&answer.validation(), json!(["body", field]), "value_error");
    }
    let patch = json!({"url": "https://hooks.example.com/a b"});
    let changed = alice.request(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(
        changed.good(StatusCode::OK)["url"],
        "https://hooks.example.com/a%20b"
    );
    for (mutation, field) in [
        (
            "mutation { createWebhook(input: {url: \"https://hooks.example.com/g\", \
             description: \"a\\u0000b\"}) { secret } }",
            "description",
        ),
        (
            "mutation { createWebhook(input: {url: \"https://hooks.example.com/\\u0000\"}) \
             { secret } }",
            "url",
        ),
    ] {
        let gql = alice.graphql(mutation, json!({})).await;
        let extensions = &gql["errors"][0]["extensions"];
        assert_eq!(extensions["code"], "BAD_USER_INPUT", "{gql}");
        assert_eq!(extensions["field"], field, "{gql}");
    }
    let gql = alice
        .graphql(
            "mutation($id: ID!) { updateWebhook(id: $id, input: {description: \"\\u0000\"}) \
             { id } }",
            json!({"id": made["id"].to_string()}),
        )
        .await;
    assert_eq!(
        gql["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{gql}"
    );
    // Nothing refused was written.
    let listed = alice.get(base).await.good(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["description"], Value::Null);
}

/// Disabling drops what the webhook had queued: a retry due while it was disabled is not sent
/// once it is re-enabled (to the URL of the re-enabling), and its test is refused meanwhile.
async fn disabling_drops_the_queue(backend: Backend) {
    let app = start_app!(backend, "--webhook-allow-private" => "true",
        "--webhook-retry-schedule" => "1s");
    let receiver = Receiver::start().await;
    receiver.answer(&[], 500);
    let alice = app.user("alice");
    let made = alice
        .post("/api/alice/webhooks", json!({"url": receiver.url("/down")}))
        .await
        .good(StatusCode::CREATED);
    let path = format!("/api/alice/webhooks/{}", made["id"]);
    let test = alice.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.text);
    // Its first attempt failed: a retry is queued.
    receiver.wait_for("/down", 1, WAIT).await;
    let start = Instant::now();
    loop {
        let log = alice.get(&format!("{path}/deliveries")).await;
        if log.good(StatusCode::OK).as_array().unwrap().len() == 1 {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "the first attempt was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let off = json!({"disabled": true});
    alice
        .request(Method::PATCH, &path, Some(off))
        .await
        .good(StatusCode::OK);
    let refused = alice.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(
        refused.json()["code"],
        "WEBHOOK_DISABLED",
        "{}",
        refused.text
    );
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    // The retry falls due while it is disabled; re-enabled at a new URL, only what comes after
    // is sent there (a retry, due first, would have been claimed before it).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    receiver.answer(&[], 200);
    let on = json!({"disabled": false, "url": receiver.url("/new")});
    alice
        .request(Method::PATCH, &path, Some(on))
        .await
        .good(StatusCode::OK);
    alice.create_task("after").await;
    let got = receiver.wait_for("/new", 1, WAIT).await;
    let kinds: Vec<String> = got.iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, ["task.created"], "{got:#?}");
    assert_eq!(receiver.received_at("/down").len(), 1);
}

backend_tests!(special_addresses_are_refused, control_characters_are_422);
backend_cases!(disabling_drops_the_queue);
