//! The relay (PostgreSQL): routes to the subscribers on this instance what the instance's one
//! LISTEN connection hears (`db::events::listen`: other programs' writes, notified by the
//! journal in their transaction, and other instances' batches, `signal`) and what this
//! instance's own writes published after their commit (`signal`, through a channel), each
//! user's events in commit order (`sequence`). A payload that names changes without carrying
//! them (a row too large, a statement that changed several rows, a gap) is completed by
//! reading them from the journal for the event's audience, off the relay's loop and on its
//! own connections ([`pending`]), so a slow or failed read holds back and resyncs that user's
//! subscribers only. Every [`SWEEP_INTERVAL`] it reads the subscribed users' change counters,
//! so a signal that never came is caught up from the journal.
//!
//! [`pending`]: super::pending

use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::task::JoinSet;

use super::EventRouter;
use super::pending::{Pending, Reference};
use super::sequence::{Admit, SWEEP_INTERVAL, Sequence};
use super::signal::{LocalSignals, is_own};
use super::wire::{Received, decode};
use crate::db::events::ListenerNotice;
use crate::error::{AppError, AppResult};
use crate::tasks::sync::maintenance;
use crate::tasks::unit::UnitOfWork;

/// What the relay routes with.
struct Relay {
    router: EventRouter,
    pending: Pending,
    sequence: Sequence,
}

/// Starts routing `notices` and this instance's own `local` signals to `router`, reading
/// what payloads do not carry through `fetch_work` (connections apart from the request
/// pool's) within `db_timeout` each. Returns once the first LISTEN is in place (or after
/// `db_timeout`), so that the instance serves only when it can hear events.
pub(in crate::tasks) async fn route(
    router: EventRouter,
    fetch_work: UnitOfWork,
    mut notices: Receiver<ListenerNotice>,
    mut local: LocalSignals,
    db_timeout: Duration,
) {
    let (ready, listening) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut ready = Some(ready);
        let mut relay = Relay {
            router: router.clone(),
            pending: Pending::new(router, fetch_work.clone(), db_timeout),
            sequence: Sequence::default(),
        };
        let mut sweeps = JoinSet::new();
        let mut sweep_every = tokio::time::interval(SWEEP_INTERVAL);
        sweep_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                notice = notices.recv() => match notice {
                    Some(ListenerNotice::Listening { reconnected }) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        if reconnected {
                            relay.resync_all();
                        }
                    }
                    // A missed heartbeat: what it did not hear is for the subscribers' sync.
                    Some(ListenerNotice::Missed) => relay.resync_all(),
                    Some(ListenerNotice::Payload(payload)) => {
                        // This instance's own batch: delivered here already.
                        if !is_own(&payload, &local.origin) {
                            relay.route(&payload);
                        }
                    }
                    None => return,
                },
                Some(deferred) = local.payloads.recv() => {
                    deferred.split('\n').for_each(|p| relay.route(p));
                }
                fetched = relay.pending.next_done() => relay.pending.done(fetched),
                _ = sweep_every.tick(), if sweeps.is_empty() => {
                    let users = relay.router.subscribed();
                    relay.sequence.retain(&users);
                    if !users.is_empty() {
                        sweeps.spawn(sweep(fetch_work.clone(), users, db_timeout));
                    }
                }
                Some(swept) = sweeps.join_next() => match swept {
                    Ok(Ok(counters)) => relay.swept(counters),
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot read change counters for the event sweep"),
                    Err(_) => {}
                },
            }
        }
    });
    if tokio::time::timeout(db_timeout, listening).await.is_err() {
        tracing::warn!(
            "the task event listener is not connected yet; subscribers will get events once \
             it is (it keeps retrying)"
        );
    }
}

/// The change counters of `users`, read as the owner: the sweep is the server's own job for
/// every user subscribed here, not a request's (no viewer).
async fn sweep(
    work: UnitOfWork,
    users: Vec<String>,
    within: Duration,
) -> AppResult<Vec<(String, i64)>> {
    let read = work.maintenance(async |tx| Ok(maintenance::counters_of(tx, &users).await?));
    tokio::time::timeout(within, read)
        .await
        .map_err(|_| AppError::Unavailable(format!("no answer within {within:?}")))?
}

impl Relay {
    fn route(&mut self, payload: &str) {
        match decode(payload) {
            Some(Received::Event(event)) => {
                let (owner, upto) = (event.owner.clone(), event.cursor.unwrap_or(0));
                self.sequenced(&owner, upto - 1, upto, |pending, _| pending.ready(event));
            }
            Some(Received::ResyncAll) => self.resync_all(),
            Some(Received::Reminders(events)) => {
                events.into_iter().for_each(|e| self.router.deliver_to(e));
            }
            Some(Received::NeedsRows(references)) => {
                for Reference { owner, after, upto } in references {
                    self.read(owner, after, upto);
                }
            }
            None => {}
        }
    }

    /// Changes `after < n <= upto` of `owner`'s, read from the journal in their turn.
    fn read(&mut self, owner: String, after: i64, upto: i64) {
        let who = owner.clone();
        self.sequenced(&who, after, upto, move |pending, from| {
            pending.fetch(Reference {
                owner,
                after: from,
                upto,
            })
        });
    }

    /// Hands `owner`'s changes `after < n <= upto` to `deliver` in commit order: after the
    /// changes missing before them are read, and not at all when they were delivered already.
    fn sequenced(
        &mut self,
        owner: &str,
        after: i64,
        upto: i64,
        deliver: impl FnOnce(&mut Pending, i64),
    ) {
        let Some(baseline) = self.router.follow(owner) else {
            // Nobody here listens: nothing to order (and nothing is read for them).
            self.sequence.forget(owner);
            deliver(&mut self.pending, after);
            return;
        };
        self.sequence.follow(owner, baseline);
        match self.sequence.admit(owner, after, upto) {
            Admit::Seen => {}
            Admit::Deliver { from } => deliver(&mut self.pending, from),
            Admit::AfterGap { from } => {
                metrics::counter!("event_gaps_read_total", "why" => "crossed").increment(1);
                self.pending.fetch(Reference {
                    owner: owner.to_owned(),
                    after: from,
                    upto: after,
                });
                deliver(&mut self.pending, after);
            }
        }
    }

    fn swept(&mut self, counters: Vec<(String, i64)>) {
        for (owner, _) in &counters {
            if let Some(baseline) = self.router.follow(owner) {
                self.sequence.follow(owner, baseline);
            }
        }
        for (owner, after, upto) in self.sequence.swept(counters) {
            metrics::counter!("event_gaps_read_total", "why" => "lost").increment(1);
            tracing::debug!(
                after,
                upto,
                "an event signal did not come; reading it from the journal"
            );
            self.read(owner, after, upto);
        }
    }

    /// Every subscriber may have missed events: what waits for a fetch is covered by the
    /// sync they are told to run, so it is dropped rather than delivered after the `Resync`.
    /// What was delivered stays known: later changes still come in order.
    fn resync_all(&mut self) {
        self.pending.clear();
        self.router.resync_all();
    }
}
