//! The JSON bodies of the REST layer: one type per body (`TaskCreate`, `TaskUpdate`) that both
//! parses the raw bytes, with FastAPI / pydantic v2 error shapes for everything malformed, and
//! documents itself in the OpenAPI document. Its limits come from the model's constants, so
//! they are declared once. Rules about values (lengths, blank titles) are the service's; this
//! module must not check them, only describe them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::body_docs::{create_description, create_title, update_description, update_title};
use super::json::{CategoryName, PriorityName};
use super::tag_body::{body_tags, create_tags, update_tags};
use crate::error::{AppError, FieldError};
use crate::tasks::task::model::{category_names, enum_error, parse_datetime, priority_names};
use crate::tasks::{Category, NewTask, Priority, TaskPatch};

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

pub(super) fn string_type(field: &str, input: &Value) -> FieldError {
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

/// A boolean field: absent is `None`; anything but `true` / `false` (`null` too) is
/// pydantic's `bool_type`.
pub(super) fn optional_bool(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<bool> {
    match body.get(field)? {
        Value::Bool(value) => Some(*value),
        other => {
            let message = "Input should be a valid boolean";
            errors.push(FieldError::body(field, "bool_type", message, other.clone()));
            None
        }
    }
}

/// A task or list id field: absent is `None`, `null` is `Some(None)`, else an integer
/// (pydantic's `int_type` / `int_from_float` otherwise).
pub(super) fn optional_id(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Option<i64>> {
    match body.get(field)? {
        Value::Null => Some(None),
        Value::Number(n) if n.as_i64().is_some() => Some(n.as_i64()),
        Value::Number(n) if n.is_f64() => {
            let kind = "int_from_float";
            let message = "Input should be a valid integer, got a number with a fractional part";
            errors.push(FieldError::body(
                field,
                kind,
                message,
                Value::Number(n.clone()),
            ));
            None
        }
        other => {
            let message = "Input should be a valid integer";
            errors.push(FieldError::body(field, "int_type", message, other.clone()));
            None
        }
    }
}

/// Body of `POST /api/{user_id}/tasks`; other fields (`id`, `user_id`, unknown ones) are
/// ignored.
#[derive(ToSchema)]
pub struct TaskCreate {
    #[schema(schema_with = create_title)]
    title: String,
    #[schema(schema_with = create_description)]
    description: Option<String>,
    /// `none` when absent or `null`.
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<Priority>,
    /// `other` when absent or `null`.
    #[schema(value_type = Option<CategoryName>)]
    category: Option<Category>,
    /// RFC 3339 with a time zone (stored in UTC, to the microsecond), or `null`.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T09:00:00Z")]
    due_date: Option<DateTime<Utc>>,
    /// How the task repeats: an RRULE of the supported subset (`FREQ` DAILY / WEEKLY /
    /// MONTHLY / YEARLY, `INTERVAL` 1–1000, `BYDAY` for weekly, `UNTIL` or `COUNT` 1–10000;
    /// an optional `RRULE:` prefix; docs/TASK_MODEL.md), stored in its canonical spelling.
    /// Needs a `due_date`. `null` or absent: it does not repeat.
    #[schema(max_length = 200, example = "FREQ=WEEKLY;BYDAY=MO,TH")]
    recurrence: Option<String>,
    /// The IANA time zone its occurrences keep their wall-clock time in (any case; stored as
    /// spelt by the time zone database). `null` or absent: `UTC`.
    #[schema(example = "Europe/Berlin")]
    time_zone: Option<String>,
    /// When to remind the owner (and the assignee) of it: RFC 3339 with a time zone; a
    /// `REMINDER` event (and `reminder.due` webhooks) at that time, at once when it is past.
    /// `null` or absent: no reminder.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T08:45:00Z")]
    remind_at: Option<DateTime<Utc>>,
    #[schema(schema_with = create_tags)]
    tags: Option<Vec<String>>,
    /// Create it as a subtask of this task of the user's (404 otherwise; at most 3 levels
    /// deep, 422 beyond); it goes into the parent's list. `null` or absent: the top level.
    #[schema(value_type = Option<i64>)]
    parent_id: Option<i64>,
    /// The list to create it in (it goes last there), or `null` / absent for the inbox.
    /// Another user's list, or none: 404 `List not found`.
    list_id: Option<i64>,
    /// Assign it to this user: the list's owner or one of its members (in the inbox, the
    /// task's owner only); anyone else is a 422. `null` or absent: no one.
    #[schema(example = "bob")]
    assignee_id: Option<String>,
}

impl TaskCreate {
    /// Parses the body; every problem is reported at once, as pydantic does.
    pub(super) fn parse(body: &[u8]) -> Result<TaskCreate, AppError> {
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
        // `null` is the default here, as the FastAPI / SQLModel reference takes it.
        let (priority, category) = body_priority_category(&body, true, &mut errors);
        let due_date = body_time(&body, "due_date", &mut errors).flatten();
        let remind_at = body_time(&body, "remind_at", &mut errors).flatten();
        let recurrence = optional_string(&body, "recurrence", true, &mut errors).flatten();
        let time_zone = optional_string(&body, "time_zone", true, &mut errors).flatten();
        let tags = body_tags(&body, true, &mut errors).flatten();
        let parent_id = optional_id(&body, "parent_id", &mut errors).flatten();
        let list_id = optional_id(&body, "list_id", &mut errors).flatten();
        let assignee_id = optional_string(&body, "assignee_id", true, &mut errors).flatten();
        match title {
            Some(title) if errors.is_empty() => Ok(TaskCreate {
                title,
                description,
                priority,
                category,
                due_date,
                recurrence,
                time_zone,
                remind_at,
                tags,
                parent_id,
                list_id,
                assignee_id,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

impl From<TaskCreate> for NewTask {
    fn from(body: TaskCreate) -> Self {
        NewTask {
            title: body.title,
            description: body.description,
            priority: body.priority,
            category: body.category,
            due_date: body.due_date,
            recurrence: body.recurrence,
            time_zone: body.time_zone,
            remind_at: body.remind_at,
            tags: body.tags,
            parent_id: body.parent_id,
            list_id: body.list_id,
            assignee_id: body.assignee_id,
        }
    }
}

/// Body of `PUT /api/{user_id}/tasks/{id}`: a partial update. An absent field is unchanged;
/// `"description": null` clears the description.
#[derive(ToSchema)]
pub struct TaskUpdate {
    #[schema(schema_with = update_title)]
    title: Option<String>,
    #[schema(schema_with = update_description)]
    description: Option<Option<String>>,
    /// Done or not. Completing a task stamps `completed_at`; un-completing clears it.
    /// Completing a pending repeating task moves its due date to the next occurrence and
    /// leaves it pending (the last occurrence completes it for good). May be absent, never
    /// `null`.
    #[schema(nullable = false)]
    completed: Option<bool>,
    /// May be absent, never `null`.
    #[schema(value_type = Option<PriorityName>, nullable = false)]
    priority: Option<Priority>,
    /// May be absent, never `null`.
    #[schema(value_type = Option<CategoryName>, nullable = false)]
    category: Option<Category>,
    /// RFC 3339 with a time zone; `null` clears it (and stops a repeating task repeating).
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T09:00:00Z")]
    due_date: Option<Option<DateTime<Utc>>>,
    /// A new RRULE (as on create; the task must have or get a due date), or `null` to stop
    /// repeating. A changed recurrence, due date or time zone starts the series anew from the
    /// due date.
    #[schema(max_length = 200, example = "FREQ=MONTHLY")]
    recurrence: Option<Option<String>>,
    /// A new IANA time zone. May be absent, never `null`.
    #[schema(nullable = false, example = "America/New_York")]
    time_zone: Option<String>,
    /// A new reminder time (RFC 3339 with a time zone; re-arms it: `reminded_at` back to
    /// `null`), or `null` to cancel it.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T08:45:00Z")]
    remind_at: Option<Option<DateTime<Utc>>>,
    #[schema(schema_with = update_tags)]
    tags: Option<Vec<String>>,
    /// Move it to this list (`null`: the inbox), at the end: the same as
    /// `POST …/tasks/{id}/move` without a neighbour (same rules; its subtasks follow it).
    #[schema(value_type = Option<i64>)]
    list_id: Option<Option<i64>>,
    /// Make it a subtask of this task (`null`: the top level), at the end of its subtasks:
    /// the same as `POST …/tasks/{id}/move` without a neighbour. The current value leaves
    /// the task where it is.
    #[schema(value_type = Option<i64>)]
    parent_id: Option<Option<i64>>,
    /// Assign it to this user (as on create), or `null` to unassign it. A task moved to a
    /// list its assignee is no member of loses its assignee.
    #[schema(value_type = Option<String>, example = "bob")]
    assignee_id: Option<Option<String>>,
}

impl TaskUpdate {
    /// Parses the body: any of its fields, every problem reported at once.
    pub(super) fn parse(body: &[u8]) -> Result<TaskUpdate, AppError> {
        let body = object(body)?;
        let mut errors = Vec::new();
        let title = optional_string(&body, "title", false, &mut errors).flatten();
        let description = optional_string(&body, "description", true, &mut errors);
        let completed = optional_bool(&body, "completed", &mut errors);
        let (priority, category) = body_priority_category(&body, false, &mut errors);
        let due_date = body_time(&body, "due_date", &mut errors);
        let remind_at = body_time(&body, "remind_at", &mut errors);
        let recurrence = optional_string(&body, "recurrence", true, &mut errors);
        let time_zone = optional_string(&body, "time_zone", false, &mut errors).flatten();
        let tags = body_tags(&body, false, &mut errors).flatten();
        let list_id = optional_id(&body, "list_id", &mut errors);
        let parent_id = optional_id(&body, "parent_id", &mut errors);
        let assignee_id = optional_string(&body, "assignee_id", true, &mut errors);
        if errors.is_empty() {
            Ok(TaskUpdate {
                title,
                description,
                completed,
                priority,
                category,
                due_date,
                recurrence,
                time_zone,
                remind_at,
                tags,
                list_id,
                parent_id,
                assignee_id,
            })
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

impl From<TaskUpdate> for TaskPatch {
    fn from(body: TaskUpdate) -> Self {
        TaskPatch {
            title: body.title,
            description: body.description,
            completed: body.completed,
            priority: body.priority,
            category: body.category,
            due_date: body.due_date,
            recurrence: body.recurrence,
            time_zone: body.time_zone,
            remind_at: body.remind_at,
            tags: body.tags,
            list_id: body.list_id,
            parent_id: body.parent_id,
            assignee_id: body.assignee_id,
            ..TaskPatch::default()
        }
    }
}

/// An enum field of the body: absent is `None`, and so is `null` when `nullable`; anything
/// but a known name is pydantic's `enum` error.
fn body_enum<T>(
    body: &Map<String, Value>,
    (field, nullable): (&str, bool),
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let value = body.get(field).filter(|v| !(nullable && v.is_null()))?;
    let parsed = value.as_str().and_then(parse);
    if parsed.is_none() {
        errors.push(enum_error("body", field, names, value.clone()));
    }
    parsed
}

/// `priority` and `category`, as [`body_enum`]s.
fn body_priority_category(
    body: &Map<String, Value>,
    nullable: bool,
    errors: &mut Vec<FieldError>,
) -> (Option<Priority>, Option<Category>) {
    let priorities = priority_names();
    let priority = body_enum(
        body,
        ("priority", nullable),
        Priority::parse,
        &priorities,
        errors,
    );
    let categories = category_names();
    let category = body_enum(
        body,
        ("category", nullable),
        Category::parse,
        &categories,
        errors,
    );
    (priority, category)
}

/// A time (`due_date`, `remind_at`): absent is `None`, `null` is `Some(None)` (none), else
/// RFC 3339.
fn body_time(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    match body.get(field)? {
        Value::Null => Some(None),
        Value::String(raw) => match parse_datetime("body", field, raw) {
            Ok(at) => Some(Some(at)),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        other => {
            errors.push(FieldError::body(
                field,
                "datetime_type",
                "Input should be a valid datetime (an RFC 3339 string)",
                other.clone(),
            ));
            None
        }
    }
}
