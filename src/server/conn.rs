//! What a client's connection may cost before any handler runs: the request body (an
//! immediate 413 when `Content-Length` is over MAX_BODY_SIZE, a 408 when the body is not sent
//! within BODY_READ_TIMEOUT) and, as the door of the admission gate (`auth::Gate`), the rate
//! limit for requests without a token, per client address.
//!
//! Header-read and idle timeouts are set on the connection itself (`serve`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::rate_limit::RateLimiter;
use crate::auth::{Credentials, Gate, Verifier, bearer_token};
use crate::config::Operations;
use crate::error::AppError;
use crate::graphql::schema::code::Code;

/// Paths that answer without a token and must stay reachable for probes, whatever the rate.
const UNLIMITED_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Body limits, for [`bounded_body`].
#[derive(Clone, Copy)]
pub struct BodyLimits {
    max_bytes: usize,
    read_timeout: std::time::Duration,
}

impl BodyLimits {
    /// The limits from the settings.
    pub fn new(operations: &Operations) -> Self {
        BodyLimits {
            max_bytes: operations.max_body_bytes,
            // The whole request is bounded by REQUEST_TIMEOUT, its body included.
            read_timeout: operations.body_read_timeout.min(operations.request_timeout),
        }
    }
}

fn refuse(status: StatusCode, detail: &str) -> Response {
    let mut response = (status, axum::Json(json!({ "detail": detail }))).into_response();
    // The rest of the body may still be on its way: do not read it to reuse the connection.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads the whole body before the handler, bounded in size and in time.
pub async fn bounded_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limits.max_bytes as u64) {
        // Refused on the header alone: waiting for 999999999 bytes would hold the slot.
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    }
    let has_body = announced.is_some_and(|n| n > 0)
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, limits.max_bytes);
    let bytes = match tokio::time::timeout(limits.read_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            let too_large = error
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            if too_large {
                return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
            }
            return refuse(
                StatusCode::BAD_REQUEST,
                "The request body could not be read",
            );
        }
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "Request Timeout"),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The admission gate for these settings: the per-user limit (RATE_LIMIT), the anonymous
/// per-address one (ANONYMOUS_RATE_LIMIT), who counts as the client (TRUSTED_PROXIES) and the
/// connection shares (MAX_LIVE_CONNECTIONS_PER_USER, LIVE_CONNECTION_SHARE,
/// MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS).
pub fn admission_gate(verifier: Arc<Verifier>, operations: &Operations) -> Arc<Gate> {
    Arc::new(Gate::new(
        verifier,
        RateLimiter::new(operations.rate_limit),
        RateLimiter::named(operations.anonymous_rate_limit, "per-address"),
        operations.trusted_proxies.clone(),
        &operations.connection_shares,
    ))
}

/// The door of the admission gate, before any body is read. Requests without a bearer token
/// (introspection, WebSocket upgrades, probes of any kind, `Authorization: Basic …`) take a
/// token from their client address's bucket here; requests with one pass on, to be admitted
/// where their handler asks for the user (limited per user, or, when the token fails
/// verification, charged to the address there). Either way the connection is the client
/// address's until a token verifies, within its share: a slow body or a junk token buys
/// no connection outside it.
pub async fn anonymous_limit(
    State(gate): State<Arc<Gate>>,
    request: Request,
    next: Next,
) -> Response {
    let anonymous = bearer_token(request.headers()).is_err();
    let client = gate.client(request.headers(), request.extensions());
    let outcome = if !anonymous {
        gate.claim_unverified(client)
    } else if UNLIMITED_PATHS.contains(&request.uri().path()) {
        Ok(())
    } else {
        gate.admit(Credentials::Anonymous { client })
            .await
            .map(|_| ())
    };
    let refused = match outcome {
        Err(AppError::RateLimited(limited)) => Some((
            "Too many requests without a token from this address".to_owned(),
            AppError::RateLimited(limited),
        )),
        // Every connection of this address busy: this one closes after the answer.
        Err(AppError::TooManyConnections(limit)) => {
            Some((limit.message(), AppError::TooManyConnections(limit)))
        }
        _ => None,
    };
    if let Some((message, error)) = refused {
        if request.uri().path() == "/graphql" {
            let headers = match &error {
                AppError::RateLimited(limited) => limited.headers(),
                _ => axum::http::HeaderMap::new(),
            };
            let body = json!({"errors": [{
                "message": message,
                "extensions": {"code": Code::of(&error).as_str()},
            }]});
            return (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response();
        }
        return error.into_response();
    }
    next.run(request).await
}

/// A refused request for a long-lived connection closes its connection (`Connection: close`,
/// and hyper closes it once the answer is sent), so a client that keeps the socket open after
/// its refusal holds no slot. Wraps the SSE route; [`close_refused_upgrades`] does the same
/// for WebSocket upgrades on every path.
pub async fn close_refused(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if !(status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// [`close_refused`] for HTTP/1.1 upgrade requests (WebSocket), wherever they are refused:
/// at the door, at the gate or by the handler.
pub async fn close_refused_upgrades(request: Request, next: Next) -> Response {
    if request.headers().contains_key(header::UPGRADE) {
        close_refused(request, next).await
    } else {
        next.run(request).await
    }
}
