//! The admission gate: the one place a request's (or a WebSocket's) credentials become a user,
//! where every rate limit is charged and every connection share held. REST handlers (through
//! the [`AuthUser`] extractor, which `Owner` builds on), GraphQL over HTTP (POST and GET),
//! GraphQL over WebSocket (at the upgrade and `connection_init`, then each operation) and SSE
//! all pass through [`Gate::admit`]; outside `auth` nothing else can make an `AuthUser` (the
//! verifier's `verify` is private to `auth`), so no handler can have a user that skipped the
//! limits.
//!
//! It owns bearer parsing (`Authorization` header or the `connection_init` payload), who the
//! client is (the peer, or X-Forwarded-For from TRUSTED_PROXIES), the per-user and the
//! anonymous per-address buckets, and the connection shares (`server::slots`): live connections
//! per user and in all, connections without a verified user per client address; and whose each
//! connection is (`server::connections`), within that user's (or, from accept until a token
//! verifies, that client address's) share of all connections. It does not
//! shape responses: refusals are [`AppError`]s, and each transport says them in its own way.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use tokio::sync::OwnedSemaphorePermit;

use super::lifetime::Credential;
use super::types::AuthUser;
use super::verifier::Verifier;
use crate::config::ConnectionShares;
use crate::error::{AppError, AuthFailure, ConnectionLimit};
use crate::server::connections::{Connection, Tenant, claim_current};
use crate::server::rate_limit::RateLimiter;
use crate::server::slots::{Hold, KeyedSlots, SharedSlots};

