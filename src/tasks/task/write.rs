//! Task writes' statements and the one place a task's fields meet their columns
//! ([`NewTaskRow`], [`TaskChanges`], which PostgreSQL's write functions are given too, as
//! JSON: `folded`): insert (under the per-owner cap), update, set/flip `completed` (deletes, which
//! take subtrees with them, are `moves`'). SQLite takes a plain write through these
//! (`stepwise`); PostgreSQL takes it in one function call (`folded`) and comes here only for
//! what comes back held (a repeating task past its last occurrence). Each change adds one to
//! the task's
//! `version` (on PostgreSQL the database's trigger is the authority; SQLite's RETURNING shows
//! the row before its triggers, so the server writes it). [`lock`] holds a task for a
//! conditional write. The journal entry and event payload are the database's triggers' (`journal`),
//! inside the caller's unit-of-work transaction; each filters its target by
//! `visible_to(viewer)`.
//!
//! It must not open transactions or read the journal (that is `journal`, for sync).

use chrono::NaiveDateTime;
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::sync::journal::Written;
use crate::tasks::task::fields::task_fields;
use crate::tasks::task::model::{Category, NewTask, Priority, TaskPatch, TaskRow};
use crate::tasks::task::query::find;
use crate::tasks::task::rules::micros;
use crate::tasks::task::time::{pg_json, pg_json_change};
use crate::tasks::visibility::{actor, owned_by_user, writable_by};

/// Runs an `UPDATE` of tasks, returning the row it wrote (`None`: no row matched). A macro,
/// as the statement's type is each backend's (expanded inside `db_run!`).
macro_rules! returning_row {
    ($update:expr, $c:expr) => {
        $update
            .returning(crate::tasks::task::model::TaskRow::as_returning())
            .get_result($c)
            .await
            .optional()
    };
}
pub(in crate::tasks) use returning_row;

