//! The unit of work: the one place in the tasks domain that checks a connection out of the
//! pool for a viewer (DESIGN rule 6). [`UnitOfWork::read`] hands out a connection for the
//! viewer's reads; [`UnitOfWork::write`] runs a closure inside ONE transaction (committed
//! when it returns `Ok`, rolled back on `Err`), so a write, its journal entry and its NOTIFY
//! commit together or not at all. The store's functions take `&mut` that connection and never
//! open a transaction or take a second connection themselves.
//!
//! This is where database-level isolation and idempotency plug in later:
//! - **RLS**: [`UnitOfWork::write`] (and then `read`, as a read-only transaction) will run
//!   `SET LOCAL ROLE <app role without BYPASSRLS>` and
//!   `SELECT set_config('app.user_id', <viewer>, true)` right after BEGIN, so the policies see
//!   the viewer for this transaction only; nothing session-scoped ever reaches a pooled
//!   connection (PgBouncer, Neon's pooler). Reads stay outside a transaction for now: adding
//!   BEGIN/COMMIT to every read is two round trips this issue does not take.
//! - **Versions and idempotency keys**: the idempotency record is written inside the same
//!   `write` closure as the change, so a retried request finds it or finds nothing.
//! - **Shared lists** need nothing here: what a viewer sees is `tasks::visibility`'s business.
//!
//! It must not know any SQL but BEGIN/COMMIT/ROLLBACK (`db::transaction`), nor any task rule.

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

    /// A connection for `viewer`'s reads, returned to the pool when dropped. Reads run without
    /// a transaction (each statement sees its own snapshot), as they always have.
    pub(super) async fn read(&self, viewer: &AuthUser) -> AppResult<DbConn> {
        // The viewer scopes the connection once RLS sets `app.user_id` here (see the module).
        let _ = viewer;
        self.db.conn().await
    }

    /// A connection for the event relay's read of a task too large for its payload, on behalf
    /// of `member` of the event's audience (named by our own NOTIFY, not by a client).
    pub(super) async fn read_for_member(&self, member: &str) -> AppResult<DbConn> {
        // Under RLS, `app.user_id` becomes `member` here, as `read` does for a viewer.
        let _ = member;
        self.db.conn().await
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
        // Here RLS will set the role and `app.user_id` for `viewer` (see the module).
        let _ = viewer;
        self.transaction(work).await
    }

    /// A transaction for a maintenance job that sees every user's rows (the search-key
    /// backfill at start-up), which is why it takes no viewer. Under RLS it will run as the
    /// owner role instead of the application role.
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
        conn.begin_write().await?;
        match work(&mut conn).await {
            Ok(value) => {
                conn.commit().await?;
                Ok(value)
            }
            Err(e) => {
                // The error that made the work fail is the one to report; a failed rollback
                // leaves the connection marked broken, and the pool drops it.
                if let Err(rollback) = conn.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back a unit of work failed");
                }
                Err(e)
            }
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
