//! GraphQL costs what it says (issue 26, attack 1): one document could read a list's tasks
//! once for every task (`{ tasks { list { tasks { description } } } }`), growing the answer
//! with the square of the tasks until the server's memory ran out. Now such a document is
//! refused before it runs, and behind the cost model every response has a hard bound on the
//! bytes it may hold (`GRAPHQL_MAX_RESPONSE_BYTES`), counted while it is built.
//!
//! Bounds tested: over 600 tasks of ~2.2 KB in one list (unrefused, the first document would
//! answer ~800 MB), the documents of the issue answer a GraphQL error, the real binary's
//! resident memory grows by less than 64 MB while they run, and another user's list answers
//! promptly meanwhile (`PROMPT`).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::live::{next_json, registered, socket, subscribe_to};
use crate::common::{Backend, TestApp, token_for};
use crate::fair_memory::{
    create_tasks, database_url, peak_while, rss_kib, seed_tasks, start_binary,
};
use crate::lists::{create_list, id_of};

/// Tasks in the attacked list.
const TASKS: usize = 600;
/// Growth of the server's resident memory allowed while the documents run.
const GROWTH_BOUND_KIB: u64 = 64 * 1024;
/// What "promptly" means for another user's request, on a loaded machine.
const PROMPT: Duration = Duration::from_secs(3);
/// Another user's two requests while the documents run, on the same two cores: unrefused, the
/// first document alone would take about a minute (a debug build serves the 600 tasks once in
/// 0.1 s; it reads them once per task).
const WHILE_ATTACKED: Duration = Duration::from_secs(5);

/// The documents of the issue, and their aliased and fragment forms.
const ATTACKS: &[&str] = &[
    "{ tasks { list { tasks { description } } } }",
    "{ tasks { list { tasks { id } } } }",
    "{ tasks { parent { list { tasks { id } } } } }",
    "{ a: tasks { l: list { t: tasks { description } } } b: tasks { list { name } } }",
    "{ taskChanges { changed { list { tasks { id } } } } }",
    "query { tasks { ...L } } fragment L on Task { list { tasks { description } } }",
    "{ lists { tasks { list { tasksConnection(first: 200) { nodes { description } } } } } }",
    // Not quadratic, but each alias copied every description past the response budget.
    "{ tasks { d1: description d2: description d3: description d4: description } }",
];

/// `query` as `user` over POST /graphql; the status and body.
pub(crate) async fn post(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    query: &str,
) -> (u16, Value) {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token_for(user))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// `user`'s new list `name`, made over REST on the server at `base`; its id.
pub(crate) async fn rest_list(client: &reqwest::Client, base: &str, user: &str, name: &str) -> i64 {
    let list = client
        .post(format!("{base}/api/{user}/lists"))
        .bearer_auth(token_for(user))
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("sent");
    assert_eq!(list.status(), StatusCode::CREATED);
    id_of(&list.json().await.expect("JSON"))
}

/// The code of the one error of a refused or bounded answer, which has no data.
pub(crate) fn error_code(body: &Value) -> String {
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "one error: {body}");
    assert!(body["data"].is_null(), "no partial data: {body}");
    errors[0]["extensions"]["code"]
        .as_str()
        .expect("a code")
        .to_owned()
}

/// The real binary with its default limits: every document of the issue is answered with an
/// error, memory stays bounded, and another user is served promptly throughout.
async fn the_square_documents_are_refused_with_bounded_memory(backend: Backend) {
    let Some((server, database)) = start_binary(backend, &[("RATE_LIMIT", "0")]).await else {
        return;
    };
    let base = server.base();
    let client = crate::common::http_client();
    let list_id = rest_list(&client, &base, "alice", "groceries").await;
    let url = database_url(&server, &database);
    seed_tasks(&url, "alice", TASKS, Some(list_id)).await;
    create_tasks(&client, &base, "bob", 3, None).await;
    // Warm up: the plain list of both users.
    let (status, body) = post(&client, &base, "alice", "{ tasks { id description } }").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["tasks"].as_array().expect("tasks").len(),
        TASKS
    );
    post(&client, &base, "bob", "{ tasks { id title } }").await;

    let pid = server.pid();
    let before = rss_kib(pid);
    let (peak, ()) = peak_while(pid, async {
        let attacks: Vec<_> = ATTACKS
            .iter()
            .map(|query| {
                let (client, base) = (client.clone(), base.clone());
                tokio::spawn(async move { (query, post(&client, &base, "alice", query).await) })
            })
            .collect();
        // Meanwhile, another user's lists, over both APIs.
        for _ in 0..3 {
            let started = Instant::now();
            let (status, body) = post(&client, &base, "bob", "{ tasks { id title } }").await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["tasks"].as_array().expect("tasks").len(), 3);
            let rest = client
                .get(format!("{base}/api/bob/tasks"))
                .bearer_auth(token_for("bob"))
                .send()
                .await
                .expect("sent");
            assert_eq!(rest.status(), StatusCode::OK);
            assert!(
                started.elapsed() < WHILE_ATTACKED,
                "{:?}",
                started.elapsed()
            );
        }
        for attack in attacks {
            let (query, (status, body)) = attack.await.expect("joined");
            let code = error_code(&body);
            assert!(
                code == "GRAPHQL_VALIDATION_FAILED" || code == "RESPONSE_TOO_LARGE",
                "{query}: {status} {body}"
            );
        }
    })
    .await;
    let growth = peak.saturating_sub(before);
    eprintln!("resident memory: {before} KiB before, grew by {growth} KiB at most");
    assert!(
        growth < GROWTH_BOUND_KIB,
        "memory grew by {growth} KiB (bound {GROWTH_BOUND_KIB} KiB)"
    );
    // The refusal says what to do instead.
    let (_, body) = post(&client, &base, "alice", ATTACKS[0]).await;
    let message = body["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("`tasks` under `list`"), "{message}");
    drop(server);
    drop(database);
}

