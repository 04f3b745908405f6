//! How this instance's own writes reach subscribers without a NOTIFY in their transaction
//! (issue 41): after the commit, the payloads the journal deferred (`db::pg::deferred`) go
//!
//! - to this instance's relay at once, through a channel: no database round trip for the
//!   subscribers here;
//! - to every other instance by one batched NOTIFY per [`SIGNAL_INTERVAL`] at most, sent
//!   through the instance's event pool (`DATABASE_URL`, as its heartbeat: the LISTEN
//!   connection only listens, so behind a pooler nobody declared it stays deaf, and says so):
//!   one statement of `pg_notify` calls (`db::events::notify_all`), one per payload, each
//!   marked with this instance's origin (a random id, `"o"` first) so that its own listener
//!   skips the echo. A payload is otherwise as the
//!   journal wrote it, so an instance of the previous version (a rolling upgrade) reads it
//!   as before; one with no room for the mark goes without it, and its echo is dropped as a
//!   change already delivered (`sequence`).
//!
//! A NOTIFY takes a lock on the whole database at commit; one per interval per instance is
//! a few hundred a second at most, never one per write. A signal that is lost (the instance
//! stopped between the commit and the batch, the database refused the batch, the queue was
//! full) loses no event: each receiver's sweep (`sequence`) finds a subscribed user's counter
//! ahead of what it delivered and reads the gap from the journal.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::db::Db;

/// The longest a deferred payload waits for the batch that carries it to other instances, and
/// the shortest time between two batches.
pub(in crate::tasks) const SIGNAL_INTERVAL: Duration = Duration::from_millis(5);

/// Payloads waiting for the relay or the batch; past this a signal is dropped (and the
/// receivers' sweeps catch up from the journal).
const QUEUE: usize = 16_384;

/// PostgreSQL's limit on one NOTIFY payload: shorter than 8,000 bytes.
const MAX_PAYLOAD: usize = 7_999;

/// Most payloads in one statement.
const MOST_PER_BATCH: usize = 256;

/// The longest one batch may take (a connection and its answer).
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// What a write publishes through after its commit.
#[derive(Clone)]
pub(in crate::tasks) struct Signals {
    local: mpsc::Sender<String>,
    remote: mpsc::Sender<String>,
}

/// The receiving end of [`Signals`] for this instance's relay.
pub(in crate::tasks) struct LocalSignals {
    pub(super) origin: Arc<str>,
    pub(super) payloads: mpsc::Receiver<String>,
}

impl Signals {
    /// Signals for this instance, batching to other instances through `db` (the event
    /// pool); returns the relay's end.
    pub(in crate::tasks) fn start(db: Db) -> (Signals, LocalSignals) {
        let origin: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let (local, payloads) = mpsc::channel(QUEUE);
        let (remote, outgoing) = mpsc::channel(QUEUE);
        tokio::spawn(send_batches(db, Arc::clone(&origin), outgoing));
        let signals = Signals { local, remote };
        (signals, LocalSignals { origin, payloads })
    }

    /// Publishes what one committed write's journal deferred (newline-separated payloads).
    pub(in crate::tasks) fn publish(&self, deferred: String) {
        if deferred.is_empty() {
            return;
        }
        for payload in deferred.split('\n') {
            if self.remote.try_send(payload.to_owned()).is_err() {
                metrics::counter!("event_signals_dropped_total", "to" => "instances").increment(1);
            }
        }
        if self.local.try_send(deferred).is_err() {
            metrics::counter!("event_signals_dropped_total", "to" => "relay").increment(1);
        }
    }
}

/// Whether `payload` is this instance's own (its batch's echo).
pub(super) fn is_own(payload: &str, origin: &str) -> bool {
    payload
        .strip_prefix("{\"o\": \"")
        .and_then(|rest| rest.strip_prefix(origin))
        .is_some_and(|rest| rest.starts_with('"'))
}

/// Sends what `outgoing` carries, at most one statement per [`SIGNAL_INTERVAL`], until every
/// [`Signals`] is gone.
async fn send_batches(db: Db, origin: Arc<str>, mut outgoing: mpsc::Receiver<String>) {
    let mut waiting = Vec::new();
    while outgoing.recv_many(&mut waiting, MOST_PER_BATCH).await > 0 {
        let marked: Vec<String> = waiting
            .iter()
            .map(|p| marked(&origin, p).into_owned())
            .collect();
        waiting.clear();
        if let Err(e) = crate::db::events::notify_all(&db, &marked, SEND_TIMEOUT).await {
            // Receivers' sweeps read what this batch named from the journal.
            metrics::counter!("event_signals_dropped_total", "to" => "instances").increment(1);
            tracing::warn!(error = %e, "cannot signal other instances; their sweeps catch up");
        }
        tokio::time::sleep(SIGNAL_INTERVAL).await;
    }
}

/// `payload` (a JSON object as the journal writes it) with `"o": origin` first, when that
/// still fits one NOTIFY.
fn marked<'a>(origin: &str, payload: &'a str) -> std::borrow::Cow<'a, str> {
    match payload.strip_prefix('{') {
        Some(rest) if payload.len() + origin.len() + 9 <= MAX_PAYLOAD && rest.starts_with('"') => {
            format!("{{\"o\": \"{origin}\", {rest}").into()
        }
        _ => payload.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_payload_is_marked_with_its_origin_and_read_as_before() {
        let payload =
            r#"{"e": "task", "i": 4, "k": "created", "s": 1, "u": "bob", "w": {"title": "it's"}}"#;
        let mine = marked("me", payload);
        assert!(is_own(&mine, "me"));
        assert!(!is_own(&mine, "m") && !is_own(&mine, "mee") && !is_own(payload, "me"));
        // The previous version's decoder (and this one's) ignores the mark.
        let value: serde_json::Value = serde_json::from_str(&mine).unwrap();
        assert_eq!(
            (value["o"].as_str(), value["s"].as_i64()),
            (Some("me"), Some(1))
        );
    }

    #[test]
    fn a_payload_with_no_room_for_the_mark_goes_as_it_is() {
        let big = format!(
            r#"{{"k": "batch", "b": [["{}", 1, 2]]}}"#,
            "x".repeat(7_960)
        );
        assert!(big.len() < MAX_PAYLOAD);
        assert_eq!(marked("0123456789abcdef0123456789abcdef", &big), big);
    }
}
