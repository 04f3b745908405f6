//! Invite links (issue 29) on both backends and through both APIs: the owner makes one (a
//! token shown once, stored only as its SHA-256), lists and revokes them; anyone holding a
//! live token joins with its role; accepting twice changes nothing; an unknown, revoked or
//! expired token is 404; only the owner invites; bad lifetimes are 422; the cap is 409.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::{Backend, TestApp, UserClient};
use crate::lists::{create_list, id_of, lists_path};
use crate::row_security::{connect, count};

backend_tests!(
    an_invite_link_makes_a_member_once,
    revoked_expired_and_unknown_links_are_404,
    only_the_owner_invites_and_bad_input_is_422,
    invites_through_graphql
);

backend_cases!(the_invite_cap_is_409);

/// `/api/{user}/lists/{list}/invites` + `suffix`.
pub(crate) fn invites_path(user: &UserClient<'_>, list: i64, suffix: &str) -> String {
    lists_path(user, &format!("/{list}/invites{suffix}"))
}

/// `owner` makes an invite link to `list` through REST.
pub(crate) async fn invite(owner: &UserClient<'_>, list: i64, body: Value) -> Value {
    owner
        .post(&invites_path(owner, list, ""), body)
        .await
        .good(StatusCode::CREATED)
}

/// `user` accepts `token` through REST.
pub(crate) async fn accept(user: &UserClient<'_>, token: &str) -> crate::common::TestResponse {
    user.post(
        &format!("/api/{}/invites/{token}/accept", user.user),
        json!({}),
    )
    .await
}

async fn an_invite_link_makes_a_member_once(app: TestApp) {
    let alice = app.user("alice");
    let dave = app.user("dave");
    let list = id_of(&create_list(&alice, "Groceries").await);
    let made = invite(&alice, list, json!({"role": "editor", "expires_in": "7d"})).await;
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "256 random bits: {token}");
    assert_eq!(made["role"], "editor");
    assert_eq!(made["id"].as_str().unwrap().len(), 64, "the SHA-256, hex");
    let expires =
        chrono::DateTime::parse_from_rfc3339(made["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "7 days: {days} hours");
    // Listed without the token.
    let listed = alice
        .get(&invites_path(&alice, list, ""))
        .await
        .good(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], made["id"]);
    assert!(listed[0].get("token").is_none(), "{listed}");

    let joined = accept(&dave, &token).await.good(StatusCode::OK);
    assert_eq!(joined["id"], list);
    assert_eq!(
        (joined["role"].as_str(), joined["owner_id"].as_str()),
        (Some("editor"), Some("alice"))
    );
    // Twice: the same answer, no change.
    let again = accept(&dave, &token).await.good(StatusCode::OK);
    assert_eq!(again["role"], "editor");
    let members = alice
        .get(&lists_path(&alice, &format!("/{list}/members")))
        .await
        .good(StatusCode::OK);
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    // The owner accepting their own link: nothing changes either.
    let own = accept(&alice, &token).await.good(StatusCode::OK);
    assert_eq!(own["role"], "owner");
    // Dave now sees the list and may add to it.
    let lists = dave.get(&lists_path(&dave, "")).await.good(StatusCode::OK);
    assert_eq!(lists[0]["id"], list);
    dave.post(
        &dave.tasks_path(""),
        json!({"title": "eggs", "list_id": list}),
    )
    .await
    .good(StatusCode::CREATED);
}

