//! How a GraphQL request arrives and its response leaves: GraphQL over HTTP (`http`, with
//! GraphiQL for browsers, `graphiql`) and subscriptions over WebSocket on the same path
//! (graphql-transport-ws or graphql-ws, `ws`, opened at the admission gate by `ws_open`, with
//! the token in the `connection_init` payload: `{"Authorization": "Bearer …"}`).
//!
//! Every transport runs each request through one [`Pipeline`] (`pipeline`): the text gate
//! (`limits`: size, bracket nesting from `nesting`) before the parser sees it, the parse
//! through a document cache (`cache`), aliases, depth and complexity (`complexity` with its
//! one cost table, `introspection`'s bounds), execution under the response's byte budget
//! (`budget`, which every resolver that returns rows charges) and the server's (`held`),
//! spec field order (`order`), metrics. The schema has no extensions, so async-graphql
//! resolves fields on its fast path. What is answered is `schema`'s.

pub(super) mod budget;
mod cache;
mod complexity;
mod graphiql;
mod held;
mod http;
pub(super) mod introspection;
mod limits;
mod nesting;
mod order;
mod pipeline;
mod ws;
mod ws_open;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub use pipeline::Pipeline;

/// `/graphql`: POST and GET (queries; GraphiQL for browsers), and GraphiQL's assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(http::get_handler).post(http::post_handler))
        .route("/graphiql/{version}/{file}", get(graphiql::asset))
}
