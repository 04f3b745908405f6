//! `GET /`: the front door. Browsers get a small HTML page linking to everything (and, in
//! development mode, how to get a token); API clients get the same as JSON. The start-up log
//! prints the same links (see [`Links`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::Config;

/// The places a newcomer looks for, as paths (a JSON client resolves them against `/`).
pub const LINKS: &[(&str, &str, &str)] = &[
    (
        "graphql",
        "/graphql",
        "GraphQL endpoint (POST; WebSocket subscriptions)",
    ),
    ("graphiql", "/graphql", "GraphiQL, in a browser"),
    ("rest", "/api/{user_id}/tasks", "REST API"),
    ("swagger_ui", "/docs/", "Swagger UI for the REST API"),
    ("openapi", "/openapi.json", "OpenAPI document"),
    ("health", "/healthz", "liveness"),
    ("ready", "/readyz", "readiness (database reachable)"),
    ("metrics", "/metrics", "Prometheus metrics"),
];

/// The commands that print a development token, from the source tree and installed.
pub const TOKEN_COMMANDS: [&str; 2] = ["cargo run -- token alice", "todo-api token alice"];

/// The JSON shape of the front door.
pub fn document(config: &Config) -> Value {
    let mut body = json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
    });
    for (key, path, _) in LINKS {
        body[*key] = Value::from(*path);
    }
    if config.is_development() {
        body["development"] = json!({
            "token_endpoint": super::dev_token::PATH,
            "token_commands": TOKEN_COMMANDS,
            "secret_file": config.dev_secret_file.as_ref().map(|p| p.display().to_string()),
        });
    }
    body
}

/// `GET /`.
pub async fn front_door(State(config): State<Arc<Config>>, headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return Json(document(&config)).into_response();
    }
    let links: String = LINKS
        .iter()
        .map(|(_, path, what)| {
            // The REST path is a template, not a page to open.
            if path.contains('{') {
                format!("<li>{what}: <code>{path}</code></li>\n")
            } else {
                format!("<li><a href=\"{path}\">{what}</a> <code>{path}</code></li>\n")
            }
        })
        .collect();
    let development = if config.is_development() {
        format!(
            "<h2>Development mode</h2>\n<p>No token verification is configured, so tokens are \
             signed with a development secret. Sign in from GraphiQL's <em>Sign in</em> panel, \
             or print a token with <code>{}</code> (or <code>{}</code> for an installed \
             binary) and send it as <code>Authorization: Bearer &lt;token&gt;</code>.</p>\n",
            TOKEN_COMMANDS[0], TOKEN_COMMANDS[1]
        )
    } else {
        String::new()
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{name} {version}</title>\n</head>\n<body>\n<h1>{name} {version}</h1>\n\
         <p>A GraphQL and REST API for multi-user todo apps.</p>\n<ul>\n{links}</ul>\n\
         {development}</body>\n</html>\n",
        name = env!("CARGO_PKG_NAME"),
        version = env!("CARGO_PKG_VERSION"),
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}
