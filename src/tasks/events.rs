//! Task events: what a change looks like ([`TaskEvent`]), how it travels between instances
//! (the NOTIFY payload), and the [`EventRouter`] that hands each event to its owner's
//! subscribers only, enforcing the per-user subscription cap for every transport (GraphQL
//! WebSocket and SSE both subscribe here).
//!
//! On PostgreSQL every instance's events arrive through its one LISTEN connection (its own
//! writes too, so every subscriber sees one order: commit order). On SQLite there is one
//! instance, and the service delivers in-process after each commit.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::model::{Task, TaskRow};
use crate::db::events::MAX_PAYLOAD_BYTES;
use crate::error::AppError;

/// Events kept per user for a subscriber that has not read them yet; one that falls further
/// behind gets a `Resync` instead of the events it missed.
const EVENT_BUFFER: usize = 128;

/// A payload carrying the whole task must stay this small; a larger one (a task full of
/// characters JSON escapes as `\u00XX`, 6 bytes each, can reach ~7,400 bytes) carries only
/// the ids and the receiving instance reads the task.
pub(crate) const INLINE_LIMIT: usize = 6000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskEventKind {
    /// A task was created.
    Created,
    /// One of its fields changed.
    Updated,
    /// It was deleted.
    Deleted,
    /// Events may have been missed (the instance lost its database listener, or the
    /// subscriber fell behind): sync from the last cursor seen.
    Resync,
}

/// A change to one user's task, as delivered to that user's subscribers.
#[derive(Debug, Clone)]
pub struct TaskEvent {
    /// What happened.
    pub kind: TaskEventKind,
    /// The task's id (`None` for `Resync`).
    pub task_id: Option<i64>,
    /// The task after the change (`None` once deleted, and for `Resync`).
    pub task: Option<Task>,
    /// The user's change cursor just after this change (`None` for `Resync`).
    pub cursor: Option<i64>,
    pub(super) owner: String,
}

impl TaskEvent {
    /// A change event.
    pub(super) fn change(
        owner: &str,
        kind: TaskEventKind,
        task_id: i64,
        task: Option<Task>,
        cursor: i64,
    ) -> Self {
        TaskEvent {
            kind,
            task_id: Some(task_id),
            task,
            cursor: Some(cursor),
            owner: owner.to_owned(),
        }
    }

    fn resync(owner: &str) -> Self {
        TaskEvent {
            kind: TaskEventKind::Resync,
            task_id: None,
            task: None,
            cursor: None,
            owner: owner.to_owned(),
        }
    }

    /// The cursor as the APIs show it.
    pub fn cursor_text(&self) -> Option<String> {
        self.cursor.map(|c| c.to_string())
    }
}

/// The NOTIFY payload.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Wire {
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "k")]
    kind: TaskEventKind,
    #[serde(rename = "i", default)]
    task_id: i64,
    #[serde(rename = "s", default)]
    seq: i64,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    task: Option<Task>,
    /// True when the task was left out for size: the receiver reads it.
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    by_reference: bool,
}

/// The payload for one change, always under PostgreSQL's 8,000-byte limit: the whole task
/// when it fits in [`INLINE_LIMIT`], otherwise its ids, and (for a user id too long even for
/// that) a resync for everyone rather than a failed write.
pub(super) fn wire_payload(
    user: &str,
    kind: TaskEventKind,
    task_id: i64,
    seq: i64,
    row: Option<&TaskRow>,
) -> String {
    let mut wire = Wire {
        user: user.to_owned(),
        kind,
        task_id,
        seq,
        task: row.cloned().map(Task::from),
        by_reference: false,
    };
    let inline = serde_json::to_string(&wire).unwrap_or_default();
    if !inline.is_empty() && inline.len() <= INLINE_LIMIT {
        return inline;
    }
    wire.by_reference = wire.task.take().is_some();
    let reference = serde_json::to_string(&wire).unwrap_or_default();
    if !reference.is_empty() && reference.len() <= MAX_PAYLOAD_BYTES {
        return reference;
    }
    tracing::warn!(
        bytes = reference.len(),
        "task event too large to send even by reference; asking every subscriber to resync"
    );
    r#"{"u":"","k":"resync"}"#.to_owned()
}

