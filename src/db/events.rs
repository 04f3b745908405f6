//! The database side of task events: `pg_notify` inside a write's transaction ([`Notify`]),
//! and the one `LISTEN` connection per instance ([`listen`]) that hears every instance's
//! writes, reconnecting with backoff when it drops.
//!
//! It moves opaque payload strings only; what they mean (and who receives them) is the tasks
//! event router's business.

use std::future::Future;
use std::time::Duration;

use diesel::QueryResult;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::SqliteConn;
use super::tls::PgTls;

/// The channel every instance listens on (one database, one application: one channel).
pub const CHANNEL: &str = "todo_api_task_events";

/// `application_name` of the listening connection, so operators (and tests) can find it in
/// `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "todo-api-listener";

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
pub const MAX_PAYLOAD_BYTES: usize = 7999;

/// First wait before reconnecting the listener; doubled after each failure up to the maximum.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// How often the listener checks that its connection still answers: a connection cut without
/// a FIN (NAT timeout, failover) would otherwise look alive and silent for hours.
const LIVENESS_INTERVAL: Duration = Duration::from_secs(30);

/// How a backend's task events travel from the write to the subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTransport {
    /// PostgreSQL: `NOTIFY` inside the write's transaction, heard back by every instance's
    /// LISTEN connection (this one's too).
    Notify,
    /// SQLite: one instance; the service delivers in-process after the commit.
    InProcess,
}

/// Publishing an event inside the current transaction. PostgreSQL sends it on commit (and
/// never if the transaction rolls back); SQLite has no such thing, so the service delivers its
/// events in-process after the commit instead.
pub trait Notify {
    /// Queues `payload` on [`CHANNEL`].
    fn notify<'a>(
        &'a mut self,
        payload: &'a str,
    ) -> impl Future<Output = QueryResult<()>> + Send + 'a;
}

impl Notify for AsyncPgConnection {
    async fn notify(&mut self, payload: &str) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(self)
            .await
            .map(drop)
    }
}

impl Notify for SqliteConn {
    async fn notify(&mut self, _payload: &str) -> QueryResult<()> {
        Ok(())
    }
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
}

/// Starts the listening task for the PostgreSQL `url` and returns what it hears. The task runs
/// until the receiver is dropped.
pub fn listen(
    url: &str,
    connect_timeout: Duration,
) -> Result<mpsc::Receiver<ListenerNotice>, String> {
    let tls = PgTls::from_url(url)?;
    let mut driver_url = tls.driver_url().to_owned();
    if !driver_url.contains("connect_timeout=") {
        let seconds = connect_timeout.as_secs_f64().ceil().max(1.0);
        driver_url.push_str(&format!("&connect_timeout={seconds}"));
    }
    driver_url.push_str(&format!("&application_name={LISTENER_APPLICATION_NAME}"));
    let (notices, receiver) = mpsc::channel(4096);
    tokio::spawn(run(tls, driver_url, notices));
    Ok(receiver)
}

async fn run(tls: PgTls, url: String, notices: mpsc::Sender<ListenerNotice>) {
    let mut backoff = BACKOFF_START;
    let mut reconnected = false;
    loop {
        match listen_once(&tls, &url, reconnected, &notices).await {
            Ok(Ended::ReceiverGone) => return,
            Ok(Ended::ConnectionLost(why)) => {
                tracing::warn!(reason = %why, "event listener connection lost; reconnecting");
                metrics::counter!("event_listener_reconnects_total").increment(1);
                // It was up: start the backoff again from the shortest wait.
                backoff = BACKOFF_START;
            }
            Err(why) => {
                tracing::warn!(error = %why, retry_in = ?backoff, "event listener cannot connect");
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
) -> Result<Ended, String> {
    let (client, mut connection) = tokio_postgres::connect(url, tls.connector())
        .await
        .map_err(|e| super::tls::with_causes(&e))?;
    // The connection must be polled for the client to make progress; a separate task reads
    // its messages and hands the notifications over.
    let (payloads, mut incoming) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if payloads.send(n.payload().to_owned()).is_err() {
                        return "listener stopped".to_owned();
                    }
                }
                Ok(_) => {}
                Err(e) => return e.to_string(),
            }
        }
        "connection closed".to_owned()
    });
    let setup = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
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
    loop {
        tokio::select! {
            payload = incoming.recv() => match payload {
                Some(payload) => {
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
            _ = liveness.tick() => {
                let check = tokio::time::timeout(LIVENESS_INTERVAL, client.simple_query("")).await;
                if !matches!(check, Ok(Ok(_))) {
                    driver.abort();
                    return Ok(Ended::ConnectionLost("no answer to the liveness check".into()));
                }
            }
        }
    }
}
