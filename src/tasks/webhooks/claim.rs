//! Claiming due deliveries fairly (issue 58), and putting a webhook back in line.
//!
//! Every webhook with something pending has a place in one line, `webhooks.due_at` (000082):
//! when its oldest pending message fell due, or when its last attempt was recorded if that is
//! later, so a webhook just served goes to the back, behind those that waited. A claim is
//! one transaction:
//!
//! 1. The head of the line: webhooks due, enabled, not in flight anywhere (`lease_until`),
//!    whose user holds fewer than `per_user` deliveries in flight across all instances (two
//!    instances claiming at the same moment may each take that many), read without a lock.
//!    Of these, users with the fewest in flight first, then the line's order, at most
//!    `per_user` a user: a user with nothing in flight is served by the first claim that has
//!    a free slot, whoever else waits or hangs. The chosen ones still free are then locked,
//!    `FOR UPDATE SKIP LOCKED` on PostgreSQL (another instance's claim skips them; SQLite
//!    has one writer).
//! 2. Each chosen webhook's oldest due message (one probe of `webhook_deliveries_next`, however
//!    deep its backlog), leased with the webhook: a token and a time, after which a crashed
//!    instance's claim is free again.
//!
//! So one webhook's backlog is one place in the line (it sends one message a turn), one
//! user's endpoints hold at most `per_user` slots, and a claim reads what it takes, not the
//! backlog. A webhook whose place was stale (its messages gone) is put back in line as it is.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use diesel_async::RunQueryDsl;

use crate::db::pg::PgConn;
use crate::db::schema::webhooks::dsl as w;
use crate::db::{DbConn, PerStore};
use crate::db_run;

/// How many webhooks of the line's head a claim looks at (it takes at most `per_user` a user
/// of them, up to its free slots).
const LINE_HEAD: i64 = 256;

/// The head of the line (see the module's note); `$1` now, `$2` the share per user, `$3` how
/// many. Read without a lock: the chosen ones are locked after (`LOCK`).
const HEAD: &str = "
SELECT w.id, w.user_id, w.url, w.secret,
       (SELECT count(*) FROM webhooks o WHERE o.user_id = w.user_id AND o.lease_until >= $1) AS busy
FROM webhooks w
WHERE w.due_at IS NOT NULL AND w.due_at <= $1 AND NOT w.disabled
  AND (w.lease_until IS NULL OR w.lease_until < $1)
  AND (SELECT count(*) FROM webhooks o WHERE o.user_id = w.user_id AND o.lease_until >= $1) < $2
ORDER BY w.due_at, w.id
LIMIT $3";

/// Leases each chosen webhook's oldest due message; `$1` now, `$2` the token, `$3` until
/// when; `{hooks}` the chosen webhooks' ids; `{lock}` PostgreSQL's row lock.
const TAKE: &str = "
UPDATE webhook_deliveries SET lease_token = $2, lease_until = $3
WHERE id IN (
    SELECT (SELECT d.id FROM webhook_deliveries d
            WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.next_attempt_at <= $1
              AND (d.lease_until IS NULL OR d.lease_until < $1)
            ORDER BY d.next_attempt_at, d.id LIMIT 1{lock})
    FROM webhooks w WHERE w.id IN ({hooks}))
RETURNING id, webhook_id, user_id, event_type, task_id, task_row, message_id, body, attempts,
          created_at";

/// Puts webhooks back in line (`{hooks}`): at their oldest pending message's time, or at `$1`
/// (now) if that is earlier; out of line when nothing is pending.
const REQUEUE: &str = "
UPDATE webhooks SET due_at = (
    SELECT CASE WHEN min(d.next_attempt_at) IS NULL THEN NULL
                WHEN min(d.next_attempt_at) > $1 THEN min(d.next_attempt_at)
                ELSE $1 END
    FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.state = 'pending')
WHERE id IN ({hooks})";

