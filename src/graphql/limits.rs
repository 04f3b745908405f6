//! The GraphQL protection limits: document size and alias count (checked on the raw
//! request), and depth and complexity (a schema extension, so every transport passes through
//! it), with introspection measured apart under its own fixed bounds so that every GraphQL
//! tool can load the schema under the default limits but introspection cannot be abused for
//! cost.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

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

/// Bounds for introspection (`__schema`, `__type`), which every GraphQL tool runs to load the
/// schema and which is measured apart from the operation's own fields: graphql-js'
/// `getIntrospectionQuery` nests `ofType` nine deep and selects a few hundred fields, far past
/// limits that suit application queries, yet its cost is fixed by the schema's size.
///
/// What makes introspection expensive is nesting *lists* (`types { fields { type { fields …`
/// multiplies by each list's length); the standard queries nest at most three
/// (`types → fields → args`). Depth alone is cheap here (`ofType` is a single value).
pub(super) mod introspection {
    /// Deepest introspection selection (graphql-js' `getIntrospectionQuery` and GraphiQL's
    /// query reach 15, through `directives → args → type → ofType ×9`).
    pub const MAX_DEPTH: usize = 20;
    /// Most introspection fields in a document, counted with fragments expanded (graphql-js
    /// 17's query with every option on selects 230; room for a tool that asks a little more).
    pub const MAX_FIELDS: usize = 500;
    /// Most introspection lists nested in one another.
    pub const MAX_NESTED_LISTS: usize = 3;
    /// The introspection fields that return lists.
    pub(crate) const LIST_FIELDS: &[&str] = &[
        "types",
        "directives",
        "fields",
        "args",
        "inputFields",
        "interfaces",
        "possibleTypes",
        "enumValues",
        "locations",
    ];
}

/// What one document selects, with fragments expanded: its own fields and, apart, its
/// introspection fields.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Application fields (each counts 1, as async-graphql's default complexity does).
    pub fields: usize,
    /// Deepest application selection.
    pub depth: usize,
    /// Introspection fields.
    pub introspection_fields: usize,
    /// Deepest introspection selection (the `__schema` / `__type` field is 1).
    pub introspection_depth: usize,
    /// Most introspection lists nested in one another.
    pub introspection_lists: usize,
}

/// Measures `document` and checks it against the limits; stops counting at the first limit
/// passed, so a document of fragments that expand exponentially costs no more than the limit.
pub fn measure(document: &ExecutableDocument, limits: &GraphqlLimits) -> Result<Tally, String> {
    let mut walker = Walker {
        document,
        limits,
        tally: Tally::default(),
        expanding: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        walker.selection_set(&operation.node.selection_set.node, Place::Application(0))?;
    }
    Ok(walker.tally)
}

/// Where a selection sits: among application fields at a depth, or inside introspection at a
/// depth and list nesting.
#[derive(Clone, Copy)]
enum Place {
    Application(usize),
    Introspection { depth: usize, lists: usize },
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    limits: &'a GraphqlLimits,
    tally: Tally,
    /// Fragments being expanded, to step over a cycle (validation reports it afterwards).
    expanding: Vec<&'a str>,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, place: Place) -> Result<(), String> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => self.field(&field.node, place)?,
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, place)?
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
                    self.selection_set(&fragment.node.selection_set.node, place)?;
                    self.expanding.pop();
                }
            }
        }
        Ok(())
    }

    fn field(&mut self, field: &'a Field, place: Place) -> Result<(), String> {
        let name = field.name.node.as_str();
        let inner = match place {
            Place::Application(_) if name == "__schema" || name == "__type" => {
                Place::Introspection { depth: 1, lists: 0 }
            }
            Place::Application(depth) => Place::Application(depth + 1),
            Place::Introspection { depth, lists } => Place::Introspection {
                depth: depth + 1,
                lists: lists + usize::from(introspection::LIST_FIELDS.contains(&name)),
            },
        };
        let tally = &mut self.tally;
        match inner {
            Place::Application(depth) => {
                tally.fields += 1;
                tally.depth = tally.depth.max(depth);
                // The same messages as async-graphql's own checks, which these replace.
                if tally.depth > self.limits.max_depth {
                    return Err("Query is nested too deep.".to_owned());
                }
                if tally.fields > self.limits.max_complexity {
                    return Err("Query is too complex.".to_owned());
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
        self.selection_set(&field.selection_set.node, inner)
    }
}

/// The schema extension that applies the depth and complexity limits to every operation, on
/// every transport (HTTP, WebSocket, SSE all execute through the schema), right after parsing.
pub struct QueryLimits(pub Arc<GraphqlLimits>);

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsCheck(self.0.clone()))
    }
}

struct QueryLimitsCheck(Arc<GraphqlLimits>);

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimitsCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        measure(&document, &self.0).map_err(|problem| ServerError::new(problem, None))?;
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> GraphqlLimits {
        crate::config::settings_from_args(Vec::<String>::new())
            .expect("defaults parse")
            .validate()
            .expect("defaults are valid")
            .graphql
    }

    /// The standard introspection queries pass the default limits, with room to spare.
    #[test]
    fn standard_introspection_queries_fit() {
        for (name, query) in [
            (
                "graphql-js 16.9",
                include_str!(
                    "../../tests/fixtures/introspection/graphql-js-16.9-all-options.graphql"
                ),
            ),
            (
                "graphql-js 17.1",
                include_str!(
                    "../../tests/fixtures/introspection/graphql-js-17.1-all-options.graphql"
                ),
            ),
            (
                "GraphiQL 3.9",
                include_str!("../../tests/fixtures/introspection/graphiql-3.9.graphql"),
            ),
        ] {
            let document = async_graphql::parser::parse_query(query).expect("parses");
            let tally = measure(&document, &defaults()).expect(name);
            println!("{name}: {tally:?}");
            assert_eq!(tally.fields, 0, "{name}");
        }
    }
}
