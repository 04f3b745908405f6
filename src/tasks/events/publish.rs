//! How a write publishes its event, decided once from the database's [`EventTransport`]
//! (DESIGN rule 7): the service stores a [`Publisher`] and never asks which backend it runs on.
//!
//! With `Notify` (PostgreSQL) the NOTIFY the database's journal trigger queued in the write's
//! transaction is the publication,
//! and the LISTEN relay delivers it to this instance's subscribers too. With `InProcess`
//! (SQLite) the service delivers after the commit, one write at a time, so events reach
//! subscribers in commit order.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use super::{EventRouter, TaskEvent};
use crate::db::events::EventTransport;

/// The delivery strategy of one service.
#[derive(Clone)]
pub(in crate::tasks) enum Publisher {
    /// NOTIFY in the transaction; nothing to do after the commit.
    Notify,
    /// Delivered here after the commit.
    InProcess {
        /// One write (commit and delivery) at a time, so events are delivered in commit
        /// order. SQLite runs one writer at a time anyway; PostgreSQL orders its NOTIFYs by
        /// commit itself and does not take this.
        write_order: Arc<Mutex<()>>,
    },
}

impl Publisher {
    /// The strategy for this transport.
    pub(in crate::tasks) fn new(transport: EventTransport) -> Self {
        match transport {
            EventTransport::Notify => Publisher::Notify,
            EventTransport::InProcess => Publisher::InProcess {
                write_order: Arc::new(Mutex::new(())),
            },
        }
    }

    /// Waits for this write's turn where delivery order depends on it; hold the guard until
    /// [`Publisher::delivered`] has run.
    pub(in crate::tasks) async fn turn(&self) -> Option<MutexGuard<'_, ()>> {
        match self {
            Publisher::Notify => None,
            Publisher::InProcess { write_order } => Some(write_order.lock().await),
        }
    }

    /// True when the service delivers events itself after the commit (SQLite).
    pub(in crate::tasks) fn in_process(&self) -> bool {
        matches!(self, Publisher::InProcess { .. })
    }

    /// After a commit: delivers the event built by `event` in-process, or nothing when the
    /// NOTIFY already carries it.
    pub(in crate::tasks) fn delivered(
        &self,
        router: &EventRouter,
        event: impl FnOnce() -> TaskEvent,
    ) {
        if let Publisher::InProcess { .. } = self {
            router.deliver(event());
        }
    }
}
