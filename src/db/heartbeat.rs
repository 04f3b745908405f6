//! The listener's proof that it hears: at start and then every EVENT_HEARTBEAT_INTERVAL, the
//! instance sends itself a notification on [`HEARTBEAT_CHANNEL`] through `DATABASE_URL`'s
//! pool (the path every instance's task events take) and expects it back on its LISTEN
//! connection within the same interval. LISTEN through a transaction pooler is accepted and
//! then hears nothing; without this, realtime would die silently.
//!
//! A missed heartbeat logs an error naming the likely cause and the setting that fixes it,
//! counts `event_listener_heartbeat_failures_total`, marks [`EventHealth`] failing (`/readyz`
//! check `events`), and tells every subscriber to resync (`db::events`: the listener's
//! connection is replaced only when it no longer answers); it keeps doing so every interval
//! until a heartbeat comes back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel_async::SimpleAsyncConnection;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Db, DbConn, Pool};

/// The channel heartbeats travel on (each instance ignores the others').
pub const HEARTBEAT_CHANNEL: &str = "todo_api_listener_heartbeat";

/// Whether this instance hears its own task events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hearing {
    /// No heartbeat has come back or been missed yet.
    Starting,
    /// The last heartbeat came back in time.
    Hears,
    /// The last heartbeat did not, or the listener cannot connect.
    Deaf,
}

/// What `/readyz` reads: shared by the listener (which writes it) and the request pool.
#[derive(Debug)]
pub struct EventHealth {
    state: watch::Sender<Hearing>,
}

impl Default for EventHealth {
    fn default() -> Self {
        EventHealth {
            state: watch::Sender::new(Hearing::Starting),
        }
    }
}

impl EventHealth {
    fn set(&self, hearing: Hearing) -> Hearing {
        metrics::gauge!("event_listener_hears").set(if hearing == Hearing::Hears {
            1.0
        } else {
            0.0
        });
        self.state.send_replace(hearing)
    }

    /// Waits (at most `within`) until the first heartbeat came back or was missed.
    pub async fn settled(&self, within: Duration) {
        let mut state = self.state.subscribe();
        let _ = tokio::time::timeout(within, state.wait_for(|h| *h != Hearing::Starting)).await;
    }
}

impl Db {
    /// The `/readyz` check `events`: `ok` while the heartbeat comes back (always on SQLite,
    /// whose events never leave the process), `starting` before the first one, else
    /// `failing`.
    pub fn events_check(&self) -> &'static str {
        if let Pool::Sqlite(_) = self.pool {
            return "ok";
        }
        match *self.events.state.borrow() {
            Hearing::Hears => "ok",
            Hearing::Starting => "starting",
            Hearing::Deaf => "failing",
        }
    }

    /// Where the listener reports whether it hears.
    pub fn event_health(&self) -> Arc<EventHealth> {
        self.events.clone()
    }
}

/// The listener's heartbeat: sends through `sender` (a pool on `DATABASE_URL`), expects each
/// one back within `interval`.
pub struct Heartbeat {
    sender: Db,
    interval: Duration,
    health: Arc<EventHealth>,
    hint: &'static str,
    instance: String,
    seq: u64,
    /// The heartbeat on its way: its number and when it was sent.
    awaiting: Option<(u64, Instant)>,
    /// Why the last send failed, if it did.
    send_error: Arc<Mutex<Option<String>>>,
}

impl Heartbeat {
    /// A heartbeat every `interval`, sent through `sender`, reported to `health`; `hint`
    /// names the likely cause of a deaf listener and the setting that fixes it.
    pub fn new(
        sender: Db,
        interval: Duration,
        health: Arc<EventHealth>,
        hint: &'static str,
    ) -> Heartbeat {
        Heartbeat {
            sender,
            interval,
            health,
            hint,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            seq: 0,
            awaiting: None,
            send_error: Arc::default(),
        }
    }

    pub(super) fn interval(&self) -> Duration {
        self.interval
    }

    /// When the heartbeat on its way is overdue.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.awaiting.map(|(_, sent)| sent + self.interval)
    }

    /// Sends the next heartbeat (in the background: the pool may make it wait).
    pub(super) fn send(&mut self) {
        self.seq += 1;
        self.awaiting = Some((self.seq, Instant::now()));
        let payload = format!("{}:{}", self.instance, self.seq);
        let (db, within, errors) = (self.sender.clone(), self.interval, self.send_error.clone());
        tokio::spawn(async move {
            let outcome = notify(&db, &payload, within).await;
            *errors.lock().unwrap_or_else(|p| p.into_inner()) = outcome.err();
        });
    }

    /// A payload heard on [`HEARTBEAT_CHANNEL`]: when it is the one awaited, the listener
    /// hears; returns when it was sent.
    pub(super) fn heard(&mut self, payload: &str) -> Option<Instant> {
        let (seq, sent) = self.awaiting?;
        let (instance, number) = payload.split_once(':')?;
        if instance != self.instance || number.parse::<u64>().ok()? != seq {
            return None;
        }
        self.awaiting = None;
        if self.health.set(Hearing::Hears) == Hearing::Deaf {
            tracing::info!("task events: the listener hears its heartbeat again");
        }
        Some(sent)
    }

    /// The heartbeat on its way is overdue: say so everywhere.
    pub(super) fn missed(&mut self) {
        self.awaiting = None;
        metrics::counter!("event_listener_heartbeat_failures_total").increment(1);
        self.health.set(Hearing::Deaf);
        let send_error = self
            .send_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match send_error {
            Some(error) => tracing::error!(
                %error,
                "task events: the heartbeat could not be sent through DATABASE_URL, so this \
                 instance cannot show that it hears other instances' events; its subscribers \
                 are told to resync, and it keeps retrying"
            ),
            None => tracing::error!(
                setting = "DATABASE_DIRECT_URL",
                deadline = ?self.interval,
                "task events: this instance did not hear its own heartbeat within {:?}: {}. \
                 Its subscribers are told to resync, and it keeps retrying",
                self.interval,
                // Asked again each time: DATABASE_URL may have proved a pooler since.
                self.sender
                    .routes()
                    .map_or(self.hint, |routes| routes.deaf_listener_hint())
            ),
        }
    }

    /// The LISTEN connection is gone (a heartbeat on its way can no longer come back).
    pub(super) fn lost(&mut self) {
        self.awaiting = None;
    }

    /// The listener cannot connect: nothing is heard.
    pub(super) fn unreachable(&mut self) {
        self.awaiting = None;
        self.health.set(Hearing::Deaf);
    }
}

/// `pg_notify` on the heartbeat channel through a pooled connection, as one simple-protocol
/// statement (no prepared statement, right behind any pooler).
async fn notify(db: &Db, payload: &str, within: Duration) -> Result<(), String> {
    // The payload is ours: hex and digits, nothing to quote.
    let sql = format!("SELECT pg_notify('{HEARTBEAT_CHANNEL}', '{payload}')");
    let attempt = async {
        let mut conn = db.conn().await.map_err(|e| e.to_string())?;
        match &mut conn {
            DbConn::Postgres(pooled) => pooled.batch_execute(&sql).await.map_err(|e| e.to_string()),
            DbConn::Sqlite(_) => Ok(()),
        }
    };
    tokio::time::timeout(within, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {within:?}")))
}
