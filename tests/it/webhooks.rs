//! Webhooks' API (issue 43), on both backends, over REST and GraphQL: create (secret shown
//! once), list, read, update (re-enable), delete, rotate, test; the input rules (422), another
//! user's webhook (404), the path of another user (403), MAX_WEBHOOKS_PER_USER (409
//! LIMIT_EXCEEDED) and literal private addresses refused at creation. Deliveries are
//! `webhook_delivery`'s; several instances and restarts `webhook_cluster`'s; a delete against
//! the worker's locks `webhook_locks`'.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, UserClient};

/// The length in bytes of a secret's key (`whsec_<base64>`).
fn key_len(secret: &str) -> usize {
    let key = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64")
        .len()
}

async fn create(user: &UserClient<'_>, body: Value) -> Value {
    let path = format!("/api/{}/webhooks", user.user);
    user.post(&path, body).await.good(StatusCode::CREATED)
}

async fn rest_lifecycle(app: TestApp) {
    let alice = app.user("alice");
    let base = "/api/alice/webhooks";
    let made = create(
        &alice,
        json!({"url": "https://hooks.example.com/a", "description": "CI"}),
    )
    .await;
    let id = made["id"].as_i64().unwrap();
    assert_eq!(made["url"], "https://hooks.example.com/a");
    assert_eq!(
        made["events"],
        json!([
            "task.created",
            "task.updated",
            "task.completed",
            "task.deleted",
            "reminder.due",
            "webhook.test"
        ])
    );
    assert_eq!(made["description"], "CI");
    assert_eq!(made["disabled"], false);
    assert_eq!(made["disabled_reason"], Value::Null);
    assert!(made["created_at"].as_str().unwrap().ends_with('Z'));
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!((24..=32).contains(&key_len(&secret)), "{secret}");

    // No secret anywhere but the create's and the rotation's answers.
    let listed = alice.get(base).await.good(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none(), "{listed}");
    let one = alice
        .get(&format!("{base}/{id}"))
        .await
        .good(StatusCode::OK);
    assert!(one.get("secret").is_none());
    assert_eq!(one["id"], id);

    let path = format!("{base}/{id}");
    let changed = alice
        .request(
            reqwest::Method::PATCH,
            &path,
            Some(
                json!({"url": "https://hooks.example.com/b", "events": ["task.deleted"],
                        "description": null, "disabled": true}),
            ),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(changed["url"], "https://hooks.example.com/b");
    assert_eq!(changed["events"], json!(["task.deleted"]));
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["disabled"], true);
    assert!(changed["disabled_reason"].is_string());
    let enabled = alice
        .request(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"disabled": false})),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(enabled["disabled"], false);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    assert_eq!(enabled["events"], json!(["task.deleted"]));

    let rotated = alice
        .post(&format!("{path}/rotate-secret"), json!({}))
        .await
        .good(StatusCode::OK);
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(key_len(new_secret), 32);

    let test = alice.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.text);
    let log = alice.get(&format!("{path}/deliveries?limit=5")).await;
    assert!(log.good(StatusCode::OK).is_array());

    let gone = alice.delete(&path).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    alice
        .get(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "Webhook not found");
    assert_eq!(alice.get(base).await.good(StatusCode::OK), json!([]));
}