/// Puts `{hooks}` in line at `$1` unless they wait from earlier (`queued`).
const QUEUED: &str = "
UPDATE webhooks SET due_at = CASE WHEN due_at IS NULL OR due_at > $1 THEN $1 ELSE due_at END
WHERE id IN ({hooks})";

/// Locks the chosen webhooks (`{hooks}`) that are still free, skipping any another claim
/// holds; PostgreSQL's, after the head was read without a lock (a lock on all of it would
/// make another instance's claim skip the whole head).
const LOCK: &str = "
SELECT id FROM webhooks
WHERE id IN ({hooks}) AND NOT disabled AND (lease_until IS NULL OR lease_until < $1)
FOR UPDATE SKIP LOCKED";

/// `repair`'s statement.
const REPAIR: &str = "
UPDATE webhooks SET due_at = (SELECT min(d.next_attempt_at) FROM webhook_deliveries d
                              WHERE d.webhook_id = webhooks.id AND d.state = 'pending')
WHERE due_at IS NULL AND NOT disabled
  AND EXISTS (SELECT 1 FROM webhook_deliveries d
              WHERE d.webhook_id = webhooks.id AND d.state = 'pending')";

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = BigInt)]
    busy: i64,
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

/// A leased message as `TAKE` returns it.
#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    webhook_id: i64,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    task_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    task_row: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    message_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

/// Claims at most `limit` due deliveries fairly (see the module's note), under `token` until
/// `until`; a user holds at most `per_user` in flight.
pub(super) async fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    token: i64,
    limit: usize,
    per_user: usize,
) -> QueryResult<Vec<Claimed>> {
    let share = i64::try_from(per_user).unwrap_or(i64::MAX);
    let head_sql = conn.portable_sql(HEAD);
    let head: Vec<Head> = db_run!(conn, |c| {
        diesel::sql_query(&*head_sql)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(share)
            .bind::<BigInt, _>(LINE_HEAD)
            .load(c)
            .await
    })?;
    let mut chosen = choose(head, limit, per_user);
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    // Another instance's claim in progress holds some of them: they are skipped (`HoldChosen`).
    let take_lock = conn
        .per_store(HoldChosen {
            chosen: &mut chosen,
            now,
        })
        .await?;
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let hooks = id_list(chosen.iter().map(|h| h.id));
    let take = conn
        .portable_sql(TAKE)
        .replace("{hooks}", &hooks)
        .replace("{lock}", take_lock);
    let taken: Vec<Taken> = db_run!(conn, |c| {
        diesel::sql_query(&take)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(token)
            .bind::<Timestamp, _>(until)
            .load(c)
            .await
    })?;
    let leased: Vec<i64> = taken.iter().map(|t| t.webhook_id).collect();
    if !leased.is_empty() {
        db_run!(conn, |c| {
            diesel::update(w::webhooks.filter(w::id.eq_any(&leased)))
                .set(w::lease_until.eq(until))
                .execute(c)
                .await
        })?;
    }
    // A place in line with nothing due behind it (its messages dropped or deleted): back in
    // line as it stands, so the next claim does not take it again.
    let stale: Vec<i64> = chosen
        .iter()
        .map(|h| h.id)
        .filter(|id| !leased.contains(id))
        .collect();
    requeue(conn, &stale, now).await?;
    let targets: HashMap<i64, (String, String)> = chosen
        .into_iter()
        .map(|h| (h.id, (h.url, h.secret)))
        .collect();
    Ok(taken
        .into_iter()
        .filter_map(|t| {
            let (url, secret) = targets.get(&t.webhook_id)?.clone();
            Some(Claimed {
                id: t.id,
                webhook_id: t.webhook_id,
                user_id: t.user_id,
                event_type: t.event_type,
                task_id: t.task_id,
                task_row: t.task_row,
                message_id: t.message_id,
                body: t.body,
                attempts: t.attempts,
                created_at: t.created_at,
                url,
                secret,
                lease: token,
            })
        })
        .collect())
}

