//! GraphQL types. Their doc comments become the schema's descriptions. The enums mirror the
//! domain's under their GraphQL names and descriptions; `#[graphql(remote = …)]` writes the
//! conversions both ways (a variant added to one side and not the other fails to compile).
//! The domain enums whose names and descriptions serve GraphQL as they are (`ListColor`,
//! `TaskEventKind`, webhooks' `EventType`) derive `Enum` where they are declared instead.

use async_graphql::{
    Enum, ID, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime as ChronoDateTime, Utc};

use crate::tasks;
use crate::tasks::task::fields::task_fields;

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
        Value::String(crate::tasks::task::time::rfc3339(self.0))
    }
}

/// Defines the GraphQL [`Task`] and its `From` the domain's: the shaped fields here, the plain
/// ones from the field table (`tasks::task::fields`), with its descriptions.
macro_rules! graphql_task {
    ($($column:ident ($inner:ty) $graphql:literal {$($doc:literal)*} $rest:tt,)*) => {
        /// A task of the signed-in user.
        #[derive(SimpleObject)]
        #[graphql(complex)] // its resolved fields (`list`, `subtasks`, `parent`): `task_fields`
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
            /// How important the task is.
            pub priority: Priority,
            /// What part of life the task belongs to.
            pub category: Category,
            /// When the task is due; null when it has no due date.
            pub due_date: Option<DateTime>,
            /// When the task was last completed; null while it is pending, except on a repeating
            /// task, where it is when its last occurrence was completed.
            pub completed_at: Option<DateTime>,
            /// 1 when created, one more on every change: pass it as `expectedVersion` to change the
            /// task only if nobody else has changed it since.
            pub version: i32,
            /// The id of the list the task belongs to; null for the inbox.
            pub list_id: Option<ID>,
            /// The id of the task this one is a subtask of; null at the top level.
            pub parent_id: Option<ID>,
            /// Its place among its siblings (same list and parent): compare as plain strings (byte
            /// order), smallest first. Changed only by `moveTask`.
            pub position: String,
            /// Its tags, in the order given.
            pub tags: Vec<String>,
            /// How it repeats: an RRULE such as `FREQ=WEEKLY;BYDAY=MO,TH`, or null.
            pub recurrence: Option<String>,
            /// The IANA time zone its occurrences keep their wall-clock time in (default `UTC`).
            pub time_zone: String,
            /// When its owner (and its assignee) are reminded of it (a `REMINDER` event); null:
            /// no reminder.
            pub remind_at: Option<DateTime>,
            /// When the current reminder fired; null while it is pending or when there is none.
            pub reminded_at: Option<DateTime>,
            $(
                $(#[doc = $doc])*
                pub $column: Option<$inner>,
            )*
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
                    priority: task.priority.into(),
                    category: task.category.into(),
                    due_date: task.due_date.map(DateTime),
                    completed_at: task.completed_at.map(DateTime),
                    version: graphql_int(task.version),
                    list_id: task.list_id.map(|id| ID(id.to_string())),
                    parent_id: task.parent_id.map(|id| ID(id.to_string())),
                    position: task.position,
                    tags: task.tags,
                    recurrence: task.recurrence,
                    time_zone: task.time_zone,
                    remind_at: task.remind_at.map(DateTime),
                    reminded_at: task.reminded_at.map(DateTime),
                    $($column: task.$column,)*
                }
            }
        }
    };
}

task_fields!(plain => graphql_task);

/// A list's scalar fields as a response would show them: what a VERSION_CONFLICT error on
/// a list carries in `extensions.list`.
pub(super) fn list_value(list: &tasks::List) -> Value {
    let time = |at| crate::tasks::task::time::rfc3339(at);
    Value::from_json(serde_json::json!({
        "id": list.id.to_string(),
        "name": list.name,
        "color": list.color.map(|c| c.as_str().to_uppercase()),
        "position": list.position,
        "version": graphql_int(list.version),
        "createdAt": time(list.created_at),
        "updatedAt": time(list.updated_at),
    }))
    .unwrap_or(Value::Null)
}

/// A version as GraphQL's 32-bit `Int` (a task would need two billion changes to pass it).
fn graphql_int(version: i64) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

/// The signed-in user.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The user id from the token (`sub`).
    pub id: ID,
}

/// Which tasks to list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::TaskStatus")]
pub enum TaskStatus {
    /// Every task.
    All,
    /// Tasks not completed yet.
    Pending,
    /// Completed tasks.
    Completed,
}

/// What to order tasks by; ties are broken by id.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::SortKey")]
pub enum TaskSort {
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Title, case-insensitively.
    Title,
    /// Priority: NONE < LOW < MEDIUM < HIGH (DESC puts HIGH first).
    Priority,
    /// Due date; tasks without one come last in both orders.
    DueDate,
    /// Completion: pending before completed (ASC).
    Status,
    /// Manual order (`position`): ASC (its default) is top first. The default sort inside
    /// a list (`List.tasks`, `listId`, `inbox: true`).
    Position,
}

