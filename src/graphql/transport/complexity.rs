//! Depth and complexity of a parsed document, with the one cost table ([`COSTS`]): applied by
//! the transport pipeline (`pipeline`) to every request on every transport, with that
//! request's variables. A list field costs as many times its selection as it may hold items, a
//! paged one its `first`; introspection is measured apart under its own fixed bounds so that
//! every GraphQL tool can load the schema under the default limits but introspection cannot be
//! abused for cost. A test walks the schema and fails when a list field has no entry in the
//! table. The resolvers declare no complexity of their own (async-graphql's would be a second,
//! unenforced copy).
//!
//! Why the table's bounds hold (issue 26). A list of rows ([`ROW_LISTS`]) returns the user's
//! own rows, and each row has one place: a task is in one list and under one parent. So as long
//! as every row above a list of rows is resolved at most once, each occurrence of such a list
//! in a document returns at most the user's caps in total (`MAX_TASKS_PER_USER` tasks,
//! `MAX_LISTS_PER_USER` lists), however deep it nests (`lists { tasks { subtasks } }`). What
//! breaks that is a row many items share: a task's `list` or `parent` ([`SHARED_ROWS`]) under
//! a list of rows is the same row for many items, and a list of rows below it would be read
//! again for each (`tasks { list { tasks } }` grew with the square of the tasks). That shape is
//! refused here, whatever the complexity, and so is a list a row carries ([`CARRIED_LISTS`]: a
//! list's `members`) below such a row (`tasks { list { members } }`: issue 40). Behind the whole model, `budget` bounds the bytes
//! one response may hold while it is built (`GRAPHQL_MAX_RESPONSE_BYTES`), so a document this
//! model misjudges ends in an error for its sender, not in memory growth for everyone.

use crate::tasks::task::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use async_graphql::Variables;
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};

use super::introspection;
use crate::config::GraphqlLimits;

/// How a field is costed when it is not costed as one field plus its selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cost {
    /// A list costed as holding this many items: that many times its selection, so the
    /// complexity limit bounds how many lists one document can ask for (a dashboard's two or
    /// three pass, thirty aliases do not).
    Items(usize),
    /// A page: its `first` argument (a literal or a variable; `default` when absent, at most
    /// `largest`) times its selection.
    Page { default: usize, largest: usize },
    /// A list costed as one field plus its selection, for the reason given beside it.
    Once,
}

/// The cost of every application field that returns a list, and of the paged ones, by field
/// name; other fields cost 1 plus their selection. The schema test fails when a list field is
/// missing, so a new one cannot go unprotected.
pub(crate) const COSTS: &[(&str, Cost)] = &[
    // `List.tasks` is `tasks` too: inside `lists` it multiplies by both bounds.
    ("tasks", Cost::Items(10)),
    // A user's lists (at most MAX_LISTS_PER_USER, 100 by default), costed as ten like a
    // task list: `lists { tasks { … } }` costs 10 × 10 × the task's selection.
    ("lists", Cost::Items(10)),
    (
        "tasksConnection",
        Cost::Page {
            default: DEFAULT_PAGE_SIZE as usize,
            largest: MAX_PAGE_SIZE as usize,
        },
    ),
    // A page's items: the page's `first` already multiplies them.
    ("edges", Cost::Once),
    ("nodes", Cost::Once),
    // Ids (scalars): there is no selection to multiply.
    ("clearCompleted", Cost::Once),
    ("deletedIds", Cost::Once),
    // A task's tags (strings, at most 20): no selection to multiply. The same name at the
    // top: the user's tags (two scalars each), one grouped read bounded by MAX_TAGS_PER_USER.
    // A task's subtasks: a list inside a list (`tasks { subtasks { … } }`), so it multiplies
    // its selection like `tasks` does.
    ("subtasks", Cost::Items(10)),
    ("taskIds", Cost::Once),
    ("tags", Cost::Once),
    // The sync answer: every task changed since the cursor, bounded by the per-user task
    // limit; a client must always be able to sync. The same for its lists (bounded by
    // MAX_LISTS_PER_USER) and the deleted lists' ids (issue 27).
    // A list's members: three scalars each (nothing nested), at most MAX_MEMBERS_PER_LIST + 1,
    // and every list's members of a document are one batched read (`schema::loaders`): costed
    // once, like a task's tags, so `lists { role ownerId members { userId role } tasks { … } }`
    // (the sharing screen's query) stays within the default limit.
    ("members", Cost::Once),
    ("changed", Cost::Once),
    ("changedLists", Cost::Once),
    ("deletedListIds", Cost::Once),
    // A user's webhooks (at most MAX_WEBHOOKS_PER_USER, 10 by default), costed as ten like
    // a task list. A webhook's attempts log: eight scalars a row (nothing nested), at most
    // 100 rows (`first`), so under every webhook at most 1,000 rows, fewer than one task list
    // may hold: costed once, like a list's members, so `webhooks { deliveries(first: 100)
    // { …all 8… } }` costs 10 × 9 and passes (issue 58; as a page it cost 8,000, and even
    // `first: 5` under `webhooks` was refused). Their bytes are charged to the response's
    // bound (`budget`) like every other row. A webhook's event types are names (no selection).
    ("webhooks", Cost::Items(10)),
    ("deliveries", Cost::Once),
    ("events", Cost::Once),
];

