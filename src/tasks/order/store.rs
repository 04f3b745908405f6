//! Manual order and subtasks: the reads a move needs (a group of siblings in order, a task's
//! children and subtree, the level a task sits at) and its writes (a task's new list, parent and
//! position; a renumbered sibling; a subtree's deletion). Each write adds one to the task's
//! `version`; its journal entry (a tombstone for a deletion) and event are the database's
//! triggers', inside the caller's unit of work. Each is filtered by `writable_by(viewer)`.
//!
//! It must not decide anything (which group, which neighbour, when to renumber): that is
//! `tasks::order::moves`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::order::group_end::in_group;
use crate::tasks::sync::journal::Written;
use crate::tasks::task::model::TaskRow;
use crate::tasks::task::write::returning_row;
use crate::tasks::visibility::writable_by;

/// The viewer's tasks in `list` under `parent` (`None`: the inbox / the top level), as
/// (id, position), top first (ties by id).
pub(in crate::tasks) async fn group(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: Option<i64>,
    parent: Option<i64>,
) -> QueryResult<Vec<(i64, String)>> {
    db_run!(conn, |c| {
        use crate::db::schema::tasks::dsl::*;
        let q = tasks
            .filter(writable_by(viewer))
            .select((id, position))
            .order_by((position.asc(), id.asc()))
            .into_boxed();
        in_group!(q, list, parent).load(c).await
    })
}

/// The ids of the viewer's tasks whose parent is one of `parents`.
pub(in crate::tasks) async fn children_of(
    conn: &mut DbConn,
    viewer: &AuthUser,
    parents: &[i64],
) -> QueryResult<Vec<i64>> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    db_run!(conn, |c| {
        use crate::db::schema::tasks::dsl::*;
        tasks
            .filter(writable_by(viewer))
            .filter(parent_id.eq_any(parents))
            .order_by(id.asc())
            .select(id)
            .load(c)
            .await
    })
}

/// The ids of `root`'s descendants among the viewer's tasks, level by level (children
/// first), at most `max_depth` + 1 levels down (the rules keep trees `max_depth` deep).
pub(in crate::tasks) async fn subtree(
    conn: &mut DbConn,
    viewer: &AuthUser,
    root: i64,
    max_depth: usize,
) -> QueryResult<Vec<Vec<i64>>> {
    let mut levels = Vec::new();
    let mut current = vec![root];
    for _ in 0..=max_depth {
        current = children_of(conn, viewer, &current).await?;
        if current.is_empty() {
            break;
        }
        levels.push(current.clone());
    }
    Ok(levels)
}

/// The level of a task under `parent` (1: the top level), walking up the viewer's tasks;
/// `usize::MAX` when the walk meets `moving` (the task being moved: a cycle) or climbs past
/// `max_depth` + 1 levels (a chain no rule allows); `None` when an ancestor is not the viewer's.
pub(in crate::tasks) async fn level(
    conn: &mut DbConn,
    viewer: &AuthUser,
    mut parent: Option<i64>,
    moving: i64,
    max_depth: usize,
) -> QueryResult<Option<usize>> {
    let mut level = 1;
    while let Some(above) = parent {
        if above == moving || level > max_depth + 1 {
            return Ok(Some(usize::MAX));
        }
        let found: Option<Option<i64>> = db_run!(conn, |c| {
            use crate::db::schema::tasks::dsl::*;
            tasks
                .filter(id.eq(above))
                .filter(writable_by(viewer))
                .select(parent_id)
                .first(c)
                .await
                .optional()
        })?;
        let Some(next) = found else {
            return Ok(None);
        };
        parent = next;
        level += 1;
    }
    Ok(Some(level))
}

/// The ids of the viewer's completed tasks, in id order.
pub(in crate::tasks) async fn completed_ids(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> QueryResult<Vec<i64>> {
    db_run!(conn, |c| {
        use crate::db::schema::tasks::dsl::*;
        tasks
            .filter(writable_by(viewer))
            .filter(completed.eq(true))
            .order_by(id.asc())
            .select(id)
            .load(c)
            .await
    })
}

/// What a placement changes: `None` leaves a column alone (`Some(None)`: NULL).
#[derive(AsChangeset)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(in crate::tasks) struct Placement {
    pub(in crate::tasks) list_id: Option<Option<i64>>,
    pub(in crate::tasks) parent_id: Option<Option<i64>>,
    pub(in crate::tasks) position: Option<String>,
    pub(in crate::tasks) updated_at: NaiveDateTime,
}

/// Writes a task's list, parent and / or position (version + 1); `None` when the viewer has
/// no such task.
pub(in crate::tasks) async fn place(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    placement: &Placement,
) -> QueryResult<Option<Written>> {
    let updated = db_run!(conn, |c| {
        use crate::db::schema::tasks::dsl::*;
        returning_row!(
            diesel::update(tasks.filter(id.eq(task_id)).filter(writable_by(viewer)))
                .set((placement, version.eq(version + 1))),
            c
        )
    })?;
    let updated = match updated {
        Some(row) => conn.per_store(Settled { viewer, row }).await?,
        None => None,
    };
    Ok(updated.map(|row| Written { row }))
}

/// Deletes `ids` (a task and all its descendants, or every completed task and theirs) in one
/// statement, so the parent-before-child foreign keys hold at its end on both backends (the
/// database records a tombstone for each and sends one event for the statement); returns
/// those that were there, in the order given.
pub(in crate::tasks) async fn delete_all(
    conn: &mut DbConn,
    viewer: &AuthUser,
    ids: &[i64],
) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let gone_ids: Vec<i64> = db_run!(conn, |c| {
        use crate::db::schema::tasks::dsl::*;
        diesel::delete(tasks.filter(writable_by(viewer)).filter(id.eq_any(ids)))
            .returning(id)
            .get_results(c)
            .await
    })?;
    let gone_ids: std::collections::HashSet<i64> = gone_ids.into_iter().collect();
    Ok(ids
        .iter()
        .copied()
        .filter(|i| gone_ids.contains(i))
        .collect())
}

/// A placed row as its triggers left it.
struct Settled<'a> {
    viewer: &'a AuthUser,
    row: TaskRow,
}

impl PerStore for Settled<'_> {
    type Output = QueryResult<Option<TaskRow>>;

    /// The BEFORE trigger (clearing the assignee of a task moved where they are no member) is
    /// in the row returned.
    async fn postgres(self, _conn: &mut PgConn) -> Self::Output {
        Ok(Some(self.row))
    }

    /// RETURNING shows the row before its triggers: one that cleared the assignee is read
    /// back.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        Ok(
            crate::tasks::sharing::assignees::settled(conn, self.viewer, self.row, None)
                .await?
                .ok(),
        )
    }
}
