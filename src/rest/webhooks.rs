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
use super::idempotency::WriteKey;
use super::json::TaskJson;
use super::openapi::{Slashed, UserPath, WebhookPath};
use super::query::task_id;
use super::webhook_body::{
    AttemptJson, AttemptsParams, WebhookErrors, WebhookJson, WebhookWithSecret, parse_create,
    parse_update,
};
use super::write_docs::KeyHeader;
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::tasks::Task;
use crate::tasks::idempotency::request::{Keyed, StoredOutcome, keyed};
use crate::tasks::webhooks::WebhookService;
use crate::tasks::webhooks::model::{Created, NewWebhook, Webhook, WebhookPatch};

/// What a keyed write that answers a secret stores: the answer without it (`secret`: null),
/// so that no secret is kept in the clear beside the webhook's own.
fn without_secret(status: StatusCode) -> impl Fn(&Created) -> StoredOutcome {
    move |created| {
        let body = serde_json::to_string(&WebhookWithSecret::replayed(&created.webhook));
        StoredOutcome::json(status, body.unwrap_or_default())
    }
}

/// What a keyed write that answers no body stores.
fn no_body(status: StatusCode) -> impl Fn(&()) -> StoredOutcome {
    move |()| StoredOutcome::json(status, String::new())
}

/// A keyed write of webhook `id` (`write`: delete, test) that answers `status` and no body.
/// The body is not read: a retry is the same request whatever it sends.
async fn answer_no_body<W>(
    hooks: &WebhookService,
    user: &AuthUser,
    id: &str,
    key: &WriteKey,
    status: StatusCode,
    write: W,
) -> AppResult<StatusCode>
where
    W: AsyncFnOnce(&WebhookService, &AuthUser, i64, Option<Keyed<'_, ()>>) -> AppResult<()>,
{
    let request = key.request(b"");
    let render = no_body(status);
    write(hooks, user, task_id(id)?, keyed(request.as_ref(), &render)).await?;
    Ok(status)
}

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
        body = Vec<WebhookJson>), WebhookErrors<false, false, false>)
)]
async fn webhook_list(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
) -> AppResult<Json<Vec<WebhookJson>>> {
    let list = hooks.list(&user).await?;
    Ok(Json(list.iter().map(WebhookJson::from).collect()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/webhooks", tag = "webhooks", params(UserPath, KeyHeader),
    request_body = NewWebhook,
    responses((status = 201, description = "The new webhook, with its secret (shown only \
        here and by rotate-secret; `null` on the replay of a keyed request)",
        body = WebhookWithSecret), WebhookErrors<false, true, true>)
)]
async fn webhook_create(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    key: WriteKey,
    body: Bytes,
) -> AppResult<Response> {
    let input = parse_create(&body)?;
    let request = key.request(&body);
    let render = without_secret(StatusCode::CREATED);
    let created = hooks
        .create(&user, input, keyed(request.as_ref(), &render))
        .await?;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret::from(&created))).into_response())
}

#[utoipa::path(
    get, path = "/api/{user_id}/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses((status = 200, description = "The webhook (no secret)", body = WebhookJson),
        WebhookErrors<true, false, false>)
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
    patch, path = "/api/{user_id}/webhooks/{id}", tag = "webhooks",
    params(WebhookPath, KeyHeader),
    request_body = WebhookPatch,
    responses((status = 200, description = "The changed webhook", body = WebhookJson),
        WebhookErrors<true, true, true>)
)]
async fn webhook_update(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
    key: WriteKey,
    body: Bytes,
) -> AppResult<Response> {
    let id = task_id(&id)?;
    let patch = parse_update(&body)?;
    let request = key.request(&body);
    let render = |hook: &Webhook| {
        let body = serde_json::to_string(&WebhookJson::from(hook)).unwrap_or_default();
        StoredOutcome::json(StatusCode::OK, body)
    };
    let hook = hooks
        .update(&user, id, patch, keyed(request.as_ref(), &render))
        .await?;
    Ok(render(&hook).response())
}

#[utoipa::path(
    delete, path = "/api/{user_id}/webhooks/{id}", tag = "webhooks",
    params(WebhookPath, KeyHeader),
    responses((status = 204, description = "Deleted, with its queued messages and its log"),
        WebhookErrors<true, false, true>)
)]
async fn webhook_delete(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
    key: WriteKey,
) -> AppResult<StatusCode> {
    let delete = WebhookService::delete;
    answer_no_body(&hooks, &user, &id, &key, StatusCode::NO_CONTENT, delete).await
}

#[utoipa::path(
    post, path = "/api/{user_id}/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(WebhookPath, KeyHeader),
    responses((status = 200, description = "The webhook with its new secret (the old one no \
        longer signs anything; `null` on the replay of a keyed request)",
        body = WebhookWithSecret), WebhookErrors<true, false, true>)
)]
async fn webhook_rotate(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
    key: WriteKey,
) -> AppResult<Json<WebhookWithSecret>> {
    let request = key.request(b"");
    let render = without_secret(StatusCode::OK);
    let created = hooks
        .rotate_secret(&user, task_id(&id)?, keyed(request.as_ref(), &render))
        .await?;
    Ok(Json(WebhookWithSecret::from(&created)))
}

#[utoipa::path(
    post, path = "/api/{user_id}/webhooks/{id}/test", tag = "webhooks",
    params(WebhookPath, KeyHeader),
    responses((status = 202, description = "A `webhook.test` message is queued"),
        WebhookErrors<true, false, true>,
        (status = 409, description = "The webhook is disabled (`code`: `WEBHOOK_DISABLED`): \
            it is sent nothing; or a request with this `Idempotency-Key` is still running \
            (`code`: `IDEMPOTENCY_KEY_IN_USE`)", body = crate::error::Detail))
)]
async fn webhook_test(
    Owner(user): Owner,
    State(hooks): State<WebhookService>,
    Path(WebhookPath { id, .. }): Path<WebhookPath>,
    key: WriteKey,
) -> AppResult<StatusCode> {
    let test = WebhookService::test;
    answer_no_body(&hooks, &user, &id, &key, StatusCode::ACCEPTED, test).await
}

#[utoipa::path(
    get, path = "/api/{user_id}/webhooks/{id}/deliveries", tag = "webhooks",
    params(WebhookPath, AttemptsParams),
    responses((status = 200, description = "The latest delivery attempts, newest first",
        body = Vec<AttemptJson>), WebhookErrors<true, false, false>)
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
