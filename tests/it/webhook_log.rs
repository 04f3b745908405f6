//! A webhook's deliveries log through GraphQL (issue 58, item 4), on both backends: the
//! documented range (`deliveries(first:)` 1 to 100, every field, under every one of the
//! user's MAX_WEBHOOKS_PER_USER webhooks) passes the default cost limits, and the log's rows
//! count toward the response's byte bound (GRAPHQL_MAX_RESPONSE_BYTES) like every other row.
//! REST has no nesting to cost: `GET …/deliveries?limit=100` is `webhook_delivery`'s.

use serde_json::{Value, json};

use crate::common::receiver::Receiver;
use crate::common::{Backend, UserClient};
use crate::webhook_delivery::{attempts, hook};

const PRIVATE: (&str, &str) = ("--webhook-allow-private", "true");

/// Every field of a delivery attempt.
const ATTEMPT: &str =
    "messageId eventType attempt statusCode error durationMs attemptedAt nextAttemptAt";

/// `count` webhooks of `user`'s at `receiver` for task creations, each with `tasks` attempts
/// in its log once `tasks` tasks are created; their ids.
async fn logged_hooks(
    user: &UserClient<'_>,
    receiver: &Receiver,
    count: usize,
    tasks: usize,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..count {
        let url = receiver.url(&format!("/{n}"));
        ids.push(hook(user, &url, Some(json!(["task.created"]))).await.0);
    }
    for n in 0..tasks {
        user.create_task(&format!("task {n}")).await;
    }
    for id in &ids {
        attempts(user, *id, tasks).await;
    }
    ids
}

/// The error code of a GraphQL answer's first error, if any.
fn code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

/// Every webhook's last 100 attempts with every field, under the default limits (depth 10,
/// complexity 250): before the fix "Query is too complex" (costed 10 webhooks × 100 × 8
/// fields), as was `deliveries(first: 5)` under `webhooks`.
async fn the_documented_range_passes(backend: Backend) {
    let app = start_app!(backend, PRIVATE.0 => PRIVATE.1);
    let receiver = Receiver::start().await;
    let alice = app.user("alice");
    // MAX_WEBHOOKS_PER_USER (10 by default), each with a log.
    let ids = logged_hooks(&alice, &receiver, 10, 2).await;

    for first in [100, 5] {
        let query =
            format!("{{ webhooks {{ id url deliveries(first: {first}) {{ {ATTEMPT} }} }} }}");
        let answer = alice.graphql(&query, json!({})).await;
        assert!(answer.get("errors").is_none(), "first: {first}: {answer}");
        let hooks = answer["data"]["webhooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 10, "{answer}");
        for hook in hooks {
            let log = hook["deliveries"].as_array().unwrap();
            assert_eq!(log.len(), 2, "{hook}");
            assert_eq!(log[0]["statusCode"], 200, "{hook}");
            assert_eq!(log[0]["eventType"], "task.created", "{hook}");
        }
    }
    // One webhook's, by id, with the page size as a variable.
    let one = alice
        .graphql_data(
            &format!("query($id: ID!, $n: Int!) {{ webhook(id: $id) {{ deliveries(first: $n) {{ {ATTEMPT} }} }} }}"),
            json!({"id": ids[0].to_string(), "n": 100}),
        )
        .await;
    assert_eq!(one["webhook"]["deliveries"].as_array().unwrap().len(), 2);
    // Past the range: the field says what is wrong.
    let past = alice
        .graphql(
            &format!("{{ webhooks {{ deliveries(first: 101) {{ {ATTEMPT} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code(&past), Some("BAD_USER_INPUT"), "{past}");
    assert!(past.to_string().contains("between 1 and 100"), "{past}");
}

/// The log's rows count toward GRAPHQL_MAX_RESPONSE_BYTES: under an 8 KiB bound a webhook
/// alone answers, and its log of 8 attempts is one RESPONSE_TOO_LARGE error with no data
/// (before the fix nothing was charged for webhooks or their logs: the answer came whole).
async fn the_log_counts_toward_the_response_bound(backend: Backend) {
    let app = start_app!(
        backend,
        PRIVATE.0 => PRIVATE.1,
        "--graphql-max-response-bytes" => "8KiB",
    );
    let receiver = Receiver::start().await;
    let alice = app.user("alice");
    let ids = logged_hooks(&alice, &receiver, 1, 8).await;
    let id = json!({"id": ids[0].to_string()});

    let alone = alice
        .graphql(
            "query($id: ID!) { webhook(id: $id) { id url } }",
            id.clone(),
        )
        .await;
    assert!(alone.get("errors").is_none(), "{alone}");
    let logged = alice
        .graphql(
            "query($id: ID!) { webhook(id: $id) { id deliveries(first: 20) { messageId } } }",
            id,
        )
        .await;
    assert_eq!(code(&logged), Some("RESPONSE_TOO_LARGE"), "{logged}");
    assert_eq!(logged["data"], Value::Null, "{logged}");
}

backend_cases!(
    the_documented_range_passes,
    the_log_counts_toward_the_response_bound
);
