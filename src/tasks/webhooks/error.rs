//! The refusals of webhooks (issue 43), as both APIs show them (`error::FeatureError`).

use axum::http::StatusCode;

use crate::error::FeatureError;

/// A refused webhook request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// 404: no such webhook for this user (another user's webhook looks the same).
    #[error("webhook not found")]
    NotFound,
    /// 409 `WEBHOOK_DISABLED`: a test message asked of a disabled webhook (it is sent nothing).
    #[error("webhook disabled")]
    Disabled,
    /// 409 `LIMIT_EXCEEDED`: the user already has MAX_WEBHOOKS_PER_USER webhooks.
    #[error("webhook limit reached ({0} webhooks)")]
    LimitReached(u64),
}

impl FeatureError for WebhookError {
    fn status(&self) -> StatusCode {
        match self {
            WebhookError::NotFound => StatusCode::NOT_FOUND,
            WebhookError::Disabled | WebhookError::LimitReached(_) => StatusCode::CONFLICT,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            WebhookError::NotFound => "NOT_FOUND",
            WebhookError::Disabled => "WEBHOOK_DISABLED",
            WebhookError::LimitReached(_) => "LIMIT_EXCEEDED",
        }
    }

    /// A 404's REST body is FastAPI's bare `{"detail": …}`, as for a task.
    fn rest_code(&self) -> Option<&'static str> {
        (*self != WebhookError::NotFound).then(|| self.code())
    }

    fn message(&self) -> String {
        match self {
            WebhookError::NotFound => "Webhook not found".to_owned(),
            WebhookError::Disabled => "Webhook disabled: it is sent nothing, test messages \
                                       included; re-enable it first (`disabled`: false)"
                .to_owned(),
            WebhookError::LimitReached(cap) => format!(
                "Webhook limit reached: at most {cap} webhooks per user (MAX_WEBHOOKS_PER_USER); \
                 delete one first"
            ),
        }
    }

    fn limit(&self) -> Option<u64> {
        match self {
            WebhookError::LimitReached(cap) => Some(*cap),
            _ => None,
        }
    }
}
