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
use crate::graphql::transport::budget::charged;

#[ComplexObject]
impl Task {
    /// The list the task belongs to; null for the inbox.
    // Batched over the page (`loaders`): one read for every task's list.
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<TaskList>> {
        let Some(id) = &self.list_id else {
            return Ok(None);
        };
        let id = parse_id("listId", id)?;
        // Charged for this task, before it is copied out of the loader's shared answer: a
        // list shared by 10,000 tasks is 10,000 copies in the response.
        let list = charged(ctx, async {
            // None: deleted since the task was read.
            match loader(ctx)?.load_one(NestedKey::List(id)).await? {
                Some(NestedValue::List(list)) => Ok(Some(list)),
                _ => Ok(None),
            }
        })
        .await?;
        Ok(list.map(|list| Arc::unwrap_or_clone(list).into()))
    }

    /// Its subtasks (direct children), in manual order (`position`, top first).
    // A list inside a list: costed as holding ten items (`complexity::COSTS`); batched over
    // the page (`loaders`): one read for every task's subtasks.
    async fn subtasks(&self, ctx: &Context<'_>) -> Result<TaskItems> {
        let id = parse_id("id", &self.id)?;
        let tasks = charged(ctx, async {
            match loader(ctx)?.load_one(NestedKey::Children(id)).await? {
                Some(NestedValue::Tasks(tasks)) => Ok(Some(tasks)),
                _ => Ok(None),
            }
        })
        .await?;
        Ok(TaskItems::from(
            tasks.map(Arc::unwrap_or_clone).unwrap_or_default(),
        ))
    }

    /// The task this one is a subtask of; null at the top level.
    // Batched over the page (`loaders`): one read for every task's parent.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(parent) = &self.parent_id else {
            return Ok(None);
        };
        let id = parse_id("parentId", parent)?;
        let task = charged(ctx, async {
            // None: deleted meanwhile.
            match loader(ctx)?.load_one(NestedKey::Task(id)).await? {
                Some(NestedValue::Task(task)) => Ok(Some(task)),
                _ => Ok(None),
            }
        })
        .await?;
        Ok(task.map(|task| Arc::unwrap_or_clone(task).into()))
    }
}
