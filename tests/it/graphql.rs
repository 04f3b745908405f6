//! The GraphQL API over real HTTP, on both backends: the REST cases' twins, the auth rules,
//! GraphQL-over-HTTP behaviour, the protection limits, and the checked-in schema.

use crate::common::{Backend, TestApp, UserClient};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    crud_round_trip,
    rest_and_graphql_see_the_same_task,
    status_filters,
    sorts_and_orders,
    validation_matches_rest,
    unknown_ids,
    set_task_completed_is_idempotent,
    authentication_errors_carry_codes,
    typename_and_introspection_need_no_token,
    http_get_and_post,
    graphql_response_media_type_status_codes,
    malformed_requests_are_400,
    graphiql_for_browsers,
    standard_introspection_queries_pass_the_default_limits,
    introspection_is_bounded_on_its_own,
    responses_keep_the_selection_order,
    alias_and_size_limits,
    batching_is_off_by_default,
);

backend_cases!(
    too_deep_queries_are_refused,
    batching_when_enabled,
    complexity_limit,
    introspection_can_be_turned_off,
    repeated_documents_are_checked_under_each_apps_limits
);

const FIELDS: &str = "id title description completed createdAt updatedAt";

fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

async fn create(user: &UserClient<'_>, title: &str) -> Value {
    let query = format!(
        "mutation($input: CreateTaskInput!) {{ createTask(input: $input) {{ {FIELDS} }} }}"
    );
    user.graphql_data(&query, json!({"input": {"title": title}}))
        .await["createTask"]
        .clone()
}

