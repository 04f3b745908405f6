//! The nested fields of a page, batched: every task of a page asks for its `list`, `parent` or
//! `subtasks` (every list for its `tasks` or `members`), and one read answers them all
//! (async-graphql's `DataLoader` collects the keys asked for while the page's items resolve,
//! then calls the service once). One loader
//! per operation ([`NestedLoads`], put in by the pipeline), made on first use for the verified
//! viewer: it caches nothing, so no answer outlives its operation or reaches another user, and
//! every batch is a read unit of that viewer's under row security (`tasks::order::nested`). A batch's
//! error (the service's, mapped once) reaches every field that asked.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};

use super::error::to_graphql_error;
use super::{service, viewer};
use crate::auth::AuthUser;
use crate::tasks::{List, ListQuery, Member, NestedAsk, Task, TaskService};

/// Most keys in one batch: a whole `tasks` list of a user at the default caps in one or two
/// statements (the ids travel as one array-like `IN` list).
const MAX_BATCH: usize = 5000;

/// What a nested field asks for: a list by id (`Task.list`), a task by id (`Task.parent`),
/// a task's subtasks by its id (`Task.subtasks`). One loader for all three, so that every
/// nested field of a page is answered by ONE batch: one read unit, one round trip.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) enum NestedKey {
    List(i64),
    Task(i64),
    Children(i64),
    /// A list's tasks (`List.tasks`) under these filters.
    ListTasks(i64, Arc<Filters>),
    /// A list's owner and members (`List.members`).
    Members(i64),
}

/// The filters of a `List.tasks`: the lists asked for with the same ones are read together.
#[derive(Debug)]
pub(super) struct Filters {
    query: ListQuery,
    /// What tells two sets of filters apart (`ListQuery` is not `Hash`).
    text: String,
}

impl Filters {
    pub(super) fn new(query: ListQuery) -> Arc<Filters> {
        let text = format!("{query:?}");
        Arc::new(Filters { query, text })
    }
}

impl PartialEq for Filters {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Filters {}

impl std::hash::Hash for Filters {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

/// What a [`NestedKey`] finds (a deleted list or task finds nothing). Shared: the loader hands
/// every field that asked for a key its own copy of the value, and 10,000 tasks asking for
/// their one list must not make 10,000 copies of it (or of its members) before any of them is
/// charged to the response's budget (`transport::budget`); each resolver charges, then copies.
#[derive(Debug, Clone)]
pub(super) enum NestedValue {
    List(Arc<List>),
    Task(Arc<Task>),
    /// Subtasks, or a list's tasks.
    Tasks(Arc<Vec<Task>>),
    /// A list's owner, then its members.
    Members(Arc<Vec<Member>>),
}

/// What the batches read with: the service and the operation's verified viewer.
pub(super) struct Nested {
    service: TaskService,
    viewer: AuthUser,
}

impl Loader<NestedKey> for Nested {
    type Value = NestedValue;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[NestedKey],
    ) -> Result<HashMap<NestedKey, NestedValue>, Self::Error> {
        let mut ask = NestedAsk::default();
        let mut groups: Vec<Arc<Filters>> = Vec::new();
        for key in keys {
            match key {
                NestedKey::List(id) => ask.lists.push(*id),
                NestedKey::Task(id) => ask.tasks.push(*id),
                NestedKey::Children(id) => ask.children_of.push(*id),
                NestedKey::Members(id) => ask.members_of.push(*id),
                NestedKey::ListTasks(id, filters) => {
                    match groups.iter().position(|g| g == filters) {
                        Some(at) => ask.tasks_of_lists[at].1.push(*id),
                        None => {
                            groups.push(filters.clone());
                            ask.tasks_of_lists.push((filters.query.clone(), vec![*id]));
                        }
                    }
                }
            }
        }
        let found = self
            .service
            .nested(&self.viewer, &ask)
            .await
            .map_err(to_graphql_error)?;
        let lists = found
            .lists
            .into_iter()
            .map(|(id, list)| (NestedKey::List(id), NestedValue::List(Arc::new(list))));
        let tasks = found
            .tasks
            .into_iter()
            .map(|(id, task)| (NestedKey::Task(id), NestedValue::Task(Arc::new(task))));
        let children = found
            .children
            .into_iter()
            .map(|(id, tasks)| (NestedKey::Children(id), NestedValue::Tasks(Arc::new(tasks))));
        let in_lists =
            groups
                .into_iter()
                .zip(found.tasks_of_lists)
                .flat_map(|(filters, by_list)| {
                    by_list.into_iter().map(move |(id, tasks)| {
                        (
                            NestedKey::ListTasks(id, filters.clone()),
                            NestedValue::Tasks(Arc::new(tasks)),
                        )
                    })
                });
        let members = found.members.into_iter().map(|(id, members)| {
            (
                NestedKey::Members(id),
                NestedValue::Members(Arc::new(members)),
            )
        });
        Ok(lists
            .chain(tasks)
            .chain(children)
            .chain(in_lists)
            .chain(members)
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
