//! Request ids. An incoming `X-Request-Id` is kept (so a load balancer's id follows the request
//! through), otherwise one is made. The id is echoed back, carried by the `request` tracing
//! span (so every log line of the request has it), and readable by the error mapping through
//! [`current`], which puts it in 500 bodies.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries the id both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id kept; a longer (or odd) one is replaced, so logs stay readable.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled, if called inside one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// An incoming id worth keeping: 1–128 visible ASCII characters.
fn usable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let fits = !text.is_empty() && text.len() <= MAX_LEN;
    (fits && text.bytes().all(|b| b.is_ascii_graphic())).then(|| text.to_owned())
}

/// Middleware: assigns the id, runs the request inside its span and task-local, logs one line
/// when it finishes, and echoes the id.
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(usable)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    // Probes and scrapes come every few seconds: their lines would drown the rest at `info`.
    let routine = matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let started = Instant::now();
    let handled = async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if routine {
            tracing::debug!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
        response
    };
    let mut response = CURRENT.scope(id.clone(), handled.instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
