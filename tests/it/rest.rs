//! The REST contract, end to end over HTTP, on SQLite and PostgreSQL.

use crate::common::{TestApp, assert_error_at};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use todo_api::tasks::task::fields::TASK_FIELDS;

backend_tests!(
    create_returns_201_with_the_task,
    create_ignores_unknown_and_server_owned_fields,
    get_returns_the_task,
    list_is_a_plain_array_newest_first,
    put_is_a_partial_update,
    put_description_null_clears_it,
    delete_returns_204_with_empty_body,
    patch_complete_flips_completed,
    trailing_slashes_are_accepted,
    status_filter,
    sort_spellings_and_orders,
    title_sort_is_case_insensitive_and_stable,
    bad_query_values_are_422,
    unknown_task_is_404,
    validation_errors_are_422_in_fastapi_shape,
    title_limits_count_characters_not_bytes,
    description_limit,
    nul_characters_are_rejected_not_500,
    non_integer_id_is_422,
    unknown_routes_and_methods,
    timestamps_are_rfc3339_utc_with_z,
);

fn titles(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

async fn create_returns_201_with_the_task(app: TestApp) {
    let alice = app.user("alice");
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "  Buy milk  ", "description": "2 litres"}),
        )
        .await
        .good(StatusCode::CREATED);
    assert!(task["id"].as_i64().unwrap() > 0);
    assert_eq!(task["user_id"], "alice");
    assert_eq!(task["title"], "Buy milk", "the title is stored trimmed");
    assert_eq!(task["description"], "2 litres");
    assert_eq!(task["completed"], false);
    assert_eq!(task["created_at"], task["updated_at"]);
    let keys: Vec<&str> = task
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "category",
        "completed",
        "completed_at",
        "created_at",
        "description",
        "due_date",
        "id",
        "priority",
        "title",
        "updated_at",
        "user_id",
        "version",
        // Task model v3 (docs/TASK_MODEL.md): keys added, none changed.
        "list_id",
        "parent_id",
        "position",
        "tags",
        "recurrence",
        "time_zone",
        // Shared lists (issue 29): keys added, none changed.
        "created_by",
        "assignee_id",
    ];
    // Fields added since: the field table's (`task_fields::` checks the order).
    for field in TASK_FIELDS.iter().filter(|f| f.rest) {
        if !expected.contains(&field.column) {
            expected.push(field.column);
        }
    }
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(
        (&task["list_id"], &task["parent_id"], &task["tags"]),
        (&Value::Null, &Value::Null, &json!([]))
    );
    assert_eq!(
        (&task["recurrence"], &task["time_zone"]),
        (&Value::Null, &json!("UTC"))
    );

    let bare = alice.create_task("No description").await;
    assert_eq!(bare["description"], Value::Null);
}

async fn create_ignores_unknown_and_server_owned_fields(app: TestApp) {
    let alice = app.user("alice");
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "T", "id": 999999, "user_id": "mallory", "completed": true, "color": "red"}),
        )
        .await
        .good(StatusCode::CREATED);
    assert_ne!(task["id"], 999999);
    assert_eq!(task["user_id"], "alice");
    assert_eq!(task["completed"], false);
    assert!(task.get("color").is_none());
    // Nothing landed for the user named in the body.
    let mallory = app.user("mallory");
    assert_eq!(
        mallory
            .get(&mallory.tasks_path(""))
            .await
            .good(StatusCode::OK),
        json!([])
    );
}

