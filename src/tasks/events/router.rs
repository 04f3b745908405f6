//! The event router: subscribers by user on this instance. It hands each event to the
//! subscribers of its audience only, and enforces the per-user subscription cap for every
//! transport (GraphQL WebSocket and SSE both subscribe here).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::TaskEvent;
use crate::error::AppError;
use crate::tasks::visibility::audience;

/// Events kept per user for a subscriber that has not read them yet; one that falls further
/// behind gets a `Resync` instead of the events it missed.
pub(super) const EVENT_BUFFER: usize = 128;

struct UserChannel {
    sender: broadcast::Sender<Arc<TaskEvent>>,
    subscribers: usize,
    /// The user's change number read before the first of these subscriptions was in place
    /// (PostgreSQL): the relay delivers what comes after it (`sequence`).
    baseline: Option<i64>,
}

struct Routes {
    users: Mutex<HashMap<String, UserChannel>>,
    max_per_user: usize,
    /// Set at shutdown: no new subscriptions.
    closed: AtomicBool,
}

/// Subscribers by user. Delivering an event touches only its owner's channel, so one user's
/// thousands of subscriptions cost another user nothing.
#[derive(Clone)]
pub struct EventRouter {
    routes: Arc<Routes>,
}

impl EventRouter {
    /// A router allowing `max_per_user` open subscriptions per user on this instance.
    pub fn new(max_per_user: usize) -> Self {
        EventRouter {
            routes: Arc::new(Routes {
                users: Mutex::new(HashMap::new()),
                max_per_user,
                closed: AtomicBool::new(false),
            }),
        }
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<String, UserChannel>> {
        // A poisoned lock only means a thread panicked mid-update of a counter; the map is
        // still usable, and refusing every subscriber would be worse.
        self.routes
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a subscription for `user`, or refuses it when the user already has the most
    /// allowed open on this instance. `baseline`: the user's change number read just before
    /// (kept for the first subscription of several at once).
    pub fn subscribe(&self, user: &str, baseline: Option<i64>) -> Result<EventStream, AppError> {
        if self.routes.closed.load(Ordering::Relaxed) {
            return Err(AppError::Unavailable("the server is shutting down".into()));
        }
        let mut users = self.users();
        let channel = users.entry(user.to_owned()).or_insert_with(|| UserChannel {
            sender: broadcast::channel(EVENT_BUFFER).0,
            subscribers: 0,
            baseline,
        });
        if channel.subscribers >= self.routes.max_per_user {
            metrics::counter!("subscriptions_refused_total").increment(1);
            return Err(AppError::TooManySubscriptions(self.routes.max_per_user));
        }
        channel.subscribers += 1;
        metrics::gauge!("subscriptions_open").increment(1.0);
        Ok(EventStream {
            events: BroadcastStream::new(channel.sender.subscribe()),
            owner: user.to_owned(),
            slot: Slot {
                router: self.clone(),
                user: user.to_owned(),
            },
        })
    }

    /// Hands `event` to the subscribers on this instance of its audience (the task owner's,
    /// as `visibility::audience` says; none: nothing to do).
    pub fn deliver(&self, event: TaskEvent) {
        let users = self.users();
        let event = Arc::new(event);
        for member in audience(&event.owner) {
            if let Some(channel) = users.get(member) {
                // An error only says nobody is listening right now.
                let _ = channel.sender.send(Arc::clone(&event));
            }
        }
    }

    /// Hands `event` to its own user's subscribers on this instance only (not an owner's
    /// audience): a `Reminder`, which is addressed to each recipient.
    pub(in crate::tasks) fn deliver_to(&self, event: TaskEvent) {
        if let Some(channel) = self.users().get(&event.owner) {
            // An error only says nobody is listening right now.
            let _ = channel.sender.send(Arc::new(event));
        }
    }

    /// The users subscribed on this instance.
    pub(super) fn subscribed(&self) -> Vec<String> {
        self.users().keys().cloned().collect()
    }

    /// `None` when nobody here listens to `owner`; else where their subscriptions started
    /// (`Some(None)` where no baseline was read: SQLite, or before the relay was in place).
    pub(super) fn follow(&self, owner: &str) -> Option<Option<i64>> {
        self.users().get(owner).map(|channel| channel.baseline)
    }

    /// True when some of `owner`'s audience is subscribed on this instance.
    pub(super) fn has_audience(&self, owner: &str) -> bool {
        let users = self.users();
        audience(owner).any(|member| users.contains_key(member))
    }

    /// Tells the subscribers on this instance of `owner`'s audience (and no one else) that
    /// they may have missed events: an event of `owner`'s could not be completed.
    pub fn resync_audience(&self, owner: &str) {
        let users = self.users();
        for member in audience(owner) {
            if let Some(channel) = users.get(member) {
                let _ = channel.sender.send(Arc::new(TaskEvent::resync(member)));
            }
        }
    }

    /// Tells every subscriber on this instance that it may have missed events.
    pub fn resync_all(&self) {
        let users = self.users();
        for (user, channel) in users.iter() {
            let _ = channel.sender.send(Arc::new(TaskEvent::resync(user)));
        }
    }

    /// Ends every subscription on this instance (their streams finish) and refuses new ones:
    /// at shutdown, so open SSE streams and subscriptions do not hold the drain up until
    /// SHUTDOWN_TIMEOUT. Clients reconnect to another instance and sync from their cursor.
    pub fn close_all(&self) {
        self.routes.closed.store(true, Ordering::Relaxed);
        // Dropping the senders ends every receiver's stream.
        self.users().clear();
    }

    /// Open subscriptions of `user` on this instance.
    pub fn open_for(&self, user: &str) -> usize {
        self.users().get(user).map_or(0, |c| c.subscribers)
    }
}

/// Gives a subscription's place back when the stream is dropped (client gone, socket closed).
struct Slot {
    router: EventRouter,
    user: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut users = self.router.users();
        if let Some(channel) = users.get_mut(&self.user) {
            channel.subscribers = channel.subscribers.saturating_sub(1);
            if channel.subscribers == 0 {
                users.remove(&self.user);
            }
        }
        metrics::gauge!("subscriptions_open").decrement(1.0);
    }
}

/// One subscription: the owner's events in order; a `Resync` in place of events it was too
/// slow to take.
pub struct EventStream {
    events: BroadcastStream<Arc<TaskEvent>>,
    owner: String,
    slot: Slot,
}

impl Stream for EventStream {
    type Item = TaskEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TaskEvent>> {
        let _ = &self.slot;
        match Pin::new(&mut self.events).poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => Poll::Ready(Some(TaskEvent::clone(&event))),
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(_)))) => {
                Poll::Ready(Some(TaskEvent::resync(&self.owner)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_only_to_the_owner_and_caps_per_user() {
        let router = EventRouter::new(2);
        let a1 = router.subscribe("a", None).unwrap();
        let _a2 = router.subscribe("a", None).unwrap();
        assert!(matches!(
            router.subscribe("a", None),
            Err(AppError::TooManySubscriptions(2))
        ));
        let _b = router.subscribe("b", None).unwrap();
        drop(a1);
        assert_eq!(router.open_for("a"), 1);
        let _a3 = router.subscribe("a", None).unwrap();
        assert_eq!(router.open_for("a"), 2);
    }
}
