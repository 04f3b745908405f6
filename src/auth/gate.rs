//! The admission gate: the one place a request's (or a WebSocket's) credentials become a user,
//! and where every rate limit is charged. REST handlers (through the [`AuthUser`] extractor,
//! which `Owner` builds on), GraphQL over HTTP (POST and GET), GraphQL over WebSocket (at
//! `connection_init`, then each operation) and SSE all pass through [`Gate::admit`]; outside
//! `auth` nothing else can make an `AuthUser` (the verifier's `verify` is private to `auth`),
//! so no handler can have a user that skipped the limits.
//!
//! It owns bearer parsing (`Authorization` header or the `connection_init` payload), who the
//! client is (the peer, or X-Forwarded-For from TRUSTED_PROXIES), the per-user and the
//! anonymous per-address buckets. It does not shape responses: refusals are [`AppError`]s, and
//! each transport says them in its own way.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};

use super::lifetime::Credential;
use super::types::AuthUser;
use super::verifier::Verifier;
use crate::error::{AppError, AuthFailure};
use crate::ops::rate_limit::RateLimiter;

/// What a caller presents at the gate. Its `Debug` never prints a token.
#[derive(Clone)]
pub enum Credentials<'a> {
    /// A request without any `Authorization` header, presented at the door (`ops::conn`)
    /// before its body is read: charged to its client address, if known. Only the door
    /// presents this, so each anonymous request is charged once.
    Anonymous {
        /// Who the client is ([`Gate::client`]).
        client: Option<IpAddr>,
    },
    /// A request's bearer token (or why it has none), presented where its handler needs the
    /// user: verified, then charged to that user. Without a header at all this is
    /// `Err(Missing)`, already charged at the door, so not charged again.
    Request(Result<&'a str, AuthFailure>),
    /// A WebSocket's `connection_init` token: verified only. The connection is not charged;
    /// each operation on it is, through [`Gate::charge`].
    Connection(Result<&'a str, AuthFailure>),
}

impl<'a> Credentials<'a> {
    /// What a request's `Authorization` header presents, for a handler.
    pub fn of_request(headers: &'a HeaderMap) -> Self {
        Credentials::Request(bearer_token(headers))
    }
}

/// A caller the gate let in: a verified user, already charged (or, for a connection, to be
/// charged per operation), with the token that vouched for them (never printed by `Debug`).
#[derive(Clone)]
pub struct Admitted {
    user: AuthUser,
    token: String,
}

impl Admitted {
    /// The verified user.
    pub fn user(&self) -> &AuthUser {
        &self.user
    }

    /// The verified user, taken out.
    pub fn into_user(self) -> AuthUser {
        self.user
    }
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A bearer token is a password for as long as it lives: never in a log line.
        let token = |t: &Result<&str, AuthFailure>| match t {
            Ok(_) => "<redacted>".to_owned(),
            Err(failure) => format!("{failure:?}"),
        };
        match self {
            Credentials::Anonymous { client } => {
                f.debug_struct("Anonymous").field("client", client).finish()
            }
            Credentials::Request(t) => f.debug_tuple("Request").field(&token(t)).finish(),
            Credentials::Connection(t) => f.debug_tuple("Connection").field(&token(t)).finish(),
        }
    }
}

impl std::fmt::Debug for Admitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admitted")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Verification and the rate limits, behind one function ([`Gate::admit`]).
///
/// This is where fair-share limits (issue 18: e.g. counting refused tokens against the
/// anonymous budget, or weighing a user's share of the instance) plug in: every transport
/// already passes here, so a new limit changes this file only.
pub struct Gate {
    verifier: Arc<Verifier>,
    per_user: RateLimiter,
    per_address: RateLimiter,
    trusted_proxies: Vec<IpAddr>,
}

impl Gate {
    /// A gate that verifies with `verifier`, charges verified users to `per_user` and
    /// requests without a token to `per_address`, trusting X-Forwarded-For only from
    /// `trusted_proxies`.
    pub fn new(
        verifier: Arc<Verifier>,
        per_user: RateLimiter,
        per_address: RateLimiter,
        trusted_proxies: Vec<IpAddr>,
    ) -> Self {
        Gate {
            verifier,
            per_user,
            per_address,
            trusted_proxies,
        }
    }

    /// Admits a caller, or says why not: `Unauthenticated` (a 401, or 503 when the keys
    /// cannot be fetched) or `RateLimited` (a 429 with its headers). A refused or missing
    /// token is not charged to anyone (yet: see the type's doc).
    pub async fn admit(&self, credentials: Credentials<'_>) -> Result<Admitted, AppError> {
        let (token, charge) = match credentials {
            Credentials::Anonymous { client } => {
                if let Some(client) = client {
                    self.per_address.check_key(&client.to_string())?;
                }
                return Err(AppError::Unauthenticated(AuthFailure::Missing));
            }
            Credentials::Request(token) => (token, true),
            Credentials::Connection(token) => (token, false),
        };
        let token = token.map_err(AppError::Unauthenticated)?;
        let user = self
            .verifier
            .verify(token)
            .await
            .map_err(AppError::Unauthenticated)?;
        let admitted = Admitted {
            user,
            token: token.to_owned(),
        };
        if charge {
            self.charge(&admitted)?;
        }
        Ok(admitted)
    }

    /// Charges one request to an admitted user: each operation on a WebSocket, from the
    /// same bucket as their HTTP requests.
    pub fn charge(&self, admitted: &Admitted) -> Result<(), AppError> {
        self.per_user.check_key(admitted.user.id())
    }

    /// How long the admitted caller's credential stays good on a long-lived connection
    /// (WebSocket, SSE).
    pub fn credential(&self, admitted: Admitted) -> Credential {
        Credential::new(self.verifier.clone(), admitted.token, admitted.user)
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    /// X-Forwarded-For entry that is not one (entries further left are the client's say-so).
    pub fn client(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
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

/// The token in `Authorization: Bearer <token>`, or why there is none.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    let value = headers
        .get(header::AUTHORIZATION)
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

/// REST extractor: the request passes the gate (verified, then charged to the user), or is
/// rejected before the handler (401, 503, or 429). Taking an `AuthUser` therefore always
/// means having passed the rate limit.
impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<Gate>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let gate = Arc::<Gate>::from_ref(state);
        let admitted = gate.admit(Credentials::of_request(&parts.headers)).await?;
        Ok(admitted.into_user())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values() {
        assert_eq!(bearer_from_value("Bearer abc"), Ok("abc"));
        assert_eq!(bearer_from_value("  bearer   abc  "), Ok("abc"));
        for missing in ["", "Bearer", "Bearer   ", "Basic abc", "abc"] {
            assert_eq!(
                bearer_from_value(missing),
                Err(AuthFailure::Missing),
                "{missing:?}"
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new()), Err(AuthFailure::Missing));
    }

    #[test]
    fn debug_never_prints_a_token() {
        let token = "eyJhbGciOiJIUzI1NiJ9.secret-payload.signature";
        let admitted = Admitted {
            user: AuthUser::verified("alice".to_owned()),
            token: token.to_owned(),
        };
        for printed in [
            format!("{:?}", Credentials::Request(Ok(token))),
            format!("{:?}", Credentials::Connection(Ok(token))),
            format!("{admitted:?}"),
        ] {
            assert!(!printed.contains("secret-payload"), "{printed}");
            assert!(printed.contains("redacted"), "{printed}");
        }
        assert!(format!("{admitted:?}").contains("alice"));
    }
}
