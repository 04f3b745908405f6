//! The REST compatibility layer: `/api/{user_id}/tasks…`, a drop-in for the FastAPI + SQLModel
//! backend that existing frontends call (same paths, JSON, status codes and error bodies).
//!
//! Handlers parse input, call one `TaskService` function and map the result. They never touch
//! diesel or the schema.

mod input;
mod live;
pub mod openapi;
mod tasks;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

/// The `/api` routes.
pub fn router() -> Router<AppState> {
    tasks::router().merge(live::router())
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
