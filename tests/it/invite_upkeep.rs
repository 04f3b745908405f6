//! Invite links over time and under races (issue 40), on both backends: revoked and expired
//! links are listed only with `?include=all` and dropped by the scheduled prune
//! INVITE_RETENTION after they stopped working, so create-and-revoke cycles leave no rows;
//! and a list deleted while someone accepts its invite or its owner adds a member answers
//! the loser 404, never 500.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestResponse, UserClient};
use crate::invites::{accept, invite, invites_path};
use crate::lists::{create_list, id_of, lists_path};

backend_cases!(
    dead_invites_are_listed_on_request_and_pruned,
    accepting_while_the_list_is_deleted_is_404,
    adding_a_member_while_the_list_is_deleted_is_404
);

/// The ids `GET …/invites{query}` lists.
async fn listed(owner: &UserClient<'_>, list: i64, query: &str) -> Vec<String> {
    let all = owner
        .get(&invites_path(owner, list, query))
        .await
        .good(StatusCode::OK);
    all.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// 300 create-and-revoke cycles under a cap of 3 (each revoke frees its place), plus one
/// live link and one that expires: the default list shows the live one only, `include=all`
/// the dead ones too while INVITE_RETENTION lasts, and the prune (every second here) then
/// drops every dead row, leaving the live one.
async fn dead_invites_are_listed_on_request_and_pruned(backend: Backend) {
    let app = start_app!(backend,
        "--max-invites-per-list" => "3",
        "--invite-retention" => "3s",
        "--tombstone-prune-interval" => "1s",
        "--rate-limit" => "0");
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Team").await);
    let live = invite(&alice, list, json!({"role": "viewer"})).await;
    let live_id = live["id"].as_str().unwrap().to_owned();
    let short = invite(&alice, list, json!({"role": "viewer", "expires_in": "1s"})).await;
    let mut last = Value::Null;
    for _ in 0..300 {
        last = invite(&alice, list, json!({"role": "editor"})).await;
        let token = last["token"].as_str().unwrap();
        alice
            .delete(&invites_path(&alice, list, &format!("/{token}")))
            .await
            .good(StatusCode::NO_CONTENT);
    }
    // The short one has expired (600 requests may take less than its second).
    let expires = short["expires_at"].as_str().unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(expires).unwrap();
    let left = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    tokio::time::sleep(Duration::from_millis(u64::try_from(left + 50).unwrap_or(0))).await;
    // Just revoked: still kept, shown on request only, and it stopped working when revoked.
    assert_eq!(listed(&alice, list, "").await, vec![live_id.clone()]);
    let all = alice
        .get(&invites_path(&alice, list, "?include=all"))
        .await
        .good(StatusCode::OK);
    let revoked = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == last["id"])
        .unwrap_or_else(|| panic!("the last revoked link is not listed: {all}"));
    assert_eq!(revoked["revoked"], true);
    let stopped = chrono::DateTime::parse_from_rfc3339(revoked["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        (chrono::Utc::now() - stopped).num_seconds().abs() < 3,
        "expires_at is the revocation: {revoked}"
    );
    assert_eq!(
        listed(&alice, list, "?include=live").await,
        vec![live_id.clone()]
    );
    let bad = alice
        .get(&invites_path(&alice, list, "?include=revoked"))
        .await
        .validation();
    crate::common::assert_error_at(&bad, json!(["query", "include"]), "enum");

    // The prune drops every dead row (the 300 revoked, the expired one), not the live one.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let kept = listed(&alice, list, "?include=all").await;
        if kept == vec![live_id.clone()] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} rows kept after the retention, e.g. the expired one: {}",
            kept.len(),
            kept.contains(&short["id"].as_str().unwrap().to_owned())
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The live link still works.
    let token = live["token"].as_str().unwrap();
    accept(&app.user("bob"), token).await.good(StatusCode::OK);
}

/// How many times each race runs.
const ROUNDS: usize = 100;

/// The answer to a write racing its list's deletion: done (`done`) or 404, never anything
/// else; whether it was done.
fn done_or_gone(answer: &TestResponse, done: StatusCode, what: &str) -> bool {
    assert!(
        answer.status == done || answer.status == StatusCode::NOT_FOUND,
        "{what}: {} {}",
        answer.status,
        answer.text
    );
    answer.status == done
}

/// `owner` deletes `list` (and its tasks).
async fn delete_list(owner: &UserClient<'_>, list: i64) -> TestResponse {
    owner
        .delete(&lists_path(owner, &format!("/{list}?tasks=delete")))
        .await
}

/// Bob accepts an invite to a list while its owner deletes it, 100 times at once: each
/// accept is 200 (before the deletion; the deletion then removes him) or 404 (after), never a
/// foreign-key violation's 500.
async fn accepting_while_the_list_is_deleted_is_404(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0");
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mut joined = 0;
    for _ in 0..ROUNDS {
        let list = id_of(&create_list(&alice, "Doomed").await);
        let made = invite(&alice, list, json!({"role": "editor"})).await;
        let token = made["token"].as_str().unwrap();
        let (accepted, deleted) = tokio::join!(accept(&bob, token), delete_list(&alice, list));
        deleted.good(StatusCode::OK);
        joined += usize::from(done_or_gone(&accepted, StatusCode::OK, "accept"));
    }
    // The list is gone for bob either way.
    let lists = bob.get(&lists_path(&bob, "")).await.good(StatusCode::OK);
    assert_eq!(lists, json!([]));
    eprintln!("accept raced the deletion {ROUNDS} times: {joined} joined first");
}

/// The owner adds a member to a list while (in another request) deleting it, 100 times at
/// once: each add is 201 or 404, never a row-security violation's 500.
async fn adding_a_member_while_the_list_is_deleted_is_404(backend: Backend) {
    let app = start_app!(backend, "--rate-limit" => "0");
    let alice = app.user("alice");
    let mut added = 0;
    for _ in 0..ROUNDS {
        let list = id_of(&create_list(&alice, "Doomed").await);
        let members = lists_path(&alice, &format!("/{list}/members"));
        let add = alice.post(&members, json!({"user_id": "carol", "role": "viewer"}));
        let (answer, deleted) = tokio::join!(add, delete_list(&alice, list));
        deleted.good(StatusCode::OK);
        added += usize::from(done_or_gone(&answer, StatusCode::CREATED, "add member"));
    }
    let carol = app.user("carol");
    let lists = carol
        .get(&lists_path(&carol, ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(lists, json!([]));
    eprintln!("adding raced the deletion {ROUNDS} times: {added} added first");
}
