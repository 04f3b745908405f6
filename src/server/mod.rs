//! The HTTP server around the APIs: what every connection and request passes through before
//! and after a handler. Serving with a bounded graceful shutdown (`serve`), the connections and
//! who holds them (`connections`, `slots`, `slow_client`), what a connection may cost before a
//! handler runs (`conn`: body size and time, the admission gate's door), rate limits
//! (`rate_limit`), request ids and request logs (`request_id`), and the layers [`wrap`] puts
//! around the application: CORS, the request time limit, JSON error bodies, panics as 500s.
//! The routes for who runs the service (`/`, `/healthz`, `/readyz`, `/metrics`) are
//! `operator`'s.
//!
//! Nothing here knows about tasks; the APIs know nothing of this beyond the admission gate
//! (`auth::Gate`) whose rate limiters live here and whose door is `conn::anonymous_limit`.

pub mod conn;
pub mod connections;
pub mod rate_limit;
pub mod request_id;
mod serve;
pub mod slots;
mod slow_client;

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::auth::Gate;
use crate::config::{CorsOrigins, Operations};
use crate::error::AppError;

pub use serve::{CappedListener, serve_on};

/// Wraps the whole application in the operating layers. Each `layer` wraps what is already
/// there, so the first one here is the innermost. `gate` is the application's admission gate,
/// whose door (the anonymous limit) is one of the layers.
pub fn wrap(router: Router, operations: &Operations, gate: Arc<Gate>) -> Router {
    let router = router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(operations.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            operations.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            conn::BodyLimits::new(operations),
            conn::bounded_body,
        ))
        .layer(middleware::from_fn(json_errors))
        // Before the body is read or a token verified: the cheapest place to refuse.
        .layer(middleware::from_fn_with_state(gate, conn::anonymous_limit))
        // A refused upgrade, wherever it is refused, gives its connection up.
        .layer(middleware::from_fn(conn::close_refused_upgrades));
    // CORS outside the limits, so a browser can read a 408 / 413 / 429 too.
    let router = match cors(operations) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(middleware::from_fn(log_refused_preflight))
        .layer(middleware::from_fn(crate::operator::metrics::track_http))
        .layer(middleware::from_fn(request_id::middleware))
}

/// The CORS layer for the allow-list, or none (same-origin only) when it is empty.
fn cors(operations: &Operations) -> Option<CorsLayer> {
    let origins = match &operations.cors_origins {
        CorsOrigins::Off => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    let layer = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            // Conditional requests and idempotency keys (offline-safe writes).
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            request_id::HEADER,
        ])
        .expose_headers([
            // A task's version, for `If-Match`; a replayed idempotent write says so.
            header::ETAG,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            crate::tasks::idempotency::request::REPLAYED_HEADER,
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
            // Paged task lists: the next page and the total.
            HeaderName::from_static("x-total-count"),
            request_id::HEADER,
        ])
        .max_age(operations.cors_max_age);
    // Frontends using Better Auth often fetch with `credentials: "include"`; that is allowed
    // for listed origins only (the CORS rules forbid it with `*`).
    Some(match operations.cors_origins {
        CorsOrigins::List(_) => layer.allow_credentials(true),
        _ => layer,
    })
}

/// Logs a CORS preflight that got no permission, with the setting that would grant it: the
/// browser only says "blocked by CORS policy", and the server is where the fix is. Each
/// origin is logged once (up to a bound), not on every request.
async fn log_refused_preflight(request: Request, next: Next) -> Response {
    let origin = (request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD))
    .then(|| request.headers().get(header::ORIGIN).cloned())
    .flatten();
    let response = next.run(request).await;
    if let Some(origin) = origin
        && !response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        static LOGGED: std::sync::Mutex<Vec<HeaderValue>> = std::sync::Mutex::new(Vec::new());
        let first = LOGGED.lock().is_ok_and(|mut logged| {
            let new = !logged.contains(&origin) && logged.len() < 64;
            if new {
                logged.push(origin.clone());
            }
            new
        });
        if first {
            let origin = String::from_utf8_lossy(origin.as_bytes());
            tracing::warn!(
                %origin,
                "refused a CORS preflight from {origin}: to let that page call the API, add it \
                 to CORS_ORIGINS (e.g. CORS_ORIGINS={origin}, comma-separated)"
            );
        }
    }
    response
}

/// Gives the bare 408 and 413 that the timeout and body-limit layers produce the
/// `{"detail": …}` body every other error has.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        return response;
    }
    let (parts, _) = response.into_parts();
    let detail = status.canonical_reason().unwrap_or("Error");
    let mut rewritten = (status, axum::Json(json!({ "detail": detail }))).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// A panicking handler is a bug: answer it as any internal error (logged, request id in the
/// body), instead of dropping the connection.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::Internal(format!("handler panicked: {message}")).into_response()
}
