//! Keyset paging: page sizes and the opaque cursors that say where the next page starts.
//!
//! A cursor holds the sort it was made for and the last task's sort value and id. The next
//! page is "everything after that (value, id) in that order", so tasks created or deleted
//! between pages never make a task that existed throughout repeat or go missing (as an offset
//! would). It is base64url text: opaque to clients, not secret (it holds only the viewer's own
//! data).

// A `FieldError` is large, but validation failures are the cold path.
#![allow(clippy::result_large_err)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use crate::error::FieldError;
use crate::tasks::task::model::{ListQuery, SortKey, SortOrder, Task, title_key};

/// The largest page.
pub const MAX_PAGE_SIZE: i64 = 200;
/// The page size of a GraphQL connection when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// The rows a full list or a live stream's replay reads at a time, as the client takes them:
/// what one such response holds of its rows at most (docs/SECURITY.md, "Fair share").
pub const STREAM_PAGE_SIZE: i64 = 100;

/// Format version, so that a cursor from an older server is refused, not misread.
const VERSION: &str = "1";

/// Where a page starts: after the task with this sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) sort: SortKey,
    pub(crate) order: SortOrder,
    pub(crate) value: SortValue,
    pub(crate) id: i64,
}

/// The value of the sort column of the last task of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SortValue {
    /// `created_at` / `updated_at`.
    Time(NaiveDateTime),
    /// `title_key`.
    Text(String),
    /// `completed`.
    Flag(bool),
    /// Priority rank.
    Rank(i16),
    /// `due_date` (which may be absent).
    Due(Option<NaiveDateTime>),
    /// `position`.
    Position(String),
}

/// One page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many tasks.
    pub limit: i64,
    /// Start after this task (the first page when `None`).
    pub after: Option<Cursor>,
}

/// One page of tasks.
#[derive(Debug, Clone)]
pub struct Page {
    /// The tasks, in order.
    pub tasks: Vec<Task>,
    /// Whether more tasks follow the last one.
    pub has_next: bool,
    /// How many tasks match the filters, over all pages.
    pub total: i64,
}

fn sort_name(sort: SortKey) -> &'static str {
    match sort {
        SortKey::CreatedAt => "created",
        SortKey::UpdatedAt => "updated",
        SortKey::Title => "title",
        SortKey::Status => "status",
        SortKey::Priority => "priority",
        SortKey::DueDate => "due",
        SortKey::Position => "position",
    }
}

fn micros(at: NaiveDateTime) -> String {
    at.and_utc().timestamp_micros().to_string()
}

/// A cursor's time: microseconds since the epoch, within years 0001–9999 (what a task can
/// hold). Outside it, PostgreSQL refuses the value ("timestamp out of range") where SQLite
/// compares it, so a forged one is refused here, the same on both.
fn time(raw: &str) -> Option<NaiveDateTime> {
    let at = DateTime::<Utc>::from_timestamp_micros(raw.parse().ok()?)?.naive_utc();
    (1..=9999)
        .contains(&chrono::Datelike::year(&at))
        .then_some(at)
}

