//! SQLite's way through the plain task writes (`folded`): the same checks and writes as
//! PostgreSQL's write functions, in the same order, to the same outcomes, one statement at a
//! time. SQLite runs in process (a statement costs no round trip) and one write transaction
//! at a time (`BEGIN IMMEDIATE`), so it needs neither the functions nor the owner's locks.
//!
//! It must not decide what a rule says (the limits come from the service), only check it.

use super::{Complete, Create, Delete, Update, UpdatePlanned};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::tasks::order::group_end::group_end;
use crate::tasks::order::position;
use crate::tasks::order::store::{delete_all, level, subtree};
use crate::tasks::service::outcome::{Changed, Created, Outcome, Refusal};
use crate::tasks::sharing::assignees::settled;
use crate::tasks::sync::journal::{Written, prune_tombstones};
use crate::tasks::tags::store::index_under_cap;
use crate::tasks::task::model::{NewTask, Precondition, Task, TaskRow};
use crate::tasks::task::query::{find, find_seen};
use crate::tasks::task::write::{insert, set_completed, toggle, update as write_update};
use crate::tasks::visibility::owner;

/// Why a write finds no task it may write: the viewer sees it as a viewer of its shared list
/// (a refusal: 403), or not at all (none: 404).
async fn unwritable<T>(conn: &mut DbConn, viewer: &AuthUser, task_id: i64) -> Outcome<Option<T>> {
    if find_seen(conn, viewer, task_id).await?.is_some() {
        Ok(Err(Refusal::Forbidden))
    } else {
        Ok(Ok(None))
    }
}

/// One of the viewer's tasks, for a write conditional on `expect`: `Ok(None)` when there is no
/// such task, a refusal when the precondition does not hold.
async fn held(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    expect: &Precondition,
) -> Outcome<Option<TaskRow>> {
    let Some(row) = find(conn, viewer, task_id).await? else {
        return unwritable(conn, viewer, task_id).await;
    };
    if Task::from(row.clone()).satisfies(expect) {
        Ok(Ok(Some(row)))
    } else {
        Ok(Err(Refusal::Stale(Box::new(row))))
    }
}

/// `folded::create` on SQLite.
pub(super) async fn create(conn: &mut DbConn, call: Create<'_>) -> Outcome<Created> {
    let (viewer, input, at) = (call.viewer, call.input, call.position);
    let (now, limits) = (call.now, call.limits);
    // The task is its list's owner's (an editor writes into a list shared with them).
    let mut task_owner = owner(viewer).to_owned();
    if let Some(list) = input.list_id {
        match crate::tasks::lists::store::find(conn, viewer, list).await? {
            Some(row) => task_owner = row.owner().to_owned(),
            None if crate::tasks::lists::reads::find_seen(conn, viewer, list)
                .await?
                .is_some() =>
            {
                return Ok(Err(Refusal::Forbidden));
            }
            None => return Ok(Err(Refusal::ListMissing)),
        }
    }
    let mut list = input.list_id;
    if let Some(parent_id) = input.parent_id {
        let Some(parent) = find(conn, viewer, parent_id).await? else {
            return match unwritable::<()>(conn, viewer, parent_id).await? {
                Err(refused) => Ok(Err(refused)),
                Ok(_) => Ok(Err(Refusal::ParentMissing)),
            };
        };
        let parent = Task::from(parent);
        task_owner = parent.user_id.clone();
        let Some(level) = level(conn, viewer, parent.parent_id, 0, limits.depth).await? else {
            return Ok(Err(Refusal::ParentMissing));
        };
        if level >= limits.depth {
            return Ok(Err(Refusal::TooDeep {
                parent: parent_id,
                level,
            }));
        }
        if let Some(named) = input.list_id
            && Some(named) != parent.list_id
        {
            return Ok(Err(Refusal::NotParentsList { list: named }));
        }
        list = parent.list_id;
    }
    let position = match at {
        Some(at) => at.to_owned(),
        None => {
            let end = group_end(conn, viewer, list, input.parent_id).await?;
            match position::between(end.as_deref(), None).filter(|p| !position::too_long(p)) {
                Some(key) => key,
                None => return Ok(Ok(Created::NeedsRoom)),
            }
        }
    };
    // A subtask goes into its parent's list.
    let placed;
    let input = if list == input.list_id {
        input
    } else {
        placed = NewTask {
            list_id: list,
            ..input.clone()
        };
        &placed
    };
    let inserted = insert(
        conn,
        viewer,
        &task_owner,
        input,
        position,
        now,
        limits.tasks,
    )
    .await?;
    let Some(mut written) = inserted else {
        return Ok(Err(Refusal::TaskCap));
    };
    let asked = Some(input.assignee_id.as_deref());
    match settled(conn, viewer, written.row, asked).await? {
        Ok(row) => written.row = row,
        Err(refused) => return Ok(Err(refused)),
    }
    if let Some(tags) = &input.tags
        && !index_under_cap(conn, &task_owner, written.row.id, tags, now, limits.tags).await?
    {
        return Ok(Err(Refusal::TagCap));
    }
    Ok(Ok(Created::Done(Box::new(written))))
}

