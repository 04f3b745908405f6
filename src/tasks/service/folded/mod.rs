//! The plain task writes as the service asks for them (create, update, complete or toggle,
//! delete), each written here for both stores side by side (`db::PerStore`): on PostgreSQL ONE
//! statement, a call of a function in this folder (`task_create.sql`, `task_update.sql`,
//! `task_complete.sql`, `task_delete.sql`, each with its `_owned` half; first made by migration
//! 000050), which takes the owner's locks, checks the list, the parent, the caps and the
//! precondition, writes the task and its tag index (a delete: its subtree and the tombstone
//! prune), where the server used to wait for each of those statements in turn. SQLite runs in
//! process, with no round trips to save: it takes the same steps one statement at a time
//! ([`stepwise`]), to the same outcomes.
//!
//! Where a rule needs Rust (a repeating task's next occurrence, a move, renumbering a group
//! whose next key would be too long), nothing is written and the task comes back held
//! ([`Changed::Pending`], [`Created::NeedsRoom`]): the service decides, and finishes in one more
//! statement ([`update_planned`], `write::toggle`, …) or, for a move or a renumbering, in the
//! steps those take.
//!
//! `task_create` and `task_update` take ONE `jsonb` argument ([`CreateCall`], [`UpdateCall`]):
//! the call's own values, and the row as `write::NewTaskRow` (`task`) or the columns to change
//! as `write::TaskChanges` (`set`: a key present sets its column, null clears it), serialised
//! by serde under the columns' names. A new plain column is one more field of those two
//! structs and needs nothing here nor in the functions (docs/OPERATING.md, "Adding a task
//! field"). Times travel as text PostgreSQL reads back to the microsecond (`time::pg_text`).
//!
//! A function refuses by raising `todo_api refused: <code>[ <number>]`; [`refusal`] is the
//! one place those messages are read (`calls`). It must not decide a rule itself (that is the service's
//! and the functions', which are given the limits).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, Nullable, Text, Timestamp};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::{DbConn, PerStore};
use crate::tasks::order::position::MAX_POSITION_CHARS;
use crate::tasks::service::outcome::{Changed, Created, Limits, Outcome, Refusal};
use crate::tasks::sync::journal::Written;
use crate::tasks::task::model::{NewTask, Precondition, TaskPatch, TaskRow};
use crate::tasks::task::time::pg_text;
use crate::tasks::task::write::{NewTaskRow, SeriesWrite, TaskChanges};
use crate::tasks::visibility::owner;

mod calls;
pub(in crate::tasks) mod stepwise;

use self::calls::{
    Call, CreateCall, Stepped, admitted, argument, call_update, limit, refusal, small, stepped,
    tag_keys,
};

/// Creates a task for the viewer (see `task_create`): in its list (checked), under its
/// parent (checked; a subtask takes its parent's list), after the last of its group (or at
/// `position`, a renumbered group's), under the task and tag caps, with its tags indexed.
pub(in crate::tasks) async fn create(
    conn: &mut DbConn,
    viewer: &AuthUser,
    input: &NewTask,
    position: Option<&str>,
    now: NaiveDateTime,
    limits: Limits,
) -> Outcome<Created> {
    conn.per_store(Create {
        viewer,
        input,
        position,
        now,
        limits,
    })
    .await
}

/// Completes (`Some(true)`), reopens (`Some(false)`) or toggles (`None`) one of the viewer's
/// tasks, checking `expect` on it held. A pending repeating task being completed comes back
/// [`Changed::Pending`] (its occurrence is the service's: `tasks::series`); one already as
/// asked comes back as it is, unchanged. `None`: no such task.
pub(in crate::tasks) async fn complete(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    value: Option<bool>,
    expect: &Precondition,
    now: NaiveDateTime,
) -> Outcome<Option<Changed>> {
    conn.per_store(Complete {
        viewer,
        task_id,
        value,
        expect,
        now,
    })
    .await
}

