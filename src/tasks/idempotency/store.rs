//! SQL of idempotency keys (`idempotency_keys`): a keyed write's claim on its key (the key's
//! lock, the stored outcome of the viewer's key, how many the viewer has), and storing one. Every function runs inside the
//! keyed write's own transaction (`tasks::idempotency`) and filters by
//! `tasks::visibility::keys_of`; the scheduled prune of every user's expired keys is in
//! `maintenance`.
//!
//! It must not read or write tasks or the journal.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::schema::idempotency_keys as ik;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::idempotency::request::{KeyedRequest, StoredOutcome};
use crate::tasks::visibility::{key_owner, keys_of};

/// A stored outcome, with the request it answered.
pub(in crate::tasks) struct StoredKey {
    pub(in crate::tasks) request: (String, String, String),
    pub(in crate::tasks) outcome: StoredOutcome,
    pub(in crate::tasks) created_at: NaiveDateTime,
}

impl StoredKey {
    /// True when `request` is the request this outcome answered (same method, path, body).
    pub(in crate::tasks) fn answers(&self, request: &KeyedRequest) -> bool {
        let (method, path, body_hash) = &self.request;
        *method == request.method && *path == request.path && *body_hash == request.body_hash
    }
}

/// What a keyed write found when it claimed its key ([`claim_key`]).
pub(in crate::tasks) enum Claim {
    /// Another transaction holds the key: a request with it is still running.
    InUse,
    /// The key's outcome, stored and not expired.
    Stored(StoredKey),
    /// The viewer keeps as many outcomes as allowed, none of them expired.
    Full,
    /// The key is the write's to use (an expired outcome of it is forgotten).
    Free,
}

/// Claims the viewer's `key` for this transaction, before the write: taken by another
/// transaction (a request with the same key still running, on any instance), or its outcome
/// stored after `cutoff`, or (the expired outcome forgotten) the viewer at `cap` outcomes even
/// once their expired ones go, or free. PostgreSQL: one statement (`idempotency_claim.sql`
/// beside this file); SQLite, in process: the same steps one statement each.
pub(in crate::tasks) async fn claim_key(
    conn: &mut DbConn,
    viewer: &AuthUser,
    key: &str,
    cutoff: NaiveDateTime,
    cap: i64,
) -> QueryResult<Claim> {
    conn.per_store(ClaimCall {
        viewer,
        key,
        cutoff,
        cap,
    })
    .await
}

/// One claim of a key ([`claim_key`]).
struct ClaimCall<'a> {
    viewer: &'a AuthUser,
    key: &'a str,
    cutoff: NaiveDateTime,
    cap: i64,
}

impl PerStore for ClaimCall<'_> {
    type Output = QueryResult<Claim>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
        #[derive(QueryableByName)]
        struct Claimed {
            #[diesel(sql_type = Text)]
            claim: String,
            #[diesel(sql_type = Nullable<Text>)]
            method: Option<String>,
            #[diesel(sql_type = Nullable<Text>)]
            path: Option<String>,
            #[diesel(sql_type = Nullable<Text>)]
            body_hash: Option<String>,
            #[diesel(sql_type = Nullable<Integer>)]
            status: Option<i32>,
            #[diesel(sql_type = Nullable<Text>)]
            body: Option<String>,
            #[diesel(sql_type = Nullable<Timestamp>)]
            created_at: Option<NaiveDateTime>,
        }
        let claimed: Claimed = diesel::sql_query(
            "SELECT f.claim, (f.stored).* FROM idempotency_claim($1, $2, $3, $4) AS f",
        )
        .bind::<Text, _>(key_owner(self.viewer))
        .bind::<Text, _>(self.key)
        .bind::<Timestamp, _>(self.cutoff)
        .bind::<BigInt, _>(self.cap)
        .get_result(conn)
        .await?;
        Ok(match claimed {
            Claimed { claim, .. } if claim == "in_use" => Claim::InUse,
            Claimed { claim, .. } if claim == "full" => Claim::Full,
            Claimed {
                method: Some(method),
                path: Some(path),
                body_hash: Some(body_hash),
                status: Some(status),
                body: Some(body),
                created_at: Some(created_at),
                ..
            } => Claim::Stored(stored_key((
                method, path, body_hash, status, body, created_at,
            ))),
            _ => Claim::Free,
        })
    }

    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        claim_step_by_step(conn, self).await
    }
}

