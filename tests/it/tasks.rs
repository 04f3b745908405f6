//! Task model v2 over real HTTP, on SQLite and PostgreSQL: priority, category, due dates and
//! completion times; filters, search and sorts; keyset pages (also while tasks come and go);
//! stats; clearCompleted. Through REST and GraphQL.

use std::collections::HashSet;

use crate::common::{Backend, TestApp, UserClient, assert_error_at};
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_tests!(
    rest_fields_defaults_and_updates,
    completed_at_follows_completion,
    rest_body_errors_in_fastapi_shape,
    rest_query_errors_at_query,
    rest_filters_combine,
    search_is_literal_and_case_insensitive_for_any_letter,
    rest_sorts,
    rest_pages_walk_with_link_and_total,
    rest_pages_stay_exact_while_tasks_come_and_go,
    stats_on_both_apis,
    graphql_fields_filters_and_sorts,
    graphql_connection_walk_and_errors,
    graphql_connection_stays_exact_while_tasks_come_and_go,
    graphql_clear_completed,
);

backend_cases!(a_wiped_search_key_hides_nothing);

const FIELDS: &str = "id title description completed priority category dueDate completedAt";

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|t| t["id"].as_i64().expect("an id"))
        .collect()
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|t| t["title"].as_str().expect("a title").to_owned())
        .collect()
}

async fn create(user: &UserClient<'_>, body: Value) -> Value {
    user.post(&user.tasks_path(""), body)
        .await
        .good(StatusCode::CREATED)
}

async fn list(user: &UserClient<'_>, query: &str) -> Value {
    user.get(&user.tasks_path(query)).await.good(StatusCode::OK)
}

async fn rest_fields_defaults_and_updates(app: TestApp) {
    let alice = app.user("alice");
    let plain = alice.create_task("plain").await;
    assert_eq!(plain["priority"], "none");
    assert_eq!(plain["category"], "other");
    assert_eq!(plain["due_date"], Value::Null);
    assert_eq!(plain["completed_at"], Value::Null);

    let full = create(
        &alice,
        json!({"title": "full", "priority": "high", "category": "work",
               "due_date": "2026-12-01T10:30:00.1234567+02:00"}),
    )
    .await;
    assert_eq!(full["priority"], "high");
    assert_eq!(full["category"], "work");
    assert_eq!(
        full["due_date"], "2026-12-01T08:30:00.123456Z",
        "UTC with Z, cut to microseconds"
    );
    let id = full["id"].as_i64().unwrap();
    assert_eq!(
        alice
            .get(&alice.tasks_path(&format!("/{id}")))
            .await
            .good(StatusCode::OK),
        full,
        "reads back exactly as written"
    );

    // PUT is partial: only the named fields change.
    let path = alice.tasks_path(&format!("/{id}"));
    let changed = alice
        .put(&path, json!({"priority": "low"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(changed["priority"], "low");
    assert_eq!(changed["category"], "work");
    assert_eq!(changed["due_date"], full["due_date"]);
    let changed = alice
        .put(
            &path,
            json!({"category": "health", "due_date": "2027-01-01T00:00:00Z"}),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(changed["category"], "health");
    assert_eq!(changed["due_date"], "2027-01-01T00:00:00.000000Z");
    assert_eq!(changed["priority"], "low");
    let cleared = alice
        .put(&path, json!({"due_date": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(cleared["due_date"], Value::Null);
    assert_eq!(cleared["category"], "health");
}

async fn completed_at_follows_completion(app: TestApp) {
    let alice = app.user("alice");
    let task = alice.create_task("t").await;
    let id = task["id"].as_i64().unwrap();
    let path = alice.tasks_path(&format!("/{id}"));
    let toggle = alice.tasks_path(&format!("/{id}/complete"));

    let done = alice.patch(&toggle).await.good(StatusCode::OK);
    assert_eq!(done["completed"], true);
    assert_eq!(
        done["completed_at"], done["updated_at"],
        "toggle stamps the time"
    );
    let undone = alice.patch(&toggle).await.good(StatusCode::OK);
    assert_eq!(undone["completed_at"], Value::Null, "toggle back clears it");

    let done = alice
        .put(&path, json!({"completed": true}))
        .await
        .good(StatusCode::OK);
    let stamp = done["completed_at"].clone();
    assert_eq!(stamp, done["updated_at"]);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Completing a completed task keeps when it was completed.
    let again = alice
        .put(&path, json!({"completed": true, "title": "t2"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(again["completed_at"], stamp);
    assert_ne!(again["updated_at"], stamp);
    let other = alice
        .put(&path, json!({"title": "t3"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(other["completed_at"], stamp, "other changes leave it alone");
    let pending = alice
        .put(&path, json!({"completed": false}))
        .await
        .good(StatusCode::OK);
    assert_eq!(pending["completed_at"], Value::Null);

    // GraphQL's setTaskCompleted: set once, idempotent after.
    let query = "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { completedAt } }";
    let first = alice
        .graphql_data(query, json!({"id": id.to_string(), "c": true}))
        .await;
    let at = first["setTaskCompleted"]["completedAt"].clone();
    assert!(at.is_string(), "{first}");
    let second = alice
        .graphql_data(query, json!({"id": id.to_string(), "c": true}))
        .await;
    assert_eq!(second["setTaskCompleted"]["completedAt"], at);
    let third = alice
        .graphql_data(query, json!({"id": id.to_string(), "c": false}))
        .await;
    assert_eq!(third["setTaskCompleted"]["completedAt"], Value::Null);
}

async fn rest_body_errors_in_fastapi_shape(app: TestApp) {
    let alice = app.user("alice");
    let detail = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "x", "priority": "urgent"}),
        )
        .await
        .validation();
    assert_eq!(
        detail,
        vec![json!({
            "type": "enum",
            "loc": ["body", "priority"],
            "msg": "Input should be 'high', 'medium', 'low' or 'none'",
            "input": "urgent",
            "ctx": {"expected": "'high', 'medium', 'low' or 'none'"},
        })]
    );
    let detail = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "x", "category": "fun", "due_date": "tomorrow"}),
        )
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "category"]), "enum");
    assert_eq!(
        detail[0]["msg"],
        "Input should be 'work', 'personal', 'shopping', 'health' or 'other'"
    );
    assert_error_at(&detail, json!(["body", "due_date"]), "datetime_parsing");
    // A date without a time zone is not RFC 3339.
    let detail = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "x", "due_date": "2026-12-01T10:00:00"}),
        )
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "due_date"]), "datetime_parsing");

    let task = alice.create_task("t").await;
    let path = alice.tasks_path(&format!("/{}", task["id"]));
    for (body, field) in [
        (json!({"priority": null}), "priority"),
        (json!({"category": null}), "category"),
        (json!({"priority": 3}), "priority"),
    ] {
        let detail = alice.put(&path, body).await.validation();
        assert_error_at(&detail, json!(["body", field]), "enum");
    }
    let detail = alice.put(&path, json!({"due_date": 5})).await.validation();
    assert_error_at(&detail, json!(["body", "due_date"]), "datetime_type");
    // Nothing changed.
    assert_eq!(
        alice.get(&path).await.good(StatusCode::OK)["updated_at"],
        task["updated_at"]
    );
}

