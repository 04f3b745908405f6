//! The two task lists, `tasks` and `tasksConnection`, and the filter arguments they share,
//! declared once in [`list_resolvers!`]: each filter's name, type, default and description
//! there become the arguments of both fields and the fields of [`Filters`], which makes the
//! service's `ListQuery`. Like the other resolvers: read the viewer, call the service, map the
//! result; no SQL, validation or isolation here.
//!
//! The same macro writes `List.tasks` and `List.tasksConnection` (the list's tasks, with the
//! same filters and paging; the `List` type is `lists`'), and the `listId` / `inbox`
//! arguments of the two task lists (issue 21).
//!
//! GraphQL has no way to spread one input type into separate arguments (an input object would
//! change the schema every client is written against), hence the macro.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, Object, Result};

use super::error::{parse_id, to_graphql_error};
use super::lists::{TaskList, invalid};
use super::loaders::{self, NestedKey, NestedValue, loader};
use super::task_items::TaskItems;
use super::types::{Category, DateTime, Priority, SortOrder, TaskConnection, TaskSort, TaskStatus};
use super::{service, viewer};
use crate::error::AppError;
use crate::graphql::transport::budget::charged;
use crate::tasks::task::page::{DEFAULT_PAGE_SIZE, page_size};
use crate::tasks::{Cursor, ListFilter, ListQuery, PageRequest, check_list_query};

