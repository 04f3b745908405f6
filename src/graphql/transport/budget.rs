//! The hard bound behind the cost model (`complexity`): the bytes one response may hold,
//! `GRAPHQL_MAX_RESPONSE_BYTES`, counted while the response is built. Every resolver that
//! returns rows charges them here: [`ensure_room`] before it reads (so nothing more is read once
//! the budget is spent), [`charge_tasks`] / [`charge_lists`] / [`charge_members`] /
//! [`charge_webhooks`] / [`charge_attempts`] / [`charge`]
//! with what it returns, once for every parent it is attached to: a list shared by 10,000
//! tasks is 10,000 copies in the answer, and is charged 10,000 times. Past the bound every later
//! charge fails too, and the pipeline turns the response into one RESPONSE_TOO_LARGE error with
//! no data ([`collapse`]): a document the cost model misjudges costs its sender an error, not
//! the server its memory.
//!
//! The bytes are also taken from the server-wide budget (`held`) as they are charged, and given
//! back when the response's budget is dropped: the HTTP transport keeps it (through
//! [`Pipeline::execute`](super::pipeline::Pipeline)) until the body has been sent. A response
//! that finds no room there is one SERVICE_UNAVAILABLE error (HTTP 503).
//!
//! A row is charged as its whole JSON (about [`ROW_OVERHEAD`] bytes plus its texts), whatever
//! fields the document selects: the server holds the whole row while it builds the answer. A
//! charge is made before the row is copied into the answer (loaded rows are shared, `schema::loaders`),
//! so what is held past the bound is at most one row. A subscription's budget starts afresh
//! for each event (each is a response of its own). Not an extension: async-graphql would run
//! one for every field of every item (`pipeline`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use async_graphql::{Context, ContextBase, ErrorExtensions, Response, Value};

use super::held::InFlight;
use crate::graphql::schema::code::Code;
use crate::tasks::webhooks::model::{Attempt, Webhook};
use crate::tasks::{List, Member, Task};

/// The bytes a row's JSON takes besides its texts: its keys, numbers, dates and punctuation.
pub(crate) const ROW_OVERHEAD: usize = 400;

/// The bytes a list member's JSON takes besides its user id: its keys, role and date.
pub(crate) const MEMBER_OVERHEAD: usize = 80;

/// What async-graphql holds while it resolves one object field by field (a future per field,
/// its value map), besides the object's own bytes: charged for every object answered that way
/// (a list, a member, a task off the fast path, `schema::task_items`), so that what a response holds
/// while it is built, not only what it answers, stays within the bound. Measured (issue 40):
/// 10,000 tasks each with its list grew the server by ~4.5 KB per task, ~0.8 KB of it rows.
pub(crate) const OBJECT_BYTES: usize = 1024;

/// Why a response was cut short, if it was (the first reason wins).
const WITHIN: u8 = 0;
const TOO_LARGE: u8 = 1;
const NO_ROOM: u8 = 2;

/// What one response may still hold, and what it holds of the server's budget.
#[derive(Debug)]
pub(crate) struct ResponseBudget {
    limit: usize,
    used: AtomicUsize,
    /// Taken from `in_flight`, given back on drop (or at the next subscription event).
    taken: AtomicUsize,
    in_flight: Arc<InFlight>,
    refused: AtomicU8,
}

impl ResponseBudget {
    /// A budget of `limit` bytes, shared by the resolvers of one response, taken from the
    /// server's `in_flight` budget as it is spent.
    pub(crate) fn new(limit: usize, in_flight: Arc<InFlight>) -> Arc<ResponseBudget> {
        Arc::new(ResponseBudget {
            limit,
            used: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            in_flight,
            refused: AtomicU8::new(WITHIN),
        })
    }

    /// Starts afresh (the next event of a subscription), giving back what the last one held.
    pub(crate) fn reset(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.refused.store(WITHIN, Ordering::Relaxed);
        self.in_flight
            .give_back(self.taken.swap(0, Ordering::AcqRel));
    }

    /// Whether the server-wide budget had no room for this response (HTTP answers 503).
    pub(crate) fn found_no_room(&self) -> bool {
        self.refused.load(Ordering::Relaxed) == NO_ROOM
    }

    /// The error every later charge gets, once the response is refused.
    fn refusal(&self) -> Option<async_graphql::Error> {
        match self.refused.load(Ordering::Relaxed) {
            WITHIN if self.used.load(Ordering::Relaxed) <= self.limit => None,
            NO_ROOM => Some(no_room(self.in_flight.limit())),
            _ => Some(too_large(self.limit)),
        }
    }