async fn rest_query_errors_at_query(app: TestApp) {
    let alice = app.user("alice");
    let long = "a".repeat(1001);
    let nul = "a%00b".to_owned();
    let cases: Vec<(String, &str, &str)> = vec![
        ("?priority=urgent".into(), "priority", "enum"),
        ("?category=fun".into(), "category", "enum"),
        ("?due_before=soon".into(), "due_before", "datetime_parsing"),
        (
            "?due_after=2026-13-01T00:00:00Z".into(),
            "due_after",
            "datetime_parsing",
        ),
        ("?overdue=maybe".into(), "overdue", "bool_parsing"),
        ("?limit=abc".into(), "limit", "int_parsing"),
        ("?limit=0".into(), "limit", "greater_than_equal"),
        ("?limit=201".into(), "limit", "less_than_equal"),
        ("?limit=5&cursor=nonsense".into(), "cursor", "value_error"),
        (format!("?search={long}"), "search", "string_too_long"),
        (format!("?search={nul}"), "search", "value_error"),
    ];
    for (query, name, kind) in cases {
        let detail = alice.get(&alice.tasks_path(&query)).await.validation();
        assert_error_at(&detail, json!(["query", name]), kind);
    }
    let detail = alice
        .get(&alice.tasks_path("?priority=urgent"))
        .await
        .validation();
    assert_eq!(
        detail[0],
        json!({"type": "enum", "loc": ["query", "priority"],
               "msg": "Input should be 'high', 'medium', 'low' or 'none'", "input": "urgent",
               "ctx": {"expected": "'high', 'medium', 'low' or 'none'"}})
    );
    // A cursor made for one order is refused for another.
    for n in 0..3 {
        alice.create_task(&format!("t{n}")).await;
    }
    let first = alice.get(&alice.tasks_path("?limit=1")).await;
    let next = next_link(&first).expect("a next page");
    let cursor = next.split("cursor=").nth(1).unwrap().to_owned();
    let detail = alice
        .get(&alice.tasks_path(&format!("?limit=1&sort=title&cursor={cursor}")))
        .await
        .validation();
    assert_error_at(&detail, json!(["query", "cursor"]), "value_error");
    let detail = alice
        .get(&alice.tasks_path(&format!("?limit=1&order=asc&cursor={cursor}")))
        .await
        .validation();
    assert_error_at(&detail, json!(["query", "cursor"]), "value_error");
}

