//! What a client's connection may cost before any handler runs: the request body (an
//! immediate 413 when `Content-Length` is over MAX_BODY_SIZE, a 408 when the body is not sent
//! within BODY_READ_TIMEOUT) and the rate limit for requests without a token, per client
//! address (X-Forwarded-For only from TRUSTED_PROXIES).
//!
//! Header-read and idle timeouts are set on the connection itself (`serve`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::rate_limit::RateLimiter;
use crate::config::Operations;
use crate::error::AppError;

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

/// The anonymous rate limit and who counts as the client.
pub struct AnonymousGate {
    limiter: RateLimiter,
    trusted_proxies: Vec<IpAddr>,
}

impl AnonymousGate {
    /// The gate from the settings.
    pub fn new(operations: &Operations) -> Arc<Self> {
        Arc::new(AnonymousGate {
            limiter: RateLimiter::named(operations.anonymous_rate_limit, "per-address"),
            trusted_proxies: operations.trusted_proxies.clone(),
        })
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    /// X-Forwarded-For entry that is not one (entries further left are the client's say-so).
    fn client(&self, request: &Request) -> Option<IpAddr> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|ip| ip.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !self.trusted_proxies.contains(ip))
                .unwrap_or(peer),
        )
    }
}

/// Requests without a token (introspection, WebSocket upgrades, probes of any kind) take a
/// token from their client address's bucket; requests with one are limited per user instead.
pub async fn anonymous_limit(
    State(gate): State<Arc<AnonymousGate>>,
    request: Request,
    next: Next,
) -> Response {
    let anonymous = !request.headers().contains_key(header::AUTHORIZATION);
    if anonymous
        && !UNLIMITED_PATHS.contains(&request.uri().path())
        && let Some(client) = gate.client(&request)
        && let Err(error) = gate.limiter.check_key(&client.to_string())
    {
        if request.uri().path() == "/graphql" {
            let headers = match &error {
                AppError::RateLimited(limited) => limited.headers(),
                _ => Default::default(),
            };
            let body = json!({"errors": [{
                "message": "Too many requests without a token from this address",
                "extensions": {"code": "RATE_LIMITED"},
            }]});
            return (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response();
        }
        return error.into_response();
    }
    next.run(request).await
}
