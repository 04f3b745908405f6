//! `/api/{user_id}/lists` handlers (issue 21): the user's lists, one list, create, update,
//! delete (with `?tasks=delete` or `?tasks=inbox`) and move. Each: authenticate, check the
//! path user (403, as for tasks), parse, call the service, map the result. Every write takes
//! an `Idempotency-Key` (a replay is the stored answer, with `Idempotent-Replayed: true`).
//! A list's answers carry its `ETag` (`"<id>-<version>"`, as a task's); its changes (update,
//! move, delete) take `If-Match` (412 with the list as it is now; 428 without it under
//! REQUIRE_IF_MATCH), as a task's do.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{Refused, tag_of};
use super::extract::ItemWriteParts;
use super::extract::Owner;
use super::idempotency::WriteKey;
use super::list_body::{DeleteListParams, ListCreate, ListDeleted, ListJson, ListMove, ListUpdate};
use super::openapi::{IfMatchHeader, ListPath, Slashed, UserPath};
use super::query::task_id;
use super::write_docs::{KeyHeader, ListChangeErrors, ListWriteErrors, ListsErrors};
use crate::AppState;
use crate::error::AppResult;
use crate::tasks::idempotency::request::{StoredOutcome, keyed};
use crate::tasks::{List, ListDeletion, TaskService, Writer};

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(list_all, list_create))
        .slashed(routes!(list_read, list_update, list_remove))
        .slashed(routes!(move_list))
}

/// A write's response carrying one list: its stored rendering (what a keyed retry replays,
/// with the `ETag` of the list in its body) with the list's `ETag`.
fn list_response(outcome: &StoredOutcome, list: &List) -> Response {
    let mut response = outcome.response();
    let tag = tag_of(list.id, list.version);
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// A response carrying one list, as sent and as stored for a keyed retry.
fn list_outcome(status: StatusCode, list: &List) -> StoredOutcome {
    let body = serde_json::to_string(&ListJson::from(list)).unwrap_or_else(|_| "{}".to_owned());
    StoredOutcome::json(status, body)
}

/// [`list_outcome`] with 200: what a write that changed a list answers.
fn list_ok(list: &List) -> StoredOutcome {
    list_outcome(StatusCode::OK, list)
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
) -> Result<Response, Refused> {
    let new = ListCreate::parse(&body)?.into();
    let request = key.request(&body);
    let render = |list: &List| list_outcome(StatusCode::CREATED, list);
    let once = keyed(request.as_ref(), &render);
    let list = tasks.create_list(Writer { user: &user, once }, new).await?;
    Ok(list_response(&render(&list), &list))
}

#[utoipa::path(
    get, path = "/api/{user_id}/lists/{id}", tag = "lists", params(ListPath),
    responses((status = 200, description = "The list", body = ListJson,
        headers(("ETag" = String, description = "The list's strong entity-tag, `\"<id>-<version>\"`"))),
        ListsErrors)
)]
async fn list_read(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(ListPath { id, .. }): Path<ListPath>,
) -> AppResult<Response> {
    let list = tasks.get_list(&user, task_id(&id)?).await?;
    let tag = tag_of(list.id, list.version);
    Ok(([(header::ETAG, tag)], Json(ListJson::from(&list))).into_response())
}

#[utoipa::path(
    put, path = "/api/{user_id}/lists/{id}", tag = "lists",
    params(ListPath, IfMatchHeader, KeyHeader),
    request_body = ListUpdate,
    responses((status = 200, description = "The updated list (its version one more)",
        body = ListJson), ListChangeErrors)
)]
async fn list_update(w: ItemWriteParts, body: Bytes) -> Result<Response, Refused> {
    let patch = ListUpdate::parse(&body)?.into();
    let request = w.request(&body);
    let list = w
        .tasks
        .update_list(w.write(&request, &list_ok), patch)
        .await?;
    Ok(list_response(&list_ok(&list), &list))
}

#[utoipa::path(
    delete, path = "/api/{user_id}/lists/{id}", tag = "lists",
    params(ListPath, DeleteListParams, IfMatchHeader, KeyHeader),
    responses((status = 200, description = "Deleted, after deleting its tasks (`tasks=delete`: \
        each gets a tombstone and a DELETED event) or moving them to the inbox (`tasks=inbox`: \
        each gets `list_id` null, its version one more and an UPDATED event), all in one \
        transaction. A keyed retry gets this answer again, not a 404", body = ListDeleted),
        ListChangeErrors)
)]
async fn list_remove(w: ItemWriteParts, RawQuery(raw): RawQuery) -> Result<Response, Refused> {
    let what = DeleteListParams::parse(raw.as_deref())?.tasks;
    // The query says what happens to the tasks: it is part of what a retry must repeat.
    let request = w.request(what.outcome().as_bytes());
    let render = |done: &ListDeletion| {
        let body = serde_json::to_string(&ListDeleted::from(done)).unwrap_or_default();
        StoredOutcome::json(StatusCode::OK, body)
    };
    let done = w
        .tasks
        .delete_list(w.write(&request, &render), what)
        .await?;
    Ok(render(&done).response())
}

#[utoipa::path(
    post, path = "/api/{user_id}/lists/{id}/move", tag = "lists",
    params(ListPath, IfMatchHeader, KeyHeader),
    request_body = ListMove,
    responses((status = 200, description = "The moved list, with its new `position` (its \
        version one more). When positions grow long the user's other lists are renumbered \
        (their positions and versions change too)", body = ListJson), ListChangeErrors)
)]
async fn move_list(w: ItemWriteParts, body: Bytes) -> Result<Response, Refused> {
    let placement = ListMove::parse(&body)?.placement();
    let request = w.request(&body);
    let list = w
        .tasks
        .move_list(w.write(&request, &list_ok), placement)
        .await?;
    Ok(list_response(&list_ok(&list), &list))
}
