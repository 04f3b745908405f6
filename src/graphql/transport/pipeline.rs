//! The one path every GraphQL operation takes, whatever its transport (HTTP POST, HTTP GET,
//! WebSocket): the text gate ([`check_request`]: size, bracket nesting of the document and of
//! this request's variables), the parse (through the bounded [`DocumentCache`]), the alias
//! limit, depth and complexity ([`measure_with`], with this request's variables, so a cached
//! document is measured afresh for every `first`), execution under the response's byte budget
//! (`budget`: one per response, afresh for each subscription event), spec field order in the
//! response and in every subscription event ([`restore_order`]), and the operation count.
//!
//! These run here, once per operation, rather than as schema extensions: with any extension
//! installed, async-graphql builds a `ResolveInfo` and runs the extension chain for every
//! field of every object and every list item (`resolver_utils/container.rs`, `list.rs`), which
//! made a 50-task list cost about a third more CPU than the work itself.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Data, Request, Response, ServerError};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::budget::{ResponseBudget, collapse};
use super::cache::DocumentCache;
use super::complexity::measure_with;
use super::held::InFlight;
use super::limits::{Refusal, check_aliases, check_request};
use super::order::restore_order;
use crate::auth::AuthUser;
use crate::config::GraphqlLimits;
use crate::error::AuthFailure;
use crate::graphql::schema::AppSchema;
use crate::graphql::schema::loaders::NestedLoads;
use crate::operator::metrics::count_graphql_operation;
use crate::tasks::idempotency::request::IdempotencyKey;

/// The pipeline of one app: its limits and its parsed documents.
pub struct Pipeline {
    limits: GraphqlLimits,
    documents: DocumentCache,
    /// The bytes of every response in flight (GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES).
    in_flight: Arc<InFlight>,
}

/// A request that passed the gate, with its parsed document (`None` when it does not parse:
/// the executor then reports the syntax error with its position).
pub(crate) struct Checked {
    request: Request,
    document: Option<Arc<ExecutableDocument>>,
}

impl Checked {
    /// The parsed document.
    pub(crate) fn document(&self) -> Option<&ExecutableDocument> {
        self.document.as_deref()
    }

    /// The operation asked for.
    pub(crate) fn operation_name(&self) -> Option<&str> {
        self.request.operation_name.as_deref()
    }

    /// The request with the `Idempotency-Key` header its mutations use when they have no
    /// `idempotencyKey` argument (`graphql::schema::idempotency`).
    pub(crate) fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.request = self.request.data(key);
        self
    }
}

impl Pipeline {
    /// A pipeline applying `limits`.
    pub fn new(limits: GraphqlLimits) -> Pipeline {
        let in_flight = Arc::new(InFlight::new(limits.max_in_flight_response_bytes));
        Pipeline {
            limits,
            documents: DocumentCache::default(),
            in_flight,
        }
    }

    /// A budget for one response, taking from the server's.
    fn budget(&self) -> Arc<ResponseBudget> {
        ResponseBudget::new(self.limits.max_response_bytes, self.in_flight.clone())
    }

    /// The limits.
    pub(crate) fn limits(&self) -> &GraphqlLimits {
        &self.limits
    }

    /// The gate every request passes before anything else: the text limits, then the parse
    /// and the alias limit. `Err` is the refusal to send (nothing ran).
    pub(crate) fn check(&self, request: Request) -> Result<Checked, Refusal> {
        check_request(&request, &self.limits)?;
        let document = self.documents.parse(&request.query);
        if let Some(document) = &document {
            check_aliases(document, &self.limits)?;
        }
        Ok(Checked { request, document })
    }

