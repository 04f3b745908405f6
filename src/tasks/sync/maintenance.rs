//! SQL for the maintenance jobs: the scheduled tombstone prune (`tasks::sync::prune`), the
//! scheduled prune of expired idempotency keys (`tasks::idempotency`), that of dead invite
//! links (`tasks::sharing::invites`) and the event relay's sweep of change counters
//! (`tasks::events::sequence`). (Search keys need no
//! job: the database keeps them, see `task::search_keys`.)
//!
//! Exempt from `tasks::visibility`, and the only SQL that is: a job run by the server itself,
//! whoever owns the rows. No request reaches it. The prune only finds whose tombstones have
//! expired (the journal's `prune_owner` drops them).
//! Under RLS it runs as the owner role (see `tasks::unit::UnitOfWork::maintenance`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::db_run;

/// Owners (of any user) with tombstones older than `before`, each with the newest such
/// tombstone's number. At most `batch` of them.
pub(in crate::tasks) async fn expired_tombstones(
    conn: &mut DbConn,
    before: NaiveDateTime,
    batch: i64,
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::task_changes::dsl::*;
    let found: Vec<(String, Option<i64>)> = db_run!(conn, |c| {
        task_changes
            .filter(deleted.eq(true))
            .filter(changed_at.lt(before))
            .group_by(user_id)
            .select((user_id, diesel::dsl::max(seq)))
            .order_by(user_id.asc())
            .limit(batch)
            .load(c)
            .await
    })?;
    Ok(found
        .into_iter()
        .filter_map(|(owner, newest)| Some((owner, newest?)))
        .collect())
}

/// Drops idempotency outcomes (of any user) stored before `cutoff`, the oldest `batch` of
/// them (a few more when several share the last one's time); returns how many went.
pub(in crate::tasks) async fn prune_expired_keys(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    use crate::db::schema::idempotency_keys::dsl::*;
    db_run!(conn, |c| {
        // The batch's newest time, when there are more than a batch to drop.
        let last: Option<NaiveDateTime> = idempotency_keys
            .filter(created_at.lt(cutoff))
            .order_by(created_at.asc())
            .select(created_at)
            .offset(batch - 1)
            .first(c)
            .await
            .optional()?;
        let expired = idempotency_keys.filter(created_at.lt(cutoff));
        match last {
            Some(last) => {
                diesel::delete(expired.filter(created_at.le(last)))
                    .execute(c)
                    .await
            }
            None => diesel::delete(expired).execute(c).await,
        }
    })
}

/// Drops invite links (of any list) that stopped working before `cutoff` (expired then, or
/// revoked then: revoking sets `expires_at`, `invites::revoke`), at most `batch` of them, the
/// oldest first; returns how many went.
pub(in crate::tasks) async fn prune_dead_invites(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    use crate::db::schema::list_invites::dsl::*;
    db_run!(conn, |c| {
        let oldest: Vec<String> = list_invites
            .filter(expires_at.lt(cutoff))
            .order_by(expires_at.asc())
            .select(token_hash)
            .limit(batch)
            .load(c)
            .await?;
        if oldest.is_empty() {
            return Ok(0);
        }
        diesel::delete(list_invites.filter(token_hash.eq_any(&oldest)))
            .execute(c)
            .await
    })
}

/// The change counters of `users` (any user's): the event relay's sweep (`tasks::events::
/// sequence`) compares them with what it delivered, to find a change whose signal was lost.
pub(in crate::tasks) async fn counters_of(
    conn: &mut DbConn,
    users: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::task_sync_cursors::dsl::*;
    db_run!(conn, |c| {
        task_sync_cursors
            .filter(user_id.eq_any(users))
            .select((user_id, last_seq))
            .load(c)
            .await
    })
}
