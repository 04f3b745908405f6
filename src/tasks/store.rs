//! All task SQL, written once in diesel's DSL and expanded for each backend by [`db_run!`].
//! Every function takes the owner, and every statement is filtered by it: no function here
//! can read or change a task by id alone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::model::{ListQuery, SortKey, SortOrder, TaskRow, TaskStatus, search_pattern};
use super::page::{PageRequest, SortValue};
use crate::auth::AuthUser;
use crate::db::DbConn;
use diesel::IntoSql;

use crate::db_run;

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(super) struct NewTaskRow<'a> {
    pub user_id: &'a str,
    pub title: &'a str,
    pub title_key: &'a str,
    pub description: Option<&'a str>,
    pub description_key: Option<&'a str>,
    pub completed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub priority: i16,
    pub category: &'a str,
    pub due_date: Option<NaiveDateTime>,
}

/// Columns to change; `None` leaves a column alone, `Some(None)` sets NULL.
/// `completed_at` follows `completed` and is set by [`update`] itself.
#[derive(AsChangeset)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(super) struct TaskChanges<'a> {
    pub title: Option<&'a str>,
    pub title_key: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub description_key: Option<Option<&'a str>>,
    pub completed: Option<bool>,
    pub updated_at: NaiveDateTime,
    pub priority: Option<i16>,
    pub category: Option<&'a str>,
    pub due_date: Option<Option<NaiveDateTime>>,
}

/// Adds the filters of a [`ListQuery`] to a boxed query on `tasks` (written once, expanded
/// for each backend inside `db_run!`).
macro_rules! filtered {
    ($q:expr, $query:expr, $now:expr) => {{
        use crate::db::schema::tasks::dsl::*;
        let query: &ListQuery = $query;
        let mut q = $q;
        q = match query.status {
            TaskStatus::All => q,
            TaskStatus::Pending => q.filter(completed.eq(false)),
            TaskStatus::Completed => q.filter(completed.eq(true)),
        };
        if let Some(wanted) = query.priority {
            q = q.filter(priority.eq(wanted.rank()));
        }
        if let Some(wanted) = query.category {
            q = q.filter(category.eq(wanted.as_str()));
        }
        if let Some(text) = query.search.as_deref().filter(|t| !t.is_empty()) {
            // Both keys are lower-cased by the application; the needle is lower-cased and
            // escaped the same way, so the match is the same on both backends.
            let pattern = search_pattern(text);
            q = q.filter(
                title_key
                    .like(pattern.clone())
                    .escape('\\')
                    .or(description_key.like(pattern).escape('\\')),
            );
        }
        if let Some(before) = query.due_before {
            q = q.filter(due_date.lt(before.naive_utc()));
        }
        if let Some(after) = query.due_after {
            q = q.filter(due_date.gt(after.naive_utc()));
        }
        if query.overdue {
            let now: NaiveDateTime = $now;
            q = q.filter(completed.eq(false)).filter(due_date.lt(now));
        }
        q
    }};
}

/// Keeps the rows after `$value, $after_id` in the order (`$col`, id) `$dir`. The first,
/// redundant condition bounds the index range; the second breaks ties by id.
macro_rules! after_key {
    ($q:expr, $col:expr, $dir:expr, $value:expr, $after_id:expr) => {{
        use crate::db::schema::tasks::dsl::id;
        match $dir {
            SortOrder::Asc => $q
                .filter($col.ge($value.clone()))
                .filter($col.gt($value).or(id.gt($after_id))),
            SortOrder::Desc => $q
                .filter($col.le($value.clone()))
                .filter($col.lt($value).or(id.lt($after_id))),
        }
    }};
}

