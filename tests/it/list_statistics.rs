//! A list reads a page whatever the planner knows (issue 58). After a bulk load or a restore,
//! before the first `ANALYZE` (and wherever autovacuum is off or behind), PostgreSQL plans
//! without statistics; the list's shared branch was then a sequential scan of every task of
//! the table, even for a user with no shared list (`task::query::branches`). PostgreSQL only:
//! SQLite has no such statistics to lose, and its list is `list_pages::`' and `list_tasks::`'.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_postgres::Client;

use crate::common::pg::{self, TempDatabase};
use crate::common::{Backend, TestApp};

/// Users of the table; the first `SHARING` own a list holding every other task of theirs,
/// shared with the next user (viewer or editor, alternately), so a user reads their own tasks
/// and another's list, and the last users read only their own.
const USERS: usize = 200;
const TASKS_PER_USER: usize = 50;
const SHARING: usize = 100;

/// 10,000 tasks of 200 users, written one user after the other (each page of `tasks` holds
/// tasks of many users, as a table filled over time does), their shared lists and memberships;
/// then the planner's statistics removed and the table marked never analyzed, as after a
/// restore.
async fn seed(db: &Client) {
    db.batch_execute(&format!(
        "INSERT INTO task_lists (user_id, name, name_key, position, created_at, updated_at)
         SELECT 'u' || u, 'Shared', 'shared', to_hex(128 + u), now(), now()
         FROM generate_series(0, {last_sharing}) AS u;
         INSERT INTO list_members (list_id, user_id, role, added_at)
         SELECT l.id, 'u' || ((substr(l.user_id, 2)::int + 1) % {USERS}),
                CASE WHEN l.id % 2 = 0 THEN 'editor' ELSE 'viewer' END, now()
         FROM task_lists l;
         INSERT INTO tasks (user_id, title, description, completed, priority, category,
                            due_date, list_id)
         SELECT 'u' || u, 'Task ' || n || ' of u' || u,
                CASE WHEN n % 3 = 0 THEN 'milk and bread' END, n % 4 = 0, n % 4,
                (ARRAY['work', 'personal', 'shopping', 'health', 'other'])[1 + n % 5],
                CASE WHEN n % 3 <> 1 THEN now() + (n - 25) * interval '1 day' END,
                CASE WHEN n % 2 = 0 THEN (SELECT id FROM task_lists WHERE user_id = 'u' || u)
                END
         FROM generate_series(1, {TASKS_PER_USER}) AS n
         CROSS JOIN generate_series(0, {last}) AS u
         ORDER BY n, u;",
        last_sharing = SHARING - 1,
        last = USERS - 1,
    ))
    .await
    .expect("seeds the table");
}

/// Removes what the planner knows of the tables a list reads, as a restore leaves them.
async fn forget_statistics(db: &Client) {
    db.batch_execute(
        "DELETE FROM pg_statistic WHERE starelid IN
             ('tasks'::regclass, 'task_lists'::regclass, 'list_members'::regclass,
              'task_tags'::regclass);
         UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid IN
             ('tasks'::regclass, 'task_lists'::regclass, 'list_members'::regclass,
              'task_tags'::regclass);",
    )
    .await
    .expect("deletes the statistics");
}

