//! `AppError`: the one error type of the service, and its REST mapping.
//!
//! Every failure a request can meet is one variant here, a feature's own refusals through one
//! of them ([`AppError::Feature`]: the feature's enum implements [`FeatureError`] in its
//! folder). The HTTP status and FastAPI-style body are chosen in one `match`
//! ([`AppError::status`]); the GraphQL code in another (`graphql::schema::code`). Internal
//! errors are logged with the request id and never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

mod feature;
mod field;
mod rate_limited;

pub use crate::server::slots::ConnectionLimit;
pub use crate::tasks::idempotency::request::IdempotencyError;
use crate::tasks::task::Task;
pub use feature::FeatureError;
pub use field::FieldError;
pub use rate_limited::RateLimited;

/// Result of a service function.
pub type AppResult<T> = Result<T, AppError>;

/// Why a request is not authenticated. The reason goes to the log and to
/// `WWW-Authenticate`'s `error_description`, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header, an empty one, or one that is not `Bearer <token>`.
    Missing,
    /// The token's `exp` has passed (beyond the leeway).
    Expired,
    /// Anything else wrong with the token; the text says what (bad signature, unknown key, …).
    Invalid(String),
    /// The keys needed to verify the token could not be fetched (JWKS server down).
    KeysUnavailable(String),
}

impl AuthFailure {
    /// The `detail` FastAPI clients read.
    pub fn detail(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "Not authenticated",
            AuthFailure::Expired => "Token has expired",
            AuthFailure::Invalid(_) => "Invalid token",
            AuthFailure::KeysUnavailable(_) => "Service unavailable",
        }
    }

    /// The reason for logs and `error_description`.
    pub fn reason(&self) -> String {
        match self {
            AuthFailure::Missing => "no bearer token".to_owned(),
            AuthFailure::Expired => "token has expired".to_owned(),
            AuthFailure::Invalid(why) => why.clone(),
            AuthFailure::KeysUnavailable(why) => why.clone(),
        }
    }
}

// The REST error bodies. Their fields are in alphabetical order: the order the bodies have
// always had on the wire (they were built as `serde_json::Value` maps, which sort their keys).

/// An error in FastAPI's shape: `{"detail": "…"}`.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    /// On 410: `CURSOR_EXPIRED`; on 412: `VERSION_CONFLICT`; on a refused live connection:
    /// `TOO_MANY_CONNECTIONS` (429) or `SERVER_BUSY` (503); on an idempotency key refused:
    /// `IDEMPOTENCY_KEY_IN_USE` (409) or `IDEMPOTENCY_KEY_REUSED` (422); on a list refused:
    /// `DUPLICATE_NAME` or `LIMIT_EXCEEDED` (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// What went wrong, e.g. "Task not found".
    #[schema(example = "Task not found")]
    detail: String,
    /// Only on 500: the id of the request in the server's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

/// A 422 in FastAPI's (pydantic v2) shape.
#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    /// One entry per problem.
    detail: Vec<ValidationError>,
}

