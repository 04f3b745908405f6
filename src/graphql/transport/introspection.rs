//! Bounds for introspection (`__schema`, `__type`), which every GraphQL tool runs to load the
//! schema and which is measured apart from the operation's own fields: graphql-js'
//! `getIntrospectionQuery` nests `ofType` nine deep and selects a few hundred fields, far past
//! limits that suit application queries, yet its cost is fixed by the schema's size.
//!
//! What makes introspection expensive is nesting *lists* (`types { fields { type { fields …`
//! multiplies by each list's length); the standard queries nest at most three
//! (`types → fields → args`). Depth alone is cheap here (`ofType` is a single value).
//!
//! Only the bounds: `complexity` measures against them. Nothing here runs a query.

/// Deepest introspection selection (graphql-js' `getIntrospectionQuery` and GraphiQL's
/// query reach 15, through `directives → args → type → ofType ×9`).
pub(crate) const MAX_DEPTH: usize = 20;
/// Most introspection fields in a document, counted with fragments expanded (graphql-js
/// 17's query with every option on selects 230; room for a tool that asks a little more).
pub(crate) const MAX_FIELDS: usize = 500;
/// Most introspection lists nested in one another.
pub(crate) const MAX_NESTED_LISTS: usize = 3;
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
