//! The scheduled tombstone prune: every `TOMBSTONE_PRUNE_INTERVAL`, drops every user's
//! tombstones older than `TOMBSTONE_RETENTION`, so deletions are forgotten on time even for a
//! user who never deletes or syncs again (a delete and a sync also prune their user's). Each
//! owner's counter remembers the newest number dropped, so an older cursor is still refused
//! (410 `CURSOR_EXPIRED`, or a RESYNC on a stream) instead of silently missing deletions.
//!
//! A maintenance job that sees every user's journal: the server runs it itself, no request
//! reaches it, and it runs through `UnitOfWork::maintenance`.

use std::time::Duration;

use crate::error::AppResult;
use crate::tasks::service::TaskService;
use crate::tasks::sync::{journal, maintenance};

/// Owners pruned per transaction (a short write, even on SQLite's single writer).
const BATCH: i64 = 100;

impl TaskService {
    /// Drops every user's expired tombstones; returns for how many users.
    pub async fn prune_expired_tombstones(&self) -> AppResult<usize> {
        let cutoff = self.tombstone_cutoff();
        // As the owner (`maintenance`): it must see every user's journal, and no user asks.
        let work = &self.work;
        in_batches(BATCH, move || async move {
            work.maintenance(async |tx| {
                let owners = maintenance::expired_tombstones(tx, cutoff, BATCH).await?;
                for (owner, newest) in &owners {
                    journal::prune_owner(tx, owner, *newest).await?;
                }
                Ok(owners.len())
            })
            .await
        })
        .await
    }

    /// Runs [`TaskService::prune_expired_tombstones`] every `interval`, in the background.
    pub fn spawn_tombstone_prune(&self, interval: Duration) {
        every(interval, "tombstones", self.clone(), |tasks| async move {
            tasks.prune_expired_tombstones().await
        });
    }
}

/// Runs `round` (one maintenance transaction dropping at most `batch` rows) until a round
/// drops fewer: what is left is for the next run. Returns how many went. Shared by the prunes,
/// so each transaction stays short (even on SQLite's single writer).
pub(in crate::tasks) async fn in_batches<Fut>(
    batch: i64,
    mut round: impl FnMut() -> Fut,
) -> AppResult<usize>
where
    Fut: std::future::Future<Output = AppResult<usize>>,
{
    let mut done = 0;
    loop {
        let dropped = round().await?;
        done += dropped;
        // A short batch was the last: the next ones are for the next run.
        if dropped < usize::try_from(batch).unwrap_or(usize::MAX) {
            return Ok(done);
        }
    }
}

/// Runs `job` (a maintenance job returning how much it dropped) every `interval`, in the
/// background, for as long as the runtime runs; the first round one interval after start. A
/// failed round is logged and retried at the next one. Shared by the scheduled prunes.
pub(in crate::tasks) fn every<F, Fut>(
    interval: Duration,
    what: &'static str,
    tasks: TaskService,
    job: F,
) where
    F: Fn(TaskService) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = AppResult<usize>> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: the first round runs one interval after start.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match job(tasks.clone()).await {
                Ok(0) => {}
                Ok(dropped) => tracing::debug!(what, dropped, "scheduled prune"),
                Err(e) => tracing::warn!(what, error = %e, "a scheduled prune failed"),
            }
        }
    });
}
