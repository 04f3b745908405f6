//! The fields of `Task` that are resolved rather than copied from the task: each reads
//! through the service, for the viewer, like any other resolver.

use async_graphql::{ComplexObject, Context, Result};

use super::error::to_graphql_error;
use super::inputs::id_number;
use super::types::Task;
use super::{service, viewer};
use crate::error::AppError;
use crate::tasks::{ListQuery, SortKey, SortOrder};

#[ComplexObject]
impl Task {
    /// Its subtasks (direct children), in manual order (`position`, top first).
    // A list inside a list: costed as holding ten items (`complexity::COSTS`).
    async fn subtasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let user = viewer(ctx)?;
        let query = ListQuery {
            sort: SortKey::Position,
            order: Some(SortOrder::Asc),
            parent_id: Some(Some(id_number("id", &self.id)?)),
            ..ListQuery::default()
        };
        let tasks = service(ctx)?
            .list(user, &query)
            .await
            .map_err(to_graphql_error)?;
        Ok(tasks.into_iter().map(Task::from).collect())
    }

    /// The task this one is a subtask of; null at the top level.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(parent) = &self.parent_id else {
            return Ok(None);
        };
        let user = viewer(ctx)?;
        match service(ctx)?
            .get(user, id_number("parentId", parent)?)
            .await
        {
            Ok(task) => Ok(Some(task.into())),
            // Deleted meanwhile.
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(to_graphql_error(e)),
        }
    }
}