async fn list_ids(user: &UserClient<'_>, args: &str) -> Vec<String> {
    let query = if args.is_empty() {
        "{ tasks { id } }".to_owned()
    } else {
        format!("{{ tasks({args}) {{ id }} }}")
    };
    let data = user.graphql_data(&query, json!({})).await;
    data["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn crud_round_trip(app: TestApp) {
    let alice = app.user("alice");
    let query = format!(
        "mutation($input: CreateTaskInput!) {{ createTask(input: $input) {{ {FIELDS} }} }}"
    );
    let created = alice
        .graphql_data(
            &query,
            json!({"input": {"title": "  Write docs ", "description": "README"}}),
        )
        .await["createTask"]
        .clone();
    assert_eq!(created["title"], "Write docs");
    assert_eq!(created["description"], "README");
    assert_eq!(created["completed"], false);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    let id = created["id"].as_str().unwrap().to_owned();

    let read = alice
        .graphql_data(
            &format!("query($id: ID!) {{ task(id: $id) {{ {FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(read["task"], created);
    assert_eq!(list_ids(&alice, "").await, vec![id.clone()]);

    let update = format!(
        "mutation($id: ID!, $input: UpdateTaskInput!) {{ updateTask(id: $id, input: $input) {{ {FIELDS} }} }}"
    );
    let renamed = alice
        .graphql_data(&update, json!({"id": id, "input": {"title": "Docs"}}))
        .await["updateTask"]
        .clone();
    assert_eq!(renamed["title"], "Docs");
    assert_eq!(
        renamed["description"], "README",
        "absent fields are unchanged"
    );
    assert!(renamed["updatedAt"].as_str() > created["updatedAt"].as_str());
    let cleared = alice
        .graphql_data(
            &update,
            json!({"id": id, "input": {"description": null, "completed": true}}),
        )
        .await["updateTask"]
        .clone();
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["completed"], true);
    assert_eq!(cleared["title"], "Docs");

    let toggled = alice
        .graphql_data(
            "mutation($id: ID!) { toggleTask(id: $id) { completed } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(toggled["toggleTask"]["completed"], false);

    let deleted = alice
        .graphql_data(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(deleted["deleteTask"], id);
    let gone = alice
        .graphql_data(
            "query($id: ID!) { task(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(gone["task"], Value::Null);
    let again = alice
        .graphql(
            "mutation($id: ID!) { deleteTask(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND");
}

async fn rest_and_graphql_see_the_same_task(app: TestApp) {
    let alice = app.user("alice");
    let from_graphql = create(&alice, "made in GraphQL").await;
    let id = from_graphql["id"].as_str().unwrap();
    let via_rest = alice
        .get(&alice.tasks_path(&format!("/{id}")))
        .await
        .good(StatusCode::OK);
    assert_eq!(via_rest["title"], from_graphql["title"]);
    assert_eq!(via_rest["created_at"], from_graphql["createdAt"]);
    assert_eq!(via_rest["updated_at"], from_graphql["updatedAt"]);
    assert_eq!(via_rest["completed"], from_graphql["completed"]);

    let from_rest = alice
        .post(
            &alice.tasks_path(""),
            json!({"title": "made in REST", "description": "d"}),
        )
        .await
        .good(StatusCode::CREATED);
    let rest_id = from_rest["id"].as_i64().unwrap().to_string();
    let via_graphql = alice
        .graphql_data(
            &format!("query($id: ID!) {{ task(id: $id) {{ {FIELDS} }} }}"),
            json!({"id": rest_id}),
        )
        .await["task"]
        .clone();
    assert_eq!(
        via_graphql,
        json!({
            "id": rest_id,
            "title": "made in REST",
            "description": "d",
            "completed": false,
            "createdAt": from_rest["created_at"],
            "updatedAt": from_rest["updated_at"],
        })
    );
}

async fn status_filters(app: TestApp) {
    let alice = app.user("alice");
    let open = create(&alice, "open").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = create(&alice, "done").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .graphql_data(
            "mutation($id: ID!) { toggleTask(id: $id) { id } }",
            json!({"id": done}),
        )
        .await;
    assert_eq!(
        list_ids(&alice, "status: PENDING").await,
        vec![open.clone()]
    );
    assert_eq!(
        list_ids(&alice, "status: COMPLETED").await,
        vec![done.clone()]
    );
    assert_eq!(
        list_ids(&alice, "status: ALL").await,
        vec![done.clone(), open.clone()]
    );
    assert_eq!(list_ids(&alice, "status: null").await, vec![done, open]);
    let bad = alice
        .graphql("{ tasks(status: DONE) { id } }", json!({}))
        .await;
    assert!(bad["errors"].is_array());
    assert_eq!(error_code(&bad), "GRAPHQL_VALIDATION_FAILED");
}

async fn sorts_and_orders(app: TestApp) {
    let alice = app.user("alice");
    let b = create(&alice, "banana").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = create(&alice, "Apple").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = create(&alice, "cherry").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .graphql_data(
            "mutation($id: ID!) { updateTask(id: $id, input: {description: \"x\"}) { id } }",
            json!({"id": b}),
        )
        .await;
    let cases = [
        ("", vec![&c, &a, &b]),
        ("sort: CREATED_AT", vec![&c, &a, &b]),
        ("sort: CREATED_AT, order: ASC", vec![&b, &a, &c]),
        ("sort: UPDATED_AT", vec![&b, &c, &a]),
        ("sort: UPDATED_AT, order: ASC", vec![&a, &c, &b]),
        ("sort: TITLE, order: ASC", vec![&a, &b, &c]),
        ("sort: TITLE", vec![&c, &b, &a]),
        (
            "sort: TITLE, order: DESC, status: PENDING",
            vec![&c, &b, &a],
        ),
    ];
    for (args, expected) in cases {
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(list_ids(&alice, args).await, expected, "tasks({args})");
    }
}

async fn validation_matches_rest(app: TestApp) {
    let alice = app.user("alice");
    let mutation = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }";
    let cases = [
        (
            json!({"title": "   "}),
            "title",
            "String should have at least 1 character",
        ),
        (
            json!({"title": "x".repeat(201)}),
            "title",
            "String should have at most 200 characters",
        ),
        (
            json!({"title": "ok", "description": "d".repeat(1001)}),
            "description",
            "String should have at most 1000 characters",
        ),
        (
            json!({"title": "a\u{0}b"}),
            "title",
            "Value error, must not contain the NUL character (U+0000)",
        ),
    ];
    for (input, field, message) in cases {
        let body = alice.graphql(mutation, json!({"input": input})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
        assert_eq!(body["errors"][0]["message"], format!("{field}: {message}"));
        // The same input through REST gives the same message.
        let rest = alice
            .post(&alice.tasks_path(""), input.clone())
            .await
            .validation();
        assert_eq!(rest[0]["msg"], message);
    }
    let longest = alice
        .graphql_data(mutation, json!({"input": {"title": "é".repeat(200)}}))
        .await;
    assert!(longest["createTask"]["id"].is_string());
    let id = create(&alice, "valid").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = "mutation($id: ID!, $input: UpdateTaskInput!) { updateTask(id: $id, input: $input) { id } }";
    for input in [
        json!({"title": null}),
        json!({"completed": null}),
        json!({"title": ""}),
    ] {
        let body = alice
            .graphql(update, json!({"id": id, "input": input}))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    }
    let bad_id = alice
        .graphql("{ task(id: \"abc\") { id } }", json!({}))
        .await;
    assert_eq!(error_code(&bad_id), "BAD_USER_INPUT");
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "id");
    let wrong_type = alice
        .graphql(mutation, json!({"input": {"title": 5}}))
        .await;
    assert!(wrong_type["errors"].is_array(), "{wrong_type}");
    assert_ne!(error_code(&wrong_type), "<none>");
    // Nothing invalid landed.
    assert_eq!(list_ids(&alice, "").await.len(), 2);
}

async fn unknown_ids(app: TestApp) {
    let alice = app.user("alice");
    let null = alice
        .graphql_data("{ task(id: \"987654\") { id } }", json!({}))
        .await;
    assert_eq!(null["task"], Value::Null);
    for mutation in [
        "mutation { updateTask(id: \"987654\", input: {title: \"x\"}) { id } }",
        "mutation { toggleTask(id: \"987654\") { id } }",
        "mutation { setTaskCompleted(id: \"987654\", completed: true) { id } }",
        "mutation { deleteTask(id: \"987654\") }",
    ] {
        let body = alice.graphql(mutation, json!({})).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        assert!(body["errors"][0]["path"][0].is_string());
    }
}

async fn set_task_completed_is_idempotent(app: TestApp) {
    let alice = app.user("alice");
    let id = create(&alice, "t").await["id"].as_str().unwrap().to_owned();
    let mutation = "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { completed updatedAt } }";
    let first = alice
        .graphql_data(mutation, json!({"id": id, "c": true}))
        .await["setTaskCompleted"]
        .clone();
    assert_eq!(first["completed"], true);
    let second = alice
        .graphql_data(mutation, json!({"id": id, "c": true}))
        .await["setTaskCompleted"]
        .clone();
    assert_eq!(
        second, first,
        "repeating it changes nothing, not even updatedAt"
    );
    let undone = alice
        .graphql_data(mutation, json!({"id": id, "c": false}))
        .await["setTaskCompleted"]
        .clone();
    assert_eq!(undone["completed"], false);
}

async fn authentication_errors_carry_codes(app: TestApp) {
    let anonymous = app.anonymous();
    let body = anonymous.graphql("{ tasks { id } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["message"], "Not authenticated");
    let body = anonymous
        .graphql(
            "mutation { createTask(input: {title: \"x\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let body = app
        .with_token("alice", "not-a-jwt")
        .graphql("{ viewer { id } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["message"], "Invalid token");
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "alice", "exp": chrono::Utc::now().timestamp() - 3600}),
        &jsonwebtoken::EncodingKey::from_secret(crate::common::SECRET.as_bytes()),
    )
    .unwrap();
    let body = app
        .with_token("alice", &expired)
        .graphql("{ viewer { id } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["message"], "Token has expired");
    let alice = app.user("alice");
    assert_eq!(
        alice.graphql_data("{ viewer { id } }", json!({})).await,
        json!({"viewer": {"id": "alice"}})
    );
    // Nothing was created by the anonymous mutation.
    assert_eq!(list_ids(&alice, "").await.len(), 0);
}

async fn typename_and_introspection_need_no_token(app: TestApp) {
    let anonymous = app.anonymous();
    assert_eq!(
        anonymous.graphql_data("{ __typename }", json!({})).await,
        json!({"__typename": "Query"})
    );
    let schema = anonymous
        .graphql_data(
            "{ __schema { queryType { name } types { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(schema["__schema"]["queryType"]["name"], "Query");
    let types: Vec<&str> = schema["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for name in [
        "Task",
        "TaskStatus",
        "TaskSort",
        "SortOrder",
        "CreateTaskInput",
        "UpdateTaskInput",
        "Viewer",
        "DateTime",
    ] {
        assert!(types.contains(&name), "{name} in {types:?}");
    }
}

async fn http_get_and_post(app: TestApp) {
    let alice = app.user("alice");
    create(&alice, "via get").await;
    let token = format!("Bearer {}", app.token("alice"));
    let get = app
        .raw(
            Method::GET,
            "/graphql?query=%7B%20tasks%20%7B%20title%20%7D%20%7D",
            &[("authorization", &token)],
            None,
        )
        .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text);
    assert_eq!(
        get.json(),
        json!({"data": {"tasks": [{"title": "via get"}]}})
    );
    // A mutation over GET is refused and runs nothing.
    let mutation = "/graphql?query=mutation%20%7B%20createTask(input%3A%20%7Btitle%3A%20%22x%22%7D)%20%7B%20id%20%7D%20%7D";
    let refused = app
        .raw(Method::GET, mutation, &[("authorization", &token)], None)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        refused.text
    );
    assert_eq!(refused.header("allow"), Some("POST"));
    assert_eq!(list_ids(&alice, "").await.len(), 1);
    // Variables in a GET.
    let with_vars = app
        .raw(
            Method::GET,
            "/graphql?query=query(%24s%3A%20TaskStatus)%20%7B%20tasks(status%3A%20%24s)%20%7B%20title%20%7D%20%7D&variables=%7B%22s%22%3A%22COMPLETED%22%7D",
            &[("authorization", &token)],
            None,
        )
        .await;
    assert_eq!(with_vars.json(), json!({"data": {"tasks": []}}));
}

async fn graphql_response_media_type_status_codes(app: TestApp) {
    let token = format!("Bearer {}", app.token("alice"));
    let post = |query: &'static str, accept: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                "/graphql",
                &[
                    ("authorization", &token),
                    ("content-type", "application/json"),
                    ("accept", accept),
                ],
                Some(serde_json::to_vec(&json!({"query": query})).unwrap()),
            )
            .await
        }
    };
    let media = "application/graphql-response+json";
    let ok = post("{ viewer { id } }", media).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("content-type"), Some(media));
    let syntax = post("{ viewer { id ", media).await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST, "{}", syntax.text);
    assert_eq!(syntax.header("content-type"), Some(media));
    assert!(syntax.json().get("data").is_none() || syntax.json()["data"].is_null());
    let invalid = post("{ nope }", media).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    // A field error is a 200 with data.
    let field_error = post("{ task(id: \"x\") { id } }", media).await;
    assert_eq!(field_error.status, StatusCode::OK);
    // Legacy application/json: always 200.
    let legacy = post("{ viewer { id ", "application/json").await;
    assert_eq!(legacy.status, StatusCode::OK);
    assert_eq!(legacy.header("content-type"), Some("application/json"));
    assert_eq!(error_code(&legacy.json()), "GRAPHQL_VALIDATION_FAILED");
}

