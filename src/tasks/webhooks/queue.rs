//! The delivery queue's SQL, across users (run in maintenance units: the worker serves every
//! user): queue messages the server makes itself (a test, a reminder), store a reminder's id
//! and body before its first attempt, give back what a stopping worker claimed, prune the log,
//! and the queue's depth for the metrics. Changes are queued by the database's trigger on the
//! journal (migrations 000077, 000078) as one event each, not here (`fan_out` turns them into
//! deliveries); claims are `claim`'s, attempts are recorded by `attempts`. Whatever queues a
//! message puts its webhook in the claims' line (`claim::queued`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::claim;
use super::model::{EventType, events_of};
use crate::db::DbConn;
use crate::db::schema::webhook_attempts::dsl as a;
use crate::db::schema::webhook_deliveries::dsl as d;
use crate::db::schema::webhook_events::dsl as e;
use crate::db::schema::webhooks::dsl as w;
use crate::db_run;
use crate::tasks::service::now_micros;
use crate::tasks::visibility::webhooks_of_users;

/// A delivery to queue.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::webhook_deliveries)]
struct NewDelivery<'a> {
    webhook_id: i64,
    user_id: &'a str,
    event_type: &'a str,
    task_id: Option<i64>,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// Queues `event` about each task of `items` for every enabled webhook of its users that
/// takes it (one read of the webhooks for all of them: a batch of reminders whose recipients
/// have none costs that read alone); how many.
pub(super) async fn enqueue(
    conn: &mut DbConn,
    items: &[(i64, Vec<String>)],
    event: EventType,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let users: Vec<String> = items
        .iter()
        .flat_map(|(_, to)| to.iter().cloned())
        .collect();
    if users.is_empty() {
        return Ok(0);
    }
    let hooks: Vec<(i64, String, String)> = db_run!(conn, |c| {
        w::webhooks
            .filter(webhooks_of_users(&users))
            .filter(w::disabled.eq(false))
            .select((w::id, w::user_id, w::events))
            .load(c)
            .await
    })?;
    let hooks: Vec<&(i64, String, String)> = hooks
        .iter()
        .filter(|(_, _, events)| events_of(events).contains(&event))
        .collect();
    let rows: Vec<NewDelivery> = items
        .iter()
        .flat_map(|(task, to)| {
            hooks
                .iter()
                .filter(|(_, user, _)| to.contains(user))
                .map(|(id, user, _)| NewDelivery {
                    webhook_id: *id,
                    user_id: user,
                    event_type: event.as_str(),
                    task_id: Some(*task),
                    next_attempt_at: now,
                    created_at: now,
                })
        })
        .collect();
    // One statement per delivery: SQLite cannot batch rows with a column left to its
    // default. Only recipients with webhooks have any.
    for row in &rows {
        db_run!(conn, |c| {
            diesel::insert_into(d::webhook_deliveries)
                .values(row)
                .execute(c)
                .await
        })?;
    }
    let hook_ids: Vec<i64> = rows.iter().map(|r| r.webhook_id).collect();
    claim::queued(conn, &hook_ids, now).await?;
    Ok(rows.len())
}

/// Queues a `webhook.test` message for one webhook (already found to be the user's).
pub(super) async fn enqueue_test(
    conn: &mut DbConn,
    owner: &str,
    webhook: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = NewDelivery {
        webhook_id: webhook,
        user_id: owner,
        event_type: EventType::WebhookTest.as_str(),
        task_id: None,
        next_attempt_at: now,
        created_at: now,
    };
    db_run!(conn, |c| {
        diesel::insert_into(d::webhook_deliveries)
            .values(&row)
            .execute(c)
            .await
    })?;
    claim::queued(conn, &[webhook], now).await
}

/// Stores a message's id and body before its first attempt (every retry sends the same);
/// `None` as the body drops the delivery (its task was gone). False when the lease was lost.
pub(super) async fn prepare(
    conn: &mut DbConn,
    delivery: i64,
    token: i64,
    message: Option<(&str, &str)>,
) -> QueryResult<bool> {
    let mine = d::webhook_deliveries
        .filter(d::id.eq(delivery))
        .filter(d::lease_token.eq(token));
    let changed = match message {
        Some((id, body)) => db_run!(conn, |c| {
            diesel::update(mine)
                .set((d::message_id.eq(id), d::body.eq(body)))
                .execute(c)
                .await
        })?,
        None => {
            let hooks: Vec<i64> = db_run!(conn, |c| {
                diesel::update(mine)
                    .set((
                        d::state.eq("dropped"),
                        d::lease_token.eq(None::<i64>),
                        d::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .returning(d::webhook_id)
                    .get_results(c)
                    .await
            })?;
            db_run!(conn, |c| {
                diesel::update(w::webhooks.filter(w::id.eq_any(&hooks)))
                    .set(w::lease_until.eq(None::<NaiveDateTime>))
                    .execute(c)
                    .await
            })?;
            // Its place in the claims' line, after the message it dropped.
            claim::requeue(conn, &hooks, now_micros()).await?;
            hooks.len()
        }
    };
    Ok(changed > 0)
}

/// The queue's depth (messages waiting: events not fanned out yet, and deliveries pending,
/// in flight included) and its oldest waiting message's creation, for the metrics.
pub(super) async fn depth(conn: &mut DbConn) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let (pending, oldest): (i64, Option<NaiveDateTime>) = db_run!(conn, |c| {
        d::webhook_deliveries
            .filter(d::state.eq("pending"))
            .select((diesel::dsl::count_star(), diesel::dsl::min(d::created_at)))
            .get_result(c)
            .await
    })?;
    let (events, first): (i64, Option<NaiveDateTime>) = db_run!(conn, |c| {
        e::webhook_events
            .select((diesel::dsl::count_star(), diesel::dsl::min(e::created_at)))
            .get_result(c)
            .await
    })?;
    let oldest = match (oldest, first) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((pending + events, oldest))
}

/// Drops at most `batch` finished messages (delivered, failed, dropped) queued before
/// `before`, their attempts with them; how many.
pub(super) async fn prune(
    conn: &mut DbConn,
    before: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    let old: Vec<i64> = db_run!(conn, |c| {
        d::webhook_deliveries
            .filter(d::state.ne("pending"))
            .filter(d::created_at.lt(before))
            .select(d::id)
            .limit(batch)
            .load(c)
            .await
    })?;
    if old.is_empty() {
        return Ok(0);
    }
    db_run!(conn, |c| {
        diesel::delete(a::webhook_attempts.filter(a::delivery_id.eq_any(&old)))
            .execute(c)
            .await
    })?;
    db_run!(conn, |c| {
        diesel::delete(d::webhook_deliveries.filter(d::id.eq_any(&old)))
            .execute(c)
            .await
    })
}

/// Frees the pending deliveries claimed under `token`, and their webhooks; how many.
pub(super) async fn release(conn: &mut DbConn, token: i64) -> QueryResult<usize> {
    let mine = d::webhook_deliveries
        .filter(d::lease_token.eq(token))
        .filter(d::state.eq("pending"));
    db_run!(conn, |c| {
        diesel::update(w::webhooks.filter(w::id.eq_any(mine.select(d::webhook_id))))
            .set(w::lease_until.eq(None::<NaiveDateTime>))
            .execute(c)
            .await
    })?;
    db_run!(conn, |c| {
        diesel::update(mine)
            .set((
                d::lease_token.eq(None::<i64>),
                d::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(c)
            .await
    })
}
