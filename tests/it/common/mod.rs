//! TestApp: the real server on an ephemeral port over a fresh database, with real signed tokens.
//!
//! Every behaviour test is written once as `async fn name(app: TestApp)` and listed in
//! `backend_tests!`, which runs it on SQLite and on PostgreSQL. PostgreSQL is mandatory when
//! `CI` (or `TODO_API_REQUIRE_POSTGRES`) is set: an unreachable server is then a failure.

#![allow(dead_code)]

pub mod admin;
pub mod binary;
pub mod cluster;
pub mod direct;
pub mod jwks;
pub mod live;
pub mod other_writer;
pub mod pg;
pub mod pgbouncer;
pub mod proxy;
pub mod receiver;
pub mod reuse;
pub mod template;

use std::time::Duration;

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use todo_api::auth::{SecretKey, mint_token};

/// The shared secret the test servers verify with.
pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256!!";

/// Whatever process-wide state a test needs, set up once and idempotently: rustls' crypto
/// provider (reqwest and the PostgreSQL TLS connector refuse to work without one). Every helper
/// that starts something calls it, so a test run alone (`cargo test <name>`, or nextest's
/// process per test) finds the same state as one run after others.
pub fn setup() {
    todo_api::install_crypto_provider();
    // `TEST_LOG=<filter>` (e.g. `TEST_LOG=todo_api=debug`) prints the in-process servers' logs
    // to the test's stderr: what a 500 was, which its body never says.
    static LOGS: std::sync::Once = std::sync::Once::new();
    LOGS.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

/// A fresh HTTP client builder, after `setup()`: tests build clients through this, never
/// `reqwest::Client::builder()` directly, which panics when no test has installed a provider.
///
/// It trusts no certificate authority (`tls_certs_only` with none): the tests' clients speak
/// plain HTTP to servers on 127.0.0.1, and otherwise every client built would load and parse
/// the system's whole CA bundle (rustls-platform-verifier), about 4 % of the suite's CPU in a
/// debug build. A test that needs HTTPS adds its own CA (`tls_certs_only([its CA])`).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    setup();
    reqwest::Client::builder().tls_certs_only(std::iter::empty::<reqwest::Certificate>())
}

/// A default HTTP client, after `setup()` (see `http_client_builder`).
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("an HTTP client")
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and what it needs to be torn down.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    server: tokio::task::JoinHandle<()>,
    _database: DatabaseGuard,
    /// Development mode's secret file lives here.
    _scratch: Option<tempfile::TempDir>,
}

enum DatabaseGuard {
    Sqlite(tempfile::TempDir),
    Postgres(pg::TempDatabase),
    /// A database the test brought (`TestAppBuilder::database_url`).
    External,
}

/// Builder for a TestApp with extra settings.
pub struct TestAppBuilder {
    backend: Backend,
    args: Vec<String>,
    database_url: Option<String>,
    development: bool,
    webhooks_careful: bool,
}

impl TestAppBuilder {
    /// Adds `--flag value` settings.
    pub fn arg(mut self, flag: &str, value: &str) -> Self {
        self.args.push(flag.to_owned());
        self.args.push(value.to_owned());
        self
    }

    /// Uses this database instead of a fresh one (the caller owns it and cleans it up).
    pub fn database_url(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }

    /// Holds the webhook worker in its careful mode (the few slots it keeps while the
    /// database is busy), which a test cannot bring about without starving its own requests.
    pub fn webhooks_careful(mut self) -> Self {
        self.webhooks_careful = true;
        self
    }

    /// Development mode, as `serve` enters it with no verification configured: no shared
    /// secret, a generated development secret (in a temporary file).
    pub fn development(mut self) -> Self {
        self.development = true;
        self
    }

    /// Starts the server; `None` when this is PostgreSQL and it is unreachable outside CI.
    pub async fn start(self) -> Option<TestApp> {
        setup();
        let (url, guard) = match (self.database_url, self.backend) {
            (Some(url), _) => (url, DatabaseGuard::External),
            // A copy of the migrated template: the server's migration check at start finds
            // nothing to do (`schema::the_server_migrates_a_fresh_database` proves it does it).
            (None, Backend::Sqlite) => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = template::sqlite_url(dir.path());
                (url, DatabaseGuard::Sqlite(dir))
            }
            (None, Backend::Postgres) => {
                let db = pg::TempDatabase::migrated().await?;
                (db.url.clone(), DatabaseGuard::Postgres(db))
            }
        };
        let mut args = vec!["--database-url".to_owned(), url];
        let scratch = if self.development {
            let dir = tempfile::tempdir().expect("temp dir");
            args.push("--dev-secret-file".to_owned());
            args.push(dir.path().join("dev-secret").display().to_string());
            Some(dir)
        } else {
            args.push("--auth-secret".to_owned());
            args.push(SECRET.to_owned());
            None
        };
        args.extend(self.args);
        let mut app = start_with_args(args, self.backend, guard, self.webhooks_careful).await;
        app._scratch = scratch;
        Some(app)
    }
}

