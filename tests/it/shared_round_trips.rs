//! Round trips for users with shared lists (issues 28 and 29), counted like
//! `round_trips`: a member's reads cost what an owner's do (one), an editor's plain writes in
//! the owner's list cost what the owner's do ([`PLAIN_WRITE`]: the write function resolves
//! the owner in its one statement), and `lists { role ownerId members tasks }` costs as many
//! round trips for six shared lists as for three (their members are one batched read, with
//! the lists' tasks). Directly and behind PgBouncer in transaction mode.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::proxy::TcpProxy;
use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of};
use crate::round_trips::{Counted, PLAIN_WRITE, trips};
use crate::sharing::{share, task_in};

/// Alice's list "shared 0" with two tasks, shared with Bob as editor and Carol as viewer.
async fn shared_list(alice: &UserClient<'_>) -> (i64, i64) {
    let list = id_of(&create_list(alice, "shared 0").await);
    let task = task_in(alice, list, "milk").await;
    task_in(alice, list, "bread").await;
    share(alice, list, "bob", "editor").await;
    share(alice, list, "carol", "viewer").await;
    (list, task["id"].as_i64().expect("an id"))
}

/// Each read of a member, twice (the first warms the statement cache), costs one burst.
async fn members_reads_cost_one(app: &TestApp, proxy: &TcpProxy, label: &str) {
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let (list, task) = shared_list(&alice).await;
    bob.create_task("bob's own").await;
    let all = bob.tasks_path("");
    let in_list = bob.tasks_path(&format!("?list_id={list}"));
    let one = bob.tasks_path(&format!("/{task}"));
    let page = "{ tasksConnection(first: 5) { totalCount nodes { id title } } }";
    for pass in ["warm-up", "counted"] {
        let reads = [
            (
                "REST list",
                trips(proxy, async {
                    let tasks = bob.get(&all).await.good(StatusCode::OK);
                    assert_eq!(tasks.as_array().map(Vec::len), Some(3), "{tasks}");
                })
                .await,
            ),
            (
                "REST list of the shared list",
                trips(proxy, async {
                    bob.get(&in_list).await.good(StatusCode::OK)
                })
                .await,
            ),
            (
                "REST read one shared task",
                trips(proxy, async { bob.get(&one).await.good(StatusCode::OK) }).await,
            ),
            (
                "GraphQL page with its total",
                trips(proxy, bob.graphql_data(page, json!({}))).await,
            ),
            (
                "GraphQL tasks",
                trips(proxy, bob.graphql_data("{ tasks { id } }", json!({}))).await,
            ),
        ];
        eprintln!("{label}, {pass}: a member's reads {reads:?}");
        if pass == "counted" {
            for (operation, count) in reads {
                assert_eq!(count, 1, "{label}: {operation} sent {count} bursts");
            }
        }
    }
}

/// The editor's plain writes in the owner's list, on both APIs, each [`PLAIN_WRITE`].
async fn editors_writes_cost_the_owners(app: &TestApp, proxy: &TcpProxy, label: &str) {
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let list = id_of(&create_list(&alice, "writes").await);
    share(&alice, list, "bob", "editor").await;
    for pass in ["warm-up", "counted"] {
        let mut created = json!(null);
        let create = trips(proxy, async {
            created = task_in(&bob, list, "by bob").await;
        })
        .await;
        assert_eq!(created["user_id"], "alice", "{created}");
        let path = bob.tasks_path(&format!("/{}", created["id"]));
        let update = trips(proxy, async {
            let body = json!({"title": "by bob, renamed"});
            bob.put(&path, body).await.good(StatusCode::OK)
        })
        .await;
        let complete = trips(proxy, async {
            let at = format!("{path}/complete");
            bob.patch(&at).await.good(StatusCode::OK)
        })
        .await;
        let delete = trips(proxy, async {
            let gone = bob.delete(&path).await;
            assert!(gone.status.is_success(), "{}", gone.text);
        })
        .await;
        let mutation = "mutation($list: ID!) { createTask(input: {title: \"g\", listId: $list}) \
                        { id } }";
        let vars = json!({"list": list.to_string()});
        let graphql = trips(proxy, bob.graphql_data(mutation, vars)).await;
        let writes = [
            ("REST create", create),
            ("REST PUT", update),
            ("REST complete", complete),
            ("REST DELETE", delete),
            ("GraphQL createTask", graphql),
        ];
        eprintln!("{label}, {pass}: an editor's writes {writes:?}");
        if pass == "counted" {
            for (operation, count) in writes {
                assert_eq!(
                    count, PLAIN_WRITE,
                    "{label}: {operation} sent {count} bursts"
                );
            }
        }
    }
}

/// `lists` with each list's role, owner, members and tasks, for 3 and then 6 lists shared
/// with Dave: as many round trips for either.
async fn shared_lists_with_members_cost_the_same(app: &TestApp, proxy: &TcpProxy, label: &str) {
    let (erin, dave) = (app.user("erin"), app.user("dave"));
    // The sharing screen's query, as docs/TASK_MODEL.md shows it.
    let query = "{ lists { id name ownerId role members { userId role } tasks { title } } }";
    let mut counts = Vec::new();
    for total in 1..=6 {
        let list = id_of(&create_list(&erin, &format!("e{total}")).await);
        task_in(&erin, list, &format!("t{total}")).await;
        share(&erin, list, "dave", "viewer").await;
        share(&erin, list, &format!("m{total}"), "editor").await;
        if total % 3 != 0 {
            continue;
        }
        let (mut count, mut data) = (0, Value::Null);
        for _ in 0..2 {
            proxy.settled().await;
            let before = proxy.round_trips();
            data = dave.graphql_data(query, json!({})).await;
            proxy.settled().await;
            count = proxy.round_trips() - before;
        }
        let lists = data["lists"].as_array().expect("lists");
        assert_eq!(lists.len(), total, "{data}");
        for list in lists {
            let n = &list["name"].as_str().unwrap()[1..];
            assert_eq!(list["role"], "VIEWER", "{list}");
            assert_eq!(list["ownerId"], "erin", "{list}");
            let members: Vec<(&str, &str)> = list["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["userId"].as_str().unwrap(), m["role"].as_str().unwrap()))
                .collect();
            let editor = format!("m{n}");
            assert_eq!(
                members,
                vec![("erin", "OWNER"), ("dave", "VIEWER"), (&editor, "EDITOR")],
                "{list}"
            );
            assert_eq!(list["tasks"][0]["title"], format!("t{n}"), "{list}");
        }
        counts.push(count);
    }
    eprintln!("{label}: shared lists with members and tasks, 3 and 6 lists: {counts:?}");
    // The lists, then every list's members and tasks in one batch.
    assert_eq!(counts[0], counts[1], "{label}: {counts:?}");
    assert!(counts[1] <= 2, "{label}: {counts:?}");
}

async fn all_of_them(app: &TestApp, proxy: &TcpProxy, label: &str) {
    members_reads_cost_one(app, proxy, label).await;
    editors_writes_cost_the_owners(app, proxy, label).await;
    shared_lists_with_members_cost_the_same(app, proxy, label).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trips_with_shared_lists_on_a_direct_connection() {
    if let Some(c) = Counted::direct().await {
        all_of_them(&c.app, &c.proxy, c.label).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trips_with_shared_lists_behind_pgbouncer() {
    if let Some(c) = Counted::pooled().await {
        all_of_them(&c.app, &c.proxy, c.label).await;
    }
}
