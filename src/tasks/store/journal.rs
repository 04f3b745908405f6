//! The change journal: per-user change numbers (`task_sync_cursors`), each task's last change
//! (`task_changes`, deletions kept as tombstones for a while) and the NOTIFY queued with them.
//! Sync (`tasks::sync`) reads it; every task write records into it through [`record_change!`],
//! inside the write's own transaction.
//!
//! It must not read or write `tasks` itself (that is `query` and `write`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db_run;
use crate::tasks::model::TaskRow;
use crate::tasks::visibility::{
    counter_of_owner, cursor_of, journal_of_owner, journal_visible_to, owner,
};

/// Builds the NOTIFY payload of a change from its number, the task id and the row after it
/// (`None`: deleted). Called inside the transaction, once the number is known.
pub(in crate::tasks) type PayloadFn<'a> = dyn Fn(i64, i64, Option<&TaskRow>) -> String + Sync + 'a;

/// A write that happened: the row after it and its change number (`None` when the write
/// changed nothing, as a repeated `set_completed`).
pub(in crate::tasks) struct Written {
    pub(in crate::tasks) row: TaskRow,
    pub(in crate::tasks) seq: Option<i64>,
}

/// Inside a write's transaction: takes the owner's next change number (the upsert locks the
/// owner's counter row until commit, so one owner's changes commit in number order), records
/// the task's last change (a deletion stays as a tombstone) and, when `$created`, the number
/// that created it (kept by later changes: replay says CREATED to a client whose cursor is
/// older), and queues the event.
macro_rules! record_change {
    ($c:expr, $viewer:expr, $task_id:expr, $row:expr, $created:expr, $now:expr, $payload:expr) => {{
        use crate::db::events::Notify as _;
        use crate::db::schema::task_changes as tc;
        use crate::db::schema::task_sync_cursors as cur;
        let owner = $crate::tasks::visibility::owner($viewer);
        let seq: i64 = diesel::insert_into(cur::table)
            .values((
                cur::user_id.eq(owner),
                cur::last_seq.eq(1_i64),
                cur::pruned_seq.eq(0_i64),
            ))
            .on_conflict(cur::user_id)
            .do_update()
            .set(cur::last_seq.eq(cur::last_seq + 1_i64))
            .returning(cur::last_seq)
            .get_result($c)
            .await?;
        let deleted = $row.is_none();
        let created: bool = $created;
        diesel::insert_into(tc::table)
            .values((
                tc::task_id.eq($task_id),
                tc::user_id.eq(owner),
                tc::seq.eq(seq),
                tc::deleted.eq(deleted),
                tc::changed_at.eq($now),
                tc::created_seq.eq(created.then_some(seq)),
            ))
            // A task id is never reused (serial / AUTOINCREMENT), so a creation always inserts
            // and the update below never needs to touch `created_seq`.
            .on_conflict(tc::task_id)
            .do_update()
            .set((
                tc::seq.eq(seq),
                tc::deleted.eq(deleted),
                tc::changed_at.eq($now),
            ))
            .execute($c)
            .await?;
        let payload = ($payload)(seq, $task_id, $row);
        $c.notify(&payload).await?;
        seq
    }};
}

/// After an UPDATE … RETURNING in a write's transaction: records the change of the row it
/// found, or passes on `None` (no such task of the owner, or nothing to change).
macro_rules! record_update {
    ($c:expr, $viewer:expr, $task_id:expr, $updated:expr, $now:expr, $payload:expr) => {{
        match $updated {
            None => Ok(None),
            Some(updated) => {
                let seq =
                    record_change!($c, $viewer, $task_id, Some(&updated), false, $now, $payload);
                Ok(Some(Written {
                    row: updated,
                    seq: Some(seq),
                }))
            }
        }
    }};
}

