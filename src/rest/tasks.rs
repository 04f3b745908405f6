//! `/api/{user_id}/tasks` handlers. Each: authenticate, check the path user (403), parse,
//! call the service, map the result.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, OriginalUri, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::input;
use super::openapi::{
    CreateErrors, ItemErrors, ListErrors, ListParams, TaskCreate, TaskPath, TaskUpdate,
    UpdateErrors, UserPath,
};
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::tasks::{Category, Cursor, Priority, Task, TaskService, TaskStats};

/// The routes, each also under a trailing slash (FastAPI clients send both).
pub(super) fn router() -> Router<AppState> {
    let collection = get(list).post(create);
    let stats = get(stats);
    let item = get(read).put(update).delete(remove);
    let complete = patch(toggle);
    Router::new()
        .route("/api/{user_id}/tasks", collection.clone())
        .route("/api/{user_id}/tasks/", collection)
        // A fixed segment: matched before `{id}`.
        .route("/api/{user_id}/tasks/stats", stats.clone())
        .route("/api/{user_id}/tasks/stats/", stats)
        .route("/api/{user_id}/tasks/{id}", item.clone())
        .route("/api/{user_id}/tasks/{id}/", item)
        .route("/api/{user_id}/tasks/{id}/complete", complete.clone())
        .route("/api/{user_id}/tasks/{id}/complete/", complete)
}

/// The verified user, after checking that the path's `{user_id}` is theirs. Checked before
/// the body or id is even looked at.
pub(super) struct Owner(pub(super) AuthUser);

impl FromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        state.limiter.check(&user)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Forbidden)?;
        match params.get("user_id") {
            Some(path_user) if path_user == user.id() => Ok(Owner(user)),
            _ => Err(AppError::Forbidden),
        }
    }
}

/// A task in the FastAPI backend's JSON shape.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskJson {
    id: i64,
    user_id: String,
    title: String,
    description: Option<String>,
    completed: bool,
    created_at: String,
    updated_at: String,
    priority: PriorityName,
    category: CategoryName,
    /// RFC 3339 UTC with `Z`, or `null`.
    due_date: Option<String>,
    /// When the task was last completed; `null` while it is pending.
    completed_at: Option<String>,
}

/// A task's priority on the wire.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Priority)]
pub enum PriorityName {
    High,
    Medium,
    Low,
    None,
}

impl From<Priority> for PriorityName {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::High => PriorityName::High,
            Priority::Medium => PriorityName::Medium,
            Priority::Low => PriorityName::Low,
            Priority::None => PriorityName::None,
        }
    }
}

/// A task's category on the wire.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Category)]
pub enum CategoryName {
    Work,
    Personal,
    Shopping,
    Health,
    Other,
}

impl From<Category> for CategoryName {
    fn from(category: Category) -> Self {
        match category {
            Category::Work => CategoryName::Work,
            Category::Personal => CategoryName::Personal,
            Category::Shopping => CategoryName::Shopping,
            Category::Health => CategoryName::Health,
            Category::Other => CategoryName::Other,
        }
    }
}

/// Counts over the user's tasks.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TaskStats)]
pub struct StatsJson {
    /// Every task.
    total: i64,
    /// Not completed.
    pending: i64,
    /// Completed.
    completed: i64,
    /// Pending and due before now.
    overdue: i64,
    /// Tasks per priority: `high`, `medium`, `low`, `none` (each present, 0 when none).
    #[schema(value_type = Object, example = json!({"high": 1, "medium": 0, "low": 2, "none": 5}))]
    by_priority: BTreeMap<&'static str, i64>,
    /// Tasks per category: `work`, `personal`, `shopping`, `health`, `other`.
    #[schema(value_type = Object, example = json!({"work": 3, "personal": 1, "shopping": 0, "health": 0, "other": 4}))]
    by_category: BTreeMap<&'static str, i64>,
}

impl From<TaskStats> for StatsJson {
    fn from(stats: TaskStats) -> Self {
        StatsJson {
            total: stats.total,
            pending: stats.pending,
            completed: stats.completed,
            overdue: stats.overdue,
            by_priority: stats
                .by_priority
                .iter()
                .map(|(p, n)| (p.as_str(), *n))
                .collect(),
            by_category: stats
                .by_category
                .iter()
                .map(|(c, n)| (c.as_str(), *n))
                .collect(),
        }
    }
}

/// RFC 3339, UTC with `Z`, always six fractional digits.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl From<Task> for TaskJson {
    fn from(task: Task) -> Self {
        TaskJson {
            id: task.id,
            user_id: task.user_id,
            title: task.title,
            description: task.description,
            completed: task.completed,
            created_at: timestamp(task.created_at),
            updated_at: timestamp(task.updated_at),
            priority: task.priority.into(),
            category: task.category.into(),
            due_date: task.due_date.map(timestamp),
            completed_at: task.completed_at.map(timestamp),
        }
    }
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
        ListErrors
    )
)]
async fn list(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (query, page) = input::list_query(raw.as_deref())?;
    let Some(page) = page else {
        let list = tasks.list(&user, &query).await?;
        return Ok(Json(list.into_iter().map(TaskJson::from).collect::<Vec<_>>()).into_response());
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
    let body: Vec<TaskJson> = found.tasks.into_iter().map(TaskJson::from).collect();
    Ok((headers, Json(body)).into_response())
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
    post, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath), request_body = TaskCreate,
    responses((status = 201, description = "The new task", body = TaskJson), CreateErrors)
)]
async fn create(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    body: Bytes,
) -> AppResult<(StatusCode, Json<TaskJson>)> {
    let new = input::new_task(&body)?;
    let task = tasks.create(&user, new).await?;
    Ok((StatusCode::CREATED, Json(task.into())))
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task", body = TaskJson), ItemErrors)
)]
async fn read(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<TaskJson>> {
    let task = tasks.get(&user, input::task_id(&id)?).await?;
    Ok(Json(task.into()))
}

#[utoipa::path(
    put, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath), request_body = TaskUpdate,
    responses((status = 200, description = "The updated task", body = TaskJson), UpdateErrors)
)]
async fn update(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> AppResult<Json<TaskJson>> {
    let id = input::task_id(&id)?;
    let patch = input::task_patch(&body)?;
    Ok(Json(tasks.update(&user, id, patch).await?.into()))
}

#[utoipa::path(
    delete, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath),
    responses((status = 204, description = "Deleted; the body is empty"), ItemErrors)
)]
async fn remove(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    tasks.delete(&user, input::task_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch, path = "/api/{user_id}/tasks/{id}/complete", tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task with `completed` flipped", body = TaskJson), ItemErrors)
)]
async fn toggle(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<TaskJson>> {
    Ok(Json(
        tasks.toggle(&user, input::task_id(&id)?).await?.into(),
    ))
}