/// `folded::complete` on SQLite.
pub(super) async fn complete(conn: &mut DbConn, call: Complete<'_>) -> Outcome<Option<Changed>> {
    let (viewer, task_id, value) = (call.viewer, call.task_id, call.value);
    let (expect, now) = (call.expect, call.now);
    let row = match held(conn, viewer, task_id, expect).await? {
        Ok(Some(row)) => row,
        Ok(None) => return Ok(Ok(None)),
        Err(refused) => return Ok(Err(refused)),
    };
    let task = Task::from(row.clone());
    let completing = value.unwrap_or(true) && !task.completed;
    if completing && task.recurrence.is_some() && task.due_date.is_some() {
        return Ok(Ok(Some(Changed::Pending(Some(row)))));
    }
    let written = match value {
        None => toggle(conn, viewer, task_id, now).await?,
        Some(value) => set_completed(conn, viewer, task_id, value, now).await?,
    };
    Ok(Ok(written.map(Changed::Done)))
}

/// `folded::update` on SQLite: reads the row only when the precondition or the series will
/// need it (a move reads it itself), and leaves the rest to the service.
pub(super) async fn update(conn: &mut DbConn, call: Update<'_>) -> Outcome<Option<Changed>> {
    let (viewer, task_id, patch, expect) = (call.viewer, call.task_id, call.patch, call.expect);
    if *expect == Precondition::None && !patch.touches_series() {
        return Ok(Ok(Some(Changed::Pending(None))));
    }
    Ok(held(conn, viewer, task_id, expect)
        .await?
        .map(|row| row.map(|row| Changed::Pending(Some(row)))))
}

/// `folded::update_planned` on SQLite.
pub(super) async fn update_planned(
    conn: &mut DbConn,
    call: UpdatePlanned<'_>,
) -> Outcome<Option<Written>> {
    let (viewer, task_id, patch) = (call.viewer, call.task_id, call.patch);
    let (series, now, tag_cap) = (call.series, call.now, call.tag_cap);
    let Some(mut written) = write_update(conn, viewer, task_id, (patch, series), now).await? else {
        return unwritable(conn, viewer, task_id).await;
    };
    let asked = patch.assignee_id.as_ref().map(|a| a.as_deref());
    match settled(conn, viewer, written.row, asked).await? {
        Ok(row) => written.row = row,
        Err(refused) => return Ok(Err(refused)),
    }
    if let Some(tags) = &patch.tags {
        // The task's owner's rows, whoever writes (an editor of a shared list).
        let task_owner = Task::from(written.row.clone()).user_id;
        if !index_under_cap(conn, &task_owner, task_id, tags, now, tag_cap).await? {
            return Ok(Err(Refusal::TagCap));
        }
    }
    Ok(Ok(Some(written)))
}

/// `folded::delete` on SQLite.
pub(super) async fn delete(conn: &mut DbConn, call: Delete<'_>) -> Outcome<Option<Vec<i64>>> {
    let (viewer, task_id, expect) = (call.viewer, call.task_id, call.expect);
    let (before, keep, max_depth) = (call.before, call.keep, call.max_depth);
    match held(conn, viewer, task_id, expect).await? {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(Ok(None)),
        Err(refused) => return Ok(Err(refused)),
    }
    // Deepest first, the task last: the order its events go out in.
    let mut ids: Vec<i64> = subtree(conn, viewer, task_id, max_depth)
        .await?
        .into_iter()
        .rev()
        .flatten()
        .collect();
    ids.push(task_id);
    let deleted = delete_all(conn, viewer, &ids).await?;
    prune_tombstones(conn, viewer, before, keep).await?;
    Ok(Ok(Some(deleted)))
}
