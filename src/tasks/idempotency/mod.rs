//! Idempotent writes: a write sent with a key ([`Keyed`]) runs at most once per user and key
//! for IDEMPOTENCY_KEY_RETENTION. [`TaskService::write_once`] wraps the write's unit of work
//! (the webhook service's keyed writes do the same with [`run_keyed`], sharing its keys):
//! inside the SAME transaction it first takes the key (a request with the same key still
//! running: 409), finds a stored outcome (the same request: replayed, so no second write,
//! journal entry or event; another request: 422), then runs the write and stores its outcome
//! with it. A write that fails rolls the outcome back too, so a retry runs again; a write
//! refused before its unit (validation, auth, rate limit) never gets here.
//!
//! Who decides "still running": on PostgreSQL the database (a transaction-scoped advisory
//! lock, taken with the rest of the claim in one statement: `idempotency::store::claim_key`), so two
//! instances never both write; on SQLite, which has one writer, the keys this instance has in
//! flight. Each user keeps at most
//! MAX_IDEMPOTENCY_KEYS_PER_USER outcomes: at the cap their expired ones go first, and when
//! none has expired a new key is refused (429) rather than forgetting one a client may still
//! retry. Expired outcomes of every user are pruned in the background
//! ([`TaskService::spawn_key_prune`]), never in a request's way.
//!
//! It must not know the SQL (`store`) nor how an adapter renders an outcome. What a key, a
//! keyed request, a stored outcome and a refusal are, as both APIs see them, is [`request`]
//! (a leaf the error type carries); `rest::idempotency` and `graphql::schema::idempotency`
//! are the adapters' halves (the header; the argument), named for the same feature.

pub(in crate::tasks) mod keys;
pub mod request;
pub(in crate::tasks) mod store;

use std::time::Duration;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::tasks::idempotency::keys::KeyPolicy;
use crate::tasks::idempotency::request::{IdempotencyError, Keyed, KeyedRequest};
use crate::tasks::idempotency::store::Claim;
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::sync::maintenance;

/// Expired outcomes dropped per transaction by the scheduled prune.
const PRUNE_BATCH: i64 = 500;

impl TaskService {
    /// The same service, keeping idempotency outcomes `retention`, at most `max_per_user`.
    pub fn with_idempotency(mut self, retention: Duration, max_per_user: u64) -> Self {
        self.keys = KeyPolicy::new(retention, max_per_user);
        self
    }

    /// Runs `work` as one write unit that publishes its events ([`TaskService::write`]); with
    /// a key, at most once (see the module's comment).
    /// `outcome` picks from what `work` returned the result an adapter renders and stores
    /// (`None`: the write did not happen, e.g. no such task, and nothing is stored).
    pub(super) async fn write_once<R, T>(
        &self,
        user: &AuthUser,
        once: Option<Keyed<'_, T>>,
        outcome: impl Fn(&R) -> Option<T>,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        // The turn first (SQLite): a retry with the same key waits for the first to finish,
        // and then finds its outcome, instead of finding it in flight.
        let _turn = self.publisher.turn().await;
        let Some(keyed) = once else {
            return self.write_published(user, work).await;
        };
        let _running = self.keys.enter(user, keyed.request)?;
        self.write_published(user, async |tx| {
            run_keyed(&self.keys, tx, user, &keyed, &outcome, work).await
        })
        .await
    }

    /// Drops every user's expired idempotency outcomes; returns how many.
    pub async fn prune_expired_keys(&self) -> AppResult<usize> {
        let (work, keys) = (&self.work, &self.keys);
        crate::tasks::sync::prune::in_batches(PRUNE_BATCH, move || async move {
            let cutoff = keys.cutoff(now_micros());
            work.maintenance(async |tx| {
                Ok(maintenance::prune_expired_keys(tx, cutoff, PRUNE_BATCH).await?)
            })
            .await
        })
        .await
    }

    /// Runs [`TaskService::prune_expired_keys`] every `interval` in the background
    /// (`prune::every`).
    pub fn spawn_key_prune(&self, interval: Duration) {
        crate::tasks::sync::prune::every(
            interval,
            "idempotency keys",
            self.clone(),
            |tasks| async move { tasks.prune_expired_keys().await },
        );
    }
}

/// Inside a keyed write's transaction, which the caller began (holding `keys.enter`'s guard):
/// takes the key (refused or replayed when it was used before and has not expired), runs
/// `work`, and stores the outcome `outcome` picks from its result, rendered by the adapter.
/// Every keyed write of every service comes through here.
pub(in crate::tasks) async fn run_keyed<R, T>(
    keys: &KeyPolicy,
    tx: &mut DbConn,
    user: &AuthUser,
    keyed: &Keyed<'_, T>,
    outcome: impl Fn(&R) -> Option<T>,
    work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
) -> AppResult<R> {
    claim_key(keys, tx, user, keyed.request).await?;
    let result = work(tx).await?;
    if let Some(value) = outcome(&result) {
        let stored = (keyed.render)(&value);
        store::save_key(tx, user, keyed.request, &stored, now_micros()).await?;
    }
    Ok(result)
}

/// Before anything else of the write: takes the key, and refuses or replays when it was used
/// before and has not expired.
async fn claim_key(
    keys: &KeyPolicy,
    tx: &mut DbConn,
    user: &AuthUser,
    request: &KeyedRequest,
) -> AppResult<()> {
    let key = request.key.as_str();
    let cutoff = keys.cutoff(now_micros());
    let cap = i64::try_from(keys.max_per_user()).unwrap_or(i64::MAX);
    match store::claim_key(tx, user, key, cutoff, cap).await? {
        Claim::InUse => Err(IdempotencyError::InUse.into()),
        Claim::Stored(stored) => Err(AppError::Idempotency(if stored.answers(request) {
            IdempotencyError::Replay(stored.outcome)
        } else {
            IdempotencyError::Reused
        })),
        Claim::Full => Err(IdempotencyError::Full(keys.max_per_user()).into()),
        // Unused, or expired (the key starts again as a new request).
        Claim::Free => Ok(()),
    }
}
