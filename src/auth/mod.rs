//! Authentication: who is calling. Owns bearer-token parsing, token verification and
//! [`AuthUser`], the verified user that every task operation takes.
//!
//! `AuthUser` has a private field and only [`Verifier`] makes one, so no code path can act
//! for a user that a valid token did not name.
//!
//! - `verifier`: the checks, in order; HS256 with the shared secret and Better Auth's
//!   asymmetric JWTs (EdDSA, ES256, RS256, PS256, …).
//! - `jwks`: Better Auth's public keys, cached, refreshed, refetched on an unknown `kid`.
//! - `sessions`: Better Auth's opaque session tokens (opt-in), read from its `session` table
//!   (through `db::sessions`, the only database access here) or from its `get-session`.
//! - `settings`: which Better Auth URLs are plain http on a network host (said at start); the
//!   settings themselves are declared in `config`.
//! - `secret_file`: the development secret's file (its default place, created safely).
//! - `fetch`: the HTTP client for calls to Better Auth (rustls, timeouts, size cap).
//! - `lifetime`: how long a verified token stays good on a WebSocket or SSE stream (its `exp`,
//!   and periodic re-verification), shared by both transports.

mod fetch;
mod jwks;
mod lifetime;
mod secret_file;
mod sessions;
mod settings;
mod verifier;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::{AppError, AuthFailure};

pub use jwks::JwksSettings;
pub use lifetime::{Credential, CredentialEnd};
pub use secret_file::{MIN_SECRET_BYTES, default_dev_secret_path, load_or_create_secret};
pub use sessions::{SessionSettings, SessionSource, sign_session_token};
pub use settings::{insecure_urls, is_loopback};
pub use verifier::{
    AuthSettings, MAX_TOKEN_TTL, SecretKey, Verifier, algorithm_named, check_token_ttl,
    check_user_id, mint_token, normalize_claim_value,
};

/// A user whose identity a verified token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    id: String,
}

impl AuthUser {
    /// The user id (the token's `sub`).
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The token in `Authorization: Bearer <token>`, or why there is none.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(AuthFailure::Missing)?;
    bearer_from_value(value.to_str().map_err(|_| AuthFailure::Missing)?)
}

/// Parses an `Authorization` value (also used for the GraphQL WebSocket `connection_init`).
pub fn bearer_from_value(value: &str) -> Result<&str, AuthFailure> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthFailure::Missing);
    }
    Ok(token)
}

/// REST extractor: a missing or bad token rejects the request with a 401 before the handler.
impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<Verifier>::from_ref(state);
        let token = bearer_token(&parts.headers).map_err(AppError::Unauthenticated)?;
        verifier
            .verify(token)
            .await
            .map_err(AppError::Unauthenticated)
    }
}