/// The owner's tasks, filtered and ordered as asked; with a page, at most `limit` of them
/// after its cursor.
pub(super) async fn list(
    conn: &mut DbConn,
    owner: &AuthUser,
    query: &ListQuery,
    page: Option<&PageRequest>,
    now: NaiveDateTime,
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    let direction = query.direction();
    let after = page.and_then(|p| p.after.as_ref());
    db_run!(conn, |c| {
        let mut q = filtered!(
            tasks
                .filter(user_id.eq(owner.id()))
                .select(TaskRow::as_select())
                .into_boxed(),
            query,
            now
        );
        if let Some(cursor) = after {
            let i = cursor.id;
            q = match &cursor.value {
                SortValue::Time(at) if cursor.sort == SortKey::UpdatedAt => {
                    after_key!(q, updated_at, direction, *at, i)
                }
                SortValue::Time(at) => after_key!(q, created_at, direction, *at, i),
                SortValue::Text(key) => after_key!(q, title_key, direction, key.clone(), i),
                SortValue::Flag(flag) => after_key!(q, completed, direction, *flag, i),
                SortValue::Rank(rank) => after_key!(q, priority, direction, *rank, i),
                // Tasks without a due date come last in both directions, by id.
                SortValue::Due(None) => match direction {
                    SortOrder::Asc => q.filter(due_date.is_null()).filter(id.gt(i)),
                    SortOrder::Desc => q.filter(due_date.is_null()).filter(id.lt(i)),
                },
                SortValue::Due(Some(at)) => match direction {
                    SortOrder::Asc => q.filter(
                        due_date
                            .is_null()
                            .or(due_date.gt(*at))
                            .or(due_date.eq(*at).and(id.gt(i))),
                    ),
                    SortOrder::Desc => q.filter(
                        due_date
                            .is_null()
                            .or(due_date.lt(*at))
                            .or(due_date.eq(*at).and(id.lt(i))),
                    ),
                },
            };
        }
        q = match (query.sort, direction) {
            (SortKey::CreatedAt, SortOrder::Asc) => q.order_by((created_at.asc(), id.asc())),
            (SortKey::CreatedAt, SortOrder::Desc) => q.order_by((created_at.desc(), id.desc())),
            (SortKey::UpdatedAt, SortOrder::Asc) => q.order_by((updated_at.asc(), id.asc())),
            (SortKey::UpdatedAt, SortOrder::Desc) => q.order_by((updated_at.desc(), id.desc())),
            (SortKey::Title, SortOrder::Asc) => q.order_by((title_key.asc(), id.asc())),
            (SortKey::Title, SortOrder::Desc) => q.order_by((title_key.desc(), id.desc())),
            (SortKey::Status, SortOrder::Asc) => q.order_by((completed.asc(), id.asc())),
            (SortKey::Status, SortOrder::Desc) => q.order_by((completed.desc(), id.desc())),
            (SortKey::Priority, SortOrder::Asc) => q.order_by((priority.asc(), id.asc())),
            (SortKey::Priority, SortOrder::Desc) => q.order_by((priority.desc(), id.desc())),
            // `due_date IS NULL` first: false before true puts undated tasks last in both
            // directions (the backends disagree on where NULLs go by themselves).
            (SortKey::DueDate, SortOrder::Asc) => {
                q.order_by((due_date.is_null().asc(), due_date.asc(), id.asc()))
            }
            (SortKey::DueDate, SortOrder::Desc) => {
                q.order_by((due_date.is_null().asc(), due_date.desc(), id.desc()))
            }
        };
        if let Some(page) = page {
            q = q.limit(page.limit);
        }
        q.load(c).await
    })
}

/// How many of the owner's tasks match the filters.
pub(super) async fn count(
    conn: &mut DbConn,
    owner: &AuthUser,
    query: &ListQuery,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    // The names come into scope inside `filtered!`.
    db_run!(conn, |c| {
        filtered!(
            tasks
                .filter(user_id.eq(owner.id()))
                .select(diesel::dsl::count_star())
                .into_boxed(),
            query,
            now
        )
        .get_result(c)
        .await
    })
}

/// Per (priority rank, category, completed): the number of tasks, and of those pending and
/// due before `now`. One grouped statement, so the figures are from one snapshot.
pub(super) async fn stats(
    conn: &mut DbConn,
    owner: &AuthUser,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i16, String, bool, i64, i64)>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::{case_when, count, count_star};
    db_run!(conn, |c| {
        tasks
            .filter(user_id.eq(owner.id()))
            .group_by((priority, category, completed))
            .select((
                priority,
                category,
                completed,
                count_star(),
                // COUNT skips the NULLs the CASE gives for every other row.
                count(case_when(
                    completed.eq(false).and(due_date.lt(now).assume_not_null()),
                    id,
                )),
            ))
            .load(c)
            .await
    })
}