/// The owner's change counter: (last change number, newest number whose tombstone is gone).
/// (0, 0) for a user who never changed anything.
pub(in crate::tasks) async fn cursor(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> QueryResult<(i64, i64)> {
    use crate::db::schema::task_sync_cursors::dsl::*;
    let found = db_run!(conn, |c| {
        task_sync_cursors
            .filter(cursor_of(viewer))
            .select((last_seq, pruned_seq))
            .first::<(i64, i64)>(c)
            .await
            .optional()
    })?;
    Ok(found.unwrap_or((0, 0)))
}

/// Drops the viewer's tombstones older than `before`, and all but the newest `keep` of them,
/// remembering the newest number dropped so an older cursor is refused instead of silently
/// missing those deletions. Inside a write's transaction (after the delete that makes
/// tombstones pile up).
pub(in crate::tasks) async fn prune_tombstones(
    conn: &mut DbConn,
    viewer: &AuthUser,
    before: NaiveDateTime,
    keep: i64,
) -> QueryResult<()> {
    let by_age = prunable(conn, viewer, before).await?;
    let by_count = beyond(conn, viewer, keep).await?;
    match by_age.max(by_count) {
        Some(newest) => prune(conn, viewer, newest).await,
        None => Ok(()),
    }
}

/// The newest of the viewer's tombstones older than `before`, if any: a plain read, so sync
/// can check without a transaction (most of the time there is nothing to drop or lock).
pub(in crate::tasks) async fn prunable(
    conn: &mut DbConn,
    viewer: &AuthUser,
    before: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    use crate::db::schema::task_changes as tc;
    db_run!(conn, |c| {
        tc::table
            .filter(journal_visible_to(viewer))
            .filter(tc::deleted.eq(true))
            .filter(tc::changed_at.lt(before))
            .select(diesel::dsl::max(tc::seq))
            .first(c)
            .await
    })
}

/// The newest of the viewer's tombstones past the `keep` newest, if there are more.
async fn beyond(conn: &mut DbConn, viewer: &AuthUser, keep: i64) -> QueryResult<Option<i64>> {
    use crate::db::schema::task_changes as tc;
    db_run!(conn, |c| {
        tc::table
            .filter(journal_visible_to(viewer))
            .filter(tc::deleted.eq(true))
            .order_by(tc::seq.desc())
            .select(tc::seq)
            .offset(keep)
            .first::<i64>(c)
            .await
            .optional()
    })
}

/// Drops the viewer's tombstones up to `newest` and records that number as pruned. Two
/// writes: run it inside a unit of work's transaction.
pub(in crate::tasks) async fn prune(
    conn: &mut DbConn,
    viewer: &AuthUser,
    newest: i64,
) -> QueryResult<()> {
    prune_owner(conn, owner(viewer), newest).await
}

/// [`prune`] for the owner of the journal entries (the scheduled prune's, which has no
/// viewer: `tasks::prune`).
pub(in crate::tasks) async fn prune_owner(
    conn: &mut DbConn,
    owner: &str,
    newest: i64,
) -> QueryResult<()> {
    use crate::db::schema::task_changes as tc;
    use crate::db::schema::task_sync_cursors as cur;
    db_run!(conn, |c| {
        diesel::update(
            cur::table
                .filter(counter_of_owner(owner))
                .filter(cur::pruned_seq.lt(newest)),
        )
        .set(cur::pruned_seq.eq(newest))
        .execute(c)
        .await?;
        diesel::delete(
            tc::table
                .filter(journal_of_owner(owner))
                .filter(tc::deleted.eq(true))
                .filter(tc::seq.le(newest)),
        )
        .execute(c)
        .await
        .map(drop)
    })
}

/// One task's last change, as recorded for sync.
pub(in crate::tasks) struct ChangeEntry {
    pub(in crate::tasks) seq: i64,
    pub(in crate::tasks) task_id: i64,
    pub(in crate::tasks) deleted: bool,
    /// The change number that created the task (`None`: created before it was recorded).
    pub(in crate::tasks) created_seq: Option<i64>,
}

/// The viewer's changes numbered `after < seq <= upto`, oldest first (the first `limit`).
pub(in crate::tasks) async fn changes_between(
    conn: &mut DbConn,
    viewer: &AuthUser,
    after: i64,
    upto: i64,
    limit: Option<i64>,
) -> QueryResult<Vec<ChangeEntry>> {
    use crate::db::schema::task_changes::dsl::*;
    db_run!(conn, |c| {
        let mut q = task_changes
            .filter(journal_visible_to(viewer))
            .filter(seq.gt(after))
            .filter(seq.le(upto))
            .order_by(seq.asc())
            .select((seq, task_id, deleted, created_seq))
            .into_boxed();
        if let Some(limit) = limit {
            q = q.limit(limit);
        }
        q.load::<(i64, i64, bool, Option<i64>)>(c).await
    })
    .map(|rows| {
        rows.into_iter()
            .map(|(number, id, gone, created)| ChangeEntry {
                seq: number,
                task_id: id,
                deleted: gone,
                created_seq: created,
            })
            .collect()
    })
}
