//! All task SQL, written once in diesel's DSL and expanded for each backend by [`db_run!`].
//! Every function takes the owner, and every statement is filtered by it: no function here
//! can read or change a task by id alone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::model::{ListQuery, SortKey, SortOrder, TaskRow, TaskStatus};
use crate::auth::AuthUser;
use crate::db::DbConn;

use crate::db_run;

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(super) struct NewTaskRow<'a> {
    pub user_id: &'a str,
    pub title: &'a str,
    pub title_key: &'a str,
    pub description: Option<&'a str>,
    pub completed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Columns to change; `None` leaves a column alone, `description: Some(None)` sets NULL.
#[derive(AsChangeset)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(super) struct TaskChanges<'a> {
    pub title: Option<&'a str>,
    pub title_key: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub completed: Option<bool>,
    pub updated_at: NaiveDateTime,
}

/// The owner's tasks, filtered and ordered as asked.
pub(super) async fn list(
    conn: &mut DbConn,
    owner: &AuthUser,
    query: &ListQuery,
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    let direction = query.order.unwrap_or_else(|| query.sort.default_order());
    db_run!(conn, |c| {
        let mut q = tasks
            .filter(user_id.eq(owner.id()))
            .select(TaskRow::as_select())
            .into_boxed();
        q = match query.status {
            TaskStatus::All => q,
            TaskStatus::Pending => q.filter(completed.eq(false)),
            TaskStatus::Completed => q.filter(completed.eq(true)),
        };
        q = match (query.sort, direction) {
            (SortKey::CreatedAt, SortOrder::Asc) => q.order_by((created_at.asc(), id.asc())),
            (SortKey::CreatedAt, SortOrder::Desc) => q.order_by((created_at.desc(), id.desc())),
            (SortKey::UpdatedAt, SortOrder::Asc) => q.order_by((updated_at.asc(), id.asc())),
            (SortKey::UpdatedAt, SortOrder::Desc) => q.order_by((updated_at.desc(), id.desc())),
            (SortKey::Title, SortOrder::Asc) => q.order_by((title_key.asc(), id.asc())),
            (SortKey::Title, SortOrder::Desc) => q.order_by((title_key.desc(), id.desc())),
            (SortKey::Status, SortOrder::Asc) => q.order_by((completed.asc(), id.asc())),
            (SortKey::Status, SortOrder::Desc) => q.order_by((completed.desc(), id.desc())),
        };
        q.load(c).await
    })
}

/// One of the owner's tasks.
pub(super) async fn find(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(id.eq(task_id))
            .filter(user_id.eq(owner.id()))
            .select(TaskRow::as_select())
            .first(c)
            .await
            .optional()
    })
}

/// Builds the NOTIFY payload of a change from its number, the task id and the row after it
/// (`None`: deleted). Called inside the transaction, once the number is known.
pub(super) type PayloadFn<'a> = dyn Fn(i64, i64, Option<&TaskRow>) -> String + Sync + 'a;

/// A write that happened: the row after it and its change number (`None` when the write
/// changed nothing, as a repeated `set_completed`).
pub(super) struct Written {
    pub row: TaskRow,
    pub seq: Option<i64>,
}

/// Inside a write's transaction: takes the owner's next change number (the upsert locks the
/// owner's counter row until commit, so one owner's changes commit in number order), records
/// the task's last change (a deletion stays as a tombstone), and queues the event.
macro_rules! record_change {
    ($c:expr, $owner:expr, $task_id:expr, $row:expr, $now:expr, $payload:expr) => {{
        use crate::db::events::Notify as _;
        use crate::db::schema::task_changes as tc;
        use crate::db::schema::task_sync_cursors as cur;
        let seq: i64 = diesel::insert_into(cur::table)
            .values((
                cur::user_id.eq($owner),
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
        diesel::insert_into(tc::table)
            .values((
                tc::task_id.eq($task_id),
                tc::user_id.eq($owner),
                tc::seq.eq(seq),
                tc::deleted.eq(deleted),
                tc::changed_at.eq($now),
            ))
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
    ($c:expr, $owner:expr, $task_id:expr, $updated:expr, $now:expr, $payload:expr) => {{
        match $updated {
            None => Ok(None),
            Some(updated) => {
                let seq = record_change!($c, $owner, $task_id, Some(&updated), $now, $payload);
                Ok(Some(Written {
                    row: updated,
                    seq: Some(seq),
                }))
            }
        }
    }};
}

/// Inserts a task for its owner, with its change record and event.
pub(super) async fn insert(
    conn: &mut DbConn,
    row: &NewTaskRow<'_>,
    payload: &PayloadFn<'_>,
) -> QueryResult<Written> {
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let inserted = diesel::insert_into(crate::db::schema::tasks::table)
                .values(row)
                .returning(TaskRow::as_returning())
                .get_result(c)
                .await?;
            let seq = record_change!(
                c,
                row.user_id,
                inserted.id,
                Some(&inserted),
                row.updated_at,
                payload
            );
            Ok(Written {
                row: inserted,
                seq: Some(seq),
            })
        })
        .await
    })
}

/// Applies `changes` to one of the owner's tasks, with its change record and event.
pub(super) async fn update(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    changes: &TaskChanges<'_>,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let updated =
                diesel::update(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
                    .set(changes)
                    .returning(TaskRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()?;
            let now = changes.updated_at;
            record_update!(c, owner.id(), task_id, updated, now, payload)
        })
        .await
    })
}

