//! Reads that travel together: a [`Reader`] is a connection several reads may use at once.
//! On PostgreSQL the statements of reads polled together are pipelined (sent together, their
//! answers awaited together: one round trip for all of them, `db::pg`); on SQLite, which has
//! no round trips, they take turns on the connection. Store functions that read take a
//! `Reader` (a copy each), so a service can run independent reads with `futures::try_join!`.

use tokio::sync::Mutex;

use super::pg::PgConn;
use super::{DbConn, SqliteConn};

/// A checked-out connection shared by reads (see the module's note). Cheap to copy.
#[derive(Clone, Copy)]
pub enum Reader<'a> {
    /// PostgreSQL: statements through a shared reference are pipelined.
    Postgres(&'a PgConn),
    /// SQLite: one statement at a time.
    Sqlite(&'a Mutex<&'a mut SqliteConn>),
}

impl DbConn {
    /// Runs `work` with a [`Reader`] over this connection (inside whatever unit of work holds
    /// it: a read scope or a write's transaction).
    pub async fn readers<R>(&mut self, work: impl AsyncFnOnce(Reader<'_>) -> R) -> R {
        match self {
            DbConn::Postgres(pooled) => work(Reader::Postgres(pooled)).await,
            DbConn::Sqlite(pooled) => {
                let shared = Mutex::new(&mut **pooled);
                work(Reader::Sqlite(&shared)).await
            }
        }
    }
}

/// Runs one block of diesel DSL on whichever backend a [`Reader`] holds, as `db_run!` does on
/// a `DbConn`: `$c` is `&mut &PgConn` (pipelined) or `&mut SqliteConn` (its turn).
#[macro_export]
macro_rules! read_run {
    ($reader:expr, |$c:ident| $body:expr) => {
        match $reader {
            $crate::db::Reader::Postgres(pg) => {
                let mut shared: &$crate::db::pg::PgConn = pg;
                let $c = &mut shared;
                $body
            }
            $crate::db::Reader::Sqlite(turns) => {
                let mut turn = turns.lock().await;
                let $c = &mut **turn;
                $body
            }
        }
    };
}
