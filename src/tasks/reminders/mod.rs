//! Reminders (issue 43): a task's `remind_at` fires once, on every backend and across every
//! instance: `reminded_at` is set (an ordinary change: version, journal, sync, an `UPDATED`
//! event) and its owner, and its assignee when that is someone else, get a `Reminder` event.
//!
//! Every instance runs the job every `REMINDER_INTERVAL` (500 ms) (and at start, so reminders that
//! came due while none ran fire at once): one maintenance transaction claims the due rows
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two instances never fire one reminder), sets
//! `reminded_at` and sends the reminders' payload in that transaction, so they are sent if
//! and only if it commits.
//!
//! The feature is this folder: the rules that re-arm or move a reminder ([`rules`]: a new
//! `remind_at` clears `reminded_at`; an occurrence completed moves it with the due date),
//! which the writes apply (`task::write`, `series`); its event ([`event`]); its setting
//! ([`settings`]); this job; its SQL (`reminders_fire.sql`, `tasks_rearm_reminder.sql`). A
//! completed task's reminder waits (un-completing it re-arms one that had not fired) and a
//! deleted task's is gone with it.

mod event;
pub(in crate::tasks) mod rules;
pub mod settings;
mod store;

use std::time::Duration;

use crate::db::Db;
use crate::error::AppResult;
use crate::tasks::TaskEvent;
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::sync::prune::in_batches;
use crate::tasks::task::model::Task;
use crate::tasks::unit::UnitOfWork;
use crate::tasks::webhooks::enqueue_reminders;
use rules::recipients;

/// Reminders fired per transaction.
const BATCH: i32 = 500;

impl TaskService {
    /// Fires every reminder due now, a batch per transaction, through `work`'s connections;
    /// returns how many fired.
    async fn fire_due_reminders(&self, work: &UnitOfWork) -> AppResult<usize> {
        in_batches(BATCH.into(), || self.fire_batch(work)).await
    }

    /// One transaction firing at most [`BATCH`] due reminders.
    async fn fire_batch(&self, work: &UnitOfWork) -> AppResult<usize> {
        // SQLite delivers in commit order, one write at a time, as every write does.
        let _turn = self.publisher.turn().await;
        let (publisher, now) = (&self.publisher, now_micros());
        // As the owner (`maintenance`): due reminders are every user's, and no user asks.
        let (fired, events) = work
            .maintenance(async |tx| {
                publisher.begun(tx).await?;
                let fired = store::fire_due(tx, now, BATCH).await?;
                let fired: Vec<Task> = fired.into_iter().map(Task::from).collect();
                // `reminder.due` for the recipients' webhooks, queued if and only if they fire:
                // one read of their webhooks for the whole batch.
                let to: Vec<(i64, Vec<String>)> = fired
                    .iter()
                    .map(|task| (task.id, recipients(task).map(str::to_owned).collect()))
                    .collect();
                enqueue_reminders(tx, &to).await?;
                Ok((fired, publisher.journaled(tx).await?))
            })
            .await?;
        publisher.deliver(&self.events, events, None);
        let count = fired.len();
        let reminders = fired.into_iter().flat_map(|task| {
            recipients(&task)
                .map(|to| TaskEvent::reminder(to, task.id, Some(task.clone())))
                .collect::<Vec<_>>()
        });
        publisher.remind(&self.events, reminders.collect());
        if count > 0 {
            metrics::counter!("reminders_fired_total").increment(count as u64);
        }
        Ok(count)
    }

    /// Runs [`TaskService::fire_due_reminders`] now and every `interval`, in the background,
    /// for as long as the runtime runs, on `jobs` (PostgreSQL: the event pool, so that a
    /// request pool busy with users' work neither delays reminders nor loses a connection to
    /// them) or else the requests' pool (SQLite). A failed round is logged and tried again at
    /// the next.
    pub fn spawn_reminders(&self, interval: Duration, jobs: Option<Db>) {
        let tasks = self.clone();
        let work = jobs.map_or_else(|| self.work.clone(), UnitOfWork::new);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match tasks.fire_due_reminders(&work).await {
                    Ok(0) => {}
                    Ok(fired) => tracing::debug!(fired, "reminders fired"),
                    Err(e) => tracing::warn!(error = %e, "firing due reminders failed"),
                }
            }
        });
    }
}
