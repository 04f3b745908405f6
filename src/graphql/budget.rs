//! The hard bound behind the cost model (`complexity`): the bytes one response may hold,
//! `GRAPHQL_MAX_RESPONSE_BYTES`, counted while the response is built. Every resolver that
//! reads rows charges them here: [`ensure_room`] before it reads (so nothing more is read once
//! the budget is spent), [`charge_tasks`] / [`charge_lists`] / [`charge`] with what it read.
//! Past the bound every later charge fails too, and the pipeline turns the response into one
//! RESPONSE_TOO_LARGE error with no data ([`collapse`]): a document the cost model misjudges
//! costs its sender an error, not the server its memory.
//!
//! A row is charged as its whole JSON (about [`ROW_OVERHEAD`] bytes plus its texts), whatever
//! fields the document selects: the server holds the whole row while it builds the answer. A
//! subscription's budget starts afresh for each event (each is a response of its own).
//! Not an extension: async-graphql would run one for every field of every item (`pipeline`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::{Context, ErrorExtensions, Response, Value};

use super::code::Code;
use crate::tasks::{List, Task};

/// The bytes a row's JSON takes besides its texts: its keys, numbers, dates and punctuation.
pub(crate) const ROW_OVERHEAD: usize = 400;

/// What one response may still hold.
#[derive(Debug)]
pub(crate) struct ResponseBudget {
    limit: usize,
    used: AtomicUsize,
}

impl ResponseBudget {
    /// A budget of `limit` bytes, shared by the resolvers of one response.
    pub(crate) fn new(limit: usize) -> Arc<ResponseBudget> {
        Arc::new(ResponseBudget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Starts afresh (the next event of a subscription).
    pub(crate) fn reset(&self) {
        self.used.store(0, Ordering::Relaxed);
    }

    fn spent(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.limit
    }

    fn add(&self, bytes: usize) -> async_graphql::Result<()> {
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > self.limit {
            return Err(too_large(self.limit));
        }
        Ok(())
    }
}

/// The error of a response past the bound.
fn too_large(limit: usize) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "The response would hold more than {limit} bytes (GRAPHQL_MAX_RESPONSE_BYTES): select \
         fewer fields or rows, or page with `tasksConnection(first:, after:)`."
    ))
    .extend_with(|_, extensions| extensions.set("code", Code::ResponseTooLarge.as_str()))
}

fn budget<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a ResponseBudget> {
    // Put in by the pipeline for every operation; missing would be a bug: fail closed.
    Ok(ctx.data::<Arc<ResponseBudget>>()?.as_ref())
}

/// Before a resolver reads rows: fails once the response is already past its bound.
pub(crate) fn ensure_room(ctx: &Context<'_>) -> async_graphql::Result<()> {
    let budget = budget(ctx)?;
    if budget.spent() {
        return Err(too_large(budget.limit));
    }
    Ok(())
}

/// Charges `bytes` to this response.
pub(crate) fn charge(ctx: &Context<'_>, bytes: usize) -> async_graphql::Result<()> {
    budget(ctx)?.add(bytes)
}

/// The JSON bytes of a task, about.
pub(crate) fn task_bytes(task: &Task) -> usize {
    let texts = [
        task.title.len(),
        task.description.as_ref().map_or(0, String::len),
        task.position.len(),
        task.recurrence.as_ref().map_or(0, String::len),
        task.time_zone.len(),
    ];
    let tags: usize = task.tags.iter().map(|tag| tag.len() + 3).sum();
    ROW_OVERHEAD + texts.iter().sum::<usize>() + tags
}

/// Charges tasks read for this response.
pub(crate) fn charge_tasks<'t>(
    ctx: &Context<'_>,
    tasks: impl IntoIterator<Item = &'t Task>,
) -> async_graphql::Result<()> {
    charge(ctx, tasks.into_iter().map(task_bytes).sum())
}

/// Charges lists read for this response.
pub(crate) fn charge_lists<'l>(
    ctx: &Context<'_>,
    lists: impl IntoIterator<Item = &'l List>,
) -> async_graphql::Result<()> {
    let bytes = lists
        .into_iter()
        .map(|list| ROW_OVERHEAD + list.name.len() + list.position.len())
        .sum();
    charge(ctx, bytes)
}

/// A response past its bound becomes that one error (with the path where the bound was
/// crossed), with no data: the partial answer is neither sent nor kept, and the many fields
/// that failed behind it are not listed.
pub(crate) fn collapse(mut response: Response) -> Response {
    let code = Value::from(Code::ResponseTooLarge.as_str());
    let Some(first) = response.errors.iter().position(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            == Some(&code)
    }) else {
        return response;
    };
    let error = response.errors.swap_remove(first);
    response.errors = vec![error];
    response.data = Value::Null;
    response
}
