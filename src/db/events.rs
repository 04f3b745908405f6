//! The database side of task events: the one `LISTEN` connection per instance ([`listen`],
//! on the direct session URL) that hears every writer's changes (the journal triggers notify
//! for other programs' writes; the instances' batches, [`notify_all`], carry the server's),
//! reconnecting with backoff when it drops.
//!
//! The listener proves that it hears (`db::heartbeat`): LISTEN through a transaction pooler
//! is accepted and then hears nothing, so "connected" proves nothing. A deaf connection that
//! still answers is kept (issue 58): a new one would be as deaf, and through a pooler it was a
//! new login every heartbeat interval.
//!
//! It moves opaque payload strings only; what they mean (and who receives them) is the tasks
//! event router's business.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

pub use super::heartbeat::{EventHealth, HEARTBEAT_CHANNEL, Heartbeat};
use super::tls::PgTls;

/// The channel every instance listens on (one database, one application: one channel).
pub const CHANNEL: &str = "todo_api_task_events";

/// `application_name` of the listening connection, so operators (and tests) can find it in
/// `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "todo-api-listener";

/// `application_name` of the instance's event pool (`DATABASE_URL`, apart from the requests'
/// pool), whose connections read what events do not carry, carry the heartbeat and send the
/// instance's batches of signals ([`notify_all`]); set unless DATABASE_URL names one.
pub const EVENTS_APPLICATION_NAME: &str = "todo-api-events";

/// First wait before reconnecting the listener; doubled after each failure up to the maximum.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// How often the listener checks that its connection still answers: a connection cut without
/// a FIN (NAT timeout, failover) would otherwise look alive and silent for hours.
const LIVENESS_INTERVAL: Duration = Duration::from_secs(30);

/// How a backend's task events travel from the write to the subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTransport {
    /// PostgreSQL: the journal trigger's payload, heard by every instance's LISTEN
    /// connection: another program's write notifies in its transaction
    /// (`2026-11-25-000040_database_journal`), this server's writes are published after their
    /// commit, batched (`000071_events_after_commit`, `tasks::events::signal`).
    Notify,
    /// SQLite: one instance; the service delivers in-process after the commit.
    InProcess,
}

/// What the listener tells the event router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerNotice {
    /// `LISTEN` is in place. After a reconnect (`reconnected`), events sent while the
    /// connection was down are lost: subscribers must be told to resync.
    Listening {
        /// False the first time.
        reconnected: bool,
    },
    /// One NOTIFY payload, in commit order.
    Payload(String),
    /// A heartbeat did not come back on a connection that still answers: what was sent
    /// meanwhile may not have been heard, so subscribers must be told to resync.
    Missed,
}

/// Starts the listening task on the PostgreSQL session URL `direct` and returns what it
/// hears; `heartbeat` proves that it hears. The task runs until the receiver is dropped.
pub fn listen(
    direct: &str,
    connect_timeout: Duration,
    heartbeat: Heartbeat,
) -> Result<mpsc::Receiver<ListenerNotice>, String> {
    let (tls, mut driver_url) =
        super::tls::driver_url(direct, connect_timeout).map_err(|e| e.to_string())?;
    driver_url.push_str(&format!("&application_name={LISTENER_APPLICATION_NAME}"));
    let (notices, receiver) = mpsc::channel(4096);
    tokio::spawn(run(tls, driver_url, notices, heartbeat));
    Ok(receiver)
}

async fn run(
    tls: PgTls,
    url: String,
    notices: mpsc::Sender<ListenerNotice>,
    mut heartbeat: Heartbeat,
) {
    let mut backoff = BACKOFF_START;
    let mut reconnected = false;
    loop {
        match listen_once(&tls, &url, reconnected, &notices, &mut heartbeat).await {
            Ok(Ended::ReceiverGone) => return,
            Ok(Ended::ConnectionLost(why)) => {
                tracing::warn!(reason = %why, "event listener connection lost; reconnecting");
                metrics::counter!("event_listener_reconnects_total").increment(1);
                heartbeat.lost();
                // It was up: start the backoff again from the shortest wait.
                backoff = BACKOFF_START;
            }
            Err(why) => {
                tracing::warn!(error = %why, retry_in = ?backoff, "event listener cannot connect");
                heartbeat.unreachable();
            }
        }
        reconnected = true;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        if notices.is_closed() {
            return;
        }
    }
}

enum Ended {
    ReceiverGone,
    ConnectionLost(String),
}

