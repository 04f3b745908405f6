//! What the GraphQL API answers: the schema's types and resolvers, one file per feature as
//! `rest/` and `tasks/` name them (`tasks` for a task's queries, mutations and subscription,
//! `task_queries` for the two task lists and their shared filters, `task_fields` and
//! `task_items` for a task's nested fields and its fast path, `lists` for the `List` type,
//! `members`, `invites`, `tags`, `moves`, `webhooks`), their types, inputs and events
//! (`types`, `inputs`, `events`), the batched nested reads (`loaders`), idempotency keys
//! (`idempotency`), and the errors they answer (`error`, with every `extensions.code` named
//! once in `code`).
//!
//! Resolvers are thin: they read the verified user through [`viewer`], call one `TaskService`
//! function and map the result. No SQL, validation or isolation logic here. Every resolver
//! that returns rows reads them through one function, `transport::budget::charged`, which
//! charges them to the response's budget before they are copied into the answer. How a
//! request reaches them is `transport`'s.

pub(crate) mod code;
pub(super) mod error;
mod events;
mod idempotency;
mod inputs;
mod invites;
mod lists;
pub(super) mod loaders;
mod members;
mod moves;
mod tags;
mod task_fields;
mod task_items;
mod task_queries;
mod tasks;
mod types;
mod webhooks;

use std::sync::Arc;

use async_graphql::{Context, MergedObject, Schema};

use super::transport::introspection;
use crate::auth::{AuthUser, Verifier};
use crate::config::GraphqlLimits;
use crate::error::{AppError, AuthFailure};
use crate::tasks::TaskService;
use error::to_graphql_error;

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
