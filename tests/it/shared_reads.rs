//! Reads that share a connection (`db::shared_reads`, DB_READ_CONNECTIONS): many users' reads
//! at once, over REST and GraphQL, interleaved with their writes, on a small pool where one
//! connection carries the reads, each answer holding exactly its user's tasks; then the
//! numbers `/metrics` gives. On SQLite the setting does nothing and the same answers hold.
//! Last, on PostgreSQL, the round trips of reads on a shared connection, counted by a proxy.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};
use crate::round_trips::{Counted, nested_fields_cost_the_same_for_any_page, round_trips_of_reads};

backend_cases!(many_users_reads_at_once_each_see_their_own);

const USERS: [&str; 6] = ["ana", "ben", "cid", "dee", "eli", "fay"];

/// The titles of a REST list, sorted.
fn titles(list: &Value) -> Vec<String> {
    let mut titles: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|task| task["title"].as_str().expect("a title").to_owned())
        .collect();
    titles.sort();
    titles
}

async fn many_users_reads_at_once_each_see_their_own(backend: Backend) {
    let Some(app) = TestApp::builder(backend)
        .arg("--db-pool-size", "3")
        .arg("--db-read-connections", "1")
        .arg("--rate-limit", "0")
        .start()
        .await
    else {
        return;
    };
    for user in USERS {
        let client = app.user(user);
        for n in 0..3 {
            client.create_task(&format!("{user} {n}")).await;
        }
    }
    let own = |user: &str| -> Vec<String> { (0..3).map(|n| format!("{user} {n}")).collect() };

    // 8 rounds of every user's REST list, GraphQL list and one task read, with a write of
    // each user's among them: 150 requests at once on a pool of 3.
    let requests = (0..8).flat_map(|round| USERS.iter().map(move |user| (round, *user)));
    let outcomes = join_all(requests.map(|(round, user)| {
        let app = &app;
        async move {
            let client = app.user(user);
            let list = client
                .get(&client.tasks_path(""))
                .await
                .good(StatusCode::OK);
            let data = client.graphql_data("{ tasks { title } }", json!({})).await;
            let first = list[0]["id"].as_i64().expect("an id");
            let one = client
                .get(&client.tasks_path(&format!("/{first}")))
                .await
                .good(StatusCode::OK);
            if round == 0 {
                let path = client.tasks_path(&format!("/{first}/complete"));
                client.patch(&path).await.good(StatusCode::OK);
            }
            (user, list, data, one)
        }
    }))
    .await;
    for (user, list, data, one) in outcomes {
        let expected = own(user);
        assert_eq!(titles(&list), expected, "{user}'s REST list");
        let mut graphql: Vec<String> = data["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|task| task["title"].as_str().expect("a title").to_owned())
            .collect();
        graphql.sort();
        assert_eq!(graphql, expected, "{user}'s GraphQL list");
        assert_eq!(one["user_id"], user, "{user}'s task");
    }
    // Each user's write landed once, whatever reads ran beside it.
    for user in USERS {
        let client = app.user(user);
        let list = client
            .get(&client.tasks_path(""))
            .await
            .good(StatusCode::OK);
        let done = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["completed"] == true);
        assert_eq!(done.count(), 1, "{user}'s one completed task");
    }

    let metrics = app.anonymous().get("/metrics").await.text;
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics"))
    };
    // Nothing is in flight now: no connection is held for reads.
    assert_eq!(gauge("db_shared_read_connections "), 0.0);
    assert_eq!(gauge("db_shared_read_riders "), 0.0);
}

/// Reads that ride a shared connection keep issue 28's budget (`round_trips`, whose instances
/// have one connection and so share none): with two connections in the pool, one carries the
/// reads. Each read alone is one round trip (its BEGIN batch, statement and COMMIT in one
/// burst; the statement is the connection's, prepared once for every view), a GraphQL page's
/// nested fields cost the same for any page, and many reads at once cost fewer than one each:
/// they follow one another on the shared connection (on a connection each, every read would
/// be a burst of its own; the proxy holds each answer 20 ms, so reads sent meanwhile join the
/// burst in flight).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reads_on_a_shared_connection_cost_one_round_trip_each() {
    let Some(c) = Counted::direct_with_pool(2).await else {
        return;
    };
    let label = "direct, reads sharing a connection";
    round_trips_of_reads(&c.app, &c.proxy, label, 1).await;
    nested_fields_cost_the_same_for_any_page(&c.app, &c.proxy, label).await;

    for user in USERS {
        c.app.user(user).create_task(&format!("{user}'s")).await;
    }
    // Every user's list twice at once, two rounds: the first warms whichever connection
    // carries them; the second is counted.
    let lists = || {
        join_all(USERS.iter().cycle().take(2 * USERS.len()).map(|user| {
            let client = c.app.user(user);
            async move {
                let list = client
                    .get(&client.tasks_path(""))
                    .await
                    .good(StatusCode::OK);
                assert_eq!(titles(&list), [format!("{user}'s")], "{user}'s list");
            }
        }))
    };
    lists().await;
    c.proxy.settled().await;
    let before = c.proxy.round_trips();
    lists().await;
    c.proxy.settled().await;
    let count = c.proxy.round_trips() - before;
    let reads = 2 * USERS.len();
    eprintln!("{label}: {reads} lists at once: {count} round trips");
    assert!(count < reads, "{label}: {reads} reads sent {count} bursts");
}
