//! The unit of work: the one place in the tasks domain that checks a connection out of the
//! pool for a viewer (DESIGN rule 6), and the one place that prepares its transaction.
//! [`UnitOfWork::read`] runs a closure over a connection for the viewer's reads;
//! [`UnitOfWork::write`] runs one inside ONE transaction (committed when it returns `Ok`,
//! rolled back on `Err`), so a write and its journal entry commit together or not at all
//! (its events are published from the journal after the commit: `tasks::events::publish`). The store's functions take `&mut` that connection and never open a transaction or
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
//! Isolation is enforced here a second time, by the database:
//! - **The second wall (PostgreSQL row security)**: every unit for a user, reads included, is
//!   one transaction whose BEGIN also carries `SET LOCAL ROLE todo_api_app` (a role without
//!   SUPERUSER or BYPASSRLS that owns nothing) and `set_config('app.user_id', <user>, true)`,
//!   in the same round trip (`db::transaction`). The policies then admit only that user's
//!   rows, whatever a query forgets; nothing session-scoped ever reaches a pooled connection.
//!   Only [`UnitOfWork::maintenance`] runs as the owner. DATABASE_ROW_SECURITY=false turns
//!   the role switch off (the query filter is then the only wall, as on SQLite).
//!
//! Writes carry two guards inside their one transaction:
//! - **Idempotency keys** (`tasks::idempotency`): a keyed write's key is checked and its
//!   outcome stored inside the same `write` closure as the change, so a retried request
//!   finds it or finds nothing.
//! - **Versions** (`tasks::conditional`): the precondition is checked inside that same
//!   closure, after the key, so a replay never answers 412.
//! - **Shared lists** need nothing here: what a viewer sees is `tasks::visibility`'s business
//!   (and the `viewer_*` policies', which must grow with it).
//!
//! It must not know any SQL but the transaction's (`db::transaction`), nor any task rule.

use crate::auth::AuthUser;
use crate::db::{Acting, Db, DbConn};
use crate::error::{AppError, AppResult};

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

    /// Runs `work` over a connection for `viewer`'s reads: under the statement budget, within
    /// the viewer's share (on PostgreSQL each statement in a READ ONLY transaction of its own
    /// acting for the viewer, whose BEGIN and COMMIT travel with it: one round trip per
    /// statement, see `db::transaction`). A read whose PostgreSQL connection turns out dead runs once more on a fresh
    /// one: the pool does not ping a connection before handing it out (that ping was a round
    /// trip of its own on every request), so a connection broken while idle is found by its
    /// first use. Reads change nothing, so running one again is safe; writes are not retried.
    pub(super) async fn read<R>(
        &self,
        viewer: &AuthUser,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        self.reading(viewer.id(), work).await
    }

    /// The event relay's read of a task too large for its payload, on behalf of `member` of
    /// the event's audience (named by our own NOTIFY, not by a client), in `member`'s share.
    pub(super) async fn read_for_member<R>(
        &self,
        member: &str,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        // Under RLS, `app.user_id` is `member` here, as it is the viewer in `read`.
        self.reading(member, work).await
    }

    async fn reading<R>(
        &self,
        user: &str,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        let _turn = self.db.turn(user).await?;
        let acting = self.db.acting_for(user);
        // A ride on a connection other reads share, where they do (`db::shared_reads`).
        let mut conn = self.db.read_conn().await?;
        match self.read_on(&mut conn, acting, work.clone()).await {
            Err(AppError::Unavailable(why)) if matches!(conn, DbConn::Postgres(_)) => {
                tracing::debug!(error = %why, "a read's connection failed; reading again on a fresh one");
                // The failed one goes back first: the pool closes it when it is broken.
                drop(conn);
                let mut fresh = self.db.conn().await?;
                self.read_on(&mut fresh, acting, work).await
            }
            outcome => outcome,
        }
    }

    /// One attempt of [`UnitOfWork::read`] on `conn`.
    async fn read_on<R>(
        &self,
        conn: &mut DbConn,
        acting: Acting<'_>,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        conn.begin_reads(self.db.statement_timeout(), acting)?;
        let outcome = work(conn).await;
        conn.end_reads();
        outcome
    }

    /// Runs `work` in one transaction for `viewer`: BEGIN (IMMEDIATE on SQLite), `work`, then
    /// COMMIT when it returns `Ok` or ROLLBACK when it returns `Err` (whose error is returned).
    /// A future dropped midway never leaves the transaction open in the pool: see
    /// `db::transaction`. `work` may run twice: see [`UnitOfWork::transaction`]. With
    /// [`Deferral::Deferred`] the journal keeps its notifications instead of sending them in
    /// the transaction (PostgreSQL: `DbConn::defer_events`), and they come back with the
    /// result, read in the COMMIT's own round trip, for the caller to publish after the commit
    /// (issue 41); `None` otherwise and on SQLite.
    pub(super) async fn write<R>(
        &self,
        viewer: &AuthUser,
        deferral: Deferral,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<(R, Option<String>)> {
        let _turn = self.db.turn(viewer.id()).await?;
        let outcome = self
            .transaction(self.db.acting_for(viewer.id()), deferral, work)
            .await;
        self.db.note_write(&outcome);
        outcome
    }

    /// A transaction for a maintenance job that must see every user's rows (the scheduled
    /// tombstone and idempotency-key prunes, the event relay's sweep of change counters),
    /// which is why it takes no viewer
    /// (nor a user's share) and runs as the connecting role, the tables' owner, whom the
    /// `owner_maintenance` policies admit to every row. No request reaches it: each caller
    /// says why it needs it.
    pub(super) async fn maintenance<R>(
        &self,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        self.transaction(Acting::Owner, Deferral::Notify, work)
            .await
            .map(|(result, _)| result)
    }

    /// One transaction running `work`. When one of its statements proved `DATABASE_URL` a
    /// transaction pooler nobody declared (`db::pg::undeclared`), it runs once more: that
    /// failure aborted the transaction (a named statement fails as it is prepared or bound,
    /// before it executes), so it is rolled back with nothing committed, and the pool names
    /// no statement since, so the second run cannot meet it again.
    async fn transaction<R>(
        &self,
        acting: Acting<'_>,
        deferral: Deferral,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<(R, Option<String>)> {
        let mut again = true;
        loop {
            let mut conn = self.db.conn().await?;
            conn.begin_write(self.db.statement_timeout(), acting)
                .await?;
            if let Deferral::Deferred = deferral {
                conn.defer_events()?;
            }
            let outcome = work.clone()(&mut conn).await;
            // Asked whatever `work` answered: it may have swallowed the error, and a COMMIT
            // of an aborted transaction rolls back without saying so.
            if conn.stumbled() {
                if let Err(rollback) = conn.rollback().await {
                    tracing::debug!(error = %rollback, "rolling back a unit a pooler aborted");
                }
                if std::mem::take(&mut again) {
                    tracing::debug!("a unit met an undeclared pooler; running it again");
                    continue;
                }
                return Err(outcome.err().unwrap_or_else(|| {
                    AppError::Unavailable("a transaction pooler aborted the transaction".into())
                }));
            }
            return finish(&mut conn, deferral, outcome).await;
        }
    }
}

/// Whether a write's journal notifies in its transaction or keeps its notifications for
/// after the commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::tasks) enum Deferral {
    /// NOTIFY in the transaction (what every other writer's does).
    Notify,
    /// Kept, and published by the server after the commit.
    Deferred,
}

