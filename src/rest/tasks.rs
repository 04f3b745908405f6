//! `/api/{user_id}/tasks` handlers. Each: authenticate, check the path user (403), parse,
//! call the service, map the result.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{TaskCreate, TaskUpdate};
use super::conditional::{
    Refused, not_modified, not_modified_response, task_response, written_response,
};
use super::extract::{ItemWriteParts, Owner};
use super::idempotency::{WriteKey, task_ok, task_outcome};
use super::json::{StatsJson, TaskJson, json_list, json_list_stream};
use super::openapi::{
    IfMatchHeader, IfNoneMatchHeader, ItemErrors, ListErrors, Slashed, TaskPath, UserPath,
};
use super::query::{ListParams, task_id};
use super::write_docs::{
    FilteredErrors, ItemWriteErrors, KeyHeader, TaskCreateErrors, UpdateErrors,
};
use crate::AppState;
use crate::error::AppResult;
use crate::tasks::idempotency::request::{StoredOutcome, keyed};
use crate::tasks::{Cursor, Task, TaskService, Writer};

/// The routes and their documentation, from one list; each also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .slashed(routes!(list, create))
        // A fixed segment: matched before `{id}`.
        .slashed(routes!(stats))
        .slashed(routes!(read, update, remove))
        .slashed(routes!(toggle))
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath, ListParams),
    responses(
        (status = 200, description = "The user's tasks. With `limit` (or `cursor`), one page of \
            them: the next page's URL is in `Link` and the number over all pages in \
            `X-Total-Count`.", body = Vec<TaskJson>, headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"` when more tasks follow (paged requests only)"),
            ("X-Total-Count" = i64, description = "Tasks matching the filters, over all pages (paged requests only)"),
        )),
        FilteredErrors
    )
)]
async fn list(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (query, page) = ListParams::parse(raw.as_deref())?;
    let Some(page) = page else {
        // The whole list, read and sent a page at a time as the client takes it (what one
        // response holds is bounded); a list of one page goes out whole, as it always did.
        return Ok(match tasks.list_pages(&user, &query).await? {
            (first, None) => json_list(HeaderMap::new(), &first),
            (first, Some(rest)) => json_list_stream(&first, rest),
        });
    };
    let found = tasks.list_page(&user, &query, &page).await?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(found.total));
    if let (true, Some(last)) = (found.has_next, found.tasks.last()) {
        let cursor = Cursor::after(last, &query).encode();
        let link = format!(
            "<{}>; rel=\"next\"",
            next_url(uri.path(), raw.as_deref(), &cursor)
        );
        // Every part comes from the parsed path and re-encoded query: always a valid value.
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    Ok(json_list(headers, &found.tasks))
}

/// The URL of the next page: the request's own path and parameters (as a reference relative
/// to the host, so it holds behind any proxy that keeps paths), with `cursor` replaced.
fn next_url(path: &str, raw_query: Option<&str>, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()) {
        if key != "cursor" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/stats", tag = "tasks", params(UserPath),
    responses((status = 200, description = "Counts over the user's tasks", body = StatsJson), ListErrors)
)]
async fn stats(Owner(user): Owner, State(tasks): State<TaskService>) -> AppResult<Json<StatsJson>> {
    Ok(Json(tasks.stats(&user).await?.into()))
}

#[utoipa::path(
    post, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath, KeyHeader),
    request_body = TaskCreate,
    responses((status = 201, description = "The new task (version 1)", body = TaskJson, headers(
        ("ETag" = String, description = "The task's strong entity-tag, `\"<id>-<version>\"`"),
        ("Idempotent-Replayed" = String, description = "`true` on a replay of a keyed request"),
    )), TaskCreateErrors)
)]
async fn create(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    key: WriteKey,
    body: Bytes,
) -> Result<Response, Refused> {
    let new = TaskCreate::parse(&body)?.into();
    let request = key.request(&body);
    let render = |task: &Task| task_outcome(StatusCode::CREATED, task);
    let once = keyed(request.as_ref(), &render);
    let task = tasks.create(Writer { user: &user, once }, new).await?;
    Ok(written_response(&render(&task), &task))
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath, IfNoneMatchHeader),
    responses(
        (status = 200, description = "The task", body = TaskJson,
            headers(("ETag" = String, description = "The task's strong entity-tag, `\"<id>-<version>\"`"))),
        (status = 304, description = "`If-None-Match` names the task's current ETag (or is `*`): \
            unchanged, no body", headers(("ETag" = String, description = "The task's entity-tag"))),
        ItemErrors
    )
)]
async fn read(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path(TaskPath { id, .. }): Path<TaskPath>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let task = tasks.get(&user, task_id(&id)?).await?;
    if not_modified(&headers, &task) {
        return Ok(not_modified_response(&task));
    }
    Ok(task_response(StatusCode::OK, task))
}

#[utoipa::path(
    put, path = "/api/{user_id}/tasks/{id}", tag = "tasks",
    params(TaskPath, IfMatchHeader, KeyHeader), request_body = TaskUpdate,
    responses((status = 200, description = "The updated task (its version one more)", body = TaskJson,
        headers(("ETag" = String, description = "The task's new strong entity-tag"))),
        UpdateErrors)
)]
async fn update(w: ItemWriteParts, body: Bytes) -> Result<Response, Refused> {
    let patch = TaskUpdate::parse(&body)?.into();
    let request = w.request(&body);
    let task = w.tasks.update(w.write(&request, &task_ok), patch).await?;
    Ok(written_response(&task_ok(&task), &task))
}

#[utoipa::path(
    delete, path = "/api/{user_id}/tasks/{id}", tag = "tasks",
    params(TaskPath, IfMatchHeader, KeyHeader),
    responses((status = 204, description = "Deleted; the body is empty. A keyed retry gets \
        this 204 again (`Idempotent-Replayed: true`), not a 404"), ItemWriteErrors)
)]
async fn remove(w: ItemWriteParts) -> Result<Response, Refused> {
    let request = w.request(&[]);
    let render = |_: &()| StoredOutcome::json(StatusCode::NO_CONTENT, String::new());
    w.tasks.delete(w.write(&request, &render)).await?;
    Ok(render(&()).response())
}

#[utoipa::path(
    patch, path = "/api/{user_id}/tasks/{id}/complete", tag = "tasks",
    params(TaskPath, IfMatchHeader, KeyHeader),
    responses((status = 200, description = "The task with `completed` flipped (its version one \
        more; a keyed retry replays the first flip, it does not flip back). A pending repeating \
        task stays pending with its due date moved to the next occurrence and `completed_at` \
        stamped; its last occurrence completes it for good", body = TaskJson,
        headers(("ETag" = String, description = "The task's new strong entity-tag"))),
        ItemWriteErrors)
)]
async fn toggle(w: ItemWriteParts) -> Result<Response, Refused> {
    let request = w.request(&[]);
    let task = w.tasks.toggle(w.write(&request, &task_ok)).await?;
    Ok(written_response(&task_ok(&task), &task))
}
