//! Tags (issue 21), on both backends and through both APIs: set, replace and clear them in
//! the order given; their validation (how many, how long, blank, duplicates ignoring case);
//! the `tag` / `any_tag` (`tags` / `anyTags`) filters with other filters and paged totals;
//! the per-user counts; rename (merging) and delete across tasks, with versions, events and
//! sync seeing each change; URL-encoded names; idempotency keys; the per-user cap; and
//! another user's tags never seen or changed.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::live;
use crate::common::{Backend, TestApp, UserClient, assert_error_at};

backend_tests!(
    rest_tags_are_set_replaced_cleared_and_kept_in_order,
    rest_tags_are_validated,
    graphql_tags_are_set_and_validated,
    filters_all_and_any_ignore_case_and_combine_with_paging,
    tag_counts_rest_and_graphql,
    rest_rename_merges_and_delete_removes_with_counts_and_versions,
    graphql_rename_and_delete,
    names_in_the_path_are_percent_decoded,
    rename_and_delete_reach_events_and_sync,
    rename_and_delete_take_idempotency_keys,
    deleted_tasks_take_their_tags_with_them,
    another_users_tags_are_never_seen_or_changed,
    openapi_documents_the_tag_routes_and_filters
);

backend_cases!(the_per_user_tag_cap_refuses_one_more);

fn tags_path(user: &UserClient<'_>, suffix: &str) -> String {
    format!("/api/{}/tags{suffix}", user.user)
}

/// Creates a task with these tags through REST; returns it.
async fn tagged(user: &UserClient<'_>, title: &str, tags: &[&str]) -> Value {
    user.post(&user.tasks_path(""), json!({"title": title, "tags": tags}))
        .await
        .good(StatusCode::CREATED)
}

async fn task(user: &UserClient<'_>, id: &Value) -> Value {
    user.get(&user.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK)
}

