//! The REST layer's JSON output: the task (one encoder, [`TaskView`], which a list streams
//! straight from the borrowed rows), its enums on the wire, and the stats. Each type's
//! schema is derived from it, so the document and the bytes cannot drift apart.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, stream};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::error::{AppError, AppResult};
use crate::tasks::task::fields::task_fields;
use crate::tasks::{Category, Priority, Task, TaskStats, task::time};

/// A wire name with a schema of its own, made from the model's list of names (`ALL`,
/// `as_str`): adding a value to the model's enum adds it here, with no mirror to keep.
macro_rules! wire_enum {
    ($(#[doc = $doc:literal])* $name:ident($model:ident), $schema:literal) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name($model);

        impl From<$model> for $name {
            fn from(value: $model) -> Self {
                $name(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.0.as_str())
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(concat!($($doc),*).trim()))
                    .enum_values(Some($model::ALL.iter().map(|value| value.as_str())))
                    .build()
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }
        }
    };
}

wire_enum!(
    /// A task's priority on the wire.
    PriorityName(Priority),
    "Priority"
);
wire_enum!(
    /// A task's category on the wire.
    CategoryName(Category),
    "Category"
);

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

/// A task's time as the REST JSON spells it (`tasks::task::time`), written straight into the output
/// instead of a `String` of its own.
#[derive(Debug, Clone, Copy)]
struct Timestamp(DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match time::Rfc3339::new(self.0) {
            Some(fast) => serializer.serialize_str(fast.as_str()),
            None => serializer.serialize_str(&time::rfc3339(self.0)),
        }
    }
}

/// Defines [`TaskView`] and its `From`: shaped fields here, plain ones from the field table.
macro_rules! task_view {
    ($($column:ident ($inner:ty) $graphql:literal $doc:tt {$($rest:literal)*},)*) => {
        /// A task in the FastAPI backend's JSON shape.
        // The one REST task encoder. It borrows the task, so encoding a list copies no row and makes
        // no `String` per timestamp (the list is the hot path: benches/README.md). Its derived
        // schema is the document's `Task`.
        #[derive(Serialize, ToSchema)]
        #[schema(as = Task)]
        pub struct TaskView<'a> {
            id: i64,
            user_id: &'a str,
            title: &'a str,
            description: Option<&'a str>,
            completed: bool,
            #[schema(value_type = String)]
            created_at: Timestamp,
            #[schema(value_type = String)]
            updated_at: Timestamp,
            priority: PriorityName,
            category: CategoryName,
            /// RFC 3339 UTC with `Z`, or `null`.
            #[schema(value_type = Option<String>)]
            due_date: Option<Timestamp>,
            /// When the task was last completed; `null` while it is pending, except on a repeating
            /// task, where it is when its last occurrence was completed.
            #[schema(value_type = Option<String>)]
            completed_at: Option<Timestamp>,
            /// 1 when created, one more on every change; the `ETag` is `"<id>-<version>"`.
            #[schema(minimum = 1)]
            version: i64,
            /// The list the task belongs to; `null` is the inbox.
            list_id: Option<i64>,
            /// The task this one is a subtask of; `null` at the top level.
            parent_id: Option<i64>,
            /// Its place among its siblings (same list and parent): compare as plain strings
            /// (byte order), smallest first. Changed only by a move.
            position: &'a str,
            /// Its tags, in the order given.
            tags: &'a [String],
            /// How it repeats (an RRULE, docs/TASK_MODEL.md), or `null`.
            recurrence: Option<&'a str>,
            /// The IANA time zone its occurrences keep their wall-clock time in (default `UTC`).
            time_zone: &'a str,
            /// When its owner (and its assignee) are reminded of it (a `REMINDER` event), RFC 3339
            /// UTC with `Z`; `null`: no reminder.
            #[schema(value_type = Option<String>)]
            remind_at: Option<Timestamp>,
            /// When the current reminder fired; `null` while it is pending or when there is none.
            #[schema(value_type = Option<String>)]
            reminded_at: Option<Timestamp>,
            $(
                $(#[doc = $rest])*
                #[schema(value_type = Option<$inner>)]
                $column: Option<&'a $inner>,
            )*
        }

        impl<'a> From<&'a Task> for TaskView<'a> {
            fn from(task: &'a Task) -> Self {
                TaskView {
                    id: task.id,
                    user_id: &task.user_id,
                    title: &task.title,
                    description: task.description.as_deref(),
                    completed: task.completed,
                    created_at: Timestamp(task.created_at),
                    updated_at: Timestamp(task.updated_at),
                    priority: task.priority.into(),
                    category: task.category.into(),
                    due_date: task.due_date.map(Timestamp),
                    completed_at: task.completed_at.map(Timestamp),
                    version: task.version,
                    list_id: task.list_id,
                    parent_id: task.parent_id,
                    position: &task.position,
                    tags: &task.tags,
                    recurrence: task.recurrence.as_deref(),
                    time_zone: &task.time_zone,
                    remind_at: task.remind_at.map(Timestamp),
                    reminded_at: task.reminded_at.map(Timestamp),
                    $($column: task.$column.as_ref(),)*
                }
            }
        }
    };
}

