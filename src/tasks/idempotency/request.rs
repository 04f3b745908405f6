//! Idempotency keys (the IETF `Idempotency-Key` draft), as both APIs see them: what a key may
//! look like ([`IdempotencyKey`]), what a keyed request is ([`KeyedRequest`]: its key and the
//! fingerprint a repeat must match), the outcome stored for a repeat ([`StoredOutcome`]) and
//! every way a keyed request is refused or replayed ([`IdempotencyError`]).
//!
//! Shared by `rest`, `graphql` and the rest of this folder (which checks and stores keys inside
//! the write's transaction); it depends on nothing else of the crate's, so the error type can
//! carry it.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The request header that carries a key.
pub const KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header that marks a replay: `Idempotent-Replayed: true`.
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A key of the right shape: 1 to 255 visible ASCII characters (`!` to `~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as sent; `Err` says what is wrong with it (a 400 / BAD_USER_INPUT).
    pub fn parse(raw: &[u8]) -> Result<Self, IdempotencyError> {
        let bad = |why: &'static str| Err(IdempotencyError::BadKey(why));
        if raw.is_empty() {
            return bad("it is empty");
        }
        if raw.len() > MAX_KEY_LEN {
            return bad("it is longer than 255 characters");
        }
        if !raw.iter().all(u8::is_ascii_graphic) {
            return bad("it may only hold visible ASCII characters (no spaces)");
        }
        // Visible ASCII is UTF-8.
        Ok(IdempotencyKey(String::from_utf8_lossy(raw).into_owned()))
    }

    /// The `Idempotency-Key` header, checked, when the request has one (sent twice: 400).
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, IdempotencyError> {
        let mut sent = headers.get_all(KEY_HEADER).iter();
        let Some(value) = sent.next() else {
            return Ok(None);
        };
        if sent.next().is_some() {
            return Err(IdempotencyError::BadKey(
                "the header is sent more than once",
            ));
        }
        IdempotencyKey::parse(value.as_bytes()).map(Some)
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A write sent with a key: the key and what a repeat must match, the request's method,
/// path and a hash of its body (for GraphQL: `GRAPHQL`, the mutation and its arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRequest {
    /// The key.
    pub key: IdempotencyKey,
    /// `POST`, `PUT`, `PATCH`, `DELETE` (or `GRAPHQL`).
    pub method: String,
    /// The path, without a trailing slash (or the mutation's name).
    pub path: String,
    /// SHA-256 of the body, in hex.
    pub body_hash: String,
}

impl KeyedRequest {
    /// The keyed request for this method, path and body.
    pub fn new(key: IdempotencyKey, method: &str, path: &str, body: &[u8]) -> Self {
        let digest = Sha256::digest(body);
        KeyedRequest {
            key,
            method: method.to_owned(),
            // `/tasks` and `/tasks/` are the same route.
            path: path.trim_end_matches('/').to_owned(),
            body_hash: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// A keyed request and how to render the outcome of its write for storing: what the task
/// service's write operations take (`None`: no key).
pub struct Keyed<'a, T> {
    /// The request.
    pub request: &'a KeyedRequest,
    /// The response of a successful write, as the adapter sends it.
    pub render: &'a (dyn Fn(&T) -> StoredOutcome + Sync),
}

/// `Some` [`Keyed`] when the request has a key.
pub fn keyed<'a, T>(
    request: Option<&'a KeyedRequest>,
    render: &'a (dyn Fn(&T) -> StoredOutcome + Sync),
) -> Option<Keyed<'a, T>> {
    request.map(|request| Keyed { request, render })
}

/// The response of a keyed write, stored with it and replayed to a repeat byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutcome {
    /// The HTTP status (200 for GraphQL).
    pub status: u16,
    /// The body (JSON, or empty for a 204).
    pub body: String,
}

impl StoredOutcome {
    /// A JSON body (or none) with its status.
    pub fn json(status: StatusCode, body: String) -> Self {
        StoredOutcome {
            status: status.as_u16(),
            body,
        }
    }

    /// The response: the first time, and (with [`REPLAYED_HEADER`]) for a replay.
    pub fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        if self.body.is_empty() {
            return status.into_response();
        }
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body.clone(),
        )
            .into_response()
    }

    /// The response to a repeat of the request that produced it.
    pub fn replay(&self) -> Response {
        let mut response = self.response();
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        response
    }
}

/// How a keyed request is refused, or answered from its first outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// 400: the key has the wrong shape.
    #[error("malformed Idempotency-Key: {0}")]
    BadKey(&'static str),
    /// 409: a request with this key is still running.
    #[error("a request with this Idempotency-Key is still running")]
    InUse,
    /// 422: the key was first used for another request (method, path or body).
    #[error("this Idempotency-Key was used for a different request")]
    Reused,
    /// 429: the user has as many stored outcomes as MAX_IDEMPOTENCY_KEYS_PER_USER.
    #[error("idempotency key limit reached ({0})")]
    Full(u64),
    /// Not a failure: the request was done before; this is its outcome, to send again.
    #[error("replay of a stored outcome")]
    Replay(StoredOutcome),
}

impl IdempotencyError {
    /// Seconds a client should wait before retrying a key still in use.
    pub const RETRY_AFTER_SECS: u64 = 1;

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            IdempotencyError::BadKey(_) => StatusCode::BAD_REQUEST,
            IdempotencyError::InUse => StatusCode::CONFLICT,
            IdempotencyError::Reused => StatusCode::UNPROCESSABLE_ENTITY,
            IdempotencyError::Full(_) => StatusCode::TOO_MANY_REQUESTS,
            IdempotencyError::Replay(stored) => {
                StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK)
            }
        }
    }

    /// The code REST bodies and GraphQL errors carry, for the refusals a client acts on.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            IdempotencyError::InUse => Some("IDEMPOTENCY_KEY_IN_USE"),
            IdempotencyError::Reused => Some("IDEMPOTENCY_KEY_REUSED"),
            _ => None,
        }
    }

    /// The client-facing message.
    pub fn message(&self) -> String {
        match self {
            IdempotencyError::BadKey(why) => format!(
                "Malformed Idempotency-Key: {why}; a key is 1 to {MAX_KEY_LEN} visible ASCII \
                 characters"
            ),
            IdempotencyError::InUse => "A request with this Idempotency-Key is still running; \
                                        retry shortly to get its outcome"
                .to_owned(),
            IdempotencyError::Reused => "This Idempotency-Key was already used for a different \
                                         request (method, path or body); use a new key"
                .to_owned(),
            IdempotencyError::Full(cap) => format!(
                "Idempotency key limit reached: at most {cap} stored outcomes per user until \
                 the oldest expire; retry later"
            ),
            IdempotencyError::Replay(_) => "Replayed".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shapes() {
        assert!(IdempotencyKey::parse(b"a").is_ok());
        assert!(IdempotencyKey::parse(&[b'~'; 255]).is_ok());
        assert!(IdempotencyKey::parse(b"").is_err());
        assert!(IdempotencyKey::parse(&[b'k'; 256]).is_err());
        assert!(IdempotencyKey::parse(b"a b").is_err());
        assert!(IdempotencyKey::parse("é".as_bytes()).is_err());
        assert!(IdempotencyKey::parse(b"a\tb").is_err());
    }

    #[test]
    fn fingerprint_ignores_a_trailing_slash_only() {
        let key = || IdempotencyKey::parse(b"k").unwrap();
        let a = KeyedRequest::new(key(), "POST", "/api/u/tasks/", b"{}");
        let b = KeyedRequest::new(key(), "POST", "/api/u/tasks", b"{}");
        let c = KeyedRequest::new(key(), "POST", "/api/u/tasks", b"{ }");
        assert_eq!(a, b);
        assert_ne!(b.body_hash, c.body_hash);
    }
}