/// One connection's life: connect, LISTEN, forward payloads until it ends.
async fn listen_once(
    tls: &PgTls,
    url: &str,
    reconnected: bool,
    notices: &mpsc::Sender<ListenerNotice>,
    heartbeat: &mut Heartbeat,
) -> Result<Ended, String> {
    let (client, mut connection) = tokio_postgres::connect(url, tls.connector())
        .await
        .map_err(|e| super::tls::with_causes(&e))?;
    // The connection must be polled for the client to make progress; a separate task reads
    // its messages and hands the notifications over.
    let (payloads, mut incoming) = mpsc::unbounded_channel::<(bool, String)>();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let beat = n.channel() == HEARTBEAT_CHANNEL;
                    if payloads.send((beat, n.payload().to_owned())).is_err() {
                        return "listener stopped".to_owned();
                    }
                }
                Ok(_) => {}
                Err(e) => return e.to_string(),
            }
        }
        "connection closed".to_owned()
    });
    let setup = client
        .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {HEARTBEAT_CHANNEL}"))
        .await;
    if let Err(e) = setup {
        driver.abort();
        return Err(e.to_string());
    }
    if notices
        .send(ListenerNotice::Listening { reconnected })
        .await
        .is_err()
    {
        driver.abort();
        return Ok(Ended::ReceiverGone);
    }
    tracing::info!(reconnected, "listening for task events");
    let mut liveness = tokio::time::interval(LIVENESS_INTERVAL);
    liveness.tick().await;
    // The first heartbeat goes at once: an instance that cannot hear says so at start.
    let mut next_beat = tokio::time::Instant::now();
    loop {
        let wake = heartbeat.deadline().unwrap_or(next_beat);
        tokio::select! {
            payload = incoming.recv() => match payload {
                Some((true, beat)) => {
                    if let Some(sent) = heartbeat.heard(&beat) {
                        next_beat = sent + heartbeat.interval();
                    }
                }
                Some((false, payload)) => {
                    if notices.send(ListenerNotice::Payload(payload)).await.is_err() {
                        driver.abort();
                        return Ok(Ended::ReceiverGone);
                    }
                }
                None => {
                    let why = driver.await.unwrap_or_else(|e| e.to_string());
                    return Ok(Ended::ConnectionLost(why));
                }
            },
            _ = tokio::time::sleep_until(wake) => {
                if heartbeat.deadline().is_some() {
                    heartbeat.missed();
                    // Deaf, yet answering: a new connection would be just as deaf (LISTEN
                    // through a transaction pooler sits on a server connection the pooler
                    // lends to others; a direct URL to another database hears other
                    // notifications), and through a pooler each would be a login (a TLS
                    // handshake on Neon) every interval. So it is replaced only when it no
                    // longer answers; subscribers resync either way.
                    if !answers(&client, heartbeat.interval()).await {
                        driver.abort();
                        return Ok(Ended::ConnectionLost(
                            "no answer after a missed heartbeat".into(),
                        ));
                    }
                    if notices.send(ListenerNotice::Missed).await.is_err() {
                        driver.abort();
                        return Ok(Ended::ReceiverGone);
                    }
                }
                heartbeat.send();
            }
            _ = liveness.tick() => {
                if !answers(&client, LIVENESS_INTERVAL).await {
                    driver.abort();
                    return Ok(Ended::ConnectionLost("no answer to the liveness check".into()));
                }
            }
        }
    }
}

/// Whether the listener's connection answers an empty query within `within`.
async fn answers(client: &tokio_postgres::Client, within: Duration) -> bool {
    matches!(
        tokio::time::timeout(within, client.simple_query("")).await,
        Ok(Ok(_))
    )
}

/// `target` (DATABASE_URL) for the event pool: named [`EVENTS_APPLICATION_NAME`] unless it
/// names an application itself, so operators (and the round-trip test's proxy) tell it apart.
pub fn events_target(target: &super::DatabaseTarget) -> super::DatabaseTarget {
    match target {
        super::DatabaseTarget::Postgres(url) if !url.contains("application_name=") => {
            let joint = if url.contains('?') { '&' } else { '?' };
            super::DatabaseTarget::Postgres(format!(
                "{url}{joint}application_name={EVENTS_APPLICATION_NAME}"
            ))
        }
        other => other.clone(),
    }
}

/// Sends each of `payloads` on [`CHANNEL`] in one statement (one transaction: NOTIFY's
/// database-wide lock taken once for all of them) on a connection of `db`, as one
/// simple-protocol string (no prepared statement, right behind any pooler), within `within`.
pub async fn notify_all(
    db: &super::Db,
    payloads: &[String],
    within: Duration,
) -> Result<(), String> {
    // A payload is JSON text, which holds no NUL: every one has its literal.
    let calls: Vec<String> = payloads
        .iter()
        .filter_map(|payload| super::transaction::literal(payload))
        .map(|payload| format!("pg_notify('{CHANNEL}', {payload})"))
        .collect();
    let sql = format!("SELECT {}", calls.join(", "));
    let attempt = async {
        let mut conn = db.conn().await.map_err(|e| e.to_string())?;
        match &mut conn {
            super::DbConn::Postgres(pooled) => {
                use diesel_async::SimpleAsyncConnection;
                pooled.batch_execute(&sql).await.map_err(|e| e.to_string())
            }
            super::DbConn::Sqlite(_) => Ok(()),
        }
    };
    tokio::time::timeout(within, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {within:?}")))
}
