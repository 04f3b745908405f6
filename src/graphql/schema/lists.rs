//! Lists in GraphQL (issue 21): the `List` type (its `tasks` and `tasksConnection` take the
//! task lists' filters and are written with them, in `lists`), its colour, the `lists` and
//! `list(id)` queries, and the `createList`, `updateList`, `moveList` and `deleteList`
//! mutations. Like the other resolvers: read the viewer, call the service, map the result.
//! (`task_queries` is the two task lists, `tasks` and `tasksConnection`.)

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::error::{parse_id, to_graphql_error};
use super::idempotency::item_write;
use super::idempotency::{as_json, keyed_request, or_replayed};
use super::types::DateTime;
use super::{service, viewer};
use crate::error::{AppError, FieldError};
use crate::graphql::transport::budget::charged;
use crate::tasks;
use crate::tasks::idempotency::request::keyed;
use crate::tasks::{ListColor, ListPatch, ListPlacement, NewList, Writer};

/// A list the signed-in user owns or that is shared with them: a named group of tasks with its own manual order. Its
/// changes are in `taskEvents` (`LIST_CREATED`, `LIST_UPDATED`, `LIST_DELETED`) and
/// `taskChanges` (`changedLists`, `deletedListIds`), numbered with the tasks' on one cursor.
#[derive(SimpleObject)]
#[graphql(name = "List", complex)]
pub struct TaskList {
    /// The list's id.
    pub id: ID,
    /// The list's owner: the user whose tasks its tasks are (issue 29).
    pub owner_id: String,
    /// The signed-in user's role on it: OWNER, or EDITOR / VIEWER for a list shared with them.
    pub role: super::members::ListRole,
    /// 1 to 100 characters (trimmed); unique per user, case-insensitively.
    pub name: String,
    /// Its colour; null for none.
    pub color: Option<ListColor>,
    /// Its place among the user's lists: compare as plain strings (byte order), smallest
    /// first. Changed only by `moveList`.
    pub position: String,
    /// 1 when created, one more on every change (rename, colour, move).
    pub version: i32,
    /// When the list was created.
    pub created_at: DateTime,
    /// When the list last changed.
    pub updated_at: DateTime,
    /// The id as the service's integer, for `tasks`.
    #[graphql(skip)]
    pub list_id: i64,
}

impl From<tasks::List> for TaskList {
    fn from(list: tasks::List) -> Self {
        TaskList {
            id: ID(list.id.to_string()),
            owner_id: list.user_id,
            role: list.role.into(),
            name: list.name,
            color: list.color,
            position: list.position,
            version: i32::try_from(list.version).unwrap_or(i32::MAX),
            created_at: DateTime(list.created_at),
            updated_at: DateTime(list.updated_at),
            list_id: list.id,
        }
    }
}

/// What deleting a list does with its tasks.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::tasks::ListTasks")]
pub enum ListTasksAction {
    /// Delete them (subtasks included): subscribers get a DELETED event for each.
    Delete,
    /// Move them to the inbox (`listId` null): subscribers get an UPDATED event for each.
    MoveToInbox,
}

/// What `deleteList` did.
#[derive(SimpleObject)]
pub struct DeleteListPayload {
    /// The deleted list's id.
    pub list_id: ID,
    /// What happened to its tasks.
    pub tasks: ListTasksAction,
    /// The tasks deleted or moved to the inbox, in id order.
    pub task_ids: Vec<ID>,
}

impl From<tasks::ListDeletion> for DeleteListPayload {
    fn from(done: tasks::ListDeletion) -> Self {
        DeleteListPayload {
            list_id: ID(done.list_id.to_string()),
            tasks: done.tasks.into(),
            task_ids: done.task_ids.iter().map(|id| ID(id.to_string())).collect(),
        }
    }
}

/// A new list.
#[derive(InputObject)]
pub struct CreateListInput {
    /// 1 to 100 characters after trimming; unique per user, case-insensitively (else
    /// DUPLICATE_NAME).
    pub name: String,
    /// Its colour (none when absent or null).
    pub color: Option<ListColor>,
}

/// Changes to a list: an absent field is left as it is; `color: null` clears the colour.
#[derive(InputObject)]
pub struct UpdateListInput {
    /// New name, 1 to 100 characters after trimming (null is not allowed).
    pub name: MaybeUndefined<String>,
    /// New colour, or null for none.
    pub color: MaybeUndefined<ListColor>,
}

/// BAD_USER_INPUT about one argument or input field.
pub(super) fn invalid(field: &str, kind: &'static str, message: &str) -> async_graphql::Error {
    let error = FieldError::body(field, kind, message, serde_json::Value::Null);
    to_graphql_error(AppError::invalid(error))
}

/// List queries.
#[derive(Default)]
pub struct ListQueries;