/// Applies `patch` to one of the viewer's tasks, checking `expect` first, when nothing in
/// it needs the service: not a move (a list or parent other than the task's), not the series
/// of a task that repeats or will. Otherwise writes nothing and returns [`Changed::Pending`]
/// for the service to plan and write with [`update_planned`] (on PostgreSQL with the row,
/// held; on SQLite with the row when `expect` or the series needed it read). `None`: no such
/// task.
pub(in crate::tasks) async fn update(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    (patch, expect): (&TaskPatch, &Precondition),
    now: NaiveDateTime,
    tag_cap: u64,
) -> Outcome<Option<Changed>> {
    conn.per_store(Update {
        viewer,
        task_id,
        patch,
        expect,
        now,
        tag_cap,
    })
    .await
}

/// Writes an update the service planned (`patch` placed by `tasks::order::tree`, `series` decided
/// by `tasks::series`): the columns, `completed_at` following `completed` (stamped when the
/// task becomes completed, kept when it already was, cleared when it becomes pending; an
/// occurrence completed stamps it and leaves the task pending), and the tags, indexed under
/// `tag_cap`. `None`: no such task.
pub(in crate::tasks) async fn update_planned(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    (patch, series): (&TaskPatch, &SeriesWrite),
    now: NaiveDateTime,
    tag_cap: u64,
) -> Outcome<Option<Written>> {
    conn.per_store(UpdatePlanned {
        viewer,
        task_id,
        patch,
        series,
        now,
        tag_cap,
    })
    .await
}

/// Deletes one of the viewer's tasks with its subtree (at most `max_depth` + 1 levels below),
/// each with its tombstone, after checking `expect`; then drops the viewer's tombstones older
/// than `before` and all but the newest `keep`. Returns the ids deleted; `None`: no such task.
pub(in crate::tasks) async fn delete(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    expect: &Precondition,
    (before, keep): (NaiveDateTime, i64),
    max_depth: usize,
) -> Outcome<Option<Vec<i64>>> {
    conn.per_store(Delete {
        viewer,
        task_id,
        expect,
        before,
        keep,
        max_depth,
    })
    .await
}

/// [`create`]'s call.
struct Create<'a> {
    viewer: &'a AuthUser,
    input: &'a NewTask,
    position: Option<&'a str>,
    now: NaiveDateTime,
    limits: Limits,
}

impl PerStore for Create<'_> {
    type Output = Outcome<Created>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let (viewer, input, now, limits) = (self.viewer, self.input, self.now, self.limits);
        // The row's values (its position, if any, goes apart: null asks for the group's end).
        // The owner is the function's to resolve (a shared list's, migration 000061); the
        // creator is the transaction's viewer.
        let names = input.tags.as_deref().unwrap_or_default();
        let call = CreateCall {
            owner: owner(viewer),
            now: pg_text(now),
            position: self.position,
            tag_keys: tag_keys(names),
            tag_names: names,
            task_cap: limit(limits.tasks),
            tag_cap: limit(limits.tags),
            max_depth: small(limits.depth),
            max_position: small(MAX_POSITION_CHARS),
            task: NewTaskRow::new(owner(viewer), None, input, now, String::new()),
        };
        let rows: QueryResult<Vec<TaskRow>> = diesel::sql_query("SELECT * FROM task_create($1)")
            .bind::<Jsonb, _>(argument(&call)?)
            .load(conn)
            .await;
        Ok(
            refusal(rows, Some(input))?.map(|rows| match rows.into_iter().next() {
                Some(row) => Created::Done(Box::new(Written { row })),
                None => Created::NeedsRoom,
            }),
        )
    }

    /// SQLite: in process, one writer at a time; the same steps one statement each.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        stepwise::create(conn, self).await
    }
}

/// [`complete`]'s call.
struct Complete<'a> {
    viewer: &'a AuthUser,
    task_id: i64,
    value: Option<bool>,
    expect: &'a Precondition,
    now: NaiveDateTime,
}

