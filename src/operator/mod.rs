//! What the service shows those who run it: the front door (`/`, links to everything),
//! liveness and readiness (`/healthz`, `/readyz`), Prometheus metrics (`/metrics`, and the
//! recorder every module counts into) and, in development mode only, the development sign-in
//! (`/dev/token`). The HTTP server these are served through is `server`'s.

pub mod dev_token;
pub mod front;
pub mod health;
pub mod metrics;

use axum::Router;
use axum::routing::get;

use crate::AppState;
use crate::config::Config;

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