/// Defines [`NewTaskRow`] and [`TaskChanges`] with their constructors: the shaped fields
/// here, the writable plain ones from the field table (their values as given, cloned).
macro_rules! task_writes {
    ($($column:ident ($inner:ty) $create:tt $update:tt,)*) => {
        /// A row to insert: a validated [`NewTask`] as the table stores it (ranks, times cut to
        /// microseconds; the search keys are the database's, see `task::search_keys`). The one place a
        /// create's fields meet their columns: SQLite inserts it, PostgreSQL's `task_create` takes it
        /// as JSON (`folded`), its keys the columns' names. Serialised are the fields the function
        /// takes as given (a new plain column is one more); `skip` marks those it decides itself.
        #[derive(Insertable, serde::Serialize)]
        #[diesel(table_name = crate::db::schema::tasks)]
        pub(in crate::tasks) struct NewTaskRow<'a> {
            #[serde(skip)]
            pub(in crate::tasks) user_id: &'a str,
            pub(in crate::tasks) title: &'a str,
            pub(in crate::tasks) description: Option<&'a str>,
            #[serde(skip)]
            pub(in crate::tasks) completed: bool,
            #[serde(skip)]
            pub(in crate::tasks) created_at: NaiveDateTime,
            #[serde(skip)]
            pub(in crate::tasks) updated_at: NaiveDateTime,
            pub(in crate::tasks) priority: i16,
            pub(in crate::tasks) category: &'a str,
            #[serde(serialize_with = "pg_json")]
            pub(in crate::tasks) due_date: Option<NaiveDateTime>,
            pub(in crate::tasks) list_id: Option<i64>,
            pub(in crate::tasks) parent_id: Option<i64>,
            #[serde(skip)]
            pub(in crate::tasks) position: String,
            pub(in crate::tasks) tags: String,
            pub(in crate::tasks) recurrence: Option<&'a str>,
            pub(in crate::tasks) time_zone: &'a str,
            #[serde(serialize_with = "pg_json")]
            pub(in crate::tasks) remind_at: Option<NaiveDateTime>,
            #[serde(skip)]
            pub(in crate::tasks) recurrence_start: Option<NaiveDateTime>,
            #[serde(skip)]
            pub(in crate::tasks) created_by: Option<&'a str>,
            $(pub(in crate::tasks) $column: Option<$inner>,)*
        }

        impl<'a> NewTaskRow<'a> {
            /// The row for a validated input, placed at `position` among its siblings, owned by
            /// `owner` (a shared list's owner when an editor writes it), created by `creator`.
            pub(in crate::tasks) fn new(
                owner: &'a str,
                creator: Option<&'a str>,
                input: &'a NewTask,
                now: NaiveDateTime,
                position: String,
            ) -> Self {
                let due_date = input.due_date.map(|d| micros(d).naive_utc());
                NewTaskRow {
                    user_id: owner,
                    title: &input.title,
                    description: input.description.as_deref(),
                    completed: false,
                    created_at: now,
                    updated_at: now,
                    priority: input.priority.unwrap_or_default().rank(),
                    category: input.category.unwrap_or_default().as_str(),
                    due_date,
                    list_id: input.list_id,
                    parent_id: input.parent_id,
                    position,
                    tags: serde_json::to_string(input.tags.as_deref().unwrap_or_default())
                        .unwrap_or_else(|_| "[]".to_owned()),
                    recurrence: input.recurrence.as_deref(),
                    time_zone: input.time_zone.as_deref().unwrap_or("UTC"),
                    remind_at: input.remind_at.map(|at| micros(at).naive_utc()),
                    // A series counts its occurrences from the due date it began with.
                    recurrence_start: input.recurrence.as_ref().and(due_date),
                    created_by: creator,
                    $($column: input.$column.clone(),)*
                }
            }
        }

        /// Columns to change: a validated [`TaskPatch`] as the table stores it; `None` leaves a column
        /// alone, `Some(None)` sets NULL. `completed_at` follows `completed` and is set by [`update`]
        /// itself. The one place an update's fields meet their columns: SQLite's `UPDATE … SET`, and
        /// PostgreSQL's `task_update` takes it as JSON (`folded`), a key present for each column set
        /// (null: cleared), none for one left alone.
        #[derive(AsChangeset, serde::Serialize)]
        #[diesel(table_name = crate::db::schema::tasks)]
        pub(in crate::tasks) struct TaskChanges<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) title: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) description: Option<Option<&'a str>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) completed: Option<bool>,
            /// The write's time (`task_update` takes it as its `now`).
            #[serde(skip)]
            pub(in crate::tasks) updated_at: NaiveDateTime,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) priority: Option<i16>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) category: Option<&'a str>,
            #[serde(
                skip_serializing_if = "Option::is_none",
                serialize_with = "pg_json_change"
            )]
            pub(in crate::tasks) due_date: Option<Option<NaiveDateTime>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) recurrence: Option<Option<&'a str>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) time_zone: Option<&'a str>,
            #[serde(
                skip_serializing_if = "Option::is_none",
                serialize_with = "pg_json_change"
            )]
            pub(in crate::tasks) remind_at: Option<Option<NaiveDateTime>>,
            /// `Some(None)` (re-armed) with every `remind_at` written.
            #[serde(
                skip_serializing_if = "Option::is_none",
                serialize_with = "pg_json_change"
            )]
            pub(in crate::tasks) reminded_at: Option<Option<NaiveDateTime>>,
            #[serde(
                skip_serializing_if = "Option::is_none",
                serialize_with = "pg_json_change"
            )]
            pub(in crate::tasks) recurrence_start: Option<Option<NaiveDateTime>>,
            /// The JSON array; the tag index is rewritten with it by the service (`tags::store`).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) tags: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) list_id: Option<Option<i64>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) parent_id: Option<Option<i64>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub(in crate::tasks) position: Option<&'a str>,
            $(
                #[serde(skip_serializing_if = "Option::is_none")]
                pub(in crate::tasks) $column: Option<Option<$inner>>,
            )*
        }

        impl<'a> TaskChanges<'a> {
            pub(in crate::tasks) fn new(
                patch: &'a TaskPatch,
                series: &SeriesWrite,
                now: NaiveDateTime,
            ) -> Self {
                let due_date = patch.due_date.map(|d| d.map(|d| micros(d).naive_utc()));
                let recurrence = patch.recurrence.as_ref().map(|r| r.as_deref());
                // An occurrence completed moves the reminder with the due date (`series`).
                let (remind_at, reminded_at) =
                    crate::tasks::reminders::rules::written(series.remind_at, patch.remind_at);
                TaskChanges {
                    title: patch.title.as_deref(),
                    description: patch.description.as_ref().map(|d| d.as_deref()),
                    // An advance writes `completed` itself (false).
                    completed: patch.completed.filter(|_| series.advance_to.is_none()),
                    updated_at: now,
                    priority: patch.priority.map(Priority::rank),
                    category: patch.category.map(Category::as_str),
                    due_date: series.advance_to.map(Some).or(due_date),
                    recurrence: if series.stop { Some(None) } else { recurrence },
                    time_zone: patch.time_zone.as_deref(),
                    remind_at,
                    reminded_at,
                    recurrence_start: series.start,
                    tags: patch
                        .tags
                        .as_ref()
                        .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".to_owned())),
                    // Set by the service, with the position, when a PUT moves the task (`moves`).
                    list_id: patch.list_id,
                    parent_id: patch.parent_id,
                    position: patch.position.as_deref(),
                    $($column: patch.$column.clone(),)*
                }
            }
        }
    };
}

