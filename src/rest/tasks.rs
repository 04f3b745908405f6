//! `/api/{user_id}/tasks` handlers. Each: authenticate, check the path user (403), parse,
//! call the service, map the result.

use std::collections::HashMap;
use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use chrono::{DateTime, Datelike, Timelike, Utc};
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
use crate::tasks::{Task, TaskService};

/// The routes, each also under a trailing slash (FastAPI clients send both).
pub(super) fn router() -> Router<AppState> {
    let collection = get(list).post(create);
    let item = get(read).put(update).delete(remove);
    let complete = patch(toggle);
    Router::new()
        .route("/api/{user_id}/tasks", collection.clone())
        .route("/api/{user_id}/tasks/", collection)
        .route("/api/{user_id}/tasks/{id}", item.clone())
        .route("/api/{user_id}/tasks/{id}/", item)
        .route("/api/{user_id}/tasks/{id}/complete", complete.clone())
        .route("/api/{user_id}/tasks/{id}/complete/", complete)
}

/// The verified user, after checking that the path's `{user_id}` is theirs. Checked before
/// the body or id is even looked at.
struct Owner(AuthUser);

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

/// A task in the FastAPI backend's JSON shape, borrowed from the task: encoding a list makes
/// no copy of any row.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskJson<'a> {
    id: i64,
    user_id: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    completed: bool,
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[schema(value_type = String)]
    updated_at: Timestamp,
}

/// RFC 3339, UTC with `Z`, always six fractional digits, written straight into the output.
#[derive(Debug, Clone, Copy)]
struct Timestamp(DateTime<Utc>);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.timestamp_subsec_micros()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'a> From<&'a Task> for TaskJson<'a> {
    fn from(task: &'a Task) -> Self {
        TaskJson {
            id: task.id,
            user_id: &task.user_id,
            title: &task.title,
            description: task.description.as_deref(),
            completed: task.completed,
            created_at: Timestamp(task.created_at),
            updated_at: Timestamp(task.updated_at),
        }
    }
}

/// The tasks as a JSON array, encoded straight to bytes in a buffer sized for them.
fn json_list(tasks: &[Task]) -> Response {
    let mut body = Vec::with_capacity(2 + tasks.len() * 256);
    match serde_json::to_writer(&mut body, &TaskList(tasks)) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => AppError::Internal(format!("encoding tasks: {e}")).into_response(),
    }
}

/// One task as JSON.
fn json_task(status: StatusCode, task: &Task) -> Response {
    (status, Json(TaskJson::from(task))).into_response()
}

/// A JSON array of tasks.
struct TaskList<'a>(&'a [Task]);

impl Serialize for TaskList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(TaskJson::from))
    }
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath, ListParams),
    responses((status = 200, description = "The user's tasks", body = Vec<TaskJson>), ListErrors)
)]
async fn list(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let query = input::list_query(query.as_deref())?;
    let list = tasks.list(&user, &query).await?;
    Ok(json_list(&list))
}

#[utoipa::path(
    post, path = "/api/{user_id}/tasks", tag = "tasks", params(UserPath), request_body = TaskCreate,
    responses((status = 201, description = "The new task", body = TaskJson), CreateErrors)
)]
async fn create(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    body: Bytes,
) -> AppResult<Response> {
    let new = input::new_task(&body)?;
    let task = tasks.create(&user, new).await?;
    Ok(json_task(StatusCode::CREATED, &task))
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/{id}", tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task", body = TaskJson), ItemErrors)
)]
async fn read(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let task = tasks.get(&user, input::task_id(&id)?).await?;
    Ok(json_task(StatusCode::OK, &task))
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
) -> AppResult<Response> {
    let id = input::task_id(&id)?;
    let patch = input::task_patch(&body)?;
    let task = tasks.update(&user, id, patch).await?;
    Ok(json_task(StatusCode::OK, &task))
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
) -> AppResult<Response> {
    let task = tasks.toggle(&user, input::task_id(&id)?).await?;
    Ok(json_task(StatusCode::OK, &task))
}
