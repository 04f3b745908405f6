//! The REST compatibility layer: `/api/{user_id}/tasks…`, a drop-in for the FastAPI + SQLModel
//! backend that existing frontends call (same paths, JSON, status codes and error bodies).
//!
//! Handlers parse input, call one `TaskService` function and map the result. They never touch
//! diesel or the schema. Each handler is named once, in its file's `routes!` list: that list
//! both routes it and puts it in the OpenAPI document.

mod body;
mod body_docs;
mod conditional;
mod extract;
mod idempotency;
mod invites;
mod json;
mod list_body;
mod lists;
mod live;
mod members;
mod moves;
pub mod openapi;
mod query;
mod tag_body;
mod tags;
mod tasks;
mod webhook_body;
mod webhooks;
mod write_docs;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub use webhooks::task_data as webhook_task_data;

/// The `/api` routes and the OpenAPI document that describes them, built from one list.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(tasks::router())
        .merge(tags::router())
        .merge(lists::router())
        .merge(members::router())
        .merge(invites::router())
        .merge(live::router())
        .merge(moves::router())
        .merge(webhooks::router())
        .split_for_parts()
}

/// The `/api` routes, plus `/openapi.json` and `/docs` describing them.
pub fn router() -> Router<AppState> {
    let (api, document) = api();
    api.merge(openapi::docs(document))
}

/// FastAPI's body for a path that matches no route.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"detail": "Not Found"})),
    )
        .into_response()
}

/// FastAPI's body for a method the path does not take.
pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({"detail": "Method Not Allowed"})),
    )
        .into_response()
}
