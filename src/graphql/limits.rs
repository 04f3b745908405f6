//! Limits async-graphql does not enforce itself: document size, nesting, alias count.
//! Depth and complexity are set on the schema (see `build_schema`). [`check_request`] is the
//! one gate every transport (POST, GET, WebSocket `subscribe`) passes a request through before
//! the parser or executor sees it.

use async_graphql::Request;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use super::nesting::{MAX_NESTING, document_nesting, value_nesting};
use crate::config::GraphqlLimits;

/// Why a request was refused before it ran: its GraphQL error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// `BAD_REQUEST`, `GRAPHQL_PARSE_FAILED` or `GRAPHQL_VALIDATION_FAILED`.
    pub code: &'static str,
    /// What was wrong, for the client.
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Checks one request against every limit that must hold before parsing: a query present,
/// the document size, bracket nesting of the document and the variables, and aliases.
pub(crate) fn check_request(request: &Request, limits: &GraphqlLimits) -> Result<(), Refusal> {
    if request.query.trim().is_empty() {
        return Err(refuse("BAD_REQUEST", "the request has no `query`"));
    }
    let query = &request.query;
    if query.len() > limits.max_document_bytes {
        return Err(refuse(
            "GRAPHQL_VALIDATION_FAILED",
            format!(
                "the query document is {} bytes, more than the limit of {} bytes",
                query.len(),
                limits.max_document_bytes
            ),
        ));
    }
    // Before the parser: it recurses once per level and would overflow the stack.
    let nesting = document_nesting(query);
    if nesting > MAX_NESTING {
        return Err(refuse(
            "GRAPHQL_PARSE_FAILED",
            format!(
                "the query document nests brackets {nesting} deep, more than the limit of \
                 {MAX_NESTING}"
            ),
        ));
    }
    let variables = request
        .variables
        .values()
        .map(value_nesting)
        .max()
        .unwrap_or(0);
    if variables > MAX_NESTING {
        return Err(refuse(
            "GRAPHQL_PARSE_FAILED",
            format!("the variables nest {variables} deep, more than the limit of {MAX_NESTING}"),
        ));
    }
    check_document(query, limits).map_err(|problem| refuse("GRAPHQL_VALIDATION_FAILED", problem))
}

/// Checks one (size- and nesting-checked) document against the alias limit.
fn check_document(query: &str, limits: &GraphqlLimits) -> Result<(), String> {
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
