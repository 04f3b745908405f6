//! Opening a GraphQL WebSocket at the admission gate, before the upgrade is accepted: the
//! upgrade is charged as a request (to the user of an `Authorization` header that verifies,
//! else, at the door or here, to the client address); a socket whose user is known holds one
//! of that user's live-connection places and one of the server's; one without holds one of
//! its address's places for connections without a user until `connection_init`. Refusals are
//! answered before upgrading, with the refusal's status, in GraphQL's error shape; later ones
//! (at `connection_init`) become close codes ([`refusal_close`]). The socket itself is `ws`'s.

use std::net::IpAddr;

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::json;

use crate::auth::{Admitted, Credentials, Gate, LiveHold, bearer_token};
use crate::error::{AppError, ConnectionLimit};
use crate::graphql::schema::error::to_graphql_error;
use crate::server::slots::Hold;

/// What the upgrade brought: the header's token, the user it was admitted as (already
/// charged, holding a live place), or else a place of the client address's share.
pub(super) struct Opening {
    /// The token of the upgrade's `Authorization` header, if any.
    pub header_token: Option<String>,
    /// The header token's user, charged and placed at the upgrade.
    pub admitted: Option<(Admitted, LiveHold)>,
    /// The address's place, held until `connection_init` admits a user.
    pub pending: Option<Hold>,
}

/// A refused upgrade, in GraphQL's error shape with the refusal's status (and `Retry-After`).
fn refuse(error: AppError) -> axum::response::Response {
    let status = error.status();
    let mut headers = match &error {
        AppError::RateLimited(limited) => limited.headers(),
        _ => HeaderMap::new(),
    };
    if let AppError::TooManyConnections(ConnectionLimit::Server(_)) = &error {
        headers.insert(
            axum::http::header::RETRY_AFTER,
            ConnectionLimit::RETRY_AFTER_SECS.into(),
        );
    }
    let error = to_graphql_error(error).into_server_error(async_graphql::Pos::default());
    (status, headers, axum::Json(json!({ "errors": [error] }))).into_response()
}

impl Opening {
    /// Passes an upgrade request through the gate, or answers it with the refusal.
    pub(super) async fn admit(
        gate: &Gate,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Opening, axum::response::Response> {
        let header_token = bearer_token(headers).ok();
        let admitted = match header_token {
            // Without a token the door has charged the address.
            None => None,
            Some(token) => {
                let credentials = Credentials::Request {
                    token: Ok(token),
                    client,
                };
                match gate.admit(credentials).await {
                    Ok(admitted) => match gate.hold_live(admitted.user()) {
                        Ok(live) => Some((admitted, live)),
                        Err(refused) => return Err(refuse(refused)),
                    },
                    // Charged to the address; it may still authenticate in `connection_init`.
                    Err(AppError::Unauthenticated(_)) => None,
                    Err(refused) => return Err(refuse(refused)),
                }
            }
        };
        let pending = match admitted {
            Some(_) => None,
            None => gate.hold_unauthenticated(client).map_err(refuse)?,
        };
        Ok(Opening {
            header_token: header_token.map(str::to_owned),
            admitted,
            pending,
        })
    }
}

/// The close code and reason for a socket refused a live place, or a rate-limited init.
pub(super) fn refusal_close(error: &AppError) -> (u16, String) {
    match error {
        AppError::TooManyConnections(limit @ ConnectionLimit::Server(_)) => (4503, limit.message()),
        AppError::TooManyConnections(limit) => (4430, limit.message()),
        AppError::RateLimited(limited) => (
            4403,
            format!(
                "Forbidden: too many requests; retry in {}s",
                limited.retry_after_secs()
            ),
        ),
        other => (4403, format!("Forbidden: {}", other.public_message())),
    }
}
