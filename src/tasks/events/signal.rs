//! How this instance's own writes reach subscribers without a NOTIFY in their transaction
//! (issue 41): after the commit, the payloads the journal deferred (`db::pg::deferred`) go
//!
//! - to this instance's relay at once, through a channel: no database round trip for the
//!   subscribers here;
//! - to every other instance by one batched NOTIFY per [`SIGNAL_INTERVAL`] at most, sent on
//!   the instance's LISTEN connection (the direct URL: `db::events::listen`), wrapped with
//!   this instance's origin (a random id) so that its own listener skips the echo.
//!
//! A NOTIFY takes a lock on the whole database at commit; one per interval per instance is
//! a few hundred a second at most, never one per write. A signal that is lost (the instance
//! stopped between the commit and the batch, the database refused the batch, the queue was
//! full) loses no event: each receiver's sweep (`sequence`) finds a subscribed user's counter
//! ahead of what it delivered and reads the gap from the journal.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The longest a deferred payload waits for the batch that carries it to other instances, and
/// the shortest time between two batches.
pub(in crate::tasks) const SIGNAL_INTERVAL: Duration = Duration::from_millis(5);

/// Payloads waiting for the relay or the batch; past this a signal is dropped (and the
/// receivers' sweeps catch up from the journal).
const QUEUE: usize = 16_384;

/// PostgreSQL's limit on one NOTIFY payload is 8,000 bytes.
const MAX_PAYLOAD: usize = 7_900;

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

/// A batch of payloads from one instance, as one NOTIFY payload.
#[derive(Serialize, Deserialize)]
struct Relayed<'a> {
    /// The instance that sent it.
    #[serde(borrow)]
    o: &'a str,
    /// Each payload as the journal wrote it.
    #[serde(borrow)]
    m: Vec<std::borrow::Cow<'a, str>>,
}

impl Signals {
    /// Signals for this instance, batching to other instances through `listener` (the LISTEN
    /// connection runs what it is sent); returns the relay's end.
    pub(in crate::tasks) fn start(listener: mpsc::Sender<String>) -> (Signals, LocalSignals) {
        let origin: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let (local, payloads) = mpsc::channel(QUEUE);
        let (remote, outgoing) = mpsc::channel(QUEUE);
        tokio::spawn(send_batches(listener, Arc::clone(&origin), outgoing));
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

/// The payloads of a batch another instance sent, or `None` when `payload` is not one (the
/// journal's own NOTIFY, from another program's write) or is this instance's own echo
/// (`Some(empty)`).
pub(super) fn unwrap_batch(payload: &str, own_origin: &str) -> Option<Vec<String>> {
    if !payload.starts_with("{\"o\":") {
        return None;
    }
    let relayed: Relayed = match serde_json::from_str(payload) {
        Ok(relayed) => relayed,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a batch of task events that does not parse");
            return Some(Vec::new());
        }
    };
    if relayed.o == own_origin {
        return Some(Vec::new());
    }
    Some(relayed.m.into_iter().map(|m| m.into_owned()).collect())
}

/// Sends what `outgoing` carries as few NOTIFYs as fit, at most one statement per
/// [`SIGNAL_INTERVAL`], until every [`Signals`] is gone.
async fn send_batches(
    listener: mpsc::Sender<String>,
    origin: Arc<str>,
    mut outgoing: mpsc::Receiver<String>,
) {
    let mut waiting = Vec::new();
    while outgoing.recv_many(&mut waiting, 1024).await > 0 {
        let sql = notify_sql(&origin, &waiting);
        waiting.clear();
        if listener.try_send(sql).is_err() {
            // The listener is gone or far behind: receivers' sweeps read it from the journal.
            metrics::counter!("event_signals_dropped_total", "to" => "instances").increment(1);
        }
        tokio::time::sleep(SIGNAL_INTERVAL).await;
    }
}

/// One statement of `pg_notify` calls carrying `payloads`, packed into as few as fit.
fn notify_sql(origin: &str, payloads: &[String]) -> String {
    let mut calls = Vec::new();
    let mut batch: Vec<&str> = Vec::new();
    let mut size = 0;
    for payload in payloads {
        // Escaped inside a JSON string a payload grows by its quotes and backslashes.
        let cost = payload.len() + payload.matches(['"', '\\']).count() + 4;
        if !batch.is_empty() && size + cost > MAX_PAYLOAD - 64 {
            calls.push(wrap(origin, &batch));
            batch.clear();
            size = 0;
        }
        batch.push(payload);
        size += cost;
    }
    if !batch.is_empty() {
        calls.push(wrap(origin, &batch));
    }
    let calls: Vec<String> = calls
        .iter()
        .map(|payload| {
            format!(
                "pg_notify('{}', {})",
                crate::db::events::CHANNEL,
                literal(payload)
            )
        })
        .collect();
    format!("SELECT {}", calls.join(", "))
}

/// One NOTIFY payload of `batch`; one payload too large for it alone becomes a request to
/// read its changes (the row left out) or, failing that, to resync.
fn wrap(origin: &str, batch: &[&str]) -> String {
    let relayed = |m: Vec<std::borrow::Cow<'_, str>>| {
        serde_json::to_string(&Relayed { o: origin, m }).unwrap_or_default()
    };
    let whole = relayed(batch.iter().map(|p| (*p).into()).collect());
    if whole.len() <= MAX_PAYLOAD || batch.len() > 1 {
        return whole;
    }
    let by_reference = without_row(batch[0]);
    let smaller = relayed(vec![by_reference.into()]);
    if smaller.len() <= MAX_PAYLOAD {
        return smaller;
    }
    relayed(vec![r#"{"u": "", "k": "resync"}"#.into()])
}

/// `payload` without its row (`w`), marked to be read (`r`), as the journal sends a change
/// whose row is too large.
fn without_row(payload: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.remove("w");
            fields.insert("r".into(), true.into());
            serde_json::Value::Object(fields).to_string()
        }
        _ => r#"{"u": "", "k": "resync"}"#.to_owned(),
    }
}

