//! The rules for a task's fields, whichever API they came through: limits, validation with
//! FastAPI-shaped errors, search keys and patterns, times cut to microseconds. The model
//! (`tasks::task::model`) re-exports them; this file must not depend on it.

// A `FieldError` is large, but validation failures are the cold path; boxing would only make
// every caller unwrap a box.
#![allow(clippy::result_large_err)]

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::FieldError;

/// Longest title, in characters after trimming.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 1000;

/// pydantic's `enum` error for a value outside `names`, e.g. "Input should be 'high',
/// 'medium', 'low' or 'none'", at `location` / `field`.
pub fn enum_error(location: &'static str, field: &str, names: &[&str], input: Value) -> FieldError {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let expected = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    FieldError {
        location,
        field: Some(field.to_owned()),
        kind: "enum",
        message: format!("Input should be {expected}"),
        input,
        ctx: Some(json!({ "expected": expected })),
    }
}

/// Longest search text, in characters. It bounds the work of one search: finding a text of
/// `m` characters in one of `n` costs up to `n × m` comparisons on PostgreSQL (its substring
/// search is Boyer-Moore-Horspool, quadratic on crafted text), so at most 1,200 × 100 per task
/// (title and description); SQLite's search is linear (`db::sqlite`).
pub const SEARCH_MAX_CHARS: usize = 100;

/// Checks a search text (where the request had it: `location` / `field`).
pub(crate) fn validate_search(
    location: &'static str,
    field: &str,
    search: &str,
) -> Result<(), FieldError> {
    if search.chars().count() > SEARCH_MAX_CHARS {
        return Err(FieldError {
            location,
            field: Some(field.to_owned()),
            kind: "string_too_long",
            message: format!("String should have at most {SEARCH_MAX_CHARS} characters"),
            input: Value::from(search),
            ctx: Some(json!({"max_length": SEARCH_MAX_CHARS})),
        });
    }
    if search.contains('\0') {
        return Err(FieldError {
            location,
            field: Some(field.to_owned()),
            kind: "value_error",
            message: "Value error, must not contain the NUL character (U+0000)".into(),
            input: Value::from(search),
            ctx: None,
        });
    }
    Ok(())
}

/// What a search text is looked for as, in the folded title and description (`task::fold`):
/// folded the same way. It is found as a plain substring (`strpos`), so `%`, `_` and `\`
/// match themselves.
pub(crate) fn search_needle(search: &str) -> String {
    super::fold::fold(search)
}

/// Parses an RFC 3339 date-time (with its offset), or says what is wrong at `location` /
/// `field`. Cut to microseconds, what both backends store.
pub fn parse_datetime(
    location: &'static str,
    field: &str,
    raw: &str,
) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| micros(d.with_timezone(&Utc)))
        .map_err(|e| FieldError {
            location,
            field: Some(field.to_owned()),
            kind: "datetime_parsing",
            message: format!(
                "Input should be a valid datetime in RFC 3339 with a time zone, as in \
                 2026-12-01T09:00:00Z ({e})"
            ),
            input: Value::from(raw),
            ctx: None,
        })
}

/// The earliest due date stored: 0001-01-01T00:00:00Z.
const DUE_DATE_MIN: &str = "0001-01-01T00:00:00Z";
/// The latest due date stored: the last microsecond of 9999 in UTC.
const DUE_DATE_MAX: &str = "9999-12-31T23:59:59.999999Z";

/// Checks a due date: its UTC instant must fall in years 0001–9999. An offset can move a
/// four-digit local date out of them (`0000-01-01T00:00:00+23:59` is in year -1 in UTC), and
/// such a time would come back spelt with a sign or five digits: not RFC 3339, and refused
/// when sent back.
pub(crate) fn validate_due_date(at: DateTime<Utc>) -> Result<(), FieldError> {
    validate_time("due_date", at)
}

/// Checks a stored time of `field` (a due date, a reminder) as [`validate_due_date`] does.
pub(crate) fn validate_time(field: &str, at: DateTime<Utc>) -> Result<(), FieldError> {
    use chrono::Datelike;
    if (1..=9999).contains(&at.year()) {
        return Ok(());
    }
    Err(FieldError::body(
        field,
        "value_error",
        format!("Value error, must be between {DUE_DATE_MIN} and {DUE_DATE_MAX} in UTC"),
        Value::from(at.to_rfc3339()),
    )
    .with_ctx(json!({"min": DUE_DATE_MIN, "max": DUE_DATE_MAX})))
}

/// A time cut to whole microseconds.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
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
pub(crate) fn check_no_nul(field: &str, value: &str) -> Result<(), FieldError> {
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

/// The key titles are sorted by (a page cursor carries it): folded as the database folds
/// them (`task::fold`), so both backends order them alike.
pub(crate) fn title_key(title: &str) -> String {
    super::fold::fold(title)
}

/// Longest user id an assignee may be (whether it is one the list's is the store's check).
const MAX_USER_ID_CHARS: usize = 255;

/// An assignee's id: 1 to [`MAX_USER_ID_CHARS`] characters (a 422 otherwise).
pub(crate) fn validate_assignee_id(id: &str) -> Result<(), FieldError> {
    if id.is_empty() || id.chars().count() > MAX_USER_ID_CHARS {
        return Err(FieldError::body(
            "assignee_id",
            "value_error",
            format!(
                "Value error, assignee_id must be a user id of 1 to {MAX_USER_ID_CHARS} characters"
            ),
            Value::from(id),
        ));
    }
    Ok(())
}
