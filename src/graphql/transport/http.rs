//! GraphQL over HTTP: POST with JSON, GET for queries (a mutation over GET is a 405),
//! `application/graphql-response+json` with its status codes when the client accepts it, and
//! GraphiQL for browsers.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::{BatchRequest, BatchResponse, Request, Response};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::budget::ResponseBudget;
use super::held::HeldBody;
use super::limits::{Refusal, is_query_operation};
use super::pipeline::{Checked, Pipeline, is_request_error};
use crate::auth::{AuthUser, Client, Credentials, Gate};
use crate::config::Config;
use crate::error::{AppError, AuthFailure};
use crate::graphql::schema::AppSchema;
use crate::graphql::schema::code::{Code, add_codes, is_input_coercion};
use crate::graphql::schema::error::to_graphql_error;
use crate::tasks::idempotency::request::IdempotencyKey;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A request-level failure (nothing executed), in GraphQL's error shape.
fn request_error(
    status: StatusCode,
    code: Code,
    message: impl Into<String>,
) -> axum::response::Response {
    let body =
        json!({"errors": [{"message": message.into(), "extensions": {"code": code.as_str()}}]});
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// Which media type the client wants the response in.
fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(GRAPHQL_RESPONSE))
}

/// Passes the caller through the admission gate once per HTTP request: verified, and for a
/// verified user one token taken from their rate-limit bucket. Without a usable token the
/// request still runs, without a user (introspection, `__typename`); `Err` is the 429 to send.
async fn identify(
    gate: &Gate,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<Result<AuthUser, AuthFailure>, axum::response::Response> {
    let token = crate::auth::bearer_token(headers);
    match gate.admit(Credentials::Request { token, client }).await {
        Ok(admitted) => Ok(Ok(admitted.into_user())),
        Err(AppError::Unauthenticated(failure)) => Ok(Err(failure)),
        Err(error) => {
            let headers = match &error {
                AppError::RateLimited(limited) => limited.headers(),
                _ => HeaderMap::new(),
            };
            let error = to_graphql_error(error).into_server_error(async_graphql::Pos::default());
            let body = json!({ "errors": [error] });
            Err((StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response())
        }
    }
}

/// A response whose only errors are input of the wrong shape, so nothing was done.
fn is_input_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|e| is_input_coercion(&e.message))
}

/// The answer to a request: its responses, with their budgets (which keep the responses'
/// bytes of the server's budget until the body is sent, `HeldBody`).
fn respond(
    batch: BatchResponse,
    held: Vec<Arc<ResponseBudget>>,
    headers: &HeaderMap,
) -> axum::response::Response {
    let graphql_response = wants_graphql_response(headers);
    let status = match &batch {
        // The server had no room for this response: nothing was answered, try again.
        BatchResponse::Single(_) if held.iter().any(|budget| budget.found_no_room()) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        BatchResponse::Single(response)
            if graphql_response && (is_request_error(response) || is_input_error(response)) =>
        {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    let body = serde_json::to_vec(&batch).unwrap_or_else(|_| b"{}".to_vec());
    drop(batch);
    let body = axum::body::Body::new(HeldBody::new(body, held));
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Runs checked requests for the caller. The verified user (or why there is none) goes into
/// each request's data: operations that need no user (`__typename`, introspection) still run
/// without a token.
async fn execute(
    schema: &AppSchema,
    pipeline: &Pipeline,
    gate: &Gate,
    (headers, client): (&HeaderMap, Option<IpAddr>),
    requests: Vec<Checked>,
    is_batch: bool,
) -> axum::response::Response {
    let caller = match identify(gate, headers, client).await {
        Ok(caller) => caller,
        Err(too_many) => return too_many,
    };
    let mut responses = Vec::with_capacity(requests.len());
    let mut held = Vec::with_capacity(requests.len());
    for checked in requests {
        let (response, budget) = pipeline.execute(schema, checked, &caller).await;
        responses.push(add_codes(response));
        held.push(budget);
    }
    let batch = match (is_batch, responses.pop()) {
        (false, Some(response)) => BatchResponse::Single(response),
        (_, last) => {
            responses.extend(last);
            BatchResponse::Batch(responses)
        }
    };
    respond(batch, held, headers)
}

/// Passes every request of a POST through the gate (all before any runs): the checked
/// requests and whether they came as a batch, or the refusal to send as a 400.
fn check_batch(pipeline: &Pipeline, batch: BatchRequest) -> Result<(Vec<Checked>, bool), Refusal> {
    let limits = pipeline.limits();
    let (requests, is_batch) = match batch {
        BatchRequest::Single(request) => (vec![request], false),
        BatchRequest::Batch(requests) => {
            if limits.max_batch == 0 {
                return Err(Refusal {
                    code: Code::BadRequest,
                    message: "batched requests are turned off".to_owned(),
                });
            }
            if requests.is_empty() || requests.len() > limits.max_batch {
                return Err(Refusal {
                    code: Code::BadRequest,
                    message: format!("a batch must hold 1 to {} operations", limits.max_batch),
                });
            }
            (requests, true)
        }
    };
    let checked = requests
        .into_iter()
        .map(|request| pipeline.check(request))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((checked, is_batch))
}

/// The `Idempotency-Key` header of a POST, for a single operation only: in a batch each
/// mutation takes its own `idempotencyKey` argument.
fn header_key(headers: &HeaderMap, is_batch: bool) -> Result<Option<IdempotencyKey>, Refusal> {
    let key = IdempotencyKey::from_headers(headers).map_err(|refusal| Refusal {
        code: Code::BadUserInput,
        message: refusal.message(),
    })?;
    if key.is_some() && is_batch {
        return Err(Refusal {
            code: Code::BadRequest,
            message: "Idempotency-Key applies to a single operation; in a batch, give each \
                      mutation its idempotencyKey argument"
                .to_owned(),
        });
    }
    Ok(key)
}

/// POST /graphql.
pub(super) async fn post_handler(
    State(schema): State<AppSchema>,
    State(pipeline): State<Arc<Pipeline>>,
    State(gate): State<Arc<Gate>>,
    Client(client): Client,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let batch = if content_type.starts_with("application/graphql") && !content_type.contains("json")
    {
        BatchRequest::Single(Request::new(String::from_utf8_lossy(&body)))
    } else if content_type.starts_with("application/json") || content_type.contains("+json") {
        let value: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    Code::BadRequest,
                    format!("the body is not valid JSON: {e}"),
                );
            }
        };
        match serde_json::from_value::<BatchRequest>(value) {
            Ok(batch) => batch,
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    Code::BadRequest,
                    format!("the body is not a GraphQL request (it needs a \"query\" string): {e}"),
                );
            }
        }
    } else {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BadRequest,
            "send the request as application/json",
        );
    };
    let (requests, is_batch) = match check_batch(&pipeline, batch) {
        Ok(checked) => checked,
        Err(refusal) => {
            return request_error(StatusCode::BAD_REQUEST, refusal.code, refusal.message);
        }
    };
    let requests = match header_key(&headers, is_batch) {
        Ok(None) => requests,
        Ok(Some(key)) => requests
            .into_iter()
            .map(|request| request.with_idempotency_key(key.clone()))
            .collect(),
        Err(refusal) => {
            return request_error(StatusCode::BAD_REQUEST, refusal.code, refusal.message);
        }
    };
    let caller = (&headers, client);
    execute(&schema, &pipeline, &gate, caller, requests, is_batch).await
}

