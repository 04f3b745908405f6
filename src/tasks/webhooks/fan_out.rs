//! The journal's events turned into deliveries: the trigger on `task_changes` (migrations
//! 000077, 000078) queues one `webhook_events` row per change a user's webhooks take, in the
//! writing transaction and nothing more, naming its recipients (the user's enabled webhooks
//! taking its type at the change); the worker makes the deliveries, one per recipient still
//! enabled, off the write path and in batches.
//!
//! One statement on PostgreSQL (the oldest events, `FOR UPDATE SKIP LOCKED` so that
//! instances take disjoint batches, deleted and turned into deliveries together), one
//! transaction on SQLite (one writer): each event is fanned out once.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::db::schema::webhook_events::dsl as e;

/// Events a fan-out takes at once.
pub(super) const FAN_OUT_BATCH: i64 = 1000;

/// PostgreSQL's fan-out: `$1` events at most; how many events and how many deliveries.
const PG_FAN_OUT: &str = "
WITH batch AS (
    DELETE FROM webhook_events WHERE id IN (
        SELECT id FROM webhook_events ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING user_id, event_type, task_id, webhook_ids, task_row, created_at),
made AS (
    INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                    next_attempt_at, created_at)
    SELECT w.id, w.user_id, b.event_type, b.task_id, b.task_row, b.created_at, b.created_at
    FROM batch b
    JOIN webhooks w ON w.user_id = b.user_id AND NOT w.disabled
     AND w.id = ANY (string_to_array(b.webhook_ids, ',')::bigint[])
    RETURNING 1)
SELECT (SELECT count(*) FROM batch) AS events, (SELECT count(*) FROM made) AS deliveries";

/// SQLite's, in the caller's transaction: the events up to `$1`, then their deletion.
const SQLITE_FAN_OUT: &str = "
INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                next_attempt_at, created_at)
SELECT w.id, w.user_id, b.event_type, b.task_id, b.task_row, b.created_at, b.created_at
FROM webhook_events b
JOIN webhooks w ON w.user_id = b.user_id AND NOT w.disabled
 AND instr(',' || b.webhook_ids || ',', ',' || w.id || ',') > 0
WHERE b.id <= $1";

#[derive(QueryableByName)]
struct FannedOut {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    events: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    deliveries: i64,
}

/// Turns at most `batch` of the oldest events into deliveries (see the module's note); how
/// many events were taken.
pub(super) async fn run(conn: &mut DbConn, batch: i64) -> QueryResult<i64> {
    use diesel::sql_types::BigInt;
    match conn {
        DbConn::Postgres(pooled) => {
            let done: FannedOut = diesel::sql_query(PG_FAN_OUT)
                .bind::<BigInt, _>(batch)
                .get_result(&mut **pooled)
                .await?;
            tracing::trace!(
                events = done.events,
                deliveries = done.deliveries,
                "fanned out"
            );
            Ok(done.events)
        }
        DbConn::Sqlite(pooled) => {
            let ids: Vec<i64> = e::webhook_events
                .select(e::id)
                .order_by(e::id.asc())
                .limit(batch)
                .load(&mut **pooled)
                .await?;
            let Some(last) = ids.last().copied() else {
                return Ok(0);
            };
            diesel::sql_query(SQLITE_FAN_OUT)
                .bind::<BigInt, _>(last)
                .execute(&mut **pooled)
                .await?;
            diesel::delete(e::webhook_events.filter(e::id.le(last)))
                .execute(&mut **pooled)
                .await?;
            Ok(ids.len() as i64)
        }
    }
}
