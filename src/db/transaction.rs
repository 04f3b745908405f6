//! Opening and closing a write transaction on a checked-out [`DbConn`], per backend: the
//! plumbing under the tasks unit of work (`tasks::unit`), which decides when to call it.
//!
//! It knows nothing of viewers or tasks, and it never hands a connection out: the caller owns
//! the checkout from start to end.
//!
//! A future dropped between [`DbConn::begin_write`] and its commit or rollback (a client gone
//! mid-request) cannot put an open transaction back into the pool: diesel-async's pool manager
//! (`has_broken` → `is_broken_transaction_manager`) treats a connection that is still inside a
//! transaction, or whose BEGIN/COMMIT/ROLLBACK was cut short, as broken, and bb8 closes it
//! instead of reusing it, which rolls the transaction back in the database.

use std::time::Duration;

use diesel::QueryResult;
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, TransactionManager,
};

use super::{DbConn, SqliteConn};

type PgTransactions = <AsyncPgConnection as AsyncConnection>::TransactionManager;
type SqliteTransactions = <SqliteConn as AsyncConnection>::TransactionManager;

impl DbConn {
    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken
    /// at the start, so a transaction that reads before it writes (a count before an insert, a
    /// prune's read after a delete) can never fail to upgrade with "database is locked"; it
    /// waits its turn under `busy_timeout` instead. PostgreSQL's plain `BEGIN` (READ COMMITTED)
    /// needs no such thing; it is given the statement budget (see [`DbConn::begin_read`]).
    pub async fn begin_write(&mut self, budget: Duration) -> QueryResult<()> {
        match self {
            DbConn::Postgres(pooled) => begin_pg(pooled, budget).await,
            DbConn::Sqlite(pooled) => {
                // What diesel-async's own `immediate_transaction` does, without its closure.
                pooled
                    .spawn_blocking(|inner| {
                        diesel::connection::AnsiTransactionManager::begin_transaction_sql(
                            inner,
                            "BEGIN IMMEDIATE",
                        )
                    })
                    .await
            }
        }
    }

    /// Starts a transaction for reads, on PostgreSQL only, where it carries the statement
    /// budget: `statement_timeout` can only be set for a session (which must not leak through
    /// a pooled connection: the pool may be a transaction pooler) or for a transaction. On
    /// SQLite, reads stay outside a transaction; the connection enforces the budget itself
    /// (`db::sqlite`). Returns whether a transaction was opened (and must be committed).
    pub async fn begin_read(&mut self, budget: Duration) -> QueryResult<bool> {
        match self {
            DbConn::Postgres(pooled) => begin_pg(pooled, budget).await.map(|()| true),
            DbConn::Sqlite(_) => Ok(false),
        }
    }

    /// Commits the transaction [`DbConn::begin_write`] opened.
    pub async fn commit(&mut self) -> QueryResult<()> {
        match self {
            DbConn::Postgres(pooled) => PgTransactions::commit_transaction(&mut **pooled).await,
            DbConn::Sqlite(pooled) => SqliteTransactions::commit_transaction(&mut **pooled).await,
        }
    }

    /// Rolls the transaction [`DbConn::begin_write`] opened back.
    pub async fn rollback(&mut self) -> QueryResult<()> {
        match self {
            DbConn::Postgres(pooled) => PgTransactions::rollback_transaction(&mut **pooled).await,
            DbConn::Sqlite(pooled) => SqliteTransactions::rollback_transaction(&mut **pooled).await,
        }
    }
}

/// BEGIN and the transaction's settings, in one round trip (one simple-protocol batch). This
/// is where the viewer's role and `app.user_id` will join them (RLS).
async fn begin_pg(conn: &mut AsyncPgConnection, budget: Duration) -> QueryResult<()> {
    let millis = budget.as_millis().min(i32::MAX as u128);
    let sql = format!("BEGIN; SET LOCAL statement_timeout = {millis}");
    AnsiTransactionManager::begin_transaction_sql(conn, &sql).await
}
