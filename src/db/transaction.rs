//! Opening and closing a transaction on a checked-out [`DbConn`], per backend: the plumbing
//! under the tasks unit of work (`tasks::unit`), which decides when to call it and for whom.
//!
//! On PostgreSQL a transaction [`Acting::For`] a user runs as [`APP_ROLE`] with `app.user_id`
//! set for the transaction only, which the row-security policies read (the second wall, see
//! docs/SECURITY.md); BEGIN, the statement budget, the role and the setting travel in ONE
//! round trip. It knows nothing of tasks, and it never hands a connection out: the caller owns
//! the checkout from start to end.
//!
//! A future dropped between [`DbConn::begin_write`] and its commit or rollback (a client gone
//! mid-request) cannot put an open transaction back into the pool: diesel-async's pool manager
//! (`has_broken` → `is_broken_transaction_manager`) treats a connection that is still inside a
//! transaction, or whose BEGIN/COMMIT/ROLLBACK was cut short, as broken, and bb8 closes it
//! instead of reusing it, which rolls the transaction back in the database.

use std::time::Duration;

use diesel::QueryResult;
use diesel::connection::{TransactionDepthChange, TransactionManagerStatus};
use diesel_async::{AnsiTransactionManager, AsyncConnection, TransactionManager};

use super::pg::PgConn;
use super::{Db, DbConn, SqliteConn};

/// The role requests run as on PostgreSQL (created by the `row_security` migration): no
/// LOGIN, SUPERUSER or BYPASSRLS, owns nothing, so the policies bind it.
pub const APP_ROLE: &str = "todo_api_app";

/// Whom a transaction acts for on PostgreSQL (SQLite has no roles: both are the same there).
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    /// The connecting role (the tables' owner), which the policies admit to every row: only
    /// for jobs that must see every user's rows (maintenance, the readiness probe).
    Owner,
    /// [`APP_ROLE`] with `app.user_id` = this user: the policies admit only their rows.
    For(&'a str),
}

impl Db {
    /// Whom a unit of work for `user` acts for: the user under row security (the default),
    /// the connecting role when DATABASE_ROW_SECURITY is off.
    pub fn acting_for<'a>(&self, user: &'a str) -> Acting<'a> {
        if self.row_security {
            Acting::For(user)
        } else {
            Acting::Owner
        }
    }
}

type PgTransactions = <PgConn as AsyncConnection>::TransactionManager;
type SqliteTransactions = <SqliteConn as AsyncConnection>::TransactionManager;