async fn get_returns_the_task(app: TestApp) {
    let alice = app.user("alice");
    let created = alice.create_task("Read").await;
    let id = created["id"].as_i64().unwrap();
    let fetched = alice
        .get(&alice.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(fetched, created);
}

async fn list_is_a_plain_array_newest_first(app: TestApp) {
    let alice = app.user("alice");
    assert_eq!(
        alice.get(&alice.tasks_path("")).await.good(StatusCode::OK),
        json!([])
    );
    let a = alice.create_task("first").await["id"].as_i64().unwrap();
    let b = alice.create_task("second").await["id"].as_i64().unwrap();
    let c = alice.create_task("third").await["id"].as_i64().unwrap();
    let list = alice.get(&alice.tasks_path("")).await.good(StatusCode::OK);
    assert!(list.is_array());
    assert_eq!(ids(&list), vec![c, b, a]);
}

async fn put_is_a_partial_update(app: TestApp) {
    let alice = app.user("alice");
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "Old", "description": "keep me"}),
        )
        .await
        .good(StatusCode::CREATED);
    let id = task["id"].as_i64().unwrap();
    let path = alice.tasks_path(&format!("/{id}"));

    let renamed = alice
        .put(&path, json!({"title": " New "}))
        .await
        .good(StatusCode::OK);
    assert_eq!(renamed["title"], "New");
    assert_eq!(
        renamed["description"], "keep me",
        "absent fields are unchanged"
    );
    assert_eq!(renamed["completed"], false);
    assert_eq!(renamed["created_at"], task["created_at"]);
    assert!(renamed["updated_at"].as_str() > task["updated_at"].as_str());

    let done = alice
        .put(&path, json!({"completed": true}))
        .await
        .good(StatusCode::OK);
    assert_eq!(done["completed"], true);
    assert_eq!(done["title"], "New");

    let all = alice
        .put(
            &path,
            json!({"title": "All", "description": "d2", "completed": false}),
        )
        .await
        .good(StatusCode::OK);
    assert_eq!(
        (
            all["title"].as_str(),
            all["description"].as_str(),
            all["completed"].as_bool()
        ),
        (Some("All"), Some("d2"), Some(false))
    );

    let unchanged = alice.put(&path, json!({})).await.good(StatusCode::OK);
    assert_eq!(unchanged["title"], "All");
    assert_eq!(alice.get(&path).await.good(StatusCode::OK)["title"], "All");
}

async fn put_description_null_clears_it(app: TestApp) {
    let alice = app.user("alice");
    let task = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "T", "description": "something"}),
        )
        .await
        .good(StatusCode::CREATED);
    let path = alice.tasks_path(&format!("/{}", task["id"]));
    let cleared = alice
        .put(&path, json!({"description": null}))
        .await
        .good(StatusCode::OK);
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(
        alice.get(&path).await.good(StatusCode::OK)["description"],
        Value::Null
    );
}

async fn delete_returns_204_with_empty_body(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("bye").await["id"].as_i64().unwrap();
    let path = alice.tasks_path(&format!("/{id}"));
    let response = alice.delete(&path).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.text.is_empty());
    alice
        .get(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "Task not found");
    alice
        .delete(&path)
        .await
        .detail(StatusCode::NOT_FOUND, "Task not found");
}

async fn patch_complete_flips_completed(app: TestApp) {
    let alice = app.user("alice");
    let id = alice.create_task("flip").await["id"].as_i64().unwrap();
    let path = alice.tasks_path(&format!("/{id}/complete"));
    assert_eq!(
        alice.patch(&path).await.good(StatusCode::OK)["completed"],
        true
    );
    assert_eq!(
        alice.patch(&path).await.good(StatusCode::OK)["completed"],
        false
    );
    let again = alice.patch(&path).await.good(StatusCode::OK);
    assert_eq!(again["completed"], true);
    assert_eq!(again["id"], id);
}