async fn rest_filters_combine(app: TestApp) {
    let alice = app.user("alice");
    let a = create(
        &alice,
        json!({"title": "a", "priority": "high", "category": "work",
               "due_date": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let b = create(
        &alice,
        json!({"title": "b", "priority": "high", "category": "personal",
               "due_date": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let c = create(
        &alice,
        json!({"title": "c", "priority": "low", "category": "work",
               "due_date": "2021-06-01T00:00:00Z"}),
    )
    .await;
    let d = create(&alice, json!({"title": "d"})).await;
    let id = |t: &Value| t["id"].as_i64().unwrap();
    // c is overdue by date but completed: not overdue.
    alice
        .patch(&alice.tasks_path(&format!("/{}/complete", id(&c))))
        .await
        .good(StatusCode::OK);

    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("?priority=high", vec![id(&a), id(&b)]),
        ("?priority=none", vec![id(&d)]),
        ("?category=work", vec![id(&a), id(&c)]),
        ("?category=work&priority=high", vec![id(&a)]),
        ("?category=work&status=completed", vec![id(&c)]),
        ("?category=shopping", vec![]),
        ("?due_before=2022-01-01T00:00:00Z", vec![id(&a), id(&c)]),
        ("?due_after=2021-06-01T00:00:00Z", vec![id(&b)]),
        (
            "?due_after=2019-12-31T23:00:00-01:00&due_before=2021-06-01T00:00:00.000001Z",
            vec![id(&c)],
        ),
        // An unescaped `+` offset (decoded as a space) is still understood.
        ("?due_before=2020-01-01T01:00:00+01:00", vec![]),
        ("?due_before=2020-01-01T01:00:01+01:00", vec![id(&a)]),
        ("?overdue=true", vec![id(&a)]),
        ("?overdue=false", vec![id(&a), id(&b), id(&c), id(&d)]),
        ("?overdue=true&priority=low", vec![]),
        ("?status=pending&priority=high", vec![id(&a), id(&b)]),
    ];
    for (query, expected) in cases {
        let got = sorted(ids(&list(&alice, query).await));
        assert_eq!(got, sorted(expected), "{query}");
    }
}

async fn search_is_literal_and_case_insensitive_for_any_letter(app: TestApp) {
    let alice = app.user("alice");
    let make = |title: &'static str, description: Option<&'static str>| {
        let alice = &alice;
        async move {
            create(alice, json!({"title": title, "description": description})).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let milk = make("Buy MILK", None).await;
    let desc = make("Errand", Some("oat milk, 2 litres")).await;
    let percent = make("Save 100% more", None).await;
    let hundred = make("Save 1000 more", None).await;
    let underscore = make("snake_case name", None).await;
    let snake = make("snakeXcase name", None).await;
    let backslash = make("path C:\\temp", None).await;
    let plain_path = make("path C:temp", None).await;
    let ecole = make("ÉCOLE", Some("Über alles")).await;
    let cyrillic = make("Купить МОЛОКО", None).await;
    let quote = make("it's 'quoted'", None).await;
    let _ = (hundred, snake, plain_path);

    let search = |needle: &str| {
        let query = format!(
            "?search={}",
            url::form_urlencoded::byte_serialize(needle.as_bytes()).collect::<String>()
        );
        let alice = &alice;
        async move {
            let mut got = ids(&list(alice, &query).await);
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    assert_eq!(search("milk").await, sorted(vec![milk, desc]));
    assert_eq!(search("MiLk").await, sorted(vec![milk, desc]));
    assert_eq!(search("100%").await, vec![percent], "% matches itself");
    assert_eq!(search("%").await, vec![percent]);
    assert_eq!(search("_").await, vec![underscore], "_ matches itself");
    assert_eq!(search("e_c").await, vec![underscore]);
    assert_eq!(search("\\").await, vec![backslash], "\\ matches itself");
    assert_eq!(search("c:\\t").await, vec![backslash]);
    assert_eq!(search("école").await, vec![ecole], "non-ASCII folds too");
    assert_eq!(search("ÜBER").await, vec![ecole], "in the description too");
    assert_eq!(search("молоко").await, vec![cyrillic]);
    assert_eq!(search("'quoted'").await, vec![quote]);
    assert_eq!(search("nothing like it").await, Vec::<i64>::new());
    assert_eq!(search("").await.len(), 11, "empty search is no filter");

    // Changing the description re-keys it; clearing it drops it from the search.
    let path = alice.tasks_path(&format!("/{desc}"));
    alice
        .put(&path, json!({"description": "SOY MILK"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(search("soy").await, vec![desc]);
    alice
        .put(&path, json!({"description": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(search("soy").await, Vec::<i64>::new());
    // Combined with the other filters.
    assert_eq!(
        ids(&list(&alice, "?search=milk&status=completed").await),
        Vec::<i64>::new()
    );

    let data = alice
        .graphql_data(
            "query($s: String) { tasks(search: $s, sort: TITLE, order: ASC) { title } }",
            json!({"s": "É"}),
        )
        .await;
    let got: Vec<&str> = data["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["ÉCOLE"]);
}

async fn rest_sorts(app: TestApp) {
    let alice = app.user("alice");
    let specs = [
        ("n1", "none", None),
        ("h1", "high", Some("2026-12-03T00:00:00Z")),
        ("l1", "low", Some("2026-12-01T00:00:00Z")),
        ("m1", "medium", None),
        ("h2", "high", Some("2026-12-02T00:00:00Z")),
    ];
    for (title, priority, due) in specs {
        create(
            &alice,
            json!({"title": title, "priority": priority, "due_date": due}),
        )
        .await;
    }
    let done = list(&alice, "?sort=title").await;
    // Titles A→Z: h1, h2, l1, m1, n1.
    let l1 = done.as_array().unwrap()[2]["id"].as_i64().unwrap();
    alice
        .patch(&alice.tasks_path(&format!("/{l1}/complete")))
        .await
        .good(StatusCode::OK);

    let cases = [
        ("?sort_by=priority", vec!["h2", "h1", "m1", "l1", "n1"]),
        (
            "?sort_by=priority&order=desc",
            vec!["h2", "h1", "m1", "l1", "n1"],
        ),
        (
            "?sort=priority&order=asc",
            vec!["n1", "l1", "m1", "h1", "h2"],
        ),
        ("?sort_by=due_date", vec!["l1", "h2", "h1", "n1", "m1"]),
        ("?sort=due&order=asc", vec!["l1", "h2", "h1", "n1", "m1"]),
        ("?sort=due&order=desc", vec!["h1", "h2", "l1", "m1", "n1"]),
        ("?sort=status", vec!["n1", "h1", "m1", "h2", "l1"]),
        (
            "?sort_by=status&order=desc",
            vec!["l1", "h2", "m1", "h1", "n1"],
        ),
        ("?sort=due&priority=high", vec!["h2", "h1"]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&list(&alice, query).await), expected, "{query}");
    }
}

/// The `Link: <…>; rel="next"` target of a response, if any.
fn next_link(response: &crate::common::TestResponse) -> Option<String> {
    let link = response.header("link")?;
    let (target, rel) = link.split_once(">; ")?;
    assert_eq!(rel, "rel=\"next\"", "{link}");
    Some(target.trim_start_matches('<').to_owned())
}

async fn rest_pages_walk_with_link_and_total(app: TestApp) {
    let alice = app.user("alice");
    let mut created = Vec::new();
    for n in 0..7 {
        let priority = ["high", "low", "none"][n % 3];
        created.push(
            create(
                &alice,
                json!({"title": format!("t{n}"), "priority": priority}),
            )
            .await,
        );
    }
    // Without limit: the bare array, no paging headers.
    let whole = alice.get(&alice.tasks_path("")).await;
    assert!(whole.header("link").is_none() && whole.header("x-total-count").is_none());

    for query in [
        "?limit=3",
        "?limit=2&sort=title&order=desc",
        "?limit=1&sort_by=priority&status=all",
        "?limit=3&priority=high",
        "?limit=200",
    ] {
        let unpaged: Vec<&str> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.starts_with("limit="))
            .collect();
        let expected = ids(&list(&alice, &format!("?{}", unpaged.join("&"))).await);
        let mut seen = Vec::new();
        let mut path = alice.tasks_path(query);
        let mut pages = 0;
        loop {
            let response = alice.get(&path).await;
            let page = response.good(StatusCode::OK);
            assert!(page.is_array(), "the body stays a plain array");
            assert_eq!(
                response.header("x-total-count"),
                Some(expected.len().to_string().as_str()),
                "{query}"
            );
            seen.extend(ids(&page));
            pages += 1;
            match next_link(&response) {
                Some(next) => {
                    assert!(next.starts_with("/api/alice/tasks?"), "{next}");
                    path = next;
                }
                None => break,
            }
            assert!(pages < 20, "the walk ends");
        }
        assert_eq!(
            seen, expected,
            "{query}: the pages put together are the list"
        );
    }
    // The trailing-slash path pages too, and its links keep it.
    let response = alice.get(&alice.tasks_path("/?limit=5")).await;
    assert!(
        next_link(&response)
            .unwrap()
            .starts_with("/api/alice/tasks/?")
    );
    // A cursor alone pages on (200 at a time).
    let next = next_link(&response).unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    let rest = alice
        .get(&alice.tasks_path(&format!("?cursor={cursor}")))
        .await;
    assert_eq!(ids(&rest.good(StatusCode::OK)).len(), 2);
    assert_eq!(rest.header("x-total-count"), Some("7"));
    assert!(rest.header("link").is_none());
    // An empty list is one empty page.
    let bob = app.user("bob");
    let empty = bob.get(&bob.tasks_path("?limit=5")).await;
    assert_eq!(empty.good(StatusCode::OK), json!([]));
    assert_eq!(empty.header("x-total-count"), Some("0"));
    assert!(empty.header("link").is_none());
}

const PRIORITIES: [&str; 4] = ["high", "low", "none", "medium"];

/// Walks pages of `order` while another future creates tasks and deletes the "doomed" ones;
/// every task that existed throughout must be seen exactly once, and nothing twice.
async fn walk_while_changing<F, Fut>(alice: &UserClient<'_>, sort_args: &str, walk: F)
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = (Vec<i64>, Option<String>)>,
{
    let mut stable = HashSet::new();
    let mut doomed = Vec::new();
    for n in 0..24 {
        let due = (n % 4 != 0).then(|| format!("2026-12-{:02}T00:00:00Z", 1 + n % 5));
        let task = create(
            alice,
            json!({"title": format!("Task {:02}", (n * 7) % 24), "priority": PRIORITIES[n % 4],
                   "due_date": due}),
        )
        .await;
        let id = task["id"].as_i64().unwrap();
        if n % 3 == 0 {
            doomed.push(id);
        } else {
            stable.insert(id);
        }
    }
    let changer = async {
        for (n, id) in doomed.iter().enumerate() {
            let due = (n % 2 == 0).then_some("2026-12-02T00:00:00Z");
            create(
                alice,
                json!({"title": format!("Task {n:02} new"), "priority": "medium", "due_date": due}),
            )
            .await;
            let gone = alice.delete(&alice.tasks_path(&format!("/{id}"))).await;
            assert_eq!(gone.status, StatusCode::NO_CONTENT);
            tokio::task::yield_now().await;
        }
    };
    let walker = async {
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..100 {
            let (page, next) = walk(after).await;
            seen.extend(page);
            match next {
                Some(next) => after = Some(next),
                None => return seen,
            }
        }
        panic!("the walk never ended");
    };
    let ((), seen) = tokio::join!(changer, walker);
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "{sort_args}: a task came twice: {seen:?}"
    );
    for id in &stable {
        assert!(unique.contains(id), "{sort_args}: task {id} was skipped");
    }
}

/// Runs `walk` for each of `orders` (with its index), all at once.
async fn all_at_once<'a, Fut: Future<Output = ()>>(
    orders: &[&'a str],
    walk: impl Fn(usize, &'a str) -> Fut,
) {
    let walks = orders.iter().enumerate().map(|(n, order)| walk(n, order));
    futures::future::join_all(walks).await;
}

/// Each sort order is walked by a user of its own, all at once (one after another they took
/// 5 to 8 s): each walk still races its own user's changes.
async fn rest_pages_stay_exact_while_tasks_come_and_go(app: TestApp) {
    let orders = [
        "sort=created",
        "sort=title&order=asc",
        "sort_by=priority",
        "sort=due&order=asc",
        "sort=due&order=desc",
        "sort_by=status",
        "sort=updated&order=asc",
    ];
    let app = &app;
    all_at_once(&orders, |n, sort_args| async move {
        let user = &app.user(&format!("walker{n}"));
        walk_while_changing(user, sort_args, |after: Option<String>| async move {
            let path = match after {
                Some(next) => next,
                None => user.tasks_path(&format!("?limit=4&{sort_args}")),
            };
            let response = user.get(&path).await;
            (ids(&response.good(StatusCode::OK)), next_link(&response))
        })
        .await;
    })
    .await;
}

async fn stats_on_both_apis(app: TestApp) {
    let alice = app.user("alice");
    let empty = alice
        .get(&alice.tasks_path("/stats"))
        .await
        .good(StatusCode::OK);
    assert_eq!(
        empty,
        json!({"total": 0, "pending": 0, "completed": 0, "overdue": 0,
               "by_priority": {"high": 0, "medium": 0, "low": 0, "none": 0},
               "by_category": {"work": 0, "personal": 0, "shopping": 0, "health": 0, "other": 0}})
    );
    create(&alice, json!({"title": "a", "priority": "high", "category": "work", "due_date": "2020-01-01T00:00:00Z"})).await;
    create(&alice, json!({"title": "b", "priority": "high", "category": "work", "due_date": "2099-01-01T00:00:00Z"})).await;
    let c = create(&alice, json!({"title": "c", "priority": "low", "category": "health", "due_date": "2020-01-01T00:00:00Z"})).await;
    create(&alice, json!({"title": "d", "category": "shopping"})).await;
    create(
        &alice,
        json!({"title": "e", "priority": "medium", "due_date": "2021-01-01T00:00:00Z"}),
    )
    .await;
    alice
        .patch(&alice.tasks_path(&format!("/{}/complete", c["id"])))
        .await
        .good(StatusCode::OK);
    // Bob's tasks never count for alice.
    let bob = app.user("bob");
    create(
        &bob,
        json!({"title": "x", "priority": "high", "due_date": "2020-01-01T00:00:00Z"}),
    )
    .await;

    let expected = json!({"total": 5, "pending": 4, "completed": 1, "overdue": 2,
        "by_priority": {"high": 2, "medium": 1, "low": 1, "none": 1},
        "by_category": {"work": 2, "personal": 0, "shopping": 1, "health": 1, "other": 1}});
    assert_eq!(
        alice
            .get(&alice.tasks_path("/stats/"))
            .await
            .good(StatusCode::OK),
        expected
    );
    let data = alice
        .graphql_data(
            "{ taskStats { total pending completed overdue
                 byPriority { high medium low none }
                 byCategory { work personal shopping health other } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["taskStats"],
        json!({"total": 5, "pending": 4, "completed": 1, "overdue": 2,
            "byPriority": {"high": 2, "medium": 1, "low": 1, "none": 1},
            "byCategory": {"work": 2, "personal": 0, "shopping": 1, "health": 1, "other": 1}})
    );
    // Stats is a fixed path, not a task id; other methods on it are not a task route.
    let put = alice
        .put(&alice.tasks_path("/stats"), json!({"title": "x"}))
        .await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    app.user("bob").get("/api/alice/tasks/stats").await.detail(
        StatusCode::FORBIDDEN,
        "Not authorized to access this user's tasks",
    );
}

async fn graphql_fields_filters_and_sorts(app: TestApp) {
    let alice = app.user("alice");
    let query = format!(
        "mutation($input: CreateTaskInput!) {{ createTask(input: $input) {{ {FIELDS} }} }}"
    );
    let created = alice
        .graphql_data(
            &query,
            json!({"input": {"title": "g", "priority": "HIGH", "category": "SHOPPING",
                              "dueDate": "2026-12-24T18:00:00+01:00"}}),
        )
        .await["createTask"]
        .clone();
    assert_eq!(created["priority"], "HIGH");
    assert_eq!(created["category"], "SHOPPING");
    assert_eq!(created["dueDate"], "2026-12-24T17:00:00.000000Z");
    assert_eq!(created["completedAt"], Value::Null);
    let id = created["id"].as_str().unwrap().to_owned();
    let plain = alice
        .graphql_data(&query, json!({"input": {"title": "p"}}))
        .await["createTask"]
        .clone();
    assert_eq!(plain["priority"], "NONE");
    assert_eq!(plain["category"], "OTHER");

    // REST sees the same task.
    let rest = alice
        .get(&alice.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(rest["priority"], "high");
    assert_eq!(rest["due_date"], "2026-12-24T17:00:00.000000Z");

    let update = format!(
        "mutation($id: ID!, $input: UpdateTaskInput!) {{ updateTask(id: $id, input: $input) {{ {FIELDS} }} }}"
    );
    let changed = alice
        .graphql_data(&update, json!({"id": id, "input": {"priority": "LOW"}}))
        .await["updateTask"]
        .clone();
    assert_eq!(changed["priority"], "LOW");
    assert_eq!(changed["category"], "SHOPPING");
    assert_eq!(changed["dueDate"], created["dueDate"]);
    let cleared = alice
        .graphql_data(&update, json!({"id": id, "input": {"dueDate": null}}))
        .await["updateTask"]
        .clone();
    assert_eq!(cleared["dueDate"], Value::Null);
    for input in [json!({"priority": null}), json!({"category": null})] {
        let body = alice
            .graphql(&update, json!({"id": id, "input": input}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
    let body = alice
        .graphql(
            &update,
            json!({"id": id, "input": {"dueDate": "next week"}}),
        )
        .await;
    assert!(body["errors"].is_array(), "{body}");
    let body = alice
        .graphql(&update, json!({"id": id, "input": {"priority": "URGENT"}}))
        .await;
    assert!(body["errors"].is_array(), "{body}");

    alice
        .graphql_data(
            &update,
            json!({"id": plain["id"], "input": {"dueDate": "2020-01-01T00:00:00Z", "category": "WORK"}}),
        )
        .await;
    let titles_of = |data: &Value| -> Vec<String> {
        data["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases = [
        ("priority: LOW", vec!["g"]),
        ("category: WORK", vec!["p"]),
        ("overdue: true", vec!["p"]),
        ("dueBefore: \"2021-01-01T00:00:00Z\"", vec!["p"]),
        ("dueAfter: \"2021-01-01T00:00:00Z\"", vec![]),
        ("search: \"G\"", vec!["g"]),
        ("sort: PRIORITY", vec!["g", "p"]),
        ("sort: PRIORITY, order: ASC", vec!["p", "g"]),
        ("sort: DUE_DATE, order: ASC", vec!["p", "g"]),
        ("sort: DUE_DATE, order: DESC", vec!["p", "g"]),
        ("sort: STATUS, order: ASC", vec!["g", "p"]),
        ("status: PENDING, priority: NONE, category: WORK", vec!["p"]),
    ];
    for (args, expected) in cases {
        let data = alice
            .graphql_data(&format!("{{ tasks({args}) {{ title }} }}"), json!({}))
            .await;
        assert_eq!(titles_of(&data), expected, "{args}");
    }
    let body = alice
        .graphql(
            &format!("{{ tasks(search: \"{}\") {{ id }} }}", "x".repeat(1001)),
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "search");
}

async fn connection_page(user: &UserClient<'_>, args: &str, after: Option<String>) -> Value {
    let query = format!(
        "query($after: String) {{ tasksConnection({args}, after: $after) {{
            edges {{ cursor node {{ id title }} }} nodes {{ id }}
            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} totalCount }} }}"
    );
    user.graphql_data(&query, json!({"after": after})).await["tasksConnection"].clone()
}

async fn graphql_connection_walk_and_errors(app: TestApp) {
    let alice = app.user("alice");
    for n in 0..5 {
        alice.create_task(&format!("c{n}")).await;
    }
    let all: Vec<String> = alice
        .graphql_data("{ tasks(sort: TITLE, order: ASC) { id } }", json!({}))
        .await["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = connection_page(&alice, "first: 2, sort: TITLE, order: ASC", after).await;
        assert_eq!(page["totalCount"], 5);
        let edges = page["edges"].as_array().unwrap();
        let nodes = page["nodes"].as_array().unwrap();
        assert_eq!(edges.len(), nodes.len());
        for (edge, node) in edges.iter().zip(nodes) {
            assert_eq!(edge["node"]["id"], node["id"]);
            seen.push(node["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
        assert_eq!(page["pageInfo"]["startCursor"], edges[0]["cursor"]);
        assert_eq!(
            page["pageInfo"]["endCursor"],
            edges.last().unwrap()["cursor"]
        );
        if page["pageInfo"]["hasNextPage"] == true {
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        } else {
            break;
        }
    }
    assert_eq!(seen, all);
    // The default page is 50 (its complexity counts 50 of each selected task field);
    // `first: 0` is an empty page that still says what follows.
    let page = alice
        .graphql_data(
            "{ tasksConnection { nodes { id } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await["tasksConnection"]
        .clone();
    assert_eq!(page["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    let body = alice
        .graphql(
            "{ tasksConnection(first: 200) { nodes { id title description } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"], "Query is too complex.",
        "the page size counts in the complexity: {body}"
    );
    let page = connection_page(&alice, "first: 0", None).await;
    assert_eq!(page["nodes"], json!([]));
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["endCursor"], Value::Null);
    // Filters apply, and the total counts the filtered tasks.
    let page = connection_page(&alice, "first: 1, search: \"C3\"", None).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["edges"][0]["node"]["title"], "c3");

    for (args, field) in [
        ("first: 201", "first"),
        ("first: -1", "first"),
        ("first: 1, after: \"garbage\"", "after"),
    ] {
        let body = alice
            .graphql(
                &format!("{{ tasksConnection({args}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{args}: {body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{args}");
    }
    // A cursor of one order is refused for another.
    let page = connection_page(&alice, "first: 1, sort: TITLE", None).await;
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap();
    let body = alice
        .graphql(
            "query($a: String) { tasksConnection(first: 1, sort: CREATED_AT, after: $a) { totalCount } }",
            json!({"a": cursor}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");
}

/// As `rest_pages_stay_exact_while_tasks_come_and_go`, all sort orders at once.
async fn graphql_connection_stays_exact_while_tasks_come_and_go(app: TestApp) {
    let orders = [
        "sort: CREATED_AT",
        "sort: TITLE, order: ASC",
        "sort: PRIORITY",
        "sort: DUE_DATE, order: ASC",
        "sort: DUE_DATE, order: DESC",
    ];
    let app = &app;
    all_at_once(&orders, |n, args| async move {
        let user = &app.user(&format!("gwalker{n}"));
        walk_while_changing(user, args, |after: Option<String>| async move {
            let page = connection_page(user, &format!("first: 4, {args}"), after).await;
            let ids = page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().parse().unwrap())
                .collect();
            let next = (page["pageInfo"]["hasNextPage"] == true)
                .then(|| page["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
            (ids, next)
        })
        .await;
    })
    .await;
}

async fn graphql_clear_completed(app: TestApp) {
    let alice = app.user("alice");
    let mut done = Vec::new();
    for n in 0..4 {
        let task = alice.create_task(&format!("t{n}")).await;
        if n % 2 == 0 {
            let id = task["id"].as_i64().unwrap();
            alice
                .patch(&alice.tasks_path(&format!("/{id}/complete")))
                .await
                .good(StatusCode::OK);
            done.push(id.to_string());
        }
    }
    let data = alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    let mut cleared: Vec<String> = data["clearCompleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    cleared.sort();
    done.sort();
    assert_eq!(cleared, done);
    let left = list(&alice, "").await;
    assert_eq!(left.as_array().unwrap().len(), 2);
    assert!(
        left.as_array()
            .unwrap()
            .iter()
            .all(|t| t["completed"] == false)
    );
    let again = alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    assert_eq!(again["clearCompleted"], json!([]));
}

/// A row whose stored key is wiped (as rows from before the key existed had none) is still
/// found, across a restart: PostgreSQL's trigger re-keys it in the same statement, SQLite does
/// not read stored keys (migration 000011; `tests/it/search_keys.rs` covers other writers).
async fn a_wiped_search_key_hides_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Postgres => match crate::common::pg::TempDatabase::migrated().await {
            Some(db) => Some(db),
            None => return,
        },
        Backend::Sqlite => None,
    };
    let url = match &pg {
        Some(db) => db.url.clone(),
        None => crate::common::template::sqlite_url(dir.path()),
    };
    let id = {
        let app = TestApp::builder(backend)
            .database_url(&url)
            .start()
            .await
            .unwrap();
        let alice = app.user("alice");
        create(&alice, json!({"title": "old", "description": "ÉCOLE Über"})).await["id"]
            .as_i64()
            .unwrap()
    };
    // As a row from before the key existed: none.
    let forget = "UPDATE tasks SET description_key = NULL";
    match &pg {
        Some(_) => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(forget).await.unwrap();
        }
        None => {
            use diesel::{Connection, RunQueryDsl, SqliteConnection};
            let path = dir.path().join("todo.db");
            let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            // The first server's pool may still be closing its connections.
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(&mut conn)
                .unwrap();
            diesel::sql_query(forget).execute(&mut conn).unwrap();
        }
    }
    let app = TestApp::builder(backend)
        .database_url(&url)
        .start()
        .await
        .unwrap();
    let alice = app.user("alice");
    assert_eq!(ids(&list(&alice, "?search=%C3%A9cole").await), vec![id]);
    assert_eq!(ids(&list(&alice, "?search=%C3%BCBER").await), vec![id]);
}
