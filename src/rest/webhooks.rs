//! `/api/{user_id}/webhooks` handlers (issue 43): the user's webhooks, one webhook, create,
//! update (PATCH), delete, a new secret, a test message and the attempts log. Each:
//! authenticate, check the path user (403, as for tasks), parse, call `WebhookService`, map
//! the result. The secret is in a create's and a rotation's answer only. Also the task
//! renderer deliveries use ([`task_data`]): the REST task, the one encoder.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Owner;
use super::json::TaskJson;
use super::openapi::{Slashed, UserPath, WebhookPath};
use super::query::task_id;
use super::webhook_body::{
    AttemptJson, AttemptsParams, WebhookCreate, WebhookErrors, WebhookJson, WebhookUpdate,
    WebhookWithSecret,
};
use crate::AppState;
use crate::error::AppResult;
use crate::tasks::Task;
use crate::tasks::webhooks::WebhookService;

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(webhook_list, webhook_create))
        .slashed(routes!(webhook_read, webhook_update, webhook_delete))
        .slashed(routes!(webhook_rotate))
        .slashed(routes!(webhook_test))
        .slashed(routes!(webhook_attempts))
}

/// A delivery's `data` for a task: the task as REST shows it.
pub fn task_data(task: &Task) -> serde_json::Value {
    serde_json::to_value(TaskJson::from(task.clone())).unwrap_or_default()
}

#[utoipa::path(
    get, path = "/api/{user_id}/webhooks", tag = "webhooks", params(UserPath),
    responses((status = 200, description = "The user's webhooks, oldest first (no secrets)",
        body = Vec<WebhookJson>), WebhookErrors<false, false>)
)]
async fn webhook_list(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
) -> AppResult<Json<Vec<WebhookJson>>> {
    let list = hooks.list(&user).await?;
    Ok(Json(list.iter().map(WebhookJson::from).collect()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/webhooks", tag = "webhooks", params(UserPath),
    request_body = WebhookCreate,
    responses((status = 201, description = "The new webhook, with its secret (shown only \
        here and by rotate-secret)", body = WebhookWithSecret), WebhookErrors<false, true>)
)]
async fn webhook_create(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    body: Bytes,
) -> AppResult<Response> {
    let input = WebhookCreate::parse(&body)?.into();
    let created = hooks.create(&user, input).await?;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret::from(&created))).into_response())
}

#[utoipa::path(
    get, path = "/api/{user_id}/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses((status = 200, description = "The webhook (no secret)", body = WebhookJson),
        WebhookErrors<true, false>)
)]
async fn webhook_read(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
) -> AppResult<Json<WebhookJson>> {
    let hook = hooks.get(&user, task_id(&id)?).await?;
    Ok(Json(WebhookJson::from(&hook)))
}

#[utoipa::path(
    patch, path = "/api/{user_id}/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    request_body = WebhookUpdate,
    responses((status = 200, description = "The changed webhook", body = WebhookJson),
        WebhookErrors<true, true>)
)]
async fn webhook_update(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
    body: Bytes,
) -> AppResult<Json<WebhookJson>> {
    let id = task_id(&id)?;
    let patch = WebhookUpdate::parse(&body)?.into();
    let hook = hooks.update(&user, id, patch).await?;
    Ok(Json(WebhookJson::from(&hook)))
}

#[utoipa::path(
    delete, path = "/api/{user_id}/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses((status = 204, description = "Deleted, with its queued messages and its log"),
        WebhookErrors<true, false>)
)]
async fn webhook_delete(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
) -> AppResult<StatusCode> {
    hooks.delete(&user, task_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/{user_id}/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(WebhookPath),
    responses((status = 200, description = "The webhook with its new secret (the old one no \
        longer signs anything)", body = WebhookWithSecret), WebhookErrors<true, false>)
)]
async fn webhook_rotate(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
) -> AppResult<Json<WebhookWithSecret>> {
    let created = hooks.rotate_secret(&user, task_id(&id)?).await?;
    Ok(Json(WebhookWithSecret::from(&created)))
}

#[utoipa::path(
    post, path = "/api/{user_id}/webhooks/{id}/test", tag = "webhooks", params(WebhookPath),
    responses((status = 202, description = "A `webhook.test` message is queued"),
        (status = 409, description = "The webhook is disabled (`code`: `WEBHOOK_DISABLED`): \
            it is sent nothing", body = crate::error::Detail),
        WebhookErrors<true, false>)
)]
async fn webhook_test(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
) -> AppResult<StatusCode> {
    hooks.test(&user, task_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    get, path = "/api/{user_id}/webhooks/{id}/deliveries", tag = "webhooks",
    params(WebhookPath, AttemptsParams),
    responses((status = 200, description = "The latest delivery attempts, newest first",
        body = Vec<AttemptJson>), WebhookErrors<true, false>)
)]
async fn webhook_attempts(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<Vec<AttemptJson>>> {
    let id = task_id(&id)?;
    let limit = AttemptsParams::parse(raw.as_deref())?.limit;
    let attempts = hooks.attempts(&user, id, limit).await?;
    Ok(Json(attempts.iter().map(AttemptJson::from).collect()))
}
