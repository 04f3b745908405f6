//! What the `/api/{user_id}/lists` routes read and write (issue 21): the bodies of a create,
//! an update and a move, parsed with FastAPI / pydantic v2 error shapes and documenting
//! themselves; the delete's `tasks` parameter; the list's JSON and the delete's answer. Rules
//! about values (name length, uniqueness) are the service's; this module only describes them.

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};

use super::body::{object, optional_id, string_type};
use crate::error::{AppError, FieldError};
use crate::tasks::lists::model::{LIST_NAME_MAX_CHARS, color_error};
use crate::tasks::task::time::rfc3339;
use crate::tasks::{List, ListColor, ListDeletion, ListPatch, ListPlacement, ListTasks, NewList};

/// A list as REST shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = List)]
pub struct ListJson {
    id: i64,
    /// The list's owner (the same as `owner_id`).
    user_id: String,
    /// The list's owner: the user whose tasks its tasks are (issue 29).
    owner_id: String,
    /// The caller's role on it: `owner`, or `editor` / `viewer` for a list shared with them.
    #[schema(pattern = "^(owner|editor|viewer)$")]
    role: &'static str,
    /// 1–100 characters (trimmed); unique per user, case-insensitively.
    name: String,
    #[schema(schema_with = color_out)]
    color: Option<&'static str>,
    /// Its place among the user's lists: compare as plain strings (byte order), smallest
    /// first. Changed only by a move.
    position: String,
    /// 1 when created, one more on every change (rename, colour, move).
    #[schema(minimum = 1)]
    version: i64,
    /// RFC 3339 UTC with `Z`.
    created_at: String,
    /// RFC 3339 UTC with `Z`.
    updated_at: String,
}

impl From<&List> for ListJson {
    fn from(list: &List) -> Self {
        ListJson {
            id: list.id,
            user_id: list.user_id.clone(),
            owner_id: list.user_id.clone(),
            role: list.role.as_str(),
            name: list.name.clone(),
            color: list.color.map(ListColor::as_str),
            position: list.position.clone(),
            version: list.version,
            created_at: rfc3339(list.created_at),
            updated_at: rfc3339(list.updated_at),
        }
    }
}

/// What `DELETE /api/{user_id}/lists/{id}` did.
#[derive(Serialize, ToSchema)]
pub struct ListDeleted {
    /// The deleted list's id.
    deleted_list: i64,
    /// What happened to its tasks: `deleted` or `moved_to_inbox`.
    #[schema(value_type = String, pattern = "^(deleted|moved_to_inbox)$")]
    tasks: &'static str,
    /// The tasks deleted or moved to the inbox (`list_id` null), in id order; each has its
    /// event and sync entry.
    task_ids: Vec<i64>,
}

impl From<&ListDeletion> for ListDeleted {
    fn from(done: &ListDeletion) -> Self {
        ListDeleted {
            deleted_list: done.list_id,
            tasks: done.tasks.outcome(),
            task_ids: done.task_ids.clone(),
        }
    }
}

/// Body of `POST /api/{user_id}/lists`; other fields are ignored.
#[derive(ToSchema)]
pub struct ListCreate {
    #[schema(schema_with = name_in)]
    name: String,
    #[schema(schema_with = color_in)]
    color: Option<ListColor>,
}

