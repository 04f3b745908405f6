//! `/api/{user_id}/tasks` handlers. Each: authenticate, check the path user (403), parse,
//! call the service, map the result.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
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
        }
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
) -> AppResult<Json<Vec<TaskJson>>> {
    let query = input::list_query(query.as_deref())?;
    let list = tasks.list(&user, &query).await?;
    Ok(Json(list.into_iter().map(TaskJson::from).collect()))
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