/// `text` as an escape-string literal (`E'…'`): backslashes and quotes doubled. JSON text
/// holds no NUL.
fn literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_and_its_sender_skips_its_echo() {
        let payloads = vec![
            r#"{"e": "task", "i": 4, "k": "created", "s": 1, "u": "bob", "w": {"title": "it's \"x\""}}"#.to_owned(),
            r#"{"b": [["alice", 5, 7]], "k": "batch"}"#.to_owned(),
        ];
        let sql = notify_sql("me", &payloads);
        assert_eq!(sql.matches("pg_notify(").count(), 1, "{sql}");
        let wrapped = wrap("me", &[&payloads[0], &payloads[1]]);
        assert_eq!(unwrap_batch(&wrapped, "other"), Some(payloads.clone()));
        assert_eq!(unwrap_batch(&wrapped, "me"), Some(Vec::new()));
        assert_eq!(unwrap_batch(&payloads[0], "me"), None);
    }

    #[test]
    fn what_does_not_fit_one_notify_is_split_or_read_by_reference() {
        let big = format!(
            r#"{{"e": "task", "i": 4, "k": "updated", "s": 9, "u": "bob", "w": {{"title": "{}"}}}}"#,
            "\\\"".repeat(3_000)
        );
        let small = r#"{"b": [["alice", 5, 7]], "k": "batch"}"#.to_owned();
        let sql = notify_sql("me", &[small.clone(), big.clone(), small.clone()]);
        assert_eq!(sql.matches("pg_notify(").count(), 3, "{sql}");
        let alone = wrap("me", &[&big]);
        assert!(alone.len() <= MAX_PAYLOAD);
        let inner = unwrap_batch(&alone, "other").unwrap();
        let value: serde_json::Value = serde_json::from_str(&inner[0]).unwrap();
        assert_eq!((value["r"].as_bool(), value.get("w")), (Some(true), None));
        assert_eq!(value["s"], 9);
    }
}
