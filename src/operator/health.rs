//! `/healthz` (the process answers) and `/readyz` (it can serve: database reachable,
//! migrations applied, storage taking writes, token keys loaded when JWKS is configured), both
//! JSON. A load balancer
//! takes an instance out of rotation on a 503 from `/readyz`; `/healthz` never touches the
//! database, so a database outage does not get healthy processes restarted. The `events`
//! check (does this instance hear task events?) reports without taking the instance out:
//! `status` is then `degraded`, with 200; so does `pooler` (`undeclared`: `DATABASE_URL`
//! proved a transaction pooler nobody declared, see docs/NEON.md).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::AppState;

/// GET /healthz.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// GET /readyz: 200 when every check passes, else 503; the body says which failed. The
/// database checks share one bound of their own, READY_TIMEOUT (`ready_timeout`): during an
/// outage a balancer probing every second must get an answer to every probe (`unavailable`),
/// not one per DB_TIMEOUT; a database that answers nothing at all (packets dropped) would
/// otherwise hold a probe for as long as the client waits.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let bound = state.config.operations.ready_timeout;
    let deadline = tokio::time::Instant::now() + bound;
    let (database, migrations) =
        match tokio::time::timeout_at(deadline, state.db.migrations_applied()).await {
            Ok(Ok(true)) => ("ok", "ok"),
            Ok(Ok(false)) => ("ok", "pending"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: database unavailable");
                ("unavailable", "unknown")
            }
            Err(_) => {
                tracing::warn!(
                    ?bound,
                    "readiness: no answer from the database within READY_TIMEOUT"
                );
                ("unavailable", "unknown")
            }
        };
    // Writes failing for want of storage (see `db::health`) take the instance out of
    // rotation until a write succeeds again. (On a read-only PostgreSQL the migrations check
    // fails as well: diesel's harness creates its table if missing.) Within what is left of
    // the bound: unless storage is marked failing this answers at once, without the database.
    let storage = match tokio::time::timeout_at(deadline, state.db.storage_writable()).await {
        Ok(true) => "ok",
        Ok(false) => "unavailable",
        Err(_) => "unknown",
    };
    let keys = if state.verifier.keys_loaded() {
        "ok"
    } else {
        "not_loaded"
    };
    // Whether this instance hears task events (`db::heartbeat`). Not a reason to leave
    // rotation: its API works, and its subscribers are told to resync (docs/NEON.md).
    let events = state.db.events_check();
    // A transaction pooler nobody declared (`db::pg::undeclared`): served safely since it
    // was found out, so not a reason to leave rotation either; named until it is declared.
    let pooler = state.db.pooler_check();
    let ready = database == "ok" && migrations == "ok" && storage == "ok" && keys == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": match (ready, events, pooler) {
            (false, _, _) => "unavailable",
            (true, "ok", "ok") => "ready",
            (true, _, _) => "degraded",
        },
        "checks": {
            "database": database,
            "migrations": migrations,
            "storage": storage,
            "jwks": keys,
            "events": events,
            "pooler": pooler,
        },
    });
    (status, Json(body)).into_response()
}