/// One input problem.
#[derive(Serialize, ToSchema)]
pub struct ValidationError {
    /// Extra context (limits, the parser's complaint).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    ctx: Option<Value>,
    /// The offending input: any JSON value.
    #[schema(value_type = serde_json::Value)]
    input: Value,
    /// Where: `["body", "title"]`, `["path", "id"]`, `["query", "status"]`.
    /// Each item a field name or an index (a string or an integer).
    #[schema(value_type = Vec<serde_json::Value>, example = json!(["body", "title"]))]
    loc: Vec<Value>,
    /// A human-readable message.
    msg: String,
    /// pydantic's error type: `missing`, `string_too_long`, `json_invalid`, …
    #[serde(rename = "type")]
    #[schema(example = "string_too_short")]
    kind: String,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 401: no usable credentials.
    #[error("not authenticated: {}", .0.reason())]
    Unauthenticated(AuthFailure),
    /// 403: the path names another user.
    #[error("not authorized to access this user's tasks")]
    Forbidden,
    /// 404: no such task for this user (another user's task looks the same).
    #[error("task not found")]
    NotFound,
    /// 404: no task of this user carries the tag named (rename, delete).
    #[error("tag not found")]
    TagNotFound,
    /// 404: no such list for this user (another user's list looks the same): a list's own
    /// path, a move's neighbour, a task created in it, a filter by it.
    #[error("list not found")]
    ListNotFound,
    /// 409: the user already has a list of this name (case-insensitively).
    #[error("duplicate list name {0:?}")]
    DuplicateListName(String),
    /// 409: the user already has as many lists as MAX_LISTS_PER_USER allows.
    #[error("list limit reached ({0} lists)")]
    ListLimitReached(u64),
    /// 422: the input breaks a rule.
    #[error("invalid input: {0:?}")]
    Validation(Vec<FieldError>),
    /// 429: this user has used up their request budget for now.
    #[error("rate limited: retry in {}s", .0.retry_after_secs())]
    RateLimited(RateLimited),
    /// 409: the user already has as many tasks as MAX_TASKS_PER_USER allows.
    #[error("task limit reached ({0} tasks)")]
    TaskLimitReached(u64),
    /// 409: the write would give the user more distinct tags than MAX_TAGS_PER_USER allows.
    #[error("tag limit reached ({0} tags)")]
    TagLimitReached(u64),
    /// 429: the user already has the most subscriptions allowed open on this instance.
    #[error("too many open subscriptions (at most {0} per user)")]
    TooManySubscriptions(usize),
    /// 429 or 503: a connection over one of the connection shares (issue 18).
    #[error("too many connections: {0:?}")]
    TooManyConnections(ConnectionLimit),
    /// 410: a sync cursor older than the deletions still remembered (or not from this
    /// database): the client must fetch everything again.
    #[error("sync cursor expired")]
    CursorExpired,
    /// 503: a dependency (the database, the key server) cannot be reached right now.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503: a statement ran longer than STATEMENT_TIMEOUT and was stopped.
    #[error("a query ran longer than STATEMENT_TIMEOUT and was stopped")]
    QueryTimeout,
    /// 503: this user already has their share of the database (the number of units of work
    /// allowed at once) busy, and none came free within DB_TIMEOUT.
    #[error("the user's database share ({0} at once) stayed busy")]
    DatabaseBusy(usize),
    /// 503: storage cannot take writes (read-only file or database, full disk, I/O error).
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// 400, 409, 422 or 429 for an idempotency key, or the replay of a stored outcome.
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// 412: a conditional write (`If-Match`, `expectedVersion`) named a version the task no
    /// longer has; carries the task as it is now, so the client can merge without a re-read.
    #[error("version conflict: the task is at version {}", .0.version)]
    VersionConflict(Box<Task>),
    /// 412: a conditional list write (`If-Match`, `expectedVersion`) named a version the list
    /// no longer has; carries the list as it is now.
    #[error("version conflict: the list is at version {}", .0.version)]
    ListVersionConflict(Box<crate::tasks::List>),
    /// 428: REQUIRE_IF_MATCH is on and a write came without `If-Match`.
    #[error("precondition required")]
    PreconditionRequired,
    /// 400: a conditional header that is not one (`If-Match: v1`, an unterminated tag).
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    /// A refusal a feature declares in its own folder (`FeatureError`): sharing's, webhooks', …
    #[error("{0}")]
    Feature(Box<dyn FeatureError>),
    /// 500: a bug or an unexpected database answer. The text is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A validation error about a single field.
    pub fn invalid(error: FieldError) -> Self {
        AppError::Validation(vec![error])
    }

