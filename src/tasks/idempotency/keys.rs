//! What the task service keeps about idempotency keys between requests: the retention, the
//! per-user cap, and the keys of requests running on this instance ([`KeyPolicy`]); and what
//! a task write stores ([`written_task`]). The check-and-store is `tasks::idempotency`'s.
//!
//! It must not know SQL, nor depend on the service (which holds a `KeyPolicy`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::tasks::idempotency::request::{IdempotencyError, KeyedRequest};
use crate::tasks::sync::journal;
use crate::tasks::task::model::Task;

/// How keys are kept: IDEMPOTENCY_KEY_RETENTION, MAX_IDEMPOTENCY_KEYS_PER_USER, and the keys
/// of requests running on this instance.
#[derive(Clone)]
pub(in crate::tasks) struct KeyPolicy {
    retention: Duration,
    max_per_user: u64,
    in_flight: Arc<Mutex<HashSet<(String, String)>>>,
}

impl Default for KeyPolicy {
    /// The settings' defaults (IDEMPOTENCY_KEY_RETENTION 24h, 10000 keys per user).
    fn default() -> Self {
        KeyPolicy::new(Duration::from_secs(24 * 3600), 10_000)
    }
}

impl KeyPolicy {
    /// The policy: outcomes kept `retention`, at most `max_per_user` per user.
    pub(in crate::tasks) fn new(retention: Duration, max_per_user: u64) -> Self {
        KeyPolicy {
            retention,
            max_per_user,
            in_flight: Arc::default(),
        }
    }

    /// MAX_IDEMPOTENCY_KEYS_PER_USER.
    pub(in crate::tasks) fn max_per_user(&self) -> u64 {
        self.max_per_user
    }

    /// Outcomes stored before this (when it is `now`) have expired.
    pub(in crate::tasks) fn cutoff(&self, now: NaiveDateTime) -> NaiveDateTime {
        let retention = chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::MAX);
        now.checked_sub_signed(retention)
            .unwrap_or(NaiveDateTime::MIN)
    }

    /// Marks the user's key as running on this instance until the guard drops; `InUse` when
    /// it already is.
    pub(in crate::tasks) fn enter(
        &self,
        user: &AuthUser,
        request: &KeyedRequest,
    ) -> AppResult<InFlight> {
        let entry = (user.id().to_owned(), request.key.as_str().to_owned());
        let mut running = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if !running.insert(entry.clone()) {
            return Err(IdempotencyError::InUse.into());
        }
        Ok(InFlight {
            set: self.in_flight.clone(),
            entry,
        })
    }
}

/// A key running on this instance; forgotten when the request ends, however it ends.
pub(in crate::tasks) struct InFlight {
    set: Arc<Mutex<HashSet<(String, String)>>>,
    entry: (String, String),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut running = self.set.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&self.entry);
    }
}

/// The task a task write returns, to render and store (`None`: no such task, or at the cap).
pub(in crate::tasks) fn written_task(written: &Option<journal::Written>) -> Option<Task> {
    written
        .as_ref()
        .map(|written| Task::from(written.row.clone()))
}