async fn start_with_args(
    args: Vec<String>,
    backend: Backend,
    guard: DatabaseGuard,
    webhooks_careful: bool,
) -> TestApp {
    let settings = todo_api::config::settings_from_args(args).expect("test settings parse");
    let config = settings.validate().expect("test settings are valid");
    let config = todo_api::enter_development_mode(config).expect("development mode");
    let state = todo_api::AppState::build(config)
        .await
        .expect("app state builds");
    if webhooks_careful {
        state.webhooks.keep_careful();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = tokio::spawn(async move {
        // As the binary serves (connection cap, layers), minus the signal handling.
        todo_api::server::serve_on(listener, state, std::future::pending())
            .await
            .expect("server runs");
    });
    let client = http_client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    TestApp {
        base: format!("http://{addr}"),
        client,
        backend,
        server,
        _database: guard,
        _scratch: None,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// A builder for a server with extra settings.
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            args: Vec::new(),
            database_url: None,
            development: false,
            webhooks_careful: false,
        }
    }

    /// A token for `user` signed with the test secret, valid for an hour.
    pub fn token(&self, user: &str) -> String {
        token_for(user)
    }

    /// A client acting as `user`.
    pub fn user(&self, user: &str) -> UserClient<'_> {
        UserClient {
            app: self,
            user: user.to_owned(),
            token: Some(self.token(user)),
        }
    }

    /// A client with no token.
    pub fn anonymous(&self) -> UserClient<'_> {
        UserClient {
            app: self,
            user: "anonymous".into(),
            token: None,
        }
    }

    /// A client sending this exact token.
    pub fn with_token(&self, user: &str, token: &str) -> UserClient<'_> {
        UserClient {
            app: self,
            user: user.into(),
            token: Some(token.to_owned()),
        }
    }

    /// A raw request: full control over headers and body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        TestResponse::from(request.send().await.expect("request is sent")).await
    }
}

/// A token for `user` signed with the test secret.
pub fn token_for(user: &str) -> String {
    mint_token(
        &SecretKey::new(SECRET.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
        user,
        Duration::from_secs(3600),
        None,
        None,
    )
    .expect("token signs")
}

/// Requests as one user.
pub struct UserClient<'a> {
    pub app: &'a TestApp,
    pub user: String,
    token: Option<String>,
}

impl UserClient<'_> {
    /// `/api/{this user}/tasks` + `suffix`.
    pub fn tasks_path(&self, suffix: &str) -> String {
        format!("/api/{}/tasks{suffix}", self.user)
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        TestResponse::from(request.send().await.expect("request is sent")).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str) -> TestResponse {
        self.request(Method::PATCH, path, None).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.request(Method::DELETE, path, None).await
    }

    /// Creates a task through REST and returns its JSON.
    pub async fn create_task(&self, title: &str) -> Value {
        self.post(&self.tasks_path(""), json!({ "title": title }))
            .await
            .good(StatusCode::CREATED)
    }

    /// Runs a GraphQL operation (POST, JSON) and returns the whole response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .request(
                Method::POST,
                "/graphql",
                Some(json!({"query": query, "variables": variables})),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "GraphQL answered {}",
            response.text
        );
        response.json()
    }

    /// Runs a GraphQL operation that must succeed and returns its `data`.
    pub async fn graphql_data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "unexpected GraphQL errors: {body}"
        );
        body["data"].clone()
    }
}

/// A response read in full.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl TestResponse {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body reads");
        TestResponse {
            status,
            headers,
            text,
        }
    }

    /// The body as JSON (fails loudly if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn good(&self, expected: StatusCode) -> Value {
        assert_eq!(
            self.status, expected,
            "unexpected status; body: {}",
            self.text
        );
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts a FastAPI `{"detail": "..."}` error.
    #[track_caller]
    pub fn detail(&self, expected_status: StatusCode, expected_detail: &str) {
        assert_eq!(
            self.status, expected_status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(self.json(), json!({ "detail": expected_detail }));
    }

    /// Asserts a 422 and returns the `detail` list.
    #[track_caller]
    pub fn validation(&self) -> Vec<Value> {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: {}",
            self.text
        );
        self.json()["detail"]
            .as_array()
            .expect("detail is a list")
            .clone()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Asserts that a 422 `detail` list has an entry at `loc` with `type`.
#[track_caller]
pub fn assert_error_at(detail: &[Value], loc: Value, kind: &str) {
    assert!(
        detail.iter().any(|e| e["loc"] == loc && e["type"] == kind),
        "no {kind} error at {loc} in {detail:?}"
    );
    for entry in detail {
        for key in ["type", "loc", "msg", "input"] {
            assert!(entry.get(key).is_some(), "error entry lacks {key}: {entry}");
        }
    }
}

/// Runs each listed `async fn(TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::builder($crate::common::Backend::Sqlite)
                        .start()
                        .await
                        .expect("SQLite test app");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::builder($crate::common::Backend::Postgres)
                        .start()
                        .await
                    else {
                        return;
                    };
                    super::$name(app).await;
                }
            )*
        }
    };
}

/// Runs each listed `async fn(Backend)` on SQLite and on PostgreSQL: for tests that start
/// their own server with extra settings (`TestApp::builder(backend).arg(..).start()`).
#[macro_export]
macro_rules! backend_cases {
    ($($name:ident),* $(,)?) => {
        mod sqlite_cases {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres_cases {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Starts an app with extra settings, or returns from the test when PostgreSQL is
/// unavailable outside CI.
#[macro_export]
macro_rules! start_app {
    ($backend:expr $(, $flag:expr => $value:expr)* $(,)?) => {
        match $crate::common::TestApp::builder($backend)$(.arg($flag, $value))*.start().await {
            Some(app) => app,
            None => return,
        }
    };
}