/// What a caller presents at the gate. Its `Debug` never prints a token.
#[derive(Clone)]
pub enum Credentials<'a> {
    /// A request without any `Authorization` header, presented at the door (`server::conn`)
    /// before its body is read: charged to its client address, if known. Only the door
    /// presents this, so each anonymous request is charged once.
    Anonymous {
        /// Who the client is ([`Gate::client`]).
        client: Option<IpAddr>,
    },
    /// A request's bearer token (or why it has none), presented where its handler needs the
    /// user: verified, then charged to that user. A token that fails verification is charged
    /// to its client's anonymous budget instead (so `Bearer junk` buys nothing). Without a
    /// bearer token this is `Err(Missing)`, already charged at the door, so not charged again.
    Request {
        /// The bearer token, or why there is none.
        token: Result<&'a str, AuthFailure>,
        /// Who the client is ([`Gate::client`]).
        client: Option<IpAddr>,
    },
    /// A WebSocket's `connection_init` token: verified, then charged to the user (opening a
    /// socket is a request); each operation on it is charged too, through [`Gate::charge`].
    /// A refused one is not charged: its upgrade was, and the socket closes.
    Connection(Result<&'a str, AuthFailure>),
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
            Credentials::Request { token: t, client } => f
                .debug_struct("Request")
                .field("token", &token(t))
                .field("client", client)
                .finish(),
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

/// A live connection's places (its user's and the server's), given back when dropped.
pub struct LiveHold {
    _user: Hold,
    _server: OwnedSemaphorePermit,
}

/// Verification, the rate limits and the connection shares, behind one gate: no user, token
/// or client address holds more than a bounded share of requests or connections.
pub struct Gate {
    verifier: Arc<Verifier>,
    per_user: RateLimiter,
    per_address: RateLimiter,
    trusted_proxies: Vec<IpAddr>,
    live_per_user: KeyedSlots,
    live_total: SharedSlots,
    unauthenticated: KeyedSlots,
}

impl Gate {
    /// A gate that verifies with `verifier`, charges verified users to `per_user` and
    /// requests without a token to `per_address`, trusting X-Forwarded-For only from
    /// `trusted_proxies`, holding connections to `shares`.
    pub fn new(
        verifier: Arc<Verifier>,
        per_user: RateLimiter,
        per_address: RateLimiter,
        trusted_proxies: Vec<IpAddr>,
        shares: &ConnectionShares,
    ) -> Self {
        Gate {
            verifier,
            per_user,
            per_address,
            trusted_proxies,
            live_per_user: KeyedSlots::new(shares.live_per_user),
            live_total: SharedSlots::new(shares.live_total),
            unauthenticated: KeyedSlots::new(shares.unauthenticated_per_address),
        }
    }

    /// Admits a caller, or says why not: `Unauthenticated` (a 401, or 503 when the keys
    /// cannot be fetched) or `RateLimited` (a 429 with its headers). A request whose token
    /// fails verification is charged to its client address, like one without a token.
    pub async fn admit(&self, credentials: Credentials<'_>) -> Result<Admitted, AppError> {
        let (token, client) = match credentials {
            Credentials::Anonymous { client } => {
                self.charge_address(client)?;
                self.claim_unverified(client)?;
                return Err(AppError::Unauthenticated(AuthFailure::Missing));
            }
            Credentials::Request { token, client } => (token, Some(client)),
            Credentials::Connection(token) => (token, None),
        };
        let token = token.map_err(AppError::Unauthenticated)?;
        let user = match self.verifier.verify(token).await {
            Ok(user) => user,
            Err(failure) => {
                // The key server being down is not the client's doing.
                if let (Some(client), false) =
                    (client, matches!(failure, AuthFailure::KeysUnavailable(_)))
                {
                    self.charge_address(client)?;
                }
                return Err(AppError::Unauthenticated(failure));
            }
        };
        let admitted = Admitted {
            user,
            token: token.to_owned(),
        };
        self.charge(&admitted)?;
        // The connection the request came on is the user's now, within their share.
        claim_current(Tenant::User(admitted.user.id().to_owned()))
            .map_err(AppError::TooManyConnections)?;
        Ok(admitted)
    }

    /// Whose a connection without a verified user is: its client address's (never a trusted
    /// proxy's own: it speaks for many).
    fn unverified_tenant(&self, client: Option<IpAddr>) -> Option<Tenant> {
        client
            .filter(|ip| !self.trusted_proxies.contains(ip))
            .map(Tenant::Address)
    }

    /// Makes the current request's connection its client address's until a token verifies
    /// ([`Gate::admit`] then moves it to the user): presented at the door for every request,
    /// with a token or without, so a request whose body is still on its way (or whose token
    /// will fail) counts within its address's share. Refused when that share is held by busy
    /// connections; the connection then closes after its answer.
    pub fn claim_unverified(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        match self.unverified_tenant(client) {
            Some(tenant) => claim_current(tenant).map_err(AppError::TooManyConnections),
            None => Ok(()),
        }
    }

    fn charge_address(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        match client {
            Some(client) => self.per_address.check_key(&client.to_string()),
            None => Ok(()),
        }
    }

    /// What a request presents: its bearer token and its client address.
    pub fn request_credentials<'a>(
        &self,
        headers: &'a HeaderMap,
        extensions: &Extensions,
    ) -> Credentials<'a> {
        Credentials::Request {
            token: bearer_token(headers),
            client: self.client(headers, extensions),
        }
    }

    /// A place for one live connection (a WebSocket, an SSE stream) of `user`, held until the
    /// returned value is dropped; refused over the user's share (429) or when every user's
    /// live connections together fill theirs (503), which leaves the rest of MAX_CONNECTIONS
    /// to ordinary requests.
    pub fn hold_live(&self, user: &AuthUser) -> Result<LiveHold, AppError> {
        let cap = self.live_per_user.cap();
        let user = self
            .live_per_user
            .try_hold(user.id())
            .ok_or(AppError::TooManyConnections(ConnectionLimit::PerUser(cap)))?;
        let server = self
            .live_total
            .try_hold()
            .ok_or(AppError::TooManyConnections(ConnectionLimit::Server(
                self.live_total.cap(),
            )))?;
        Ok(LiveHold {
            _user: user,
            _server: server,
        })
    }

    /// A place for one connection of `client` that has no verified user yet (a WebSocket
    /// before `connection_init`), held until dropped; refused (429) over the address's share.
    /// No address known: nothing to count.
    pub fn hold_unauthenticated(&self, client: Option<IpAddr>) -> Result<Option<Hold>, AppError> {
        let Some(client) = client else {
            return Ok(None);
        };
        self.unauthenticated
            .try_hold(&client.to_string())
            .map(Some)
            .ok_or(AppError::TooManyConnections(ConnectionLimit::PerAddress(
                self.unauthenticated.cap(),
            )))
    }

    /// A place for a fresh TCP connection from `peer` until it sends its first bytes, from
    /// the same per-address share; and the connection is `peer`'s from the start, within the
    /// address's share of all connections, until a request's token verifies: one still
    /// sending its first request's headers (never idle, so never reclaimed) counts there too.
    /// A trusted proxy's own address is never counted (it speaks for many clients, told apart
    /// by X-Forwarded-For only once a request arrives).
    pub fn hold_connection(
        &self,
        peer: IpAddr,
        connection: &Connection,
    ) -> Result<Option<Hold>, AppError> {
        let Some(tenant) = self.unverified_tenant(Some(peer)) else {
            return Ok(None);
        };
        let silent = self.hold_unauthenticated(Some(peer))?;
        connection
            .claim(tenant)
            .map_err(AppError::TooManyConnections)?;
        Ok(silent)
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

/// The client address of a request, as the gate sees it ([`Gate::client`]).
pub struct Client(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    Arc<Gate>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let gate = Arc::<Gate>::from_ref(state);
        Ok(Client(gate.client(&parts.headers, &parts.extensions)))
    }
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
/// rejected before the handler (401, 503, or 429; a failing token is charged to the client
/// address). Taking an `AuthUser` therefore always
/// means having passed the rate limit.
impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<Gate>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let gate = Arc::<Gate>::from_ref(state);
        let credentials = gate.request_credentials(&parts.headers, &parts.extensions);
        let admitted = gate.admit(credentials).await?;
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
            format!(
                "{:?}",
                Credentials::Request {
                    token: Ok(token),
                    client: None
                }
            ),
            format!("{:?}", Credentials::Connection(Ok(token))),
            format!("{admitted:?}"),
        ] {
            assert!(!printed.contains("secret-payload"), "{printed}");
            assert!(printed.contains("redacted"), "{printed}");
        }
        assert!(format!("{admitted:?}").contains("alice"));
    }
}
