//! The GraphQL API at `/graphql`: schema assembly, the HTTP transport (GraphQL over HTTP, with
//! GraphiQL for browsers, `graphiql`), the protection limits (`limits` before the parse,
//! `complexity` with its one cost table after it, `introspection`'s bounds), the error codes
//! (`code`, one enum for every `extensions.code`) and spec field order in responses (`order`).
//!
//! Subscriptions use the same path over WebSocket (graphql-transport-ws or graphql-ws), with
//! the token in the `connection_init` payload (`{"Authorization": "Bearer …"}`), served by
//! `ws`, opened at the admission gate by `ws_open`. Every transport runs each request through
//! one [`Pipeline`] (`pipeline`): the text gate (size, bracket nesting from `nesting`) before the parser sees it, the parse through a
//! document cache (`cache`), aliases, depth and complexity, execution under the response's
//! byte budget (`budget`) and the server's (`held`), field order, metrics.
//! The schema has no extensions, so async-graphql resolves fields on its fast path.
//!
//! Resolvers are thin, one file per feature as `rest/` and `tasks/` name them (`tasks` for a
//! task's queries, mutations and subscription, `task_queries` for the two task lists and their
//! shared filters, `lists` for the `List` type, `members`, `invites`, `tags`, `moves`): they read the verified user through [`viewer`], call one `TaskService` function
//! and map the result. No SQL, validation or isolation logic here.

mod budget;
mod cache;
pub(crate) mod code;
mod complexity;
mod error;
mod events;
pub mod graphiql;
mod held;
mod http;
mod idempotency;
mod inputs;
mod introspection;
mod invites;
mod limits;
mod lists;
mod loaders;
mod members;
mod moves;
mod nesting;
mod order;
mod pipeline;
mod tags;
mod task_fields;
mod task_items;
mod task_queries;
mod tasks;
mod types;
mod webhooks;
mod ws;
mod ws_open;

use std::sync::Arc;

use async_graphql::{Context, MergedObject, Schema};
use axum::Router;
use axum::routing::get;

use crate::AppState;
use crate::auth::{AuthUser, Verifier};
use crate::config::GraphqlLimits;
use crate::error::{AppError, AuthFailure};
use crate::tasks::TaskService;

pub use error::to_graphql_error;
pub use pipeline::Pipeline;

/// The root query type.
#[derive(MergedObject, Default)]
pub struct Query(
    task_queries::TaskListQuery,
    tasks::TaskQuery,
    tasks::ViewerQuery,
    tags::TagQuery,
    lists::ListQueries,
    webhooks::WebhookQueries,
);

/// The root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(
    tasks::TaskMutation,
    tags::TagMutation,
    moves::MoveMutation,
    lists::ListMutations,
    members::MemberMutations,
    invites::InviteMutations,
    webhooks::WebhookMutations,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, tasks::TaskSubscription>;

/// Builds the schema with the service, verifier and limits.
pub fn build_schema(
    tasks: TaskService,
    webhooks: crate::tasks::webhooks::WebhookService,
    verifier: Arc<Verifier>,
    limits: &GraphqlLimits,
) -> AppSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        tasks::TaskSubscription,
    )
    .data(tasks)
    .data(webhooks)
    .data(verifier)
    // No extensions: depth, complexity (rather than async-graphql's `limit_depth` /
    // `limit_complexity`, so that introspection is measured apart), field order and metrics
    // run once per operation in the `Pipeline`; an extension would run for every field.
    // Bounds the parser's recursion (nested lists, objects, selections) before any
    // measuring; introspection's `ofType` chain is the deepest legitimate nesting.
    .limit_recursive_depth(limits.max_depth.max(introspection::MAX_DEPTH) * 2);
    if !limits.introspection {
        // Without introspection, "Did you mean …?" in validation errors would still list
        // field names one guess at a time.
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        tasks::TaskSubscription,
    )
    .finish()
    .sdl()
}

/// `/graphql`: POST and GET (queries; GraphiQL for browsers), and GraphiQL's assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(http::get_handler).post(http::post_handler))
        .route("/graphiql/{version}/{file}", get(graphiql::asset))
}

/// The verified user of this request, or the UNAUTHENTICATED error saying why there is none.
pub(crate) fn viewer<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AuthUser> {
    match ctx.data_opt::<AuthUser>() {
        Some(user) => Ok(user),
        None => {
            let failure = ctx
                .data_opt::<AuthFailure>()
                .cloned()
                .unwrap_or(AuthFailure::Missing);
            Err(to_graphql_error(AppError::Unauthenticated(failure)))
        }
    }
}

/// The tasks service.
pub(crate) fn service<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a TaskService> {
    ctx.data::<TaskService>()
}
