//! Round trips to PostgreSQL per operation (issue 28), counted by a proxy between the server
//! and the database (`common::proxy`, counting), with one connection in the pool and the
//! statement cache warm, directly and behind PgBouncer in transaction mode.
//!
//! Reads cost one round trip, directly and behind the pooler: each statement travels with its
//! transaction's BEGIN batch and COMMIT (`db::pg`), and the statements of one read that do not
//! need each other's answers travel together (a list with its scope checks, a page with its
//! total). A GraphQL page's nested fields cost one more, whatever the page's size. A plain
//! write is one statement and the COMMIT ([`PLAIN_WRITE`], on both APIs and both connection
//! kinds); the extras (idempotency key, If-Match, a repeating task, a move) are held at what
//! they cost now. All are printed (`--nocapture`).

use std::future::Future;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::pg::{TempDatabase, address_of, admin_url};
use crate::common::pgbouncer::PgBouncer;
use crate::common::proxy::TcpProxy;
use crate::common::{Backend, TestApp};

/// Round trips `work` costs, with what it sends after answering (a COMMIT not waited for).
pub(crate) async fn trips<T>(proxy: &TcpProxy, work: impl Future<Output = T>) -> usize {
    proxy.settled().await;
    let before = proxy.round_trips();
    work.await;
    proxy.settled().await;
    proxy.round_trips() - before
}

/// An instance whose pool (`pool` connections) goes through `proxy` to `url`; the listener
/// goes to `direct` when given (so it is not counted), and nothing runs in the background
/// while the test counts but the batched signals of its writes to other instances, sent on
/// the event pool after the commit: the proxy tells those connections by their name and
/// skips them, which is why TLS is off through it (the name travels in the startup message).
async fn counted_app(proxy: &TcpProxy, url: &str, direct: Option<&str>, pool: u32) -> TestApp {
    let mut through = url::Url::parse(&proxy.url(url)).expect("a URL");
    through.query_pairs_mut().append_pair("sslmode", "disable");
    let mut builder = TestApp::builder(Backend::Postgres)
        .database_url(through.as_str())
        .arg("--db-pool-size", &pool.to_string())
        .arg("--rate-limit", "0")
        .arg("--event-heartbeat-interval", "1h")
        .arg("--tombstone-prune-interval", "1h")
        .arg("--idempotency-key-prune-interval", "1h")
        .arg("--reminder-interval", "1h");
    if let Some(direct) = direct {
        builder = builder.arg("--database-direct-url", direct);
    }
    builder.start().await.expect("the instance starts")
}

/// An instance counted by a proxy, on a database of its own: directly or behind a real
/// PgBouncer in transaction mode. The database and the pooler live as long as it.
pub(crate) struct Counted {
    pub(crate) app: TestApp,
    pub(crate) proxy: TcpProxy,
    pub(crate) label: &'static str,
    _bouncer: Option<PgBouncer>,
    _database: TempDatabase,
}

impl Counted {
    /// Straight to PostgreSQL, one connection in the pool (`None` when no PostgreSQL is
    /// configured).
    pub(crate) async fn direct() -> Option<Counted> {
        Self::direct_with_pool(1).await
    }

    /// Straight to PostgreSQL with `pool` connections (two or more: reads share one,
    /// `db::shared_reads`).
    pub(crate) async fn direct_with_pool(pool: u32) -> Option<Counted> {
        let database = TempDatabase::migrated().await?;
        let proxy = TcpProxy::counting(&address_of(&admin_url())).await;
        let app = counted_app(&proxy, &database.url, None, pool).await;
        Some(Counted {
            app,
            proxy,
            label: "direct",
            _bouncer: None,
            _database: database,
        })
    }

    /// Through PgBouncer; the listener goes straight to PostgreSQL.
    pub(crate) async fn pooled() -> Option<Counted> {
        let database = TempDatabase::migrated().await?;
        let bouncer = PgBouncer::start()?;
        let pooled = bouncer.url(&database.name);
        let proxy = TcpProxy::counting(&address_of(&pooled)).await;
        let app = counted_app(&proxy, &pooled, Some(&database.url), 1).await;
        Some(Counted {
            app,
            proxy,
            label: "PgBouncer",
            _bouncer: Some(bouncer),
            _database: database,
        })
    }
}

/// What a plain write costs (REST create, PUT, PATCH …/complete, DELETE; GraphQL createTask,
/// updateTask, toggleTask, deleteTask): ONE statement the server waits for (a function of
/// migration 000050 doing the locks, checks, caps, position, tags, subtree and prune), then
/// the COMMIT. That statement is a `sql_query`, kept prepared directly and unnamed behind the
/// pooler (`db::pg`): one exchange either way, so two bursts in all, issue 28's budget (down
/// from 7 (create) to 10 (delete) directly and 9 to 15 behind PgBouncer).
const STATEMENT: usize = 1;
pub(crate) const PLAIN_WRITE: usize = STATEMENT + 1;

