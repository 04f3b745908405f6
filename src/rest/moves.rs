//! `POST /api/{user_id}/tasks/{id}/move`: manual order and re-parenting. Parses the body
//! ([`TaskMove`], FastAPI-style 422s), calls `TaskService::move_task`, renders the task as
//! the other task writes do (ETag, `Idempotency-Key`, `If-Match`). The rules are the
//! service's (`tasks::order::moves`).

use axum::body::Bytes;
use axum::response::Response;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{object, optional_id};
use super::conditional::{Refused, written_response};
use super::extract::ItemWriteParts;
use super::idempotency::task_ok;
use super::json::TaskJson;
use super::openapi::{IfMatchHeader, Slashed, TaskPath};
use super::write_docs::{KeyHeader, UpdateErrors};
use crate::AppState;
use crate::error::{AppError, FieldError};
use crate::tasks::MoveTask;

/// The route and its documentation; also under a trailing slash.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().slashed(routes!(move_task))
}

/// Body of `POST /api/{user_id}/tasks/{id}/move`. A field left out keeps its current value;
/// other fields are ignored. At most one of `after_id` and `before_id`; with neither, the task
/// goes last in its (new) group.
#[derive(ToSchema)]
pub struct TaskMove {
    /// The destination list (`null`: the inbox). A subtask moves with its parent's list:
    /// give `parent_id` too (`null` to make it top-level) to move one elsewhere. Its own
    /// subtasks follow it.
    #[schema(value_type = Option<i64>)]
    list_id: Option<Option<i64>>,
    /// The destination parent (`null`: the top level): a task of the user's, not this task
    /// nor one of its subtasks, such that the subtree stays at most 3 levels deep.
    #[schema(value_type = Option<i64>)]
    parent_id: Option<Option<i64>>,
    /// Place the task just below this sibling (same list and parent after the move).
    #[schema(value_type = Option<i64>, nullable = false)]
    after_id: Option<i64>,
    /// Place the task just above this sibling (same list and parent after the move).
    #[schema(value_type = Option<i64>, nullable = false)]
    before_id: Option<i64>,
}

impl TaskMove {
    /// Parses the body; every problem is reported at once.
    fn parse(body: &[u8]) -> Result<TaskMove, AppError> {
        let body = object(body)?;
        let mut errors = Vec::new();
        let list_id = optional_id(&body, "list_id", &mut errors);
        let parent_id = optional_id(&body, "parent_id", &mut errors);
        let mut neighbour = |field: &str| match optional_id(&body, field, &mut errors) {
            Some(None) => {
                let message = "Input should be a valid integer (leave the field out instead)";
                errors.push(FieldError::body(field, "int_type", message, Value::Null));
                None
            }
            found => found.flatten(),
        };
        let after_id = neighbour("after_id");
        let before_id = neighbour("before_id");
        if errors.is_empty() {
            Ok(TaskMove {
                list_id,
                parent_id,
                after_id,
                before_id,
            })
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

impl From<TaskMove> for MoveTask {
    fn from(body: TaskMove) -> Self {
        MoveTask {
            list_id: body.list_id,
            parent_id: body.parent_id,
            after_id: body.after_id,
            before_id: body.before_id,
        }
    }
}

#[utoipa::path(
    post, path = "/api/{user_id}/tasks/{id}/move", tag = "tasks",
    params(TaskPath, IfMatchHeader, KeyHeader), request_body = TaskMove,
    responses((status = 200, description = "The moved task (its version one more, a new \
        `position`). Siblings renumbered to make room and subtasks that followed it to another \
        list change too (each with its version, journal entry and event). 404: the task, list, \
        parent or neighbour is not one of the user's; 422: a neighbour outside the destination \
        group, both neighbours, a cycle or a tree deeper than 3 levels", body = TaskJson,
        headers(("ETag" = String, description = "The task's new strong entity-tag"))),
        UpdateErrors)
)]
async fn move_task(w: ItemWriteParts, body: Bytes) -> Result<Response, Refused> {
    let to = TaskMove::parse(&body)?.into();
    let request = w.request(&body);
    let task = w.tasks.move_task(w.write(&request, &task_ok), to).await?;
    Ok(written_response(&task_ok(&task), &task))
}
