//! Operating the service: what sits around the APIs rather than in them. Request ids and
//! request logs, Prometheus metrics, health and readiness, CORS, limits (body size, request
//! time, per-user and anonymous rate, open connections and each user's share of them, header /
//! body / idle timeouts) and serving with a bounded graceful shutdown.
//!
//! Nothing here knows about tasks; the APIs know nothing of this beyond the admission gate
//! (`auth::Gate`) whose rate limiters live here and whose door is `conn::anonymous_limit`.

pub mod conn;
pub mod connections;
pub mod dev_token;
pub mod front;
pub mod health;
pub mod metrics;
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
use axum::routing::get;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::auth::Gate;
use crate::config::{Config, CorsOrigins, Operations};
use crate::error::AppError;

pub use serve::{CappedListener, serve_on};

/// `/` (the front door), `/healthz`, `/readyz`, `/metrics`, and in development mode only,
/// the development sign-in.
pub fn routes(config: &Config) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(front::front_door))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::endpoint));
    if config.is_development() {
        router.route(dev_token::PATH, axum::routing::post(dev_token::mint))
    } else {
        router
    }
}

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
        .layer(middleware::from_fn(metrics::track_http))
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
            crate::idempotency::REPLAYED_HEADER,
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