/// How important a task is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::Priority")]
pub enum Priority {
    /// Not prioritised (the default).
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// What part of life a task belongs to.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::Category")]
pub enum Category {
    /// Work.
    Work,
    /// Personal.
    Personal,
    /// Shopping.
    Shopping,
    /// Health.
    Health,
    /// Anything else (the default).
    Other,
}

/// One task of a page, with the cursor to pass as `after` to get the tasks that follow it.
#[derive(SimpleObject)]
pub struct TaskEdge {
    /// Opaque; valid for the same sort and order.
    pub cursor: String,
    /// The task.
    pub node: Task,
}

/// Where a page stands (Relay's PageInfo; paging is forward only).
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more tasks follow this page.
    pub has_next_page: bool,
    /// Always false: paging is forward only (as the Relay spec allows for `first` / `after`).
    pub has_previous_page: bool,
    /// The cursor of the first task of the page; null when the page is empty.
    pub start_cursor: Option<String>,
    /// The cursor of the last task of the page (pass it as `after`); null when it is empty.
    pub end_cursor: Option<String>,
}

/// One page of the signed-in user's tasks (a Relay connection).
#[derive(SimpleObject)]
pub struct TaskConnection {
    /// The tasks with their cursors.
    pub edges: Vec<TaskEdge>,
    /// The tasks alone.
    pub nodes: Vec<Task>,
    /// Whether more follow, and the cursor to continue from.
    pub page_info: PageInfo,
    /// Tasks matching the filters, over all pages.
    pub total_count: i64,
}

impl TaskConnection {
    /// The connection for a page read in the order of `query`.
    pub fn new(page: tasks::Page, query: &tasks::ListQuery) -> Self {
        let edges: Vec<TaskEdge> = page
            .tasks
            .iter()
            .map(|task| TaskEdge {
                cursor: tasks::Cursor::after(task, query).encode(),
                node: task.clone().into(),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: page.has_next,
            has_previous_page: false,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        TaskConnection {
            nodes: page.tasks.into_iter().map(Task::from).collect(),
            edges,
            page_info,
            total_count: page.total,
        }
    }
}

/// Tasks per priority.
#[derive(SimpleObject, Default)]
pub struct PriorityCounts {
    /// HIGH.
    pub high: i64,
    /// MEDIUM.
    pub medium: i64,
    /// LOW.
    pub low: i64,
    /// NONE.
    pub none: i64,
}

/// Tasks per category.
#[derive(SimpleObject, Default)]
pub struct CategoryCounts {
    /// WORK.
    pub work: i64,
    /// PERSONAL.
    pub personal: i64,
    /// SHOPPING.
    pub shopping: i64,
    /// HEALTH.
    pub health: i64,
    /// OTHER.
    pub other: i64,
}

/// Counts over the signed-in user's tasks (the REST `/tasks/stats` figures).
#[derive(SimpleObject)]
pub struct TaskStats {
    /// Every task.
    pub total: i64,
    /// Not completed.
    pub pending: i64,
    /// Completed.
    pub completed: i64,
    /// Pending and due before now.
    pub overdue: i64,
    /// Tasks per priority.
    pub by_priority: PriorityCounts,
    /// Tasks per category.
    pub by_category: CategoryCounts,
}

impl From<tasks::TaskStats> for TaskStats {
    fn from(stats: tasks::TaskStats) -> Self {
        let mut by_priority = PriorityCounts::default();
        for (priority, n) in &stats.by_priority {
            *match priority {
                tasks::Priority::High => &mut by_priority.high,
                tasks::Priority::Medium => &mut by_priority.medium,
                tasks::Priority::Low => &mut by_priority.low,
                tasks::Priority::None => &mut by_priority.none,
            } = *n;
        }
        let mut by_category = CategoryCounts::default();
        for (category, n) in &stats.by_category {
            *match category {
                tasks::Category::Work => &mut by_category.work,
                tasks::Category::Personal => &mut by_category.personal,
                tasks::Category::Shopping => &mut by_category.shopping,
                tasks::Category::Health => &mut by_category.health,
                tasks::Category::Other => &mut by_category.other,
            } = *n;
        }
        TaskStats {
            total: stats.total,
            pending: stats.pending,
            completed: stats.completed,
            overdue: stats.overdue,
            by_priority,
            by_category,
        }
    }
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::SortOrder")]
pub enum SortOrder {
    /// Smallest (oldest, A) first.
    Asc,
    /// Largest (newest, Z) first.
    Desc,
}
