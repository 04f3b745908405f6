//! The GraphQL inputs of the task mutations, and the one place each becomes the service's
//! input (`NewTask`, `TaskPatch`): a new writable field is added here and nowhere else in the
//! resolvers. Validation of the values is the service's (`tasks::model`), not this file's.

use async_graphql::{ID, InputObject, MaybeUndefined, Result};

use super::error::{parse_id, to_graphql_error};
use super::types::{Category, DateTime, Priority};
use crate::error::{AppError, FieldError};
use crate::tasks::{NewTask, TaskPatch};

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// 1 to 200 characters after trimming.
    pub title: String,
    /// Up to 1000 characters.
    pub description: Option<String>,
    /// Priority (NONE when absent).
    pub priority: Option<Priority>,
    /// Category (OTHER when absent).
    pub category: Option<Category>,
    /// Due date, if any.
    pub due_date: Option<DateTime>,
    /// The list to create it in (last in that list); absent or null: the inbox. Another
    /// user's list: NOT_FOUND.
    pub list_id: Option<ID>,
}

/// Changes to a task: an absent field is left as it is; `description: null` and
/// `dueDate: null` clear those fields.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// New title, 1 to 200 characters after trimming (null is not allowed).
    pub title: MaybeUndefined<String>,
    /// New description, or null to clear it.
    pub description: MaybeUndefined<String>,
    /// New completion state (null is not allowed).
    pub completed: MaybeUndefined<bool>,
    /// New priority (null is not allowed).
    pub priority: MaybeUndefined<Priority>,
    /// New category (null is not allowed).
    pub category: MaybeUndefined<Category>,
    /// New due date, or null to clear it.
    pub due_date: MaybeUndefined<DateTime>,
}

impl CreateTaskInput {
    /// The service's input; an id that is not one is BAD_USER_INPUT naming its field.
    pub(super) fn into_new(self) -> Result<NewTask> {
        Ok(NewTask {
            title: self.title,
            description: self.description,
            priority: self.priority.map(Into::into),
            category: self.category.map(Into::into),
            due_date: self.due_date.map(|d| d.0),
            list_id: self
                .list_id
                .as_ref()
                .map(|id| parse_id("listId", id))
                .transpose()?,
            ..NewTask::default()
        })
    }
}

impl UpdateTaskInput {
    /// The patch, refusing `null` where a field cannot be cleared (FastAPI's wording).
    pub(super) fn into_patch(self) -> Result<TaskPatch> {
        Ok(TaskPatch {
            title: not_null("title", self.title, "string_type")?,
            description: clearable(self.description),
            completed: not_null("completed", self.completed, "bool_type")?,
            priority: not_null("priority", self.priority, "enum")?.map(Into::into),
            category: not_null("category", self.category, "enum")?.map(Into::into),
            due_date: clearable(self.due_date).map(|d| d.map(|d| d.0)),
            ..TaskPatch::default()
        })
    }
}

/// Absent: leave it; `null`: clear it; a value: set it.
fn clearable<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// Absent: leave it; a value: set it; `null`: a 422-style error, as REST gives.
fn not_null<T>(field: &str, value: MaybeUndefined<T>, expected: &'static str) -> Result<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Value(v) => Ok(Some(v)),
        MaybeUndefined::Null => Err(to_graphql_error(AppError::invalid(FieldError::body(
            field,
            expected,
            format!("{field} cannot be null"),
            serde_json::Value::Null,
        )))),
    }
}
