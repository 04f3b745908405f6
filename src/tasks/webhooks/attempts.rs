//! Recording attempts, a batch at a time: the worker sends up to IN_FLIGHT deliveries at once
//! and records those that finished together, in one transaction (one commit, one WAL flush,
//! for up to IN_FLIGHT attempts; one per attempt drained a queue at ~900 a second, each
//! waiting on its own flush). Every row is recorded only under the claim's token: a delivery
//! whose lease ran out (and was perhaps claimed again elsewhere) is not touched.
//!
//! A success is the common case and costs the least: one `UPDATE` for all of the batch's
//! successes, one multi-row `INSERT` for the log, one `UPDATE` clearing their webhooks'
//! failing streaks. A failure stores the message's id and body (the next attempt sends the
//! same bytes) and its next attempt, and may disable its webhook.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;

use super::claim;
use super::model::Attempt;
use crate::db::pg::PgConn;
use crate::db::schema::webhook_attempts::dsl as a;
use crate::db::schema::webhook_deliveries::dsl as d;
use crate::db::schema::webhooks::dsl as w;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::service::now_micros;

/// One attempt's outcome, to record.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub user_id: String,
    /// The attempt as the log keeps it.
    pub logged: Attempt,
    /// The body sent, kept for the next attempt of a failure.
    pub body: String,
}

impl Outcome {
    pub(super) fn succeeded(&self) -> bool {
        self.logged.error.is_none()
    }
}

/// A row of the attempts log: the attempt, with its delivery, webhook and user.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::webhook_attempts)]
struct LogRow<'a> {
    delivery_id: i64,
    webhook_id: i64,
    user_id: &'a str,
    #[diesel(embed)]
    logged: Attempt,
}

impl<'a> From<&'a Outcome> for LogRow<'a> {
    fn from(o: &'a Outcome) -> Self {
        LogRow {
            delivery_id: o.delivery_id,
            webhook_id: o.webhook_id,
            user_id: &o.user_id,
            logged: o.logged.clone(),
        }
    }
}

