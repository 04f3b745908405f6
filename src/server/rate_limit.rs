//! Rate limits: token buckets by key. Both are held and charged by the admission gate
//! (`auth::Gate`): the per-user one keyed by the verified user id, charged right after the
//! token is verified (REST, GraphQL over HTTP and each WebSocket operation alike), so the key
//! cannot be forged; the anonymous one keyed by client address, for requests that carry no
//! token (charged at the door, `server::conn`). This module only counts; it knows no users.
//!
//! The buckets live in this process: with several instances each enforces its own share.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::RateLimitPolicy;
use crate::error::{AppError, RateLimited};

/// When the map holds this many buckets, full ones are dropped (a full bucket is the same as
/// no bucket), so memory follows the number of recently active users.
const SWEEP_AT: usize = 10_000;

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
            requests: policy.requests,
            window: policy.window,
            policy_name: self.name,
        }))
    }
}