/// Puts `hooks` back in line after an attempt (or with nothing due): at their oldest pending
/// message's time, never before `now`, or out of line with nothing pending.
pub(super) async fn requeue(
    conn: &mut DbConn,
    hooks: &[i64],
    now: NaiveDateTime,
) -> QueryResult<()> {
    at_time(conn, REQUEUE, hooks, now).await
}

/// Puts `hooks` in line at `at` (a message for them was queued then), unless they wait from
/// earlier already. Every row is written, not only those it moves: the write takes the row's
/// lock, so it waits for an attempt's record that holds it (and may be taking the webhook out
/// of line, not seeing this uncommitted message) and is applied to what that record left.
pub(super) async fn queued(conn: &mut DbConn, hooks: &[i64], at: NaiveDateTime) -> QueryResult<()> {
    at_time(conn, QUEUED, hooks, at).await
}

/// Runs `statement` (one of `REQUEUE`, `QUEUED`) for `hooks` with `$1` = `at`.
async fn at_time(
    conn: &mut DbConn,
    statement: &str,
    hooks: &[i64],
    at: NaiveDateTime,
) -> QueryResult<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    let sql = conn
        .portable_sql(statement)
        .replace("{hooks}", &id_list(hooks.iter().copied()));
    db_run!(conn, |c| {
        diesel::sql_query(&sql)
            .bind::<Timestamp, _>(at)
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Puts back in line any enabled webhook with pending messages and no place (a backstop, run
/// with the hourly pruning: every path that queues a message puts its webhook in line, and the
/// write that does takes the row's lock, so none is expected); how many.
pub(super) async fn repair(conn: &mut DbConn) -> QueryResult<usize> {
    db_run!(conn, |c| diesel::sql_query(REPAIR).execute(c).await)
}

/// The line's head in the order it is served: users with the fewest in flight first (stable:
/// the line's order within), at most `per_user` a user counting those in flight, `limit` in all.
fn choose(mut head: Vec<Head>, limit: usize, per_user: usize) -> Vec<Head> {
    head.sort_by_key(|h| h.busy);
    let mut held: HashMap<String, usize> = HashMap::new();
    let mut chosen = Vec::new();
    for h in head {
        if chosen.len() >= limit {
            break;
        }
        let busy = usize::try_from(h.busy).unwrap_or(usize::MAX);
        let mine = held.entry(h.user_id.clone()).or_insert(busy);
        if *mine < per_user {
            *mine += 1;
            chosen.push(h);
        }
    }
    chosen
}

/// Ids as SQL text (integers: nothing to escape), for an `IN (…)` both backends read alike.
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// Holds the chosen webhooks for this claim, dropping those another holds, and gives the
/// lock clause the claim's messages take. Another instance's claim in progress holds its
/// webhooks: skip them, never wait. A message whose row is held (a delete or a disabling of
/// its webhook, which take the messages first and the webhook after) is skipped too: waiting
/// for it while holding the webhook would be a deadlock.
struct HoldChosen<'a> {
    chosen: &'a mut Vec<Head>,
    now: NaiveDateTime,
}

impl PerStore for HoldChosen<'_> {
    type Output = QueryResult<&'static str>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        #[derive(QueryableByName)]
        struct Locked {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let lock = LOCK.replace("{hooks}", &id_list(self.chosen.iter().map(|h| h.id)));
        let locked: Vec<Locked> = diesel::sql_query(lock)
            .bind::<Timestamp, _>(self.now)
            .load(conn)
            .await?;
        self.chosen.retain(|h| locked.iter().any(|l| l.id == h.id));
        Ok(" FOR UPDATE SKIP LOCKED")
    }

    /// One writer (BEGIN IMMEDIATE): nothing to skip.
    async fn sqlite(self, _conn: &mut DbConn) -> Self::Output {
        Ok("")
    }
}
