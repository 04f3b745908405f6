//! Limits async-graphql does not enforce itself: document size, alias count, batch size.
//! Depth and complexity are set on the schema (see `build_schema`).

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::config::GraphqlLimits;

/// Checks one document against the size and alias limits; the error says which was exceeded.
pub(super) fn check_document(query: &str, limits: &GraphqlLimits) -> Result<(), String> {
    if query.len() > limits.max_document_bytes {
        return Err(format!(
            "the query document is {} bytes, more than the limit of {} bytes",
            query.len(),
            limits.max_document_bytes
        ));
    }
    // A document that does not parse is reported by the executor with its position.
    if let Ok(document) = async_graphql::parser::parse_query(query) {
        let aliases = count_aliases(&document);
        if aliases > limits.max_aliases {
            return Err(format!(
                "the query uses {aliases} aliases, more than the limit of {}",
                limits.max_aliases
            ));
        }
    }
    Ok(())
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| count_in(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| count_in(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

fn count_in(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// The kind of operation a GET request would run, to refuse mutations over GET.
pub(super) fn is_query_operation(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return true; // the executor reports the syntax error
    };
    let ty = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    };
    !matches!(
        ty,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}
