//! The nested fields of a page, batched: every task of a page asks for its `list`, `parent` or
//! `subtasks`, and one read per field answers them all (async-graphql's `DataLoader` collects
//! the keys asked for while the page's items resolve, then calls the service once). One loader
//! per operation ([`NestedLoads`], put in by the pipeline), made on first use for the verified
//! viewer: it caches nothing, so no answer outlives its operation or reaches another user, and
//! every batch is a read unit of that viewer's under row security (`tasks::nested`). A batch's
//! error (the service's, mapped once) reaches every field that asked.

use std::collections::HashMap;
use std::sync::OnceLock;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};

use super::{service, to_graphql_error, viewer};
use crate::auth::AuthUser;
use crate::tasks::{List, Task, TaskService};

/// Most keys in one batch: a whole `tasks` list of a user at the default caps in one or two
/// statements (the ids travel as one array-like `IN` list).
const MAX_BATCH: usize = 5000;

/// A list, by id (`Task.list`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(super) struct ListKey(pub i64);

/// A task, by id (`Task.parent`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(super) struct TaskKey(pub i64);

/// A task's subtasks, by its id (`Task.subtasks`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(super) struct ChildrenKey(pub i64);

/// What the batches read with: the service and the operation's verified viewer.
pub(super) struct Nested {
    service: TaskService,
    viewer: AuthUser,
}

impl Loader<ListKey> for Nested {
    type Value = List;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ListKey]) -> Result<HashMap<ListKey, List>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|key| key.0).collect();
        let lists = self
            .service
            .lists_by_id(&self.viewer, &ids)
            .await
            .map_err(to_graphql_error)?;
        Ok(lists
            .into_iter()
            .map(|(id, list)| (ListKey(id), list))
            .collect())
    }
}

impl Loader<TaskKey> for Nested {
    type Value = Task;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[TaskKey]) -> Result<HashMap<TaskKey, Task>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|key| key.0).collect();
        let tasks = self
            .service
            .tasks_by_id(&self.viewer, &ids)
            .await
            .map_err(to_graphql_error)?;
        Ok(tasks
            .into_iter()
            .map(|(id, task)| (TaskKey(id), task))
            .collect())
    }
}

impl Loader<ChildrenKey> for Nested {
    type Value = Vec<Task>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ChildrenKey],
    ) -> Result<HashMap<ChildrenKey, Vec<Task>>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|key| key.0).collect();
        let children = self
            .service
            .subtasks_by_parent(&self.viewer, &ids)
            .await
            .map_err(to_graphql_error)?;
        Ok(children
            .into_iter()
            .map(|(id, tasks)| (ChildrenKey(id), tasks))
            .collect())
    }
}

/// The operation's loader, made on first use.
#[derive(Default)]
pub(crate) struct NestedLoads(OnceLock<DataLoader<Nested>>);

/// This operation's loader (for its verified viewer).
pub(super) fn loader<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a DataLoader<Nested>> {
    // Put in by the pipeline for every operation; missing would be a bug: fail closed.
    let slot = ctx.data::<std::sync::Arc<NestedLoads>>()?;
    if let Some(loader) = slot.0.get() {
        return Ok(loader);
    }
    let nested = Nested {
        service: service(ctx)?.clone(),
        viewer: viewer(ctx)?.clone(),
    };
    Ok(slot
        .0
        .get_or_init(|| DataLoader::new(nested, tokio::spawn).max_batch_size(MAX_BATCH)))
}