async fn malformed_requests_are_400(app: TestApp) {
    let json_type = ("content-type", "application/json");
    for body in [
        &b"{\"query\": "[..],
        b"[1, 2",
        b"{}",
        b"{\"query\": 5}",
        b"\"query\"",
    ] {
        let response = app
            .raw(Method::POST, "/graphql", &[json_type], Some(body.to_vec()))
            .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            response.text
        );
        assert!(response.json()["errors"][0]["message"].is_string());
    }
    let get = app
        .raw(
            Method::GET,
            "/graphql",
            &[("accept", "application/json")],
            None,
        )
        .await;
    assert_eq!(get.status, StatusCode::BAD_REQUEST);
    let wrong_type = app
        .raw(
            Method::POST,
            "/graphql",
            &[("content-type", "text/plain")],
            Some(b"{ __typename }".to_vec()),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let put = app
        .raw(Method::PUT, "/graphql", &[json_type], Some(b"{}".to_vec()))
        .await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Hosts that appear in the vendored scripts but are never fetched: XML namespace names
/// (`http://www.w3.org/2000/svg`) and links in comments and error messages. A new host (a
/// CDN, a font service) fails the test; the page's CSP would block it anyway.
const NAMED_NOT_FETCHED: &[&str] = &[
    "www.w3.org",
    "codemirror.net",
    "commonmark.org",
    "en.wikipedia.org",
    "github.com",
    "reactjs.org",
];

/// The values of `attribute="…"` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

async fn graphiql_for_browsers(app: TestApp) {
    let page = app
        .raw(
            Method::GET,
            "/graphql",
            &[("accept", "text/html,application/xhtml+xml")],
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let policy = page.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(directive), "{directive}: {policy}");
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
    assert!(
        !page.text.contains("://"),
        "no absolute URL in the page: {}",
        page.text
    );
    assert!(page.text.contains("data-endpoint=\"/graphql\""));
    // No inline script: every script is a file (the CSP allows no other kind).
    assert_eq!(
        page.text.matches("<script").count(),
        page.text.matches("<script src=").count()
    );

    let mut assets = attribute_values(&page.text, "src");
    // `data:,` is the empty favicon (so the browser does not ask for /favicon.ico).
    assets.extend(
        attribute_values(&page.text, "href")
            .into_iter()
            .filter(|href| *href != "data:,"),
    );
    assert_eq!(assets.len(), 6, "{assets:?}");
    let mut scripts = String::new();
    for path in &assets {
        assert!(path.starts_with("/graphiql/"), "served here: {path}");
        let asset = app.raw(Method::GET, path, &[], None).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        let media_type = asset.header("content-type").unwrap();
        if path.ends_with(".js") {
            assert!(
                media_type.starts_with("text/javascript"),
                "{path}: {media_type}"
            );
        } else {
            assert!(media_type.starts_with("text/css"), "{path}: {media_type}");
        }
        assert_eq!(
            asset.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        assert!(asset.text.len() > 100, "{path}");
        scripts.push_str(&asset.text);
    }
    // Production React, and GraphiQL's UMD build.
    assert!(
        assets
            .iter()
            .any(|a| a.ends_with("/react.production.min.js"))
    );
    assert!(
        assets
            .iter()
            .any(|a| a.ends_with("/react-dom.production.min.js"))
    );
    assert!(assets.iter().any(|a| a.ends_with("/graphiql.min.js")));
    for marker in ["http://", "https://"] {
        for (at, _) in scripts.match_indices(marker) {
            let rest = &scripts[at + marker.len()..];
            let host: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect();
            assert!(
                host.is_empty() || NAMED_NOT_FETCHED.contains(&host.as_str()),
                "an external URL in the assets: {marker}{}",
                &rest[..rest.len().min(80)]
            );
        }
    }
    for cdn in [
        "unpkg.com",
        "cdn.jsdelivr.net",
        "esm.sh/",
        "fonts.googleapis.com",
    ] {
        assert!(!scripts.contains(cdn), "{cdn}");
    }

    // An asset name that does not exist is a 404; an old version's URL is not cached.
    let prefix = assets[0].rsplit_once('/').unwrap().0;
    let missing = app
        .raw(Method::GET, &format!("{prefix}/nope.js"), &[], None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let stale = app
        .raw(
            Method::GET,
            "/graphiql/0000000000000000/start.js",
            &[],
            None,
        )
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.header("cache-control"), Some("no-cache"));
}

async fn too_deep_queries_are_refused(backend: Backend) {
    // The schema is shallow (`viewer { id }` is depth 2), so the limit is lowered to show it.
    let app = start_app!(backend, "--graphql-max-depth" => "1");
    let alice = app.user("alice");
    let body = alice.graphql("{ viewer { id } }", json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{body}"
    );
    assert_eq!(body["data"], Value::Null);
    assert_eq!(
        alice.graphql_data("{ __typename }", json!({})).await["__typename"],
        "Query"
    );
    // Introspection has its own bounds: tools still load the schema.
    let body = app
        .anonymous()
        .graphql(INTROSPECTION_FIXTURES[0].1, json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// The introspection queries tools send, as exact text: graphql-js' `getIntrospectionQuery`
/// with every option on (16.9, as GraphiQL and graphql-codegen ship it, and 17.1), and the
/// query GraphiQL 3.9 sends.
const INTROSPECTION_FIXTURES: &[(&str, &str)] = &[
    (
        "graphql-js 16.9, all options",
        include_str!("../fixtures/introspection/graphql-js-16.9-all-options.graphql"),
    ),
    (
        "graphql-js 17.1, all options",
        include_str!("../fixtures/introspection/graphql-js-17.1-all-options.graphql"),
    ),
    (
        "GraphiQL 3.9",
        include_str!("../fixtures/introspection/graphiql-3.9.graphql"),
    ),
];

async fn standard_introspection_queries_pass_the_default_limits(app: TestApp) {
    for (name, query) in INTROSPECTION_FIXTURES {
        for user in [app.anonymous(), app.user("alice")] {
            let body = user
                .request(
                    Method::POST,
                    "/graphql",
                    Some(json!({"query": query, "operationName": "IntrospectionQuery"})),
                )
                .await
                .good(StatusCode::OK);
            assert!(body.get("errors").is_none(), "{name}: {body}");
            let schema = &body["data"]["__schema"];
            assert_eq!(schema["queryType"]["name"], "Query", "{name}");
            assert_eq!(schema["mutationType"]["name"], "Mutation", "{name}");
            assert_eq!(
                schema["subscriptionType"]["name"], "TaskSubscription",
                "{name}"
            );
            let types: Vec<&str> = schema["types"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["name"].as_str())
                .collect();
            for expected in ["Task", "CreateTaskInput", "TaskStatus", "DateTime"] {
                assert!(types.contains(&expected), "{name}: {types:?}");
            }
        }
    }
}

async fn introspection_is_bounded_on_its_own(app: TestApp) {
    let refused = |body: &Value, words: &str| {
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "expected {words:?}: {body}");
        assert_eq!(body["data"], Value::Null, "{body}");
    };
    // Lists inside lists multiply the answer: four levels are refused.
    let nested = "{ __schema { types { fields { type { fields { name } } } } } }";
    let body = app.anonymous().graphql(nested, json!({})).await;
    assert!(body.get("errors").is_none(), "three lists are fine: {body}");
    let nested = "{ __schema { types { fields { args { type { fields { name } } } } } } }";
    refused(
        &app.anonymous().graphql(nested, json!({})).await,
        "nests more than 3 lists",
    );
    // Deeper than any tool goes.
    let of_type: String = (0..20).map(|_| "ofType { ").collect();
    let closing: String = (0..20).map(|_| "} ").collect();
    let deep = format!("{{ __type(name: \"Task\") {{ {of_type} name {closing} }} }}");
    refused(
        &app.anonymous().graphql(&deep, json!({})).await,
        "nested too deep",
    );
    // Repeating the same selection under aliases to inflate the work.
    let levels: String = (0..8).map(|_| "kind name ofType { ").collect();
    let type_ref = format!("{levels} kind name {}", "} ".repeat(8));
    let copies: String = (0..25)
        .map(|n| format!("t{n}: types {{ {type_ref} }} "))
        .collect();
    let wide = format!("{{ __schema {{ {copies} }} }}");
    refused(
        &app.anonymous().graphql(&wide, json!({})).await,
        "more than 500 fields",
    );
}

/// Parses a response body keeping each object's key order (serde_json's `Value` sorts keys).
fn ordered(text: &str) -> async_graphql::Value {
    serde_json::from_str(text).expect("JSON body")
}

fn keys(value: &async_graphql::Value) -> Vec<String> {
    match value {
        async_graphql::Value::Object(map) => map.keys().map(|k| k.to_string()).collect(),
        other => panic!("not an object: {other}"),
    }
}

async fn responses_keep_the_selection_order(app: TestApp) {
    let alice = app.user("alice");
    let id = create(&alice, "order").await["id"].clone();
    let post = |query: String| {
        let alice = &alice;
        async move {
            let response = alice
                .request(Method::POST, "/graphql", Some(json!({"query": query})))
                .await;
            let body = response.good(StatusCode::OK);
            assert!(body.get("errors").is_none(), "{body}");
            ordered(&response.text)
        }
    };
    // `viewer` answers at once and `tasks` waits for the database; the order is the query's.
    let body = post("{ tasks { id } viewer { id } }".to_owned()).await;
    let async_graphql::Value::Object(root) = &body else {
        panic!()
    };
    assert_eq!(keys(&root["data"]), ["tasks", "viewer"]);
    let body = post("{ viewer { id } tasks { id } }".to_owned()).await;
    let async_graphql::Value::Object(root) = &body else {
        panic!()
    };
    assert_eq!(keys(&root["data"]), ["viewer", "tasks"]);
    // Nested, with aliases and fragments, on a list and on a single object.
    let query = format!(
        "query {{ list: tasks {{ updatedAt done: completed ...Names id }} me: viewer {{ id }} \
         one: task(id: {id}) {{ completed ... on Task {{ title createdAt }} t2: title }} \
         __typename }} fragment Names on Task {{ title description }}"
    );
    let body = post(query).await;
    let async_graphql::Value::Object(root) = &body else {
        panic!()
    };
    let data = &root["data"];
    assert_eq!(keys(data), ["list", "me", "one", "__typename"]);
    let async_graphql::Value::Object(data) = data else {
        panic!()
    };
    let async_graphql::Value::List(list) = &data["list"] else {
        panic!()
    };
    assert_eq!(
        keys(&list[0]),
        ["updatedAt", "done", "title", "description", "id"]
    );
    assert_eq!(
        keys(&data["one"]),
        ["completed", "title", "createdAt", "t2"]
    );
    // A mutation too.
    let body = post(format!(
        "mutation {{ updateTask(id: {id}, input: {{ description: \"d\" }}) {{ updatedAt title id }} }}"
    ))
    .await;
    let async_graphql::Value::Object(root) = &body else {
        panic!()
    };
    let async_graphql::Value::Object(data) = &root["data"] else {
        panic!()
    };
    assert_eq!(keys(&data["updateTask"]), ["updatedAt", "title", "id"]);
}

async fn alias_and_size_limits(app: TestApp) {
    let alice = app.user("alice");
    let aliases: String = (0..31).map(|n| format!("a{n}: __typename ")).collect();
    let body = alice
        .request(
            Method::POST,
            "/graphql",
            Some(json!({"query": format!("{{ {aliases} }}")})),
        )
        .await;
    assert_eq!(body.status, StatusCode::BAD_REQUEST);
    assert!(body.text.contains("aliases"), "{}", body.text);
    let fine: String = (0..30).map(|n| format!("a{n}: __typename ")).collect();
    let ok = alice.graphql(&format!("{{ {fine} }}"), json!({})).await;
    assert!(ok.get("errors").is_none());
    let huge = format!("{{ __typename }} # {}", "x".repeat(20_000));
    let body = alice
        .request(Method::POST, "/graphql", Some(json!({"query": huge})))
        .await;
    assert_eq!(body.status, StatusCode::BAD_REQUEST);
    assert!(body.text.contains("bytes"));
}

async fn batching_is_off_by_default(app: TestApp) {
    let body = app
        .anonymous()
        .request(
            Method::POST,
            "/graphql",
            Some(json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}])),
        )
        .await;
    assert_eq!(body.status, StatusCode::BAD_REQUEST);
    assert!(body.text.contains("batch"));
}