async fn trailing_slashes_are_accepted(app: TestApp) {
    let alice = app.user("alice");
    let created = alice
        .post(&alice.tasks_path("/"), json!({"title": "slash"}))
        .await
        .good(StatusCode::CREATED);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        ids(&alice.get(&alice.tasks_path("/")).await.good(StatusCode::OK)),
        vec![id]
    );
    alice
        .get(&alice.tasks_path(&format!("/{id}/")))
        .await
        .good(StatusCode::OK);
    alice
        .put(&alice.tasks_path(&format!("/{id}/")), json!({"title": "s"}))
        .await
        .good(StatusCode::OK);
    let toggled = alice
        .patch(&alice.tasks_path(&format!("/{id}/complete/")))
        .await
        .good(StatusCode::OK);
    assert_eq!(toggled["completed"], true);
    assert_eq!(
        alice
            .delete(&alice.tasks_path(&format!("/{id}/")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

async fn status_filter(app: TestApp) {
    let alice = app.user("alice");
    let open = alice.create_task("open").await["id"].as_i64().unwrap();
    let done = alice.create_task("done").await["id"].as_i64().unwrap();
    alice
        .patch(&alice.tasks_path(&format!("/{done}/complete")))
        .await
        .good(StatusCode::OK);
    let get = |q: &'static str| {
        let path = alice.tasks_path(q);
        let alice = &alice;
        async move { ids(&alice.get(&path).await.good(StatusCode::OK)) }
    };
    assert_eq!(get("?status=pending").await, vec![open]);
    assert_eq!(get("?status=completed").await, vec![done]);
    assert_eq!(get("?status=all").await, vec![done, open]);
    assert_eq!(get("").await, vec![done, open]);
}

async fn sort_spellings_and_orders(app: TestApp) {
    let alice = app.user("alice");
    let b = alice.create_task("banana").await["id"].as_i64().unwrap();
    let a = alice.create_task("apple").await["id"].as_i64().unwrap();
    let c = alice.create_task("cherry").await["id"].as_i64().unwrap();
    // Touch the oldest so it is the most recently updated.
    alice
        .put(
            &alice.tasks_path(&format!("/{b}")),
            json!({"description": "ripe"}),
        )
        .await
        .good(StatusCode::OK);
    alice
        .patch(&alice.tasks_path(&format!("/{a}/complete")))
        .await
        .good(StatusCode::OK);
    // Now updated order (oldest change first): c, b, a.
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("", vec![c, a, b]),
        ("?sort=created", vec![c, a, b]),
        ("?sort=updated", vec![a, b, c]),
        ("?sort=title", vec![a, b, c]),
        ("?sort_by=created_at", vec![c, a, b]),
        ("?sort_by=created_at&order=asc", vec![b, a, c]),
        ("?sort_by=created_at&order=desc", vec![c, a, b]),
        ("?sort_by=updated_at&order=asc", vec![c, b, a]),
        ("?sort_by=updated_at", vec![a, b, c]),
        ("?sort_by=title&order=asc", vec![a, b, c]),
        ("?sort_by=title&order=desc", vec![c, b, a]),
        ("?sort_by=title", vec![a, b, c]),
        ("?sort=title&order=desc", vec![c, b, a]),
        ("?sort_by=status", vec![b, c, a]),
        ("?sort_by=status&order=desc", vec![a, c, b]),
        ("?sort_by=status&order=asc&status=pending", vec![b, c]),
        ("?status=completed&sort=title", vec![a]),
    ];
    for (query, expected) in cases {
        let list = alice
            .get(&alice.tasks_path(query))
            .await
            .good(StatusCode::OK);
        assert_eq!(ids(&list), expected, "order for {query:?}");
    }
}

async fn title_sort_is_case_insensitive_and_stable(app: TestApp) {
    let alice = app.user("alice");
    let names = [
        "beta", "Alpha", "alpha", "ALPHA", "Gamma", "delta", "Épée", "zeta",
    ];
    for name in names {
        alice.create_task(name).await;
    }
    let list = alice
        .get(&alice.tasks_path("?sort=title"))
        .await
        .good(StatusCode::OK);
    let got = titles(&list);
    // Case-insensitive, ties (the three alphas) in id order; non-ASCII after ASCII letters, as
    // code-point order of the lower-cased title puts it, on both backends.
    assert_eq!(
        got,
        vec![
            "Alpha", "alpha", "ALPHA", "beta", "delta", "Gamma", "zeta", "Épée"
        ]
    );
    let desc = alice
        .get(&alice.tasks_path("?sort_by=title&order=desc"))
        .await
        .good(StatusCode::OK);
    let got = titles(&desc);
    assert_eq!(
        got,
        vec![
            "Épée", "zeta", "Gamma", "delta", "beta", "ALPHA", "alpha", "Alpha"
        ]
    );
    // Stable: asking twice gives the same order.
    let again = alice
        .get(&alice.tasks_path("?sort=title"))
        .await
        .good(StatusCode::OK);
    assert_eq!(ids(&again), ids(&list));
}

async fn bad_query_values_are_422(app: TestApp) {
    let alice = app.user("alice");
    for (query, name) in [
        ("?status=done", "status"),
        ("?status=", "status"),
        ("?sort=urgency", "sort"),
        ("?sort_by=created", "sort_by"),
        ("?order=up", "order"),
    ] {
        let detail = alice.get(&alice.tasks_path(query)).await.validation();
        assert_error_at(&detail, json!(["query", name]), "literal_error");
    }
    let detail = alice
        .get(&alice.tasks_path("?status=done"))
        .await
        .validation();
    assert_eq!(
        detail[0]["msg"],
        "Input should be 'all', 'pending' or 'completed'"
    );
    assert_eq!(detail[0]["input"], "done");
    // Unknown parameters are ignored, as FastAPI does.
    alice
        .get(&alice.tasks_path("?page=2"))
        .await
        .good(StatusCode::OK);
}

async fn unknown_task_is_404(app: TestApp) {
    let alice = app.user("alice");
    for (method, suffix, body) in [
        (Method::GET, "/424242", None),
        (Method::PUT, "/424242", Some(json!({"title": "x"}))),
        (Method::DELETE, "/424242", None),
        (Method::PATCH, "/424242/complete", None),
        (Method::GET, "/-1", None),
        (Method::GET, "/0", None),
    ] {
        alice
            .request(method, &alice.tasks_path(suffix), body)
            .await
            .detail(StatusCode::NOT_FOUND, "Task not found");
    }
}

async fn validation_errors_are_422_in_fastapi_shape(app: TestApp) {
    let alice = app.user("alice");
    let path = alice.tasks_path("");
    let auth = format!("Bearer {}", app.token("alice"));
    let raw = |body: &'static str| {
        let auth = auth.clone();
        let path = path.clone();
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                &path,
                &[
                    ("authorization", auth.as_str()),
                    ("content-type", "application/json"),
                ],
                Some(body.as_bytes().to_vec()),
            )
            .await
        }
    };
    // Malformed JSON.
    let detail = raw("{\"title\": ").await.validation();
    assert_eq!(detail[0]["type"], "json_invalid");
    assert_eq!(detail[0]["loc"][0], "body");
    assert_eq!(detail[0]["msg"], "JSON decode error");
    // Not an object.
    for body in ["[1,2]", "\"title\"", "42", "null"] {
        let detail = raw(body).await.validation();
        assert_error_at(&detail, json!(["body"]), "model_attributes_type");
    }
    // Empty body.
    assert_error_at(&raw("").await.validation(), json!(["body"]), "missing");
    // Missing title.
    let detail = alice
        .post(&path, json!({"description": "x"}))
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "title"]), "missing");
    assert_eq!(detail[0]["msg"], "Field required");
    // Wrong types.
    assert_error_at(
        &alice.post(&path, json!({"title": 5})).await.validation(),
        json!(["body", "title"]),
        "string_type",
    );
    assert_error_at(
        &alice.post(&path, json!({"title": null})).await.validation(),
        json!(["body", "title"]),
        "string_type",
    );
    assert_error_at(
        &alice
            .post(&path, json!({"title": "ok", "description": ["x"]}))
            .await
            .validation(),
        json!(["body", "description"]),
        "string_type",
    );
    // Blank title.
    for blank in ["", "   ", "\t\n"] {
        let detail = alice
            .post(&path, json!({"title": blank}))
            .await
            .validation();
        assert_error_at(&detail, json!(["body", "title"]), "string_too_short");
    }
    // PUT: wrong types, null title, blank title.
    let id = alice.create_task("valid").await["id"].as_i64().unwrap();
    let item = alice.tasks_path(&format!("/{id}"));
    assert_error_at(
        &alice
            .put(&item, json!({"completed": "yes"}))
            .await
            .validation(),
        json!(["body", "completed"]),
        "bool_type",
    );
    assert_error_at(
        &alice
            .put(&item, json!({"completed": null}))
            .await
            .validation(),
        json!(["body", "completed"]),
        "bool_type",
    );
    assert_error_at(
        &alice.put(&item, json!({"title": null})).await.validation(),
        json!(["body", "title"]),
        "string_type",
    );
    assert_error_at(
        &alice.put(&item, json!({"title": "  "})).await.validation(),
        json!(["body", "title"]),
        "string_too_short",
    );
    assert_error_at(
        &alice.put(&item, json!([])).await.validation(),
        json!(["body"]),
        "model_attributes_type",
    );
    // Nothing above changed the task.
    assert_eq!(
        alice.get(&item).await.good(StatusCode::OK)["title"],
        "valid"
    );
    assert_eq!(ids(&alice.get(&path).await.good(StatusCode::OK)), vec![id]);
}

