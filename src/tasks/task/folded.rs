//! The plain task writes as the service asks for them (create, update, complete or toggle, delete),
//! each ONE statement on PostgreSQL: a call of a function in `write/` (`task_create.sql`,
//! `task_update.sql`, `task_complete.sql`, `task_delete.sql`, each with its `_owned` half; first
//! made by migration 000050), which takes the owner's locks, checks the list, the parent, the caps
//! and the precondition, writes the task and its tag index (a delete: its subtree and the tombstone
//! prune), where the server used to wait for each of those statements in turn (DESIGN rules 6 and
//! 14). SQLite runs in process, with no round trips to save: it takes the same steps one statement
//! at a time (`stepwise`), to the same outcomes.
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
//! one place those messages are read. It must not decide a rule itself (that is the service's
//! and the functions', which are given the limits).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, Nullable, Text, Timestamp};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::tasks::order::position::MAX_POSITION_CHARS;
use crate::tasks::sync::journal::Written;
use crate::tasks::tags::rules::tag_key;
use crate::tasks::task::model::{NewTask, Precondition, TaskPatch, TaskRow};
use crate::tasks::task::outcome::{Changed, Created, Limits, Outcome, Refusal};
use crate::tasks::task::stepwise;
use crate::tasks::task::time::{pg_json, pg_text};
use crate::tasks::task::write::{NewTaskRow, SeriesWrite, TaskChanges};
use crate::tasks::visibility::owner;

/// One row of a write function's answer: what happened, and the row.
#[derive(QueryableByName)]
struct Stepped {
    #[diesel(sql_type = Text)]
    step: String,
    #[diesel(embed)]
    row: TaskRow,
}

/// The versions a precondition admits (`None`: any, existing or not; a missing task is 404
/// either way).
fn admitted(expect: &Precondition) -> Option<Vec<i64>> {
    match expect {
        Precondition::None | Precondition::Exists => None,
        Precondition::Version(version) => Some(vec![*version]),
        Precondition::OneOf(versions) => Some(versions.clone()),
    }
}

fn limit(cap: u64) -> i64 {
    i64::try_from(cap).unwrap_or(i64::MAX)
}

fn small(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A write function's refusal, read from its error (`todo_api refused: <code>[ <number>]`);
/// `input` is the create's, whose parent and list the subtask refusals name. Any other error
/// stays the database's.
fn refusal<T>(result: QueryResult<T>, input: Option<&NewTask>) -> Outcome<T> {
    let Err(Error::DatabaseError(_, info)) = &result else {
        return result.map(Ok);
    };
    let Some(said) = info.message().strip_prefix("todo_api refused: ") else {
        return result.map(Ok);
    };
    let (code, number) = said.split_once(' ').unwrap_or((said, ""));
    let parent = input.and_then(|i| i.parent_id).unwrap_or_default();
    Ok(Err(match code {
        "list_not_found" => Refusal::ListMissing,
        "not_found" => Refusal::ParentMissing,
        "too_deep" => Refusal::TooDeep {
            parent,
            level: usize::try_from(number.parse::<i64>().unwrap_or(-1)).unwrap_or(usize::MAX),
        },
        "subtask_list" => Refusal::NotParentsList {
            list: input.and_then(|i| i.list_id).unwrap_or_default(),
        },
        "task_limit" => Refusal::TaskCap,
        "tag_limit" => Refusal::TagCap,
        "forbidden" => Refusal::Forbidden,
        "assignee" => Refusal::Assignee,
        _ => return result.map(Ok),
    }))
}

/// A function's rows as an outcome: `None` when the viewer has no such task.
fn stepped(rows: Vec<Stepped>) -> Result<Option<Changed>, Refusal> {
    let Some(Stepped { step, row }) = rows.into_iter().next() else {
        return Ok(None);
    };
    match step.as_str() {
        "conflict" => Err(Refusal::Stale(Box::new(row))),
        "held" => Ok(Some(Changed::Pending(Some(row)))),
        // 'done', 'unchanged': the row (its event is the journal's).
        _ => Ok(Some(Changed::Done(Written { row }))),
    }
}

/// A write function's one argument, as JSON (a value serde cannot write is the query's error).
fn argument(call: &impl serde::Serialize) -> QueryResult<serde_json::Value> {
    serde_json::to_value(call).map_err(|e| Error::SerializationError(Box::new(e)))
}

/// The index keys of tags `names`, in their order (the functions pair them by position).
fn tag_keys(names: &[String]) -> Vec<String> {
    names.iter().map(|name| tag_key(name)).collect()
}

/// `task_create`'s argument: the call's values and the row (`task`), whose position (NULL:
/// the group's end), owner (a shared list's, migration 000061), creator (the transaction's
/// viewer), times and series start are the function's to set.
#[derive(serde::Serialize)]
struct CreateCall<'a> {
    owner: &'a str,
    /// `time::pg_text`, as every time in these calls.
    now: String,
    position: Option<&'a str>,
    tag_keys: Vec<String>,
    tag_names: &'a [String],
    task_cap: i64,
    tag_cap: i64,
    max_depth: i32,
    max_position: i32,
    task: NewTaskRow<'a>,
}

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
    let DbConn::Postgres(pg) = conn else {
        // SQLite: in process, one writer at a time; the same steps one statement each.
        return stepwise::create(conn, viewer, input, position, now, limits).await;
    };
    // The row's values (its position, if any, goes apart: null asks for the group's end).
    // The owner is the function's to resolve (a shared list's, migration 000061); the
    // creator is the transaction's viewer.
    let names = input.tags.as_deref().unwrap_or_default();
    let call = CreateCall {
        owner: owner(viewer),
        now: pg_text(now),
        position,
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
        .load(&mut **pg)
        .await;
    Ok(
        refusal(rows, Some(input))?.map(|rows| match rows.into_iter().next() {
            Some(row) => Created::Done(Box::new(Written { row })),
            None => Created::NeedsRoom,
        }),
    )
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
    let DbConn::Postgres(pg) = conn else {
        // SQLite: in process; the same steps one statement each.
        return stepwise::complete(conn, viewer, task_id, value, expect, now).await;
    };
    let rows: QueryResult<Vec<Stepped>> =
        diesel::sql_query("SELECT f.step, (f.task).* FROM task_complete($1, $2, $3, $4, $5) AS f")
            .bind::<Text, _>(owner(viewer))
            .bind::<BigInt, _>(task_id)
            .bind::<Nullable<Bool>, _>(value)
            .bind::<Nullable<Array<BigInt>>, _>(admitted(expect))
            .bind::<Timestamp, _>(now)
            .load(&mut **pg)
            .await;
    // A viewer of a shared list is refused (`forbidden`, migration 000061).
    Ok(refusal(rows, None)?.and_then(stepped))
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
    let DbConn::Postgres(pg) = conn else {
        // SQLite: in process; the row is read when the service will need it.
        return stepwise::update(conn, viewer, task_id, (patch, expect)).await;
    };
    let changes = TaskChanges::new(patch, &SeriesWrite::default(), now);
    let call = Call {
        viewer,
        task_id,
        expect: admitted(expect),
        tags: patch.tags.as_deref(),
        tag_cap,
    };
    let rows = call_update(&mut **pg, call, &changes, None).await;
    Ok(refusal(rows, None)?.and_then(stepped))
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
    let DbConn::Postgres(pg) = conn else {
        // SQLite: in process; the update, then the tag index, one statement each.
        return stepwise::update_planned(conn, viewer, task_id, (patch, series), now, tag_cap)
            .await;
    };
    let changes = TaskChanges::new(patch, series, now);
    let call = Call {
        viewer,
        task_id,
        expect: None,
        tags: patch.tags.as_deref(),
        tag_cap,
    };
    let rows = call_update(&mut **pg, call, &changes, Some(series.advance_to)).await;
    Ok(refusal(rows, None)?.map(|rows| match stepped(rows) {
        Ok(Some(Changed::Done(written))) => Some(written),
        _ => None,
    }))
}

