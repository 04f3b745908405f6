//! Turning raw request input into service input, with FastAPI / pydantic v2 error shapes for
//! everything malformed. Rules about values (lengths, blank titles) are the service's.

use serde_json::{Map, Value, json};

use crate::error::{AppError, FieldError};
use crate::tasks::model::{category_names, enum_error, parse_datetime, priority_names};
use crate::tasks::page::page_size;
use crate::tasks::{
    Category, Cursor, ListQuery, NewTask, PageRequest, Priority, SortKey, SortOrder, TaskPatch,
    TaskStatus,
};

/// Parses a JSON object body.
pub(super) fn object(body: &[u8]) -> Result<Map<String, Value>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid(FieldError {
            location: "body",
            field: None,
            kind: "missing",
            message: "Field required".into(),
            input: Value::Null,
            ctx: None,
        }));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        AppError::invalid(FieldError {
            location: "body",
            field: Some(byte_offset(body, e.line(), e.column()).to_string()),
            kind: "json_invalid",
            message: "JSON decode error".into(),
            input: json!({}),
            ctx: Some(json!({"error": e.to_string()})),
        })
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(AppError::invalid(FieldError {
            location: "body",
            field: None,
            kind: "model_attributes_type",
            message: "Input should be a valid dictionary or object to extract fields from".into(),
            input: other,
            ctx: None,
        })),
    }
}

/// Where serde_json's 1-based line / column points, as a 0-based character offset (FastAPI
/// puts the decoder's position in `loc`).
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(body);
    let mut offset = 0;
    for (index, current) in text.split('\n').enumerate() {
        if index + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += current.chars().count() + 1;
    }
    offset
}

fn string_type(field: &str, input: &Value) -> FieldError {
    FieldError::body(
        field,
        "string_type",
        "Input should be a valid string",
        input.clone(),
    )
}

/// A string field: `Ok(None)` when absent; `null` is allowed only when `nullable`.
fn optional_string(
    body: &Map<String, Value>,
    field: &str,
    nullable: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match body.get(field) {
        None => None,
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(Value::Null) if nullable => Some(None),
        Some(other) => {
            errors.push(string_type(field, other));
            None
        }
    }
}