/// A decoded payload: an event ready to route, one whose task must be read first, or a
/// resync for everyone.
pub(super) enum Received {
    Event(TaskEvent),
    NeedsTask {
        owner: String,
        kind: TaskEventKind,
        task_id: i64,
        seq: i64,
    },
    ResyncAll,
}

pub(super) fn decode(payload: &str) -> Option<Received> {
    let wire: Wire = match serde_json::from_str(payload) {
        Ok(wire) => wire,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a task event payload that does not parse");
            return None;
        }
    };
    Some(match wire.kind {
        TaskEventKind::Resync => Received::ResyncAll,
        kind if wire.by_reference => Received::NeedsTask {
            owner: wire.user,
            kind,
            task_id: wire.task_id,
            seq: wire.seq,
        },
        kind => Received::Event(TaskEvent::change(
            &wire.user,
            kind,
            wire.task_id,
            wire.task,
            wire.seq,
        )),
    })
}

struct UserChannel {
    sender: broadcast::Sender<Arc<TaskEvent>>,
    subscribers: usize,
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
    /// allowed open on this instance.
    pub fn subscribe(&self, user: &str) -> Result<EventStream, AppError> {
        if self.routes.closed.load(Ordering::Relaxed) {
            return Err(AppError::Unavailable("the server is shutting down".into()));
        }
        let mut users = self.users();
        let channel = users.entry(user.to_owned()).or_insert_with(|| UserChannel {
            sender: broadcast::channel(EVENT_BUFFER).0,
            subscribers: 0,
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

    /// Hands `event` to its owner's subscribers on this instance (none: nothing to do).
    pub fn deliver(&self, event: TaskEvent) {
        let users = self.users();
        if let Some(channel) = users.get(&event.owner) {
            // An error only says nobody is listening right now.
            let _ = channel.sender.send(Arc::new(event));
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
    use crate::tasks::model::{DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};

    fn row(title: String, description: String) -> TaskRow {
        TaskRow::for_test(title, description)
    }

    #[test]
    fn payloads_stay_under_the_notify_limit() {
        // Four-byte characters: the largest UTF-8, still carried whole.
        let emoji = row(
            "😀".repeat(TITLE_MAX_CHARS),
            "😀".repeat(DESCRIPTION_MAX_CHARS),
        );
        let payload = wire_payload("user-1", TaskEventKind::Updated, 1, 9, Some(&emoji));
        assert!(payload.len() <= INLINE_LIMIT, "{}", payload.len());
        assert!(matches!(decode(&payload), Some(Received::Event(e)) if e.task.is_some()));

        // Control characters: 6 bytes each in JSON, the worst case; sent by reference.
        let worst = row(
            "\u{1}".repeat(TITLE_MAX_CHARS),
            "\u{1}".repeat(DESCRIPTION_MAX_CHARS),
        );
        let inline = serde_json::to_string(&Task::from(worst.clone())).unwrap();
        assert!(
            inline.len() > INLINE_LIMIT,
            "worst case is {} bytes",
            inline.len()
        );
        let payload = wire_payload("user-1", TaskEventKind::Updated, 1, 9, Some(&worst));
        assert!(payload.len() < 200, "{payload}");
        assert!(matches!(
            decode(&payload),
            Some(Received::NeedsTask {
                task_id: 1,
                seq: 9,
                ..
            })
        ));

        let huge_user = "u".repeat(9000);
        let payload = wire_payload(&huge_user, TaskEventKind::Deleted, 1, 9, None);
        assert!(matches!(decode(&payload), Some(Received::ResyncAll)));
    }

    #[test]
    fn routes_only_to_the_owner_and_caps_per_user() {
        let router = EventRouter::new(2);
        let a1 = router.subscribe("a").unwrap();
        let _a2 = router.subscribe("a").unwrap();
        assert!(matches!(
            router.subscribe("a"),
            Err(AppError::TooManySubscriptions(2))
        ));
        let _b = router.subscribe("b").unwrap();
        drop(a1);
        assert_eq!(router.open_for("a"), 1);
        let _a3 = router.subscribe("a").unwrap();
        assert_eq!(router.open_for("a"), 2);
    }
}
