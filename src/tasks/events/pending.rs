//! Events waiting for their rows, per user: the relay's way of completing a notification
//! that names changes without carrying them (a row too large for the payload, a statement
//! that changed several rows: `wire`) without ever waiting on the database itself. A fetch
//! reads the owner's journal over the notified range of change numbers and the rows still
//! there (`sync::events_for_member`), as sync would.
//!
//! A fetch runs in a task of its own, on the relay's own connections (a small pool apart from
//! the request pool, `EVENT_FETCH_CONNECTIONS`), bounded by a timeout, and only when someone
//! here listens to that user. While a user's fetch is under way that user's later events wait
//! behind it (so each user still sees commit order), and only that user's: everyone else's
//! events go straight through. A fetch that fails or times out sends a `Resync` to that
//! event's audience only, and so does a queue that grows past [`EVENT_BUFFER`] (a subscriber
//! that far behind would get one anyway).
//!
//! It must not write, and reads only through the unit of work.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use tokio::task::JoinSet;

use super::router::EVENT_BUFFER;
use super::{EventRouter, TaskEvent};
use crate::error::{AppError, AppResult};
use crate::tasks::sync::changes::events_for_member;
use crate::tasks::unit::UnitOfWork;

/// Changes of one owner whose rows must be read before they can be delivered: those
/// numbered `after < seq <= upto`.
#[derive(Debug)]
pub(in crate::tasks) struct Reference {
    pub(super) owner: String,
    pub(super) after: i64,
    pub(super) upto: i64,
}

/// One event of a user's, in commit order.
enum Item {
    Ready(Box<TaskEvent>),
    Fetch(Reference),
}

impl Item {
    fn owner(&self) -> &str {
        match self {
            Item::Ready(event) => &event.owner,
            Item::Fetch(reference) => &reference.owner,
        }
    }
}

/// A user with a fetch under way, and what arrived for them since.
struct UserQueue {
    /// Tells this queue's fetch from one of a queue dropped meanwhile (overflow, resync).
    generation: u64,
    waiting: VecDeque<Item>,
}

/// What a fetch task hands back.
pub(super) struct Fetched {
    owner: String,
    generation: u64,
    /// The completed events, in order (none for a change superseded since: its successor's
    /// notification follows).
    event: AppResult<Vec<TaskEvent>>,
}

/// The users whose events wait for a fetch, and the fetches under way.
pub(super) struct Pending {
    router: EventRouter,
    work: UnitOfWork,
    timeout: Duration,
    users: HashMap<String, UserQueue>,
    next_generation: u64,
    fetches: JoinSet<Fetched>,
}

impl Pending {
    /// Fetches through `work` (the relay's own connections), each bounded by `timeout`.
    pub(super) fn new(router: EventRouter, work: UnitOfWork, timeout: Duration) -> Self {
        Pending {
            router,
            work,
            timeout,
            users: HashMap::new(),
            next_generation: 0,
            fetches: JoinSet::new(),
        }
    }

    /// An event ready to deliver: now, unless its user has a fetch under way.
    pub(super) fn ready(&mut self, event: impl Into<Box<TaskEvent>>) {
        self.accept(Item::Ready(event.into()));
    }

    /// Changes whose rows must be read first.
    pub(super) fn fetch(&mut self, reference: Reference) {
        self.accept(Item::Fetch(reference));
    }

    fn accept(&mut self, item: Item) {
        let owner = item.owner().to_owned();
        let Some(queue) = self.users.get_mut(&owner) else {
            if matches!(item, Item::Fetch(_)) && !self.router.has_audience(&owner) {
                // Nobody here to tell: no read (who subscribes later syncs past it).
                return;
            }
            self.start(owner, item);
            return;
        };
        if queue.waiting.len() < EVENT_BUFFER {
            queue.waiting.push_back(item);
            return;
        }
        // Its fetches fall behind: drop what waits (the fetch under way becomes stale) and
        // let its subscribers sync instead; this event is covered by that sync.
        self.users.remove(&owner);
        metrics::counter!("event_fetch_resyncs_total", "reason" => "backlog").increment(1);
        tracing::warn!(
            waiting = EVENT_BUFFER,
            "a user's events wait too long for their tasks; resync for that user"
        );
        self.router.resync_audience(&owner);
    }