/// What writes with an extra cost at most, on each kind of connection: an idempotency key
/// (two statements more: the claim before the write, one `sql_query`, and the outcome stored
/// after it; it was four statements before the write),
/// If-Match (nothing: the write function checks it), completing a repeating task's occurrence
/// (one statement more: the next due date is Rust's), a PUT that moves the task to another
/// list (the move's reads and writes, as `moves` plans them).
struct Extras {
    keyed: usize,
    conditional: usize,
    repeating: usize,
    moving: usize,
}

const DIRECT_EXTRAS: Extras = Extras {
    keyed: PLAIN_WRITE + STATEMENT + 1,
    conditional: PLAIN_WRITE,
    repeating: PLAIN_WRITE + STATEMENT,
    moving: 6,
};
const POOLED_EXTRAS: Extras = Extras {
    keyed: PLAIN_WRITE + STATEMENT + 1,
    conditional: PLAIN_WRITE,
    repeating: PLAIN_WRITE + STATEMENT,
    moving: 6,
};

/// Each read, twice (the first warms the statement cache), costs `expected` bursts.
pub(crate) async fn round_trips_of_reads(
    app: &TestApp,
    proxy: &TcpProxy,
    label: &str,
    expected: usize,
) {
    let alice = app.user("alice");
    let task = alice.create_task("counted").await;
    let id = task["id"].as_i64().expect("an id");
    let one = alice.tasks_path(&format!("/{id}"));
    let all = alice.tasks_path("");
    let list = alice
        .post(
            &format!("/api/{}/lists", alice.user),
            json!({"name": "inbox 2"}),
        )
        .await
        .good(StatusCode::CREATED);
    // A filter by a list is checked (404 for a list not the viewer's) with the same trip.
    let in_list = alice.tasks_path(&format!("?list_id={}", list["id"]));
    let page = "{ tasksConnection(first: 5) { totalCount nodes { id } } }";
    for pass in ["warm-up", "counted"] {
        let reads = [
            (
                "REST list",
                trips(proxy, async { alice.get(&all).await.good(StatusCode::OK) }).await,
            ),
            (
                "REST list of a list",
                trips(proxy, async {
                    alice.get(&in_list).await.good(StatusCode::OK)
                })
                .await,
            ),
            (
                "GraphQL page with its total",
                trips(proxy, alice.graphql_data(page, json!({}))).await,
            ),
            (
                "REST read one",
                trips(proxy, async { alice.get(&one).await.good(StatusCode::OK) }).await,
            ),
            (
                "GraphQL tasks",
                trips(
                    proxy,
                    alice.graphql_data("{ tasks { id title } }", json!({})),
                )
                .await,
            ),
            (
                "GraphQL task",
                trips(
                    proxy,
                    alice.graphql_data(&format!("{{ task(id: {id}) {{ id }} }}"), json!({})),
                )
                .await,
            ),
        ];
        eprintln!("{label}, {pass}: reads {reads:?}");
        if pass == "counted" {
            for (operation, count) in reads {
                assert_eq!(count, expected, "{label}: {operation} sent {count} bursts");
            }
        }
    }
}