impl DbConn {
    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken
    /// at the start, so a transaction that reads before it writes (a count before an insert, a
    /// prune's read after a delete) can never fail to upgrade with "database is locked"; it
    /// waits its turn under `busy_timeout` instead. PostgreSQL's plain `BEGIN` (READ COMMITTED)
    /// needs no such thing; it is given the statement budget (see [`DbConn::begin_reads`]) and
    /// acts for `acting`. Like a read's, it is not waited for: the write's first statement
    /// travels with it (one round trip less per write), and a batch that failed aborts the
    /// transaction, so every statement behind it fails and the unit rolls back. The COMMIT
    /// ([`DbConn::commit`]) is waited for: a write is answered only once it is durable.
    pub async fn begin_write(&mut self, budget: Duration, acting: Acting<'_>) -> QueryResult<()> {
        match self {
            DbConn::Postgres(super::PgCheckout::Shared(_)) => {
                Err(diesel::result::Error::QueryBuilderError(
                    "a write on a connection reads share (a bug: writes take their own)".into(),
                ))
            }
            DbConn::Postgres(pooled) => {
                let sql = begin_sql("BEGIN", budget, acting)?;
                send(pooled, &sql)?;
                change_depth(pooled, TransactionDepthChange::IncreaseDepth)
            }
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

    /// Opens a read scope, on PostgreSQL only, where it carries the statement budget:
    /// `statement_timeout` can only be set for a session (which must not leak through a pooled
    /// connection: the pool may be a transaction pooler) or for a transaction. On SQLite, reads
    /// stay outside a transaction; the connection enforces the budget itself (`db::sqlite`).
    ///
    /// Within the scope each statement is a READ ONLY transaction of its own acting for
    /// `acting`: its BEGIN batch, the statement and COMMIT are sent together and only the
    /// statement's answer is waited for, one round trip per statement (`db::pg`). Nothing is
    /// lost by not waiting for the batch: if it failed, the transaction is aborted and the
    /// statement behind it fails ("current transaction is aborted"), so no read ever runs
    /// outside it or as another role. [`DbConn::end_reads`] ends the scope (and so does the
    /// next checkout of the connection, whatever happened in between).
    pub fn begin_reads(&mut self, budget: Duration, acting: Acting<'_>) -> QueryResult<()> {
        if let DbConn::Postgres(pooled) = self {
            pooled.read_scope(Some(begin_sql("BEGIN READ ONLY", budget, acting)?));
        }
        Ok(())
    }

    /// Ends the scope [`DbConn::begin_reads`] opened.
    pub fn end_reads(&mut self) {
        if let DbConn::Postgres(pooled) = self {
            pooled.read_scope(None);
        }
    }

    /// Commits the transaction [`DbConn::begin_write`] opened.
    pub async fn commit(&mut self) -> QueryResult<()> {
        match self {
            DbConn::Postgres(pooled) => PgTransactions::commit_transaction(&mut **pooled).await,
            DbConn::Sqlite(pooled) => SqliteTransactions::commit_transaction(&mut **pooled).await,
        }
    }

    /// On PostgreSQL, right behind [`DbConn::begin_write`] (queued, not waited for): the
    /// journal keeps this write's notifications for [`DbConn::commit_deferred`] instead of
    /// sending them in the transaction (`pg::deferred`). Nothing on SQLite, which never
    /// notifies.
    pub fn defer_events(&mut self) -> QueryResult<()> {
        match self {
            DbConn::Postgres(pooled) => send(pooled, super::pg::DEFER_EVENTS),
            DbConn::Sqlite(_) => Ok(()),
        }
    }

    /// Commits like [`DbConn::commit`], and on PostgreSQL returns in the same round trip what
    /// the journal deferred since [`DbConn::defer_events`] (newline-separated payloads, empty
    /// for none); `None` on SQLite.
    pub async fn commit_deferred(&mut self) -> QueryResult<Option<String>> {
        match self {
            DbConn::Postgres(pooled) => pooled.commit_deferred().await.map(Some),
            DbConn::Sqlite(_) => self.commit().await.map(|()| None),
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

/// Queues `sql` on the connection without waiting for its answer (see [`PgConn::send`]).
fn send(conn: &PgConn, sql: &str) -> QueryResult<()> {
    conn.send(sql)
}

/// Records a BEGIN or COMMIT sent without diesel's transaction manager, so that the pool
/// treats a connection left between the two as broken (and closes it) rather than reuse it,
/// and diesel's COMMIT and ROLLBACK ([`DbConn::commit`], [`DbConn::rollback`]) find the
/// transaction they end.
fn change_depth(conn: &mut PgConn, change: TransactionDepthChange) -> QueryResult<()> {
    match AnsiTransactionManager::transaction_manager_status_mut(conn) {
        TransactionManagerStatus::Valid(status) => status.change_transaction_depth(change),
        TransactionManagerStatus::InError => Err(diesel::result::Error::BrokenTransactionManager),
    }
}

/// `begin` (BEGIN or BEGIN READ ONLY) and the transaction's settings as one simple-protocol
/// batch: nothing session-scoped, so it is right behind a transaction pooler.
fn begin_sql(begin: &str, budget: Duration, acting: Acting<'_>) -> QueryResult<String> {
    let millis = budget.as_millis().min(i32::MAX as u128);
    let mut sql = format!("{begin}; SET LOCAL statement_timeout = {millis}");
    if let Acting::For(user) = acting {
        let user = literal(user).ok_or_else(|| {
            diesel::result::Error::QueryBuilderError("a user id with a NUL character".into())
        })?;
        sql.push_str(&format!(
            "; SET LOCAL ROLE {APP_ROLE}; SELECT set_config('app.user_id', {user}, true)"
        ));
    }
    Ok(sql)
}

/// `text` as an escape-string literal (`E'…'`), whose meaning does not depend on
/// `standard_conforming_strings`: backslashes and quotes doubled. `None` for text with a NUL,
/// which no PostgreSQL text can hold (ids with control characters never verify anyway).
pub(super) fn literal(text: &str) -> Option<String> {
    if text.contains('\0') {
        return None;
    }
    Some(format!(
        "E'{}'",
        text.replace('\\', "\\\\").replace('\'', "''")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_travels_as_a_quoted_literal_in_the_begin_batch() {
        let budget = Duration::from_millis(1500);
        assert_eq!(
            begin_sql("BEGIN", budget, Acting::Owner).unwrap(),
            "BEGIN; SET LOCAL statement_timeout = 1500"
        );
        assert_eq!(
            begin_sql("BEGIN READ ONLY", budget, Acting::For(r"a'b\c")).unwrap(),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = 1500; SET LOCAL ROLE todo_api_app; \
             SELECT set_config('app.user_id', E'a''b\\\\c', true)"
        );
        assert!(begin_sql("BEGIN", budget, Acting::For("a\0b")).is_err());
    }
}
