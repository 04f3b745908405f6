//! The refusals a feature declares in its own folder (webhooks' `WebhookError`, sharing's
//! `SharingError`, …): each says its HTTP status, its code and its message through
//! [`FeatureError`], and becomes an [`AppError`](super::AppError) by `?` or `.into()` with no
//! line in `error.rs` or in GraphQL's code table. A feature adds a refusal by adding a variant
//! to its own enum, nowhere else.

use std::any::Any;

use axum::http::StatusCode;

/// A feature's refusal, as both APIs show it.
pub trait FeatureError: std::error::Error + Any + Send + Sync {
    /// The HTTP status.
    fn status(&self) -> StatusCode;
    /// The machine-readable code: GraphQL's `extensions.code`, and the REST body's `code`
    /// unless [`FeatureError::rest_code`] says otherwise.
    fn code(&self) -> &'static str;
    /// The REST body's `code`; `None` where REST bodies carry none (FastAPI's bare 404s).
    fn rest_code(&self) -> Option<&'static str> {
        Some(self.code())
    }
    /// The client-facing message.
    fn message(&self) -> String;
    /// The limit a refusal names (GraphQL's `extensions.limit`).
    fn limit(&self) -> Option<u64> {
        None
    }
}

impl<E: FeatureError> From<E> for super::AppError {
    fn from(refusal: E) -> Self {
        super::AppError::Feature(Box::new(refusal))
    }
}

impl super::AppError {
    /// The feature's refusal this error is, if it is one of type `E` (to answer a refusal
    /// differently: a GraphQL lookup's `null` for a webhook not found).
    pub fn feature<E: FeatureError>(&self) -> Option<&E> {
        match self {
            super::AppError::Feature(refusal) => (refusal.as_ref() as &dyn Any).downcast_ref(),
            _ => None,
        }
    }
}