async fn rest_input_rules(app: TestApp) {
    let alice = app.user("alice");
    let base = "/api/alice/webhooks";
    let long = format!("https://hooks.example.com/{}", "a".repeat(2048));
    let refused = [
        json!({"url": "https://hooks.example.com", "events": ["task.exploded"]}),
        json!({"url": "https://hooks.example.com", "events": []}),
        json!({"url": "ftp://hooks.example.com/x"}),
        json!({"url": "https://user:pass@hooks.example.com/x"}),
        json!({"url": long}),
        json!({"url": "not a url"}),
        json!({"events": ["task.created"]}),
        json!({"url": 5}),
        // Without WEBHOOK_ALLOW_PRIVATE: plain http, and literal non-public addresses.
        json!({"url": "http://hooks.example.com/x"}),
        json!({"url": "https://127.0.0.1/x"}),
        json!({"url": "https://10.0.0.8/x"}),
        json!({"url": "https://192.168.1.1/x"}),
        json!({"url": "https://169.254.169.254/latest/meta-data"}),
        json!({"url": "https://[::1]/x"}),
        json!({"url": "https://[fd00::1]/x"}),
        json!({"url": "https://[fe80::1]/x"}),
        json!({"url": "https://224.0.0.1/x"}),
        json!({"url": "https://0.0.0.0/x"}),
        json!({"url": "https://[::ffff:127.0.0.1]/x"}),
    ];
    for body in refused {
        let answer = alice.post(base, body.clone()).await;
        let detail = answer.validation();
        assert!(!detail.is_empty(), "{body}: {}", answer.text);
    }
    let bearer = format!("Bearer {}", app.token("alice"));
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let invalid = app
        .raw(
            reqwest::Method::POST,
            base,
            &headers,
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(
        invalid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        invalid.text
    );
    let made = create(&alice, json!({"url": "https://hooks.example.com/ok"})).await;
    let path = format!("{base}/{}", made["id"]);
    let patched = alice
        .request(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"url": "https://[::1]/"})),
        )
        .await;
    assert!(!patched.validation().is_empty());
    let bad_limit = alice.get(&format!("{path}/deliveries?limit=1000")).await;
    assert!(!bad_limit.validation().is_empty());
    let bad_id = alice.get(&format!("{base}/abc")).await;
    assert!(!bad_id.validation().is_empty());
    // Nothing of the refused ones was written.
    assert_eq!(
        alice
            .get(base)
            .await
            .good(StatusCode::OK)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn rest_isolation(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let made = create(&alice, json!({"url": "https://hooks.example.com/a"})).await;
    let id = made["id"].as_i64().unwrap();
    let theirs = format!("/api/bob/webhooks/{id}");
    bob.get(&theirs)
        .await
        .detail(StatusCode::NOT_FOUND, "Webhook not found");
    let patch = bob
        .request(
            reqwest::Method::PATCH,
            &theirs,
            Some(json!({"disabled": true})),
        )
        .await;
    patch.detail(StatusCode::NOT_FOUND, "Webhook not found");
    for suffix in ["/rotate-secret", "/test"] {
        let answer = bob.post(&format!("{theirs}{suffix}"), json!({})).await;
        answer.detail(StatusCode::NOT_FOUND, "Webhook not found");
    }
    let log = bob.get(&format!("{theirs}/deliveries")).await;
    log.detail(StatusCode::NOT_FOUND, "Webhook not found");
    bob.delete(&theirs)
        .await
        .detail(StatusCode::NOT_FOUND, "Webhook not found");
    assert_eq!(
        bob.get("/api/bob/webhooks").await.good(StatusCode::OK),
        json!([])
    );
    // Another user's path: 403, as for tasks.
    let other = bob.get("/api/alice/webhooks").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    // Alice's is untouched.
    let still = alice.get(&format!("/api/alice/webhooks/{id}")).await;
    assert_eq!(still.good(StatusCode::OK)["disabled"], false);
}

async fn the_cap_is_409(backend: Backend) {
    let app = start_app!(backend, "--max-webhooks-per-user" => "2");
    let alice = app.user("alice");
    for n in 0..2 {
        create(
            &alice,
            json!({"url": format!("https://hooks.example.com/{n}")}),
        )
        .await;
    }
    let third = alice
        .post(
            "/api/alice/webhooks",
            json!({"url": "https://hooks.example.com/3"}),
        )
        .await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.text);
    assert_eq!(third.json()["code"], "LIMIT_EXCEEDED");
    // Another user has their own allowance.
    create(
        &app.user("bob"),
        json!({"url": "https://hooks.example.com/b"}),
    )
    .await;
    let gql = alice
        .graphql(
            "mutation { createWebhook(input: {url: \"https://hooks.example.com/g\"}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(
        gql["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{gql}"
    );
}

const FIELDS: &str = "id url events description disabled disabledReason createdAt";

async fn graphql_lifecycle(app: TestApp) {
    let alice = app.user("alice");
    let made = alice
        .graphql_data(
            &format!(
                "mutation($url: String!) {{ createWebhook(input: {{url: $url, \
                 events: [TASK_CREATED, TASK_COMPLETED], description: \"x\"}}) \
                 {{ secret webhook {{ {FIELDS} }} }} }}"
            ),
            json!({"url": "https://hooks.example.com/g"}),
        )
        .await["createWebhook"]
        .clone();
    let secret = made["secret"].as_str().unwrap();
    assert_eq!(key_len(secret), 32);
    let hook = &made["webhook"];
    assert_eq!(hook["events"], json!(["TASK_CREATED", "TASK_COMPLETED"]));
    assert_eq!(hook["disabled"], false);
    let id = hook["id"].as_str().unwrap().to_owned();
    let all = alice
        .graphql_data(
            &format!("{{ webhooks {{ {FIELDS} deliveries(first: 5) {{ messageId }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(all["webhooks"].as_array().unwrap().len(), 1);
    let one = alice
        .graphql_data(
            "query($id: ID!) { webhook(id: $id) { url } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(one["webhook"]["url"], "https://hooks.example.com/g");
    let updated = alice
        .graphql_data(
            "mutation($id: ID!) { updateWebhook(id: $id, input: {description: null, \
             events: [TASK_DELETED], disabled: true}) { description events disabled } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        updated["updateWebhook"],
        json!({"description": null, "events": ["TASK_DELETED"], "disabled": true})
    );
    let rotated = alice
        .graphql_data(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }",
            json!({"id": id}),
        )
        .await;
    assert_ne!(rotated["rotateWebhookSecret"]["secret"], secret);
    // Disabled, it is sent nothing, not even a test; re-enabled, it is.
    let test = "mutation($id: ID!) { testWebhook(id: $id) }";
    let refused = alice.graphql(test, json!({"id": id})).await;
    let code = &refused["errors"][0]["extensions"]["code"];
    assert_eq!(code, "WEBHOOK_DISABLED", "{refused}");
    alice
        .graphql_data(
            "mutation($id: ID!) { updateWebhook(id: $id, input: {disabled: false}) { id } }",
            json!({"id": id}),
        )
        .await;
    let tested = alice.graphql_data(test, json!({"id": id})).await;
    assert_eq!(tested["testWebhook"], true);

    // Another user's id: absent (null), NOT_FOUND for a change.
    let bob = app.user("bob");
    let seen = bob
        .graphql_data(
            "query($id: ID!) { webhook(id: $id) { url } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(seen["webhook"], Value::Null);
    for mutation in [
        "mutation($id: ID!) { deleteWebhook(id: $id) }",
        "mutation($id: ID!) { testWebhook(id: $id) }",
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
    ] {
        let refused = bob.graphql(mutation, json!({"id": id})).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{refused}"
        );
    }
    let bad = alice
        .graphql(
            "mutation { createWebhook(input: {url: \"https://[::1]/x\"}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
    let deleted = alice
        .graphql_data(
            "mutation($id: ID!) { deleteWebhook(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(deleted["deleteWebhook"], true);
    let none = alice.graphql_data("{ webhooks { id } }", json!({})).await;
    assert_eq!(none["webhooks"], json!([]));
}

backend_tests!(
    rest_lifecycle,
    rest_input_rules,
    rest_isolation,
    graphql_lifecycle
);
backend_cases!(the_cap_is_409);
