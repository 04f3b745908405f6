//! How a write publishes its event, decided once from the database's [`EventTransport`]
//! (docs/ARCHITECTURE.md, rule 7): the service stores a [`Publisher`] and never asks which backend it runs on.
//!
//! With `Database` (PostgreSQL) the journal keeps what it would have notified in the write's
//! transaction (one payload per statement, naming each user it concerns) and the COMMIT's
//! round trip brings it back (`UnitOfWork::write` with [`Deferral::Deferred`]); after the
//! commit it goes to this instance's relay at once and to the other instances in the next
//! batched NOTIFY ([`Signals`]), so no write takes NOTIFY's database-wide lock at commit
//! (issue 41). Until the relay is in place (`install`), the journal notifies in the
//! transaction, as it does for every other program's writes. With `InProcess`
//! (SQLite) the write's transaction ends by reading back what the journal triggers recorded
//! for EVERY user whose counter it moved (the owner, the members of a shared list, a member
//! who joined or left: [`Publisher::journaled`]), each user's events from that user's own
//! journal, as that user sees each task and list; the service delivers them after the commit,
//! one write at a time, so events reach subscribers in commit order.
//!
//! What SQLite's `journal_touched` (migration 000065) holds at the end of a write is that
//! write's alone: every write of the server goes through `TaskService::write` (or
//! `write_once`), whose transaction begins by emptying it ([`Publisher::begun`]: rows another
//! program's writes left, whose changes reach clients at their next sync as before) and ends
//! by draining it; a write that fails rolls back what its triggers recorded with everything
//! else. The maintenance jobs move no counter (the prunes set `pruned_seq`, never
//! `last_seq`), so they record nothing. The table holds a row per user at most, so it cannot
//! grow past the number of users even if some path forgot it.
//!
//! What one write delivers is bounded too: a user whose journal it moved by more than a
//! subscriber's buffer holds (a member joining a long list) gets a `Resync` instead, which is
//! what the subscriber would get from the buffer anyway, without reading those changes.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, MutexGuard};

use super::router::EVENT_BUFFER;
use super::signal::Signals;
use super::{EventRouter, TaskEvent};
use crate::db::DbConn;
use crate::db::events::EventTransport;
use crate::error::AppResult;
use crate::tasks::sync::changes;
use crate::tasks::sync::journal;
use crate::tasks::unit::Deferral;

/// The delivery strategy of one service.
#[derive(Clone)]
pub(in crate::tasks) enum Publisher {
    /// The journal's payloads, published after the commit through the signals once they
    /// are installed.
    Database { signals: Arc<OnceLock<Signals>> },
    /// Delivered here after the commit.
    InProcess {
        /// One write (commit and delivery) at a time, so events are delivered in commit
        /// order. SQLite runs one writer at a time anyway; on PostgreSQL the relay orders each
        /// user's events by their change numbers (`sequence`) and writes do not take this.
        write_order: Arc<Mutex<()>>,
    },
}

impl Publisher {
    /// The strategy for this transport.
    pub(in crate::tasks) fn new(transport: EventTransport) -> Self {
        match transport {
            EventTransport::Notify => Publisher::Database {
                signals: Arc::default(),
            },
            EventTransport::InProcess => Publisher::InProcess {
                write_order: Arc::new(Mutex::new(())),
            },
        }
    }

    /// From now on writes publish through `signals` after their commit (PostgreSQL; the
    /// relay's other end is in place). Once only; nothing on SQLite.
    pub(in crate::tasks) fn install(&self, signals: Signals) {
        if let Publisher::Database { signals: slot } = self {
            let _ = slot.set(signals);
        }
    }

    /// How a write's journal publishes: deferred to after the commit once signals are in place.
    pub(in crate::tasks) fn deferral(&self) -> Deferral {
        match self {
            Publisher::Database { signals } if signals.get().is_some() => Deferral::Deferred,
            _ => Deferral::Notify,
        }
    }

    /// Waits for this write's turn where delivery order depends on it; hold the guard until
    /// [`Publisher::delivered`] has run.
    pub(in crate::tasks) async fn turn(&self) -> Option<MutexGuard<'_, ()>> {
        match self {
            Publisher::Database { .. } => None,
            Publisher::InProcess { write_order } => Some(write_order.lock().await),
        }
    }

    /// At the start of a write, in its transaction: see the module's comment. No statement
    /// with `Database`.
    pub(in crate::tasks) async fn begun(&self, tx: &mut DbConn) -> AppResult<()> {
        if let Publisher::InProcess { .. } = self {
            journal::forget_touched(tx).await?;
        }
        Ok(())
    }

    /// At the end of a write, in its transaction: the events of everything it journaled, for
    /// each user whose journal it moved (their own change numbers, their view of each row; a
    /// row they no longer see is a deletion in their journal), to hand to
    /// [`Publisher::deliver`] after the commit. Nothing, and no statement, with `Database`.
    pub(in crate::tasks) async fn journaled(&self, tx: &mut DbConn) -> AppResult<Vec<TaskEvent>> {
        if let Publisher::Database { .. } = self {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        for touched in journal::drain_touched(tx).await? {
            let (user, before) = (touched.user_id.as_str(), touched.before_seq);
            let too_many = touched.last_seq - before > EVENT_BUFFER as i64;
            if touched.pruned_seq > before || too_many {
                // More than a subscriber keeps, or a prune in this transaction (a delete's,
                // past the per-user bound) dropped some: their subscribers sync instead.
                events.push(TaskEvent::resync(user));
                continue;
            }
            // Up to the newest: nothing else writes while this transaction does.
            events.extend(changes::events_for_member(tx, user, before, i64::MAX).await?);
        }
        Ok(events)
    }

    /// After the commit of a reminder job's transaction: delivers `reminders` (each for its
    /// own user) here (SQLite). With `Database` nothing: the transaction's NOTIFY carried them
    /// to every instance's relay, this one's too (`tasks::reminders`).
    pub(in crate::tasks) fn remind(&self, router: &EventRouter, reminders: Vec<TaskEvent>) {
        if let Publisher::InProcess { .. } = self {
            reminders.into_iter().for_each(|r| router.deliver_to(r));
        }
    }

    /// After the commit: delivers `events` (from [`Publisher::journaled`]) to their users'
    /// subscribers on this instance, and publishes what the journal `deferred`.
    pub(in crate::tasks) fn deliver(
        &self,
        router: &EventRouter,
        events: Vec<TaskEvent>,
        deferred: Option<String>,
    ) {
        for event in events {
            router.deliver(event);
        }
        if let (Publisher::Database { signals }, Some(deferred)) = (self, deferred)
            && let Some(signals) = signals.get()
        {
            signals.publish(deferred);
        }
    }
}