async fn batching_when_enabled(backend: Backend) {
    let app = start_app!(backend, "--graphql-max-batch" => "2");
    let alice = app.user("alice");
    let two = alice
        .request(
            Method::POST,
            "/graphql",
            Some(json!([{"query": "{ viewer { id } }"}, {"query": "{ __typename }"}])),
        )
        .await;
    assert_eq!(
        two.json(),
        json!([{"data": {"viewer": {"id": "alice"}}}, {"data": {"__typename": "Query"}}])
    );
    let three = alice
        .request(
            Method::POST,
            "/graphql",
            Some(Value::Array(vec![json!({"query": "{ __typename }"}); 3])),
        )
        .await;
    assert_eq!(three.status, StatusCode::BAD_REQUEST);
}

async fn complexity_limit(backend: Backend) {
    // A list costs ten of its items: `tasks { id title }` is 21.
    let app = start_app!(backend, "--graphql-max-complexity" => "30");
    let alice = app.user("alice");
    let small = alice.graphql("{ tasks { id title } }", json!({})).await;
    assert!(small.get("errors").is_none(), "{small}");
    let big = alice
        .graphql(&format!("{{ tasks {{ {FIELDS} }} }}"), json!({}))
        .await;
    assert!(
        big["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{big}"
    );
}

async fn introspection_can_be_turned_off(backend: Backend) {
    let app = start_app!(backend, "--graphql-introspection" => "false");
    let body = app
        .anonymous()
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        body["data"]["__schema"]["queryType"].is_null(),
        "no schema revealed: {body}"
    );
    let body = app
        .anonymous()
        .graphql("{ __type(name: \"Task\") { name } }", json!({}))
        .await;
    assert!(
        body["data"]["__type"]["name"].is_null(),
        "no type revealed: {body}"
    );
    let alice = app.user("alice");
    assert_eq!(
        alice.graphql_data("{ viewer { id } }", json!({})).await["viewer"]["id"],
        "alice"
    );
}

