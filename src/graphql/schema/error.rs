//! `AppError` → GraphQL error: the public message, `extensions.code` (from [`Code::of`]) and the
//! extensions some errors carry (`limit`, `retryAfter`, `field`, `errors`, `task`). Logs internals and
//! never returns them.

use async_graphql::ErrorExtensions;

use super::code::Code;
use crate::error::{AppError, IdempotencyError};

/// The GraphQL error for an `AppError`. Internal details are logged, never returned.
pub fn to_graphql_error(error: AppError) -> async_graphql::Error {
    error.log();
    let code = Code::of(&error).as_str();
    let message = graphql_message(&error);
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", code);
        if let AppError::TaskLimitReached(cap)
        | AppError::TagLimitReached(cap)
        | AppError::ListLimitReached(cap)
        | AppError::Idempotency(IdempotencyError::Full(cap)) = &error
        {
            ext.set("limit", *cap);
        }
        if let AppError::Feature(refusal) = &error
            && let Some(cap) = refusal.limit()
        {
            ext.set("limit", cap);
        }
        if let AppError::Idempotency(IdempotencyError::InUse) = &error {
            ext.set("retryAfter", IdempotencyError::RETRY_AFTER_SECS);
        }
        if let AppError::VersionConflict(task) = &error {
            ext.set("task", super::task_items::task_value(task));
        }
        if let AppError::ListVersionConflict(list) = &error {
            ext.set("list", super::types::list_value(list));
        }
        if let AppError::RateLimited(limited) = &error {
            ext.set("retryAfter", limited.retry_after_secs());
        }
        if let AppError::Validation(errors) = &error {
            if let Some(field) = errors.iter().find_map(|e| e.field.clone()) {
                ext.set("field", field);
            }
            let details: Vec<async_graphql::Value> = errors
                .iter()
                .map(|e| {
                    let mut obj = async_graphql::indexmap::IndexMap::new();
                    obj.insert(
                        async_graphql::Name::new("field"),
                        async_graphql::Value::from(e.field.clone().unwrap_or_default()),
                    );
                    obj.insert(
                        async_graphql::Name::new("type"),
                        async_graphql::Value::from(e.kind),
                    );
                    obj.insert(
                        async_graphql::Name::new("message"),
                        async_graphql::Value::from(e.message.clone()),
                    );
                    async_graphql::Value::Object(obj)
                })
                .collect();
            ext.set("errors", async_graphql::Value::List(details));
        }
    })
}

/// The message a GraphQL client reads: REST's, except where REST's names HTTP headers a
/// GraphQL client does not send (a version conflict: `expectedVersion`, not an ETag).
fn graphql_message(error: &AppError) -> String {
    let (what, version) = match error {
        AppError::VersionConflict(task) => ("task", task.version),
        AppError::ListVersionConflict(list) => ("list", list.version),
        _ => return error.public_message(),
    };
    format!(
        "Version conflict: the {what} has changed since the version you sent; it is now version \
         {version} (its current state is in `extensions.{what}`: merge and retry with \
         `expectedVersion: {version}`)"
    )
}

/// A BAD_USER_INPUT error about one argument (e.g. an `ID` that is not a number).
pub(crate) fn bad_argument(field: &str, message: &str) -> async_graphql::Error {
    to_graphql_error(AppError::invalid(crate::error::FieldError {
        location: "body",
        field: Some(field.to_owned()),
        kind: "int_parsing",
        message: message.to_owned(),
        input: serde_json::Value::Null,
        ctx: None,
    }))
}

/// An `ID` argument (or input field) `field` as the service's integer id; BAD_USER_INPUT
/// naming the field when it is not one.
pub(crate) fn parse_id(field: &str, id: &async_graphql::ID) -> async_graphql::Result<i64> {
    id.parse::<i64>().map_err(|_| {
        bad_argument(
            field,
            "Input should be a valid integer, unable to parse string as an integer",
        )
    })
}
