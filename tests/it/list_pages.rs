//! Pages of a task list that holds the viewer's own tasks and a shared list's, on both
//! backends. PostgreSQL reads a page as two branches, the viewer's own tasks and the shared
//! lists' others, each cut at the page, then merged in the order asked
//! (`task::query::page_in_branches`); SQLite reads it with one filter. Every sort key in
//! both directions: the whole list is in the order the tasks' fields give, and pages of two
//! chained by their `Link` cursors are exactly the whole list.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestApp, UserClient};
use crate::list_tasks::in_order as ids;
use crate::lists::{create_list, id_of};
use crate::sharing::share;

backend_tests!(pages_of_own_and_shared_tasks_follow_every_order);

/// What a task was made with: its id, priority rank, due day (of January 2027), whether it
/// was completed (after all were made, in this order), and its title.
struct Made {
    id: i64,
    rank: i16,
    due: Option<u32>,
    completed: bool,
    title: String,
}

const PRIORITIES: [&str; 4] = ["none", "low", "medium", "high"];

/// Every page of `query` with `limit=2`, chained by their `Link` headers.
async fn paged(user: &UserClient<'_>, query: &str) -> Vec<i64> {
    let mut all = Vec::new();
    let mut next = Some(user.tasks_path(&format!("?{query}&limit=2")));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let page = user.get(&url).await;
        next = page
            .header("link")
            .map(|l| l[1..l.find('>').expect("a link target")].to_owned());
        all.extend(ids(&page.good(StatusCode::OK)));
        pages += 1;
        assert!(pages <= 10, "pages of {query} did not end");
    }
    all
}

async fn pages_of_own_and_shared_tasks_follow_every_order(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let list = id_of(&create_list(&bob, "Shared").await);
    share(&bob, list, "alice", "viewer").await;
    // Ten tasks made one after another, alternately alice's own and bob's in the list shared
    // with her, so that every order interleaves the two branches.
    let mut made = Vec::new();
    for i in 0..10u32 {
        let (owner, list_id) = if i % 2 == 0 {
            (&alice, None)
        } else {
            (&bob, Some(list))
        };
        let rank = [3, 0, 1, 2, 3, 1, 0, 2, 1, 3][i as usize];
        let due = (i % 3 != 0).then_some(1 + (i * 7) % 11);
        let title = format!("t{}", (i * 3) % 10);
        let body = json!({
            "title": title,
            "list_id": list_id,
            "priority": PRIORITIES[rank as usize],
            "due_date": due.map(|d| format!("2027-01-{d:02}T09:00:00Z")),
        });
        let task = owner
            .post(&owner.tasks_path(""), body)
            .await
            .good(StatusCode::CREATED);
        made.push(Made {
            id: id_of(&task),
            rank,
            due,
            completed: false,
            title,
        });
    }
    // Three completed, by their owners: their `updated_at` moves after every creation.
    let toggled = [7usize, 2, 5];
    for &i in &toggled {
        let owner = if i % 2 == 0 { &alice } else { &bob };
        let path = owner.tasks_path(&format!("/{}/complete", made[i].id));
        owner.patch(&path).await.good(StatusCode::OK);
        made[i].completed = true;
    }

    // Positions are the server's (each group its own keys): read once, in any order.
    let whole = alice
        .get(&alice.tasks_path("?limit=50"))
        .await
        .good(StatusCode::OK);
    let position = |id: i64| -> String {
        let task = whole
            .as_array()
            .expect("a list")
            .iter()
            .find(|t| id_of(t) == id)
            .expect("every task in the list");
        task["position"].as_str().expect("a position").to_owned()
    };

    for sort in [
        "created", "updated", "title", "status", "priority", "due", "position",
    ] {
        for order in ["asc", "desc"] {
            let query = format!("sort={sort}&order={order}");
            let expected = expected(&made, &toggled, sort, order == "desc", &position);
            let whole = alice
                .get(&alice.tasks_path(&format!("?{query}&limit=50")))
                .await
                .good(StatusCode::OK);
            assert_eq!(ids(&whole), expected, "the whole list by {query}");
            assert_eq!(
                paged(&alice, &query).await,
                expected,
                "pages of 2 by {query}"
            );
        }
    }
    // The same through GraphQL's connection, first page and the next.
    let page = |after: Option<String>| {
        let alice = &alice;
        async move {
            alice
                .graphql_data(
                    "query($after: String) { tasksConnection(sort: DUE_DATE, order: ASC, first: 3, after: $after) \
                     { nodes { id } pageInfo { endCursor } } }",
                    json!({ "after": after }),
                )
                .await
        }
    };
    let first = page(None).await;
    let cursor = first["tasksConnection"]["pageInfo"]["endCursor"]
        .as_str()
        .map(str::to_owned);
    let second = page(cursor).await;
    let gql: Vec<i64> = [first, second]
        .iter()
        .flat_map(|data| {
            data["tasksConnection"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| {
                    n["id"]
                        .as_str()
                        .expect("an id")
                        .parse::<i64>()
                        .expect("a number")
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let due = expected(&made, &toggled, "due", false, &position);
    assert_eq!(gql, due[..6], "two GraphQL pages by due date");
}

/// The ids in the order `sort` (a REST `sort` value) gives, ties by id in the same direction;
/// undated tasks last in both directions.
fn expected(
    made: &[Made],
    toggled: &[usize],
    sort: &str,
    desc: bool,
    position: &dyn Fn(i64) -> String,
) -> Vec<i64> {
    let mut order: Vec<(usize, &Made)> = made.iter().enumerate().collect();
    if sort == "due" {
        order.sort_by(|(_, a), (_, b)| {
            let (x, y) = (a.due, b.due);
            x.is_none().cmp(&y.is_none()).then(if desc {
                y.cmp(&x).then(b.id.cmp(&a.id))
            } else {
                x.cmp(&y).then(a.id.cmp(&b.id))
            })
        });
        return order.iter().map(|(_, m)| m.id).collect();
    }
    let updated = |i: usize| toggled.iter().position(|&t| t == i).map_or(0, |w| w + 1);
    order.sort_by(|(i, a), (j, b)| {
        let by_key = match sort {
            "created" => i.cmp(j),
            "updated" => (updated(*i), i).cmp(&(updated(*j), j)),
            "title" => a.title.cmp(&b.title),
            "status" => a.completed.cmp(&b.completed),
            "priority" => a.rank.cmp(&b.rank),
            "position" => position(a.id).cmp(&position(b.id)),
            other => panic!("no sort {other}"),
        };
        by_key.then(a.id.cmp(&b.id))
    });
    let mut ids: Vec<i64> = order.iter().map(|(_, m)| m.id).collect();
    if desc {
        ids.reverse();
    }
    ids
}