/// The body of `POST /tasks`: `{title, description?}`; other fields are ignored.
pub(super) fn new_task(body: &[u8]) -> Result<NewTask, AppError> {
    let body = object(body)?;
    let mut errors = Vec::new();
    let title = match body.get("title") {
        None => {
            errors.push(FieldError::body(
                "title",
                "missing",
                "Field required",
                Value::Object(body.clone()),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            errors.push(string_type("title", other));
            None
        }
    };
    let description = optional_string(&body, "description", true, &mut errors).flatten();
    let priority = body_priority(&body, &mut errors);
    let category = body_category(&body, &mut errors);
    let due_date = body_due_date(&body, &mut errors).flatten();
    match title {
        Some(title) if errors.is_empty() => Ok(NewTask {
            title,
            description,
            priority,
            category,
            due_date,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

/// An enum field of the body: absent is `None`; anything but a known name (`null` too) is
/// pydantic's `enum` error.
fn body_enum<T>(
    body: &Map<String, Value>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let value = body.get(field)?;
    let parsed = value.as_str().and_then(parse);
    if parsed.is_none() {
        errors.push(enum_error("body", field, names, value.clone()));
    }
    parsed
}

fn body_priority(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Priority> {
    body_enum(body, "priority", Priority::parse, &priority_names(), errors)
}

fn body_category(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Category> {
    body_enum(body, "category", Category::parse, &category_names(), errors)
}

/// `due_date`: absent is `None`, `null` is `Some(None)` (no due date), else RFC 3339.
fn body_due_date(
    body: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    match body.get("due_date")? {
        Value::Null => Some(None),
        Value::String(raw) => match parse_datetime("body", "due_date", raw) {
            Ok(at) => Some(Some(at)),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        other => {
            errors.push(FieldError::body(
                "due_date",
                "datetime_type",
                "Input should be a valid datetime (an RFC 3339 string)",
                other.clone(),
            ));
            None
        }
    }
}

/// The body of `PUT /tasks/{id}`: any of title, description, completed.
pub(super) fn task_patch(body: &[u8]) -> Result<TaskPatch, AppError> {
    let body = object(body)?;
    let mut errors = Vec::new();
    let title = optional_string(&body, "title", false, &mut errors).flatten();
    let description = optional_string(&body, "description", true, &mut errors);
    let completed = match body.get("completed") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            errors.push(FieldError::body(
                "completed",
                "bool_type",
                "Input should be a valid boolean",
                other.clone(),
            ));
            None
        }
    };
    let priority = body_priority(&body, &mut errors);
    let category = body_category(&body, &mut errors);
    let due_date = body_due_date(&body, &mut errors);
    if errors.is_empty() {
        Ok(TaskPatch {
            title,
            description,
            completed,
            priority,
            category,
            due_date,
        })
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A task id from the path.
pub(super) fn task_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().map_err(|_| {
        AppError::invalid(FieldError {
            location: "path",
            field: Some("id".into()),
            kind: "int_parsing",
            message: "Input should be a valid integer, unable to parse string as an integer".into(),
            input: Value::from(raw),
            ctx: None,
        })
    })
}

fn literal<T: Copy>(
    name: &str,
    raw: &str,
    options: &[(&str, T)],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    if let Some((_, value)) = options
        .iter()
        .find(|(text, _)| text.eq_ignore_ascii_case(raw))
    {
        return Some(*value);
    }
    let names: Vec<String> = options
        .iter()
        .map(|(text, _)| format!("'{text}'"))
        .collect();
    let expected = match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    errors.push(FieldError {
        location: "query",
        field: Some(name.to_owned()),
        kind: "literal_error",
        message: format!("Input should be {expected}"),
        input: Value::from(raw),
        ctx: Some(json!({"expected": expected})),
    });
    None
}

/// A query parameter that must be an integer.
fn query_int(name: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let parsed = raw.parse::<i64>().ok();
    if parsed.is_none() {
        errors.push(FieldError {
            location: "query",
            field: Some(name.to_owned()),
            kind: "int_parsing",
            message: "Input should be a valid integer, unable to parse string as an integer".into(),
            input: Value::from(raw),
            ctx: None,
        });
    }
    parsed
}

/// A query parameter that must be a boolean, spelled as pydantic accepts them.
fn query_bool(name: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<bool> {
    let lower = raw.to_ascii_lowercase();
    match lower.as_str() {
        "true" | "1" | "yes" | "y" | "on" | "t" => Some(true),
        "false" | "0" | "no" | "n" | "off" | "f" => Some(false),
        _ => {
            errors.push(FieldError {
                location: "query",
                field: Some(name.to_owned()),
                kind: "bool_parsing",
                message: "Input should be a valid boolean, unable to interpret input".into(),
                input: Value::from(raw),
                ctx: None,
            });
            None
        }
    }
}

/// An enum query parameter (`priority`, `category`): pydantic's `enum` error when unknown.
fn query_enum<T>(
    name: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let parsed = parse(raw);
    if parsed.is_none() {
        errors.push(enum_error("query", name, names, Value::from(raw)));
    }
    parsed
}

/// A `+hh:mm` offset left unescaped in a URL arrives as a space (form decoding); restore it,
/// since no RFC 3339 date-time has a space there.
fn plus_offset(raw: &str) -> std::borrow::Cow<'_, str> {
    let bytes = raw.as_bytes();
    match bytes.len().checked_sub(6) {
        Some(at) if bytes[at] == b' ' && bytes[at + 3] == b':' => {
            format!("{}+{}", &raw[..at], &raw[at + 1..]).into()
        }
        _ => raw.into(),
    }
}

/// The list query: filters (`status`, `priority`, `category`, `search`, `due_before`,
/// `due_after`, `overdue`), the order (`sort` or `sort_by`, and `order`) and, when `limit` or
/// `cursor` is given, the page. Unknown parameters are ignored; for a repeated one the last
/// wins.
pub(super) fn list_query(raw: Option<&str>) -> Result<(ListQuery, Option<PageRequest>), AppError> {
    let mut query = ListQuery::default();
    let mut errors = Vec::new();
    let mut sort = None;
    let mut sort_by = None;
    let mut limit = None;
    let mut cursor = None;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "status" => {
                let options = [
                    ("all", TaskStatus::All),
                    ("pending", TaskStatus::Pending),
                    ("completed", TaskStatus::Completed),
                ];
                if let Some(status) = literal("status", &value, &options, &mut errors) {
                    query.status = status;
                }
            }
            "sort" => {
                let options = [
                    ("created", SortKey::CreatedAt),
                    ("updated", SortKey::UpdatedAt),
                    ("title", SortKey::Title),
                    ("status", SortKey::Status),
                    ("priority", SortKey::Priority),
                    ("due", SortKey::DueDate),
                ];
                sort = literal("sort", &value, &options, &mut errors).or(sort);
            }
            "sort_by" => {
                let options = [
                    ("created_at", SortKey::CreatedAt),
                    ("updated_at", SortKey::UpdatedAt),
                    ("title", SortKey::Title),
                    ("status", SortKey::Status),
                    ("priority", SortKey::Priority),
                    ("due_date", SortKey::DueDate),
                ];
                sort_by = literal("sort_by", &value, &options, &mut errors).or(sort_by);
            }
            "order" => {
                let options = [("asc", SortOrder::Asc), ("desc", SortOrder::Desc)];
                if let Some(order) = literal("order", &value, &options, &mut errors) {
                    query.order = Some(order);
                }
            }
            "priority" => {
                let names = priority_names();
                query.priority =
                    query_enum("priority", &value, Priority::parse, &names, &mut errors)
                        .or(query.priority);
            }
            "category" => {
                let names = category_names();
                query.category =
                    query_enum("category", &value, Category::parse, &names, &mut errors)
                        .or(query.category);
            }
            "search" => query.search = Some(value.into_owned()),
            "due_before" | "due_after" => match parse_datetime("query", &key, &plus_offset(&value))
            {
                Ok(at) if key == "due_before" => query.due_before = Some(at),
                Ok(at) => query.due_after = Some(at),
                Err(e) => errors.push(e),
            },
            "overdue" => {
                if let Some(overdue) = query_bool("overdue", &value, &mut errors) {
                    query.overdue = overdue;
                }
            }
            "limit" => {
                if let Some(n) = query_int("limit", &value, &mut errors) {
                    match page_size("query", "limit", n, 1, Value::from(value.as_ref())) {
                        Ok(n) => limit = Some(n),
                        Err(e) => errors.push(e),
                    }
                }
            }
            "cursor" => cursor = Some(value.into_owned()),
            _ => {}
        }
    }
    // `sort_by` is the newer spelling; it wins when a client sends both.
    query.sort = sort_by.or(sort).unwrap_or_default();
    // Read against the final order: a cursor is only valid for the order it was made in.
    let mut after = None;
    if let Some(raw) = cursor.as_deref() {
        match Cursor::decode(raw, &query, "query", "cursor") {
            Ok(cursor) => after = Some(cursor),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let page = (limit.is_some() || after.is_some()).then(|| PageRequest {
        // A cursor alone pages on with the largest page.
        limit: limit.unwrap_or(crate::tasks::page::MAX_PAGE_SIZE),
        after,
    });
    Ok((query, page))
}
