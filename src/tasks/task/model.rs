//! Task types shared by the service and both APIs. The rules for their fields live in
//! `tasks::task::rules` (some re-exported here); an input's checks, `validated()`, in
//! `tasks::task::validate`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::tasks;
use crate::tasks::task::fields::task_fields;
pub use crate::tasks::task::rules::{
    DESCRIPTION_MAX_CHARS, SEARCH_MAX_CHARS, TITLE_MAX_CHARS, enum_error, micros, parse_datetime,
};
pub(crate) use crate::tasks::task::rules::{search_needle, title_key, validate_search};
use crate::tasks::task::stamp::Stamp;

pub use crate::tasks::task::{
    Category, Precondition, Priority, Task, category_names, priority_names,
};

/// Defines [`TaskRow`] and its decoding (`From<TaskRow> for Task`): the shaped fields here,
/// the plain ones from the field table (a plain field is its column's value as it is).
macro_rules! task_row {
    ($($column:ident ($inner:ty) $graphql:literal $doc:tt $rest:tt,)*) => {
        /// A row of `tasks` as both backends return it (timestamps are UTC without zone), as the
        /// database's journal trigger sends it in a NOTIFY (its `to_jsonb`: `events::wire`), and as
        /// PostgreSQL's write functions return it (by name: `service::folded`).
        #[derive(Debug, Clone, Queryable, QueryableByName, Selectable, serde::Deserialize)]
        #[diesel(table_name = tasks)]
        pub(crate) struct TaskRow {
            pub(in crate::tasks) id: i64,
            user_id: String,
            title: String,
            description: Option<String>,
            completed: bool,
            created_at: Stamp,
            updated_at: Stamp,
            priority: i16,
            category: String,
            due_date: Option<Stamp>,
            completed_at: Option<Stamp>,
            version: i64,
            list_id: Option<i64>,
            parent_id: Option<i64>,
            position: String,
            tags: String,
            recurrence: Option<String>,
            time_zone: String,
            remind_at: Option<Stamp>,
            reminded_at: Option<Stamp>,
            /// The due date the series began with (`tasks::series`).
            pub(in crate::tasks) recurrence_start: Option<Stamp>,
            $(
                #[serde(default)]
                $column: Option<$inner>,
            )*
        }

        impl From<TaskRow> for Task {
            fn from(row: TaskRow) -> Self {
                let id = row.id;
                let (created_at, updated_at) = Stamp::required(row.created_at, row.updated_at);
                // A nullable time another program left unreadable is answered as null (logged).
                let stamp = |at: Option<Stamp>, column| Some(at?.read("tasks", id, column)?.and_utc());
                Task {
                    id: row.id,
                    user_id: row.user_id,
                    title: row.title,
                    description: row.description,
                    completed: row.completed,
                    created_at,
                    updated_at,
                    // The columns' CHECK constraints admit only known values; anything else would be
                    // a row written behind the application's back, shown as the default.
                    priority: Priority::from_rank(row.priority).unwrap_or_default(),
                    category: Category::parse(&row.category).unwrap_or_default(),
                    due_date: stamp(row.due_date, "due_date"),
                    completed_at: stamp(row.completed_at, "completed_at"),
                    version: row.version,
                    list_id: row.list_id,
                    parent_id: row.parent_id,
                    position: row.position,
                    // Written by the application as a JSON array of strings; anything else would be
                    // a row written behind its back, shown without tags.
                    tags: serde_json::from_str(&row.tags).unwrap_or_default(),
                    recurrence: row.recurrence,
                    time_zone: row.time_zone,
                    remind_at: stamp(row.remind_at, "remind_at"),
                    reminded_at: stamp(row.reminded_at, "reminded_at"),
                    $($column: row.$column,)*
                }
            }
        }
    };
}

task_fields!(plain => task_row);

impl TaskRow {
    /// The series' first due date (`tasks::series`); unreadable: none (logged).
    pub(in crate::tasks) fn series_start(&self) -> Option<NaiveDateTime> {
        let start = self.recurrence_start?;
        start.read("tasks", self.id, "recurrence_start")
    }

    /// As a task, unless a required timestamp is unreadable (issue 40: another program's
    /// row): then `None`, logged with its id, so that a read answers without it rather than
    /// failing for every row. Reads take rows this way; a write's answer (a row it could
    /// find, so it was readable, or one it just set `updated_at` on) takes `Task::from`.
    pub(crate) fn readable(self) -> Option<Task> {
        let (id, created, updated) = (self.id, self.created_at, self.updated_at);
        let created = created.read("tasks", id, "created_at").is_some();
        let updated = updated.read("tasks", id, "updated_at").is_some();
        (created && updated).then(|| Task::from(self))
    }