task_fields!(writable => task_writes);

/// What an update does to a repeating task's series, decided by `tasks::series` from the row
/// it replaces: the default changes nothing.
#[derive(Debug, Default)]
pub(in crate::tasks) struct SeriesWrite {
    /// Stop repeating (`recurrence` NULL), whatever the patch says: its due date was cleared.
    pub(in crate::tasks) stop: bool,
    /// The new `recurrence_start` (`Some(None)`: NULL).
    pub(in crate::tasks) start: Option<Option<NaiveDateTime>>,
    /// The update completes an occurrence: the due date moves here, the task stays pending and
    /// `completed_at` is stamped.
    pub(in crate::tasks) advance_to: Option<NaiveDateTime>,
    /// With `advance_to`: the reminder, moved by as much as the due date (and re-armed).
    pub(in crate::tasks) remind_at: Option<NaiveDateTime>,
}

/// Inserts a task for `viewer` at `position` among its siblings (`tasks::order::tree::room_at_end`)
/// (its journal entry and event are the database's), only while they own fewer
/// than `cap` tasks; `None` at the cap. The count and the insert share the unit's transaction
/// (`BEGIN IMMEDIATE` on SQLite, so the read-then-write never fails to upgrade; SQLite runs
/// one write transaction at a time, so needs no lock). PostgreSQL's creates are
/// `task_create`'s (`folded`), which counts under the owner's placement lock: READ COMMITTED
/// would let two concurrent creates see the same count.
pub(in crate::tasks) async fn insert(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_owner: &str,
    input: &NewTask,
    position: String,
    now: NaiveDateTime,
    cap: u64,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::tasks;
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    // The count below must not race another create: the caller holds the placement lock.
    let inserted = db_run!(conn, |c| {
        let owned: i64 = tasks
            .filter(owned_by_user(task_owner))
            .count()
            .get_result(c)
            .await?;
        if owned >= cap {
            return Ok(None);
        }
        let row = &NewTaskRow::new(task_owner, Some(actor(viewer)), input, now, position);
        diesel::insert_into(tasks)
            .values(row)
            .returning(TaskRow::as_returning())
            .get_result(c)
            .await
            .map(Some)
    })?;
    Ok(inserted.map(|row| Written { row }))
}