impl PerStore for Complete<'_> {
    type Output = Outcome<Option<Changed>>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let rows: QueryResult<Vec<Stepped>> = diesel::sql_query(
            "SELECT f.step, (f.task).* FROM task_complete($1, $2, $3, $4, $5) AS f",
        )
        .bind::<Text, _>(owner(self.viewer))
        .bind::<BigInt, _>(self.task_id)
        .bind::<Nullable<Bool>, _>(self.value)
        .bind::<Nullable<Array<BigInt>>, _>(admitted(self.expect))
        .bind::<Timestamp, _>(self.now)
        .load(conn)
        .await;
        // A viewer of a shared list is refused (`forbidden`, migration 000061).
        Ok(refusal(rows, None)?.and_then(stepped))
    }

    /// SQLite: in process; the same steps one statement each.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        stepwise::complete(conn, self).await
    }
}

/// [`update`]'s call.
struct Update<'a> {
    viewer: &'a AuthUser,
    task_id: i64,
    patch: &'a TaskPatch,
    expect: &'a Precondition,
    now: NaiveDateTime,
    tag_cap: u64,
}

impl PerStore for Update<'_> {
    type Output = Outcome<Option<Changed>>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let changes = TaskChanges::new(self.patch, &SeriesWrite::default(), self.now);
        let call = Call {
            viewer: self.viewer,
            task_id: self.task_id,
            expect: admitted(self.expect),
            tags: self.patch.tags.as_deref(),
            tag_cap: self.tag_cap,
        };
        let rows = call_update(conn, call, &changes, None).await;
        Ok(refusal(rows, None)?.and_then(stepped))
    }

    /// SQLite: in process; the row is read when the service will need it.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        stepwise::update(conn, self).await
    }
}

/// [`update_planned`]'s call.
struct UpdatePlanned<'a> {
    viewer: &'a AuthUser,
    task_id: i64,
    patch: &'a TaskPatch,
    series: &'a SeriesWrite,
    now: NaiveDateTime,
    tag_cap: u64,
}

impl PerStore for UpdatePlanned<'_> {
    type Output = Outcome<Option<Written>>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let changes = TaskChanges::new(self.patch, self.series, self.now);
        let call = Call {
            viewer: self.viewer,
            task_id: self.task_id,
            expect: None,
            tags: self.patch.tags.as_deref(),
            tag_cap: self.tag_cap,
        };
        let rows = call_update(conn, call, &changes, Some(self.series.advance_to)).await;
        Ok(refusal(rows, None)?.map(|rows| match stepped(rows) {
            Ok(Some(Changed::Done(written))) => Some(written),
            _ => None,
        }))
    }

    /// SQLite: in process; the update, then the tag index, one statement each.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        stepwise::update_planned(conn, self).await
    }
}

/// [`delete`]'s call.
struct Delete<'a> {
    viewer: &'a AuthUser,
    task_id: i64,
    expect: &'a Precondition,
    before: NaiveDateTime,
    keep: i64,
    max_depth: usize,
}

impl PerStore for Delete<'_> {
    type Output = Outcome<Option<Vec<i64>>>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let rows: QueryResult<Vec<Stepped>> = diesel::sql_query(
            "SELECT f.step, (f.task).* FROM task_delete($1, $2, $3, $4, $5, $6) AS f",
        )
        .bind::<Text, _>(owner(self.viewer))
        .bind::<BigInt, _>(self.task_id)
        .bind::<Nullable<Array<BigInt>>, _>(admitted(self.expect))
        .bind::<Timestamp, _>(self.before)
        .bind::<BigInt, _>(self.keep)
        .bind::<Integer, _>(small(self.max_depth))
        .load(conn)
        .await;
        let rows = match refusal(rows, None)? {
            Ok(rows) => rows,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut deleted = Vec::with_capacity(rows.len());
        for Stepped { step, row } in rows {
            if step == "conflict" {
                return Ok(Err(Refusal::Stale(Box::new(row))));
            }
            deleted.push(row.id);
        }
        Ok(Ok((!deleted.is_empty()).then_some(deleted)))
    }

    /// SQLite: in process; the same steps one statement each.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        stepwise::delete(conn, self).await
    }
}
