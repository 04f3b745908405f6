//! The LISTEN relay (PostgreSQL): routes what the instance's one LISTEN connection hears
//! (`db::events::listen`) to the subscribers on this instance, each user's events in commit
//! order. A payload that names changes without carrying them (a row too large, a statement
//! that changed several rows) is completed by reading them from the journal for the event's
//! audience, off the relay's loop and on its own connections ([`pending`]), so a slow or
//! failed read holds back and resyncs that user's subscribers only.
//!
//! [`pending`]: super::pending

use std::time::Duration;

use tokio::sync::mpsc::Receiver;

use super::EventRouter;
use super::pending::Pending;
use super::wire::{Received, decode};
use crate::db::events::ListenerNotice;
use crate::tasks::unit::UnitOfWork;

/// Starts routing `notices` to `router`, reading tasks too large for their payload through
/// `fetch_work` (connections apart from the request pool's) within `db_timeout` each. Returns
/// once the first LISTEN is in place (or after `db_timeout`), so that the instance serves
/// only when it can hear events.
pub(in crate::tasks) async fn route(
    router: EventRouter,
    fetch_work: UnitOfWork,
    mut notices: Receiver<ListenerNotice>,
    db_timeout: Duration,
) {
    let (ready, listening) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut ready = Some(ready);
        let mut pending = Pending::new(router.clone(), fetch_work, db_timeout);
        loop {
            tokio::select! {
                notice = notices.recv() => match notice {
                    Some(ListenerNotice::Listening { reconnected }) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        if reconnected {
                            resync_all(&router, &mut pending);
                        }
                    }
                    Some(ListenerNotice::Payload(payload)) => {
                        route_payload(&router, &mut pending, &payload)
                    }
                    None => return,
                },
                fetched = pending.next_done() => pending.done(fetched),
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

fn route_payload(router: &EventRouter, pending: &mut Pending, payload: &str) {
    match decode(payload) {
        Some(Received::Event(event)) => pending.ready(event),
        Some(Received::ResyncAll) => resync_all(router, pending),
        Some(Received::NeedsRows(references)) => {
            references.into_iter().for_each(|r| pending.fetch(r))
        }
        None => {}
    }
}

/// Every subscriber may have missed events: what waits for a fetch is covered by the sync
/// they are told to run, so it is dropped rather than delivered after the `Resync`.
fn resync_all(router: &EventRouter, pending: &mut Pending) {
    pending.clear();
    router.resync_all();
}
