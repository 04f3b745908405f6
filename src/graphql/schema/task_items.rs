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
//! Items sent down the library's path are charged what it holds for each (`transport::budget`).
//! The stored fields are the field table's (`tasks::task::fields`), so a field cannot be
//! added to `Task` and forgotten here.

use std::borrow::Cow;

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, InputType, Name, OutputType, Positioned, ServerResult};

use super::types::Task;
use crate::graphql::transport::budget::{FieldByField, charged};
use crate::tasks;
use crate::tasks::task::fields::task_fields;

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
            charged(ctx, async { Ok(FieldByField(self.0.len())) })
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

/// A field of a task's selection that is a stored value: `__typename`, or the field of the
/// task's field table (`tasks::task::fields`) at this index of [`STORED`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stored {
    Typename,
    Field(usize),
}

macro_rules! stored_values {
    ($($column:ident $name:literal,)*) => {
        /// Every stored field the GraphQL `Task` shows, by its name, with its value as its
        /// derived resolver gives it: the field table's (a field declared there and missing
        /// from `Task` does not compile; one in `Task` and not there fails
        /// `tests/it/task_fields.rs`).
        const STORED: &[(&str, fn(&Task) -> Value)] = &[$(($name, |task: &Task| v(&task.$column))),*];
    };
}

task_fields!(graphql => stored_values);

impl Stored {
    fn named(name: &str) -> Option<Stored> {
        if name == "__typename" {
            return Some(Stored::Typename);
        }
        STORED
            .iter()
            .position(|(n, _)| *n == name)
            .map(Stored::Field)
    }

    fn of(self, task: &Task) -> Value {
        match self {
            Stored::Typename => Value::String("Task".to_owned()),
            Stored::Field(index) => STORED.get(index).map_or(Value::Null, |(_, of)| of(task)),
        }
    }
}

/// A task as a response would show it with every stored field selected: what a
/// VERSION_CONFLICT error carries in `extensions.task`.
pub(super) fn task_value(task: &tasks::Task) -> Value {
    let task = Task::from(task.clone());
    let fields = STORED.iter().map(|(name, of)| (Name::new(name), of(&task)));
    Value::Object(fields.collect())
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