/// Rows (of any owner) with a description but no search key yet: written before the key
/// existed. At most `batch` of them.
pub(super) async fn missing_description_keys(
    conn: &mut DbConn,
    batch: i64,
) -> QueryResult<Vec<(i64, String)>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(description_key.is_null())
            .filter(description.is_not_null())
            .select((id, description.assume_not_null()))
            .order_by(id.asc())
            .limit(batch)
            .load(c)
            .await
    })
}

/// Stores search keys computed by the application, in one transaction.
pub(super) async fn set_description_keys(
    conn: &mut DbConn,
    keys: &[(i64, String)],
) -> QueryResult<()> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            for (task_id, key) in keys {
                diesel::update(tasks.filter(id.eq(*task_id)))
                    .set(description_key.eq(key))
                    .execute(c)
                    .await?;
            }
            Ok(())
        })
        .await
    })
}

/// One of the owner's tasks.
pub(super) async fn find(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    find_for_event(conn, owner.id(), task_id).await
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
/// the task's last change (a deletion stays as a tombstone) and, when `$created`, the number
/// that created it (kept by later changes: replay says CREATED to a client whose cursor is
/// older), and queues the event.
macro_rules! record_change {
    ($c:expr, $owner:expr, $task_id:expr, $row:expr, $created:expr, $now:expr, $payload:expr) => {{
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
        let created: bool = $created;
        diesel::insert_into(tc::table)
            .values((
                tc::task_id.eq($task_id),
                tc::user_id.eq($owner),
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
    ($c:expr, $owner:expr, $task_id:expr, $updated:expr, $now:expr, $payload:expr) => {{
        match $updated {
            None => Ok(None),
            Some(updated) => {
                let seq =
                    record_change!($c, $owner, $task_id, Some(&updated), false, $now, $payload);
                Ok(Some(Written {
                    row: updated,
                    seq: Some(seq),
                }))
            }
        }
    }};
}

/// Inserts a task for its owner, with its change record and event, only while the owner has
/// fewer than `cap` tasks; `None` at the cap. The count and the insert share one transaction.
/// On PostgreSQL, READ COMMITTED would let two concurrent creates see the same count, so the
/// transaction first takes a per-owner advisory lock (PostgreSQL only: SQLite has none and
/// needs none, as the service runs one SQLite write at a time).
pub(super) async fn insert(
    conn: &mut DbConn,
    row: &NewTaskRow<'_>,
    cap: u64,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::{tasks, user_id};
    use diesel::sql_types::Text;
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    macro_rules! counted_insert {
        ($c:expr) => {{
            let owned: i64 = tasks
                .filter(user_id.eq(row.user_id))
                .count()
                .get_result($c)
                .await?;
            if owned >= cap {
                return Ok(None);
            }
            let inserted = diesel::insert_into(tasks)
                .values(row)
                .returning(TaskRow::as_returning())
                .get_result($c)
                .await?;
            let seq = record_change!(
                $c,
                row.user_id,
                inserted.id,
                Some(&inserted),
                true,
                row.updated_at,
                payload
            );
            Ok(Some(Written {
                row: inserted,
                seq: Some(seq),
            }))
        }};
    }
    match conn {
        DbConn::Postgres(pooled) => {
            (**pooled)
                .transaction::<_, diesel::result::Error, _>(async |c| {
                    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                        .bind::<Text, _>(row.user_id)
                        .execute(c)
                        .await?;
                    counted_insert!(c)
                })
                .await
        }
        DbConn::Sqlite(pooled) => {
            (**pooled)
                .transaction::<_, diesel::result::Error, _>(async |c| counted_insert!(c))
                .await
        }
    }
}

/// Applies `changes` to one of the owner's tasks, with its change record and event. When
/// `completed` is set, `completed_at` follows it in the same statement: stamped `now` when the
/// task becomes completed, kept when it already was, cleared when it becomes pending.
pub(super) async fn update(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    changes: &TaskChanges<'_>,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::case_when;
    let now = Some(changes.updated_at);
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let target = tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id()));
            let updated = match changes.completed {
                None => diesel::update(target)
                    .set(changes)
                    .returning(TaskRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()?,
                // The CASE reads the row as it was before this statement.
                Some(true) => diesel::update(target)
                    .set((
                        changes,
                        completed_at.eq(case_when(completed.eq(true), completed_at)
                            .otherwise(now.into_sql::<Nullable<Timestamp>>())),
                    ))
                    .returning(TaskRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()?,
                Some(false) => diesel::update(target)
                    .set((changes, completed_at.eq(None::<NaiveDateTime>)))
                    .returning(TaskRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()?,
            };
            let changed_at = changes.updated_at;
            record_update!(c, owner.id(), task_id, updated, changed_at, payload)
        })
        .await
    })
}

/// Sets `completed`; only a real change bumps `updated_at` and `completed_at` (and makes an
/// event), so repeating it changes nothing. When nothing changed (already in that state, or no
/// such task) the row is read back.
pub(super) async fn set_completed(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    value: bool,
    now: NaiveDateTime,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    let stamp = value.then_some(now);
    let changed = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let updated = diesel::update(
                tasks
                    .filter(id.eq(task_id))
                    .filter(user_id.eq(owner.id()))
                    .filter(completed.ne(value)),
            )
            .set((
                completed.eq(value),
                updated_at.eq(now),
                completed_at.eq(stamp),
            ))
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

/// Flips `completed` in one `UPDATE … SET completed = NOT completed, completed_at = CASE …
/// RETURNING`, so that concurrent toggles each flip it once. The CASE reads the row as it was
/// before: a pending task gets `now`, a completed one NULL.
pub(super) async fn toggle(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    now: NaiveDateTime,
    payload: &PayloadFn<'_>,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::case_when;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let updated =
                diesel::update(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
                    .set((
                        completed.eq(diesel::dsl::not(completed)),
                        updated_at.eq(now),
                        completed_at
                            .eq(case_when(completed.eq(false), now.into_sql::<Timestamp>())),
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
            let seq = record_change!(c, owner.id(), task_id, gone, false, now, payload);
            Ok(Some(seq))
        })
        .await
    })
}

/// Deletes the owner's completed tasks in one transaction, leaving a tombstone and an event
/// for each (in id order), and returns their ids with their change numbers.
pub(super) async fn delete_completed(
    conn: &mut DbConn,
    owner: &AuthUser,
    now: NaiveDateTime,
    payload: &PayloadFn<'_>,
) -> QueryResult<Vec<(i64, i64)>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        // The delete (a write) first: on SQLite the transaction is a writer from the start.
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let mut ids: Vec<i64> = diesel::delete(
                tasks
                    .filter(user_id.eq(owner.id()))
                    .filter(completed.eq(true)),
            )
            .returning(id)
            .get_results(c)
            .await?;
            ids.sort_unstable();
            let mut deleted = Vec::with_capacity(ids.len());
            for gone_id in ids {
                let gone: Option<&TaskRow> = None;
                let seq = record_change!(c, owner.id(), gone_id, gone, false, now, payload);
                deleted.push((gone_id, seq));
            }
            Ok(deleted)
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

/// One task's last change, as recorded for sync.
pub(super) struct ChangeEntry {
    pub seq: i64,
    pub task_id: i64,
    pub deleted: bool,
    /// The change number that created the task (`None`: created before it was recorded).
    pub created_seq: Option<i64>,
}

/// The owner's changes numbered `after < seq <= upto`, oldest first.
pub(super) async fn changes_between(
    conn: &mut DbConn,
    owner: &AuthUser,
    after: i64,
    upto: i64,
) -> QueryResult<Vec<ChangeEntry>> {
    use crate::db::schema::task_changes::dsl::*;
    db_run!(conn, |c| {
        task_changes
            .filter(user_id.eq(owner.id()))
            .filter(seq.gt(after))
            .filter(seq.le(upto))
            .order_by(seq.asc())
            .select((seq, task_id, deleted, created_seq))
            .load::<(i64, i64, bool, Option<i64>)>(c)
            .await
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