/// Each plain write, on both APIs, costs [`PLAIN_WRITE`] bursts (counted the second time
/// round, once the statement cache is warm); those with an extra at most what `most` says.
/// All are printed (`--nocapture`).
async fn round_trips_of_writes(app: &TestApp, proxy: &TcpProxy, label: &str, most: &Extras) {
    let alice = app.user("alice");
    let list = alice
        .post(
            &format!("/api/{}/lists", alice.user),
            json!({"name": "writes"}),
        )
        .await
        .good(StatusCode::CREATED);
    let gql = async |query: String| alice.graphql_data(&query, json!({})).await;
    for pass in ["warm-up", "counted"] {
        let task = alice.create_task("written").await;
        let id = task["id"].as_i64().expect("an id");
        let one = alice.tasks_path(&format!("/{id}"));
        let parent = alice.create_task("parent").await;
        let body = json!({"title": "child", "parent_id": parent["id"]});
        alice
            .post(&alice.tasks_path(""), body)
            .await
            .good(StatusCode::CREATED);
        let gone = alice.tasks_path(&format!("/{}", parent["id"]));
        let plain = [
            (
                "REST create",
                trips(proxy, alice.create_task("another")).await,
            ),
            (
                "REST update",
                trips(proxy, async {
                    let body = json!({"title": "renamed", "tags": ["a", "b"], "completed": true});
                    alice.put(&one, body).await.good(StatusCode::OK)
                })
                .await,
            ),
            (
                "REST toggle",
                trips(proxy, async {
                    let path = format!("{one}/complete");
                    alice.patch(&path).await.good(StatusCode::OK)
                })
                .await,
            ),
            (
                "REST delete (with a subtask)",
                trips(proxy, async {
                    alice.delete(&gone).await.good(StatusCode::NO_CONTENT)
                })
                .await,
            ),
            (
                "GraphQL createTask",
                trips(
                    proxy,
                    gql(
                        "mutation { createTask(input: {title: \"g\", tags: [\"x\"]}) { id } }"
                            .into(),
                    ),
                )
                .await,
            ),
            (
                "GraphQL updateTask",
                trips(
                    proxy,
                    gql(format!(
                        "mutation {{ updateTask(id: {id}, input: {{title: \"g2\"}}) {{ id }} }}"
                    )),
                )
                .await,
            ),
            (
                "GraphQL toggleTask",
                trips(
                    proxy,
                    gql(format!("mutation {{ toggleTask(id: {id}) {{ id }} }}")),
                )
                .await,
            ),
        ];
        let doomed = alice.create_task("doomed").await["id"].clone();
        let plain_delete = trips(
            proxy,
            gql(format!("mutation {{ deleteTask(id: {doomed}) }}")),
        )
        .await;
        let version = alice.get(&one).await.good(StatusCode::OK)["version"].clone();
        let tag = format!("\"{id}-{version}\"");
        let auth = format!("Bearer {}", app.token("alice"));
        let json_body = ("content-type", "application/json");
        let key = format!("key-{pass}");
        let due = "2030-01-07T09:00:00Z";
        let repeating = json!({"title": "daily", "due_date": due, "recurrence": "FREQ=DAILY"});
        let repeating = alice.post(&alice.tasks_path(""), repeating).await;
        let repeating = repeating.good(StatusCode::CREATED)["id"].clone();
        let extras = [
            (
                "REST create with an Idempotency-Key",
                most.keyed,
                trips(proxy, async {
                    let headers = [
                        ("authorization", auth.as_str()),
                        ("idempotency-key", &key),
                        json_body,
                    ];
                    let body = json!({"title": "keyed"}).to_string().into_bytes();
                    let path = alice.tasks_path("");
                    app.raw(Method::POST, &path, &headers, Some(body))
                        .await
                        .good(StatusCode::CREATED)
                })
                .await,
            ),
            (
                "REST update with If-Match",
                most.conditional,
                trips(proxy, async {
                    let headers = [
                        ("authorization", auth.as_str()),
                        ("if-match", &tag),
                        json_body,
                    ];
                    let body = json!({"title": "matched"}).to_string().into_bytes();
                    app.raw(Method::PUT, &one, &headers, Some(body))
                        .await
                        .good(StatusCode::OK)
                })
                .await,
            ),
            (
                "REST toggle of a repeating task",
                most.repeating,
                trips(proxy, async {
                    let path = alice.tasks_path(&format!("/{repeating}/complete"));
                    alice.patch(&path).await.good(StatusCode::OK)
                })
                .await,
            ),
            (
                "REST update moving the task to a list",
                most.moving,
                trips(proxy, async {
                    let body = json!({"list_id": list["id"]});
                    alice.put(&one, body).await.good(StatusCode::OK)
                })
                .await,
            ),
        ];
        eprintln!(
            "{label}, {pass}: plain writes {plain:?}, GraphQL deleteTask {plain_delete}, \
             extras {extras:?}"
        );
        if pass == "counted" {
            for (operation, count) in plain
                .into_iter()
                .chain([("GraphQL deleteTask", plain_delete)])
            {
                assert_eq!(
                    count, PLAIN_WRITE,
                    "{label}: {operation} sent {count} bursts"
                );
            }
            for (operation, most, count) in extras {
                assert!(
                    count <= most,
                    "{label}: {operation} sent {count} bursts, more than {most}"
                );
            }
        }
    }
}

