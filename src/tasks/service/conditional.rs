//! The conditional write: what a write's [`Precondition`] (REST `If-Match`, GraphQL
//! `expectedVersion`) asks of its task, checked inside the write's transaction. A keyed
//! write checks its idempotency key first (`tasks::idempotency`), so a replay never answers 412.

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::tasks::task::model::{Precondition, Task};
use crate::tasks::task::write;

/// Inside a write's transaction, before the change: what a conditional write (`expect`) asks
/// of the task, checked after ownership (another user's task is 404 whatever the version
/// said) on the task held for this write (`task::write::lock`). Unconditional writes skip it.
pub(in crate::tasks) async fn hold(
    tx: &mut crate::db::DbConn,
    user: &AuthUser,
    id: i64,
    expect: &Precondition,
) -> AppResult<()> {
    if *expect == Precondition::None {
        return Ok(());
    }
    let task = Task::from(write::lock(tx, user, id).await?.ok_or(AppError::NotFound)?);
    if task.satisfies(expect) {
        Ok(())
    } else {
        Err(AppError::VersionConflict(Box::new(task)))
    }
}
