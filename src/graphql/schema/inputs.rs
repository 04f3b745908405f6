//! The GraphQL inputs of the task mutations, and the one place each becomes the service's
//! input (`NewTask`, `TaskPatch`): a new writable field is added here and nowhere else in the
//! resolvers. Validation of the values is the service's (`tasks::task::model`), not this file's.

use async_graphql::{ID, InputObject, MaybeUndefined, Result};

use super::error::{parse_id, to_graphql_error};
use super::types::{Category, DateTime, Priority};
use crate::error::{AppError, FieldError};
use crate::tasks::task::fields::task_fields;
use crate::tasks::{NewTask, TaskPatch};

/// Defines the task mutations' inputs and their conversions: the shaped fields here, the
/// writable plain ones from the field table (`tasks::task::fields`): on create optional, in
/// an update absent (left), null (cleared) or a value.
macro_rules! task_inputs {
    ($($column:ident ($inner:ty) {$($create:literal)*} {$($update:literal)*},)*) => {
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
            /// How it repeats: an RRULE of the supported subset (FREQ DAILY / WEEKLY / MONTHLY /
            /// YEARLY, INTERVAL 1–1000, BYDAY for weekly, UNTIL or COUNT 1–10000), e.g.
            /// `FREQ=WEEKLY;BYDAY=MO,TH`; needs a due date. Stored in its canonical spelling.
            pub recurrence: Option<String>,
            /// The IANA time zone its occurrences keep their wall-clock time in (UTC when absent).
            pub time_zone: Option<String>,
            /// When to remind its owner (and its assignee) of it: a `REMINDER` event on
            /// `taskEvents` (and `reminder.due` webhooks) at that time; at or before now, at once.
            /// Absent or null: no reminder.
            pub remind_at: Option<DateTime>,
            /// Up to 20 tags, each 1 to 50 characters after trimming (stored trimmed), unique
            /// ignoring case (a second spelling is BAD_USER_INPUT naming it), kept in the order
            /// given. Absent or null: none.
            pub tags: Option<Vec<String>>,
            /// Create it as a subtask of this task (NOT_FOUND if not the signed-in user's; at most 3
            /// levels deep); it goes into the parent's list. Null: the top level.
            pub parent_id: Option<ID>,
            /// The list to create it in (last in that list); absent or null: the inbox. Another
            /// user's list: NOT_FOUND.
            pub list_id: Option<ID>,
            $(
                $(#[doc = $create])*
                pub $column: Option<$inner>,
            )*
        }

        /// Changes to a task: an absent field is left as it is; `description: null` and
        /// `dueDate: null` clear those fields.
        #[derive(InputObject)]
        pub struct UpdateTaskInput {
            /// New title, 1 to 200 characters after trimming (null is not allowed).
            pub title: MaybeUndefined<String>,
            /// New description, or null to clear it.
            pub description: MaybeUndefined<String>,
            /// New completion state (null is not allowed). Completing a pending repeating task moves
            /// its due date to the next occurrence and leaves it pending.
            pub completed: MaybeUndefined<bool>,
            /// New priority (null is not allowed).
            pub priority: MaybeUndefined<Priority>,
            /// New category (null is not allowed).
            pub category: MaybeUndefined<Category>,
            /// New due date, or null to clear it (which stops a repeating task repeating).
            pub due_date: MaybeUndefined<DateTime>,
            /// New recurrence (an RRULE, as on create), or null to stop repeating. A changed
            /// recurrence, due date or time zone starts the series anew from the due date.
            pub recurrence: MaybeUndefined<String>,
            /// New IANA time zone (null is not allowed).
            pub time_zone: MaybeUndefined<String>,
            /// New reminder time (re-arms it: `remindedAt` back to null), or null to cancel it.
            pub remind_at: MaybeUndefined<DateTime>,
            /// New tags, replacing all of them (same rules as on create); `[]` clears them (null is
            /// not allowed).
            pub tags: MaybeUndefined<Vec<String>>,
            /// Move it to this list (null: the inbox), at the end: as `moveTask` without a neighbour.
            pub list_id: MaybeUndefined<ID>,
            /// Make it a subtask of this task (null: the top level), at the end of its subtasks: as
            /// `moveTask` without a neighbour. The current value leaves it where it is.
            pub parent_id: MaybeUndefined<ID>,
            $(
                $(#[doc = $update])*
                pub $column: MaybeUndefined<$inner>,
            )*
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
                    recurrence: self.recurrence,
                    time_zone: self.time_zone,
                    remind_at: self.remind_at.map(|d| d.0),
                    tags: self.tags,
                    parent_id: self
                        .parent_id
                        .map(|id| parse_id("parentId", &id))
                        .transpose()?,
                    list_id: self
                        .list_id
                        .as_ref()
                        .map(|id| parse_id("listId", id))
                        .transpose()?,
                    $($column: self.$column,)*
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
                    recurrence: clearable(self.recurrence),
                    time_zone: not_null("time_zone", self.time_zone, "string_type")?,
                    remind_at: clearable(self.remind_at).map(|d| d.map(|d| d.0)),
                    tags: not_null("tags", self.tags, "list_type")?,
                    list_id: clearable_id("listId", self.list_id)?,
                    parent_id: clearable_id("parentId", self.parent_id)?,
                    $($column: clearable(self.$column),)*
                    ..TaskPatch::default()
                })
            }
        }
    };
}

task_fields!(writable => task_inputs);

/// An optional id: absent, null or an integer.
pub(super) fn clearable_id(field: &str, value: MaybeUndefined<ID>) -> Result<Option<Option<i64>>> {
    clearable(value)
        .map(|id| id.map(|id| parse_id(field, &id)).transpose())
        .transpose()
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
