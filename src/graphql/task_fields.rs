//! The fields of the GraphQL `Task` that are resolved rather than copied from the task (the
//! type is `types`' and is a `#[graphql(complex)]` object): `list`, `subtasks` and `parent`
//! (issue 21). They are batched over the page through `loaders` (one read for all of them,
//! not one per task) and charged to the response's budget (`budget`).

use async_graphql::{ComplexObject, Context, Result};

use super::budget::{charge_lists, charge_tasks, ensure_room};
use super::error::parse_id;
use super::loaders::{NestedKey, NestedValue, loader};
use super::task_items::TaskItems;
use super::task_lists::TaskList;
use super::types::Task;

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
        charge_lists(ctx, [&list])?;
        Ok(Some(list.into()))
    }

    /// Its subtasks (direct children), in manual order (`position`, top first).
    // A list inside a list: costed as holding ten items (`complexity::COSTS`); batched over
    // the page (`loaders`): one read for every task's subtasks.
    async fn subtasks(&self, ctx: &Context<'_>) -> Result<TaskItems> {
        let id = parse_id("id", &self.id)?;
        ensure_room(ctx)?;
        let tasks = match loader(ctx)?.load_one(NestedKey::Children(id)).await? {
            Some(NestedValue::Tasks(tasks)) => tasks,
            _ => Vec::new(),
        };
        charge_tasks(ctx, &tasks)?;
        Ok(TaskItems::from(tasks))
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
        charge_tasks(ctx, [&task])?;
        Ok(Some(task.into()))
    }
}
