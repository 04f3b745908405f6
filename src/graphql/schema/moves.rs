//! `moveTask`: manual order and re-parenting. Reads the viewer, calls
//! `TaskService::move_task`, maps the result; the rules are the service's (`tasks::order::moves`).

use async_graphql::{Context, ID, MaybeUndefined, Object, Result};

use super::error::parse_id;
use super::idempotency::item_write;
use super::idempotency::{keyed_request, or_replayed};
use super::inputs::clearable_id;
use super::tasks::task_id;
use super::types::Task;
use super::{service, viewer};
use crate::tasks::MoveTask;

/// The move mutation.
#[derive(Default)]
pub struct MoveMutation;

#[Object]
impl MoveMutation {
    /// Moves a task: to a list (`listId`, null: the inbox), under a parent (`parentId`, null:
    /// the top level), next to a sibling of its destination group (`afterId`: just below it,
    /// `beforeId`: just above it; at most one; neither: last). An argument left out keeps the
    /// current value. Returns the task with its new `position` and version. Siblings
    /// renumbered to make room, and subtasks that follow it to another list, change too
    /// (each with an event). NOT_FOUND: a task, list or parent that is not the signed-in
    /// user's; BAD_USER_INPUT: a neighbour outside the destination group, a cycle, a tree
    /// deeper than 3 levels. With `expectedVersion`, only if the task is still at that
    /// version (else VERSION_CONFLICT).
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn move_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        list_id: MaybeUndefined<ID>,
        parent_id: MaybeUndefined<ID>,
        after_id: Option<ID>,
        before_id: Option<ID>,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<Task> {
        let user = viewer(ctx)?;
        let id = task_id(&id)?;
        let to = MoveTask {
            list_id: clearable_id("listId", list_id)?,
            parent_id: clearable_id("parentId", parent_id)?,
            after_id: after_id.map(|n| parse_id("afterId", &n)).transpose()?,
            before_id: before_id.map(|n| parse_id("beforeId", &n)).transpose()?,
        };
        let request = keyed_request(ctx, idempotency_key)?;
        let write = item_write(user, id, expected_version, &request);
        let moved = service(ctx)?.move_task(write, to).await;
        Ok(or_replayed(moved)?.into())
    }
}
