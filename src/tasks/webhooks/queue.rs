//! The delivery queue's SQL, across users (run in maintenance units: the worker serves every
//! user): queue messages the server makes itself (a test, a reminder), claim due deliveries
//! for this instance, store a reminder's id and body before its first attempt, and the
//! queue's depth for the metrics. Changes are queued by the database's trigger on the journal
//! (migrations 000077, 000078) as one event each, not here (`fan_out` turns them into
//! deliveries); attempts are recorded by `outcome`.
//!
//! A claim is one transaction: the due deliveries of enabled webhooks, oldest first, locked
//! with `FOR UPDATE SKIP LOCKED` on PostgreSQL (another instance claiming at the same moment
//! skips them; SQLite has one writer), at most one per webhook and none of a webhook that has
//! one in flight (so one slow endpoint holds one slot, not the worker), then leased, the
//! delivery and its webhook: a token and a time, after which a crashed instance's claim is
//! free again. The HTTP call runs outside any transaction; its outcome is recorded only under
//! the lease's token.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::model::{EventType, events_of};
use crate::db::DbConn;
use crate::db::schema::webhook_attempts::dsl as a;
use crate::db::schema::webhook_deliveries::dsl as d;
use crate::db::schema::webhook_events::dsl as e;
use crate::db::schema::webhooks::dsl as w;
use crate::db_run;
use crate::tasks::visibility::webhooks_of_users;

/// How many due deliveries a claim looks at (it takes at most one per webhook of them).
const LOOK_AHEAD: i64 = 200;

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
    Ok(())
}

/// A claimed delivery, with what sending it needs.
#[derive(Debug, Clone)]
pub(super) struct Claimed {
    pub id: i64,
    pub webhook_id: i64,
    pub user_id: String,
    pub event_type: String,
    pub task_id: Option<i64>,
    /// The task as the change left it (PostgreSQL's `to_jsonb` shape), when the trigger queued it.
    pub task_row: Option<String>,
    pub message_id: Option<String>,
    pub body: Option<String>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub url: String,
    pub secret: String,
    /// The claim's token: the delivery is this instance's while it holds it.
    pub lease: i64,
}

type ClaimedRow = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    i32,
    NaiveDateTime,
);

/// Claims at most `limit` due deliveries, at most one per webhook and none of a leased
/// webhook (one in flight anywhere, this instance included), under `token` until `until`;
/// their webhooks are leased until then too.
pub(super) async fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    token: i64,
    limit: usize,
) -> QueryResult<Vec<Claimed>> {
    let due = d::webhook_deliveries
        .inner_join(w::webhooks)
        .filter(d::state.eq("pending"))
        .filter(d::next_attempt_at.le(now))
        .filter(d::lease_until.is_null().or(d::lease_until.lt(now)))
        .filter(w::disabled.eq(false))
        .filter(w::lease_until.is_null().or(w::lease_until.lt(now)))
        .order_by((d::next_attempt_at.asc(), d::id.asc()))
        .select((d::id, d::webhook_id, w::url, w::secret))
        .limit(LOOK_AHEAD);
    let candidates: Vec<(i64, i64, String, String)> = match conn {
        // Another instance's claim in progress holds its rows (the deliveries' and their
        // webhooks'): skip them, never wait. The plan is pinned to the index's order: with
        // statistics older than the queue's growth the planner took the due range for a few
        // rows and sorted all of them (100 ms of CPU per claim at a backlog of 120,000,
        // measured; 1 ms read off the index).
        DbConn::Postgres(pooled) => {
            diesel_async::SimpleAsyncConnection::batch_execute(
                &mut **pooled,
                "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off",
            )
            .await?;
            due.for_update().skip_locked().load(&mut **pooled).await?
        }
        // One writer at a time (BEGIN IMMEDIATE): nothing to skip.
        DbConn::Sqlite(pooled) => due.load(&mut **pooled).await?,
    };
    let mut taken: HashSet<i64> = HashSet::new();
    let chosen: Vec<(i64, i64, String, String)> = candidates
        .into_iter()
        .filter(|(_, hook, _, _)| taken.insert(*hook))
        .take(limit)
        .collect();
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = chosen.iter().map(|c| c.0).collect();
    let hook_ids: Vec<i64> = chosen.iter().map(|c| c.1).collect();
    let hooks: HashMap<i64, (String, String)> = chosen
        .into_iter()
        .map(|(_, hook, url, secret)| (hook, (url, secret)))
        .collect();
    let rows: Vec<ClaimedRow> = db_run!(conn, |c| {
        diesel::update(d::webhook_deliveries.filter(d::id.eq_any(&ids)))
            .set((d::lease_token.eq(token), d::lease_until.eq(until)))
            .returning((
                d::id,
                d::webhook_id,
                d::user_id,
                d::event_type,
                d::task_id,
                d::task_row,
                d::message_id,
                d::body,
                d::attempts,
                d::created_at,
            ))
            .get_results(c)
            .await
    })?;
    db_run!(conn, |c| {
        diesel::update(w::webhooks.filter(w::id.eq_any(&hook_ids)))
            .set(w::lease_until.eq(until))
            .execute(c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let (url, secret) = hooks.get(&r.1)?.clone();
            Some(Claimed {
                id: r.0,
                webhook_id: r.1,
                user_id: r.2,
                event_type: r.3,
                task_id: r.4,
                task_row: r.5,
                message_id: r.6,
                body: r.7,
                attempts: r.8,
                created_at: r.9,
                url,
                secret,
                lease: token,
            })
        })
        .collect())
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
            let hook = d::webhook_deliveries
                .filter(d::id.eq(delivery))
                .filter(d::lease_token.eq(token))
                .select(d::webhook_id);
            db_run!(conn, |c| {
                diesel::update(w::webhooks.filter(w::id.eq_any(hook)))
                    .set(w::lease_until.eq(None::<NaiveDateTime>))
                    .execute(c)
                    .await
            })?;
            db_run!(conn, |c| {
                diesel::update(mine)
                    .set((
                        d::state.eq("dropped"),
                        d::lease_token.eq(None::<i64>),
                        d::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(c)
                    .await
            })?
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
