//! The `tags` field of the task bodies (`body`'s `TaskCreate` and `TaskUpdate`): parsed with
//! pydantic's shapes (each item's error at `tags.<index>`) and documented as an array of
//! names. The rules on the names are the service's (`tasks::tags::rules`); only described here.

use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

use crate::error::FieldError;
use crate::tasks::tags::rules::{TAG_FILTER_MAX, TAG_MAX_CHARS, TAGS_MAX};

/// `tags`: absent is `None`; `null` is `Some(None)` when `nullable` (none), else a
/// `list_type` error; an array of strings, each item's error at `tags.<index>`. The rules on
/// the names are the service's (`tasks::tags::rules`).
pub(super) fn body_tags(
    body: &Map<String, Value>,
    nullable: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Option<Vec<String>>> {
    match body.get("tags")? {
        Value::Null if nullable => Some(None),
        Value::Array(items) => {
            let mut tags = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::String(name) => tags.push(name.clone()),
                    other => errors.push(FieldError::body(
                        &format!("tags.{index}"),
                        "string_type",
                        "Input should be a valid string",
                        other.clone(),
                    )),
                }
            }
            Some(Some(tags))
        }
        other => {
            errors.push(FieldError::body(
                "tags",
                "list_type",
                "Input should be a valid list",
                other.clone(),
            ));
            None
        }
    }
}

/// A list of tags: at most [`TAGS_MAX`], each 1–[`TAG_MAX_CHARS`] characters after trimming.
fn tags_schema(description: &str, nullable: bool) -> ArrayBuilder {
    let types = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(types)
        .description(Some(description))
        .items(tag_name())
        .max_items(Some(TAGS_MAX))
        .unique_items(true)
}

/// One tag's name: 1–[`TAG_MAX_CHARS`] characters, not only whitespace, no NUL.
fn tag_name() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(TAG_MAX_CHARS))
        .pattern(Some(r"^[^\u0000]*[^\u0000\s][^\u0000]*$"))
}

/// A list filter's names, repeated in the query: up to [`TAG_FILTER_MAX`].
fn tag_filter(description: &str) -> Schema {
    ArrayBuilder::new()
        .description(Some(description))
        .items(tag_name())
        .max_items(Some(TAG_FILTER_MAX))
        .build()
        .into()
}

/// The list's `tag` parameter (the parameter's own description is lost with `schema_with`,
/// so the schema carries it).
pub(super) fn all_tags_filter() -> Schema {
    tag_filter(&format!(
        "Only tasks carrying this tag, compared ignoring case (after trimming); repeat it \
         (`tag=a&tag=b`, up to {TAG_FILTER_MAX} times) for tasks carrying all of them. Each \
         1–{TAG_MAX_CHARS} characters after trimming. E.g. `work`."
    ))
}

/// The list's `any_tag` parameter.
pub(super) fn any_tags_filter() -> Schema {
    tag_filter(&format!(
        "Only tasks carrying at least one of these tags, compared ignoring case; repeat it \
         (`any_tag=a&any_tag=b`, up to {TAG_FILTER_MAX} times). Combines with `tag` (AND)."
    ))
}

fn tags_text(absent: &str) -> String {
    format!(
        "Up to {TAGS_MAX} tags, each 1–{TAG_MAX_CHARS} characters after trimming (stored \
         trimmed, no NUL), unique per task ignoring case (a second spelling of one is a 422 \
         naming it); kept in the order given. {absent}"
    )
}

pub(super) fn create_tags() -> RefOr<Schema> {
    tags_schema(&tags_text("Absent or `null`: none."), true)
        .build()
        .into()
}

pub(super) fn update_tags() -> RefOr<Schema> {
    let text = tags_text("Replaces all of them; `[]` clears them. May be absent, never `null`.");
    tags_schema(&text, false).build().into()
}
