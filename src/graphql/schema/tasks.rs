//! Task query, mutation and subscription resolvers (the two task lists are `task_queries`'):
//! read the viewer, call the service, map the result. No SQL, validation or isolation here.

use async_graphql::{Context, ID, Object, Result, Subscription};
use futures::{Stream, StreamExt};

use super::error::{bad_argument, to_graphql_error};
use super::events::{TaskChanges, TaskEvent};
use super::idempotency::{as_json, item_mutation, item_write, keyed_request, or_replayed};
use super::inputs::{CreateTaskInput, UpdateTaskInput};
use super::types::{Task, TaskStats, Viewer};
use super::{service, viewer};
use crate::error::AppError;
use crate::graphql::transport::budget::charged;
use crate::tasks::idempotency::request::keyed;
use crate::tasks::{ItemWrite, TaskService, Writer};

/// A task id argument as the service's integer.
pub(super) fn task_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        bad_argument(
            "id",
            "Input should be a valid integer, unable to parse string as an integer",
        )
    })
}

/// Task queries other than the lists.
#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// Counts over the signed-in user's tasks: by status, overdue, by priority and category.
    async fn task_stats(&self, ctx: &Context<'_>) -> Result<TaskStats> {
        let user = viewer(ctx)?;
        let stats = service(ctx)?.stats(user).await.map_err(to_graphql_error)?;
        Ok(stats.into())
    }

    /// Incremental sync: what changed since `since` (a cursor from an earlier call or from a
    /// task event), or every task without it, plus the cursor to send next time. A cursor
    /// older than the deletions the server keeps fails with CURSOR_EXPIRED: fetch everything
    /// again.
    async fn task_changes(&self, ctx: &Context<'_>, since: Option<String>) -> Result<TaskChanges> {
        let user = viewer(ctx)?;
        let set = charged(ctx, async {
            service(ctx)?
                .changes(user, since.as_deref(), "since")
                .await
                .map_err(to_graphql_error)
        })
        .await?;
        Ok(set.into())
    }

    /// One task by id; null when there is no such task of the signed-in user.
    async fn task(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Task>> {
        let user = viewer(ctx)?;
        let task = charged(ctx, async {
            match service(ctx)?.get(user, task_id(&id)?).await {
                Ok(task) => Ok(Some(task)),
                Err(AppError::NotFound) => Ok(None),
                Err(e) => Err(to_graphql_error(e)),
            }
        })
        .await?;
        Ok(task.map(Task::from))
    }
}

/// The signed-in user.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who the token says is signed in.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        Ok(Viewer {
            id: ID(viewer(ctx)?.id().to_owned()),
        })
    }
}

/// Task mutations. Each takes an optional `idempotencyKey` (1 to 255 visible ASCII
/// characters, or the `Idempotency-Key` header over HTTP): a repeat with the same key and
/// arguments returns the first result instead of writing again; the same key still running
/// is IDEMPOTENCY_KEY_IN_USE, used for other arguments IDEMPOTENCY_KEY_REUSED.
#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Creates a task.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        input: CreateTaskInput,
        idempotency_key: Option<String>,
    ) -> Result<Task> {
        let user = viewer(ctx)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let once = keyed(request.as_ref(), &as_json);
        let created = service(ctx)?
            .create(Writer { user, once }, input.into_new()?)
            .await;
        Ok(or_replayed(created)?.into())
    }

    /// Changes the fields given; the others stay as they are. With `expectedVersion`, only if
    /// the task is still at that version (else VERSION_CONFLICT, with the task as it is now in
    /// `extensions.task`).
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTaskInput,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<Task> {
        let user = viewer(ctx)?;
        let id = task_id(&id)?;
        let patch = input.into_patch()?;
        let request = keyed_request(ctx, idempotency_key)?;
        let write = item_write(user, id, expected_version, &request);
        let updated = service(ctx)?.update(write, patch).await;
        Ok(or_replayed(updated)?.into())
    }

    /// Deletes a task and returns its id. With `expectedVersion`, only if the task is still at
    /// that version (else VERSION_CONFLICT).
    async fn delete_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<ID> {
        let delete = TaskService::delete;
        item_mutation(ctx, &id, expected_version, idempotency_key, delete).await?;
        Ok(id)
    }

    /// Flips `completed` atomically; on a pending repeating task, completes its current
    /// occurrence instead (the due date moves to the next one, the task stays pending; the
    /// last occurrence completes it for good). With `expectedVersion`, only if the task is
    /// still at that version (else VERSION_CONFLICT).
    async fn toggle_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<Task> {
        let toggle = TaskService::toggle;
        let task = item_mutation(ctx, &id, expected_version, idempotency_key, toggle);
        Ok(task.await?.into())
    }

    /// Deletes the signed-in user's completed tasks and returns their ids; subscribers get a
    /// DELETED event for each.
    async fn clear_completed(
        &self,
        ctx: &Context<'_>,
        idempotency_key: Option<String>,
    ) -> Result<Vec<ID>> {
        let user = viewer(ctx)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let once = keyed(request.as_ref(), &as_json);
        let ids = or_replayed(service(ctx)?.clear_completed(user, once).await)?;
        Ok(ids.into_iter().map(|id| ID(id.to_string())).collect())
    }

    /// Sets `completed` to the given value; repeating it changes nothing (for optimistic UIs),
    /// except on a repeating task: `true` on a pending one completes its current occurrence
    /// (as `toggleTask`), so use `idempotencyKey` or `expectedVersion` to retry safely.
    /// With `expectedVersion`, only if the task is still at that version (else
    /// VERSION_CONFLICT).
    async fn set_task_completed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        completed: bool,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<Task> {
        let set = async |tasks: &TaskService, w: ItemWrite<'_, _>| {
            tasks.set_completed(w, completed).await
        };
        let task = item_mutation(ctx, &id, expected_version, idempotency_key, set);
        Ok(task.await?.into())
    }
}

/// Live updates.
#[derive(Default)]
pub struct TaskSubscription;

#[Subscription]
impl TaskSubscription {
    /// Every change to the signed-in user's tasks, made through any server instance, as it
    /// happens, each with the sync cursor after it. RESYNC means events may have been missed:
    /// call `taskChanges(since:)` with the last cursor seen. At most
    /// MAX_SUBSCRIPTIONS_PER_USER open per user (TOO_MANY_SUBSCRIPTIONS beyond).
    async fn task_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = TaskEvent> + use<>> {
        let user = viewer(ctx)?;
        let stream = service(ctx)?
            .subscribe(user)
            .await
            .map_err(to_graphql_error)?;
        Ok(stream.map(TaskEvent::from))
    }
}
