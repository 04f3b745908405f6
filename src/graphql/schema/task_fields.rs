//! The fields of the GraphQL `Task` that are resolved rather than copied from the task (the
//! type is `types`' and is a `#[graphql(complex)]` object): `list`, `subtasks` and `parent`
//! (issue 21). They are batched over the page through `loaders` (one read for all of them,
//! not one per task) and charged to the response's budget (`transport::budget`).

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Result};

use super::error::parse_id;
use super::lists::TaskList;
use super::loaders::{NestedKey, NestedValue, loader};
use super::task_items::TaskItems;
use super::types::Task;
use crate::graphql::transport::budget::{charge_lists, charge_tasks, ensure_room};

#[ComplexObject]
impl Task {
    /// The list the task belongs to; null for the inbox.
    // Batched over the page (`loaders`): one read for every task's list.
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<TaskList>> {
        let Some(id) = &self.list_id else {
            return Ok(None);
        };
        let id = parse_id("listId", id)?;
        ensure_room(ctx)?;
        // None: deleted since the task was read.
        let Some(NestedValue::List(list)) = loader(ctx)?.load_one(NestedKey::List(id)).await?
        else {
            return Ok(None);
        };
        // Charged for this task, before it is copied out of the loader's shared answer: a
        // list shared by 10,000 tasks is 10,000 copies in the response.
        charge_lists(ctx, [list.as_ref()]).await?;
        Ok(Some(Arc::unwrap_or_clone(list).into()))
    }

    /// Its subtasks (direct children), in manual order (`position`, top first).
    // A list inside a list: costed as holding ten items (`complexity::COSTS`); batched over
    // the page (`loaders`): one read for every task's subtasks.
    async fn subtasks(&self, ctx: &Context<'_>) -> Result<TaskItems> {
        let id = parse_id("id", &self.id)?;
        ensure_room(ctx)?;
        let Some(NestedValue::Tasks(tasks)) =
            loader(ctx)?.load_one(NestedKey::Children(id)).await?
        else {
            return Ok(TaskItems(Vec::new()));
        };
        charge_tasks(ctx, tasks.iter()).await?;
        Ok(TaskItems::from(Arc::unwrap_or_clone(tasks)))
    }

    /// The task this one is a subtask of; null at the top level.
    // Batched over the page (`loaders`): one read for every task's parent.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(parent) = &self.parent_id else {
            return Ok(None);
        };
        let id = parse_id("parentId", parent)?;
        ensure_room(ctx)?;
        // None: deleted meanwhile.
        let Some(NestedValue::Task(task)) = loader(ctx)?.load_one(NestedKey::Task(id)).await?
        else {
            return Ok(None);
        };
        charge_tasks(ctx, [task.as_ref()]).await?;
        Ok(Some(Arc::unwrap_or_clone(task).into()))
    }
}
