//! One input field's error, as pydantic v2 reports it: what REST's 422 lists and GraphQL's
//! BAD_USER_INPUT carries.

use serde::Serialize;
use serde_json::{Value, json};

use super::ValidationError;

/// What is wrong with one input field. `kind` and `message` follow pydantic v2, so FastAPI
/// clients that display `detail[].msg` keep working.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// Where the bad value was: `("body", "title")`, `("path", "id")`, `("query", "status")`.
    pub location: &'static str,
    /// The field name (or `None` for the whole body).
    pub field: Option<String>,
    /// pydantic's error type: `missing`, `string_type`, `string_too_long`, `json_invalid`, …
    pub kind: &'static str,
    /// A human-readable message.
    pub message: String,
    /// The offending input, echoed back.
    pub input: Value,
    /// Extra context (limits, the parser's complaint).
    pub ctx: Option<Value>,
}

impl FieldError {
    /// An error about one named field of the request body.
    pub fn body(field: &str, kind: &'static str, message: impl Into<String>, input: Value) -> Self {
        FieldError {
            location: "body",
            field: Some(field.to_owned()),
            kind,
            message: message.into(),
            input,
            ctx: None,
        }
    }

    /// Adds pydantic's `ctx` object.
    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    /// FastAPI's `{"type", "loc", "msg", "input"[, "ctx"]}` object.
    pub fn to_fastapi(&self) -> ValidationError {
        let mut loc = vec![json!(self.location)];
        if let Some(field) = &self.field {
            // FastAPI writes the JSON decoder's character offset as a number in `loc`.
            match field.parse::<u64>() {
                Ok(n) if self.kind == "json_invalid" => loc.push(json!(n)),
                // An item of a list field, `tags.3`: pydantic's `["body", "tags", 3]`.
                _ => match field.split_once('.').map(|(f, i)| (f, i.parse::<u64>())) {
                    Some((name, Ok(index))) => loc.extend([json!(name), json!(index)]),
                    _ => loc.push(json!(field)),
                },
            }
        }
        ValidationError {
            ctx: self.ctx.clone(),
            input: self.input.clone(),
            loc,
            msg: self.message.clone(),
            kind: self.kind.to_owned(),
        }
    }
}