/// `tasks`' (sequential scans' rows read, rows fetched by index scans), once every other
/// session on the database has ended: a session reports its counts when it ends (otherwise
/// at most once a second, or ten seconds later when idle).
async fn reads_of_tasks(admin: &Client, database: &str) -> (i64, i64) {
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .expect("ends the sessions");
    for _ in 0..100 {
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                &[&database],
            )
            .await
            .expect("counts the sessions")
            .get(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let db = pg::client(&pg::database_url(database)).await;
    let row = db
        .query_one(
            "SELECT seq_tup_read, coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables
             WHERE relname = 'tasks'",
            &[],
        )
        .await
        .expect("reads the counts");
    (row.get(0), row.get(1))
}

/// The REST lists asked: every sort key both ways, paged (the two branches) and whole (pages
/// of the stream), and the filters, alone and together.
fn rest_queries() -> Vec<String> {
    let mut queries = Vec::new();
    for sort in [
        "created", "updated", "title", "status", "priority", "due", "position",
    ] {
        for order in ["asc", "desc"] {
            queries.push(format!("?sort={sort}&order={order}&limit=20"));
        }
    }
    for filter in [
        "",
        "status=pending",
        "status=completed&sort=due",
        "priority=high&sort=updated",
        "category=work&order=asc",
        "search=milk",
        "due_before=2030-01-01T00:00:00Z&due_after=2020-01-01T00:00:00Z",
        "overdue=true&sort=due",
        "parent_id=none&sort=position",
        "list_id=none",
        "assignee=nobody",
        "tag=home",
        "any_tag=home&any_tag=work&sort=priority",
    ] {
        queries.push(format!("?{filter}&limit=10"));
        queries.push(format!("?{filter}"));
    }
    queries
}

/// The GraphQL lists asked: `tasks` (whole) and `tasksConnection` (a page and its count).
fn graphql_queries() -> Vec<String> {
    let mut queries = Vec::new();
    for sort in [
        "CREATED_AT",
        "UPDATED_AT",
        "TITLE",
        "STATUS",
        "PRIORITY",
        "DUE_DATE",
        "POSITION",
    ] {
        queries.push(format!(
            "{{ tasksConnection(first: 20, sort: {sort}) {{ totalCount nodes {{ id }} }} }}"
        ));
    }
    for args in [
        "status: PENDING",
        "search: \"milk\", order: ASC",
        "tags: [\"home\"]",
        "overdue: true, sort: DUE_DATE",
    ] {
        queries.push(format!("{{ tasks({args}) {{ id }} }}"));
        queries.push(format!(
            "{{ tasksConnection(first: 5, {args}) {{ totalCount nodes {{ id }} }} }}"
        ));
    }
    queries.push("{ tasks { id title } }".to_owned());
    queries
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lists_read_no_task_by_a_sequential_scan_without_statistics() {
        let Some(database) = TempDatabase::migrated().await else {
            return;
        };
        let admin = pg::admin_client().await.expect("admin connection");
        let list: i64 = {
            let db = pg::client(&database.url).await;
            seed(&db).await;
            let row = db.query_one("SELECT id FROM task_lists WHERE user_id = 'u1'", &[]);
            row.await.expect("u1's list").get(0)
        };
        let app = TestApp::builder(Backend::Postgres)
            .database_url(&database.url)
            .start()
            .await
            .expect("the app starts");
        // A few tagged tasks, written through the API (its write functions index the tags).
        for user in ["u1", "u2", "u150"] {
            let client = app.user(user);
            for (title, tags) in [("home one", json!(["home"])), ("work one", json!(["work"]))] {
                client
                    .post(
                        &client.tasks_path(""),
                        json!({"title": title, "tags": tags}),
                    )
                    .await
                    .good(StatusCode::CREATED);
            }
        }
        // And one in u1's list, shared with u2: a member's tag filter finds it.
        let owner = app.user("u1");
        owner
            .post(
                &owner.tasks_path(""),
                json!({"title": "home shared", "tags": ["home"], "list_id": list}),
            )
            .await
            .good(StatusCode::CREATED);
        drop(app);
        {
            let db = pg::client(&database.url).await;
            forget_statistics(&db).await;
        }
        let (seq_before, fetched_before) = reads_of_tasks(&admin, &database.name).await;

        let app = TestApp::builder(Backend::Postgres)
            .database_url(&database.url)
            .start()
            .await
            .expect("the app starts");
        // u2 reads its own 52 tasks and u1's shared list (25 + 1: u1's other tagged tasks are
        // in no list); u150 shares nothing and is in no list.
        let member = app.user("u2");
        let whole = member
            .get(&member.tasks_path(""))
            .await
            .good(StatusCode::OK);
        assert_eq!(
            whole.as_array().map(Vec::len),
            Some(52 + 26),
            "u2's whole list"
        );
        let tagged = member.get(&member.tasks_path("?tag=home&limit=5")).await;
        let mut titles = crate::sharing::titles(&tagged.good(StatusCode::OK));
        titles.sort();
        assert_eq!(
            titles,
            ["home one", "home shared"],
            "u2's tasks tagged home"
        );
        let loner = app.user("u150");
        let whole = loner.get(&loner.tasks_path("")).await.good(StatusCode::OK);
        assert_eq!(
            whole.as_array().map(Vec::len),
            Some(52),
            "u150's whole list"
        );

        let (rest, graphql) = (rest_queries(), graphql_queries());
        let mut lists: i64 = 3;
        for (i, user) in ["u2", "u150", "u1", "u99"].iter().enumerate() {
            let client = app.user(user);
            // Each user asks a share of the REST lists and of the GraphQL ones.
            for query in rest.iter().skip(i % 2).step_by(2) {
                let listed = client.get(&client.tasks_path(query)).await;
                listed.good(StatusCode::OK);
                lists += 1;
            }
            for query in graphql.iter().skip(i % 2).step_by(2) {
                let data: Value = client.graphql_data(query, json!({})).await;
                assert!(data.is_object(), "{query}: {data}");
                lists += 1;
            }
        }
        assert!(lists >= 100, "{lists} lists asked");
        drop(app);

        let (seq_after, fetched_after) = reads_of_tasks(&admin, &database.name).await;
        assert_eq!(
            seq_after - seq_before,
            0,
            "{lists} lists over {} never-analyzed tasks read tasks by a sequential scan",
            USERS * TASKS_PER_USER
        );
        // And no index scan read the table instead: a list reads its user's tasks (52) and
        // their shared list's (25), not every user's.
        let fetched = fetched_after - fetched_before;
        assert!(
            fetched < lists * 200,
            "{lists} lists fetched {fetched} tasks by index scans"
        );
    }

    /// With statistics, a user holding 10,000 of the table's tasks (a third undated): three
    /// pages of 20 in every sort order, both directions, read a page each, not the user's
    /// set (issue 60 item 2): no task by a sequential scan and at most 50 fetched by index
    /// per page, the count for `X-Total-Count` included (the database keeps the owner's;
    /// `task::query::count`). Before, every page fetched the user's 10,000 to count them, a
    /// title-ordered page read them twice, and a descending due-date page (`NULLS LAST`, no
    /// index's order) read the table by a sequential scan (`benches/writes/rows_per_page.sh`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_sort_reads_a_page_at_ten_thousand() {
        let Some(database) = TempDatabase::migrated().await else {
            return;
        };
        let admin = pg::admin_client().await.expect("admin connection");
        {
            let db = pg::client(&database.url).await;
            seed(&db).await;
            db.batch_execute(
                "INSERT INTO tasks (user_id, title, due_date, priority, completed)
                 SELECT 'big', 'Task ' || n,
                        CASE WHEN n % 3 <> 1 THEN now() + n * interval '1 hour' END,
                        n % 4, n % 5 = 0
                 FROM generate_series(1, 10000) AS n;
                 ANALYZE tasks;",
            )
            .await
            .expect("seeds the big user and analyzes");
        }
        let (seq_before, fetched_before) = reads_of_tasks(&admin, &database.name).await;
        let app = TestApp::builder(Backend::Postgres)
            .database_url(&database.url)
            .start()
            .await
            .expect("the app starts");
        let big = app.user("big");
        let mut pages = 0;
        for sort in [
            "created", "updated", "title", "status", "priority", "due", "position",
        ] {
            for order in ["asc", "desc"] {
                let mut path = big.tasks_path(&format!("?sort={sort}&order={order}&limit=20"));
                for _ in 0..3 {
                    let page = big.get(&path).await;
                    assert_eq!(page.header("x-total-count"), Some("10000"));
                    let next = page.header("link").and_then(|link| {
                        let start = link.find('<')? + 1;
                        Some(link[start..link.find('>')?].to_owned())
                    });
                    let tasks = page.good(StatusCode::OK);
                    assert_eq!(tasks.as_array().map(Vec::len), Some(20), "{tasks}");
                    path = next.expect("a next page");
                    pages += 1;
                }
            }
        }
        drop(app);
        let (seq_after, fetched_after) = reads_of_tasks(&admin, &database.name).await;
        assert_eq!(
            seq_after - seq_before,
            0,
            "pages in every order read tasks by a sequential scan"
        );
        let fetched = fetched_after - fetched_before;
        assert!(
            fetched <= pages * 50,
            "{pages} pages of 20 fetched {fetched} tasks by index scans"
        );
    }
}
