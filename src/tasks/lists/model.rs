//! What a list is (issue 21): a user's named group of tasks with its own manual order, the
//! closed set of colours, the inputs of a create, an update and a move, what deleting a list
//! does with its tasks, and the rules for a list's fields (name 1–100 characters after
//! trimming, unique per user case-insensitively by its [`name_key`]; colour from
//! [`ListColor::ALL`]). Shared by the service (`tasks::lists`) and both APIs.
//!
//! It must not know SQL (`lists::store`) nor how an API spells its errors beyond the
//! FastAPI-shaped [`FieldError`]s every rule here gives.

// A `FieldError` is large, but validation failures are the cold path (as in `rules`).
#![allow(clippy::result_large_err)]

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::task_lists;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::sharing::Role;
use crate::tasks::task::Precondition;
use crate::tasks::task::rules::check_no_nul;
use crate::tasks::task::stamp::Stamp;

/// Longest list name, in characters after trimming.
pub const LIST_NAME_MAX_CHARS: usize = 100;

/// A list's colour: a small closed set, so every client can draw each one. REST spells it in
/// lower case (`red`), GraphQL in upper case (`RED`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[serde(rename_all = "lowercase")]
pub enum ListColor {
    /// Red.
    Red,
    /// Orange.
    Orange,
    /// Yellow.
    Yellow,
    /// Green.
    Green,
    /// Teal.
    Teal,
    /// Blue.
    Blue,
    /// Purple.
    Purple,
    /// Pink.
    Pink,
    /// Gray.
    Gray,
}

impl ListColor {
    /// Every colour, in the order the docs list them (the migration's CHECK holds the same).
    pub const ALL: [ListColor; 9] = [
        ListColor::Red,
        ListColor::Orange,
        ListColor::Yellow,
        ListColor::Green,
        ListColor::Teal,
        ListColor::Blue,
        ListColor::Purple,
        ListColor::Pink,
        ListColor::Gray,
    ];

    /// The colour as stored and as REST spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ListColor::Red => "red",
            ListColor::Orange => "orange",
            ListColor::Yellow => "yellow",
            ListColor::Green => "green",
            ListColor::Teal => "teal",
            ListColor::Blue => "blue",
            ListColor::Purple => "purple",
            ListColor::Pink => "pink",
            ListColor::Gray => "gray",
        }
    }

    /// The colour of a name (exactly as [`as_str`](Self::as_str) spells it).
    pub fn parse(name: &str) -> Option<ListColor> {
        ListColor::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Every colour's name.
    pub fn names() -> Vec<&'static str> {
        ListColor::ALL.iter().map(|c| c.as_str()).collect()
    }
}

/// A list of the signed-in user. Serialized (a keyed GraphQL write's stored result) as is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct List {
    /// Its id.
    pub id: i64,
    /// Its owner.
    pub user_id: String,
    /// 1 to 100 characters, trimmed; unique per user case-insensitively.
    pub name: String,
    /// Its colour, if any.
    pub color: Option<ListColor>,
    /// Its place among the user's lists: byte order, smallest first.
    pub position: String,
    /// 1 when created, one more on every change (a rename, a recolour, a move).
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The role of the user it was read for: `owner` (their own list, `user_id`), or the
    /// role the owner shared it with them in (issue 29).
    #[serde(default = "owner_role")]
    pub role: Role,
}

fn owner_role() -> Role {
    Role::Owner
}

impl List {
    /// Whether a write conditioned on `precondition` (REST `If-Match`, GraphQL
    /// `expectedVersion`) may go ahead on this list as it is now.
    pub fn satisfies(&self, precondition: &Precondition) -> bool {
        match precondition {
            Precondition::None | Precondition::Exists => true,
            Precondition::Version(expected) => self.version == *expected,
            Precondition::OneOf(versions) => versions.contains(&self.version),
        }
    }
}

/// A row of `task_lists` as both backends return it, and as the journal trigger's NOTIFY
/// carries it (`events::wire`).
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = task_lists)]
pub(crate) struct ListRow {
    pub(in crate::tasks) id: i64,
    user_id: String,
    name: String,
    color: Option<String>,
    pub(in crate::tasks) position: String,
    version: i64,
    created_at: Stamp,
    updated_at: Stamp,
}

impl ListRow {
    /// The list's owner.
    pub(crate) fn owner(&self) -> &str {
        &self.user_id
    }

    /// Whether its timestamps decode (issue 40: else another program's row, logged with its
    /// id by `tasks::task::stamp`); a read answers without a list that does not.
    pub(crate) fn readable(&self) -> bool {
        let id = self.id;
        let created = self
            .created_at
            .read("task_lists", id, "created_at")
            .is_some();
        self.updated_at
            .read("task_lists", id, "updated_at")
            .is_some()
            && created
    }
}

