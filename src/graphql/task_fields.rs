//! The fields of the GraphQL `Task` that are resolved rather than copied from the task (the
//! type is `types`' and is a `#[graphql(complex)]` object): `list`, `subtasks` and `parent`
//! (issue 21). Each reads the viewer and calls the service, like every resolver.

use async_graphql::{ComplexObject, Context, Result};

use super::budget::{charge_lists, charge_tasks, ensure_room};
use super::error::{parse_id, to_graphql_error};
use super::task_lists::TaskList;
use super::types::Task;
use super::{service, viewer};
use crate::error::AppError;
use crate::tasks::{ListQuery, SortKey, SortOrder};

#[ComplexObject]
impl Task {
    /// The list the task belongs to; null for the inbox.
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<TaskList>> {
        let Some(id) = &self.list_id else {
            return Ok(None);
        };
        let user = viewer(ctx)?;
        ensure_room(ctx)?;
        match service(ctx)?.get_list(user, parse_id("listId", id)?).await {
            Ok(list) => {
                charge_lists(ctx, [&list])?;
                Ok(Some(list.into()))
            }
            // Deleted since the task was read.
            Err(AppError::ListNotFound) => Ok(None),
            Err(e) => Err(to_graphql_error(e)),
        }
    }

    /// Its subtasks (direct children), in manual order (`position`, top first).
    // A list inside a list: costed as holding ten items (`complexity::COSTS`).
    async fn subtasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let user = viewer(ctx)?;
        ensure_room(ctx)?;
        let query = ListQuery {
            sort: SortKey::Position,
            order: Some(SortOrder::Asc),
            parent_id: Some(Some(parse_id("id", &self.id)?)),
            ..ListQuery::default()
        };
        let tasks = service(ctx)?
            .list(user, &query)
            .await
            .map_err(to_graphql_error)?;
        charge_tasks(ctx, &tasks)?;
        Ok(tasks.into_iter().map(Task::from).collect())
    }

    /// The task this one is a subtask of; null at the top level.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(parent) = &self.parent_id else {
            return Ok(None);
        };
        let user = viewer(ctx)?;
        ensure_room(ctx)?;
        match service(ctx)?.get(user, parse_id("parentId", parent)?).await {
            Ok(task) => {
                charge_tasks(ctx, [&task])?;
                Ok(Some(task.into()))
            }
            // Deleted meanwhile.
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(to_graphql_error(e)),
        }
    }
}