impl ListCreate {
    /// Parses the body; every problem is reported at once.
    pub(super) fn parse(body: &[u8]) -> Result<ListCreate, AppError> {
        let body = object(body)?;
        let mut errors = Vec::new();
        let name = match body.get("name") {
            None => {
                let input = Value::Object(body.clone());
                errors.push(FieldError::body("name", "missing", "Field required", input));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                errors.push(string_type("name", other));
                None
            }
        };
        let color = body_color(&body, &mut errors).flatten();
        match name {
            Some(name) if errors.is_empty() => Ok(ListCreate { name, color }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

impl From<ListCreate> for NewList {
    fn from(body: ListCreate) -> Self {
        NewList {
            name: body.name,
            color: body.color,
        }
    }
}

/// Body of `PUT /api/{user_id}/lists/{id}`: an absent field is unchanged; `"color": null`
/// clears the colour.
#[derive(ToSchema)]
pub struct ListUpdate {
    #[schema(schema_with = name_in)]
    name: Option<String>,
    #[schema(schema_with = color_in)]
    color: Option<Option<ListColor>>,
}

impl ListUpdate {
    /// Parses the body; every problem is reported at once.
    pub(super) fn parse(body: &[u8]) -> Result<ListUpdate, AppError> {
        let body = object(body)?;
        let mut errors = Vec::new();
        let name = match body.get("name") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                errors.push(string_type("name", other));
                None
            }
        };
        let color = body_color(&body, &mut errors);
        if errors.is_empty() {
            Ok(ListUpdate { name, color })
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

impl From<ListUpdate> for ListPatch {
    fn from(body: ListUpdate) -> Self {
        ListPatch {
            name: body.name,
            color: body.color,
        }
    }
}

/// Body of `POST /api/{user_id}/lists/{id}/move`: at most one of `after_id` and
/// `before_id`; with neither (or an empty body) the list goes to the end.
#[derive(ToSchema)]
pub struct ListMove {
    /// Put the list right after this one of the user's lists.
    after_id: Option<i64>,
    /// Put the list right before this one of the user's lists.
    before_id: Option<i64>,
}

impl ListMove {
    /// Parses the body (empty: `{}`).
    pub(super) fn parse(body: &[u8]) -> Result<ListMove, AppError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            object(body)?
        };
        let mut errors = Vec::new();
        let after = optional_id(&body, "after_id", &mut errors).flatten();
        let before = optional_id(&body, "before_id", &mut errors).flatten();
        if after.is_some() && before.is_some() {
            errors.push(FieldError::body(
                "before_id",
                "value_error",
                "Value error, give at most one of after_id and before_id",
                Value::Object(body.clone()),
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(ListMove {
            after_id: after,
            before_id: before,
        })
    }

    /// Where the list goes.
    pub(super) fn placement(&self) -> ListPlacement {
        match (self.after_id, self.before_id) {
            (Some(after), _) => ListPlacement::After(after),
            (None, Some(before)) => ListPlacement::Before(before),
            (None, None) => ListPlacement::End,
        }
    }
}

/// Query parameters of `DELETE /api/{user_id}/lists/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteListParams {
    /// Required: what to do with the list's tasks: `delete` them (subtasks included) or move
    /// them to the `inbox`. Absent or anything else: 422.
    #[param(value_type = String, pattern = "^(delete|inbox)$")]
    pub(super) tasks: ListTasks,
}

impl DeleteListParams {
    /// The `tasks` parameter of a raw query string.
    pub(super) fn parse(raw: Option<&str>) -> Result<DeleteListParams, AppError> {
        let mut found = None;
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if key == "tasks" {
                found = Some(value.into_owned());
            }
        }
        let error = |kind, message: &str, input| {
            AppError::invalid(FieldError {
                location: "query",
                field: Some("tasks".to_owned()),
                kind,
                message: message.to_owned(),
                input,
                ctx: Some(json!({"expected": "'delete' or 'inbox'"})),
            })
        };
        match found.as_deref() {
            Some("delete") => Ok(DeleteListParams {
                tasks: ListTasks::Delete,
            }),
            Some("inbox") => Ok(DeleteListParams {
                tasks: ListTasks::MoveToInbox,
            }),
            None => Err(error(
                "missing",
                "Field required: tasks=delete (delete the list's tasks) or tasks=inbox (move \
                 them to the inbox)",
                Value::Null,
            )),
            Some(other) => Err(error(
                "literal_error",
                "Input should be 'delete' or 'inbox'",
                Value::from(other),
            )),
        }
    }
}

/// `color`: absent is `None`, `null` is `Some(None)`, a known name `Some(Some(..))`; anything
/// else is an `enum` error naming the colours.
fn body_color(
    body: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<ListColor>> {
    match body.get("color")? {
        Value::Null => Some(None),
        value => match value.as_str().and_then(ListColor::parse) {
            Some(color) => Some(Some(color)),
            None => {
                errors.push(color_error("body", "color", value.clone()));
                None
            }
        },
    }
}

fn name_in() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "1–{LIST_NAME_MAX_CHARS} characters after trimming (stored trimmed), no NUL; \
             unique per user, case-insensitively (else 409 `DUPLICATE_NAME`)."
        )))
        .min_length(Some(1))
        .max_length(Some(LIST_NAME_MAX_CHARS))
        .pattern(Some(r"^[^\u0000]*[^\u0000\s][^\u0000]*$"))
        .build()
        .into()
}

fn color_schema(description: &str) -> RefOr<Schema> {
    let mut names: Vec<Value> = ListColor::names().into_iter().map(Value::from).collect();
    names.push(Value::Null);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(description))
        .enum_values(Some(names))
        .build()
        .into()
}

fn color_in() -> RefOr<Schema> {
    color_schema(
        "One of the colours, or `null` for none (absent: none on a create, unchanged on an update).",
    )
}

fn color_out() -> RefOr<Schema> {
    color_schema("Its colour, or `null` for none.")
}
