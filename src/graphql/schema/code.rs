//! Every GraphQL `extensions.code` this API sends, named once in [`Code`], and the one place
//! that picks them: for an `AppError` ([`Code::of`]), for errors async-graphql raises itself
//! ([`add_codes`]); refusals before execution name theirs from the same enum. Shared by every
//! transport (HTTP and WebSocket), so neither imports the other. It decides no status, message
//! or other extension: `error` builds the error, the transports the response.

use async_graphql::Response;

use crate::error::{AppError, AuthFailure, ConnectionLimit, IdempotencyError};

/// A GraphQL error code, as clients match on it in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// A request that is not one GraphQL can run (no query, not JSON, a mutation over GET, a
    /// batch of the wrong size).
    BadRequest,
    /// An argument or variable of the wrong shape, or a field that fails validation.
    BadUserInput,
    /// A document that does not parse (or nests too deep to be parsed).
    GraphqlParseFailed,
    /// A document that parses but may not run (unknown field, a limit passed).
    GraphqlValidationFailed,
    /// No token, or one that does not verify.
    Unauthenticated,
    /// Not the caller's to touch.
    Forbidden,
    /// No such thing for this caller.
    NotFound,
    /// The database or the key set is unreachable.
    ServiceUnavailable,
    /// A query that ran longer than STATEMENT_TIMEOUT.
    QueryTimeout,
    /// Storage cannot take writes.
    StorageUnavailable,
    /// The per-user rate limit.
    RateLimited,
    /// A count limit: tasks per user, operations per socket.
    LimitExceeded,
    /// Too many open subscriptions for one user.
    TooManySubscriptions,
    /// A sync cursor older than the deletions kept.
    CursorExpired,
    /// A mutation with this idempotency key is still running.
    IdempotencyKeyInUse,
    /// An idempotency key already used for a different mutation or arguments.
    IdempotencyKeyReused,
    /// A list name the user already has (case-insensitively).
    DuplicateName,
    /// A conditional write (`expectedVersion`) on a task that has changed since.
    VersionConflict,
    /// A response that would hold more than GRAPHQL_MAX_RESPONSE_BYTES (`transport::budget`).
    ResponseTooLarge,
    /// A fault of the server (details logged, never sent).
    InternalServerError,
    /// A code a feature declares with its refusal (`error::FeatureError`): `DUPLICATE_MEMBER`,
    /// `WEBHOOK_DISABLED`, or one of the above by name.
    Declared(&'static str),
}

impl Code {
    /// The code as sent in `extensions.code`.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "BAD_REQUEST",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Code::QueryTimeout => "QUERY_TIMEOUT",
            Code::StorageUnavailable => "STORAGE_UNAVAILABLE",
            Code::RateLimited => "RATE_LIMITED",
            Code::LimitExceeded => "LIMIT_EXCEEDED",
            Code::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            Code::CursorExpired => "CURSOR_EXPIRED",
            Code::IdempotencyKeyInUse => "IDEMPOTENCY_KEY_IN_USE",
            Code::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Code::DuplicateName => "DUPLICATE_NAME",
            Code::VersionConflict => "VERSION_CONFLICT",
            Code::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
            Code::Declared(code) => code,
        }
    }

    /// The code of an `AppError` (docs/ARCHITECTURE.md rule 5: the one GraphQL mapping).
    pub(crate) fn of(error: &AppError) -> Code {
        match error {
            AppError::Unauthenticated(AuthFailure::KeysUnavailable(_)) => Code::ServiceUnavailable,
            AppError::Unauthenticated(_) => Code::Unauthenticated,
            AppError::Forbidden => Code::Forbidden,
            AppError::NotFound | AppError::TagNotFound | AppError::ListNotFound => Code::NotFound,
            AppError::DuplicateListName(_) => Code::DuplicateName,
            AppError::ListLimitReached(_) => Code::LimitExceeded,
            AppError::Validation(_) => Code::BadUserInput,
            AppError::Unavailable(_) | AppError::DatabaseBusy(_) => Code::ServiceUnavailable,
            AppError::QueryTimeout => Code::QueryTimeout,
            AppError::StorageUnavailable(_) => Code::StorageUnavailable,
            AppError::RateLimited(_) => Code::RateLimited,
            AppError::TaskLimitReached(_) | AppError::TagLimitReached(_) => Code::LimitExceeded,
            AppError::TooManySubscriptions(_) => Code::TooManySubscriptions,
            AppError::TooManyConnections(ConnectionLimit::Server(_)) => Code::ServiceUnavailable,
            AppError::TooManyConnections(_) => Code::LimitExceeded,
            AppError::CursorExpired => Code::CursorExpired,
            AppError::Idempotency(refusal) => match refusal {
                IdempotencyError::BadKey(_) => Code::BadUserInput,
                IdempotencyError::InUse => Code::IdempotencyKeyInUse,
                IdempotencyError::Reused => Code::IdempotencyKeyReused,
                IdempotencyError::Full(_) => Code::LimitExceeded,
                // A replay is answered by the resolver; one that got here is a bug.
                IdempotencyError::Replay(_) => Code::InternalServerError,
            },
            AppError::VersionConflict(_) | AppError::ListVersionConflict(_) => {
                Code::VersionConflict
            }
            // REST only (headers): not met through GraphQL.
            AppError::PreconditionRequired | AppError::MalformedHeader(_) => Code::BadRequest,
            AppError::Feature(refusal) => Code::Declared(refusal.code()),
            AppError::Internal(_) => Code::InternalServerError,
        }
    }
}

/// Gives every error an `extensions.code`: errors from parsing or validation have none.
pub(crate) fn add_codes(mut response: Response) -> Response {
    let request_failed = response.data == async_graphql::Value::Null;
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            let code = if !error.path.is_empty() && is_input_coercion(&error.message) {
                Code::BadUserInput
            } else if request_failed && error.path.is_empty() {
                Code::GraphqlValidationFailed
            } else {
                Code::InternalServerError
            };
            extensions.set("code", code.as_str());
        }
    }
    response
}

/// async-graphql's words for a variable or argument of the wrong shape, met while executing
/// a field (so the error has a path): the client's input, not a server fault. Without a path
/// the same words are a validation failure of the document itself.
pub(crate) fn is_input_coercion(message: &str) -> bool {
    message.starts_with("Failed to parse \"")
        || message.starts_with("Invalid value for argument")
        || message.starts_with("Expected input type")
        || message.starts_with("Variable \"")
}