/// [`claim_key`] on SQLite.
async fn claim_step_by_step(conn: &mut DbConn, call: ClaimCall<'_>) -> QueryResult<Claim> {
    let (viewer, key, cutoff, cap) = (call.viewer, call.key, call.cutoff, call.cap);
    // One write transaction at a time (`BEGIN IMMEDIATE`): a transaction that got this far
    // holds the key alone; a concurrent request on this instance is refused before it
    // begins (the service keeps the keys in flight).
    if let Some(stored) = find_key(conn, viewer, key).await? {
        if stored.created_at >= cutoff {
            return Ok(Claim::Stored(stored));
        }
        forget_key(conn, viewer, key).await?;
    }
    if count_keys(conn, viewer).await? >= cap {
        forget_expired_keys(conn, viewer, cutoff).await?;
        if count_keys(conn, viewer).await? >= cap {
            return Ok(Claim::Full);
        }
    }
    Ok(Claim::Free)
}

/// A stored row as a [`StoredKey`].
fn stored_key(
    (method, path, body_hash, status, body, created_at): (
        String,
        String,
        String,
        i32,
        String,
        NaiveDateTime,
    ),
) -> StoredKey {
    StoredKey {
        request: (method, path, body_hash),
        outcome: StoredOutcome {
            status: u16::try_from(status).unwrap_or(500),
            body,
        },
        created_at,
    }
}

/// The outcome stored for the viewer's `key`, expired or not.
async fn find_key(
    conn: &mut DbConn,
    viewer: &AuthUser,
    key: &str,
) -> QueryResult<Option<StoredKey>> {
    type Row = (String, String, String, i32, String, NaiveDateTime);
    let found: Option<Row> = db_run!(conn, |c| {
        ik::table
            .filter(keys_of(viewer))
            .filter(ik::key.eq(key))
            .select((
                ik::method,
                ik::path,
                ik::body_hash,
                ik::status,
                ik::body,
                ik::created_at,
            ))
            .first(c)
            .await
            .optional()
    })?;
    Ok(found.map(stored_key))
}

/// Forgets the viewer's `key` (an expired one, about to be used again).
async fn forget_key(conn: &mut DbConn, viewer: &AuthUser, key: &str) -> QueryResult<()> {
    db_run!(conn, |c| {
        diesel::delete(ik::table.filter(keys_of(viewer)).filter(ik::key.eq(key)))
            .execute(c)
            .await
            .map(drop)
    })
}

/// How many outcomes the viewer has stored (expired ones not yet pruned included).
async fn count_keys(conn: &mut DbConn, viewer: &AuthUser) -> QueryResult<i64> {
    db_run!(conn, |c| {
        ik::table
            .filter(keys_of(viewer))
            .count()
            .get_result(c)
            .await
    })
}

/// Forgets the viewer's outcomes stored before `cutoff` (expired).
async fn forget_expired_keys(
    conn: &mut DbConn,
    viewer: &AuthUser,
    cutoff: NaiveDateTime,
) -> QueryResult<()> {
    db_run!(conn, |c| {
        diesel::delete(
            ik::table
                .filter(keys_of(viewer))
                .filter(ik::created_at.lt(cutoff)),
        )
        .execute(c)
        .await
        .map(drop)
    })
}

/// Stores the outcome of the viewer's keyed request, in the write's transaction.
pub(in crate::tasks) async fn save_key(
    conn: &mut DbConn,
    viewer: &AuthUser,
    request: &KeyedRequest,
    outcome: &StoredOutcome,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let owner = key_owner(viewer);
    db_run!(conn, |c| {
        diesel::insert_into(ik::table)
            .values((
                ik::user_id.eq(owner),
                ik::key.eq(request.key.as_str()),
                ik::method.eq(&request.method),
                ik::path.eq(&request.path),
                ik::body_hash.eq(&request.body_hash),
                ik::status.eq(i32::from(outcome.status)),
                ik::body.eq(&outcome.body),
                ik::created_at.eq(now),
            ))
            .execute(c)
            .await
            .map(drop)
    })
}