    /// Whether every timestamp decoded: a page's cursor is taken from such a row only, as an
    /// unreadable value does not sort where its answer (null) would.
    pub(crate) fn intact(&self) -> bool {
        [
            self.due_date,
            self.completed_at,
            self.remind_at,
            self.reminded_at,
            self.recurrence_start,
        ]
        .iter()
        .all(|s| s.is_none_or(Stamp::readable))
            && self.created_at.readable()
            && self.updated_at.readable()
    }
}

/// Rows as tasks, without those [`TaskRow::readable`] refuses.
pub(crate) fn readable_tasks(rows: Vec<TaskRow>) -> Vec<Task> {
    rows.into_iter().filter_map(TaskRow::readable).collect()
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskStatus {
    /// Every task.
    #[default]
    All,
    /// Not completed.
    Pending,
    /// Completed.
    Completed,
}

/// What a list is ordered by. Ties are always broken by id, in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Title, case-insensitively.
    Title,
    /// Pending before completed (ascending).
    Status,
    /// Priority rank: none < low < medium < high.
    Priority,
    /// Due date; tasks without one come last in both directions.
    DueDate,
    /// Manual order (`position`, byte order): top first ascending.
    Position,
}

impl SortKey {
    /// The direction used when the client names none: newest first for times, A→Z for
    /// titles, pending first for status, most important first, soonest due first.
    pub fn default_order(self) -> SortOrder {
        match self {
            SortKey::CreatedAt | SortKey::UpdatedAt | SortKey::Priority => SortOrder::Desc,
            SortKey::Title | SortKey::Status | SortKey::DueDate | SortKey::Position => {
                SortOrder::Asc
            }
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A list request: every filter is combined with the others (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Filter.
    pub status: TaskStatus,
    /// Order key.
    pub sort: SortKey,
    /// Direction; `None` means the key's default.
    pub order: Option<SortOrder>,
    /// Only tasks of this priority.
    pub priority: Option<Priority>,
    /// Only tasks of this category.
    pub category: Option<Category>,
    /// Only tasks whose title or description contains this text, case-insensitively; every
    /// character (`%`, `_` and `\` too) matches itself. Empty means no filter.
    pub search: Option<String>,
    /// Only tasks due strictly before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks due strictly after this time.
    pub due_after: Option<DateTime<Utc>>,
    /// Only pending tasks whose due date has passed.
    pub overdue: bool,
    /// Only tasks carrying every one of these tags (compared case-insensitively).
    pub tags: Vec<String>,
    /// Only tasks carrying at least one of these tags (none: no filter).
    pub any_tags: Vec<String>,
    /// Only subtasks of this task (`Some(None)`: only top-level tasks).
    pub parent_id: Option<Option<i64>>,
    /// Only the tasks of one list, or of the inbox (issue 21).
    pub list: ListFilter,
    /// Only the tasks assigned to this user.
    pub assignee: Option<String>,
    /// Only the tasks of these lists (empty: no such filter): the lists of a GraphQL page,
    /// whose `tasks` are read in one statement (`tasks::order::nested`), never set by a client.
    pub among_lists: Vec<i64>,
}

impl ListQuery {
    /// Whether the query admits every task the viewer sees (no filter at all): its count is
    /// then the viewer's whole set, which the database keeps (`task::query::count`). Every
    /// field is named, so a new filter must say here whether it filters.
    pub fn filters_nothing(&self) -> bool {
        let ListQuery {
            status,
            sort: _,
            order: _,
            priority,
            category,
            search,
            due_before,
            due_after,
            overdue,
            tags,
            any_tags,
            parent_id,
            list,
            assignee,
            among_lists,
        } = self;
        *status == TaskStatus::All
            && priority.is_none()
            && category.is_none()
            && search.as_deref().is_none_or(str::is_empty)
            && due_before.is_none()
            && due_after.is_none()
            && !overdue
            && tags.is_empty()
            && any_tags.is_empty()
            && parent_id.is_none()
            && *list == ListFilter::Any
            && assignee.is_none()
            && among_lists.is_empty()
    }
}

/// Which list's tasks a request shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListFilter {
    /// Every list's and the inbox's.
    #[default]
    Any,
    /// The inbox's only (tasks in no list).
    Inbox,
    /// This list's only (another user's list: 404).
    List(i64),
}

impl ListFilter {
    /// The order when the client names none: inside a list (or the inbox) its manual order,
    /// as every task app shows a list; across lists the FastAPI backend's, newest first.
    pub fn default_sort(self) -> SortKey {
        match self {
            ListFilter::Any => SortKey::CreatedAt,
            ListFilter::Inbox | ListFilter::List(_) => SortKey::Position,
        }
    }
}

impl ListQuery {
    /// The direction actually used.
    pub fn direction(&self) -> SortOrder {
        self.order.unwrap_or_else(|| self.sort.default_order())
    }
}

/// Counts over one user's tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// Every task.
    pub total: i64,
    /// Not completed.
    pub pending: i64,
    /// Completed.
    pub completed: i64,
    /// Pending and due before now.
    pub overdue: i64,
    /// Tasks per priority, every priority present (most important first).
    pub by_priority: Vec<(Priority, i64)>,
    /// Tasks per category, every category present.
    pub by_category: Vec<(Category, i64)>,
}

/// Defines [`NewTask`] and [`TaskPatch`]: the shaped fields here, the writable plain ones
/// from the field table (`Option<T>` on create, `Option<Option<T>>` in a patch).
macro_rules! task_inputs {
    ($($column:ident ($inner:ty) {$($create:literal)*} {$($update:literal)*},)*) => {
        /// Input of a create.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct NewTask {
            /// Title as sent (trimmed and checked by [`NewTask::validated`]).
            pub title: String,
            /// Description as sent.
            pub description: Option<String>,
            /// Priority; `None` means the default (`Priority::None`).
            pub priority: Option<Priority>,
            /// Category; `None` means the default (`Category::Other`).
            pub category: Option<Category>,
            /// Due date, if any.
            pub due_date: Option<DateTime<Utc>>,
            /// The list to create it in; `None` is the inbox.
            pub list_id: Option<i64>,
            /// The task to create it as a subtask of; `None` is the top level.
            pub parent_id: Option<i64>,
            /// Tags, in the order given; `None` is none (checked and trimmed by `validated`).
            pub tags: Option<Vec<String>>,
            /// How it repeats (an RRULE); needs a due date.
            pub recurrence: Option<String>,
            /// The IANA time zone of its occurrences; `None` is UTC.
            pub time_zone: Option<String>,
            /// When to remind its owner (and assignee) of it, if ever.
            pub remind_at: Option<DateTime<Utc>>,
            $(
                $(#[doc = $create])*
                pub $column: Option<$inner>,
            )*
        }

        /// Input of a partial update: `None` leaves a field unchanged; `description: Some(None)`
        /// clears it.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct TaskPatch {
            /// New title.
            pub title: Option<String>,
            /// New description, or `Some(None)` to clear it.
            pub description: Option<Option<String>>,
            /// New completion state.
            pub completed: Option<bool>,
            /// New priority.
            pub priority: Option<Priority>,
            /// New category.
            pub category: Option<Category>,
            /// New due date, or `Some(None)` to clear it.
            pub due_date: Option<Option<DateTime<Utc>>>,
            /// New list (`Some(None)`: the inbox); the task goes to the end of that list.
            pub list_id: Option<Option<i64>>,
            /// New parent (`Some(None)`: the top level); the task goes to the end of its siblings.
            pub parent_id: Option<Option<i64>>,
            /// New tags, replacing all of them in the order given (`Some([])` clears them).
            pub tags: Option<Vec<String>>,
            /// New recurrence, or `Some(None)` to stop repeating.
            pub recurrence: Option<Option<String>>,
            /// New time zone of its occurrences.
            pub time_zone: Option<String>,
            /// New reminder time (re-arms it), or `Some(None)` to cancel it.
            pub remind_at: Option<Option<DateTime<Utc>>>,
            /// The position the service gives a task whose list or parent the patch changes (the
            /// end of its new group); an adapter never sets it (positions change only by moves).
            pub position: Option<String>,
            $(
                $(#[doc = $update])*
                pub $column: Option<Option<$inner>>,
            )*
        }
    };
}

task_fields!(writable => task_inputs);

impl TaskPatch {
    /// Whether the patch changes what a repeating task's series depends on (its recurrence,
    /// time zone or due date) or completes the task (`tasks::series`).
    pub(crate) fn touches_series(&self) -> bool {
        self.recurrence.is_some()
            || self.time_zone.is_some()
            || self.due_date.is_some()
            || self.completed == Some(true)
    }
}
