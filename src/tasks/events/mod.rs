//! Task and list events: what a change looks like ([`TaskEvent`]), how it travels between
//! instances ([`wire`], the NOTIFY payload the database's journal trigger sends), the [`EventRouter`] that hands each event to its audience's
//! subscribers only ([`router`]), how a write publishes its event ([`publish`]: NOTIFY or
//! in-process, chosen once) and the LISTEN relay that feeds the router on PostgreSQL
//! ([`relay`]), completing events too large for their payload off its loop ([`pending`]).
//!
//! On PostgreSQL the server's writes are published after their commit ([`signal`]: to this
//! instance's relay at once, to the others by batched NOTIFYs), other programs' writes by the
//! triggers' NOTIFY; the relay puts each user's events in commit order and catches up a lost
//! signal from the journal ([`sequence`]). On SQLite there is one instance, and the service delivers its own
//! writes in-process after each commit; other programs' writes reach clients at their next
//! sync.
//!
//! Who receives an event is `tasks::visibility::audience`'s decision, not this module's.

mod pending;
pub(super) mod publish;
pub(super) mod relay;
mod router;
mod sequence;
pub(super) mod signal;
pub(super) mod wire;

use serde::{Deserialize, Serialize};

use crate::tasks::lists::model::List;
use crate::tasks::task::model::Task;

pub use router::{EventRouter, EventStream};

/// What happened to a task. Its names are the SSE stream's (`list_created`) and GraphQL's
/// (`LIST_CREATED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum TaskEventKind {
    /// The task was created.
    Created,
    /// The task changed.
    Updated,
    /// The task was deleted.
    Deleted,
    /// A list was created (`listId`, `list`).
    ListCreated,
    /// A list was renamed, recoloured or moved (`listId`, `list`).
    ListUpdated,
    /// A list was deleted (`listId`; its tasks' own events come with it).
    ListDeleted,
    /// A reminder of the task came due (`remindAt`, `tasks::reminders`): sent to its owner and
    /// its assignee, with `id` and `task` (`remindedAt` set); null cursor (the change is an
    /// UPDATED of its own).
    Reminder,
    /// Events may have been missed (the server lost its database listener, or this
    /// subscriber fell behind): call `taskChanges(since:)` with the last cursor you saw.
    Resync,
}

/// A change to one user's task or list, as delivered to that user's subscribers.
#[derive(Debug, Clone)]
pub struct TaskEvent {
    /// What happened.
    pub kind: TaskEventKind,
    /// The task's id (`None` for a list's change and for `Resync`).
    pub task_id: Option<i64>,
    /// The task after the change (`None` once deleted, for a list's change, and for `Resync`).
    pub task: Option<Task>,
    /// The list's id, for a list's change.
    pub list_id: Option<i64>,
    /// The list after the change (`None` once deleted).
    pub list: Option<List>,
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
            list_id: None,
            list: None,
            cursor: Some(cursor),
            owner: owner.to_owned(),
        }
    }

    /// A list's change event (`kind` one of the `List…` kinds).
    pub(super) fn list_change(
        owner: &str,
        kind: TaskEventKind,
        list_id: i64,
        list: Option<List>,
        cursor: i64,
    ) -> Self {
        TaskEvent {
            kind,
            task_id: None,
            task: None,
            list_id: Some(list_id),
            list,
            cursor: Some(cursor),
            owner: owner.to_owned(),
        }
    }

    /// A `Resync` carrying the cursor to resume from (sync's answer to a cursor too old to
    /// replay), for the subscriber listening on `inbox`.
    pub(in crate::tasks) fn resync_at(inbox: &str, cursor: i64) -> Self {
        TaskEvent {
            cursor: Some(cursor),
            ..TaskEvent::resync(inbox)
        }
    }

    pub(super) fn resync(owner: &str) -> Self {
        TaskEvent {
            kind: TaskEventKind::Resync,
            task_id: None,
            task: None,
            list_id: None,
            list: None,
            cursor: None,
            owner: owner.to_owned(),
        }
    }

    /// The cursor as the APIs show it.
    pub fn cursor_text(&self) -> Option<String> {
        self.cursor.map(|c| c.to_string())
    }
}
