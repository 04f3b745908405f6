//! Response field order as the GraphQL spec requires it: each object's keys in the order of
//! the selection set (first occurrence of each response key, aliases included, fragments
//! expanded where they are spread).
//!
//! async-graphql resolves a query's fields concurrently and inserts each into the response
//! object when it *finishes* (`FuturesUnordered` in `do_resolve_container`), so a fast field
//! such as `viewer` overtakes a field that waits for the database such as `tasks`. The
//! transport pipeline (`pipeline`) puts the keys back in selection order after execution, for
//! queries, mutations and every subscription event alike. It changes no value, only the order
//! of keys.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Puts the keys of every object in `data` in the order the operation selects them.
pub fn restore_order(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    data: &mut Value,
) {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) => ops.values().next().filter(|_| ops.len() == 1),
    };
    if let Some(operation) = operation {
        reorder(document, &[&operation.node.selection_set.node], data);
    }
}

/// Each response key in selection order, with the sub-selections that ask for it.
type Plan<'a> = IndexMap<&'a Name, Vec<&'a SelectionSet>>;

fn plan<'a>(document: &'a ExecutableDocument, sets: &[&'a SelectionSet]) -> Plan<'a> {
    let mut plan = Plan::new();
    let mut expanding = Vec::new();
    for set in sets {
        collect(document, set, &mut plan, &mut expanding);
    }
    plan
}

fn collect<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    plan: &mut Plan<'a>,
    expanding: &mut Vec<&'a str>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => plan
                .entry(&field.node.response_key().node)
                .or_default()
                .push(&field.node.selection_set.node),
            Selection::InlineFragment(fragment) => {
                collect(document, &fragment.node.selection_set.node, plan, expanding)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if expanding.contains(&name) {
                    continue;
                }
                if let Some(fragment) = document.fragments.get(name) {
                    expanding.push(name);
                    collect(document, &fragment.node.selection_set.node, plan, expanding);
                    expanding.pop();
                }
            }
        }
    }
}

fn reorder<'a>(document: &'a ExecutableDocument, sets: &[&'a SelectionSet], value: &mut Value) {
    match value {
        Value::Object(_) => reorder_object(document, &plan(document, sets), value),
        Value::List(items) => {
            // Every item of a list answers the same selection: plan it once.
            let plan = plan(document, sets);
            for item in items {
                match item {
                    Value::Object(_) => reorder_object(document, &plan, item),
                    Value::List(_) => reorder(document, sets, item),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn reorder_object<'a>(document: &'a ExecutableDocument, plan: &Plan<'a>, value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, child) in map.iter_mut() {
        if matches!(child, Value::Object(_) | Value::List(_))
            && let Some(sets) = plan.get(key)
        {
            reorder(document, sets, child);
        }
    }
    // In order when the keys come in the plan's order, none missing from it: one walk, no
    // lookup by hash (a page of 50 tasks already in order was 300 lookups, about 3 % of a
    // GraphQL list request's CPU in a profile).
    let mut planned = plan.keys();
    let in_order = map.keys().all(|have| planned.any(|want| have == *want));
    if in_order {
        return;
    }
    let mut old = std::mem::take(map);
    let mut ordered: IndexMap<Name, Value> = IndexMap::with_capacity(old.len());
    for key in plan.keys() {
        if let Some((name, child)) = old.shift_remove_entry(*key) {
            ordered.insert(name, child);
        }
    }
    // Keys the plan does not name (none expected) keep their place after the others.
    ordered.extend(old);
    *map = ordered;
}
