//! The rules of manual order and subtasks, inside a write's unit of work: where a move puts a
//! task (a list, a parent, next to a sibling) and what it refuses (a neighbour outside the
//! destination group, a cycle, more than [`MAX_DEPTH`] levels, another user's ids), when a
//! group of siblings is renumbered (a key would grow too long, on a move or a create), a
//! subtree following its root to another list, and the tasks clearing completed ones takes
//! with them. Every task these change gets its version + 1, a journal entry and an event
//! (`order::store`). A plain create or delete checks the same rules in one statement on
//! PostgreSQL (`service::folded`): it comes here only to renumber a group, and a PUT only when
//! it moves the task; the messages of a create's refusals are this module's.
//!
//! It must not depend on the service: `service` (creates, PUTs) and `moves` (the move itself,
//! clearing completed tasks) call in here.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::lists::store as list_store;
use crate::tasks::order::position;
use crate::tasks::order::store::Placement;
use crate::tasks::order::{group_end, store};
use crate::tasks::task::model::{ListQuery, NewTask, Task, TaskPatch, TaskRow};
use crate::tasks::task::query;
use crate::tasks::unit::locks;

/// The deepest a task may nest: a task, its subtask, and one more level.
pub const MAX_DEPTH: usize = 3;

/// Where to move a task. `None` keeps the current list / parent; `Some(None)` is the inbox /
/// the top level. At most one of `after_id` and `before_id`; neither puts it last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveTask {
    /// The destination list.
    pub list_id: Option<Option<i64>>,
    /// The destination parent.
    pub parent_id: Option<Option<i64>>,
    /// Place it just below this sibling.
    pub after_id: Option<i64>,
    /// Place it just above this sibling.
    pub before_id: Option<i64>,
}

/// A 422 about one body field, in FastAPI's `value_error` shape.
fn refused(field: &str, message: impl std::fmt::Display, input: Value) -> AppError {
    AppError::invalid(FieldError::body(
        field,
        "value_error",
        format!("Value error, {message}"),
        input,
    ))
}

fn id_value(id: Option<i64>) -> Value {
    id.map_or(Value::Null, Value::from)
}

pub(in crate::tasks) async fn find(tx: &mut DbConn, user: &AuthUser, id: i64) -> AppResult<Task> {
    Ok(Task::from(
        query::find(tx, user, id).await?.ok_or(AppError::NotFound)?,
    ))
}

/// The level `task` sits at (1: the top level), walking up its parents (`usize::MAX` through
/// `moving`: a cycle).
async fn level(tx: &mut DbConn, user: &AuthUser, task: &Task, moving: i64) -> AppResult<usize> {
    store::level(tx, user, task.parent_id, moving, MAX_DEPTH)
        .await?
        .ok_or(AppError::NotFound)
}

/// A move to another list (or under another owner's task) keeps a task with its owner
/// (issue 29): an editor moves a shared list's tasks within it, and an owner moves theirs
/// into their own lists only. `into`: the owner of the list or parent it would go into.
fn shared_stays(user: &AuthUser, task: &Task, into: Option<&str>) -> AppResult<()> {
    if task.user_id != user.id() || into.is_some_and(|owner| owner != task.user_id) {
        return Err(crate::tasks::sharing::SharingError::NotAllowed(
            "a task moves between its owner's own lists only (a shared list's tasks stay in it)",
        )
        .into());
    }
    Ok(())
}

/// The ids of `root`'s descendants, level by level (children first).
async fn descendants(tx: &mut DbConn, user: &AuthUser, root: i64) -> AppResult<Vec<Vec<i64>>> {
    Ok(store::subtree(tx, user, root, MAX_DEPTH).await?)
}

