//! Prometheus metrics, rendered at `/metrics` by a recorder built without its HTTP listener
//! (the app serves the text itself). The recorder is process-global, as the `metrics` macros
//! are: code anywhere (the JWKS refresher's `jwks_refreshes_total`) records into it.
//!
//! Labels are bounded: the route is the matched path template (never the raw path, which
//! holds user ids), methods outside the standard set are `other`, and GraphQL operation names
//! beyond the first few hundred are `other`.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

const HTTP_REQUESTS: &str = "http_requests_total";
const HTTP_DURATION: &str = "http_request_duration_seconds";
const HTTP_IN_FLIGHT: &str = "http_requests_in_flight";
const GRAPHQL_OPERATIONS: &str = "graphql_operations_total";

/// Latency buckets, in seconds: from a cached read to a request stuck behind DB_TIMEOUT.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Distinct GraphQL operation names given their own label value.
const MAX_OPERATION_NAMES: usize = 200;
/// Longest operation name given its own label value.
const MAX_OPERATION_NAME_LEN: usize = 64;

/// How often histogram samples are folded in when nobody scrapes (they are buffered).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder once per process and returns its handle; `None` if another
/// recorder was installed first (an embedding program's), in which case `/metrics` is a 404.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics is off");
                return None;
            }
            describe();
            let upkeep = handle.clone();
            // A thread, not a task: the recorder outlives any one tokio runtime.
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
            }
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency, by method, route template and status"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being handled now");
    describe_counter!(
        "http_rate_limited_total",
        "Requests refused by the per-user rate limit"
    );
    describe_gauge!(
        "db_pool_connections",
        "Database connections open, by state (in_use, idle)"
    );
    describe_gauge!(
        "db_pool_max_connections",
        "Most database connections the pool opens (DB_POOL_SIZE)"
    );
    describe_gauge!(
        "db_pool_waiting",
        "Requests waiting for a database connection now"
    );
    describe_gauge!(
        "db_shared_read_connections",
        "Connections concurrent reads share now (DB_READ_CONNECTIONS at most)"
    );
    describe_gauge!(
        "db_shared_read_riders",
        "Units of reads riding on shared connections now"
    );
    describe_counter!(
        "db_pool_waits_total",
        "Connection check-outs that had to wait"
    );
    describe_counter!(
        "db_pool_wait_timeouts_total",
        "Connection check-outs that gave up after DB_TIMEOUT (answered 503)"
    );
    describe_counter!(
        GRAPHQL_OPERATIONS,
        "GraphQL operations, by operation name and outcome (ok, error)"
    );
    describe_counter!(
        "jwks_refreshes_total",
        "Fetches of the JWKS (Better Auth's public keys)"
    );
}

/// GET /metrics: the Prometheus text format, with the pool numbers read at scrape time.
pub async fn endpoint(State(state): State<AppState>) -> Response {
    let Some(handle) = install() else {
        return crate::rest::not_found().await;
    };
    let pool = state.db.pool_stats();
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.connections.saturating_sub(pool.idle)));
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("db_pool_max_connections").set(f64::from(state.config.pool.max_size));
    metrics::gauge!("db_pool_waiting").set(pool.waiting as f64);
    let (shared, riders) = state.db.shared_reads();
    metrics::gauge!("db_shared_read_connections").set(shared as f64);
    metrics::gauge!("db_shared_read_riders").set(riders as f64);
    metrics::counter!("db_pool_waits_total").absolute(pool.waits);
    metrics::counter!("db_pool_wait_timeouts_total").absolute(pool.timeouts);
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route template, with the trailing-slash twin of a route counted as the route.
fn route_label(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(path) => {
            let path = path.as_str();
            match path.strip_suffix('/') {
                Some(trimmed) if !trimmed.is_empty() => trimmed.to_owned(),
                _ => path.to_owned(),
            }
        }
        None => "unmatched".to_owned(),
    }
}

/// Decrements the in-flight gauge even when the request future is dropped (client gone).
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        metrics::gauge!(HTTP_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_IN_FLIGHT).decrement(1.0);
    }
}

/// Middleware: counts each request and records its latency by route template.
pub async fn track_http(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = route_label(&request);
    let started = Instant::now();
    let _in_flight = InFlight::start();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The operation's name as the document and `operationName` give it.
fn operation_name(document: &ExecutableDocument, requested: Option<&str>) -> String {
    match (&document.operations, requested) {
        (DocumentOperations::Single(_), _) => "anonymous".to_owned(),
        (DocumentOperations::Multiple(ops), Some(name)) if ops.contains_key(name) => {
            name.to_owned()
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.to_string()).unwrap_or_default()
        }
        _ => "unknown".to_owned(),
    }
}

/// The label value for `name`: itself while there is room, else `other`.
fn bounded_name(name: String) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    if name.len() > MAX_OPERATION_NAME_LEN {
        return "other".to_owned();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if seen.contains(&name) {
        name
    } else if seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.clone());
        name
    } else {
        "other".to_owned()
    }
}

/// Counts one GraphQL operation by name and outcome, once per operation, from the transport
/// pipeline (a schema extension would put every field of every object through the extension
/// chain). `validated` is the operation's document when it parsed and validated.
///
/// A name becomes a label value only for an operation that validated and runs for a verified
/// user: junk names from anonymous or invalid requests would otherwise fill the label slots
/// for good. The others are `invalid` or `unverified`.
pub fn count_graphql_operation(
    validated: Option<&ExecutableDocument>,
    requested: Option<&str>,
    verified: bool,
    ok: bool,
) {
    let name = match (validated, verified) {
        (None, _) => "invalid".to_owned(),
        (Some(_), false) => "unverified".to_owned(),
        (Some(document), true) => bounded_name(operation_name(document, requested)),
    };
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!(GRAPHQL_OPERATIONS, "operation" => name, "outcome" => outcome).increment(1);
}
