//! Reminders' SQL. A maintenance job's (`UnitOfWork::maintenance`): it sees every user's due
//! reminders, because no user asks for them; each reminder it fires goes to that task's own
//! owner and assignee only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};
use diesel_async::RunQueryDsl;

use crate::db::events::CHANNEL;
use crate::db::pg::PgConn;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::task::model::TaskRow;

/// Fires at most `batch` reminders due at `now` (the earliest first), and returns the rows: a
/// pending task's only (a completed one does not fire). Each gets `reminded_at` (and
/// `updated_at`, and a version: the database's triggers bump it and journal the change).
pub(super) async fn fire_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    batch: i32,
) -> QueryResult<Vec<TaskRow>> {
    conn.per_store(FireDue { now, batch }).await
}

/// One firing of the due reminders ([`fire_due`]).
struct FireDue {
    now: NaiveDateTime,
    batch: i32,
}

impl PerStore for FireDue {
    type Output = QueryResult<Vec<TaskRow>>;

    /// Several instances fire at once: `reminders_fire` (`reminders_fire.sql`) claims the due
    /// rows FOR UPDATE SKIP LOCKED, fires each in a statement of its own (so its change's
    /// payload carries its row) and sends its `reminder` payload, all in one round trip and in
    /// this transaction: sent if and only if it commits.
    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        diesel::sql_query("SELECT * FROM reminders_fire($1, $2, $3)")
            .bind::<Timestamp, _>(self.now)
            .bind::<Integer, _>(self.batch)
            .bind::<Text, _>(CHANNEL)
            .load(conn)
            .await
    }

    /// One instance, one writer: nothing to skip, and its events are read back from the
    /// journal after the statement (`Publisher::journaled`), whatever it changed.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        use crate::db::schema::tasks::dsl::*;
        let FireDue { now, batch } = self;
        let due: Vec<i64> = db_run!(conn, |c| {
            tasks
                .select(id)
                .filter(remind_at.le(now))
                .filter(reminded_at.is_null())
                .filter(completed.eq(false))
                .order_by(remind_at.asc())
                .limit(i64::from(batch))
                .load(c)
                .await
        })?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        // SQLite's version trigger runs after the statement's RETURNING: the version is set
        // here.
        db_run!(conn, |c| {
            diesel::update(tasks.filter(id.eq_any(&due)))
                .set((
                    reminded_at.eq(now),
                    updated_at.eq(now),
                    version.eq(version + 1),
                ))
                .returning(TaskRow::as_returning())
                .get_results(c)
                .await
        })
    }
}