async fn revoked_expired_and_unknown_links_are_404(app: TestApp) {
    let alice = app.user("alice");
    let eve = app.user("eve");
    let list = id_of(&create_list(&alice, "Team").await);
    let revoked = invite(&alice, list, json!({"role": "viewer"})).await;
    let token = revoked["token"].as_str().unwrap();
    alice
        .delete(&invites_path(&alice, list, &format!("/{token}")))
        .await
        .good(StatusCode::NO_CONTENT);
    assert_eq!(accept(&eve, token).await.status, StatusCode::NOT_FOUND);
    // Revoked by its id as GET shows it, too.
    let other = invite(&alice, list, json!({"role": "viewer"})).await;
    let id = other["id"].as_str().unwrap();
    alice
        .delete(&invites_path(&alice, list, &format!("/{id}")))
        .await
        .good(StatusCode::NO_CONTENT);
    assert_eq!(
        accept(&eve, other["token"].as_str().unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    alice
        .delete(&invites_path(&alice, list, "/no-such-token"))
        .await
        .good(StatusCode::NOT_FOUND);
    let unknown = accept(&eve, "no-such-token").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert_eq!(unknown.json()["code"], "NOT_FOUND");
    // Expired.
    let short = invite(&alice, list, json!({"role": "viewer", "expires_in": "1s"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        accept(&eve, short["token"].as_str().unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    let lists = eve.get(&lists_path(&eve, "")).await.good(StatusCode::OK);
    assert_eq!(lists, json!([]));
}

async fn only_the_owner_invites_and_bad_input_is_422(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let dave = app.user("dave");
    let list = id_of(&create_list(&alice, "Team").await);
    crate::sharing::share(&alice, list, "bob", "editor").await;
    let refused = bob
        .post(&invites_path(&bob, list, ""), json!({"role": "viewer"}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(
        bob.get(&invites_path(&bob, list, "")).await.status,
        StatusCode::FORBIDDEN
    );
    let stranger = dave
        .post(&invites_path(&dave, list, ""), json!({"role": "viewer"}))
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    let path = invites_path(&alice, list, "");
    for (body, field, kind) in [
        (json!({}), "role", "missing"),
        (json!({"role": "owner"}), "role", "enum"),
        (
            json!({"role": "viewer", "expires_in": "31d"}),
            "expires_in",
            "value_error",
        ),
        (
            json!({"role": "viewer", "expires_in": "soon"}),
            "expires_in",
            "value_error",
        ),
        (
            json!({"role": "viewer", "expires_in": "0s"}),
            "expires_in",
            "value_error",
        ),
        (
            json!({"role": "viewer", "expires_in": 7}),
            "expires_in",
            "string_type",
        ),
    ] {
        let detail = alice.post(&path, body).await.validation();
        crate::common::assert_error_at(&detail, json!(["body", field]), kind);
    }
    // 30 days is the longest.
    invite(&alice, list, json!({"role": "viewer", "expires_in": "30d"})).await;
}

async fn invites_through_graphql(app: TestApp) {
    let alice = app.user("alice");
    let dave = app.user("dave");
    let list = id_of(&create_list(&alice, "Launch").await).to_string();
    let made = alice
        .graphql_data(
            "mutation($l: ID!) { createListInvite(listId: $l, role: VIEWER, expiresIn: \"2d\") \
             { id token role expiresAt revoked } }",
            json!({"l": list}),
        )
        .await;
    let token = made["createListInvite"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(made["createListInvite"]["role"], "VIEWER");
    let joined = dave
        .graphql_data(
            "mutation($t: String!) { acceptListInvite(token: $t) { id role ownerId } }",
            json!({"t": token}),
        )
        .await;
    assert_eq!(
        joined["acceptListInvite"],
        json!({"id": list, "role": "VIEWER", "ownerId": "alice"})
    );
    let revoked = alice
        .graphql_data(
            "mutation($l: ID!, $t: String!) { revokeListInvite(listId: $l, token: $t) }",
            json!({"l": list, "t": token}),
        )
        .await;
    assert_eq!(revoked["revokeListInvite"], true);
    let gone = app
        .user("eve")
        .graphql(
            "mutation($t: String!) { acceptListInvite(token: $t) { id } }",
            json!({"t": token}),
        )
        .await;
    assert_eq!(
        gone["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{gone}"
    );
    let too_long = alice
        .graphql(
            "mutation($l: ID!) { createListInvite(listId: $l, role: VIEWER, expiresIn: \"60d\") { id } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(
        too_long["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let by_member = dave
        .graphql(
            "mutation($l: ID!) { createListInvite(listId: $l, role: VIEWER) { id } }",
            json!({"l": list}),
        )
        .await;
    assert_eq!(by_member["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

async fn the_invite_cap_is_409(backend: Backend) {
    let app = start_app!(backend, "--max-invites-per-list" => "1", "--max-members-per-list" => "1");
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Team").await);
    let made = invite(&alice, list, json!({"role": "viewer"})).await;
    let full = alice
        .post(&invites_path(&alice, list, ""), json!({"role": "viewer"}))
        .await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{}", full.text);
    assert_eq!(full.json()["code"], "LIMIT_EXCEEDED");
    // The member cap holds for links too.
    let token = made["token"].as_str().unwrap();
    accept(&app.user("bob"), token).await.good(StatusCode::OK);
    let over = accept(&app.user("carol"), token).await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.text);
    assert_eq!(over.json()["code"], "LIMIT_EXCEEDED");
}

/// Only the token's SHA-256 is stored: the table never holds a usable link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_tokens_hashed() {
    let Some(database) = TempDatabase::migrated().await else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&database.url)
        .start()
        .await
        .expect("app");
    let alice = app.user("alice");
    let list = id_of(&create_list(&alice, "Team").await);
    let made = invite(&alice, list, json!({"role": "viewer"})).await;
    let token = made["token"].as_str().unwrap();
    let db = connect(&database.url).await;
    let sql =
        |value: &str| format!("SELECT count(*) FROM list_invites WHERE token_hash = '{value}'");
    assert_eq!(count(&db, Some("alice"), &sql(token)).await, 0);
    assert_eq!(
        count(&db, Some("alice"), &sql(made["id"].as_str().unwrap())).await,
        1
    );
    // And only the owner reads the invites.
    assert_eq!(
        count(&db, Some("dave"), "SELECT count(*) FROM list_invites").await,
        0
    );
}