/// The titles a list request answers with, in order.
async fn titles(user: &UserClient<'_>, query: &str) -> Vec<String> {
    let list = user
        .get(&user.tasks_path(&format!("?sort=title&{query}")))
        .await
        .good(StatusCode::OK);
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn rest_tags_are_set_replaced_cleared_and_kept_in_order(app: TestApp) {
    let alice = app.user("alice");
    // A legacy client's task has no tags.
    assert_eq!(alice.create_task("plain").await["tags"], json!([]));
    let none = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "null", "tags": null}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_eq!(none["tags"], json!([]));

    let created = tagged(&alice, "t", &[" Work ", "home", "Ünï", "a"]).await;
    assert_eq!(created["tags"], json!(["Work", "home", "Ünï", "a"]));
    let id = &created["id"];
    assert_eq!(
        task(&alice, id).await["tags"],
        json!(["Work", "home", "Ünï", "a"])
    );

    let path = alice.tasks_path(&format!("/{id}"));
    let replaced = alice
        .put(&path, json!({"tags": ["z", "b", "y"]}))
        .await
        .good(StatusCode::OK);
    assert_eq!(replaced["tags"], json!(["z", "b", "y"]));
    assert_eq!(replaced["version"], 2);
    // Absent: unchanged.
    let titled = alice
        .put(&path, json!({"title": "t2"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(titled["tags"], json!(["z", "b", "y"]));
    // `null` cannot clear them: 422, nothing written.
    let refused = alice.put(&path, json!({"tags": null})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error_at(&refused.validation(), json!(["body", "tags"]), "list_type");
    let cleared = alice
        .put(&path, json!({"tags": []}))
        .await
        .good(StatusCode::OK);
    assert_eq!(cleared["tags"], json!([]));
    assert_eq!(cleared["version"], 4);
    assert!(titles(&alice, "tag=z").await.is_empty());
}

async fn rest_tags_are_validated(app: TestApp) {
    let alice = app.user("alice");
    let create = async |tags: Value| {
        alice
            .post(&alice.tasks_path(""), json!({"title": "v", "tags": tags}))
            .await
    };
    let refused = async |tags: Value, loc: Value, kind: &str| {
        let response = create(tags).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            response.text
        );
        assert_error_at(&response.validation(), loc, kind);
        response
    };
    let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    refused(json!(many), json!(["body", "tags"]), "too_long").await;
    let long = "x".repeat(51);
    refused(
        json!(["ok", long]),
        json!(["body", "tags", 1]),
        "string_too_long",
    )
    .await;
    refused(
        json!(["ok", "   "]),
        json!(["body", "tags", 1]),
        "string_too_short",
    )
    .await;
    refused(json!([""]), json!(["body", "tags", 0]), "string_too_short").await;
    let dup = refused(
        json!(["Work", "home", "WORK"]),
        json!(["body", "tags", 2]),
        "value_error",
    )
    .await;
    assert!(
        dup.text.contains("WORK") && dup.text.contains("Work"),
        "{}",
        dup.text
    );
    refused(json!([1]), json!(["body", "tags", 0]), "string_type").await;
    refused(json!("work"), json!(["body", "tags"]), "list_type").await;
    // Nothing was created by any of those.
    assert_eq!(titles(&alice, "").await, Vec::<String>::new());

    // The limits themselves pass: 20 tags of 50 characters (after trimming).
    let most: Vec<String> = (0..20).map(|i| format!(" {:0>50} ", i)).collect();
    let created = create(json!(most)).await.good(StatusCode::CREATED);
    assert_eq!(created["tags"].as_array().unwrap().len(), 20);
    assert_eq!(created["tags"][3], json!(format!("{:0>50}", 3)));

    // The same rules on update.
    let path = alice.tasks_path(&format!("/{}", created["id"]));
    let response = alice.put(&path, json!({"tags": ["a", "A"]})).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error_at(
        &response.validation(),
        json!(["body", "tags", 1]),
        "value_error",
    );
    assert_eq!(task(&alice, &created["id"]).await["version"], 1);
}

async fn graphql_tags_are_set_and_validated(app: TestApp) {
    let alice = app.user("alice");
    let created = alice
        .graphql_data(
            "mutation { createTask(input: {title: \"g\", tags: [\" b \", \"A\"]}) { id tags version } }",
            json!({}),
        )
        .await;
    let task = &created["createTask"];
    assert_eq!(task["tags"], json!(["b", "A"]));
    let update = "mutation($id: ID!, $tags: [String!]) { updateTask(id: $id, input: {tags: $tags}) { tags version } }";
    let id = task["id"].clone();
    let updated = alice
        .graphql_data(update, json!({"id": id, "tags": ["c", "b"]}))
        .await;
    assert_eq!(
        updated["updateTask"],
        json!({"tags": ["c", "b"], "version": 2})
    );
    let code = |body: &Value| body["errors"][0]["extensions"]["code"].clone();
    let null = alice.graphql(update, json!({"id": id, "tags": null})).await;
    assert_eq!(code(&null), "BAD_USER_INPUT", "{null}");
    let dup = alice
        .graphql(update, json!({"id": id, "tags": ["x", "X"]}))
        .await;
    assert_eq!(code(&dup), "BAD_USER_INPUT", "{dup}");
    assert_eq!(dup["errors"][0]["extensions"]["field"], "tags.1", "{dup}");
    let long = alice
        .graphql(update, json!({"id": id, "tags": ["y".repeat(51)]}))
        .await;
    assert_eq!(code(&long), "BAD_USER_INPUT", "{long}");
    let cleared = alice
        .graphql_data(update, json!({"id": id, "tags": []}))
        .await;
    assert_eq!(cleared["updateTask"], json!({"tags": [], "version": 3}));
}

async fn filters_all_and_any_ignore_case_and_combine_with_paging(app: TestApp) {
    let alice = app.user("alice");
    tagged(&alice, "a", &["work", "urgent"]).await;
    tagged(&alice, "b", &["Work"]).await;
    let c = tagged(&alice, "c", &["home", "URGENT"]).await;
    tagged(&alice, "d", &[]).await;
    let e = tagged(&alice, "e", &["wörk", "urgent"]).await;
    alice
        .patch(&alice.tasks_path(&format!("/{}/complete", e["id"])))
        .await
        .good(StatusCode::OK);

    assert_eq!(titles(&alice, "tag=WORK").await, ["a", "b"]);
    assert_eq!(titles(&alice, "tag=%20work%20").await, ["a", "b"]);
    assert_eq!(titles(&alice, "tag=work&tag=Urgent").await, ["a"]);
    assert_eq!(titles(&alice, "tag=w%C3%96RK").await, ["e"]);
    assert_eq!(
        titles(&alice, "any_tag=home&any_tag=WORK").await,
        ["a", "b", "c"]
    );
    assert_eq!(titles(&alice, "any_tag=urgent&tag=home").await, ["c"]);
    assert_eq!(
        titles(&alice, "tag=urgent&status=pending").await,
        ["a", "c"]
    );
    assert_eq!(titles(&alice, "tag=urgent&search=c").await, ["c"]);
    assert!(titles(&alice, "tag=nobody").await.is_empty());

    // Paged: the total counts over all pages with the same filters; the next page keeps them.
    let first = alice
        .get(&alice.tasks_path("?sort=title&any_tag=urgent&limit=2"))
        .await;
    assert_eq!(first.header("x-total-count"), Some("3"));
    let page: Vec<Value> = first.good(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(page.len(), 2);
    let link = first.header("link").expect("a next page").to_owned();
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    assert!(next.contains("any_tag=urgent"), "{next}");
    let rest = alice.get(&next).await;
    assert_eq!(rest.header("x-total-count"), Some("3"));
    assert_eq!(rest.good(StatusCode::OK)[0]["id"], e["id"]);

    // GraphQL: the same filters on both lists.
    let data = alice
        .graphql_data(
            "{ all: tasks(sort: TITLE, order: ASC, tags: [\"work\", \"URGENT\"]) { title } \
               any: tasks(sort: TITLE, order: ASC, anyTags: [\"home\", \"WORK\"]) { title } \
               page: tasksConnection(first: 1, anyTags: [\"urgent\"], status: PENDING) { totalCount nodes { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["all"], json!([{"title": "a"}]));
    assert_eq!(
        data["any"],
        json!([{"title": "a"}, {"title": "b"}, {"title": "c"}])
    );
    assert_eq!(data["page"]["totalCount"], 2, "{data}");
    assert_eq!(c["tags"], json!(["home", "URGENT"]));

    // Bad filter values are 422 / BAD_USER_INPUT, naming the parameter.
    for (query, field) in [("tag=", "tag"), ("any_tag=%20", "any_tag")] {
        let response = alice.get(&alice.tasks_path(&format!("?{query}"))).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_error_at(
            &response.validation(),
            json!(["query", field]),
            "string_too_short",
        );
    }
    let long = format!("?tag={}", "x".repeat(51));
    let response = alice.get(&alice.tasks_path(&long)).await;
    assert_error_at(
        &response.validation(),
        json!(["query", "tag"]),
        "string_too_long",
    );
    let many: String = (0..51).map(|i| format!("any_tag=t{i}&")).collect();
    let response = alice.get(&alice.tasks_path(&format!("?{many}"))).await;
    assert_error_at(
        &response.validation(),
        json!(["query", "any_tag"]),
        "too_long",
    );
    let bad = alice
        .graphql("{ tasks(tags: [\"\"]) { id } }", json!({}))
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
}

async fn tag_counts_rest_and_graphql(app: TestApp) {
    let alice = app.user("alice");
    assert_eq!(
        alice.get(&tags_path(&alice, "")).await.good(StatusCode::OK),
        json!([])
    );
    tagged(&alice, "a", &["work", "urgent"]).await;
    tagged(&alice, "b", &["Zebra", "urgent"]).await;
    // Spelled "Work" on the task tagged last: the tag is named so.
    tagged(&alice, "c", &["Work", "apple"]).await;
    let expected = json!([
        {"name": "apple", "count": 1},
        {"name": "urgent", "count": 2},
        {"name": "Work", "count": 2},
        {"name": "Zebra", "count": 1},
    ]);
    assert_eq!(
        alice.get(&tags_path(&alice, "")).await.good(StatusCode::OK),
        expected
    );
    assert_eq!(
        alice
            .get(&tags_path(&alice, "/"))
            .await
            .good(StatusCode::OK),
        expected
    );
    let data = alice
        .graphql_data("{ tags { name count } }", json!({}))
        .await;
    assert_eq!(data["tags"], expected);
}

async fn rest_rename_merges_and_delete_removes_with_counts_and_versions(app: TestApp) {
    let alice = app.user("alice");
    let t1 = tagged(&alice, "1", &["work", "urgent"]).await;
    let t2 = tagged(&alice, "2", &["Work"]).await;
    let t3 = tagged(&alice, "3", &["urgent", "job"]).await;
    let t4 = tagged(&alice, "4", &["other"]).await;

    let renamed = alice
        .put(&tags_path(&alice, "/WORK"), json!({"name": " job "}))
        .await
        .good(StatusCode::OK);
    assert_eq!(renamed, json!({"changed": 2}));
    let alice_ref = &alice;
    let now = async |t: Value| task(alice_ref, &t["id"]).await;
    let (a, b, c) = (
        now(t1.clone()).await,
        now(t2.clone()).await,
        now(t3.clone()).await,
    );
    assert_eq!(
        (a["tags"].clone(), a["version"].clone()),
        (json!(["job", "urgent"]), json!(2))
    );
    assert_eq!(
        (b["tags"].clone(), b["version"].clone()),
        (json!(["job"]), json!(2))
    );
    assert_eq!(
        (c["tags"].clone(), c["version"].clone()),
        (json!(["urgent", "job"]), json!(1))
    );

    // Onto a tag the task already has: one tag, where the first of the two was.
    let merged = alice
        .put(&tags_path(&alice, "/urgent"), json!({"name": "Job"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(merged, json!({"changed": 2}));
    assert_eq!(now(t1.clone()).await["tags"], json!(["Job"]));
    assert_eq!(now(t3.clone()).await["tags"], json!(["Job"]));
    assert_eq!(now(t2.clone()).await["version"], 2, "t2 had no `urgent`");
    // The filters follow the renames.
    assert_eq!(titles(&alice, "tag=JOB").await, ["1", "2", "3"]);
    assert!(
        titles(&alice, "any_tag=work&any_tag=urgent")
            .await
            .is_empty()
    );
    let counts = alice.get(&tags_path(&alice, "")).await.good(StatusCode::OK);
    assert_eq!(
        counts,
        json!([{"name": "Job", "count": 3}, {"name": "other", "count": 1}])
    );

    // A case-only rename changes the tasks spelling it otherwise.
    let respelled = alice
        .put(&tags_path(&alice, "/job"), json!({"name": "Job"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(respelled, json!({"changed": 1}), "only t2 spelled it `job`");

    let deleted = alice
        .delete(&tags_path(&alice, "/JOB"))
        .await
        .good(StatusCode::OK);
    assert_eq!(deleted, json!({"changed": 3}));
    for t in [&t1, &t2, &t3] {
        let now = task(&alice, &t["id"]).await;
        assert_eq!(now["tags"], json!([]), "{now}");
    }
    assert_eq!(now(t4.clone()).await["version"], 1);

    // A tag nobody has: 404, for both.
    let missing = alice
        .put(&tags_path(&alice, "/job"), json!({"name": "x"}))
        .await;
    missing.detail(
        StatusCode::NOT_FOUND,
        "Tag not found: no task of yours carries it",
    );
    let missing = alice.delete(&tags_path(&alice, "/job")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The new name is checked like a task's tag.
    for (body, loc, kind) in [
        (
            json!({"name": ""}),
            json!(["body", "name"]),
            "string_too_short",
        ),
        (
            json!({"name": "x".repeat(51)}),
            json!(["body", "name"]),
            "string_too_long",
        ),
        (json!({"name": 3}), json!(["body", "name"]), "string_type"),
        (json!({}), json!(["body", "name"]), "missing"),
    ] {
        let response = alice.put(&tags_path(&alice, "/other"), body).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            response.text
        );
        assert_error_at(&response.validation(), loc, kind);
    }
    assert_eq!(now(t4).await["tags"], json!(["other"]));
}

async fn graphql_rename_and_delete(app: TestApp) {
    let alice = app.user("alice");
    let t1 = tagged(&alice, "1", &["work"]).await;
    tagged(&alice, "2", &["WORK", "home"]).await;
    let renamed = alice
        .graphql_data(
            "mutation { renameTag(from: \"Work\", to: \"home\") }",
            json!({}),
        )
        .await;
    assert_eq!(renamed["renameTag"], 2);
    assert_eq!(task(&alice, &t1["id"]).await["tags"], json!(["home"]));
    let data = alice
        .graphql_data("{ tags { name count } }", json!({}))
        .await;
    assert_eq!(data["tags"], json!([{"name": "home", "count": 2}]));
    let deleted = alice
        .graphql_data("mutation { deleteTag(name: \"HOME\") }", json!({}))
        .await;
    assert_eq!(deleted["deleteTag"], 2);
    for mutation in [
        "mutation { deleteTag(name: \"home\") }",
        "mutation { renameTag(from: \"home\", to: \"x\") }",
    ] {
        let body = alice.graphql(mutation, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{body}"
        );
    }
    tagged(&alice, "3", &["a"]).await;
    let bad = alice
        .graphql("mutation { renameTag(from: \"a\", to: \"  \") }", json!({}))
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
    assert_eq!(bad["errors"][0]["extensions"]["field"], "name", "{bad}");
}

async fn names_in_the_path_are_percent_decoded(app: TestApp) {
    let alice = app.user("alice");
    let t = tagged(&alice, "t", &["a b", "x/y", "été", "100%"]).await;
    let put = alice
        .put(&tags_path(&alice, "/a%20b"), json!({"name": "c d"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(put, json!({"changed": 1}));
    for path in ["/x%2Fy", "/%C3%89T%C3%89", "/100%25/"] {
        let deleted = alice.delete(&tags_path(&alice, path)).await;
        assert_eq!(
            deleted.good(StatusCode::OK),
            json!({"changed": 1}),
            "{path}"
        );
    }
    assert_eq!(task(&alice, &t["id"]).await["tags"], json!(["c d"]));
    assert_eq!(titles(&alice, "tag=c%20d").await, ["t"]);
    assert_eq!(titles(&alice, "tag=c+d").await, ["t"]);
}

async fn rename_and_delete_reach_events_and_sync(app: TestApp) {
    let alice = app.user("alice");
    let t1 = tagged(&alice, "1", &["work"]).await;
    let t2 = tagged(&alice, "2", &["work", "home"]).await;
    tagged(&alice, "3", &["home"]).await;
    let mut socket = live::socket(&app, "alice").await;
    live::subscribe_to(
        &mut socket,
        "1",
        "subscription { taskEvents { kind task { id version tags } } }",
    )
    .await;
    live::registered(&app, "alice", &mut socket).await;
    // After the probes: the changes start from here.
    let cursor = alice
        .get(&alice.tasks_path("/changes"))
        .await
        .good(StatusCode::OK)["cursor"]
        .clone();

    alice
        .put(&tags_path(&alice, "/work"), json!({"name": "job"}))
        .await
        .good(StatusCode::OK);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = live::next_event(&mut socket).await;
        assert_eq!(event["kind"], "UPDATED", "{event}");
        seen.push((event["task"]["id"].clone(), event["task"]["tags"].clone()));
    }
    seen.sort_by_key(|(id, _)| id.as_str().unwrap().parse::<i64>().unwrap());
    let id = |t: &Value| Value::String(t["id"].to_string());
    assert_eq!(
        seen,
        [(id(&t1), json!(["job"])), (id(&t2), json!(["job", "home"]))]
    );
    alice
        .delete(&tags_path(&alice, "/home"))
        .await
        .good(StatusCode::OK);
    for _ in 0..2 {
        let event = live::next_event(&mut socket).await;
        assert!(
            !event["task"]["tags"].to_string().contains("home"),
            "{event}"
        );
    }
    assert!(live::stays_quiet(&mut socket, Duration::from_millis(300)).await);

    let changes = alice
        .get(&alice.tasks_path(&format!("/changes?since={}", cursor.as_str().unwrap())))
        .await
        .good(StatusCode::OK);
    let mut changed: Vec<(i64, i64)> = changes["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["version"].as_i64().unwrap()))
        .collect();
    changed.sort_unstable();
    let ids: Vec<i64> = changed.iter().map(|(i, _)| *i).collect();
    assert_eq!(ids.len(), 3, "{changes}");
    assert!(ids.contains(&t1["id"].as_i64().unwrap()));
    // t2 changed twice (rename, then delete of `home`).
    let t2_now = changed
        .iter()
        .find(|(i, _)| *i == t2["id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(t2_now.1, 3);
}

async fn rename_and_delete_take_idempotency_keys(app: TestApp) {
    let alice = app.user("alice");
    let t = tagged(&alice, "t", &["work", "home"]).await;
    let auth = format!("Bearer {}", app.token("alice"));
    let send = async |method: Method, path: &str, key: &str, body: Option<Value>| {
        let mut headers = vec![("authorization", auth.as_str()), ("idempotency-key", key)];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        app.raw(
            method,
            path,
            &headers,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    };
    let path = tags_path(&alice, "/work");
    let first = send(Method::PUT, &path, "k-rename", Some(json!({"name": "job"}))).await;
    assert_eq!(first.good(StatusCode::OK), json!({"changed": 1}));
    let again = send(Method::PUT, &path, "k-rename", Some(json!({"name": "job"}))).await;
    assert_eq!(again.good(StatusCode::OK), json!({"changed": 1}));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(task(&alice, &t["id"]).await["version"], 2);
    let other = send(
        Method::PUT,
        &path,
        "k-rename",
        Some(json!({"name": "else"})),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);

    let path = tags_path(&alice, "/home");
    let first = send(Method::DELETE, &path, "k-delete", None).await;
    assert_eq!(first.good(StatusCode::OK), json!({"changed": 1}));
    let again = send(Method::DELETE, &path, "k-delete", None).await;
    assert_eq!(
        again.good(StatusCode::OK),
        json!({"changed": 1}),
        "a replay, not a 404"
    );
    assert_eq!(task(&alice, &t["id"]).await["version"], 3);

    let mutation = "mutation { deleteTag(name: \"job\", idempotencyKey: \"g-1\") }";
    assert_eq!(
        alice.graphql_data(mutation, json!({})).await["deleteTag"],
        1
    );
    assert_eq!(
        alice.graphql_data(mutation, json!({})).await["deleteTag"],
        1
    );
    assert_eq!(task(&alice, &t["id"]).await["version"], 4);
}

async fn deleted_tasks_take_their_tags_with_them(app: TestApp) {
    let alice = app.user("alice");
    let gone = tagged(&alice, "gone", &["solo", "shared"]).await;
    let done = tagged(&alice, "done", &["finished", "shared"]).await;
    tagged(&alice, "kept", &["shared"]).await;
    alice
        .delete(&alice.tasks_path(&format!("/{}", gone["id"])))
        .await
        .good(StatusCode::NO_CONTENT);
    alice
        .patch(&alice.tasks_path(&format!("/{}/complete", done["id"])))
        .await
        .good(StatusCode::OK);
    alice
        .graphql_data("mutation { clearCompleted }", json!({}))
        .await;
    let counts = alice.get(&tags_path(&alice, "")).await.good(StatusCode::OK);
    assert_eq!(counts, json!([{"name": "shared", "count": 1}]));
    assert_eq!(
        alice.delete(&tags_path(&alice, "/solo")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        titles(&alice, "any_tag=solo&any_tag=finished").await,
        Vec::<String>::new()
    );
}

async fn another_users_tags_are_never_seen_or_changed(app: TestApp) {
    let alice = app.user("alice");
    let bob = app.user("bob");
    let bobs = tagged(&bob, "bob's", &["work", "secret"]).await;
    tagged(&alice, "alice's", &["work"]).await;

    let counts = alice.get(&tags_path(&alice, "")).await.good(StatusCode::OK);
    assert_eq!(counts, json!([{"name": "work", "count": 1}]));
    assert_eq!(titles(&alice, "tag=work").await, ["alice's"]);
    assert!(titles(&alice, "any_tag=secret").await.is_empty());
    let data = alice
        .graphql_data(
            "{ tags { name } tasks(anyTags: [\"secret\"]) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(data, json!({"tags": [{"name": "work"}], "tasks": []}));

    // Only her own `work` is renamed; bob's `secret` is not hers to touch.
    let renamed = alice
        .put(&tags_path(&alice, "/work"), json!({"name": "job"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(renamed, json!({"changed": 1}));
    assert_eq!(
        alice
            .put(&tags_path(&alice, "/secret"), json!({"name": "x"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alice.delete(&tags_path(&alice, "/secret")).await.status,
        StatusCode::NOT_FOUND
    );
    let body = alice
        .graphql("mutation { deleteTag(name: \"secret\") }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // Bob's path is 403 for her.
    assert_eq!(
        alice.get("/api/bob/tags").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        alice.delete("/api/bob/tags/work").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        alice
            .put("/api/bob/tags/work", json!({"name": "x"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let after = task(&bob, &bobs["id"]).await;
    assert_eq!(
        (after["tags"].clone(), after["version"].clone()),
        (json!(["work", "secret"]), json!(1))
    );
    let counts = bob.get(&tags_path(&bob, "")).await.good(StatusCode::OK);
    assert_eq!(
        counts,
        json!([{"name": "secret", "count": 1}, {"name": "work", "count": 1}])
    );
}

async fn openapi_documents_the_tag_routes_and_filters(app: TestApp) {
    let doc = app
        .anonymous()
        .get("/openapi.json")
        .await
        .good(StatusCode::OK);
    let list = &doc["paths"]["/api/{user_id}/tags"]["get"];
    assert!(list["responses"]["200"].is_object(), "{list}");
    let one = &doc["paths"]["/api/{user_id}/tags/{name}"];
    for op in [&one["put"], &one["delete"]] {
        for status in ["200", "404", "409", "422"] {
            assert!(op["responses"][status].is_object(), "{status}: {op}");
        }
        let headers: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(headers, ["Idempotency-Key"]);
    }
    let params = doc["paths"]["/api/{user_id}/tasks"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for name in ["tag", "any_tag"] {
        let param = params.iter().find(|p| p["name"] == name).expect(name);
        assert_ne!(param["required"], true, "{param}");
        assert_eq!(param["schema"]["maxItems"], 50, "{param}");
        assert_eq!(
            param["schema"]["type"]
                .as_array()
                .map(|t| t.contains(&json!("array")))
                .or(Some(param["schema"]["type"] == "array")),
            Some(true),
            "{param}"
        );
    }
    let create = &doc["components"]["schemas"]["TaskCreate"]["properties"]["tags"];
    assert_eq!(create["maxItems"], 20, "{create}");
    assert_eq!(create["items"]["maxLength"], 50, "{create}");
}

async fn the_per_user_tag_cap_refuses_one_more(backend: Backend) {
    let app = start_app!(backend, "--max-tags-per-user" => "3");
    let alice = app.user("alice");
    let first = tagged(&alice, "1", &["a", "b", "c"]).await;
    let refused = alice
        .post(&alice.tasks_path(""), json!({"title": "2", "tags": ["d"]}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("at most 3"), "{}", refused.text);
    assert_eq!(titles(&alice, "").await, ["1"], "nothing was created");
    // Names already used (in any case) are not new.
    tagged(&alice, "3", &["A", "c"]).await;
    // Dropping one makes room, in the same write: `b` goes, `d` comes (`c` stays on "3").
    let path = alice.tasks_path(&format!("/{}", first["id"]));
    let swapped = alice.put(&path, json!({"tags": ["a", "d"]})).await;
    assert_eq!(swapped.good(StatusCode::OK)["tags"], json!(["a", "d"]));
    let update = alice.put(&path, json!({"tags": ["a", "d", "e"]})).await;
    assert_eq!(update.status, StatusCode::CONFLICT, "{}", update.text);
    let now = task(&alice, &first["id"]).await;
    assert_eq!(
        (now["tags"].clone(), now["version"].clone()),
        (json!(["a", "d"]), json!(2))
    );
    let body = alice
        .graphql(
            "mutation { createTask(input: {title: \"g\", tags: [\"z\"]}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["limit"], 3, "{body}");
    // Another user has a cap of their own.
    tagged(&app.user("bob"), "b", &["x", "y", "z"]).await;
}
