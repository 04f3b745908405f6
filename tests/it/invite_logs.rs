//! Invite tokens stay out of the log (issue 40): a token is in the answer that made it and
//! nowhere else. The real binary, at `trace` (every line any crate writes), in both log
//! formats and on both backends, is sent the token every way a client may send it (the
//! accept and revoke paths, GraphQL variables, a GraphQL document in a GET query string),
//! and its captured log holds neither the token nor the bearer tokens, while the request
//! lines name the invite by the redacted form `sha256:` + the first 8 hex digits of its id.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::common::binary::{Binary, strip_ansi};
use crate::common::{pg, token_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_json_logs_redact_invite_tokens() {
    tokens_stay_out_of_the_log("json", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_text_logs_redact_invite_tokens() {
    tokens_stay_out_of_the_log("pretty", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_json_logs_redact_invite_tokens() {
    let Some(database) = pg::TempDatabase::create().await else {
        return;
    };
    tokens_stay_out_of_the_log("json", Some(&database.url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_text_logs_redact_invite_tokens() {
    let Some(database) = pg::TempDatabase::create().await else {
        return;
    };
    tokens_stay_out_of_the_log("pretty", Some(&database.url)).await;
}

/// A request with `bearer` to the binary; the answer's status and JSON.
async fn send(
    client: &Client,
    server: &Binary,
    bearer: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client
        .request(method, format!("{}{path}", server.base()))
        .bearer_auth(bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `sha256:` + the first 8 hex digits of an invite's id, as its paths are logged.
fn redacted(invite: &Value) -> String {
    format!("sha256:{}", &invite["id"].as_str().unwrap()[..8])
}

async fn tokens_stay_out_of_the_log(format: &str, database: Option<&str>) {
    let mut env = vec![("LOG_FORMAT", format), ("RUST_LOG", "trace")];
    if let Some(url) = database {
        env.push(("DATABASE_URL", url));
    }
    let server = Binary::start(&env).await;
    // The shared client (the process's TLS provider installed, as reqwest needs even for plain
    // HTTP when no TestApp has installed it; no CA bundle loaded).
    let client = crate::common::http_client();
    let (alice, bob, carol) = (token_for("alice"), token_for("bob"), token_for("carol"));
    let post = reqwest::Method::POST;
    let (status, list) = send(
        &client,
        &server,
        &alice,
        post.clone(),
        "/api/alice/lists",
        Some(json!({"name": "Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let invites = format!("/api/alice/lists/{}/invites", list["id"]);
    let mut made = Vec::new();
    for _ in 0..3 {
        let (status, invite) = send(
            &client,
            &server,
            &alice,
            post.clone(),
            &invites,
            Some(json!({"role": "editor"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        made.push(invite);
    }
    let token = |i: usize| made[i]["token"].as_str().unwrap().to_owned();

    // REST: accepted by its path, revoked by its path.
    let accept = format!("/api/bob/invites/{}/accept", token(0));
    let (status, joined) = send(&client, &server, &bob, post.clone(), &accept, None).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let revoke = format!("{invites}/{}", token(1));
    let (status, _) = send(
        &client,
        &server,
        &alice,
        reqwest::Method::DELETE,
        &revoke,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // GraphQL: in variables (POST), and inline in a document sent as a GET query string.
    let mutation = "mutation($t: String!) { acceptListInvite(token: $t) { id } }";
    let (status, answer) = send(
        &client,
        &server,
        &carol,
        post.clone(),
        "/graphql",
        Some(json!({"query": mutation, "variables": {"t": token(2)}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["errors"].is_null(), "{answer}");
    let query = format!("{{ a: __typename }} # {}", token(2));
    let get = reqwest::Url::parse_with_params(
        &format!("{}/graphql", server.base()),
        &[("query", query.as_str())],
    )
    .unwrap();
    let response = client.get(get).bearer_auth(&carol).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Every request's line is written (8 requests); none carries a token, and the request
    // lines name the invites by their redacted form, in the format asked for.
    let logs = wait_for_requests(&server, 8).await;
    let all = logs.join("\n");
    for (i, invite) in made.iter().enumerate() {
        let token = invite["token"].as_str().unwrap();
        assert!(!all.contains(token), "token {i} is in the log:\n{all}");
    }
    for (user, bearer) in [("alice", &alice), ("bob", &bob), ("carol", &carol)] {
        // Its signature alone: the header part is the same for every token.
        let signature = bearer.rsplit('.').next().unwrap();
        assert!(
            !all.contains(signature),
            "{user}'s bearer token is in the log"
        );
    }
    for line in &logs {
        let is_json = serde_json::from_str::<Value>(line).is_ok();
        assert_eq!(is_json, format == "json", "a {format} log has {line}");
    }
    let accept_logged = format!("/api/bob/invites/{}/accept", redacted(&made[0]));
    let revoke_logged = format!("{invites}/{}", redacted(&made[1]));
    for path in [accept_logged, revoke_logged] {
        let logged = logs.iter().map(|line| strip_ansi(line)).any(|line| {
            line.contains("request finished")
                && match serde_json::from_str::<Value>(&line) {
                    Ok(json) => json["span"]["path"] == *path,
                    // `pretty`: `request{request_id=… method=POST path=/api/…}: …`
                    Err(_) => line.contains(&format!("path={path}}}")),
                }
        });
        assert!(logged, "no request line with {path} in:\n{all}");
    }
}

/// The binary's log lines once `count` requests' lines ("request finished") are written.
async fn wait_for_requests(server: &Binary, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = server.logs();
        let finished = logs
            .iter()
            .filter(|line| strip_ansi(line).contains("request finished"))
            .count();
        if finished >= count {
            return logs;
        }
        assert!(
            Instant::now() < deadline,
            "{finished} request lines of {count} in:\n{}",
            logs.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