/// Sets `completed`; only a real change bumps `updated_at` (and makes an event), so repeating
/// it changes nothing. When nothing changed (already in that state, or no such task) the row is
/// read back.
pub(super) async fn set_completed(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    value: bool,
    now: NaiveDateTime,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    let changed = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let updated = diesel::update(
                tasks
                    .filter(id.eq(task_id))
                    .filter(user_id.eq(owner.id()))
                    .filter(completed.ne(value)),
            )
            .set((completed.eq(value), updated_at.eq(now)))
            .returning(TaskRow::as_returning())
            .get_result(c)
            .await
            .optional()?;
            record_update!(c, owner.id(), task_id, updated, now, payload)
        })
        .await
    })?;
    match changed {
        Some(written) => Ok(Some(written)),
        None => Ok(find(conn, owner, task_id)
            .await?
            .map(|row| Written { row, seq: None })),
    }
}

/// Flips `completed` in one `UPDATE … SET completed = NOT completed … RETURNING`, so that
/// concurrent toggles each flip it once.
pub(super) async fn toggle(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    now: NaiveDateTime,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let updated =
                diesel::update(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
                    .set((
                        completed.eq(diesel::dsl::not(completed)),
                        updated_at.eq(now),
                    ))
                    .returning(TaskRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()?;
            record_update!(c, owner.id(), task_id, updated, now, payload)
        })
        .await
    })
}

/// Deletes one of the owner's tasks, leaving a tombstone; `None` when there was none, else the
/// change number.
pub(super) async fn delete(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    now: NaiveDateTime,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<i64>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let deleted =
                diesel::delete(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
                    .execute(c)
                    .await?;
            if deleted == 0 {
                return Ok(None);
            }
            let gone: Option<&TaskRow> = None;
            let seq = record_change!(c, owner.id(), task_id, gone, now, payload);
            Ok(Some(seq))
        })
        .await
    })
}

/// The owner's change counter: (last change number, newest number whose tombstone is gone).
/// (0, 0) for a user who never changed anything.
pub(super) async fn cursor(conn: &mut DbConn, owner: &AuthUser) -> QueryResult<(i64, i64)> {
    use crate::db::schema::task_sync_cursors::dsl::*;
    let found = db_run!(conn, |c| {
        task_sync_cursors
            .filter(user_id.eq(owner.id()))
            .select((last_seq, pruned_seq))
            .first::<(i64, i64)>(c)
            .await
            .optional()
    })?;
    Ok(found.unwrap_or((0, 0)))
}

/// Drops the owner's tombstones older than `before`, remembering the newest number dropped so
/// an older cursor is refused instead of silently missing those deletions.
pub(super) async fn prune_tombstones(
    conn: &mut DbConn,
    owner: &AuthUser,
    before: NaiveDateTime,
) -> QueryResult<()> {
    use crate::db::schema::task_changes as tc;
    use crate::db::schema::task_sync_cursors as cur;
    // A plain read first: most of the time there is nothing to drop and nothing to lock.
    let newest: Option<i64> = db_run!(conn, |c| {
        tc::table
            .filter(tc::user_id.eq(owner.id()))
            .filter(tc::deleted.eq(true))
            .filter(tc::changed_at.lt(before))
            .select(diesel::dsl::max(tc::seq))
            .first(c)
            .await
    })?;
    let Some(newest) = newest else {
        return Ok(());
    };
    db_run!(conn, |c| {
        // Writes only, the counter first: on SQLite a transaction that read before writing
        // could fail to upgrade to a writer ("database is locked") when another write slips in.
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            diesel::update(
                cur::table
                    .filter(cur::user_id.eq(owner.id()))
                    .filter(cur::pruned_seq.lt(newest)),
            )
            .set(cur::pruned_seq.eq(newest))
            .execute(c)
            .await?;
            diesel::delete(
                tc::table
                    .filter(tc::user_id.eq(owner.id()))
                    .filter(tc::deleted.eq(true))
                    .filter(tc::seq.le(newest)),
            )
            .execute(c)
            .await?;
            Ok(())
        })
        .await
    })
}

/// The owner's changes numbered `after < seq <= upto`, oldest first: (seq, task id, deleted).
pub(super) async fn changes_between(
    conn: &mut DbConn,
    owner: &AuthUser,
    after: i64,
    upto: i64,
) -> QueryResult<Vec<(i64, i64, bool)>> {
    use crate::db::schema::task_changes::dsl::*;
    db_run!(conn, |c| {
        task_changes
            .filter(user_id.eq(owner.id()))
            .filter(seq.gt(after))
            .filter(seq.le(upto))
            .order_by(seq.asc())
            .select((seq, task_id, deleted))
            .load(c)
            .await
    })
}

/// Those of the owner's tasks whose ids are listed (missing ones were deleted meanwhile).
pub(super) async fn find_many(
    conn: &mut DbConn,
    owner: &AuthUser,
    ids: &[i64],
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(user_id.eq(owner.id()))
            .filter(id.eq_any(ids))
            .select(TaskRow::as_select())
            .load(c)
            .await
    })
}

/// One task of the user an event names, for an event whose payload was too large to carry
/// the task. The owner comes from our own NOTIFY (written by a verified request), not from a
/// client, and the query is still filtered by it.
pub(super) async fn find_for_event(
    conn: &mut DbConn,
    owner_id: &str,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(id.eq(task_id))
            .filter(user_id.eq(owner_id))
            .select(TaskRow::as_select())
            .first(c)
            .await
            .optional()
    })
}