    /// The HTTP status of each variant: the one place it is decided.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated(AuthFailure::KeysUnavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound | AppError::TagNotFound | AppError::ListNotFound => {
                StatusCode::NOT_FOUND
            }
            AppError::DuplicateListName(_) | AppError::ListLimitReached(_) => StatusCode::CONFLICT,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_)
            | AppError::QueryTimeout
            | AppError::DatabaseBusy(_)
            | AppError::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TaskLimitReached(_) | AppError::TagLimitReached(_) => StatusCode::CONFLICT,
            AppError::TooManySubscriptions(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooManyConnections(ConnectionLimit::Server(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::TooManyConnections(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::CursorExpired => StatusCode::GONE,
            AppError::Idempotency(e) => e.status(),
            AppError::VersionConflict(_) | AppError::ListVersionConflict(_) => {
                StatusCode::PRECONDITION_FAILED
            }
            AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::MalformedHeader(_) => StatusCode::BAD_REQUEST,
            AppError::Feature(e) => e.status(),
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The client-facing message (never an internal detail).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unauthenticated(failure) => failure.detail().to_owned(),
            AppError::Forbidden => "Not authorized to access this user's tasks".to_owned(),
            AppError::NotFound => "Task not found".to_owned(),
            AppError::TagNotFound => "Tag not found: no task of yours carries it".to_owned(),
            AppError::ListNotFound => "List not found".to_owned(),
            AppError::DuplicateListName(name) => format!(
                "A list named {name:?} already exists (list names are unique per user, \
                 case-insensitively)"
            ),
            AppError::ListLimitReached(cap) => {
                format!("List limit reached: at most {cap} lists per user")
            }
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| match &e.field {
                    Some(f) => format!("{f}: {}", e.message),
                    None => e.message.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            AppError::Unavailable(_) => "Service unavailable".to_owned(),
            AppError::QueryTimeout => "The query took too long and was stopped; narrow it \
                                       (a shorter search, more filters) or try again later"
                .to_owned(),
            AppError::DatabaseBusy(share) => format!(
                "Too many of your requests are using the database at once (at most {share}); \
                 try again shortly"
            ),
            AppError::StorageUnavailable(_) => "Storage is unavailable: the database cannot \
                                                save changes right now; try again later"
                .to_owned(),
            AppError::RateLimited(_) => "Too Many Requests".to_owned(),
            AppError::TaskLimitReached(_) => "Task limit reached".to_owned(),
            AppError::TagLimitReached(cap) => format!(
                "Tag limit reached: at most {cap} different tags per user (MAX_TAGS_PER_USER); \
                 remove or rename one first"
            ),
            AppError::TooManySubscriptions(limit) => {
                format!("Too many open subscriptions: at most {limit} per user; close one first")
            }
            AppError::TooManyConnections(limit) => limit.message(),
            AppError::CursorExpired => "CURSOR_EXPIRED: the cursor is older than the changes \
                                        kept; fetch everything again (no `since`)"
                .to_owned(),
            AppError::Idempotency(e) => e.message(),
            AppError::VersionConflict(task) => format!(
                "Precondition Failed: the task has changed since the version you sent; it is \
                 now version {} (its current state is in `task`: merge and retry with its ETag)",
                task.version
            ),
            AppError::ListVersionConflict(list) => format!(
                "Precondition Failed: the list has changed since the version you sent; it is \
                 now version {} (its current state is in `list`: merge and retry with its ETag)",
                list.version
            ),
            AppError::PreconditionRequired => "Precondition Required: send If-Match with the \
                                               task's ETag (or `*`) on every write"
                .to_owned(),
            AppError::MalformedHeader(name) => format!(
                "Malformed {name} header: expected `*` or quoted entity-tags such as \"12-3\""
            ),
            AppError::Feature(e) => e.message(),
            AppError::Internal(_) => "Internal server error".to_owned(),
        }
    }

    /// Logs what operators need; called once, where the error becomes a response.
    pub fn log(&self) {
        match self {
            AppError::Internal(why) => tracing::error!(error = %why, "internal error"),
            AppError::Unavailable(why) => tracing::warn!(error = %why, "service unavailable"),
            AppError::StorageUnavailable(why) => {
                tracing::error!(error = %why, "storage unavailable")
            }
            AppError::QueryTimeout => tracing::warn!("a query ran over STATEMENT_TIMEOUT"),
            AppError::Unauthenticated(failure) => {
                tracing::debug!(reason = %failure.reason(), "request not authenticated")
            }
            _ => {}
        }
    }
}

/// The `WWW-Authenticate` value for a 401 (RFC 6750).
fn www_authenticate(failure: &AuthFailure) -> HeaderValue {
    let value = match failure {
        AuthFailure::Missing | AuthFailure::KeysUnavailable(_) => "Bearer".to_owned(),
        other => {
            // Quoted-string: keep it to printable ASCII without quotes or backslashes.
            let description: String = other
                .reason()
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .take(200)
                .collect();
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\"")
        }
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// REST rendering, in FastAPI's shapes: `{"detail": "…"}` or `{"detail": [ … ]}` for 422.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Idempotency(IdempotencyError::Replay(stored)) = &self {
            return stored.replay();
        }
        self.log();
        let status = self.status();
        let mut response = match &self {
            AppError::Validation(errors) => {
                let detail = errors.iter().map(FieldError::to_fastapi).collect();
                (status, axum::Json(ValidationErrors { detail })).into_response()
            }
            other => {
                let code = match other {
                    AppError::CursorExpired => Some("CURSOR_EXPIRED"),
                    AppError::VersionConflict(_) | AppError::ListVersionConflict(_) => {
                        Some("VERSION_CONFLICT")
                    }
                    AppError::DuplicateListName(_) => Some("DUPLICATE_NAME"),
                    AppError::ListLimitReached(_) => Some("LIMIT_EXCEEDED"),
                    AppError::TooManyConnections(limit) => Some(limit.code()),
                    AppError::Idempotency(e) => e.code(),
                    AppError::Feature(e) => e.rest_code(),
                    _ => None,
                };
                let body = Detail {
                    code,
                    detail: other.public_message(),
                    // Lets a user's report be matched to the logged error.
                    request_id: matches!(other, AppError::Internal(_))
                        .then(crate::server::request_id::current)
                        .flatten(),
                };
                (status, axum::Json(body)).into_response()
            }
        };
        if let AppError::RateLimited(limited) = &self {
            response.headers_mut().extend(limited.headers());
        }
        if let AppError::Idempotency(IdempotencyError::InUse) = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(IdempotencyError::RETRY_AFTER_SECS),
            );
        }
        if let AppError::TooManyConnections(ConnectionLimit::Server(_)) = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(ConnectionLimit::RETRY_AFTER_SECS),
            );
        }
        if let AppError::Unauthenticated(failure) = &self
            && status == StatusCode::UNAUTHORIZED
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, www_authenticate(failure));
        }
        response
    }
}
