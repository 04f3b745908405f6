//! The unit of work: the one place in the tasks domain that checks a connection out of the
//! pool for a viewer (DESIGN rule 6), and the one place that prepares its transaction.
//! [`UnitOfWork::read`] runs a closure over a connection for the viewer's reads;
//! [`UnitOfWork::write`] runs one inside ONE transaction (committed when it returns `Ok`,
//! rolled back on `Err`), so a write, its journal entry and its NOTIFY commit together or not
//! at all. The store's functions take `&mut` that connection and never open a transaction or
//! take a second connection themselves.
//!
//! Database time is bounded here, for every transport:
//! - **A share of the pool per user**: a unit first takes one of its user's turns
//!   (DB_CONNECTIONS_PER_USER at once, `db::share`), then its connection; waiting longer than
//!   DB_TIMEOUT for either is a 503. One user's slow requests queue behind each other, not in
//!   front of everyone else's.
//! - **STATEMENT_TIMEOUT on every statement**: on PostgreSQL every unit, reads included, is
//!   one transaction begun with `SET LOCAL statement_timeout` in the same round trip as BEGIN
//!   (`db::transaction`); on SQLite each connection enforces it (`db::sqlite`). A statement over
//!   budget fails, its transaction ends, and the connection goes back to the pool.
//! - **Storage health**: how each write ends is noted (`db::health`), so that `/readyz` says
//!   when writes fail for want of storage.
//!
//! This is where database-level isolation and idempotency plug in later:
//! - **RLS**: the BEGIN of every unit will also carry `SET LOCAL ROLE <app role without
//!   BYPASSRLS>` and `set_config('app.user_id', <viewer>, true)`, so the policies see the viewer
//!   for this transaction only; nothing session-scoped ever reaches a pooled connection.
//! - **Idempotency keys** (`tasks::idempotency`): a keyed write's key is checked and its
//!   outcome stored inside the same `write` closure as the change, so a retried request
//!   finds it or finds nothing.
//! - **Shared lists** need nothing here: what a viewer sees is `tasks::visibility`'s business.
//!
//! It must not know any SQL but the transaction's (`db::transaction`), nor any task rule.

use crate::auth::AuthUser;
use crate::db::{Db, DbConn};
use crate::error::AppResult;

/// Checks connections out for viewers. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub(crate) struct UnitOfWork {
    db: Db,
}

impl UnitOfWork {
    /// Units of work over this database.
    pub(crate) fn new(db: Db) -> Self {
        UnitOfWork { db }
    }

    /// Runs `work` over a connection for `viewer`'s reads: under the statement budget (on
    /// PostgreSQL in a transaction that only carries it), within the viewer's share.
    pub(super) async fn read<R>(
        &self,
        viewer: &AuthUser,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        self.reading(viewer.id(), work).await
    }

    /// The event relay's read of a task too large for its payload, on behalf of `member` of
    /// the event's audience (named by our own NOTIFY, not by a client), in `member`'s share.
    pub(super) async fn read_for_member<R>(
        &self,
        member: &str,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        // Under RLS, `app.user_id` becomes `member` here, as `read` does for a viewer.
        self.reading(member, work).await
    }

    async fn reading<R>(
        &self,
        user: &str,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        let _turn = self.db.turn(user).await?;
        let mut conn = self.db.conn().await?;
        if !conn.begin_read(self.db.statement_timeout()).await? {
            return work(&mut conn).await;
        }
        let outcome = work(&mut conn).await;
        finish(&mut conn, outcome).await
    }

    /// Runs `work` in one transaction for `viewer`: BEGIN (IMMEDIATE on SQLite), `work`, then
    /// COMMIT when it returns `Ok` or ROLLBACK when it returns `Err` (whose error is returned).
    /// A future dropped midway never leaves the transaction open in the pool: see
    /// `db::transaction`.
    pub(super) async fn write<R>(
        &self,
        viewer: &AuthUser,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        let _turn = self.db.turn(viewer.id()).await?;
        let outcome = self.transaction(work).await;
        self.db.note_write(&outcome);
        outcome
    }

    /// A transaction for a maintenance job that sees every user's rows (the search-key
    /// backfill at start-up), which is why it takes no viewer (nor a user's share). Under RLS
    /// it will run as the owner role instead of the application role.
    pub(super) async fn maintenance<R>(
        &self,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        self.transaction(work).await
    }

    async fn transaction<R>(
        &self,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        let mut conn = self.db.conn().await?;
        conn.begin_write(self.db.statement_timeout()).await?;
        let outcome = work(&mut conn).await;
        finish(&mut conn, outcome).await
    }
}

/// COMMIT when `outcome` is `Ok`, else ROLLBACK and the error that made the work fail (a
/// failed rollback leaves the connection marked broken, and the pool drops it).
async fn finish<R>(conn: &mut DbConn, outcome: AppResult<R>) -> AppResult<R> {
    match outcome {
        Ok(value) => {
            conn.commit().await?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = conn.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a unit of work failed");
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use super::*;
    use crate::db::schema::task_sync_cursors as cur;
    use crate::db::{DatabaseTarget, PoolOptions};
    use crate::db_run;

    async fn insert_counter(conn: &mut DbConn, user: &str) -> AppResult<()> {
        db_run!(conn, |c| {
            diesel::insert_into(cur::table)
                .values((
                    cur::user_id.eq(user),
                    cur::last_seq.eq(1_i64),
                    cur::pruned_seq.eq(0_i64),
                ))
                .execute(c)
                .await
        })?;
        Ok(())
    }

    async fn counters(work: &UnitOfWork) -> i64 {
        work.maintenance(async |conn| {
            Ok(db_run!(conn, |c| cur::table
                .count()
                .get_result::<i64>(c)
                .await)?)
        })
        .await
        .unwrap()
    }

    /// Commit on `Ok`, rollback on `Err`, and a future dropped inside the transaction leaves
    /// no open transaction behind: with one pooled connection, the next unit would otherwise
    /// find itself inside the abandoned one (or wait for its lock).
    #[tokio::test(flavor = "multi_thread")]
    async fn one_transaction_per_unit_even_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let target = DatabaseTarget::SqliteFile(dir.path().join("unit.db"));
        let options = PoolOptions {
            max_size: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            connections_per_user: 0,
        };
        let db = Db::connect(&target, &options).await.unwrap();
        db.migrate().await.unwrap();
        let work = UnitOfWork::new(db);

        work.maintenance(async |conn| insert_counter(conn, "kept").await)
            .await
            .unwrap();
        let failed: AppResult<()> = work
            .maintenance(async |conn| {
                insert_counter(conn, "rolled-back").await?;
                Err(crate::error::AppError::NotFound)
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(counters(&work).await, 1);

        let abandoned = work.maintenance(async |conn| {
            insert_counter(conn, "abandoned").await?;
            std::future::pending::<()>().await;
            Ok(())
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(200), abandoned)
                .await
                .is_err()
        );
        assert_eq!(counters(&work).await, 1);
    }
}
