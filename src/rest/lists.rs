//! `/api/{user_id}/lists` handlers (issue 21): the user's lists, one list, create, update,
//! delete (with `?tasks=delete` or `?tasks=inbox`) and move. Each: authenticate, check the
//! path user (403, as for tasks), parse, call the service, map the result. Every write takes
//! an `Idempotency-Key` (a replay is the stored answer, with `Idempotent-Replayed: true`).
//! Lists have a `version` but no `ETag` / `If-Match` (yet): their answers carry no `ETag`,
//! replays included.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::idempotency::WriteKey;
use super::list_body::{DeleteListParams, ListCreate, ListDeleted, ListJson, ListMove, ListUpdate};
use super::openapi::{ListPath, Slashed, UserPath};
use super::query::task_id;
use super::tasks::Owner;
use super::write_docs::{KeyHeader, ListWriteErrors, ListsErrors};
use crate::AppState;
use crate::error::AppResult;
use crate::idempotency::{StoredOutcome, keyed};
use crate::tasks::{List, ListDeletion, TaskService};

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(list_all, list_create))
        .slashed(routes!(list_read, list_update, list_remove))
        .slashed(routes!(move_list))
}

/// A response carrying one list, as sent and as stored for a keyed retry.
fn list_outcome(status: StatusCode, list: &List) -> StoredOutcome {
    let body = serde_json::to_string(&ListJson::from(list)).unwrap_or_else(|_| "{}".to_owned());
    StoredOutcome::json(status, body)
}

#[utoipa::path(
    get, path = "/api/{user_id}/lists", tag = "lists", params(UserPath),
    responses(
        (status = 200, description = "The user's lists, in their manual order (`position`)",
            body = Vec<ListJson>),
        ListsErrors
    )
)]
async fn list_all(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
) -> AppResult<Json<Vec<ListJson>>> {
    let lists = tasks.lists(&user).await?;
    Ok(Json(lists.iter().map(ListJson::from).collect()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/lists", tag = "lists", params(UserPath, KeyHeader),
    request_body = ListCreate,
    responses(
        (status = 201, description = "The new list (version 1), last in the user's order",
            body = ListJson,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replay of a keyed request"))),
        ListWriteErrors
    )
)]
async fn list_create(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    body: Bytes,
) -> AppResult<Response> {
    let new = ListCreate::parse(&body)?.into();
    let request = key.request(&body);
    let render = |list: &List| list_outcome(StatusCode::CREATED, list);
    let list = tasks
        .create_list(&user, new, keyed(request.as_ref(), &render))
        .await?;
    Ok(render(&list).response())
}

#[utoipa::path(
    get, path = "/api/{user_id}/lists/{id}", tag = "lists", params(ListPath),
    responses((status = 200, description = "The list", body = ListJson), ListsErrors)
)]
async fn list_read(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(ListPath { id, .. }): Path<ListPath>,
) -> AppResult<Json<ListJson>> {
    let list = tasks.get_list(&user, task_id(&id)?).await?;
    Ok(Json(ListJson::from(&list)))
}

#[utoipa::path(
    put, path = "/api/{user_id}/lists/{id}", tag = "lists", params(ListPath, KeyHeader),
    request_body = ListUpdate,
    responses((status = 200, description = "The updated list (its version one more)",
        body = ListJson), ListWriteErrors)
)]
async fn list_update(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    Path(ListPath { id, .. }): Path<ListPath>,
    body: Bytes,
) -> AppResult<Response> {
    let id = task_id(&id)?;
    let patch = ListUpdate::parse(&body)?.into();
    let request = key.request(&body);
    let render = |list: &List| list_outcome(StatusCode::OK, list);
    let list = tasks
        .update_list(&user, id, patch, keyed(request.as_ref(), &render))
        .await?;
    Ok(render(&list).response())
}

#[utoipa::path(
    delete, path = "/api/{user_id}/lists/{id}", tag = "lists",
    params(ListPath, DeleteListParams, KeyHeader),
    responses((status = 200, description = "Deleted, after deleting its tasks (`tasks=delete`: \
        each gets a tombstone and a DELETED event) or moving them to the inbox (`tasks=inbox`: \
        each gets `list_id` null, its version one more and an UPDATED event), all in one \
        transaction. A keyed retry gets this answer again, not a 404", body = ListDeleted),
        ListWriteErrors)
)]
async fn list_remove(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    Path(ListPath { id, .. }): Path<ListPath>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let id = task_id(&id)?;
    let what = DeleteListParams::parse(raw.as_deref())?.tasks;
    // The query says what happens to the tasks: it is part of what a retry must repeat.
    let request = key.request(what.outcome().as_bytes());
    let render = |done: &ListDeletion| {
        let body = serde_json::to_string(&ListDeleted::from(done)).unwrap_or_default();
        StoredOutcome::json(StatusCode::OK, body)
    };
    let done = tasks
        .delete_list(&user, id, what, keyed(request.as_ref(), &render))
        .await?;
    Ok(render(&done).response())
}

#[utoipa::path(
    post, path = "/api/{user_id}/lists/{id}/move", tag = "lists", params(ListPath, KeyHeader),
    request_body = ListMove,
    responses((status = 200, description = "The moved list, with its new `position` (its \
        version one more). When positions grow long the user's other lists are renumbered \
        (their positions and versions change too)", body = ListJson), ListWriteErrors)
)]
async fn move_list(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    Path(ListPath { id, .. }): Path<ListPath>,
    body: Bytes,
) -> AppResult<Response> {
    let id = task_id(&id)?;
    let placement = ListMove::parse(&body)?.placement();
    let request = key.request(&body);
    let render = |list: &List| list_outcome(StatusCode::OK, list);
    let list = tasks
        .move_list(&user, id, placement, keyed(request.as_ref(), &render))
        .await?;
    Ok(render(&list).response())
}