#[Object]
impl ListQueries {
    /// The signed-in user's lists, in their manual order (at most MAX_LISTS_PER_USER).
    async fn lists(&self, ctx: &Context<'_>) -> Result<Vec<TaskList>> {
        let user = viewer(ctx)?;
        let lists = charged(ctx, async {
            service(ctx)?.lists(user).await.map_err(to_graphql_error)
        })
        .await?;
        Ok(lists.into_iter().map(TaskList::from).collect())
    }

    /// One list by id; null when there is no such list of the signed-in user.
    async fn list(&self, ctx: &Context<'_>, id: ID) -> Result<Option<TaskList>> {
        let user = viewer(ctx)?;
        let list = charged(ctx, async {
            match service(ctx)?.get_list(user, parse_id("id", &id)?).await {
                Ok(list) => Ok(Some(list)),
                Err(AppError::ListNotFound) => Ok(None),
                Err(e) => Err(to_graphql_error(e)),
            }
        })
        .await?;
        Ok(list.map(TaskList::from))
    }
}

/// List mutations; each takes an optional `idempotencyKey`, as the task mutations do, and
/// each change of a list an optional `expectedVersion`: when the list is at another version
/// nothing is written and the error is VERSION_CONFLICT with the list as it is now in
/// `extensions.list`.
#[derive(Default)]
pub struct ListMutations;

#[Object]
impl ListMutations {
    /// Creates a list, last in the user's order. A name the user already has
    /// (case-insensitively): DUPLICATE_NAME; MAX_LISTS_PER_USER reached: LIMIT_EXCEEDED.
    async fn create_list(
        &self,
        ctx: &Context<'_>,
        input: CreateListInput,
        idempotency_key: Option<String>,
    ) -> Result<TaskList> {
        let user = viewer(ctx)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let once = keyed(request.as_ref(), &as_json);
        let new = NewList {
            name: input.name,
            color: input.color,
        };
        let created = service(ctx)?.create_list(Writer { user, once }, new).await;
        Ok(or_replayed(created)?.into())
    }

    /// Renames and / or recolours a list (DUPLICATE_NAME as `createList`).
    async fn update_list(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateListInput,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<TaskList> {
        let user = viewer(ctx)?;
        let id = parse_id("id", &id)?;
        let name = match input.name {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => {
                return Err(invalid(
                    "name",
                    "string_type",
                    "Input should be a valid string",
                ));
            }
            MaybeUndefined::Value(name) => Some(name),
        };
        let color = match input.color {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(color) => Some(Some(color)),
        };
        let request = keyed_request(ctx, idempotency_key)?;
        let write = item_write(user, id, expected_version, &request);
        let patch = ListPatch { name, color };
        Ok(or_replayed(service(ctx)?.update_list(write, patch).await)?.into())
    }

    /// Moves a list right after `afterId` or right before `beforeId` (at most one of them),
    /// or to the end with neither. A neighbour that is not one of the user's lists:
    /// NOT_FOUND; the list itself: BAD_USER_INPUT. The user's lists may be renumbered when
    /// positions grow long.
    async fn move_list(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after_id: Option<ID>,
        before_id: Option<ID>,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<TaskList> {
        let user = viewer(ctx)?;
        let id = parse_id("id", &id)?;
        let placement = match (after_id, before_id) {
            (None, None) => ListPlacement::End,
            (Some(after), None) => ListPlacement::After(parse_id("afterId", &after)?),
            (None, Some(before)) => ListPlacement::Before(parse_id("beforeId", &before)?),
            (Some(_), Some(_)) => {
                let why = "Value error, give at most one of afterId and beforeId";
                return Err(invalid("beforeId", "value_error", why));
            }
        };
        if let ListPlacement::After(next) | ListPlacement::Before(next) = placement
            && next == id
        {
            let field = match placement {
                ListPlacement::Before(_) => "beforeId",
                _ => "afterId",
            };
            let why = "Value error, a list cannot be moved next to itself";
            return Err(invalid(field, "value_error", why));
        }
        let request = keyed_request(ctx, idempotency_key)?;
        let write = item_write(user, id, expected_version, &request);
        let moved = service(ctx)?.move_list(write, placement).await;
        Ok(or_replayed(moved)?.into())
    }

    /// Deletes a list, first deleting its tasks (`tasks: DELETE`) or moving them to the inbox
    /// (`tasks: MOVE_TO_INBOX`), in one transaction; subscribers and `taskChanges` see every
    /// affected task.
    async fn delete_list(
        &self,
        ctx: &Context<'_>,
        id: ID,
        tasks: ListTasksAction,
        expected_version: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<DeleteListPayload> {
        let user = viewer(ctx)?;
        let id = parse_id("id", &id)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let write = item_write(user, id, expected_version, &request);
        let done = service(ctx)?.delete_list(write, tasks.into()).await;
        Ok(or_replayed(done)?.into())
    }
}
