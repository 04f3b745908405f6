//! The tag filters over a shared list, on both backends and through both APIs. A task in a
//! shared list is its owner's, and so are its tag index rows, whoever wrote them; a member's
//! `tag` / `any_tag` (`tags` / `anyTags`) filters match those tasks as they match the
//! member's own. Every form of the list read: one filter (no page, the title order, SQLite),
//! PostgreSQL's page in two branches (`task::query::page_in_branches`), and the paged total.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of};
use crate::sharing::{share, titles as sorted};

backend_tests!(a_members_tag_filters_match_the_shared_lists_tasks);

/// Creates a task with these tags (in `list`, or the inbox) through REST.
async fn tagged(user: &UserClient<'_>, title: &str, list: Option<i64>, tags: &[&str]) {
    let body = json!({"title": title, "list_id": list, "tags": tags});
    user.post(&user.tasks_path(""), body)
        .await
        .good(StatusCode::CREATED);
}

/// The titles of a REST list of `query`, sorted, and its `X-Total-Count` when paged.
async fn titles(user: &UserClient<'_>, query: &str) -> (Vec<String>, Option<String>) {
    let response = user.get(&user.tasks_path(&format!("?{query}"))).await;
    let total = response.header("x-total-count").map(str::to_owned);
    let list = response.good(StatusCode::OK);
    (sorted(&list), total)
}

async fn a_members_tag_filters_match_the_shared_lists_tasks(app: TestApp) {
    let (alice, bob, dave, carol) = (
        app.user("alice"),
        app.user("bob"),
        app.user("dave"),
        app.user("carol"),
    );
    let list = id_of(&create_list(&bob, "Team").await);
    share(&bob, list, "alice", "viewer").await;
    share(&bob, list, "dave", "editor").await;
    // In the list: bob's task, and one an editor made (bob's too, its tags written by dave).
    tagged(&bob, "bob shared", Some(list), &["Work"]).await;
    tagged(&dave, "dave made", Some(list), &["WORK", "x"]).await;
    tagged(&bob, "bob untagged", Some(list), &["home"]).await;
    // Outside it: bob's private task, alice's own, and carol's, shared with nobody.
    tagged(&bob, "bob private", None, &["work"]).await;
    tagged(&alice, "alice own", None, &["work"]).await;
    tagged(&carol, "carol own", None, &["work", "x"]).await;

    let seen: Vec<String> = ["alice own", "bob shared", "dave made"]
        .map(str::to_owned)
        .into();
    for query in [
        "tag=work",
        "tag=WORK&sort=title",
        "any_tag=work&any_tag=x",
        "any_tag=x&any_tag=work&sort=title",
    ] {
        // Without a page (one filter), then paged: PostgreSQL's two branches, or the title
        // order's one filter, with the count over all pages.
        assert_eq!(titles(&alice, query).await, (seen.clone(), None), "{query}");
        let paged = titles(&alice, &format!("{query}&limit=10")).await;
        assert_eq!(paged, (seen.clone(), Some("3".to_owned())), "{query} paged");
    }
    // Both tags: only the task carrying both; the list alone: only its tasks.
    assert_eq!(
        titles(&alice, "tag=work&tag=x&limit=5").await.0,
        ["dave made"]
    );
    assert_eq!(
        titles(&alice, &format!("tag=work&list_id={list}&limit=5"))
            .await
            .0,
        ["bob shared", "dave made"]
    );

    // GraphQL, both lists.
    let data = alice
        .graphql_data(
            "{ all: tasks(tags: [\"work\"]) { title } \
               page: tasksConnection(first: 10, anyTags: [\"x\", \"Work\"]) { totalCount nodes { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(sorted(&data["all"]), seen, "{data}");
    assert_eq!(sorted(&data["page"]["nodes"]), seen, "{data}");
    assert_eq!(data["page"]["totalCount"], 3, "{data}");

    // The owner sees their own tasks, the editor the list's; carol only her own.
    let owners = ["bob private", "bob shared", "dave made"];
    assert_eq!(titles(&bob, "tag=work").await.0, owners);
    assert_eq!(titles(&bob, "any_tag=work&limit=10").await.0, owners);
    assert_eq!(
        titles(&dave, "tag=work&limit=10").await.0,
        ["bob shared", "dave made"]
    );
    assert_eq!(
        titles(&carol, "any_tag=work&any_tag=x").await.0,
        ["carol own"]
    );

    // The counts stay each user's own tags (a member's count none of the owner's tasks).
    let counts = alice
        .get(&format!("/api/{}/tags", alice.user))
        .await
        .good(StatusCode::OK);
    assert_eq!(counts, json!([{"name": "work", "count": 1}]));
}