impl From<ListRow> for List {
    fn from(row: ListRow) -> Self {
        let (created_at, updated_at) = Stamp::required(row.created_at, row.updated_at);
        List {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            // The column's CHECK admits only the known names.
            color: row.color.as_deref().and_then(ListColor::parse),
            position: row.position,
            version: row.version,
            created_at,
            updated_at,
            role: Role::Owner,
        }
    }
}

/// A list as a user sees it: the row and their membership's role (none: they own it).
impl From<(ListRow, Option<String>)> for List {
    fn from((row, role): (ListRow, Option<String>)) -> Self {
        List {
            role: role.as_deref().map_or(Role::Owner, Role::stored),
            ..List::from(row)
        }
    }
}

/// Input of a list's create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewList {
    /// The name as sent (trimmed and checked by [`NewList::validated`]).
    pub name: String,
    /// Its colour; `None` is none.
    pub color: Option<ListColor>,
}

/// Input of a list's update: `None` leaves a field alone; `color: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPatch {
    /// New name.
    pub name: Option<String>,
    /// New colour, or `Some(None)` for none.
    pub color: Option<Option<ListColor>>,
}

/// Where a moved list goes: right after one of the user's lists, right before one, or (with
/// neither) at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPlacement {
    /// At the end.
    End,
    /// Right after this list.
    After(i64),
    /// Right before this list.
    Before(i64),
}

/// What deleting a list does with its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ListTasks {
    /// Deletes them (subtasks included), each with its tombstone and event.
    Delete,
    /// Moves them to the inbox, each with its change and event.
    MoveToInbox,
}

impl ListTasks {
    /// The REST spelling of what happened (`"deleted"`, `"moved_to_inbox"`).
    pub fn outcome(self) -> &'static str {
        match self {
            ListTasks::Delete => "deleted",
            ListTasks::MoveToInbox => "moved_to_inbox",
        }
    }
}

/// What a list's delete did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListDeletion {
    /// The deleted list.
    pub list_id: i64,
    /// What happened to its tasks.
    pub tasks: ListTasks,
    /// The tasks deleted or moved, in id order.
    pub task_ids: Vec<i64>,
}

/// The key a name is unique by, per user: Rust's `to_lowercase` (the same on both backends).
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Checks a name (`field` as the request named it) and returns it trimmed.
pub(crate) fn validate_list_name(field: &str, name: &str) -> Result<String, FieldError> {
    let trimmed = name.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err(FieldError::body(
            field,
            "string_too_short",
            "String should have at least 1 character (after trimming whitespace)",
            json!(name),
        )
        .with_ctx(json!({"min_length": 1})));
    }
    if chars > LIST_NAME_MAX_CHARS {
        return Err(FieldError::body(
            field,
            "string_too_long",
            format!(
                "String should have at most {LIST_NAME_MAX_CHARS} characters (after trimming \
                 whitespace)"
            ),
            json!(name),
        )
        .with_ctx(json!({"max_length": LIST_NAME_MAX_CHARS})));
    }
    check_no_nul(field, trimmed)?;
    Ok(trimmed.to_owned())
}

/// The error for a colour outside the set, naming the allowed ones.
pub fn color_error(location: &'static str, field: &str, input: Value) -> FieldError {
    crate::tasks::task::rules::enum_error(location, field, &ListColor::names(), input)
}

impl NewList {
    /// The input checked, its name trimmed: what the store may write.
    pub(crate) fn validated(mut self) -> AppResult<NewList> {
        self.name = validate_list_name("name", &self.name).map_err(AppError::invalid)?;
        Ok(self)
    }
}

impl ListPatch {
    /// The patch checked as [`NewList::validated`].
    pub(crate) fn validated(mut self) -> AppResult<ListPatch> {
        if let Some(name) = &self.name {
            self.name = Some(validate_list_name("name", name).map_err(AppError::invalid)?);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::tasks::lists::model::*;

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(validate_list_name("name", "  Work ").unwrap(), "Work");
        assert!(validate_list_name("name", "   ").is_err());
        assert!(validate_list_name("name", &"é".repeat(100)).is_ok());
        assert!(validate_list_name("name", &"é".repeat(101)).is_err());
        assert!(validate_list_name("name", "a\0b").is_err());
        assert_eq!(name_key("ÉCOLE Work"), "école work");
    }

    #[test]
    fn colours_round_trip() {
        for color in ListColor::ALL {
            assert_eq!(ListColor::parse(color.as_str()), Some(color));
        }
        assert_eq!(ListColor::parse("Red"), None);
    }
}
