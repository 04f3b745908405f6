//! `POST /dev/token`: development mode's sign-in, used by GraphiQL's "Sign in" panel. It mints
//! a token for any user id with the development secret, so it exists only in development
//! mode (no verification configured, listening on loopback); otherwise the route is not
//! mounted and the path is a 404 like any unknown one.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::config::Config;

/// The endpoint's path.
pub const PATH: &str = "/dev/token";

/// Lifetime of a development sign-in token.
const TTL: Duration = Duration::from_secs(3600);

/// The request body: `{"user_id": "alice"}`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    user_id: String,
}

/// Mints a token for the user id; 422 with the reason when the id would be refused.
pub async fn mint(
    State(config): State<Arc<Config>>,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(SignIn { user_id }) = match body {
        Ok(body) => body,
        Err(rejection) => {
            let detail = format!(
                "send {{\"user_id\": \"…\"}} as JSON: {}",
                rejection.body_text()
            );
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "detail": detail })),
            )
                .into_response();
        }
    };
    match config.auth.mint(&user_id, TTL) {
        Ok(token) => Json(json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": TTL.as_secs(),
            "user_id": user_id,
        }))
        .into_response(),
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "detail": problem })),
        )
            .into_response(),
    }
}
