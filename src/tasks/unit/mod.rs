//! The unit of work: the one place in the tasks domain that checks a connection out of the
//! pool for a viewer (docs/ARCHITECTURE.md, rule 6), and the one place that prepares its transaction.
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
//! - **Versions** (`tasks::service::conditional`): the precondition is checked inside that same
//!   closure, after the key, so a replay never answers 412.
//! - **Shared lists** need nothing here: what a viewer sees is `tasks::visibility`'s business
//!   (and the `viewer_*` policies', which must grow with it).
//!
//! It must not know any SQL but the transaction's (`db::transaction`), nor any task rule.

pub(in crate::tasks) mod locks;

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
            Err(AppError::Unavailable(why)) if conn.is_networked() => {
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
mod tests;