fn cost_of(name: &str) -> Option<Cost> {
    COSTS
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, cost)| *cost)
}

/// What one document selects, with fragments expanded: its own fields and, apart, its
/// introspection fields.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Application fields selected (each once, however costly).
    pub fields: usize,
    /// Complexity of the costliest operation: a field costs 1 plus its selection, a field of
    /// [`COSTS`] as it says there.
    pub complexity: usize,
    /// Deepest application selection.
    pub depth: usize,
    /// Introspection fields.
    pub introspection_fields: usize,
    /// Deepest introspection selection (the `__schema` / `__type` field is 1).
    pub introspection_depth: usize,
    /// Most introspection lists nested in one another.
    pub introspection_lists: usize,
}

/// The message of async-graphql's own complexity check, which this replaces.
const TOO_COMPLEX: &str = "Query is too complex.";

/// Measures `document` and checks it against the limits; stops counting at the first limit
/// passed, so a document of fragments that expand exponentially costs no more than the limit.
#[cfg(test)]
pub fn measure(document: &ExecutableDocument, limits: &GraphqlLimits) -> Result<Tally, String> {
    measure_with(document, &Variables::default(), limits)
}

/// [`measure`], reading paged fields' `first` from `variables` where it is one.
pub fn measure_with(
    document: &ExecutableDocument,
    variables: &Variables,
    limits: &GraphqlLimits,
) -> Result<Tally, String> {
    let mut walker = Walker {
        document,
        variables,
        limits,
        tally: Tally::default(),
        expanding: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        let cost = walker.selection_set(
            &operation.node.selection_set.node,
            Place::Application(Rows::default()),
        )?;
        walker.tally.complexity = walker.tally.complexity.max(cost);
    }
    Ok(walker.tally)
}

/// Where a selection sits: among application fields ([`Rows`]), or inside introspection at a
/// depth and list nesting.
#[derive(Clone, Copy)]
enum Place<'a> {
    Application(Rows<'a>),
    Introspection { depth: usize, lists: usize },
}

/// Where an application selection sits: its depth, whether it is resolved once per item of a
/// list of rows, and the field through which one row may stand for many (`list` or `parent`
/// under such a list), which makes any list of rows below it repeat.
#[derive(Clone, Copy, Default)]
struct Rows<'a> {
    depth: usize,
    in_list: bool,
    repeated_by: Option<&'a str>,
}

/// The lists of rows: each of these returns rows of the user's (tasks, lists), so it holds at
/// most what the user's caps allow, once per row above it.
const ROW_LISTS: &[&str] = &[
    "tasks",
    "tasksConnection",
    "subtasks",
    "lists",
    "changed",
    "changedLists",
];

/// The fields that return one row that many items of a list may share (a task's list, its
/// parent): below them inside a list, a list of rows would be resolved again for every item
/// that shares it, and the answer could grow with the square of the user's tasks.
const SHARED_ROWS: &[&str] = &["list", "parent"];