task_fields!(plain => task_view);

/// An owned task on its way out (a single task, a change set, an SSE event): encoded by
/// [`TaskView`], so there is one encoder, and documented as `Task`.
#[derive(Debug)]
pub struct TaskJson(Task);

impl From<Task> for TaskJson {
    fn from(task: Task) -> Self {
        TaskJson(task)
    }
}

impl Serialize for TaskJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TaskView::from(&self.0).serialize(serializer)
    }
}

impl PartialSchema for TaskJson {
    fn schema() -> RefOr<Schema> {
        TaskView::schema()
    }
}

impl ToSchema for TaskJson {
    fn name() -> Cow<'static, str> {
        TaskView::name()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        TaskView::schemas(schemas);
    }
}

/// A JSON array of tasks.
struct TaskList<'a>(&'a [Task]);

impl Serialize for TaskList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(TaskView::from))
    }
}

/// A long list as the JSON array [`json_list`] gives, byte for byte, sent one page at a time
/// as the client takes it: `first` (not empty) opens the array, each page of `rest` (none
/// empty) continues it. A page that fails to load aborts the body (the client sees a
/// truncated response, never a well-formed short list).
pub(super) fn json_list_stream(
    first: &[Task],
    rest: impl Stream<Item = AppResult<Vec<Task>>> + Send + 'static,
) -> Response {
    let head = stream::once(std::future::ready(encode_page(b'[', first)));
    let pages = rest.map(|page| encode_page(b',', &page?));
    let tail = stream::once(std::future::ready(Ok(Bytes::from_static(b"]"))));
    let body = head.chain(pages).chain(tail).map(|chunk| {
        chunk.map_err(|error| {
            tracing::error!(%error, "a page of a streamed list failed; aborting the response");
            io::Error::other(error.to_string())
        })
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from_stream(body),
    )
        .into_response()
}

/// `lead` (`[` or `,`) and the tasks, comma-separated: a piece of the array `TaskList` writes.
fn encode_page(lead: u8, tasks: &[Task]) -> AppResult<Bytes> {
    let mut out = Vec::with_capacity(1 + tasks.len() * 384);
    out.push(lead);
    for (i, task) in tasks.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &TaskView::from(task))
            .map_err(|e| AppError::Internal(format!("encoding tasks: {e}")))?;
    }
    Ok(Bytes::from(out))
}

/// The tasks as a JSON array, encoded straight to bytes in a buffer sized for them.
pub(super) fn json_list(headers: HeaderMap, tasks: &[Task]) -> Response {
    let mut body = Vec::with_capacity(2 + tasks.len() * 384);
    match serde_json::to_writer(&mut body, &TaskList(tasks)) {
        Ok(()) => (
            headers,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => AppError::Internal(format!("encoding tasks: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests;
