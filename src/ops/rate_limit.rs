//! Rate limits: token buckets by key. The per-user one is keyed by the verified user id,
//! checked right after the token is verified (REST, GraphQL over HTTP and each WebSocket
//! operation alike), so the key cannot be forged. The anonymous one is keyed by client
//! address and applies to requests that carry no token (see `ops::conn`).
//!
//! The buckets live in this process: with several instances each enforces its own share.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::auth::AuthUser;
use crate::config::RateLimitPolicy;
use crate::error::AppError;

/// When the map holds this many buckets, full ones are dropped (a full bucket is the same as
/// no bucket), so memory follows the number of recently active users.
const SWEEP_AT: usize = 10_000;

/// A request refused by the rate limit: what the 429 tells the client.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimited {
    /// How long until the next request would be let through.
    pub retry_after: Duration,
    /// The policy in force.
    pub policy: RateLimitPolicy,
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
                self.policy.requests,
                self.policy.window.as_secs().max(1)
            ),
        );
        headers
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by key (user id, or client address).
pub struct RateLimiter {
    policy: Option<RateLimitPolicy>,
    name: &'static str,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter for `policy` (`None`: every request passes).
    pub fn new(policy: Option<RateLimitPolicy>) -> Self {
        Self::named(policy, "per-user")
    }

    /// A limiter whose headers name the policy `name` (e.g. `per-address`).
    pub fn named(policy: Option<RateLimitPolicy>, name: &'static str) -> Self {
        RateLimiter {
            policy,
            name,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `user`'s bucket, or says how long to wait for one.
    pub fn check(&self, user: &AuthUser) -> Result<(), AppError> {
        self.check_key(user.id())
    }

    /// Takes one token from the bucket of `key`, or says how long to wait for one.
    pub fn check_key(&self, key: &str) -> Result<(), AppError> {
        let Some(policy) = self.policy else {
            return Ok(());
        };
        let capacity = f64::from(policy.requests);
        let per_second = capacity / policy.window.as_secs_f64();
        let now = Instant::now();
        let refilled = |bucket: &Bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            (bucket.tokens + elapsed * per_second).min(capacity)
        };
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable, and refusing everyone would be worse.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, bucket| refilled(bucket) < capacity);
        }
        if !buckets.contains_key(key) {
            // A new (or swept) user starts with a full bucket.
            buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: capacity,
                    updated: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(key) else {
            return Ok(());
        };
        bucket.tokens = refilled(bucket);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        metrics::counter!("http_rate_limited_total").increment(1);
        Err(AppError::RateLimited(RateLimited {
            retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / per_second),
            policy,
            policy_name: self.name,
        }))
    }
}