    /// Runs a checked query or mutation for the caller (the verified user, or why there is
    /// none), and counts it. The response comes with its budget, which holds the response's
    /// bytes of the server's budget until it is dropped: keep it until the response is sent.
    pub(crate) async fn execute(
        &self,
        schema: &AppSchema,
        checked: Checked,
        caller: &Result<AuthUser, AuthFailure>,
    ) -> (Response, Arc<ResponseBudget>) {
        let Checked { request, document } = checked;
        let request = match caller {
            Ok(user) => request.data(user.clone()),
            Err(failure) => request.data(failure.clone()),
        };
        let budget = self.budget();
        let request = request
            .data(budget.clone())
            .data(Arc::new(NestedLoads::default()));
        let operation_name = request.operation_name.clone();
        let response = match self.ready(request, document.as_deref()) {
            Ok(request) => schema.execute(request).await,
            Err(problem) => refusal(problem),
        };
        let response = finish(
            document.as_deref(),
            operation_name.as_deref(),
            collapse(response, &budget),
            Some(caller.is_ok()),
        );
        (response, budget)
    }

    /// Runs a checked operation of any kind (subscriptions included) for a verified user, as
    /// a stream of responses; counted at its first response.
    pub(crate) fn execute_stream(
        &self,
        schema: &AppSchema,
        checked: Checked,
        user: &AuthUser,
    ) -> BoxStream<'static, Response> {
        let Checked { request, document } = checked;
        let budget = self.budget();
        let request = request
            .data(user.clone())
            .data(budget.clone())
            .data(Arc::new(NestedLoads::default()));
        let operation_name = request.operation_name.clone();
        let stream = match self.ready(request, document.as_deref()) {
            Ok(request) => {
                schema.execute_stream_with_session_data(request, Arc::new(Data::default()))
            }
            Err(problem) => futures::stream::once(async { refusal(problem) }).boxed(),
        };
        let mut counted = false;
        stream
            .map(move |response| {
                let count = (!counted).then_some(true);
                counted = true;
                let response = collapse(response, &budget);
                // Events are resolved one after another: the next starts with a full budget,
                // and this one's bytes go back to the server as it is handed to the socket.
                budget.reset();
                finish(
                    document.as_deref(),
                    operation_name.as_deref(),
                    response,
                    count,
                )
            })
            .boxed()
    }

    /// Depth and complexity of the document with this request's variables; on success the
    /// request carries the parsed document, so the executor does not parse it again. `Err`
    /// says which limit it passes.
    fn ready(
        &self,
        mut request: Request,
        document: Option<&ExecutableDocument>,
    ) -> Result<Request, String> {
        let Some(document) = document else {
            return Ok(request);
        };
        let tally = measure_with(document, &request.variables, &self.limits)?;
        // async-graphql's own switch answers `__schema` with a silent `null`; a client (or a
        // prober) is told instead.
        if !self.limits.introspection && tally.introspection_fields > 0 {
            return Err(INTROSPECTION_OFF.to_owned());
        }
        request.set_parsed_query(document.clone());
        Ok(request)
    }
}

/// The refusal of `__schema` / `__type` when `GRAPHQL_INTROSPECTION=false`.
const INTROSPECTION_OFF: &str = "Introspection is disabled on this server.";

/// The response refusing an operation over a limit, as async-graphql's own checks answer:
/// no data, one error without a path.
fn refusal(problem: String) -> Response {
    Response::from_errors(vec![ServerError::new(problem, None)])
}

/// Restores selection order in the response (collapsed already, `budget::collapse`) and, when
/// `count` says for whom (verified or not), counts the operation.
fn finish(
    document: Option<&ExecutableDocument>,
    operation_name: Option<&str>,
    mut response: Response,
    count: Option<bool>,
) -> Response {
    if let Some(document) = document {
        restore_order(document, operation_name, &mut response.data);
    }
    if let Some(verified) = count {
        let validated = document.filter(|_| !is_request_error(&response));
        count_graphql_operation(
            validated,
            operation_name,
            verified,
            response.errors.is_empty(),
        );
    }
    response
}

/// A response that failed before execution (parse, limits, validation): no field ran, so no
/// error has a path.
pub(super) fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}
