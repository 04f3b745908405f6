//! The hard bound behind the cost model (`complexity`): the bytes one response may hold,
//! `GRAPHQL_MAX_RESPONSE_BYTES`, counted while the response is built. Every resolver that
//! returns rows reads them through one function, [`charged`]: it fails before the read once
//! the budget is spent (so nothing more is read), then charges what was read, by its type's
//! [`Charge`] (one impl per row type, here), before the resolver copies it into the answer,
//! once for every parent it is attached to: a list shared by 10,000 tasks is 10,000 copies in
//! the answer, and is charged 10,000 times. Past the bound every later charge fails too, and
//! the pipeline turns the response into one RESPONSE_TOO_LARGE error with no data
//! ([`collapse`]): a document the cost model misjudges costs its sender an error, not the
//! server its memory. tests/it's `charged_fields` asks every field of the schema that returns
//! rows under a tiny bound and fails for one that answers without charging.
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

use async_graphql::{ContextBase, ErrorExtensions, Response, Value};

use super::held::InFlight;
use crate::graphql::schema::code::Code;
use crate::tasks::webhooks::model::{Attempt, Webhook};
use crate::tasks::{List, Member, Page, TagCount, Task, TaskChangeSet};

/// The bytes a row's JSON takes besides its texts: its keys, numbers, dates and punctuation.
const ROW_OVERHEAD: usize = 400;

/// The bytes a tag's JSON takes besides its name (its key, count and punctuation), about.
const TAG_OVERHEAD: usize = 40;

/// The bytes a list member's JSON takes besides its user id: its keys, role and date.
const MEMBER_OVERHEAD: usize = 80;

/// What async-graphql holds while it resolves one object field by field (a future per field,
/// its value map), besides the object's own bytes: charged for every object answered that way
/// (a list, a member, a task off the fast path, `schema::task_items`), so that what a response holds
/// while it is built, not only what it answers, stays within the bound. Measured (issue 40):
/// 10,000 tasks each with its list grew the server by ~4.5 KB per task, ~0.8 KB of it rows.
const OBJECT_BYTES: usize = 1024;

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

/// What a value answered to the client costs this response: the bytes of its JSON, about,
/// plus what async-graphql holds while it resolves it. Each row type says it here, once.
pub(crate) trait Charge {
    /// The bytes this value is charged.
    fn bytes(&self) -> usize;
}

/// The one way a resolver reads what it answers: fails at once when the response is already
/// past its bound (or was refused room), so nothing more is read; runs `read`; charges what it
/// returned (to this response, and to the server's budget, waiting briefly for room) before
/// the resolver copies it into the answer. Every field that returns rows goes through here;
/// `charged_fields` (tests/it) fails for one that does not.
pub(crate) async fn charged<C, T: Charge>(
    ctx: &ContextBase<'_, C>,
    read: impl Future<Output = async_graphql::Result<T>>,
) -> async_graphql::Result<T> {
    let budget = budget(ctx)?;
    if let Some(refused) = budget.refusal() {
        return Err(refused);
    }
    let rows = read.await?;
    budget.add(rows.bytes()).await?;
    Ok(rows)
}

impl<T: Charge> Charge for [T] {
    fn bytes(&self) -> usize {
        self.iter().map(Charge::bytes).sum()
    }
}

impl<T: Charge> Charge for Vec<T> {
    fn bytes(&self) -> usize {
        self.as_slice().bytes()
    }
}

/// Nothing found costs nothing (the charge still fails once the response is past its bound).
impl<T: Charge> Charge for Option<T> {
    fn bytes(&self) -> usize {
        self.as_ref().map_or(0, Charge::bytes)
    }
}

/// A row shared by the batch that loaded it is charged for every copy made of it.
impl<T: Charge + ?Sized> Charge for Arc<T> {
    fn bytes(&self) -> usize {
        self.as_ref().bytes()
    }
}

/// A task: its JSON, about (on the fast path, `schema::task_items`, nothing more is held).
impl Charge for Task {
    fn bytes(&self) -> usize {
        let texts = [
            self.title.len(),
            self.description.as_ref().map_or(0, String::len),
            self.position.len(),
            self.recurrence.as_ref().map_or(0, String::len),
            self.time_zone.len(),
        ];
        let tags: usize = self.tags.iter().map(|tag| tag.len() + 3).sum();
        ROW_OVERHEAD + texts.iter().sum::<usize>() + tags
    }
}

/// A page of tasks: its tasks.
impl Charge for Page {
    fn bytes(&self) -> usize {
        self.tasks.bytes()
    }
}

/// A list: an object resolved field by field.
impl Charge for List {
    fn bytes(&self) -> usize {
        ROW_OVERHEAD + OBJECT_BYTES + self.user_id.len() + self.name.len() + self.position.len()
    }
}

/// A list's member (under one list object): an object resolved field by field.
impl Charge for Member {
    fn bytes(&self) -> usize {
        MEMBER_OVERHEAD + OBJECT_BYTES + self.user_id.len()
    }
}

/// A webhook: an object resolved field by field.
impl Charge for Webhook {
    fn bytes(&self) -> usize {
        let texts = [
            self.url.len(),
            self.description.as_ref().map_or(0, String::len),
            self.disabled_reason.as_ref().map_or(0, String::len),
        ];
        // An event type's name is at most ~20 bytes with its quotes.
        ROW_OVERHEAD + OBJECT_BYTES + texts.iter().sum::<usize>() + 20 * self.events.len()
    }
}

/// A webhook's delivery attempt: an object resolved field by field.
impl Charge for Attempt {
    fn bytes(&self) -> usize {
        let texts = self.message_id.len() + self.event_type.len();
        ROW_OVERHEAD + OBJECT_BYTES + texts + self.error.as_ref().map_or(0, String::len)
    }
}

/// A tag with its count.
impl Charge for TagCount {
    fn bytes(&self) -> usize {
        TAG_OVERHEAD + self.name.len()
    }
}

/// What changed since a cursor: the tasks and the lists its events carry.
impl Charge for TaskChangeSet {
    fn bytes(&self) -> usize {
        let tasks = self.events.iter().filter_map(|e| e.task.as_ref());
        let lists = self.events.iter().filter_map(|e| e.list.as_ref());
        tasks.map(Charge::bytes).sum::<usize>() + lists.map(Charge::bytes).sum::<usize>()
    }
}

/// Tasks resolved field by field, off the fast path (`schema::task_items`): what the library
/// holds for each (a future per field, its value map), charged before it makes them.
pub(crate) struct FieldByField(pub(crate) usize);

impl Charge for FieldByField {
    fn bytes(&self) -> usize {
        self.0.saturating_mul(OBJECT_BYTES)
    }
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