/// Checks the move of `task` and writes what it needs besides the task itself: the siblings
/// of a renumbered group, the descendants that follow it to another list (their events are
/// the journal's, as every write's). Returns the task's new placement (written by the caller,
/// with whatever else changes).
pub(in crate::tasks) async fn plan(
    tx: &mut DbConn,
    user: &AuthUser,
    task: &Task,
    to: &MoveTask,
    now: NaiveDateTime,
) -> AppResult<Placement> {
    if let (Some(_), Some(before)) = (to.after_id, to.before_id) {
        let why = "give at most one of after_id and before_id";
        return Err(refused("before_id", why, Value::from(before)));
    }
    for (field, neighbour) in [("after_id", to.after_id), ("before_id", to.before_id)] {
        if neighbour == Some(task.id) {
            let why = "a task cannot be placed next to itself";
            return Err(refused(field, why, Value::from(task.id)));
        }
    }
    let parent = to.parent_id.unwrap_or(task.parent_id);
    let mut list = to.list_id.unwrap_or(task.list_id);
    let mut above_owner = None;
    if let Some(parent_id) = parent {
        if parent_id == task.id {
            let why = "a task cannot be its own subtask";
            return Err(refused("parent_id", why, Value::from(parent_id)));
        }
        let above = find(tx, user, parent_id).await?;
        above_owner = Some(above.user_id.clone());
        let parent_level = level(tx, user, &above, task.id).await?;
        if parent_level == usize::MAX {
            let why = format!("task {parent_id} is a subtask of this task: that would be a cycle");
            return Err(refused("parent_id", why, Value::from(parent_id)));
        }
        let height = descendants(tx, user, task.id).await?.len() + 1;
        if parent_level + height > MAX_DEPTH {
            let why = format!(
                "subtasks nest at most {MAX_DEPTH} levels deep (a task, its subtask, one more \
                 level); under task {parent_id} (level {parent_level}) this task and its \
                 subtasks would reach level {}",
                parent_level + height
            );
            return Err(refused("parent_id", why, Value::from(parent_id)));
        }
        match to.list_id {
            Some(wanted) if wanted != above.list_id => {
                let why = format!(
                    "a subtask is in its parent's list (task {parent_id}'s: {}); leave list_id \
                     out, or give parent_id null to move the task out of its parent",
                    group_name(above.list_id, "the inbox")
                );
                return Err(refused("list_id", why, id_value(wanted)));
            }
            _ => list = above.list_id,
        }
    }
    // The owner of the list (or parent) the task would go into, when it names one.
    let mut into = above_owner;
    if let Some(list_id) = list.filter(|_| to.list_id.is_some()) {
        let row = list_store::find(tx, user, list_id).await?;
        into = Some(row.ok_or(AppError::ListNotFound)?.owner().to_owned());
    }
    if list != task.list_id || into.as_ref().is_some_and(|owner| *owner != task.user_id) {
        shared_stays(user, task, into.as_deref())?;
    }
    let position = place_in_group(tx, user, task.id, (list, parent), to, now).await?;
    if list != task.list_id {
        // A subtree shares its root's list; its tasks keep their places under their parents.
        for id in descendants(tx, user, task.id).await?.concat() {
            let follow = Placement {
                list_id: Some(list),
                parent_id: None,
                position: None,
                updated_at: now,
            };
            store::place(tx, user, id, &follow).await?;
        }
    }
    let placement = Placement {
        list_id: Some(list),
        parent_id: Some(parent),
        position: Some(position),
        updated_at: now,
    };
    Ok(placement)
}

/// The position of `moving` in the group (`list`, `parent`) next to the neighbour `to` names
/// (last without one); renumbers the group's other tasks when the key between the neighbours
/// would be too long.
async fn place_in_group(
    tx: &mut DbConn,
    user: &AuthUser,
    moving: i64,
    (list, parent): (Option<i64>, Option<i64>),
    to: &MoveTask,
    now: NaiveDateTime,
) -> AppResult<String> {
    let neighbour = [("after_id", to.after_id), ("before_id", to.before_id)]
        .into_iter()
        .find_map(|(field, id)| id.map(|id| (field, id)));
    if let Some((field, id)) = neighbour {
        let next_to = find(tx, user, id).await?;
        if (next_to.list_id, next_to.parent_id) != (list, parent) {
            let why = format!(
                "task {id} is not in the destination group (list {}, parent {}): a neighbour \
                 must be a sibling there",
                group_name(list, "inbox"),
                group_name(parent, "none, the top level"),
            );
            return Err(refused(field, why, Value::from(id)));
        }
    }
    let siblings: Vec<(i64, String)> = store::group(tx, user, list, parent)
        .await?
        .into_iter()
        .filter(|(id, _)| *id != moving)
        .collect();
    let index_of = |wanted: i64| siblings.iter().position(|(id, _)| *id == wanted);
    let index = match (to.after_id, to.before_id) {
        (Some(after), _) => index_of(after).map_or(siblings.len(), |i| i + 1),
        (None, Some(before)) => index_of(before).unwrap_or(siblings.len()),
        (None, None) => siblings.len(),
    };
    let above = index.checked_sub(1).map(|i| siblings[i].1.as_str());
    let below = siblings.get(index).map(|(_, p)| p.as_str());
    if let Some(key) = position::between(above, below).filter(|p| !position::too_long(p)) {
        return Ok(key);
    }
    let keys = position::spread(siblings.len() + 1);
    for (i, (id, old)) in siblings.iter().enumerate() {
        let key = &keys[if i < index { i } else { i + 1 }];
        if key != old {
            let renumbered = Placement {
                list_id: None,
                parent_id: None,
                position: Some(key.clone()),
                updated_at: now,
            };
            store::place(tx, user, *id, &renumbered).await?;
        }
    }
    Ok(keys[index].clone())
}

