//! A task as both APIs show it, its enums (priority, category) and the version a conditional
//! write expects of it ([`Precondition`]). A leaf: it depends on nothing of the crate's, so
//! that the error type can carry a task (a version conflict answers with the current one)
//! without an import cycle.

pub mod fields;
pub(crate) mod fold;
pub mod model;
pub mod page;
pub(in crate::tasks) mod query;
pub(in crate::tasks) mod rules;
pub(in crate::tasks) mod search_keys;
pub(in crate::tasks) mod stamp;
pub mod time;
pub(in crate::tasks) mod validate;
pub(in crate::tasks) mod write;

use chrono::{DateTime, Utc};

/// Defines the domain `Task`: its shaped fields here, its plain ones from the field table.
macro_rules! domain_task {
    ($($column:ident ($inner:ty) $graphql:literal {$($doc:literal)*} $rest:tt,)*) => {
        /// A task as the APIs show it. Serializable because task events carry it between instances.
        /// Its fields are `fields::TASK_FIELDS`' shown ones, in order (a test says so).
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct Task {
            /// Generated id, unique across users.
            pub id: i64,
            /// The owner.
            pub user_id: String,
            /// 1–200 characters.
            pub title: String,
            /// Optional, up to 1000 characters.
            pub description: Option<String>,
            /// Done or not.
            pub completed: bool,
            /// When it was created (UTC, microseconds).
            pub created_at: DateTime<Utc>,
            /// When it last changed (UTC, microseconds).
            pub updated_at: DateTime<Utc>,
            /// How important it is.
            pub priority: Priority,
            /// What part of life it belongs to.
            pub category: Category,
            /// When it is due, if ever (UTC, microseconds).
            pub due_date: Option<DateTime<Utc>>,
            /// When it was last completed; `None` while pending.
            pub completed_at: Option<DateTime<Utc>>,
            /// 1 when created, one more on every change. (Absent from an event sent by an instance
            /// older than versions: 0, "unknown".)
            #[serde(default)]
            pub version: i64,
            /// The list it belongs to; `None` is the inbox. (Fields from here on are absent from an
            /// event sent by an instance older than task model v3: their defaults.)
            #[serde(default)]
            pub list_id: Option<i64>,
            /// The task it is a subtask of; `None` at the top level.
            #[serde(default)]
            pub parent_id: Option<i64>,
            /// Its place among its siblings (same list, same parent): a fractional index, compared as
            /// bytes (`tasks::order::position`).
            #[serde(default)]
            pub position: String,
            /// Its tags, in the order given (each 1–50 characters, unique case-insensitively).
            #[serde(default)]
            pub tags: Vec<String>,
            /// How it repeats: an RRULE (`tasks::series::recurrence`), or `None`.
            #[serde(default)]
            pub recurrence: Option<String>,
            /// The IANA time zone its occurrences keep their wall-clock time in.
            #[serde(default = "utc_name")]
            pub time_zone: String,
            /// When to remind its owner (and its assignee) of it, if ever (UTC, microseconds).
            #[serde(default)]
            pub remind_at: Option<DateTime<Utc>>,
            /// When the current reminder fired; `None` while it is pending or when there is none.
            #[serde(default)]
            pub reminded_at: Option<DateTime<Utc>>,
            $(
                $(#[doc = $doc])*
                #[serde(default)]
                pub $column: Option<$inner>,
            )*
        }
    };
}

fields::task_fields!(plain => domain_task);

/// The time zone of a task that names none.
pub fn utc_name() -> String {
    "UTC".to_owned()
}

impl Task {
    /// Whether a write conditioned on `precondition` may go ahead on this task as it is now.
    pub fn satisfies(&self, precondition: &Precondition) -> bool {
        match precondition {
            Precondition::None | Precondition::Exists => true,
            Precondition::Version(expected) => self.version == *expected,
            Precondition::OneOf(versions) => versions.contains(&self.version),
        }
    }
}

/// What a write expects of the task it changes (REST `If-Match`, GraphQL `expectedVersion`).
/// Checked inside the write's transaction, after ownership: another user's task is absent
/// whatever the precondition says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    /// Unconditional (no `If-Match`, no `expectedVersion`).
    #[default]
    None,
    /// The task must exist, in whatever version (`If-Match: *`).
    Exists,
    /// The task must be at exactly this version; any other is a version conflict.
    Version(i64),
    /// The task must be at one of these versions (an `If-Match` listing several entity-tags).
    OneOf(Vec<i64>),
}

/// How important a task is. Stored as its rank, so ordering by the column is ordering by
/// importance. Serialized (in task events) by its wire name.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Not prioritised (the default).
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Priority {
    /// Every priority, most important first (the order error messages and stats list them).
    pub const ALL: [Priority; 4] = [
        Priority::High,
        Priority::Medium,
        Priority::Low,
        Priority::None,
    ];

    /// The wire name: `high`, `medium`, `low`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
            Priority::None => "none",
        }
    }

    /// The stored rank: 0 (none) to 3 (high).
    pub fn rank(self) -> i16 {
        match self {
            Priority::None => 0,
            Priority::Low => 1,
            Priority::Medium => 2,
            Priority::High => 3,
        }
    }

    /// The priority of a stored rank.
    pub fn from_rank(rank: i16) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.rank() == rank)
    }

    /// The priority of a wire name (case-insensitive).
    pub fn parse(name: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

/// What part of life a task belongs to. Serialized (in task events) by its wire name.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
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
    #[default]
    Other,
}

impl Category {
    /// Every category, in the order error messages and stats list them.
    pub const ALL: [Category; 5] = [
        Category::Work,
        Category::Personal,
        Category::Shopping,
        Category::Health,
        Category::Other,
    ];

    /// The wire and stored name: `work`, `personal`, `shopping`, `health`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Work => "work",
            Category::Personal => "personal",
            Category::Shopping => "shopping",
            Category::Health => "health",
            Category::Other => "other",
        }
    }

    /// The category of a name (case-insensitive).
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

/// The wire names of every priority.
pub fn priority_names() -> Vec<&'static str> {
    Priority::ALL.iter().map(|p| p.as_str()).collect()
}

/// The wire names of every category.
pub fn category_names() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).collect()
}