/// Applies `patch` to one of the viewer's tasks. When
/// `completed` is set, `completed_at` follows it in the same statement: stamped `now` when the
/// task becomes completed, kept when it already was, cleared when it becomes pending. When
/// `series` advances a repeating task, it stays pending with `completed_at` = now.
pub(in crate::tasks) async fn update(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    (patch, series): (&TaskPatch, &SeriesWrite),
    now: NaiveDateTime,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::case_when;
    let changes = &TaskChanges::new(patch, series, now);
    let now = Some(changes.updated_at);
    let advancing = series.advance_to.is_some();
    let updated = db_run!(conn, |c| {
        let target = tasks.filter(id.eq(task_id)).filter(writable_by(viewer));
        match changes.completed {
            _ if advancing => returning_row!(
                diesel::update(target).set((
                    changes,
                    completed.eq(false),
                    version.eq(version + 1),
                    completed_at.eq(now),
                )),
                c
            ),
            None => returning_row!(
                diesel::update(target).set((changes, version.eq(version + 1))),
                c
            ),
            // The CASE reads the row as it was before this statement.
            Some(true) => returning_row!(
                diesel::update(target).set((
                    changes,
                    version.eq(version + 1),
                    completed_at.eq(case_when(completed.eq(true), completed_at)
                        .otherwise(now.into_sql::<Nullable<Timestamp>>())),
                )),
                c
            ),
            Some(false) => returning_row!(
                diesel::update(target).set((
                    changes,
                    version.eq(version + 1),
                    completed_at.eq(None::<NaiveDateTime>),
                )),
                c
            ),
        }
    })?;
    Ok(updated.map(|row| Written { row }))
}

/// Sets `completed`; only a real change bumps `updated_at` and `completed_at` (and makes an
/// event), so repeating it changes nothing. When nothing changed (already in that state, or no
/// such task) the row is read back.
pub(in crate::tasks) async fn set_completed(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    value: bool,
    now: NaiveDateTime,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    let stamp = value.then_some(now);
    let updated = db_run!(conn, |c| {
        returning_row!(
            diesel::update(
                tasks
                    .filter(id.eq(task_id))
                    .filter(writable_by(viewer))
                    .filter(completed.ne(value)),
            )
            .set((
                completed.eq(value),
                updated_at.eq(now),
                completed_at.eq(stamp),
                version.eq(version + 1),
            )),
            c
        )
    })?;
    let row = match updated {
        Some(row) => Some(row),
        None => find(conn, viewer, task_id).await?,
    };
    Ok(row.map(|row| Written { row }))
}

/// Flips `completed` in one `UPDATE … SET completed = NOT completed, completed_at = CASE …
/// RETURNING`, so that concurrent toggles each flip it once. The CASE reads the row as it was
/// before: a pending task gets `now`, a completed one NULL.
pub(in crate::tasks) async fn toggle(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::case_when;
    let updated = db_run!(conn, |c| {
        returning_row!(
            diesel::update(tasks.filter(id.eq(task_id)).filter(writable_by(viewer))).set((
                completed.eq(diesel::dsl::not(completed)),
                updated_at.eq(now),
                completed_at.eq(case_when(completed.eq(false), now.into_sql::<Timestamp>())),
                version.eq(version + 1),
            )),
            c
        )
    })?;
    Ok(updated.map(|row| Written { row }))
}

/// One of the viewer's tasks, held until the write's transaction ends, for a conditional write
/// to check its version against: the version checked is then the one the write changes. On
/// PostgreSQL `SELECT … FOR UPDATE` (under READ COMMITTED a concurrent conditional write waits
/// here and then reads the version this one left); SQLite needs no lock, its write
/// transactions (`BEGIN IMMEDIATE`) run one at a time, and has no `FOR UPDATE`.
pub(in crate::tasks) async fn lock(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    conn.per_store(Hold { viewer, task_id }).await
}

/// One task held for a conditional write ([`lock`]).
struct Hold<'a> {
    viewer: &'a AuthUser,
    task_id: i64,
}

impl PerStore for Hold<'_> {
    type Output = QueryResult<Option<TaskRow>>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        use crate::db::schema::tasks::dsl::*;
        tasks
            .filter(id.eq(self.task_id))
            .filter(writable_by(self.viewer))
            .select(TaskRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        find(conn, self.viewer, self.task_id).await
    }
}