#[test]
fn checked_in_schema_matches_the_code() {
    let expected = todo_api::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == expected,
        "schema.graphql is out of date with the code; regenerate it with\n\n    cargo run -- print-schema > schema.graphql\n"
    );
}

/// A document sent again must meet every limit again (no state kept between requests lets it
/// past), and one app's limits are not another's. (Introspection depth is measured apart,
/// under fixed bounds, so it is not exercised here.)
async fn repeated_documents_are_checked_under_each_apps_limits(backend: Backend) {
    let app = start_app!(backend, "--graphql-max-complexity" => "40");
    let alice = app.user("alice");
    let aliases: String = (0..31).map(|n| format!("a{n}: __typename ")).collect();
    let too_many = json!({"query": format!("{{ {aliases} }}")});
    let small = "{ tasks { id title } }";
    let big = format!("{{ tasks {{ {FIELDS} }} }}");
    for _ in 0..3 {
        let refused = alice
            .request(Method::POST, "/graphql", Some(too_many.clone()))
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        let ok = alice.graphql(small, json!({})).await;
        assert!(ok.get("errors").is_none(), "{ok}");
        let body = alice.graphql(&big, json!({})).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("complex"),
            "{body}"
        );
        // A cached document still needs a token for the fields that do.
        let anonymous = app.anonymous().graphql(small, json!({})).await;
        assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
        // The same text with other variables is measured again: complexity reads `first`.
        let paged = "query($n: Int) { tasksConnection(first: $n) { nodes { id } } }";
        let fits = alice.graphql(paged, json!({"n": 3})).await;
        assert!(fits.get("errors").is_none(), "{fits}");
        let over = alice.graphql(paged, json!({"n": 50})).await;
        assert_eq!(
            over["errors"][0]["message"], "Query is too complex.",
            "{over}"
        );
        assert_eq!(over["data"], Value::Null, "{over}");
    }
    // The same text under stricter limits elsewhere: refused there, still fine here.
    let fine: String = (0..20).map(|n| format!("a{n}: __typename ")).collect();
    let fine = format!("{{ {fine} }}");
    let strict = start_app!(backend, "--graphql-max-aliases" => "10");
    assert!(
        alice
            .graphql(&fine, json!({}))
            .await
            .get("errors")
            .is_none()
    );
    let refused = strict
        .user("alice")
        .request(Method::POST, "/graphql", Some(json!({"query": fine})))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
}