/// The lists a row carries that are not rows of the user's (a list's members: anyone's ids, up
/// to MAX_MEMBERS_PER_LIST + 1 of them): costed once (`COSTS`), so below a row many items share
/// they would be answered again for every item that shares it (`tasks { list { members } }`
/// was 10,000 tasks × 51 members). Refused there like a list of rows; read once instead.
const CARRIED_LISTS: &[&str] = &["members"];

/// The refusal of a carried list that would be repeated for every item above it.
fn repeated_carried(list: &str, shared: &str) -> String {
    format!(
        "`{list}` under `{shared}` inside a list would be answered again for every item that \
         shares that {shared}, so the answer could grow with your tasks times the {shared}'s \
         {list}: select `{shared} {{ id }}` here and read `lists {{ id {list} {{ … }} }}` once."
    )
}

/// The refusal of a list of rows that would be repeated for every item above it.
fn repeated_list(list: &str, shared: &str) -> String {
    format!(
        "`{list}` under `{shared}` inside a list would be read again for every item that \
         shares that {shared}, so the answer could grow with the square of your tasks: \
         select `{shared} {{ id }}` here and read the rows once elsewhere (e.g. \
         `lists {{ id tasks {{ … }} }}`, or `task(id:) {{ {shared} {{ {list} {{ … }} }} }}`)."
    )
}

/// A scalar field answered under a second name inside a list of rows is refused: the cost
/// table counts a field once per row, and the response budget charges a row once, but every
/// alias copies the value again (24 aliases of a task's `description` answer 24 copies of
/// every description). The same field under one name (in several fragments) is answered once.
fn once_per_row<'a>(field: &'a Field, leaves: &mut Vec<(&'a str, &'a str)>) -> Result<(), String> {
    if !field.selection_set.node.items.is_empty() {
        return Ok(());
    }
    let name = field.name.node.as_str();
    let key = field
        .alias
        .as_ref()
        .map_or(name, |alias| alias.node.as_str());
    match leaves.iter().find(|(field, _)| *field == name) {
        Some((_, first)) if *first != key => Err(format!(
            "`{name}` is selected under two names (`{first}`, `{key}`) in a list: each copy \
             repeats the same value for every item; select it once."
        )),
        Some(_) => Ok(()),
        None => {
            leaves.push((name, key));
            Ok(())
        }
    }
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    limits: &'a GraphqlLimits,
    tally: Tally,
    /// Fragments being expanded, to step over a cycle (validation reports it afterwards).
    expanding: Vec<&'a str>,
}

impl<'a> Walker<'a> {
    /// Walks a selection set and returns its application complexity (0 inside
    /// introspection, which has its own bounds).
    fn selection_set(&mut self, set: &'a SelectionSet, place: Place<'a>) -> Result<usize, String> {
        self.items(set, place, &mut Vec::new())
    }

    /// The items of a selection set, with the fragments it spreads (one set to the response):
    /// `leaves` holds the scalar fields it selects, with the name each is answered under.
    fn items(
        &mut self,
        set: &'a SelectionSet,
        place: Place<'a>,
        leaves: &mut Vec<(&'a str, &'a str)>,
    ) -> Result<usize, String> {
        let mut cost = 0usize;
        for item in &set.items {
            let item_cost = match &item.node {
                Selection::Field(field) => {
                    if let Place::Application(rows) = place
                        && rows.in_list
                    {
                        once_per_row(&field.node, leaves)?;
                    }
                    self.field(&field.node, place)?
                }
                Selection::InlineFragment(fragment) => {
                    self.items(&fragment.node.selection_set.node, place, leaves)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let Some(fragment) = self.document.fragments.get(name) else {
                        continue; // unknown fragment: validation reports it
                    };
                    if self.expanding.contains(&name) {
                        continue;
                    }
                    self.expanding.push(name);
                    let cost = self.items(&fragment.node.selection_set.node, place, leaves)?;
                    self.expanding.pop();
                    cost
                }
            };
            cost = cost.saturating_add(item_cost);
            if cost > self.limits.max_complexity {
                return Err(TOO_COMPLEX.to_owned());
            }
        }
        Ok(cost)
    }

