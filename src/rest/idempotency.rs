//! `Idempotency-Key` on REST writes: the header, checked ([`WriteKey`]: 400 when malformed),
//! the keyed request it makes with the write's method, path and body, and the one rendering
//! of a write's response ([`task_outcome`]) that is both sent and stored, so a replay is the
//! same bytes. Also the write operations' documented responses ([`WriteErrors`]).
//!
//! The check-and-store itself is the task service's (`tasks::idempotency`), inside the write.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use serde::Deserialize;
use utoipa::openapi::{RefOr, Response};
use utoipa::{IntoParams, IntoResponses};

use super::json::TaskJson;
use super::openapi::{detail_response, errors};
use crate::error::AppError;
use crate::idempotency::{IdempotencyKey, KeyedRequest, StoredOutcome};
use crate::tasks::Task;

/// The write's `Idempotency-Key`, if it has one, with its method and path.
pub(super) struct WriteKey(Option<(IdempotencyKey, Method, String)>);

impl<S: Send + Sync> FromRequestParts<S> for WriteKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let Some(key) = IdempotencyKey::from_headers(&parts.headers)? else {
            return Ok(WriteKey(None));
        };
        let path = match parts.extensions.get::<OriginalUri>() {
            Some(OriginalUri(uri)) => uri.path().to_owned(),
            None => parts.uri.path().to_owned(),
        };
        Ok(WriteKey(Some((key, parts.method.clone(), path))))
    }
}

impl WriteKey {
    /// The keyed request, with the body the write was sent (`None`: no key).
    pub(super) fn request(self, body: &[u8]) -> Option<KeyedRequest> {
        let (key, method, path) = self.0?;
        Some(KeyedRequest::new(key, method.as_str(), &path, body))
    }
}

/// The response of a write that returns a task: sent, and stored for a replay.
pub(super) fn task_outcome(status: StatusCode, task: &Task) -> StoredOutcome {
    let body =
        serde_json::to_string(&TaskJson::from(task.clone())).unwrap_or_else(|_| "{}".to_owned());
    StoredOutcome::json(status, body)
}

/// The `Idempotency-Key` request header, as documented (`WriteKey` reads it).
#[derive(Deserialize, IntoParams)]
#[allow(dead_code)] // a description for the document, never built
#[into_params(parameter_in = Header)]
pub struct KeyHeader {
    /// Makes a retry of this write safe: a repeat with the same key and the same request gets
    /// the first outcome again (status and body, with `Idempotent-Replayed: true`) and
    /// changes nothing. 1 to 255 visible ASCII characters; keys are the user's own and kept
    /// IDEMPOTENCY_KEY_RETENTION.
    #[serde(rename = "Idempotency-Key")]
    #[param(required = false)]
    pub key: Option<String>,
}

/// The error responses of a write that reads a task id (`ID`) and / or a body (`BODY`):
/// those of every operation, and those of an `Idempotency-Key`.
pub struct WriteErrors<const ID: bool, const BODY: bool>;

impl<const ID: bool, const BODY: bool> IntoResponses for WriteErrors<ID, BODY> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut map = errors(ID, BODY);
        let mut add = |status: &str, description: &str| {
            map.insert(
                status.to_owned(),
                RefOr::T(detail_response(description).build()),
            );
        };
        add(
            "400",
            "A malformed `Idempotency-Key` (empty, over 255 characters, or not visible ASCII)",
        );
        add(
            "409",
            "A request with this `Idempotency-Key` is still running (`code`: \
             `IDEMPOTENCY_KEY_IN_USE`); retry after `Retry-After` seconds for its outcome",
        );
        // 422 keeps its validation schema; the description names the key's case too.
        if let Some(RefOr::T(invalid)) = map.get_mut("422") {
            invalid.description = "Malformed or invalid input (`{\"detail\": [...]}`), or an \
                `Idempotency-Key` already used for a different method, path or body \
                (`{\"detail\": \"...\", \"code\": \"IDEMPOTENCY_KEY_REUSED\"}`)"
                .to_owned();
        }
        map
    }
}
