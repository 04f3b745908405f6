//! The fields of the GraphQL `Task` that are resolved rather than copied from the task (the
//! type is `types`' and is a `#[graphql(complex)]` object): `list` (issue 21). Each reads the
//! viewer and calls the service, like every resolver.

use async_graphql::{ComplexObject, Context, Result};

use super::error::{parse_id, to_graphql_error};
use super::task_lists::TaskList;
use super::types::Task;
use super::{service, viewer};
use crate::error::AppError;

#[ComplexObject]
impl Task {
    /// The list the task belongs to; null for the inbox.
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<TaskList>> {
        let Some(id) = &self.list_id else {
            return Ok(None);
        };
        let user = viewer(ctx)?;
        match service(ctx)?.get_list(user, parse_id("listId", id)?).await {
            Ok(list) => Ok(Some(list.into())),
            // Deleted since the task was read.
            Err(AppError::ListNotFound) => Ok(None),
            Err(e) => Err(to_graphql_error(e)),
        }
    }
}
