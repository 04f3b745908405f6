//! The OpenAPI schemas of the task bodies' title and description (their limits, worded for
//! create and for update): what `body`'s `TaskCreate` and `TaskUpdate` name with
//! `schema_with`.

use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

use crate::tasks::task::model::{DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};

/// A title: at most [`TITLE_MAX_CHARS`] after trimming, not only whitespace, no NUL.
fn title_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(1))
        .max_length(Some(TITLE_MAX_CHARS))
        .pattern(Some(r"^[^\u0000]*[^\u0000\s][^\u0000]*$"))
}

/// A description: `null` or at most [`DESCRIPTION_MAX_CHARS`], no NUL.
fn description_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(description))
        .max_length(Some(DESCRIPTION_MAX_CHARS))
        .pattern(Some(r"^[^\u0000]*$"))
}

// `example`, as the derived schemas still spell it (the document keeps one spelling).
#[allow(deprecated)]
pub(super) fn create_title() -> RefOr<Schema> {
    let text = format!(
        "1–{TITLE_MAX_CHARS} characters after trimming (stored trimmed); not only whitespace, \
         no NUL."
    );
    title_schema(&text)
        .example(Some(json!("Buy milk")))
        .build()
        .into()
}

pub(super) fn update_title() -> RefOr<Schema> {
    let text = format!(
        "1–{TITLE_MAX_CHARS} characters after trimming; not only whitespace, no NUL. May be \
         absent, never\n`null`."
    );
    title_schema(&text).build().into()
}

// `example`, as the derived schemas still spell it (the document keeps one spelling).
#[allow(deprecated)]
pub(super) fn create_description() -> RefOr<Schema> {
    let text = format!("Up to {DESCRIPTION_MAX_CHARS} characters, no NUL.");
    description_schema(&text)
        .example(Some(json!("2 litres")))
        .build()
        .into()
}

pub(super) fn update_description() -> RefOr<Schema> {
    let text = format!("Up to {DESCRIPTION_MAX_CHARS} characters, no NUL; `null` clears it.");
    description_schema(&text).build().into()
}
