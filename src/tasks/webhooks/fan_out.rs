//! The journal's events turned into deliveries: the trigger on `task_changes` (migrations
//! 000077, 000078) queues one `webhook_events` row per change a user's webhooks take, in the
//! writing transaction and nothing more, naming its recipients (the user's enabled webhooks
//! taking its type at the change); the worker makes the deliveries, one per recipient still
//! enabled, off the write path and in batches.
//!
//! Users take turns (issue 58): a batch is at most USER_TURN of each user's oldest events, so
//! another user's event waits for one batch, not for a bulk change's thousands. One statement
//! on PostgreSQL (the batch `FOR UPDATE SKIP LOCKED` so that instances take disjoint batches,
//! deleted and turned into deliveries together, their webhooks put in the claims' line:
//! `claim`), one transaction on SQLite (one writer): each event is fanned out once.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use crate::db::pg::PgConn;
use crate::db::schema::webhook_events::dsl as e;
use crate::db::{DbConn, PerStore};
use crate::db_run;

/// Events a fan-out takes at once.
pub(super) const FAN_OUT_BATCH: i64 = 1000;
/// The most of one user's events a fan-out takes: a bulk change of one user's (30,000 events)
/// is fanned out this many a batch, beside every other user's events, not ahead of them.
pub(super) const USER_TURN: i64 = 100;

/// PostgreSQL's fan-out: `$1` events at most, at most `$2` of each user's oldest (the users
/// found by a skip scan of `webhook_events_user`: one probe a user with events waiting); how
/// many events and how many deliveries.
const PG_FAN_OUT: &str = "
WITH RECURSIVE users AS (
    (SELECT user_id FROM webhook_events ORDER BY user_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.user_id FROM webhook_events e WHERE e.user_id > u.user_id
            ORDER BY e.user_id LIMIT 1)
    FROM users u WHERE u.user_id IS NOT NULL),
turns AS (
    SELECT oldest.id FROM users u
    CROSS JOIN LATERAL (SELECT e.id FROM webhook_events e WHERE e.user_id = u.user_id
                        ORDER BY e.id LIMIT $2) oldest
    WHERE u.user_id IS NOT NULL
    ORDER BY oldest.id LIMIT $1),
batch AS (
    DELETE FROM webhook_events WHERE id IN (
        SELECT id FROM webhook_events WHERE id IN (SELECT id FROM turns)
        FOR UPDATE SKIP LOCKED)
    RETURNING user_id, event_type, task_id, webhook_ids, task_row, created_at),
made AS (
    INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                    next_attempt_at, created_at)
    SELECT w.id, w.user_id, b.event_type, b.task_id, b.task_row, b.created_at, b.created_at
    FROM batch b
    JOIN webhooks w ON w.user_id = b.user_id AND NOT w.disabled
     AND w.id = ANY (string_to_array(b.webhook_ids, ',')::bigint[])
    RETURNING webhook_id, next_attempt_at),
queued AS (
    UPDATE webhooks w
    SET due_at = CASE WHEN w.due_at IS NULL OR w.due_at > m.first THEN m.first ELSE w.due_at END
    FROM (SELECT webhook_id, min(next_attempt_at) AS first FROM made GROUP BY webhook_id) m
    WHERE w.id = m.webhook_id)
SELECT (SELECT count(*) FROM batch) AS events, (SELECT count(*) FROM made) AS deliveries";

/// SQLite's, in the caller's transaction: the batch's events (`{ids}`, from `SQLITE_TURNS`),
/// their webhooks put in the claims' line (`SQLITE_QUEUED`), then their deletion.
const SQLITE_FAN_OUT: &str = "
INSERT INTO webhook_deliveries (webhook_id, user_id, event_type, task_id, task_row,
                                next_attempt_at, created_at)
SELECT w.id, w.user_id, b.event_type, b.task_id, b.task_row, b.created_at, b.created_at
FROM webhook_events b
JOIN webhooks w ON w.user_id = b.user_id AND NOT w.disabled
 AND instr(',' || b.webhook_ids || ',', ',' || w.id || ',') > 0
WHERE b.id IN ({ids})";

/// SQLite's batch: at most `$1` events, at most `$2` of each user's oldest (in process, a
/// window over the waiting events costs little).
const SQLITE_TURNS: &str = "
SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS turn
                FROM webhook_events)
WHERE turn <= $2 ORDER BY id LIMIT $1";

/// SQLite's: the webhooks of the batch's events (`{ids}`) in the claims' line from their oldest
/// (unless they wait from earlier already), as PostgreSQL's `queued`. Every row is written, so
/// that the write waits for an attempt's record holding it (`claim::queued` says why).
const SQLITE_QUEUED: &str = "
UPDATE webhooks
SET due_at = CASE WHEN due_at IS NULL OR due_at > m.first THEN m.first ELSE due_at END
FROM (SELECT w.id AS hook, min(b.created_at) AS first
      FROM webhook_events b
      JOIN webhooks w ON w.user_id = b.user_id AND NOT w.disabled
       AND instr(',' || b.webhook_ids || ',', ',' || w.id || ',') > 0
      WHERE b.id IN ({ids}) GROUP BY w.id) m
WHERE webhooks.id = m.hook";

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
    conn.per_store(FanOut { batch }).await
}

/// One fan-out of at most `batch` events.
struct FanOut {
    batch: i64,
}

impl PerStore for FanOut {
    type Output = QueryResult<i64>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let done: FannedOut = diesel::sql_query(PG_FAN_OUT)
            .bind::<BigInt, _>(self.batch)
            .bind::<BigInt, _>(USER_TURN)
            .get_result(conn)
            .await?;
        tracing::trace!(
            events = done.events,
            deliveries = done.deliveries,
            "fanned out"
        );
        Ok(done.events)
    }

    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        #[derive(QueryableByName)]
        struct Turn {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let turns_sql = conn.portable_sql(SQLITE_TURNS);
        let turns: Vec<Turn> = db_run!(conn, |c| {
            diesel::sql_query(&*turns_sql)
                .bind::<BigInt, _>(self.batch)
                .bind::<BigInt, _>(USER_TURN)
                .load(c)
                .await
        })?;
        if turns.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = turns.into_iter().map(|t| t.id).collect();
        let list = ids
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        for statement in [SQLITE_FAN_OUT, SQLITE_QUEUED] {
            let statement = statement.replace("{ids}", &list);
            db_run!(conn, |c| diesel::sql_query(&statement).execute(c).await)?;
        }
        db_run!(conn, |c| {
            diesel::delete(e::webhook_events.filter(e::id.eq_any(&ids)))
                .execute(c)
                .await
        })?;
        Ok(ids.len() as i64)
    }
}
