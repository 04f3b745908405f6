//! The OpenAPI document at `/openapi.json` and Swagger UI at `/docs`, served from the binary.

use crate::common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every REST operation: (method, path template, names a resource that may be absent (404),
/// takes a body).
const OPERATIONS: &[(&str, &str, bool, bool)] = &[
    ("get", "/api/{user_id}/tasks", false, false),
    ("get", "/api/{user_id}/tasks/stats", false, false),
    ("post", "/api/{user_id}/tasks", false, true),
    ("get", "/api/{user_id}/tasks/{id}", true, false),
    ("put", "/api/{user_id}/tasks/{id}", true, true),
    ("delete", "/api/{user_id}/tasks/{id}", true, false),
    ("patch", "/api/{user_id}/tasks/{id}/complete", true, false),
    ("post", "/api/{user_id}/tasks/{id}/move", true, true),
    ("get", "/api/{user_id}/tasks/changes", false, false),
    ("get", "/api/{user_id}/tasks/events", false, false),
    ("get", "/api/{user_id}/tags", false, false),
    ("put", "/api/{user_id}/tags/{name}", true, true),
    ("delete", "/api/{user_id}/tags/{name}", true, false),
    ("get", "/api/{user_id}/lists", false, false),
    ("post", "/api/{user_id}/lists", false, true),
    ("get", "/api/{user_id}/lists/{id}", true, false),
    ("put", "/api/{user_id}/lists/{id}", true, true),
    ("delete", "/api/{user_id}/lists/{id}", true, false),
    ("post", "/api/{user_id}/lists/{id}/move", true, true),
    ("get", "/api/{user_id}/lists/{id}/members", true, false),
    ("post", "/api/{user_id}/lists/{id}/members", true, true),
    (
        "put",
        "/api/{user_id}/lists/{id}/members/{member_id}",
        true,
        true,
    ),
    (
        "delete",
        "/api/{user_id}/lists/{id}/members/{member_id}",
        true,
        false,
    ),
    ("get", "/api/{user_id}/lists/{id}/invites", true, false),
    ("post", "/api/{user_id}/lists/{id}/invites", true, true),
    (
        "delete",
        "/api/{user_id}/lists/{id}/invites/{token}",
        true,
        false,
    ),
    ("post", "/api/{user_id}/invites/{token}/accept", true, false),
    ("get", "/api/{user_id}/webhooks", false, false),
    ("post", "/api/{user_id}/webhooks", false, true),
    ("get", "/api/{user_id}/webhooks/{id}", true, false),
    ("patch", "/api/{user_id}/webhooks/{id}", true, true),
    ("delete", "/api/{user_id}/webhooks/{id}", true, false),
    (
        "post",
        "/api/{user_id}/webhooks/{id}/rotate-secret",
        true,
        false,
    ),
    ("post", "/api/{user_id}/webhooks/{id}/test", true, false),
    (
        "get",
        "/api/{user_id}/webhooks/{id}/deliveries",
        true,
        false,
    ),
];

async fn app() -> TestApp {
    TestApp::builder(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite test app")
}

/// Follows a local `$ref` (`#/components/schemas/Task`).
fn resolve<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    spec.pointer(pointer)
}

/// The names of an operation's parameters in `location` (`path`, `query`).
fn parameters<'a>(operation: &'a Value, location: &str) -> Vec<&'a str> {
    operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == location)
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

fn check_refs(spec: &Value, node: &Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                assert!(
                    resolve(spec, reference).is_some(),
                    "dangling $ref {reference}"
                );
            }
            map.values().for_each(|v| check_refs(spec, v));
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(spec, v)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_lists_every_rest_route() {
    let app = app().await;
    let response = app.anonymous().get("/openapi.json").await;
    let spec = response.good(StatusCode::OK);
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );

    let paths = spec["paths"].as_object().expect("paths");
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        OPERATIONS.len(),
        "operations in the spec: {paths:?}"
    );
    for (method, path, takes_id, takes_body) in OPERATIONS {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not in the spec");
        let responses = operation["responses"].as_object().unwrap();
        let mut expected = vec!["401", "403", "422", "429", "500", "503"];
        if *takes_id {
            expected.push("404");
        }
        if *takes_body {
            expected.push("413");
            assert!(
                operation["requestBody"].is_object(),
                "{method} {path} has no body schema"
            );
        }
        for status in expected {
            assert!(
                responses.contains_key(status),
                "{method} {path} lacks {status}"
            );
        }
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} has no success response"
        );
        let params = parameters(operation, "path");
        // The template's own `{…}` segments, in order.
        let wanted: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(params, wanted, "{method} {path} path parameters");
    }
    let list_params = parameters(&spec["paths"]["/api/{user_id}/tasks"]["get"], "query");
    assert_eq!(
        list_params,
        [
            "status",
            "sort",
            "sort_by",
            "order",
            "priority",
            "category",
            "search",
            "due_before",
            "due_after",
            "overdue",
            "tag",
            "any_tag",
            "parent_id",
            "limit",
            "list_id",
            "assignee",
            "cursor"
        ]
    );
    let paged = &spec["paths"]["/api/{user_id}/tasks"]["get"]["responses"]["200"]["headers"];
    for name in ["Link", "X-Total-Count"] {
        assert!(
            paged[name].is_object(),
            "the list's 200 lacks the {name} header"
        );
    }
    let task = &spec["components"]["schemas"]["Task"]["properties"];
    for field in ["priority", "category", "due_date", "completed_at"] {
        assert!(task[field].is_object(), "Task lacks {field}: {task}");
    }

    let headers = &spec["paths"]["/api/{user_id}/tasks"]["get"]["responses"]["429"]["headers"];
    for name in ["Retry-After", "RateLimit", "RateLimit-Policy"] {
        assert!(headers[name].is_object(), "429 lacks the {name} header");
    }

    let scheme = &spec["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(spec["security"][0]["bearer"], serde_json::json!([]));

    let task = &spec["components"]["schemas"]["Task"]["properties"];
    for field in [
        "id",
        "user_id",
        "title",
        "description",
        "completed",
        "created_at",
        "updated_at",
    ] {
        assert!(task[field].is_object(), "Task schema lacks {field}");
    }
    for schema in ["TaskCreate", "TaskUpdate", "Detail", "ValidationErrors"] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "no {schema} schema"
        );
    }
    check_refs(&spec, &spec);
}