    /// A paged field's `first`: a literal, or a variable's value, or `default`; at most
    /// `largest` (a larger one is refused by the resolver anyway).
    fn page_size(&self, field: &Field, default: usize, largest: usize) -> usize {
        let first = field.get_argument("first").and_then(|arg| {
            let value = arg
                .node
                .clone()
                .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                .ok()?;
            match value {
                async_graphql::Value::Number(n) => n.as_u64(),
                _ => None,
            }
        });
        first
            .map_or(default, |n| usize::try_from(n).unwrap_or(largest))
            .min(largest)
    }

    /// Where the selection of field `name` sits, given where the field sits; `Err` when the
    /// field is a list of rows that would repeat for every item above it (the cost table
    /// assumes each row is resolved at most once per list of rows).
    fn rows_below(&self, name: &'a str, rows: Rows<'a>) -> Result<Rows<'a>, String> {
        let is_list = ROW_LISTS.contains(&name);
        if let Some(shared) = rows.repeated_by {
            if is_list {
                return Err(repeated_list(name, shared));
            }
            if CARRIED_LISTS.contains(&name) {
                return Err(repeated_carried(name, shared));
            }
        }
        let repeated_by = match rows.repeated_by {
            Some(shared) => Some(shared),
            None if rows.in_list && SHARED_ROWS.contains(&name) => Some(name),
            None => None,
        };
        Ok(Rows {
            depth: rows.depth + 1,
            in_list: rows.in_list || is_list,
            repeated_by,
        })
    }

    fn field(&mut self, field: &'a Field, place: Place<'a>) -> Result<usize, String> {
        let name = field.name.node.as_str();
        let inner = match place {
            Place::Application(_) if name == "__schema" || name == "__type" => {
                Place::Introspection { depth: 1, lists: 0 }
            }
            Place::Application(rows) => Place::Application(self.rows_below(name, rows)?),
            Place::Introspection { depth, lists } => Place::Introspection {
                depth: depth + 1,
                lists: lists + usize::from(introspection::LIST_FIELDS.contains(&name)),
            },
        };
        let tally = &mut self.tally;
        match inner {
            Place::Application(Rows { depth, .. }) => {
                tally.fields += 1;
                tally.depth = tally.depth.max(depth);
                // The same messages as async-graphql's own checks, which these replace.
                if tally.depth > self.limits.max_depth {
                    return Err("Query is nested too deep.".to_owned());
                }
                // Every field costs at least 1, so this also bounds the work of expanding
                // fragments before any cost is known.
                if tally.fields > self.limits.max_complexity {
                    return Err(TOO_COMPLEX.to_owned());
                }
            }
            Place::Introspection { depth, lists } => {
                tally.introspection_fields += 1;
                tally.introspection_depth = tally.introspection_depth.max(depth);
                tally.introspection_lists = tally.introspection_lists.max(lists);
                if depth > introspection::MAX_DEPTH {
                    return Err(format!(
                        "Introspection query is nested too deep (more than {} levels).",
                        introspection::MAX_DEPTH
                    ));
                }
                if lists > introspection::MAX_NESTED_LISTS {
                    return Err(format!(
                        "Introspection query nests more than {} lists (such as \
                         `types {{ fields {{ args`) in one another.",
                        introspection::MAX_NESTED_LISTS
                    ));
                }
                if tally.introspection_fields > introspection::MAX_FIELDS {
                    return Err(format!(
                        "Introspection query selects more than {} fields.",
                        introspection::MAX_FIELDS
                    ));
                }
            }
        }
        let children = self.selection_set(&field.selection_set.node, inner)?;
        let cost = match inner {
            Place::Introspection { .. } => 0,
            // A list's bound applies only among application fields (introspection has its
            // own `LIST_FIELDS`).
            Place::Application(_) => match cost_of(name) {
                Some(Cost::Items(bound)) => bound.saturating_mul(children.max(1)),
                Some(Cost::Page { default, largest }) => self
                    .page_size(field, default, largest)
                    .saturating_mul(children.max(1)),
                Some(Cost::Once) | None => children.saturating_add(1),
            },
        };
        if cost > self.limits.max_complexity {
            return Err(TOO_COMPLEX.to_owned());
        }
        Ok(cost)
    }
}

#[cfg(test)]
mod tests;