/// A GraphQL page whose tasks select `list`, `parent` and `subtasks` costs as many round trips
/// for 10 tasks as for 2: each nested field is one batched read for the whole page (it was
/// one unit of work per task: 55 round trips for 10 tasks).
pub(crate) async fn nested_fields_cost_the_same_for_any_page(
    app: &TestApp,
    proxy: &TcpProxy,
    label: &str,
) {
    let alice = app.user("alice");
    let list = alice
        .post(
            &format!("/api/{}/lists", alice.user),
            json!({"name": "counted"}),
        )
        .await
        .good(StatusCode::CREATED);
    let parent = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "parent", "list_id": list["id"]}),
        )
        .await
        .good(StatusCode::CREATED);
    for i in 0..11 {
        let body = json!({"title": format!("child {i}"), "parent_id": parent["id"]});
        alice
            .post(&alice.tasks_path(""), body)
            .await
            .good(StatusCode::CREATED);
    }
    let page = |first: usize| {
        format!(
            "{{ tasksConnection(first: {first}) {{ nodes {{ id tags list {{ name }} \
             parent {{ title }} subtasks {{ id }} }} }} }}"
        )
    };
    let mut counts = Vec::new();
    for first in [2, 10, 2, 10] {
        let query = page(first);
        let data = alice.graphql_data(&query, json!({}));
        let (count, data) = {
            proxy.settled().await;
            let before = proxy.round_trips();
            let data = data.await;
            proxy.settled().await;
            (proxy.round_trips() - before, data)
        };
        let nodes = data["tasksConnection"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first);
        for node in nodes {
            assert_eq!(node["list"]["name"], "counted", "{node}");
            assert_eq!(node["parent"]["title"], "parent", "{node}");
        }
        counts.push(count);
    }
    eprintln!("{label}: a page of 2, 10, 2, 10 tasks with nested fields: {counts:?}");
    // The first two warm the statement cache.
    assert_eq!(counts[2], counts[3], "{label}: {counts:?}");
    // The page (its rows and total together), then one batch for every nested field of
    // every task: the budget, the page plus one.
    assert!(counts[3] <= 2, "{label}: {counts:?}");
}

/// `lists { tasks }` costs as many round trips for many lists as for few: the lists, then
/// every list's tasks in one batch (one statement per set of filters, sent together).
async fn tasks_of_lists_cost_the_same_for_any_number(app: &TestApp, proxy: &TcpProxy, label: &str) {
    let bob = app.user("bob");
    let query = "{ lists { name tasks(sort: TITLE, order: ASC) { title listId } } }";
    let mut counts = Vec::new();
    let mut list_ids = std::collections::HashMap::new();
    for total in 1..=6 {
        let list = bob
            .post(
                &format!("/api/{}/lists", bob.user),
                json!({"name": format!("l{total}")}),
            )
            .await
            .good(StatusCode::CREATED);
        list_ids.insert(format!("l{total}"), list["id"].to_string());
        for title in ["b", "a"] {
            let body = json!({"title": format!("{title}{total}"), "list_id": list["id"]});
            bob.post(&bob.tasks_path(""), body)
                .await
                .good(StatusCode::CREATED);
        }
        if total % 3 != 0 {
            continue;
        }
        // Twice: the first warms the statement cache.
        let (mut count, mut data) = (0, json!(null));
        for _ in 0..2 {
            proxy.settled().await;
            let before = proxy.round_trips();
            data = bob.graphql_data(query, json!({})).await;
            proxy.settled().await;
            count = proxy.round_trips() - before;
        }
        let lists = data["lists"].as_array().expect("lists");
        assert_eq!(lists.len(), total);
        for list in lists {
            let name = list["name"].as_str().unwrap();
            let titles: Vec<&str> = list["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    assert_eq!(t["listId"], list_ids[name], "{t}");
                    t["title"].as_str().unwrap()
                })
                .collect();
            let n = &name[1..];
            assert_eq!(titles, vec![format!("a{n}"), format!("b{n}")], "{data}");
        }
        counts.push(count);
    }
    eprintln!("{label}: lists with their tasks, 3 and 6 lists: {counts:?}");
    // The lists, then every list's tasks in one batch.
    assert_eq!(counts[0], counts[1], "{label}: {counts:?}");
    assert!(counts[1] <= 2, "{label}: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trips_of_reads_on_a_direct_connection() {
    let Some(c) = Counted::direct().await else {
        return;
    };
    round_trips_of_reads(&c.app, &c.proxy, c.label, 1).await;
    round_trips_of_writes(&c.app, &c.proxy, c.label, &DIRECT_EXTRAS).await;
    nested_fields_cost_the_same_for_any_page(&c.app, &c.proxy, c.label).await;
    tasks_of_lists_cost_the_same_for_any_number(&c.app, &c.proxy, c.label).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trips_of_reads_behind_pgbouncer() {
    let Some(c) = Counted::pooled().await else {
        return;
    };
    round_trips_of_reads(&c.app, &c.proxy, c.label, 1).await;
    round_trips_of_writes(&c.app, &c.proxy, c.label, &POOLED_EXTRAS).await;
    nested_fields_cost_the_same_for_any_page(&c.app, &c.proxy, c.label).await;
    tasks_of_lists_cost_the_same_for_any_number(&c.app, &c.proxy, c.label).await;
}