/// Each documented operation is served at its path (answered by its handler, not 404/405).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let app = app().await;
    let alice = app.user("alice");
    let task = alice.create_task("Documented").await;
    let id = task["id"].to_string();
    // A tag on a task of its own, so that deleting the task above leaves it for the tag routes.
    alice
        .post(
            &alice.tasks_path(""),
            serde_json::json!({"title": "Tagged", "tags": ["doc"]}),
        )
        .await
        .good(StatusCode::CREATED);
    let list = alice
        .post(
            "/api/alice/lists",
            serde_json::json!({"name": "Documented"}),
        )
        .await
        .good(StatusCode::CREATED);
    let list_id = list["id"].to_string();
    // DELETE last, so the task is there for the others.
    let (mut deletes, others): (Vec<&(&str, &str, bool, bool)>, Vec<_>) =
        OPERATIONS.iter().partition(|op| op.0 == "delete");
    // A list's members and invites go before the list.
    deletes.sort_by_key(|op| op.1 == "/api/{user_id}/lists/{id}");
    // An invite link for the invite routes (its owner accepting it changes nothing).
    let invite = alice
        .post(
            &format!("/api/alice/lists/{list_id}/invites"),
            serde_json::json!({"role": "viewer"}),
        )
        .await
        .good(StatusCode::CREATED);
    let token = invite["token"].as_str().unwrap().to_owned();
    let hook = alice
        .post(
            "/api/alice/webhooks",
            serde_json::json!({"url": "https://hooks.example.com/doc"}),
        )
        .await
        .good(StatusCode::CREATED);
    let hook_id = hook["id"].to_string();
    for (method, path, _, takes_body) in others.into_iter().chain(deletes) {
        let lists = path.contains("/lists");
        let hooks = path.contains("/webhooks");
        let mut path = path
            .replace("{user_id}", "alice")
            .replace(
                "{id}",
                match (lists, hooks) {
                    (true, _) => &list_id,
                    (_, true) => &hook_id,
                    _ => &id,
                },
            )
            .replace("{name}", "doc")
            .replace("{member_id}", "bob")
            .replace("{token}", &token);
        if lists && method.eq_ignore_ascii_case("delete") {
            path.push_str("?tasks=inbox");
        }
        let method: Method = method.to_uppercase().parse().unwrap();
        if path.ends_with("/events") {
            // A stream that never ends: the status is enough.
            let stream = app
                .client
                .get(format!("{}{path}", app.base))
                .bearer_auth(app.token("alice"))
                .send()
                .await
                .unwrap();
            assert!(
                stream.status().is_success(),
                "GET {path}: {}",
                stream.status()
            );
            continue;
        }
        // A task's body, a list's (each list write its own name), or a tag's new name
        // (renaming `doc` as itself keeps it for DELETE).
        let name = if path.contains("/tags/") {
            "doc".to_owned()
        } else {
            format!("x {method}")
        };
        // (A member's body: whom to share the list with, and as what.)
        let body = takes_body.then(|| {
            serde_json::json!({"title": "x", "name": name, "user_id": "bob", "role": "editor",
                                  "url": "https://hooks.example.com/doc"})
        });
        let response = alice.request(method.clone(), &path, body).await;
        assert!(
            response.status.is_success(),
            "{method} {path}: {} {}",
            response.status,
            response.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_load_from_the_binary() {
    let app = app().await;
    // `/docs` redirects to `/docs/` (reqwest follows it).
    let page = app.raw(Method::GET, "/docs", &[], None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // No CDN: every script and stylesheet is a relative URL served by us.
    assert!(
        !page.text.contains("https://"),
        "the page loads something remote: {}",
        page.text
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let response = app
            .raw(Method::GET, &format!("/docs/{asset}"), &[], None)
            .await;
        assert_eq!(response.status, StatusCode::OK, "/docs/{asset}");
        assert!(response.text.len() > 100, "/docs/{asset} is empty");
    }
    let init = app
        .raw(Method::GET, "/docs/swagger-initializer.js", &[], None)
        .await;
    assert!(init.text.contains("/openapi.json"), "{}", init.text);
}

/// Swagger UI's "Try it out" fills a parameter's `example` (or its schema's) into the form
/// and sends it: an example on an optional filter would quietly filter the list. No
/// optional parameter may carry one; examples live in the description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_optional_parameter_prefills_an_example() {
    let app = app().await;
    let spec = app
        .anonymous()
        .get("/openapi.json")
        .await
        .good(StatusCode::OK);
    let mut optional = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["required"] == Value::Bool(true) {
                    continue;
                }
                optional += 1;
                let name = &parameter["name"];
                for key in ["example", "examples"] {
                    assert!(
                        parameter.get(key).is_none() && parameter["schema"].get(key).is_none(),
                        "{method} {path}: the optional parameter {name} has an {key}: {parameter}"
                    );
                }
            }
        }
    }
    // The list's twelve, `since` twice and `Last-Event-ID`.
    assert!(optional >= 15, "only {optional} optional parameters");
}