/// Writes [`Filters`] and the `TaskListQuery` resolvers from one list of filters. Each filter
/// is `name: Type` with, optionally, `= "default expression"`, then `desc "…"` (described on
/// both fields) or `tasks_desc "…"` (described on `tasks` only, as the schema always had it;
/// `tasksConnection` says it takes the same filters as `tasks`).
macro_rules! list_resolvers {
    ($(
        $arg:ident: $ty:ident $(= $default:literal)? $(, desc $desc:literal)?
        $(, tasks_desc $tasks_desc:literal)?;
    )*) => {
        /// The filters both lists take, as the GraphQL arguments give them.
        struct Filters {
            $($arg: Option<$ty>,)*
        }

        /// The two task lists.
        #[derive(Default)]
        pub struct TaskListQuery;

        #[Object]
        impl TaskListQuery {
            /// The signed-in user's tasks. Every filter is optional and they combine (AND).
            // A list costs as if it held ten of its items: `complexity::COSTS`.
            #[allow(clippy::too_many_arguments)] // one per GraphQL argument
            async fn tasks(
                &self,
                ctx: &Context<'_>,
                $(
                    $(#[graphql(default_with = $default)])?
                    $(#[graphql(desc = $desc)])?
                    $(#[graphql(desc = $tasks_desc)])?
                    $arg: Option<$ty>,
                )*
                #[graphql(desc = "Only the tasks of this list (another user's list, or none: NOT_FOUND).")]
                list_id: Option<ID>,
                #[graphql(desc = "true: only the tasks in the inbox (in no list); false or null: no filter. Not with `listId`.")]
                inbox: Option<bool>,
            ) -> Result<TaskItems> {
                list(ctx, Filters { $($arg,)* }, scope(list_id, inbox)?).await
            }

            /// One page of the signed-in user's tasks, with the same filters and order as `tasks`.
            /// Cursors are keyset-based: paging on while tasks are created or deleted never repeats
            /// or skips a task that existed throughout.
            // A page costs its `first` times its selection: `complexity::COSTS`.
            #[allow(clippy::too_many_arguments)] // one per GraphQL argument
            async fn tasks_connection(
                &self,
                ctx: &Context<'_>,
                #[graphql(default = 50, desc = "Page size, 0 to 200.")] first: Option<i32>,
                #[graphql(desc = "Start after this cursor (an `endCursor` or edge `cursor`).")]
                after: Option<String>,
                $(
                    $(#[graphql(default_with = $default)])?
                    $(#[graphql(desc = $desc)])?
                    $arg: Option<$ty>,
                )*
                #[graphql(desc = "Only the tasks of this list (another user's list, or none: NOT_FOUND).")]
                list_id: Option<ID>,
                #[graphql(desc = "true: only the tasks in the inbox (in no list); false or null: no filter. Not with `listId`.")]
                inbox: Option<bool>,
            ) -> Result<TaskConnection> {
                page(ctx, first, after, Filters { $($arg,)* }, scope(list_id, inbox)?).await
            }
        }

        /// A list's tasks: the same filters, order and paging as the task lists.
        #[ComplexObject]
        impl TaskList {
            /// Everyone on this list: its owner first, then its members as they joined
            /// (at most MAX_MEMBERS_PER_LIST + 1).
            async fn members(&self, ctx: &Context<'_>) -> Result<Vec<super::members::ListMember>> {
                super::members::of_list(ctx, self.list_id).await
            }

            /// This list's tasks, with the same filters and order as `tasks`.
            #[allow(clippy::too_many_arguments)] // one per GraphQL argument
            async fn tasks(
                &self,
                ctx: &Context<'_>,
                $(
                    $(#[graphql(default_with = $default)])?
                    $(#[graphql(desc = $desc)])?
                    $(#[graphql(desc = $tasks_desc)])?
                    $arg: Option<$ty>,
                )*
            ) -> Result<TaskItems> {
                // Batched over the page of lists (`loaders`): one read for every list's tasks.
                // Defaults as for one list; then the same key for every list asked alike.
                let mut query = Filters { $($arg,)* }.into_query(ListFilter::List(self.list_id))?;
                query.list = ListFilter::Any;
                // Checked here, so that a bad filter fails this field, not the whole batch.
                check_list_query(&query).map_err(to_graphql_error)?;
                let key = NestedKey::ListTasks(self.list_id, loaders::Filters::new(query));
                // Charged before it is copied out of the loader's shared answer.
                let tasks = charged(ctx, async {
                    match loader(ctx)?.load_one(key).await? {
                        Some(NestedValue::Tasks(tasks)) => Ok(Some(tasks)),
                        _ => Ok(None),
                    }
                })
                .await?;
                Ok(TaskItems::from(tasks.map(Arc::unwrap_or_clone).unwrap_or_default()))
            }

            /// One page of this list's tasks, with the same filters, order and paging as
            /// `tasksConnection`.
            #[allow(clippy::too_many_arguments)] // one per GraphQL argument
            async fn tasks_connection(
                &self,
                ctx: &Context<'_>,
                #[graphql(default = 50, desc = "Page size, 0 to 200.")] first: Option<i32>,
                #[graphql(desc = "Start after this cursor (an `endCursor` or edge `cursor`).")]
                after: Option<String>,
                $(
                    $(#[graphql(default_with = $default)])?
                    $(#[graphql(desc = $desc)])?
                    $arg: Option<$ty>,
                )*
            ) -> Result<TaskConnection> {
                let filters = Filters { $($arg,)* };
                page(ctx, first, after, filters, ListFilter::List(self.list_id)).await
            }
        }
    };
}

/// The `listId` and `inbox` arguments as the service's list filter.
fn scope(list_id: Option<ID>, inbox: Option<bool>) -> Result<ListFilter> {
    match (list_id, inbox) {
        (Some(_), Some(true)) => Err(invalid(
            "inbox",
            "value_error",
            "Value error, give listId or inbox: true, not both",
        )),
        (Some(id), _) => Ok(ListFilter::List(parse_id("listId", &id)?)),
        (None, Some(true)) => Ok(ListFilter::Inbox),
        (None, _) => Ok(ListFilter::Any),
    }
}

list_resolvers! {
    status: TaskStatus = "Some(TaskStatus::All)";
    sort: TaskSort, desc "What to order by. Default: POSITION (manual order) inside a list (`List.tasks`, `listId`, `inbox: true`), else CREATED_AT.";
    order: SortOrder, desc "Direction: DESC by default, except ASC (top first) for POSITION.";
    priority: Priority, tasks_desc "Only tasks of this priority.";
    category: Category, tasks_desc "Only tasks of this category.";
    search: String, desc "Only tasks whose title or description contains this text, case-insensitively (any letter, not only ASCII); `%`, `_` and `\\` match themselves. Up to 100 characters.";
    due_before: DateTime, tasks_desc "Only tasks due strictly before this time.";
    due_after: DateTime, tasks_desc "Only tasks due strictly after this time.";
    overdue: bool, tasks_desc "true: only pending tasks whose due date has passed.";
    tags: TagNames, desc "Only tasks carrying every one of these tags, compared case-insensitively after trimming (up to 50 names, each 1 to 50 characters).";
    any_tags: TagNames, desc "Only tasks carrying at least one of these tags, compared case-insensitively after trimming (up to 50 names, each 1 to 50 characters); an empty list is no filter.";
    parent_id: ID, desc "Only the subtasks (direct children) of this task.";
    assignee_id: String, desc "Only the tasks assigned to this user.";
}

/// A filter's tag names (the macro takes a type name).
type TagNames = Vec<String>;

impl Filters {
    /// The service's list request. An explicit null means the default, as if the argument
    /// were absent.
    fn into_query(self, list: ListFilter) -> Result<ListQuery> {
        let sort = match self.sort {
            Some(sort) => sort,
            None => list.default_sort().into(),
        };
        let order = match (self.order, sort) {
            (Some(order), _) => order,
            (None, TaskSort::Position) => SortOrder::Asc,
            (None, _) => SortOrder::Desc,
        };
        let parent_id = match &self.parent_id {
            Some(id) => Some(Some(parse_id("parentId", id)?)),
            None => None,
        };
        Ok(ListQuery {
            status: self.status.unwrap_or(TaskStatus::All).into(),
            sort: sort.into(),
            order: Some(order.into()),
            priority: self.priority.map(Into::into),
            category: self.category.map(Into::into),
            search: self.search,
            due_before: self.due_before.map(|d| d.0),
            due_after: self.due_after.map(|d| d.0),
            overdue: self.overdue.unwrap_or(false),
            tags: self.tags.unwrap_or_default(),
            any_tags: self.any_tags.unwrap_or_default(),
            parent_id,
            list,
            assignee: self.assignee_id,
            among_lists: Vec::new(),
        })
    }
}

/// `tasks`.
async fn list(ctx: &Context<'_>, filters: Filters, scope: ListFilter) -> Result<TaskItems> {
    let user = viewer(ctx)?;
    let tasks = charged(ctx, async {
        service(ctx)?
            .list(user, &filters.into_query(scope)?)
            .await
            .map_err(to_graphql_error)
    })
    .await?;
    Ok(TaskItems::from(tasks))
}

/// `tasksConnection`.
async fn page(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filters: Filters,
    scope: ListFilter,
) -> Result<TaskConnection> {
    let user = viewer(ctx)?;
    let query = filters.into_query(scope)?;
    let first = i64::from(first.unwrap_or(DEFAULT_PAGE_SIZE as i32));
    let limit = page_size("body", "first", first, 0, first.into())
        .map_err(|e| to_graphql_error(AppError::invalid(e)))?;
    let after = match after {
        Some(raw) => Some(
            Cursor::decode(&raw, &query, "body", "after")
                .map_err(|e| to_graphql_error(AppError::invalid(e)))?,
        ),
        None => None,
    };
    let page = charged(ctx, async {
        service(ctx)?
            .list_page(user, &query, &PageRequest { limit, after })
            .await
            .map_err(to_graphql_error)
    })
    .await?;
    Ok(TaskConnection::new(page, &query))
}
