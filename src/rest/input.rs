//! Turning raw request input into service input, with FastAPI / pydantic v2 error shapes for
//! everything malformed. Rules about values (lengths, blank titles) are the service's.

use serde_json::{Map, Value, json};

use crate::error::{AppError, FieldError};
use crate::tasks::{ListQuery, NewTask, SortKey, SortOrder, TaskPatch, TaskStatus};

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
    match title {
        Some(title) if errors.is_empty() => Ok(NewTask { title, description }),
        _ => Err(AppError::Validation(errors)),
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
    if errors.is_empty() {
        Ok(TaskPatch {
            title,
            description,
            completed,
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

/// The list query: `status`, and `sort` or `sort_by` + `order`. Unknown parameters are ignored.
pub(super) fn list_query(raw: Option<&str>) -> Result<ListQuery, AppError> {
    let mut query = ListQuery::default();
    let mut errors = Vec::new();
    let mut sort = None;
    let mut sort_by = None;
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
                ];
                sort = literal("sort", &value, &options, &mut errors).or(sort);
            }
            "sort_by" => {
                let options = [
                    ("created_at", SortKey::CreatedAt),
                    ("updated_at", SortKey::UpdatedAt),
                    ("title", SortKey::Title),
                    ("status", SortKey::Status),
                ];
                sort_by = literal("sort_by", &value, &options, &mut errors).or(sort_by);
            }
            "order" => {
                let options = [("asc", SortOrder::Asc), ("desc", SortOrder::Desc)];
                if let Some(order) = literal("order", &value, &options, &mut errors) {
                    query.order = Some(order);
                }
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // `sort_by` is the newer spelling; it wins when a client sends both.
    query.sort = sort_by.or(sort).unwrap_or_default();
    Ok(query)
}
