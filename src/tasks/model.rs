//! Task types shared by the service and both APIs, and the validation rules for their fields.

// A `FieldError` is large, but validation failures are the cold path; boxing would only make
// every caller unwrap a box.
#![allow(clippy::result_large_err)]

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::tasks;
use crate::error::FieldError;

/// Longest title, in characters after trimming.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 1000;

/// A task as the APIs show it. Serializable because task events carry it between instances.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
}

/// A row of `tasks` as both backends return it (timestamps are UTC without zone).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub(crate) struct TaskRow {
    pub(super) id: i64,
    user_id: String,
    title: String,
    description: Option<String>,
    completed: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Self {
        Task {
            id: row.id,
            user_id: row.user_id,
            title: row.title,
            description: row.description,
            completed: row.completed,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

#[cfg(test)]
impl TaskRow {
    /// A row as the database would return it, for unit tests of what is built from one.
    pub(crate) fn for_test(title: String, description: String) -> Self {
        let at = chrono::DateTime::<Utc>::from_timestamp_micros(1_795_000_000_123_456)
            .unwrap_or_default()
            .naive_utc();
        TaskRow {
            id: 1,
            user_id: "user-1".into(),
            title,
            description: Some(description),
            completed: false,
            created_at: at,
            updated_at: at,
        }
    }
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
}

impl SortKey {
    /// The direction used when the client names none: newest first for times,
    /// A→Z for titles, pending first for status.
    pub fn default_order(self) -> SortOrder {
        match self {
            SortKey::CreatedAt | SortKey::UpdatedAt => SortOrder::Desc,
            SortKey::Title | SortKey::Status => SortOrder::Asc,
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

/// A list request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Filter.
    pub status: TaskStatus,
    /// Order key.
    pub sort: SortKey,
    /// Direction; `None` means the key's default.
    pub order: Option<SortOrder>,
}

/// Input of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// Title as sent (trimmed and checked by the service).
    pub title: String,
    /// Description as sent.
    pub description: Option<String>,
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
}

/// Checks a title and returns it trimmed.
pub(crate) fn validate_title(title: &str) -> Result<String, FieldError> {
    let trimmed = title.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err(FieldError::body(
            "title",
            "string_too_short",
            "String should have at least 1 character",
            json!(title),
        )
        .with_ctx(json!({"min_length": 1})));
    }
    if chars > TITLE_MAX_CHARS {
        return Err(FieldError::body(
            "title",
            "string_too_long",
            format!("String should have at most {TITLE_MAX_CHARS} characters"),
            json!(title),
        )
        .with_ctx(json!({"max_length": TITLE_MAX_CHARS})));
    }
    check_no_nul("title", trimmed)?;
    Ok(trimmed.to_owned())
}

/// Checks a description.
pub(crate) fn validate_description(description: &str) -> Result<(), FieldError> {
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(FieldError::body(
            "description",
            "string_too_long",
            format!("String should have at most {DESCRIPTION_MAX_CHARS} characters"),
            json!(description),
        )
        .with_ctx(json!({"max_length": DESCRIPTION_MAX_CHARS})));
    }
    check_no_nul("description", description)
}

/// PostgreSQL cannot store U+0000 in text; refuse it on both backends alike.
fn check_no_nul(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        return Err(FieldError::body(
            field,
            "value_error",
            "Value error, must not contain the NUL character (U+0000)",
            Value::from(value),
        ));
    }
    Ok(())
}

/// The key titles are sorted by: lower-cased in Rust so both backends order them alike.
pub(crate) fn title_key(title: &str) -> String {
    title.to_lowercase()
}
