//! The GraphQL API at `/graphql`, by layer:
//!
//! - `schema/`: what is answered. The root types and the resolvers, one file per feature as
//!   `rest/` and `tasks/` name them, their types, inputs and events, the batched nested reads,
//!   idempotency keys, and the errors with every `extensions.code` (`schema::code`).
//! - `transport/`: how a request arrives and its response leaves. HTTP and WebSocket (with
//!   GraphiQL), the one [`Pipeline`] every transport runs each request through (text limits,
//!   document cache, depth and complexity with the cost table, spec field order), and the
//!   response's byte budget (`transport::budget`): every resolver returning rows reads them
//!   through its one function, `charged`, which charges them before they are copied into the
//!   answer.
//!
//! The schema's files import the transport only for that budget and introspection's bounds;
//! the transport imports the schema for the executable schema, its loaders and its errors.

pub(crate) mod schema;
mod transport;

pub use schema::error::to_graphql_error;
pub use schema::{AppSchema, Mutation, Query, build_schema, sdl};
pub use transport::{Pipeline, router};