    fn refuse(&self, why: u8) {
        let _ = self
            .refused
            .compare_exchange(WITHIN, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    async fn add(&self, bytes: usize) -> async_graphql::Result<()> {
        if let Some(refused) = self.refusal() {
            return Err(refused);
        }
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > self.limit {
            self.refuse(TOO_LARGE);
            return Err(too_large(self.limit));
        }
        // Only a response that holds nothing yet waits for room: one that holds bytes and
        // waited for more could wait on others that wait on it (eight large responses at once
        // would all wait, then all fail). Refused, it gives back what it took at once, so the
        // others go on.
        let fits = if self.taken.load(Ordering::Acquire) == 0 {
            self.in_flight.take(bytes).await
        } else {
            self.in_flight.try_take(bytes)
        };
        if !fits {
            self.refuse(NO_ROOM);
            self.in_flight
                .give_back(self.taken.swap(0, Ordering::AcqRel));
            return Err(no_room(self.in_flight.limit()));
        }
        self.taken.fetch_add(bytes, Ordering::AcqRel);
        Ok(())
    }
}

impl Drop for ResponseBudget {
    fn drop(&mut self) {
        self.in_flight.give_back(*self.taken.get_mut());
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

/// The error of a response the server has no room for now.
fn no_room(limit: usize) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "The server is holding as many GraphQL response bytes as it may ({limit}, \
         GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES): try again shortly, or ask for less."
    ))
    .extend_with(|_, extensions| extensions.set("code", Code::ServiceUnavailable.as_str()))
}

fn budget<'a, T>(ctx: &ContextBase<'a, T>) -> async_graphql::Result<&'a ResponseBudget> {
    // Put in by the pipeline for every operation; missing would be a bug: fail closed.
    Ok(ctx.data::<Arc<ResponseBudget>>()?.as_ref())
}

/// Before a resolver reads rows: fails once the response is already past its bound (or was
/// refused room).
pub(crate) fn ensure_room(ctx: &Context<'_>) -> async_graphql::Result<()> {
    match budget(ctx)?.refusal() {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

/// Charges `bytes` to this response (and to the server's budget, waiting briefly for room).
pub(crate) async fn charge<T>(ctx: &ContextBase<'_, T>, bytes: usize) -> async_graphql::Result<()> {
    budget(ctx)?.add(bytes).await
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

/// Charges tasks about to be answered.
pub(crate) async fn charge_tasks<'t>(
    ctx: &Context<'_>,
    tasks: impl IntoIterator<Item = &'t Task>,
) -> async_graphql::Result<()> {
    let bytes = tasks.into_iter().map(task_bytes).sum();
    charge(ctx, bytes).await
}

/// Charges lists about to be answered.
pub(crate) async fn charge_lists<'l>(
    ctx: &Context<'_>,
    lists: impl IntoIterator<Item = &'l List>,
) -> async_graphql::Result<()> {
    let bytes = lists
        .into_iter()
        .map(|list| {
            ROW_OVERHEAD + OBJECT_BYTES + list.user_id.len() + list.name.len() + list.position.len()
        })
        .sum();
    charge(ctx, bytes).await
}

/// Charges webhooks about to be answered: each an object resolved field by field.
pub(crate) async fn charge_webhooks<'w>(
    ctx: &Context<'_>,
    hooks: impl IntoIterator<Item = &'w Webhook>,
) -> async_graphql::Result<()> {
    let bytes = hooks
        .into_iter()
        .map(|hook| {
            let texts = [
                hook.url.len(),
                hook.description.as_ref().map_or(0, String::len),
                hook.disabled_reason.as_ref().map_or(0, String::len),
            ];
            // An event type's name is at most ~20 bytes with its quotes.
            ROW_OVERHEAD + OBJECT_BYTES + texts.iter().sum::<usize>() + 20 * hook.events.len()
        })
        .sum();
    charge(ctx, bytes).await
}

/// Charges a webhook's delivery attempts about to be answered: each an object resolved field
/// by field.
pub(crate) async fn charge_attempts(
    ctx: &Context<'_>,
    attempts: &[Attempt],
) -> async_graphql::Result<()> {
    let bytes = attempts
        .iter()
        .map(|a| {
            let texts = a.message_id.len() + a.event_type.len();
            ROW_OVERHEAD + OBJECT_BYTES + texts + a.error.as_ref().map_or(0, String::len)
        })
        .sum();
    charge(ctx, bytes).await
}

/// Charges `count` tasks resolved field by field (off the fast path, `schema::task_items`).
pub(crate) async fn charge_objects<T>(
    ctx: &ContextBase<'_, T>,
    count: usize,
) -> async_graphql::Result<()> {
    charge(ctx, count.saturating_mul(OBJECT_BYTES)).await
}

/// Charges a list's members about to be answered (under one list object).
pub(crate) async fn charge_members(
    ctx: &Context<'_>,
    members: &[Member],
) -> async_graphql::Result<()> {
    let bytes = members
        .iter()
        .map(|member| MEMBER_OVERHEAD + OBJECT_BYTES + member.user_id.len())
        .sum();
    charge(ctx, bytes).await
}

/// A response past its bound (or refused room) becomes that one error (with the path where it
/// happened), with no data: the partial answer is neither sent nor kept, and the many fields
/// that failed behind it are not listed.
pub(crate) fn collapse(mut response: Response, budget: &ResponseBudget) -> Response {
    let code = match budget.refused.load(Ordering::Relaxed) {
        TOO_LARGE => Code::ResponseTooLarge,
        NO_ROOM => Code::ServiceUnavailable,
        _ => return response,
    };
    let code = Value::from(code.as_str());
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
