//! What a frontend developer meets first, over real HTTP on both backends: the front door at
//! `/` (HTML and JSON), development mode's sign-in endpoint (and its absence otherwise), and
//! CORS for a Next.js dev server in development mode. GraphiQL's page is in tests/graphql.rs.

use crate::common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    front_door_in_production,
    dev_token_endpoint_is_absent_in_production
);

backend_cases!(
    front_door_in_development,
    dev_token_endpoint_signs_in_development,
    dev_token_endpoint_refuses_other_hosts,
    cors_in_development,
    cors_in_production,
);

async fn dev_app(backend: Backend, args: &[(&str, &str)]) -> Option<TestApp> {
    let mut builder = TestApp::builder(backend).development();
    for (flag, value) in args {
        builder = builder.arg(flag, value);
    }
    builder.start().await
}

const LINKS: &[(&str, &str)] = &[
    ("graphql", "/graphql"),
    ("graphiql", "/graphql"),
    ("swagger_ui", "/docs/"),
    ("openapi", "/openapi.json"),
    ("health", "/healthz"),
    ("metrics", "/metrics"),
];

async fn front_door_in_production(app: TestApp) {
    // API clients: JSON.
    let body = app
        .raw(Method::GET, "/", &[("accept", "application/json")], None)
        .await
        .good(StatusCode::OK);
    assert_eq!(body["name"], "todo-api");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    for (key, path) in LINKS {
        assert_eq!(body[*key], *path, "{body}");
        // Every link leads somewhere.
        let target = app.raw(Method::GET, path, &[], None).await;
        assert!(
            target.status.is_success() || target.status == StatusCode::BAD_REQUEST,
            "{path}: {}",
            target.status
        );
    }
    assert_eq!(body["rest"], "/api/{user_id}/tasks");
    assert!(body.get("development").is_none(), "{body}");
    // No Accept header at all (curl): JSON too.
    let plain = app.raw(Method::GET, "/", &[], None).await;
    assert!(plain.header("content-type").unwrap().contains("json"));

    // Browsers: HTML with the same links.
    let page = app
        .raw(Method::GET, "/", &[("accept", "text/html,*/*;q=0.8")], None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    for (_, path) in LINKS {
        assert!(page.text.contains(&format!("href=\"{path}\"")), "{path}");
    }
    assert!(!page.text.contains("Development mode"), "{}", page.text);
}

async fn front_door_in_development(backend: Backend) {
    let Some(app) = dev_app(backend, &[]).await else {
        return;
    };
    let body = app
        .raw(Method::GET, "/", &[("accept", "application/json")], None)
        .await
        .good(StatusCode::OK);
    assert_eq!(body["development"]["token_endpoint"], "/dev/token");
    assert_eq!(
        body["development"]["token_commands"],
        json!(["cargo run -- token alice", "todo-api token alice"])
    );
    let page = app
        .raw(Method::GET, "/", &[("accept", "text/html")], None)
        .await;
    assert!(page.text.contains("Development mode"), "{}", page.text);
    assert!(page.text.contains("cargo run -- token alice"));
    // GraphiQL offers the sign-in.
    let graphiql = app
        .raw(Method::GET, "/graphql", &[("accept", "text/html")], None)
        .await;
    assert!(graphiql.text.contains("data-dev-token=\"/dev/token\""));
}

async fn sign_in(app: &TestApp, body: Value) -> crate::common::TestResponse {
    app.raw(
        Method::POST,
        "/dev/token",
        &[("content-type", "application/json")],
        Some(serde_json::to_vec(&body).unwrap()),
    )
    .await
}

async fn dev_token_endpoint_signs_in_development(backend: Backend) {
    let Some(app) = dev_app(backend, &[]).await else {
        return;
    };
    let signed = sign_in(&app, json!({"user_id": "alice"}))
        .await
        .good(StatusCode::OK);
    assert_eq!(signed["token_type"], "bearer");
    assert_eq!(signed["user_id"], "alice");
    assert_eq!(signed["expires_in"], 3600);
    let access = signed["access_token"].as_str().unwrap().to_owned();

    // The token works on both APIs.
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&access)
        .json(&json!({"query": "{ viewer { id } }"}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["id"], "alice", "{body}");
    let response = app
        .client
        .get(format!("{}/api/alice/tasks", app.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // What the verifier would refuse is not signed.
    for (bad, words) in [
        (json!({"user_id": ""}), "empty"),
        (json!({"user_id": "x".repeat(256)}), "longer than 255"),
        (json!({"user_id": "a\nb"}), "control characters"),
        (json!({}), "user_id"),
    ] {
        let response = sign_in(&app, bad).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            response.text
        );
        assert!(response.text.contains(words), "{words}: {}", response.text);
    }
}

/// DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 is same-origin
/// to the browser, but its requests name that site in `Host`; they get no token.
async fn dev_token_endpoint_refuses_other_hosts(backend: Backend) {
    let Some(app) = dev_app(backend, &[]).await else {
        return;
    };
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let sign_in_as_host = |host: String| {
        let app = &app;
        async move {
            let response = app
                .raw(
                    Method::POST,
                    "/dev/token",
                    &[("content-type", "application/json"), ("host", &host)],
                    Some(br#"{"user_id": "alice"}"#.to_vec()),
                )
                .await;
            (host, response)
        }
    };
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("localhost.evil.example:{port}"),
        format!("10.0.0.1:{port}"),
    ] {
        let (host, response) = sign_in_as_host(host).await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{host}: {}",
            response.text
        );
        assert!(response.text.contains("localhost"), "{}", response.text);
        assert!(!response.text.contains("access_token"), "{}", response.text);
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let (host, response) = sign_in_as_host(host).await;
        assert_eq!(response.status, StatusCode::OK, "{host}: {}", response.text);
    }
}

async fn dev_token_endpoint_is_absent_in_production(app: TestApp) {
    let response = app
        .raw(
            Method::POST,
            "/dev/token",
            &[("content-type", "application/json")],
            Some(br#"{"user_id": "alice"}"#.to_vec()),
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.text);
    let graphiql = app
        .raw(Method::GET, "/graphql", &[("accept", "text/html")], None)
        .await;
    assert!(!graphiql.text.contains("data-dev-token"));
}

/// A browser's preflight from `origin` for a GraphQL POST; the allowed origin, if any.
async fn preflight(app: &TestApp, origin: &str) -> Option<String> {
    let response = app
        .raw(
            Method::OPTIONS,
            "/graphql",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
            ],
            None,
        )
        .await;
    response
        .header("access-control-allow-origin")
        .map(str::to_owned)
}

async fn cors_in_development(backend: Backend) {
    let Some(app) = dev_app(backend, &[]).await else {
        return;
    };
    for origin in ["http://localhost:3000", "http://127.0.0.1:3000"] {
        assert_eq!(preflight(&app, origin).await.as_deref(), Some(origin));
    }
    assert_eq!(preflight(&app, "http://localhost:4000").await, None);
    drop(app);

    // CORS_ORIGINS, when set, decides, even in development mode; empty means none.
    let Some(app) = dev_app(backend, &[("--cors-origins", "http://localhost:5173")]).await else {
        return;
    };
    assert_eq!(preflight(&app, "http://localhost:3000").await, None);
    assert_eq!(
        preflight(&app, "http://localhost:5173").await.as_deref(),
        Some("http://localhost:5173")
    );
    drop(app);
    let Some(app) = dev_app(backend, &[("--cors-origins", "")]).await else {
        return;
    };
    assert_eq!(preflight(&app, "http://localhost:3000").await, None);
}

async fn cors_in_production(backend: Backend) {
    let Some(app) = TestApp::builder(backend).start().await else {
        return;
    };
    // With a secret configured (production), nothing is allowed until CORS_ORIGINS is set.
    assert_eq!(preflight(&app, "http://localhost:3000").await, None);
}