fn group_name(id: Option<i64>, none: &str) -> String {
    id.map_or_else(|| none.to_owned(), |id| id.to_string())
}

/// A list request's `parent_id` filter names one of the viewer's tasks (404 otherwise, as
/// any other id of another user's).
pub(in crate::tasks) async fn check_parent_filter(
    conn: crate::db::Reader<'_>,
    user: &AuthUser,
    query: &ListQuery,
) -> AppResult<()> {
    if let Some(Some(parent)) = query.parent_id {
        query::find_read(conn, user, parent)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    Ok(())
}

/// A create refused for its parent `parent`, at `level` (`usize::MAX`: in a chain no rule
/// allows): a subtask under it would nest too deep.
pub(in crate::tasks) fn too_deep(parent: i64, level: usize) -> AppError {
    let why = format!(
        "subtasks nest at most {MAX_DEPTH} levels deep (a task, its subtask, one more \
         level); task {parent} is already at level {level}"
    );
    refused("parent_id", why, Value::from(parent))
}

/// A subtask's create refused for naming `list`, not its parent's.
/// The assignee a write names may not be assigned the task (its value is in the request).
pub(in crate::tasks) fn not_assignable() -> AppError {
    let why = "the assignee must be the owner of the task's list or one of its members (a task \
               in no list: its owner)";
    refused("assignee_id", why, Value::Null)
}

pub(in crate::tasks) fn not_parents_list(list: i64) -> AppError {
    let why = "a subtask is in its parent's list; leave list_id out or give the parent's";
    refused("list_id", why, Value::from(list))
}

/// Where a create goes when the key after the last of its group would be too long (or is
/// not one the server wrote): the group renumbered, and the key after it, short. A subtask's group is in its parent's list.
pub(in crate::tasks) async fn room_at_end(
    tx: &mut DbConn,
    user: &AuthUser,
    input: &NewTask,
    now: NaiveDateTime,
) -> AppResult<String> {
    let list = match input.parent_id {
        Some(parent) => find(tx, user, parent).await?.list_id,
        None => input.list_id,
    };
    let end = group_end::group_end(tx, user, list, input.parent_id).await?;
    if let Some(key) = position::between(end.as_deref(), None).filter(|p| !position::too_long(p)) {
        return Ok(key);
    }
    let last = MoveTask::default();
    let group = (list, input.parent_id);
    place_in_group(tx, user, 0, group, &last, now).await
}

/// A PUT's patch with its `list_id` / `parent_id` applied as a move to the end of the new
/// group (same rules as a move); a patch that keeps the task's group keeps its place.
/// `held`: the task as the write holds it, when the store read it already. Returns the patch
/// to write (the other tasks the move changed are written already).
pub(in crate::tasks) async fn placed_patch(
    tx: &mut DbConn,
    user: &AuthUser,
    (id, held): (i64, Option<&TaskRow>),
    mut patch: TaskPatch,
    now: NaiveDateTime,
) -> AppResult<TaskPatch> {
    patch.position = None;
    if patch.list_id.is_none() && patch.parent_id.is_none() {
        return Ok(patch);
    }
    let task = match held {
        Some(row) => Task::from(row.clone()),
        None => find(tx, user, id).await?,
    };
    let to = MoveTask {
        list_id: patch.list_id.filter(|list| *list != task.list_id),
        parent_id: patch.parent_id.filter(|parent| *parent != task.parent_id),
        ..MoveTask::default()
    };
    if to.list_id.is_none() && to.parent_id.is_none() {
        patch.list_id = None;
        patch.parent_id = None;
        return Ok(patch);
    }
    let placement = plan(tx, user, &task, &to, now).await?;
    patch.list_id = placement.list_id;
    patch.parent_id = placement.parent_id;
    patch.position = placement.position;
    Ok(patch)
}

/// Deletes the viewer's completed tasks with their descendants (pending or not), in id
/// order, each with its tombstone.
pub(in crate::tasks) async fn delete_completed_trees(
    tx: &mut DbConn,
    user: &AuthUser,
) -> AppResult<Vec<i64>> {
    // Completed tasks of lists shared with them as editor too: their owners' locks as well.
    locks::lock_writable_owners(tx, user).await?;
    let mut ids = store::completed_ids(tx, user).await?;
    let mut level = ids.clone();
    for _ in 0..MAX_DEPTH {
        level = store::children_of(tx, user, &level).await?;
        if level.is_empty() {
            break;
        }
        ids.extend(&level);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(store::delete_all(tx, user, &ids).await?)
}