/// COMMIT when `outcome` is `Ok` (with what the journal deferred, when it did), else ROLLBACK
/// and the error that made the work fail (a failed rollback leaves the connection marked
/// broken, and the pool drops it).
async fn finish<R>(
    conn: &mut DbConn,
    deferral: Deferral,
    outcome: AppResult<R>,
) -> AppResult<(R, Option<String>)> {
    match outcome {
        Ok(value) => match deferral {
            Deferral::Notify => {
                conn.commit().await?;
                Ok((value, None))
            }
            Deferral::Deferred => Ok((value, conn.commit_deferred().await?)),
        },
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
    use crate::db::scratch::ScratchPg;
    use crate::db::{DatabaseTarget, PoolOptions};
    use crate::db_run;

    /// A pool of `max_size` connections, `read_connections` of them shared by reads.
    fn options(max_size: u32, read_connections: usize) -> PoolOptions {
        PoolOptions {
            max_size,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            connections_per_user: 0,
            row_security: true,
            read_connections,
        }
    }

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
        let options = options(1, 2);
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

    /// What a unit of work sees of itself on PostgreSQL.
    #[derive(diesel::QueryableByName)]
    struct Acting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        privileged: bool,
        #[diesel(sql_type = diesel::sql_types::Text)]
        user_id: String,
        /// `task_sync_cursors` rows visible to a query WITHOUT the owner filter.
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        unfiltered: i64,
    }

    async fn observe(conn: &mut DbConn) -> AppResult<Acting> {
        let DbConn::Postgres(pg) = conn else {
            unreachable!("PostgreSQL only")
        };
        // Deliberately no `WHERE user_id = …`: only the policies stand between this query
        // and every user's rows.
        Ok(diesel::sql_query(
            "SELECT current_user::text AS role, \
                    (r.rolsuper OR r.rolbypassrls \
                     OR pg_has_role(current_user, c.relowner, 'USAGE')) AS privileged, \
                    coalesce(current_setting('app.user_id', true), '') AS user_id, \
                    (SELECT count(*) FROM task_sync_cursors) AS unfiltered \
             FROM pg_roles r, pg_class c \
             WHERE r.rolname = current_user AND c.oid = 'task_sync_cursors'::regclass",
        )
        .get_result::<Acting>(&mut **pg)
        .await?)
    }

    /// The second wall through the server's own path: a read unit and a write unit for alice
    /// run as an unprivileged role (not superuser, not BYPASSRLS, not owning the tables) with
    /// `app.user_id` = alice, and a query without the owner filter sees alice's row only,
    /// while bob's rows exist. Maintenance runs as the owner and sees both.
    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_units_see_only_their_user_without_the_filter() {
        let Some(scratch) = ScratchPg::create().await else {
            return;
        };
        let options = options(2, 2);
        let target = DatabaseTarget::Postgres(scratch.url.clone());
        let db = Db::connect(&target, &options).await.unwrap();
        db.migrate().await.unwrap();
        let work = UnitOfWork::new(db.clone());
        work.maintenance(async |conn| {
            insert_counter(conn, "alice").await?;
            insert_counter(conn, "bob").await
        })
        .await
        .unwrap();

        let read = work.read_for_member("alice", observe).await.unwrap();
        // A read's second statement is a transaction of its own, acting as alice too.
        let (first, second) = work
            .read_for_member("alice", async |conn| {
                Ok((observe(conn).await?, observe(conn).await?))
            })
            .await
            .unwrap();
        let (written, _) = work
            .transaction(db.acting_for("alice"), Deferral::Notify, observe)
            .await
            .unwrap();
        for seen in [read, first, second, written] {
            assert_eq!(seen.role, crate::db::APP_ROLE);
            assert!(
                !seen.privileged,
                "the request role must not bypass the policies"
            );
            assert_eq!(seen.user_id, "alice");
            assert_eq!(seen.unfiltered, 1, "only alice's row, without any filter");
        }
        let owner = work.maintenance(observe).await.unwrap();
        assert_eq!(owner.unfiltered, 2, "maintenance sees every user's rows");
        assert_eq!(owner.user_id, "");
    }

    /// What an undeclared transaction pooler does to a kept statement (`prepared statement
    /// "sN" does not exist`), made here on a direct connection by `DEALLOCATE ALL` (through
    /// PgBouncer itself: `undeclared_pooler` in tests/it). A write unit that meets it runs
    /// again, unnamed, and commits once: its first run, aborted, committed nothing, not even
    /// the row written before the failing statement, and its work swallowing the error does
    /// not make the aborted transaction pass for committed. A read runs its statement again.
    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_a_unit_that_meets_a_pooler_runs_again_and_commits_once() {
        let Some(scratch) = ScratchPg::create().await else {
            return;
        };
        let options = options(1, 0);
        let target = DatabaseTarget::Postgres(scratch.url.clone());
        let forget = async |db: &Db| {
            let mut conn = db.conn().await.unwrap();
            let DbConn::Postgres(pg) = &mut conn else {
                unreachable!("PostgreSQL only")
            };
            diesel_async::SimpleAsyncConnection::batch_execute(&mut **pg, "DEALLOCATE ALL")
                .await
                .unwrap();
        };

        let db = Db::connect(&target, &options).await.unwrap();
        db.migrate().await.unwrap();
        let work = UnitOfWork::new(db.clone());
        // The insert and the count are kept (named) on the pool's one connection.
        work.maintenance(async |conn| insert_counter(conn, "kept").await)
            .await
            .unwrap();
        assert_eq!(counters(&work).await, 1);
        forget(&db).await;
        let runs = std::sync::atomic::AtomicUsize::new(0);
        work.maintenance(async |conn| {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            db_run!(&mut *conn, |c| diesel::sql_query(
                "INSERT INTO task_sync_cursors (user_id, last_seq, pruned_seq) \
                 VALUES ('before', 1, 0)"
            )
            .execute(c)
            .await)?;
            let _swallowed = insert_counter(conn, "kept statement").await;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(runs.into_inner(), 2, "it ran again");
        assert_eq!(counters(&work).await, 3, "each row once");
        assert_eq!(db.pooler_check(), "undeclared");

        // A fresh pool (nothing found yet): the read's kept count meets it and runs again.
        let db = Db::connect(&target, &options).await.unwrap();
        let work = UnitOfWork::new(db.clone());
        let visible = async || {
            work.read_for_member("kept", async |conn| {
                Ok(db_run!(conn, |c| cur::table
                    .count()
                    .get_result::<i64>(c)
                    .await)?)
            })
            .await
        };
        assert_eq!(visible().await.unwrap(), 1);
        forget(&db).await;
        assert_eq!(db.pooler_check(), "ok");
        assert_eq!(visible().await.unwrap(), 1);
        assert_eq!(db.pooler_check(), "undeclared");
    }
}