    /// Delivers `item` for a user with nothing waiting: at once, or by starting its fetch.
    fn start(&mut self, owner: String, item: Item) {
        match item {
            Item::Ready(event) => self.router.deliver(*event),
            Item::Fetch(reference) => {
                self.next_generation += 1;
                let generation = self.next_generation;
                self.spawn(generation, reference);
                self.users.insert(
                    owner,
                    UserQueue {
                        generation,
                        waiting: VecDeque::new(),
                    },
                );
            }
        }
    }

    fn spawn(&mut self, generation: u64, reference: Reference) {
        let work = self.work.clone();
        let timeout = self.timeout;
        self.fetches.spawn(async move {
            let owner = reference.owner.clone();
            let read = AssertUnwindSafe(complete(&work, timeout, reference)).catch_unwind();
            let event = read.await.unwrap_or_else(|_| {
                Err(AppError::Internal(
                    "reading a task for its event panicked".into(),
                ))
            });
            Fetched {
                owner,
                generation,
                event,
            }
        });
    }

    /// The next fetch to finish; pending (forever) while none is under way, so it can sit in
    /// a `select!` beside the notices.
    pub(super) async fn next_done(&mut self) -> Fetched {
        loop {
            match self.fetches.join_next().await {
                Some(Ok(fetched)) => return fetched,
                // Only an abort (the set is dropped with the relay) ends a task without its
                // result: a panic is caught inside.
                Some(Err(_)) => continue,
                None => futures::future::pending::<()>().await,
            }
        }
    }

    /// A fetch is done: delivers its event (or a `Resync` to its audience), then what waited
    /// behind it, up to the next event that needs a fetch.
    pub(super) fn done(&mut self, fetched: Fetched) {
        let Fetched {
            owner,
            generation,
            event,
        } = fetched;
        let Some(mut queue) = self.users.remove(&owner) else {
            return;
        };
        if queue.generation != generation {
            // A stale fetch of a queue dropped since; this queue's own is still under way.
            self.users.insert(owner, queue);
            return;
        }
        match event {
            Ok(events) => events.into_iter().for_each(|e| self.router.deliver(e)),
            Err(e) => {
                metrics::counter!("event_fetch_resyncs_total", "reason" => "failed").increment(1);
                tracing::warn!(error = %e, "cannot read a task for its event; resync for its user");
                self.router.resync_audience(&owner);
            }
        }
        while let Some(item) = queue.waiting.pop_front() {
            match item {
                Item::Ready(event) => self.router.deliver(*event),
                Item::Fetch(reference) => {
                    self.spawn(queue.generation, reference);
                    self.users.insert(owner, queue);
                    return;
                }
            }
        }
    }

    /// Forgets everything waiting (every subscriber is about to get a `Resync`, which covers
    /// it); fetches under way finish unheard.
    pub(super) fn clear(&mut self) {
        self.users.clear();
    }
}

/// Reads the changes of `reference` for its owner (their rows' current state, at least as
/// new as the changes) within `timeout`, connection wait included.
async fn complete(
    work: &UnitOfWork,
    timeout: Duration,
    reference: Reference,
) -> AppResult<Vec<TaskEvent>> {
    let Reference { owner, after, upto } = &reference;
    let read = work.read_for_member(owner, async |conn| {
        events_for_member(conn, owner, *after, *upto).await
    });
    tokio::time::timeout(timeout, read).await.map_err(|_| {
        AppError::Unavailable(format!(
            "reading the changes of an event took over {timeout:?}"
        ))
    })?
}

#[cfg(test)]
mod tests;
