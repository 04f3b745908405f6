//! Reminders' SQL. A maintenance job's (`UnitOfWork::maintenance`): it sees every user's due
//! reminders, because no user asks for them; each reminder it fires goes to that task's own
//! owner and assignee only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::db::events::CHANNEL;
use crate::db_run;
use crate::tasks::task::model::TaskRow;

/// Fires at most `batch` reminders due at `now` (the earliest first): sets their
/// `reminded_at` (and `updated_at`, and the version: SQLite's trigger would bump it only
/// after the statement's RETURNING; PostgreSQL's sets one more whatever is written; the
/// database's triggers journal the change), and returns the rows. A pending task's only: a completed one does not fire.
pub(super) async fn fire_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    batch: i64,
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    let due = tasks
        .select(id)
        .filter(remind_at.le(now))
        .filter(reminded_at.is_null())
        .filter(completed.eq(false))
        .order_by(remind_at.asc())
        .limit(batch);
    let ids: Vec<i64> = match conn {
        // Several instances fire at once: a due row another one holds is its to fire, and
        // once it commits `reminded_at` is set, so each reminder fires once.
        DbConn::Postgres(c) => due.for_update().skip_locked().load(&mut **c).await?,
        // One instance, one writer: nothing to skip.
        DbConn::Sqlite(c) => due.load(&mut **c).await?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let claimed = tasks.filter(id.eq_any(&ids)).filter(reminded_at.is_null());
    db_run!(conn, |c| {
        diesel::update(claimed)
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

/// One `reminder` payload per task of `ids` (`events::wire`), to every instance's relay,
/// in the firing transaction: sent if and only if it commits (PostgreSQL; SQLite's one
/// instance delivers them after the commit). Not an API write: a batch of reminders takes
/// NOTIFY's database-wide lock once. The row is left out (null) past 6,000 bytes, so a
/// payload stays under NOTIFY's 8,000.
pub(super) async fn announce(conn: &mut DbConn, ids: &[i64]) -> QueryResult<()> {
    let DbConn::Postgres(c) = conn else {
        return Ok(());
    };
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "SELECT pg_notify($1, json_build_object(
                'k', 'reminder', 'u', t.user_id, 'i', t.id,
                'to', array_remove(ARRAY[t.user_id, NULLIF(t.assignee_id, t.user_id)], NULL),
                'w', CASE WHEN octet_length(to_jsonb(t)::text) <= 6000 THEN to_jsonb(t) END)::text)
           FROM tasks t WHERE t.id = ANY($2)",
    )
    .bind::<Text, _>(CHANNEL)
    .bind::<Array<BigInt>, _>(ids)
    .execute(&mut **c)
    .await
    .map(drop)
}
