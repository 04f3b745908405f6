//! List operations of [`TaskService`] (issue 21): read, create, update, move and delete a
//! user's lists, each one unit of work like the task operations, keyed writes at most once
//! (`write_once`). Deleting a list deletes its tasks or moves them to the inbox in the same
//! transaction. Every list and task change is journaled by the database (issue 27), so sync,
//! SSE and subscriptions see each list (`List…` events, tombstones for deleted lists) and
//! each affected task; where the service delivers events itself (SQLite) it reads back what
//! the write journaled, for every user whose journal it moved, and delivers it after the
//! commit (`events::publish`).
//!
//! The rules for a list's fields are `model`'s; the SQL is `store`'s (with `reads` and `list_tasks`).

pub(in crate::tasks) mod checks;
pub(in crate::tasks) mod list_tasks;
pub mod model;
pub(in crate::tasks) mod reads;
pub(in crate::tasks) mod store;

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::lists::model::{
    List, ListDeletion, ListPatch, ListPlacement, ListTasks, NewList,
};
use crate::tasks::service::{ItemWrite, TaskService, Writer, now_micros};
use crate::tasks::sync::journal::prune_tombstones;
use store::Refusal;

impl TaskService {
    /// The same service, refusing to create more than `max` lists per user.
    pub fn with_list_cap(mut self, max: u64) -> Self {
        self.max_lists = max;
        self
    }

    /// What a refused list write means to a client; `name` is the name that was asked for.
    fn refused(&self, refusal: Refusal, name: Option<&str>) -> AppError {
        match refusal {
            Refusal::Stale(row) => AppError::ListVersionConflict(Box::new(List::from(*row))),
            Refusal::Missing | Refusal::NeighbourMissing => AppError::ListNotFound,
            Refusal::Duplicate => AppError::DuplicateListName(name.unwrap_or_default().to_owned()),
            Refusal::Full => AppError::ListLimitReached(self.max_lists),
            Refusal::NeighbourIsItself => AppError::invalid(FieldError::body(
                "after_id",
                "value_error",
                "Value error, a list cannot be moved next to itself",
                serde_json::Value::Null,
            )),
        }
    }

    /// The user's lists, in their manual order, then the lists shared with them.
    pub async fn lists(&self, user: &AuthUser) -> AppResult<Vec<List>> {
        let rows = self
            .work
            .read(user, async |conn| Ok(reads::all(conn, user).await?))
            .await?;
        Ok(rows.into_iter().map(List::from).collect())
    }

    /// One of the lists the user sees (theirs, or shared with them); another user's is
    /// [`AppError::ListNotFound`] too.
    pub async fn get_list(&self, user: &AuthUser, id: i64) -> AppResult<List> {
        self.work
            .read(user, async |conn| {
                Ok(reads::find_seen(conn, user, id).await?)
            })
            .await?
            .map(List::from)
            .ok_or(AppError::ListNotFound)
    }

    /// Creates a list, last in the user's order, unless they have MAX_LISTS_PER_USER or a
    /// list of that name (case-insensitively).
    pub async fn create_list(&self, w: Writer<'_, List>, input: NewList) -> AppResult<List> {
        let Writer { user, once } = w;
        let input = input.validated()?;
        self.write_once(user, once, listed, async |tx| {
            let row = store::insert(tx, user, &input, now_micros(), self.max_lists).await?;
            let row = row.map_err(|r| self.refused(r, Some(&input.name)))?;
            Ok(List::from(row))
        })
        .await
    }

    /// Renames and / or recolours one of the user's lists.
    pub async fn update_list(&self, w: ItemWrite<'_, List>, patch: ListPatch) -> AppResult<List> {
        let (user, id, expect, once) = w.parts();
        let patch = patch.validated()?;
        self.write_once(user, once, listed, async |tx| {
            let row = store::update(tx, user, id, &patch, &expect, now_micros()).await?;
            let row = row.map_err(|r| self.refused(r, patch.name.as_deref()))?;
            Ok(List::from(row))
        })
        .await
    }

    /// Moves one of the user's lists right after or before another of theirs, or to the end.
    pub async fn move_list(
        &self,
        w: ItemWrite<'_, List>,
        placement: ListPlacement,
    ) -> AppResult<List> {
        let (user, id, expect, once) = w.parts();
        let field = match placement {
            ListPlacement::Before(_) => "before_id",
            _ => "after_id",
        };
        self.write_once(user, once, listed, async |tx| {
            let row = store::move_to(tx, user, id, placement, &expect, now_micros()).await?;
            let row = row.map_err(|r| match self.refused(r, None) {
                AppError::Validation(mut errors) => {
                    errors
                        .iter_mut()
                        .for_each(|e| e.field = Some(field.to_owned()));
                    AppError::Validation(errors)
                }
                other => other,
            })?;
            Ok(List::from(row))
        })
        .await
    }

    /// Deletes one of the user's lists, first deleting its tasks or moving them to the
    /// inbox, in one transaction; the list leaves a tombstone, and each task's change is
    /// journaled and published with it.
    pub async fn delete_list(
        &self,
        w: ItemWrite<'_, ListDeletion>,
        tasks: ListTasks,
    ) -> AppResult<ListDeletion> {
        let (user, id, expect, once) = w.parts();
        let cutoff = self.tombstone_cutoff();
        let outcome = |done: &ListDeletion| Some(done.clone());
        self.write_once(user, once, outcome, async |tx| {
            let emptied = store::delete(tx, user, id, tasks, &expect, now_micros()).await?;
            let emptied = emptied.map_err(|r| self.refused(r, None))?;
            if tasks == ListTasks::Delete && !emptied.task_ids.is_empty() {
                prune_tombstones(tx, user, cutoff, self.tombstones_kept()).await?;
            }
            let deletion = ListDeletion {
                list_id: id,
                tasks,
                task_ids: emptied.task_ids,
            };
            Ok(deletion)
        })
        .await
    }
}

/// The outcome a keyed list write stores: the list it answered with.
fn listed(done: &List) -> Option<List> {
    Some(done.clone())
}
