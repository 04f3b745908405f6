//! Moving a task (`POST …/tasks/{id}/move`, `moveTask`) and clearing completed tasks (which
//! takes their subtasks along): the service's operations over the rules of `tree`, each one
//! unit of work whose changed tasks are all published after the commit (from the journal:
//! `events::publish`).

use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::tasks::idempotency::keys::written_task;
use crate::tasks::idempotency::request::Keyed;
use crate::tasks::order::store;
use crate::tasks::order::tree::{self, MoveTask};
use crate::tasks::service::conditional::hold;
use crate::tasks::service::{ItemWrite, TaskService, now_micros, written_row};
use crate::tasks::sync::journal;
use crate::tasks::task::model::Task;
use crate::tasks::unit::locks;

impl TaskService {
    /// Moves one of the user's tasks (see [`MoveTask`]) and returns it, its version one more.
    /// Siblings renumbered and descendants moved along get their own versions and events.
    pub async fn move_task(&self, w: ItemWrite<'_, Task>, to: MoveTask) -> AppResult<Task> {
        let (user, id, expect, once) = w.parts();
        let moved = self
            .write_once(user, once, written_task, async |tx| {
                // The owner's placement lock before the task's row lock, as every placement
                // takes them: a renumbering holding the first may need the second. The task's
                // owner: an editor moving a task of a shared list takes its owner's locks.
                locks::lock_owner_of_task(tx, user, id).await?;
                hold(tx, user, id, &expect).await?;
                let task = tree::find(tx, user, id).await?;
                let now = now_micros();
                let placement = tree::plan(tx, user, &task, &to, now).await?;
                Ok(store::place(tx, user, id, &placement).await?)
            })
            .await?;
        written_row(moved)
    }

    /// Deletes the user's completed tasks in one transaction, each with its tombstone and
    /// event (so sync and every instance see them), and returns their ids.
    pub async fn clear_completed(
        &self,
        user: &AuthUser,
        once: Option<Keyed<'_, Vec<i64>>>,
    ) -> AppResult<Vec<i64>> {
        let cutoff = self.tombstone_cutoff();
        let ids = |deleted: &Vec<i64>| Some(deleted.clone());
        self.write_once(user, once, ids, async |tx| {
            // A completed parent takes its subtasks with it (`moves`).
            let deleted = tree::delete_completed_trees(tx, user).await?;
            if !deleted.is_empty() {
                // As for a single delete: tombstones pile up here.
                journal::prune_tombstones(tx, user, cutoff, self.tombstones_kept()).await?;
            }
            Ok(deleted)
        })
        .await
    }
}