impl Cursor {
    /// The cursor just after `task` in the order of `query`.
    pub fn after(task: &Task, query: &ListQuery) -> Cursor {
        let value = match query.sort {
            SortKey::CreatedAt => SortValue::Time(task.created_at.naive_utc()),
            SortKey::UpdatedAt => SortValue::Time(task.updated_at.naive_utc()),
            SortKey::Title => SortValue::Text(title_key(&task.title)),
            SortKey::Status => SortValue::Flag(task.completed),
            SortKey::Priority => SortValue::Rank(task.priority.rank()),
            SortKey::DueDate => SortValue::Due(task.due_date.map(|d| d.naive_utc())),
            SortKey::Position => SortValue::Position(task.position.clone()),
        };
        Cursor {
            sort: query.sort,
            order: query.direction(),
            value,
            id: task.id,
        }
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        let order = match self.order {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        };
        let value = match &self.value {
            SortValue::Time(at) => micros(*at),
            SortValue::Text(text) | SortValue::Position(text) => text.clone(),
            SortValue::Flag(flag) => flag.to_string(),
            SortValue::Rank(rank) => rank.to_string(),
            SortValue::Due(Some(at)) => micros(*at),
            SortValue::Due(None) => "-".to_owned(),
        };
        // The value goes last: a title may contain the separator.
        let text = format!(
            "{VERSION}|{}|{order}|{}|{value}",
            sort_name(self.sort),
            self.id
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads a cursor for a list in the order of `query`; an unreadable one, or one made for
    /// another order, is a `value_error` at `location` / `field`.
    pub fn decode(
        raw: &str,
        query: &ListQuery,
        location: &'static str,
        field: &str,
    ) -> Result<Cursor, FieldError> {
        let error = |why: &str| FieldError {
            location,
            field: Some(field.to_owned()),
            kind: "value_error",
            message: format!("Value error, {why}"),
            input: Value::from(raw),
            ctx: None,
        };
        let cursor = Cursor::parse(raw).ok_or_else(|| {
            error("not a cursor this server made (pass back the one it returned, unchanged)")
        })?;
        if cursor.sort != query.sort || cursor.order != query.direction() {
            return Err(error(
                "this cursor belongs to another sort order; keep the sort and order of the \
                 request that returned it",
            ));
        }
        Ok(cursor)
    }

    fn parse(raw: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(5, '|');
        if parts.next()? != VERSION {
            return None;
        }
        let sort_text = parts.next()?;
        let sort = [
            SortKey::CreatedAt,
            SortKey::UpdatedAt,
            SortKey::Title,
            SortKey::Status,
            SortKey::Priority,
            SortKey::DueDate,
            SortKey::Position,
        ]
        .into_iter()
        .find(|s| sort_name(*s) == sort_text)?;
        let order = match parts.next()? {
            "asc" => SortOrder::Asc,
            "desc" => SortOrder::Desc,
            _ => return None,
        };
        let id = parts.next()?.parse().ok()?;
        let raw_value = parts.next()?;
        let value = match sort {
            SortKey::CreatedAt | SortKey::UpdatedAt => SortValue::Time(time(raw_value)?),
            SortKey::Title if !raw_value.contains('\0') => SortValue::Text(raw_value.to_owned()),
            SortKey::Title => return None,
            SortKey::Status => SortValue::Flag(raw_value.parse().ok()?),
            SortKey::Priority => SortValue::Rank(raw_value.parse().ok()?),
            SortKey::DueDate if raw_value == "-" => SortValue::Due(None),
            SortKey::DueDate => SortValue::Due(Some(time(raw_value)?)),
            // A position the server wrote is hex: anything else was not made here.
            SortKey::Position if raw_value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                SortValue::Position(raw_value.to_owned())
            }
            SortKey::Position => return None,
        };
        Some(Cursor {
            sort,
            order,
            value,
            id,
        })
    }
}

/// Checks a page size: `min`..=[`MAX_PAGE_SIZE`], in pydantic's shapes at `location` / `field`.
pub fn page_size(
    location: &'static str,
    field: &str,
    value: i64,
    min: i64,
    input: Value,
) -> Result<i64, FieldError> {
    let error = |kind, message: String, ctx| FieldError {
        location,
        field: Some(field.to_owned()),
        kind,
        message,
        input: input.clone(),
        ctx: Some(ctx),
    };
    if value < min {
        return Err(error(
            "greater_than_equal",
            format!("Input should be greater than or equal to {min}"),
            json!({"ge": min}),
        ));
    }
    if value > MAX_PAGE_SIZE {
        return Err(error(
            "less_than_equal",
            format!("Input should be less than or equal to {MAX_PAGE_SIZE}"),
            json!({"le": MAX_PAGE_SIZE}),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use crate::tasks::task::page::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let query = ListQuery {
            sort: SortKey::Title,
            ..ListQuery::default()
        };
        let cursor = Cursor {
            sort: SortKey::Title,
            order: SortOrder::Asc,
            value: SortValue::Text("a|b é".into()),
            id: 42,
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, &query, "query", "cursor"), Ok(cursor));
        for bad in ["", "x", "!!!", &URL_SAFE_NO_PAD.encode("1|title|asc|x|a")] {
            assert!(
                Cursor::decode(bad, &query, "query", "cursor").is_err(),
                "{bad}"
            );
        }
        let other = ListQuery::default();
        assert!(Cursor::decode(&text, &other, "query", "cursor").is_err());
    }
}
