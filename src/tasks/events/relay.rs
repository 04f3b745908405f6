//! The LISTEN relay (PostgreSQL): routes what the instance's one LISTEN connection hears
//! (`db::events::listen`) to the subscribers on this instance, in commit order. A payload too
//! large to carry its task is completed by reading the task for the event's audience.
//!
//! It must not write, and reads only through the unit of work.

use std::time::Duration;

use tokio::sync::mpsc::Receiver;

use super::EventRouter;
use super::TaskEvent;
use super::wire::{Received, decode};
use crate::db::events::ListenerNotice;
use crate::tasks::model::Task;
use crate::tasks::store;
use crate::tasks::unit::UnitOfWork;

/// Starts routing `notices` to `router`. Returns once the first LISTEN is in place (or after
/// `wait`), so that the instance serves only when it can hear events.
pub(in crate::tasks) async fn route(
    router: EventRouter,
    work: UnitOfWork,
    mut notices: Receiver<ListenerNotice>,
    wait: Duration,
) {
    let (ready, listening) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut ready = Some(ready);
        while let Some(notice) = notices.recv().await {
            match notice {
                ListenerNotice::Listening { reconnected } => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                    if reconnected {
                        router.resync_all();
                    }
                }
                ListenerNotice::Payload(payload) => route_payload(&router, &work, &payload).await,
            }
        }
    });
    if tokio::time::timeout(wait, listening).await.is_err() {
        tracing::warn!(
            "the task event listener is not connected yet; subscribers will get events once \
             it is (it keeps retrying)"
        );
    }
}

async fn route_payload(router: &EventRouter, work: &UnitOfWork, payload: &str) {
    match decode(payload) {
        Some(Received::Event(event)) => router.deliver(event),
        Some(Received::ResyncAll) => router.resync_all(),
        Some(Received::NeedsTask {
            owner,
            kind,
            task_id,
            seq,
        }) => {
            // Too large to travel in the payload: read it (its current state, which is
            // at least as new as the change).
            let row = work
                .read_for_member(&owner, async |conn| {
                    Ok(store::find_for_event(conn, &owner, task_id).await?)
                })
                .await;
            match row {
                Ok(Some(row)) => router.deliver(TaskEvent::change(
                    &owner,
                    kind,
                    task_id,
                    Some(Task::from(row)),
                    seq,
                )),
                // Deleted meanwhile: its deletion event follows.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a task for its event; resync");
                    router.resync_all();
                }
            }
        }
        None => {}
    }
}