/// Each of another user's lists answers within `PROMPT`, timed one by one.
async fn another_user_is_prompt(app: &TestApp) {
    let started = Instant::now();
    app.user("bob")
        .graphql_data("{ tasks { id } }", json!({}))
        .await;
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
}

/// GRAPHQL_MAX_RESPONSE_BYTES, made small: a document the cost model lets through but whose
/// rows pass the bound is one RESPONSE_TOO_LARGE error with no data (however many fields
/// failed behind it), the bound counts every field of the response together, a page within
/// it answers, and a subscription's budget starts afresh for every event.
///
/// At half the sizes it had (a 32 KiB bound over 100 tasks, pages of 30, 75 events, where it
/// was 64 KiB, 200, 60 and 150): every document's cost scales with its tasks, so each one
/// stays on the same side of the bound, with half the writes.
async fn the_response_bound_holds_while_the_answer_is_built(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0", "--graphql-max-response-bytes" => "32KiB");
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "big").await);
    // 100 tasks of about 600 bytes each (a task's JSON besides its texts is costed 400).
    for i in 0..100 {
        let title = format!("task {i:03} {}", "x".repeat(190));
        let body = json!({"title": title, "list_id": list});
        alice
            .post(&alice.tasks_path(""), body)
            .await
            .good(StatusCode::CREATED);
    }
    let first_page = alice
        .graphql_data(
            "{ tasksConnection(first: 30) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let after_thirty = first_page["tasksConnection"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    for query in [
        "{ tasks { id } }",
        "{ lists { tasks { id title } } }",
        "{ list(id: LIST) { tasks { id list { id } } } }",
        // Each page alone is within the bound (as below), the two together are not.
        "{ a: tasksConnection(first: 30) { nodes { id } } \
           b: tasksConnection(first: 30, after: AFTER) { nodes { id } } }",
        "{ taskChanges { changed { id } } }",
    ] {
        let query = query
            .replace("LIST", &list.to_string())
            .replace("AFTER", &format!("{:?}", after_thirty));
        let body = alice.graphql(&query, json!({})).await;
        assert_eq!(error_code(&body), "RESPONSE_TOO_LARGE", "{query}: {body}");
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("GRAPHQL_MAX_RESPONSE_BYTES"), "{message}");
        another_user_is_prompt(&app).await;
    }
    // Within the bound: a page, and the same page again in the next request (the budget is
    // the response's, not the connection's or the user's).
    for _ in 0..2 {
        let data = alice
            .graphql_data("{ tasksConnection(first: 25) { nodes { id } } }", json!({}))
            .await;
        assert_eq!(
            data["tasksConnection"]["nodes"].as_array().unwrap().len(),
            25
        );
    }
    // A subscription whose every event reads a list: 75 events charge more than 32 KiB in
    // total, each one a few hundred bytes.
    let mut events = socket(&app, "alice").await;
    subscribe_to(
        &mut events,
        "1",
        "subscription { taskEvents { kind task { id list { id name } } } }",
    )
    .await;
    registered(&app, "alice", &mut events).await;
    // (The REST list has no such bound: it streams.)
    let all = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    let ids: Vec<i64> = all.as_array().unwrap()[..75].iter().map(id_of).collect();
    for id in &ids {
        alice
            .patch(&alice.tasks_path(&format!("/{id}/complete")))
            .await
            .good(StatusCode::OK);
    }
    for _ in &ids {
        let message = next_json(&mut events, Duration::from_secs(10))
            .await
            .expect("an event");
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"];
        assert!(event.get("errors").is_none(), "{event}");
        assert_eq!(event["data"]["taskEvents"]["task"]["list"]["name"], "big");
    }
}

backend_cases!(
    the_square_documents_are_refused_with_bounded_memory,
    the_response_bound_holds_while_the_answer_is_built,
);