async fn title_limits_count_characters_not_bytes(app: TestApp) {
    let alice = app.user("alice");
    let path = alice.tasks_path("");
    let two_hundred = "é".repeat(200); // 400 bytes, 200 characters
    let task = alice
        .post(&path, json!({"title": two_hundred}))
        .await
        .good(StatusCode::CREATED);
    assert_eq!(task["title"].as_str().unwrap().chars().count(), 200);
    let padded = format!("  {}  ", "x".repeat(200));
    alice
        .post(&path, json!({"title": padded}))
        .await
        .good(StatusCode::CREATED);
    let detail = alice
        .post(&path, json!({"title": "é".repeat(201)}))
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "title"]), "string_too_long");
    assert_eq!(
        detail[0]["msg"],
        "String should have at most 200 characters"
    );
    let id = task["id"].as_i64().unwrap();
    let detail = alice
        .put(
            &alice.tasks_path(&format!("/{id}")),
            json!({"title": "a".repeat(201)}),
        )
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "title"]), "string_too_long");
}

async fn description_limit(app: TestApp) {
    let alice = app.user("alice");
    let path = alice.tasks_path("");
    alice
        .post(
            &path,
            json!({"title": "t", "description": "ü".repeat(1000)}),
        )
        .await
        .good(StatusCode::CREATED);
    let detail = alice
        .post(
            &path,
            json!({"title": "t", "description": "ü".repeat(1001)}),
        )
        .await
        .validation();
    assert_error_at(&detail, json!(["body", "description"]), "string_too_long");
    // Both fields wrong: both reported.
    let detail = alice
        .post(&path, json!({"title": "", "description": "x".repeat(1001)}))
        .await
        .validation();
    assert_eq!(detail.len(), 2, "{detail:?}");
}

