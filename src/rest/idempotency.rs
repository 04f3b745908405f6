//! `Idempotency-Key` on REST writes: the header, checked ([`WriteKey`]: 400 when malformed),
//! the keyed request it makes with the write's method, path and body, and the one rendering
//! of a write's response ([`task_outcome`]) that is both sent and stored, so a replay is the
//! same bytes. Their documentation is `write_docs`'.
//!
//! The check-and-store itself is the task service's (`tasks::idempotency`), inside the write.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};

use super::json::TaskJson;
use crate::error::AppError;
use crate::tasks::Task;
use crate::tasks::idempotency::request::{IdempotencyKey, KeyedRequest, StoredOutcome};

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
    pub(super) fn request(&self, body: &[u8]) -> Option<KeyedRequest> {
        let (key, method, path) = self.0.as_ref()?;
        Some(KeyedRequest::new(key.clone(), method.as_str(), path, body))
    }
}

/// The response of a write that returns a task: sent, and stored for a replay.
pub(super) fn task_outcome(status: StatusCode, task: &Task) -> StoredOutcome {
    let body =
        serde_json::to_string(&TaskJson::from(task.clone())).unwrap_or_else(|_| "{}".to_owned());
    StoredOutcome::json(status, body)
}

/// [`task_outcome`] with 200: what a write that changed a task answers.
pub(super) fn task_ok(task: &Task) -> StoredOutcome {
    task_outcome(StatusCode::OK, task)
}