/// What a `task_update` call is about besides its columns.
struct Call<'a> {
    viewer: &'a AuthUser,
    task_id: i64,
    /// The versions the precondition admits (`None`: any).
    expect: Option<Vec<i64>>,
    /// The tags the patch sets, to index (their JSON is in the columns).
    tags: Option<&'a [String]>,
    tag_cap: u64,
}

/// `task_update`'s argument: the call's values and the columns to change (`set`).
#[derive(serde::Serialize)]
struct UpdateCall<'a> {
    owner: &'a str,
    id: i64,
    /// The versions the precondition admits (null: any).
    expect: Option<Vec<i64>>,
    now: String,
    /// The service's plan, not a first try that may come back held.
    decided: bool,
    /// The occurrence it completes: the due date moves there (`tasks::series`).
    #[serde(serialize_with = "pg_json")]
    advance_to: Option<NaiveDateTime>,
    tag_keys: Vec<String>,
    tag_names: &'a [String],
    tag_cap: i64,
    set: &'a TaskChanges<'a>,
}

/// `task_update` with `changes`; `planned` says the write is the service's plan (with the
/// occurrence it completes, if any), not a first try that may come back held.
async fn call_update<C>(
    pg: &mut C,
    call: Call<'_>,
    changes: &TaskChanges<'_>,
    planned: Option<Option<NaiveDateTime>>,
) -> QueryResult<Vec<Stepped>>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg> + Send,
{
    let names = call.tags.unwrap_or_default();
    let json = argument(&UpdateCall {
        owner: owner(call.viewer),
        id: call.task_id,
        expect: call.expect,
        now: pg_text(changes.updated_at),
        decided: planned.is_some(),
        advance_to: planned.flatten(),
        tag_keys: tag_keys(names),
        tag_names: names,
        tag_cap: limit(call.tag_cap),
        set: changes,
    })?;
    diesel::sql_query("SELECT f.step, (f.task).* FROM task_update($1) AS f")
        .bind::<Jsonb, _>(json)
        .load(pg)
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
    let DbConn::Postgres(pg) = conn else {
        // SQLite: in process; the same steps one statement each.
        return stepwise::delete(conn, viewer, task_id, expect, (before, keep), max_depth).await;
    };
    let rows: QueryResult<Vec<Stepped>> = diesel::sql_query(
        "SELECT f.step, (f.task).* FROM task_delete($1, $2, $3, $4, $5, $6) AS f",
    )
    .bind::<Text, _>(owner(viewer))
    .bind::<BigInt, _>(task_id)
    .bind::<Nullable<Array<BigInt>>, _>(admitted(expect))
    .bind::<Timestamp, _>(before)
    .bind::<BigInt, _>(keep)
    .bind::<Integer, _>(small(max_depth))
    .load(&mut **pg)
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
