//! Conditional requests (RFC 9110 §8.8.3, §13): every response carrying one task has the
//! strong `ETag` `"<id>-<version>"`; `If-Match` on a write becomes the service's
//! [`Precondition`] (checked inside the write, after ownership); `If-None-Match` on a read
//! gives 304; REQUIRE_IF_MATCH makes `If-Match` mandatory on writes (428); a version conflict
//! is a 412 whose body carries the task as it is now ([`Refused`]). A keyed write's replay
//! carries the `ETag` of the task its stored body holds (the version that write made).
//!
//! Decisions where the RFC leaves room: `If-Match` uses the strong comparison, so a weak tag
//! (`W/"…"`) never matches (412); an `If-Match` that is not `*` or a list of quoted
//! entity-tags is a 400 (the write is never attempted); a malformed `If-None-Match` is
//! ignored (a read is safe to answer in full).

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::TaskJson;
use super::list_body::ListJson;
use crate::AppState;
use crate::error::{AppError, IdempotencyError};
use crate::tasks::idempotency::request::StoredOutcome;
use crate::tasks::{Precondition, Task};

/// The strong entity-tag of a task in this version.
pub(super) fn etag(task: &Task) -> HeaderValue {
    tag_of(task.id, task.version)
}

/// The entity-tag `"<id>-<version>"` (of a task, or of a list: `rest::lists`).
pub(super) fn tag_of(id: i64, version: i64) -> HeaderValue {
    // Digits, a dash and quotes: always a valid header value.
    HeaderValue::from_str(&format!("\"{id}-{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0-0\""))
}

/// The response of a write returning a task: its stored rendering (what a keyed retry
/// replays) with the task's `ETag`.
pub(super) fn written_response(outcome: &StoredOutcome, task: &Task) -> Response {
    let mut response = outcome.response();
    response.headers_mut().insert(header::ETAG, etag(task));
    response
}

/// The replay of a keyed write, with the `ETag` of the task its stored body holds (the task
/// as that write left it; none for a 204 or a list).
fn replayed(stored: &StoredOutcome) -> Response {
    /// What the tag needs of a stored task's JSON.
    #[derive(Deserialize)]
    struct Tagged {
        id: i64,
        version: i64,
    }
    let mut response = stored.replay();
    if let Ok(task) = serde_json::from_str::<Tagged>(&stored.body) {
        let tag = tag_of(task.id, task.version);
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// A response carrying one task: the task's JSON with its `ETag`.
pub(super) fn task_response(status: StatusCode, task: Task) -> Response {
    let tag = etag(&task);
    (status, [(header::ETAG, tag)], Json(TaskJson::from(task))).into_response()
}

/// The 412 body: the message, `VERSION_CONFLICT`, and the task as it is now.
#[derive(Serialize, ToSchema)]
pub struct PreconditionFailed {
    /// Always `VERSION_CONFLICT`.
    #[schema(example = "VERSION_CONFLICT")]
    code: &'static str,
    /// What went wrong.
    detail: String,
    /// The task as it is now (its `ETag` is on the response too): merge, then retry with it.
    task: TaskJson,
}

/// The 412 body of a list write: the message, `VERSION_CONFLICT`, and the list as it is now.
#[derive(Serialize, ToSchema)]
pub struct ListPreconditionFailed {
    /// Always `VERSION_CONFLICT`.
    #[schema(example = "VERSION_CONFLICT")]
    code: &'static str,
    /// What went wrong.
    detail: String,
    /// The list as it is now (its `ETag` is on the response too): merge, then retry with it.
    list: ListJson,
}

/// A REST handler's error: an [`AppError`], with the version conflict rendered here (its body
/// carries a task, which only this layer knows how to encode).
pub(super) struct Refused(AppError);

impl From<AppError> for Refused {
    fn from(error: AppError) -> Self {
        Refused(error)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::VersionConflict(task) => {
                let detail = AppError::VersionConflict(task.clone()).public_message();
                let tag = etag(&task);
                let body = PreconditionFailed {
                    code: "VERSION_CONFLICT",
                    detail,
                    task: TaskJson::from(*task),
                };
                let status = StatusCode::PRECONDITION_FAILED;
                (status, [(header::ETAG, tag)], Json(body)).into_response()
            }
            AppError::ListVersionConflict(list) => {
                let detail = AppError::ListVersionConflict(list.clone()).public_message();
                let tag = tag_of(list.id, list.version);
                let body = ListPreconditionFailed {
                    code: "VERSION_CONFLICT",
                    detail,
                    list: ListJson::from(&*list),
                };
                let status = StatusCode::PRECONDITION_FAILED;
                (status, [(header::ETAG, tag)], Json(body)).into_response()
            }
            AppError::Idempotency(IdempotencyError::Replay(stored)) => replayed(&stored),
            other => other.into_response(),
        }
    }
}

/// One entity-tag of a conditional header: weak or not, and its opaque text (unquoted).
#[derive(Debug, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    opaque: &'a str,
}

