//! The GraphQL protection limits that need no cost table, applied by the transport pipeline
//! (`pipeline`) that every transport (POST, GET, WebSocket `subscribe`) passes a request
//! through: [`check_request`] is the text gate before the parser sees it (a query present,
//! document size, bracket nesting of the document and the variables); [`check_aliases`] runs
//! on the parsed document. Depth and complexity are `complexity`'s. Nothing here executes.

use async_graphql::Request;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use super::nesting::{MAX_NESTING, document_nesting, value_nesting};
use crate::config::GraphqlLimits;
use crate::graphql::schema::code::Code;

/// Why a request was refused before it ran: its GraphQL error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// `BadRequest`, `GraphqlParseFailed` or `GraphqlValidationFailed`.
    pub code: Code,
    /// What was wrong, for the client.
    pub message: String,
}

fn refuse(code: Code, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Checks one request against every limit that must hold before parsing: a query present,
/// the document size, and bracket nesting of the document and the variables.
pub(crate) fn check_request(request: &Request, limits: &GraphqlLimits) -> Result<(), Refusal> {
    if request.query.trim().is_empty() {
        return Err(refuse(Code::BadRequest, "the request has no `query`"));
    }
    let query = &request.query;
    if query.len() > limits.max_document_bytes {
        return Err(refuse(
            Code::GraphqlValidationFailed,
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
            Code::GraphqlParseFailed,
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
            Code::GraphqlParseFailed,
            format!("the variables nest {variables} deep, more than the limit of {MAX_NESTING}"),
        ));
    }
    Ok(())
}

/// Checks a parsed document against the alias limit.
pub(crate) fn check_aliases(
    document: &ExecutableDocument,
    limits: &GraphqlLimits,
) -> Result<(), Refusal> {
    let aliases = count_aliases(document);
    if aliases > limits.max_aliases {
        return Err(refuse(
            Code::GraphqlValidationFailed,
            format!(
                "the query uses {aliases} aliases, more than the limit of {}",
                limits.max_aliases
            ),
        ));
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
pub(super) fn is_query_operation(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
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
