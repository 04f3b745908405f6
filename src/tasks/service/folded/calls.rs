//! The write functions' calls: their arguments as JSON, their answers read, their refusals.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error;
use diesel::sql_types::{Jsonb, Text};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::tasks::service::outcome::{Changed, Outcome, Refusal};
use crate::tasks::sync::journal::Written;
use crate::tasks::tags::rules::tag_key;
use crate::tasks::task::model::{NewTask, Precondition, TaskRow};
use crate::tasks::task::time::{pg_json, pg_text};
use crate::tasks::task::write::{NewTaskRow, TaskChanges};
use crate::tasks::visibility::owner;

/// One row of a write function's answer: what happened, and the row.
#[derive(QueryableByName)]
pub(super) struct Stepped {
    #[diesel(sql_type = Text)]
    pub(super) step: String,
    #[diesel(embed)]
    pub(super) row: TaskRow,
}

/// The versions a precondition admits (`None`: any, existing or not; a missing task is 404
/// either way).
pub(super) fn admitted(expect: &Precondition) -> Option<Vec<i64>> {
    match expect {
        Precondition::None | Precondition::Exists => None,
        Precondition::Version(version) => Some(vec![*version]),
        Precondition::OneOf(versions) => Some(versions.clone()),
    }
}

pub(super) fn limit(cap: u64) -> i64 {
    i64::try_from(cap).unwrap_or(i64::MAX)
}

pub(super) fn small(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A write function's refusal, read from its error (`todo_api refused: <code>[ <number>]`);
/// `input` is the create's, whose parent and list the subtask refusals name. Any other error
/// stays the database's.
pub(super) fn refusal<T>(result: QueryResult<T>, input: Option<&NewTask>) -> Outcome<T> {
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
pub(super) fn stepped(rows: Vec<Stepped>) -> Result<Option<Changed>, Refusal> {
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
pub(super) fn argument(call: &impl serde::Serialize) -> QueryResult<serde_json::Value> {
    serde_json::to_value(call).map_err(|e| Error::SerializationError(Box::new(e)))
}

/// The index keys of tags `names`, in their order (the functions pair them by position).
pub(super) fn tag_keys(names: &[String]) -> Vec<String> {
    names.iter().map(|name| tag_key(name)).collect()
}

/// `task_create`'s argument: the call's values and the row (`task`), whose position (NULL:
/// the group's end), owner (a shared list's, migration 000061), creator (the transaction's
/// viewer), times and series start are the function's to set.
#[derive(serde::Serialize)]
pub(super) struct CreateCall<'a> {
    pub(super) owner: &'a str,
    /// `time::pg_text`, as every time in these calls.
    pub(super) now: String,
    pub(super) position: Option<&'a str>,
    pub(super) tag_keys: Vec<String>,
    pub(super) tag_names: &'a [String],
    pub(super) task_cap: i64,
    pub(super) tag_cap: i64,
    pub(super) max_depth: i32,
    pub(super) max_position: i32,
    pub(super) task: NewTaskRow<'a>,
}

/// What a `task_update` call is about besides its columns.
pub(super) struct Call<'a> {
    pub(super) viewer: &'a AuthUser,
    pub(super) task_id: i64,
    /// The versions the precondition admits (`None`: any).
    pub(super) expect: Option<Vec<i64>>,
    /// The tags the patch sets, to index (their JSON is in the columns).
    pub(super) tags: Option<&'a [String]>,
    pub(super) tag_cap: u64,
}

/// `task_update`'s argument: the call's values and the columns to change (`set`).
#[derive(serde::Serialize)]
pub(super) struct UpdateCall<'a> {
    pub(super) owner: &'a str,
    pub(super) id: i64,
    /// The versions the precondition admits (null: any).
    pub(super) expect: Option<Vec<i64>>,
    pub(super) now: String,
    /// The service's plan, not a first try that may come back held.
    pub(super) decided: bool,
    /// The occurrence it completes: the due date moves there (`tasks::series`).
    #[serde(serialize_with = "pg_json")]
    pub(super) advance_to: Option<NaiveDateTime>,
    pub(super) tag_keys: Vec<String>,
    pub(super) tag_names: &'a [String],
    pub(super) tag_cap: i64,
    pub(super) set: &'a TaskChanges<'a>,
}

/// `task_update` with `changes`; `planned` says the write is the service's plan (with the
/// occurrence it completes, if any), not a first try that may come back held.
pub(super) async fn call_update<C>(
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