async fn nul_characters_are_rejected_not_500(app: TestApp) {
    let alice = app.user("alice");
    let path = alice.tasks_path("");
    assert_error_at(
        &alice
            .post(&path, json!({"title": "a\u{0}b"}))
            .await
            .validation(),
        json!(["body", "title"]),
        "value_error",
    );
    assert_error_at(
        &alice
            .post(&path, json!({"title": "ok", "description": "x\u{0}"}))
            .await
            .validation(),
        json!(["body", "description"]),
        "value_error",
    );
}

async fn non_integer_id_is_422(app: TestApp) {
    let alice = app.user("alice");
    for suffix in ["/abc", "/1.5", "/99999999999999999999999"] {
        let detail = alice.get(&alice.tasks_path(suffix)).await.validation();
        assert_error_at(&detail, json!(["path", "id"]), "int_parsing");
    }
    let detail = alice
        .patch(&alice.tasks_path("/abc/complete"))
        .await
        .validation();
    assert_error_at(&detail, json!(["path", "id"]), "int_parsing");
    let detail = alice.delete(&alice.tasks_path("/abc")).await.validation();
    assert_error_at(&detail, json!(["path", "id"]), "int_parsing");
    let detail = alice
        .put(&alice.tasks_path("/abc"), json!({"title": "x"}))
        .await
        .validation();
    assert_error_at(&detail, json!(["path", "id"]), "int_parsing");
}

async fn unknown_routes_and_methods(app: TestApp) {
    let alice = app.user("alice");
    alice
        .get("/api/nothing-here")
        .await
        .detail(StatusCode::NOT_FOUND, "Not Found");
    alice
        .patch(&alice.tasks_path(""))
        .await
        .detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
}

async fn timestamps_are_rfc3339_utc_with_z(app: TestApp) {
    let alice = app.user("alice");
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let task = alice.create_task("time").await;
    for field in ["created_at", "updated_at"] {
        let text = task[field].as_str().unwrap();
        assert!(text.ends_with('Z'), "{field} = {text}");
        let parsed = chrono::DateTime::parse_from_rfc3339(text).unwrap();
        assert!(parsed > before && parsed < chrono::Utc::now() + chrono::Duration::seconds(5));
    }
    // What is read back is exactly what was returned at creation (microseconds survive).
    let id = task["id"].as_i64().unwrap();
    let read = alice
        .get(&alice.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(read["created_at"], task["created_at"]);
}