/// `*` or a comma-separated list of entity-tags (RFC 9110 §5.6.1, §8.8.3): `None` for `*`,
/// `Some(tags)` for a list, `Err` for anything else.
fn parse_list(value: &str) -> Result<Option<Vec<Tag<'_>>>, ()> {
    let value = value.trim_matches([' ', '\t']);
    if value == "*" {
        return Ok(None);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let body = quoted.strip_prefix('"').ok_or(())?;
        let end = body.find('"').ok_or(())?;
        let opaque = &body[..end];
        // etagc: %x21 / %x23-7E / obs-text (a header value that is text has no other bytes).
        if opaque.bytes().any(|b| b < 0x21 || b == 0x7f) {
            return Err(());
        }
        tags.push(Tag { weak, opaque });
        rest = body[end + 1..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return Err(());
        }
    }
    if tags.is_empty() {
        Err(())
    } else {
        Ok(Some(tags))
    }
}

/// Every value of a header, joined as one list (a field may be sent on several lines).
fn joined(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<String>, ()> {
    let mut parts = Vec::new();
    for value in headers.get_all(name) {
        parts.push(value.to_str().map_err(|_| ())?);
    }
    Ok((!parts.is_empty()).then(|| parts.join(",")))
}

/// The version a tag names for task `id`, when it is one of ours for that task.
fn version_of(tag: &Tag<'_>, id: i64) -> Option<i64> {
    let (tag_id, version) = tag.opaque.split_once('-')?;
    (tag_id.parse::<i64>().ok()? == id)
        .then(|| version.parse::<i64>().ok())
        .flatten()
}

/// A write's `If-Match`, checked for shape (400) and, under REQUIRE_IF_MATCH, for presence
/// (428) before the handler runs.
pub(super) struct IfMatch(Option<String>);

impl FromRequestParts<AppState> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let malformed = AppError::MalformedHeader("If-Match");
        match joined(&parts.headers, header::IF_MATCH) {
            Err(()) => Err(malformed),
            Ok(None) if state.config.operations.require_if_match => {
                Err(AppError::PreconditionRequired)
            }
            Ok(None) => Ok(IfMatch(None)),
            Ok(Some(value)) => match parse_list(&value) {
                Ok(_) => Ok(IfMatch(Some(value))),
                Err(()) => Err(malformed),
            },
        }
    }
}

impl IfMatch {
    /// What the write asks of task `id`. Strong comparison: a weak tag, another task's tag or
    /// a tag not of ours matches no version (a 412 if the task is there).
    pub(super) fn precondition(&self, id: i64) -> Precondition {
        let Some(value) = &self.0 else {
            return Precondition::None;
        };
        // The extractor checked that it parses; were it not to, it would match nothing.
        let Ok(parsed) = parse_list(value) else {
            return Precondition::Version(0);
        };
        let Some(tags) = parsed else {
            return Precondition::Exists;
        };
        let mut versions: Vec<i64> = tags
            .iter()
            .filter(|tag| !tag.weak)
            .filter_map(|tag| version_of(tag, id))
            .collect();
        versions.sort_unstable();
        versions.dedup();
        match versions.as_slice() {
            [] => Precondition::Version(0),
            [one] => Precondition::Version(*one),
            _ => Precondition::OneOf(versions),
        }
    }
}

/// Whether a read's `If-None-Match` matches the task as it is (weak comparison, RFC 9110
/// §13.1.2): then the answer is 304. A malformed one matches nothing.
pub(super) fn not_modified(headers: &HeaderMap, task: &Task) -> bool {
    let Ok(Some(value)) = joined(headers, header::IF_NONE_MATCH) else {
        return false;
    };
    match parse_list(&value) {
        Ok(None) => true,
        Ok(Some(tags)) => tags
            .iter()
            .any(|tag| version_of(tag, task.id) == Some(task.version)),
        Err(()) => false,
    }
}

/// The 304 for a read whose `If-None-Match` matched: no body, the `ETag` it would have had.
pub(super) fn not_modified_response(task: &Task) -> Response {
    (StatusCode::NOT_MODIFIED, [(header::ETAG, etag(task))]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tag_lists_parse_as_rfc_9110_writes_them() {
        let strong = |opaque| Tag {
            weak: false,
            opaque,
        };
        assert_eq!(parse_list("*"), Ok(None));
        assert_eq!(parse_list(" \"1-2\" "), Ok(Some(vec![strong("1-2")])));
        assert_eq!(
            parse_list("\"1-2\", W/\"1-3\",,\"\""),
            Ok(Some(vec![
                strong("1-2"),
                Tag {
                    weak: true,
                    opaque: "1-3"
                },
                strong("")
            ]))
        );
        for garbage in [
            "",
            "1-2",
            "\"1-2",
            "\"1-2\" x",
            "w/\"1\"",
            "\"a b\"",
            "*, \"1\"",
        ] {
            assert_eq!(parse_list(garbage), Err(()), "{garbage:?}");
        }
        assert_eq!(version_of(&strong("7-3"), 7), Some(3));
        assert_eq!(version_of(&strong("8-3"), 7), None);
        assert_eq!(version_of(&strong("v3"), 7), None);
    }
}
