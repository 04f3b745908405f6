//! A list of tasks (`[Task!]!`: `tasks`, `List.tasks`, `subtasks`, a connection's `nodes`)
//! resolved on a fast path when it can be: if every field the items' selection asks for is
//! one of a task's stored values (no `list`, `subtasks` or `parent`, no argument, no custom
//! directive), each object is built at once, in selection order. async-graphql's own path
//! makes a boxed future and a `FuturesUnordered` node for every field of every item (a page of
//! 50 tasks with 6 fields: 300 of each) and inserts each value when its future finishes; for
//! stored values there is nothing to wait for. Anything else takes the library's path,
//! unchanged, so the answer is the same either way (`tests/it/graphql_fast_path.rs` compares
//! the two).
//!
//! The values are the conversions the derived resolvers use (`InputType::to_value` of each
//! field's own type: an `ID` is a string, an enum its GraphQL name, a `DateTime` its scalar).
//! Items sent down the library's path are charged what it holds for each (`budget`).
//! A field added to `Task` and not named in [`Stored::named`] only sends its selections down
//! the library's path.

use std::borrow::Cow;

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, InputType, Name, OutputType, Positioned, ServerResult};

use super::budget::charge_objects;
use super::types::Task;
use crate::tasks;

/// The tasks of a list field: a `[Task!]!` in the schema, like `Vec<Task>`.
pub struct TaskItems(pub Vec<Task>);

impl From<Vec<tasks::Task>> for TaskItems {
    fn from(tasks: Vec<tasks::Task>) -> Self {
        TaskItems(tasks.into_iter().map(Task::from).collect())
    }
}

impl OutputType for TaskItems {
    fn type_name() -> Cow<'static, str> {
        <Vec<Task> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Task> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Task> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut keys = Vec::new();
        // An object with no field left resolves to null on the library's path.
        if collect(ctx, &ctx.item.node, &mut keys, 0).is_none() || keys.is_empty() {
            // What the library holds per item (a future per field) is charged before it is
            // made: 10,000 tasks with their list otherwise held ~4.5 KB each, uncounted.
            charge_objects(ctx, self.0.len())
                .await
                .map_err(|error| error.into_server_error(field.pos))?;
            return <Vec<Task> as OutputType>::resolve(&self.0, ctx, field).await;
        }
        // Every item has the same keys: hashed once here, copied with the map for each item.
        let template: IndexMap<Name, Value> = keys
            .iter()
            .map(|(key, _)| (key.clone(), Value::Null))
            .collect();
        let items = self.0.iter().map(|task| object(task, &template, &keys));
        Ok(Value::List(items.collect()))
    }
}

/// A task's fields that are stored values, by their GraphQL names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stored {
    Typename,
    Id,
    Title,
    Description,
    Completed,
    CreatedAt,
    UpdatedAt,
    Priority,
    Category,
    DueDate,
    CompletedAt,
    Version,
    ListId,
    ParentId,
    Position,
    Tags,
    Recurrence,
    TimeZone,
    CreatedBy,
    AssigneeId,
}

impl Stored {
    fn named(name: &str) -> Option<Stored> {
        Some(match name {
            "__typename" => Stored::Typename,
            "id" => Stored::Id,
            "title" => Stored::Title,
            "description" => Stored::Description,
            "completed" => Stored::Completed,
            "createdAt" => Stored::CreatedAt,
            "updatedAt" => Stored::UpdatedAt,
            "priority" => Stored::Priority,
            "category" => Stored::Category,
            "dueDate" => Stored::DueDate,
            "completedAt" => Stored::CompletedAt,
            "version" => Stored::Version,
            "listId" => Stored::ListId,
            "parentId" => Stored::ParentId,
            "position" => Stored::Position,
            "tags" => Stored::Tags,
            "recurrence" => Stored::Recurrence,
            "timeZone" => Stored::TimeZone,
            "createdBy" => Stored::CreatedBy,
            "assigneeId" => Stored::AssigneeId,
            _ => return None,
        })
    }

    fn of(self, task: &Task) -> Value {
        match self {
            Stored::Typename => Value::String("Task".to_owned()),
            Stored::Id => v(&task.id),
            Stored::Title => v(&task.title),
            Stored::Description => v(&task.description),
            Stored::Completed => v(&task.completed),
            Stored::CreatedAt => v(&task.created_at),
            Stored::UpdatedAt => v(&task.updated_at),
            Stored::Priority => v(&task.priority),
            Stored::Category => v(&task.category),
            Stored::DueDate => v(&task.due_date),
            Stored::CompletedAt => v(&task.completed_at),
            Stored::Version => v(&task.version),
            Stored::ListId => v(&task.list_id),
            Stored::ParentId => v(&task.parent_id),
            Stored::Position => v(&task.position),
            Stored::Tags => v(&task.tags),
            Stored::Recurrence => v(&task.recurrence),
            Stored::TimeZone => v(&task.time_zone),
            Stored::CreatedBy => v(&task.created_by),
            Stored::AssigneeId => v(&task.assignee_id),
        }
    }
}

/// A stored value as its type's derived resolver gives it.
fn v<T: InputType>(value: &T) -> Value {
    value.to_value()
}

/// Deepest fragment nesting the fast path follows (validation has refused cycles already).
const MAX_FRAGMENT_DEPTH: usize = 8;

/// Adds the response keys of `set` (an item's selection) to `keys`, in selection order, the
/// first occurrence of each; `None` when anything in it needs the library's path. Selections
/// that `@skip` / `@include` leave out were removed from the document before execution.
fn collect(
    ctx: &ContextSelectionSet<'_>,
    set: &SelectionSet,
    keys: &mut Vec<(Name, Stored)>,
    depth: usize,
) -> Option<()> {
    if depth > MAX_FRAGMENT_DEPTH {
        return None;
    }
    for selection in &set.items {
        let nested = match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                let plain = field.arguments.is_empty()
                    && field.selection_set.node.items.is_empty()
                    && field
                        .directives
                        .iter()
                        .all(|d| matches!(d.node.name.node.as_str(), "skip" | "include"));
                if !plain {
                    return None;
                }
                let stored = Stored::named(&field.name.node)?;
                let key = &field.response_key().node;
                match keys.iter().find(|(k, _)| k == key) {
                    None => keys.push((key.clone(), stored)),
                    Some((_, earlier)) if *earlier == stored => {}
                    // One key for two fields: validation's business; the library's path.
                    Some(_) => return None,
                }
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                on_task(Some(&fragment.node.type_condition.node.on.node))?;
                &fragment.node.selection_set.node
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment.node.type_condition.as_ref();
                on_task(condition.map(|c| &c.node.on.node))?;
                &fragment.node.selection_set.node
            }
        };
        collect(ctx, nested, keys, depth + 1)?;
    }
    Some(())
}

/// A fragment's type condition the fast path is sure of: none, or `Task` itself (any other,
/// such as an interface `Task` might implement one day, goes the library's way).
fn on_task(condition: Option<&Name>) -> Option<()> {
    match condition {
        None => Some(()),
        Some(name) if name.as_str() == "Task" => Some(()),
        Some(_) => None,
    }
}

/// An item: a copy of `template` (`keys` in order, each value null; copying the map copies its
/// hash index, so no key is hashed again) with the values set in place. Inserting each key
/// was about 3 % of a GraphQL list request's CPU in a profile.
fn object(task: &Task, template: &IndexMap<Name, Value>, keys: &[(Name, Stored)]) -> Value {
    let mut map = template.clone();
    for ((_, value), (_, stored)) in map.iter_mut().zip(keys) {
        *value = stored.of(task);
    }
    Value::Object(map)
}