/// Records `outcomes` (all claimed under `token`) in the caller's transaction: each
/// delivery's state, the attempts log, the webhooks' failing streaks; a webhook whose streak
/// began at or before `disable_before` is disabled with `reason(outcome)`. How many were
/// recorded (the others' leases had run out).
pub(super) async fn record(
    conn: &mut DbConn,
    token: i64,
    outcomes: &[Outcome],
    disable_before: NaiveDateTime,
    reason: impl Fn(&Outcome) -> String,
) -> QueryResult<usize> {
    let succeeded: Vec<i64> = outcomes
        .iter()
        .filter(|o| o.succeeded())
        .map(|o| o.delivery_id)
        .collect();
    let mut recorded: Vec<i64> = Vec::with_capacity(outcomes.len());
    if !succeeded.is_empty() {
        let done: Vec<i64> = db_run!(conn, |c| {
            diesel::update(
                d::webhook_deliveries
                    .filter(d::id.eq_any(&succeeded))
                    .filter(d::lease_token.eq(token)),
            )
            .set((
                d::state.eq("succeeded"),
                d::attempts.eq(d::attempts + 1),
                d::lease_token.eq(None::<i64>),
                d::lease_until.eq(None::<NaiveDateTime>),
            ))
            .returning(d::id)
            .get_results(c)
            .await
        })?;
        recorded.extend(done);
    }
    for failed in outcomes.iter().filter(|o| !o.succeeded()) {
        let logged = &failed.logged;
        let (state, next) = match logged.next_attempt_at {
            Some(next) => ("pending", next),
            None => ("failed", logged.attempted_at),
        };
        let changed = db_run!(conn, |c| {
            diesel::update(
                d::webhook_deliveries
                    .filter(d::id.eq(failed.delivery_id))
                    .filter(d::lease_token.eq(token)),
            )
            // A message dropped while its attempt was in flight (its webhook disabled) stays
            // dropped: the attempt is logged, nothing is retried.
            .set((
                d::state.eq(diesel::dsl::case_when(
                    d::state.eq("dropped"),
                    "dropped".into_sql::<Text>(),
                )
                .otherwise(state.into_sql::<Text>())),
                d::attempts.eq(logged.attempt),
                d::next_attempt_at.eq(next),
                d::message_id.eq(&logged.message_id),
                d::body.eq(&failed.body),
                d::lease_token.eq(None::<i64>),
                d::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(c)
            .await
        })?;
        if changed > 0 {
            recorded.push(failed.delivery_id);
        }
    }
    let mine: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| recorded.contains(&o.delivery_id))
        .collect();
    if mine.is_empty() {
        return Ok(0);
    }
    let rows: Vec<LogRow> = mine.iter().map(|o| LogRow::from(*o)).collect();
    conn.per_store(Attempts(&rows)).await?;
    // Their webhooks are free again (the lease the claim took); a success also ends its
    // webhook's failing streak.
    let healthy: Vec<i64> = mine
        .iter()
        .filter(|o| o.succeeded())
        .map(|o| o.webhook_id)
        .collect();
    if !healthy.is_empty() {
        db_run!(conn, |c| {
            diesel::update(w::webhooks.filter(w::id.eq_any(&healthy)))
                .set((
                    w::failing_since.eq(None::<NaiveDateTime>),
                    w::lease_until.eq(None::<NaiveDateTime>),
                ))
                .execute(c)
                .await
        })?;
    }
    for failed in mine.iter().filter(|o| !o.succeeded()) {
        // Disabled by this attempt, it is sent nothing more: its queued messages are dropped
        // first, before its row is touched (messages, then the webhook: the order a user's
        // disabling PATCH and a delete take). Its streak starts here if it had none.
        let first_counts = failed.logged.attempted_at <= disable_before;
        let disabling = w::webhooks
            .filter(w::id.eq(failed.webhook_id))
            .filter(w::disabled.eq(false))
            .filter(
                w::failing_since.le(disable_before).or(w::failing_since
                    .is_null()
                    .and(first_counts.into_sql::<Bool>())),
            )
            .select(w::id);
        db_run!(conn, |c| {
            diesel::update(
                d::webhook_deliveries
                    .filter(d::state.eq("pending"))
                    .filter(d::webhook_id.eq_any(disabling)),
            )
            .set(d::state.eq("dropped"))
            .execute(c)
            .await
        })?;
        let hook = w::webhooks.filter(w::id.eq(failed.webhook_id));
        db_run!(conn, |c| {
            diesel::update(hook)
                .set(w::lease_until.eq(None::<NaiveDateTime>))
                .execute(c)
                .await
        })?;
        db_run!(conn, |c| {
            diesel::update(hook.filter(w::failing_since.is_null()))
                .set(w::failing_since.eq(failed.logged.attempted_at))
                .execute(c)
                .await
        })?;
        let why = reason(failed);
        db_run!(conn, |c| {
            diesel::update(
                hook.filter(w::disabled.eq(false))
                    .filter(w::failing_since.le(disable_before)),
            )
            .set((
                w::disabled.eq(true),
                w::disabled_reason.eq(&why),
                w::updated_at.eq(failed.logged.attempted_at),
            ))
            .execute(c)
            .await
        })?;
    }
    // Back in the claims' line, behind the webhooks that waited (`claim`).
    let hooks: Vec<i64> = mine.iter().map(|o| o.webhook_id).collect();
    claim::requeue(conn, &hooks, now_micros()).await?;
    Ok(mine.len())
}

/// `5d`, `2h`, `30s`: a duration as the settings write it.
pub(super) fn humanize(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The attempts' rows, inserted.
struct Attempts<'r, 'a>(&'r [LogRow<'a>]);

impl PerStore for Attempts<'_, '_> {
    type Output = QueryResult<()>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        diesel::insert_into(a::webhook_attempts)
            .values(self.0)
            .execute(conn)
            .await
            .map(drop)
    }

    /// diesel batches no insert on SQLite; in process, a statement a row costs little.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        for row in self.0 {
            db_run!(conn, |c| {
                diesel::insert_into(a::webhook_attempts)
                    .values(row)
                    .execute(c)
                    .await
            })?;
        }
        Ok(())
    }
}
