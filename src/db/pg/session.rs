//! One PostgreSQL connection's shared part: its socket, its kept statements and the lock under
//! which requests are queued, shared by every handle on it (`PgConn::view`), and the clock of
//! its last answer (`db::shared_reads` reads it to tell a stalled connection).

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use futures::FutureExt;
use tokio_postgres::Statement;

use super::undeclared::Undeclared;

/// One connection's socket and statements, shared by its views.
pub(super) struct Session {
    pub(super) client: tokio_postgres::Client,
    /// Statements prepared on this connection, by SQL.
    pub(super) statements: Mutex<HashMap<String, Statement>>,
    /// Held while a statement is prepared, so two views never prepare the same SQL twice.
    pub(super) preparing: tokio::sync::Mutex<()>,
    /// Held while a request (a read: its BEGIN batch, statement and COMMIT) is queued, so that
    /// the requests of several views sharing the connection never interleave.
    pub(super) sending: Mutex<()>,
    /// Behind a transaction pooler: no statement is named.
    pub(super) unnamed: bool,
    /// Whether the pool's `DATABASE_URL` proved a pooler nobody declared: no statement is
    /// named from then on either.
    pub(super) undeclared: Arc<Undeclared>,
    /// When a statement of a read scope last had its answer ([`clock`]).
    pub(super) answered: AtomicU64,
}

/// Milliseconds since the first call: the clock of a connection's last answer.
pub fn clock() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Session {
    /// Whether statements run unnamed: behind a pooler, declared or found out.
    pub(super) fn names_nothing(&self) -> bool {
        self.unnamed || self.undeclared.found()
    }

    /// Queues `sql` (a simple-protocol batch) without waiting for its answer: tokio-postgres
    /// sends a request on its future's first poll, and its connection task reads and drops
    /// the answer of a request whose future is gone. `Err` only when it could not be sent.
    pub(super) fn send(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        match self.client.batch_execute(sql).now_or_never() {
            None | Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(e),
        }
    }

    /// `request` (a future that sends its request on its first poll) queued under the lock,
    /// between `begin` (a read's BEGIN batch) and COMMIT when given, then awaited. Nothing is
    /// awaited while the lock is held: all is queued by the time it is let go.
    pub(super) async fn queued<T>(
        &self,
        begin: Option<&str>,
        request: impl Future<Output = T>,
    ) -> T {
        let mut request = pin!(request);
        let first = {
            let _sending = self.sending.lock().unwrap_or_else(|p| p.into_inner());
            // A batch that could not be sent means a closed connection: the request says so.
            if let Some(begin) = begin {
                let _ = self.send(begin);
            }
            // Sends the request (a later poll, with the task's waker, waits for its answer).
            let first = request.as_mut().now_or_never();
            if begin.is_some() {
                let _ = self.send("COMMIT");
            }
            first
        };
        match first {
            Some(outcome) => outcome,
            None => request.await,
        }
    }
}
