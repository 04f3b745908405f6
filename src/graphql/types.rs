//! GraphQL types. Their doc comments become the schema's descriptions.

use async_graphql::{
    Enum, ID, InputObject, InputValueError, InputValueResult, MaybeUndefined, Scalar, ScalarType,
    SimpleObject, Value,
};
use chrono::{DateTime as ChronoDateTime, SecondsFormat, Utc};

use crate::tasks;

/// A point in time, RFC 3339 in UTC with a `Z` and microseconds: `2026-11-23T09:00:00.123456Z`.
#[derive(Debug, Clone, Copy)]
pub struct DateTime(pub ChronoDateTime<Utc>);

/// A point in time, RFC 3339 in UTC with a `Z` and microseconds: `2026-11-23T09:00:00.123456Z`.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => ChronoDateTime::parse_from_rfc3339(s)
                .map(|d| DateTime(d.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

/// A task of the signed-in user.
#[derive(SimpleObject)]
pub struct Task {
    /// The task's id.
    pub id: ID,
    /// 1 to 200 characters.
    pub title: String,
    /// Optional details, up to 1000 characters.
    pub description: Option<String>,
    /// Whether the task is done.
    pub completed: bool,
    /// When the task was created.
    pub created_at: DateTime,
    /// When the task last changed.
    pub updated_at: DateTime,
}

impl From<tasks::Task> for Task {
    fn from(task: tasks::Task) -> Self {
        Task {
            id: ID(task.id.to_string()),
            title: task.title,
            description: task.description,
            completed: task.completed,
            created_at: DateTime(task.created_at),
            updated_at: DateTime(task.updated_at),
        }
    }
}

/// The signed-in user.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The user id from the token (`sub`).
    pub id: ID,
}

/// Which tasks to list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TaskStatus {
    /// Every task.
    All,
    /// Tasks not completed yet.
    Pending,
    /// Completed tasks.
    Completed,
}

impl From<TaskStatus> for tasks::TaskStatus {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::All => tasks::TaskStatus::All,
            TaskStatus::Pending => tasks::TaskStatus::Pending,
            TaskStatus::Completed => tasks::TaskStatus::Completed,
        }
    }
}

/// What to order tasks by; ties are broken by id.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TaskSort {
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Title, case-insensitively.
    Title,
}

impl From<TaskSort> for tasks::SortKey {
    fn from(sort: TaskSort) -> Self {
        match sort {
            TaskSort::CreatedAt => tasks::SortKey::CreatedAt,
            TaskSort::UpdatedAt => tasks::SortKey::UpdatedAt,
            TaskSort::Title => tasks::SortKey::Title,
        }
    }
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SortOrder {
    /// Smallest (oldest, A) first.
    Asc,
    /// Largest (newest, Z) first.
    Desc,
}

impl From<SortOrder> for tasks::SortOrder {
    fn from(order: SortOrder) -> Self {
        match order {
            SortOrder::Asc => tasks::SortOrder::Asc,
            SortOrder::Desc => tasks::SortOrder::Desc,
        }
    }
}

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// 1 to 200 characters after trimming.
    pub title: String,
    /// Up to 1000 characters.
    pub description: Option<String>,
}

/// Changes to a task: an absent field is left as it is; `description: null` clears it.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// New title, 1 to 200 characters after trimming (null is not allowed).
    pub title: MaybeUndefined<String>,
    /// New description, or null to clear it.
    pub description: MaybeUndefined<String>,
    /// New completion state (null is not allowed).
    pub completed: MaybeUndefined<bool>,
}

/// What happened to a task.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TaskEventKind {
    /// The task was created.
    Created,
    /// The task changed.
    Updated,
    /// The task was deleted.
    Deleted,
    /// Events may have been missed (the server lost its database listener, or this
    /// subscriber fell behind): call `taskChanges(since:)` with the last cursor you saw.
    Resync,
}

/// A change to one of the signed-in user's tasks, from any server instance.
#[derive(SimpleObject)]
pub struct TaskEvent {
    /// What happened.
    pub kind: TaskEventKind,
    /// The task's id; null for RESYNC.
    pub id: Option<ID>,
    /// The task after the change; null when it was deleted, and for RESYNC.
    pub task: Option<Task>,
    /// The sync cursor just after this change: `taskChanges(since:)` with it misses nothing
    /// that came after. Null for RESYNC.
    pub cursor: Option<String>,
}

impl From<tasks::TaskEvent> for TaskEvent {
    fn from(event: tasks::TaskEvent) -> Self {
        TaskEvent {
            kind: match event.kind {
                tasks::TaskEventKind::Created => TaskEventKind::Created,
                tasks::TaskEventKind::Updated => TaskEventKind::Updated,
                tasks::TaskEventKind::Deleted => TaskEventKind::Deleted,
                tasks::TaskEventKind::Resync => TaskEventKind::Resync,
            },
            id: event.task_id.map(|id| ID(id.to_string())),
            cursor: event.cursor_text(),
            task: event.task.map(Task::from),
        }
    }
}

/// What changed since a cursor.
#[derive(SimpleObject)]
pub struct TaskChanges {
    /// Tasks created or changed since the cursor, as they are now (all tasks without one).
    pub changed: Vec<Task>,
    /// Ids of tasks deleted since the cursor.
    pub deleted_ids: Vec<ID>,
    /// Pass this as `since` next time.
    pub cursor: String,
}

impl From<tasks::TaskChangeSet> for TaskChanges {
    fn from(set: tasks::TaskChangeSet) -> Self {
        TaskChanges {
            changed: set.changed().into_iter().map(Task::from).collect(),
            deleted_ids: set
                .deleted_ids()
                .into_iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            cursor: set.cursor_text(),
        }
    }
}