/// GET /graphql: GraphiQL for a browser, otherwise a query from the URL.
#[allow(clippy::too_many_arguments)] // each is an axum extractor, taken apart where it is used
pub(super) async fn get_handler(
    State(schema): State<AppSchema>,
    State(pipeline): State<Arc<Pipeline>>,
    State(gate): State<Arc<Gate>>,
    State(config): State<Arc<Config>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    Client(client): Client,
    headers: HeaderMap,
    uri: Uri,
) -> axum::response::Response {
    if let (Some(protocol), Ok(upgrade)) = (super::ws::requested_protocol(&headers), upgrade) {
        let context = super::ws::SocketContext {
            schema,
            pipeline,
            gate,
            limits: config.operations.websocket.clone(),
        };
        return super::ws::upgrade(context, protocol, upgrade, &headers, client).await;
    }
    let query = uri.query().unwrap_or_default();
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if accepts_html && !query.contains("query=") {
        let dev_token = config
            .is_development()
            .then_some(crate::operator::dev_token::PATH);
        return super::graphiql::page(dev_token);
    }
    let request = match request_from_query_string(query) {
        Ok(request) => request,
        Err(problem) => return request_error(StatusCode::BAD_REQUEST, Code::BadRequest, problem),
    };
    let checked = match pipeline.check(request) {
        Ok(checked) => checked,
        Err(refusal) => {
            return request_error(StatusCode::BAD_REQUEST, refusal.code, refusal.message);
        }
    };
    // A document that does not parse is left to the executor, which reports the syntax error.
    if let Some(document) = checked.document()
        && !is_query_operation(document, checked.operation_name())
    {
        return request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::BadRequest,
            "mutations are only allowed over POST",
        );
    }
    let caller = (&headers, client);
    execute(&schema, &pipeline, &gate, caller, vec![checked], false).await
}

/// A GraphQL request from a GET query string: `query`, `operationName`, `variables` (JSON).
/// (async-graphql's own parser looks for `operation_name`, not the spec's `operationName`.)
fn request_from_query_string(query_string: &str) -> Result<Request, String> {
    let mut request = Request::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        match name.as_ref() {
            "query" => request.query = value.into_owned(),
            "operationName" if !value.is_empty() => {
                request.operation_name = Some(value.into_owned());
            }
            "variables" if !value.is_empty() => {
                let json: serde_json::Value = serde_json::from_str(&value)
                    .map_err(|e| format!("the `variables` parameter is not valid JSON: {e}"))?;
                if !json.is_object() && !json.is_null() {
                    return Err("the `variables` parameter must be a JSON object".to_owned());
                }
                request.variables = async_graphql::Variables::from_json(json);
            }
            _ => {}
        }
    }
    if request.query.trim().is_empty() {
        return Err("a GET request needs a `query` parameter (variables as JSON)".to_owned());
    }
    Ok(request)
}
