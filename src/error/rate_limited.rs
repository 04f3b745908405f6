//! The 429 of a rate limit: what it tells the client, in headers.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

/// A request refused by a rate limit: what the 429 tells the client. Here rather than beside
/// the limiter (`server::rate_limit`, which makes it) so that the error type depends on nothing
/// of the crate's: the limiter depends on it, not the reverse.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimited {
    /// How long until the next request would be let through.
    pub retry_after: Duration,
    /// The policy in force: requests per window (the bucket size)…
    pub requests: u32,
    /// …and the time an empty bucket takes to refill.
    pub window: Duration,
    /// The policy's name in the `RateLimit` / `RateLimit-Policy` headers.
    pub policy_name: &'static str,
}

impl RateLimited {
    /// Whole seconds to wait, rounded up (never 0: "retry now" would be wrong).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }

    /// `Retry-After`, and the IETF draft's `RateLimit` and `RateLimit-Policy`
    /// (draft-ietf-httpapi-ratelimit-headers, structured-field form).
    pub fn headers(&self) -> HeaderMap {
        let seconds = self.retry_after_secs();
        let mut headers = HeaderMap::new();
        let mut put = |name: HeaderName, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        put(header::RETRY_AFTER, seconds.to_string());
        put(
            HeaderName::from_static("ratelimit"),
            format!("\"{}\";r=0;t={seconds}", self.policy_name),
        );
        put(
            HeaderName::from_static("ratelimit-policy"),
            format!(
                "\"{}\";q={};w={}",
                self.policy_name,
                self.requests,
                self.window.as_secs().max(1)
            ),
        );
        headers
    }
}
