//! Opaque Better Auth session tokens (its bearer() plugin's `<token>.<signature>`), accepted
//! only when `AUTH_SESSION_TOKENS=on`.
//!
//! The signature is Better Auth's HMAC-SHA256 of the token under `BETTER_AUTH_SECRET`; when we
//! have the secret it is checked here first, so a tampered token costs no lookup. A session is
//! then looked up either in Better Auth's `session` table (it shares our database; the query is
//! in `db::sessions`) or by asking Better Auth's `get-session`, whose answers are cached for a
//! short while. Expired, revoked (deleted), unknown and tampered sessions are all rejected.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::SecretKey;
use crate::db::Db;
use crate::error::AuthFailure;

/// Where sessions are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSource {
    /// Better Auth's `session` table in our own database.
    Database,
    /// Better Auth's `GET …/get-session`, at this URL.
    Http {
        /// `{BETTER_AUTH_URL}/api/auth/get-session`.
        get_session_url: String,
    },
}

/// How session tokens are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Where sessions are looked up.
    pub source: SessionSource,
    /// How long a `get-session` answer is reused (never past the session's expiry).
    pub cache_ttl: Duration,
}

/// Most cached `get-session` answers; past it the cache is emptied rather than grown, so a
/// flood of made-up tokens cannot fill memory.
const MAX_CACHED: usize = 10_000;

/// Longest token part accepted (Better Auth's are 32 characters).
const MAX_TOKEN_CHARS: usize = 128;

/// A session found: its user, and its expiry when known.
type Found = (String, Option<DateTime<Utc>>);

struct Cached {
    until: Instant,
    outcome: Result<Found, AuthFailure>,
}

enum Lookup {
    Database(Db),
    Http {
        client: reqwest::Client,
        url: String,
    },
}

/// Checks opaque session tokens.
pub(super) struct SessionVerifier {
    secret: Option<SecretKey>,
    lookup: Lookup,
    cache_ttl: Duration,
    /// Keyed by the SHA-256 of the token, so the tokens themselves are not kept.
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

impl SessionVerifier {
    pub(super) fn new(
        settings: &SessionSettings,
        secret: Option<SecretKey>,
        db: Db,
        http: reqwest::Client,
    ) -> Self {
        let lookup = match &settings.source {
            SessionSource::Database => Lookup::Database(db),
            SessionSource::Http { get_session_url } => Lookup::Http {
                client: http,
                url: get_session_url.clone(),
            },
        };
        SessionVerifier {
            secret,
            lookup,
            cache_ttl: settings.cache_ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// At start: says in the log whether sessions can be looked up, without failing start-up
    /// (Better Auth may create its table after we start).
    pub(super) async fn check(&self) {
        if let Lookup::Database(db) = &self.lookup {
            let readable = match db.conn().await {
                Ok(mut conn) => crate::db::sessions::session_table_readable(&mut conn)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match readable {
                Ok(()) => tracing::info!("session tokens: reading Better Auth's session table"),
                Err(why) => tracing::warn!(
                    error = %why,
                    "AUTH_SESSION_SOURCE=database, but Better Auth's `session` table cannot be \
                     read in this database; session tokens get 503 until it can. If Better Auth \
                     has its own database, set AUTH_SESSION_SOURCE=http."
                ),
            }
        }
    }

    /// The user id of the session `token` names.
    pub(super) async fn verify(&self, token: &str) -> Result<String, AuthFailure> {
        // The token is often copied from a cookie or the `set-auth-token` header, URL-encoded
        // (`%3D` for the signature's padding).
        let token = percent_encoding::percent_decode_str(token)
            .decode_utf8()
            .map_err(|_| AuthFailure::Invalid("malformed session token".into()))?;
        let (id, signature) = split_session_token(&token).ok_or_else(|| {
            AuthFailure::Invalid("malformed token: neither a JWT nor a session token".into())
        })?;
        if let Some(secret) = &self.secret
            && !signature_matches(secret, id, signature)
        {
            return Err(AuthFailure::Invalid("bad session token signature".into()));
        }
        let found = match &self.lookup {
            Lookup::Database(db) => from_database(db, id).await?,
            Lookup::Http { client, url } => self.ask_better_auth(client, url, &token).await?,
        };
        still_valid(found)
    }

    async fn ask_better_auth(
        &self,
        client: &reqwest::Client,
        url: &str,
        token: &str,
    ) -> Result<Found, AuthFailure> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.cached(&key) {
            return hit;
        }
        let outcome = match super::fetch::get_json(client, url, Some(token)).await {
            Ok((status, body)) if status.is_success() => session_from_answer(&body),
            Ok((status, _)) if status.as_u16() == 401 || status.as_u16() == 403 => Err(
                AuthFailure::Invalid("Better Auth rejected the session token".into()),
            ),
            // Better Auth is down or broken: the token may be fine, so this is a 503 and is
            // not cached.
            Ok((status, _)) => {
                return Err(AuthFailure::KeysUnavailable(format!(
                    "{url} answered {status}"
                )));
            }
            Err(why) => {
                return Err(AuthFailure::KeysUnavailable(format!(
                    "asking Better Auth for the session: {why}"
                )));
            }
        };
        self.remember(key, &outcome);
        outcome
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Result<Found, AuthFailure>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .get(key)
            .filter(|entry| entry.until > Instant::now())
            .map(|entry| entry.outcome.clone())
    }

    fn remember(&self, key: [u8; 32], outcome: &Result<Found, AuthFailure>) {
        let mut until = Instant::now() + self.cache_ttl;
        // A session is never reused from the cache past its own expiry.
        if let Ok((_, Some(expires))) = outcome {
            let left = (*expires - Utc::now()).to_std().unwrap_or_default();
            until = until.min(Instant::now() + left);
        }
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, entry| entry.until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                until,
                outcome: outcome.clone(),
            },
        );
    }
}

async fn from_database(db: &Db, id: &str) -> Result<Found, AuthFailure> {
    let unavailable = |why: String| {
        tracing::warn!(error = %why, "looking up a Better Auth session failed");
        AuthFailure::KeysUnavailable(format!("session lookup failed: {why}"))
    };
    let mut conn = db.conn().await.map_err(|e| unavailable(e.to_string()))?;
    let row = crate::db::sessions::find_session(&mut conn, id)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    row.map(|row| (row.user_id, Some(row.expires_at.0)))
        .ok_or_else(|| AuthFailure::Invalid("unknown or revoked session".into()))
}

/// Reads `get-session`'s answer: `null` when there is no valid session, else
/// `{"session": {"userId", "expiresAt", …}, "user": {"id", …}}`.
fn session_from_answer(body: &Value) -> Result<Found, AuthFailure> {
    if body.is_null() {
        return Err(AuthFailure::Invalid(
            "unknown, expired or revoked session".into(),
        ));
    }
    let user = body
        .pointer("/user/id")
        .or_else(|| body.pointer("/session/userId"))
        .and_then(Value::as_str)
        .ok_or_else(|| AuthFailure::Invalid("Better Auth's session names no user".into()))?;
    let expires = body
        .pointer("/session/expiresAt")
        .and_then(Value::as_str)
        .and_then(crate::db::sessions::parse_stored_time);
    Ok((user.to_owned(), expires))
}

fn still_valid((user, expires): Found) -> Result<String, AuthFailure> {
    match expires {
        Some(at) if at <= Utc::now() => Err(AuthFailure::Expired),
        _ => Ok(user),
    }
}

/// `<token>.<signature>` with a plausible token part; `None` for anything else.
fn split_session_token(token: &str) -> Option<(&str, &str)> {
    let (id, signature) = token.split_once('.')?;
    let plausible = !id.is_empty()
        && id.len() <= MAX_TOKEN_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !signature.is_empty()
        && !signature.contains('.');
    plausible.then_some((id, signature))
}

/// Better Auth signs the token with HMAC-SHA256 and writes the MAC in standard base64 with
/// padding; the padding is sometimes lost and the URL-safe alphabet sometimes used, so both are
/// read. The comparison is constant-time (`verify_slice`).
fn signature_matches(secret: &SecretKey, id: &str, signature: &str) -> bool {
    let normalized: String = signature
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let Ok(given) = STANDARD_NO_PAD.decode(normalized) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.bytes()) else {
        return false;
    };
    mac.update(id.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Signs a session token as Better Auth does (`<token>.<base64 HMAC>`): for tests.
pub fn sign_session_token(secret: &SecretKey, token: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => return token.to_owned(),
    };
    mac.update(token.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("{token}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_in_every_spelling() {
        let secret = SecretKey::new(b"a-secret-of-at-least-thirty-two-bytes!!".to_vec());
        let signed = sign_session_token(&secret, "AbCdEfGhIjKlMnOpQrStUvWxYz012345");
        let (id, signature) = split_session_token(&signed).unwrap();
        assert!(signature_matches(&secret, id, signature));
        assert!(signature_matches(
            &secret,
            id,
            signature.trim_end_matches('=')
        ));
        let url_safe = signature.replace('+', "-").replace('/', "_");
        assert!(signature_matches(&secret, id, &url_safe));
        assert!(!signature_matches(
            &secret,
            "AbCdEfGhIjKlMnOpQrStUvWxYz012346",
            signature
        ));
        let other = SecretKey::new(b"another-secret-of-at-least-32-bytes!!!".to_vec());
        assert!(!signature_matches(&other, id, signature));
        assert!(!signature_matches(&secret, id, "%%%"));
    }

    #[test]
    fn only_token_dot_signature_is_a_session_token() {
        assert!(split_session_token("abc.def").is_some());
        for junk in ["abc", ".def", "abc.", "a.b.c", "a b.c", "../etc.passwd"] {
            assert!(split_session_token(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn get_session_answers() {
        assert!(session_from_answer(&Value::Null).is_err());
        let found = session_from_answer(&serde_json::json!({
            "session": {"userId": "u1", "expiresAt": "2099-01-01T00:00:00.000Z"},
            "user": {"id": "u1"}
        }))
        .unwrap();
        assert_eq!(found.0, "u1");
        assert!(still_valid(found).is_ok());
        let old = session_from_answer(&serde_json::json!({
            "session": {"userId": "u1", "expiresAt": "2001-01-01T00:00:00.000Z"}
        }))
        .unwrap();
        assert_eq!(still_valid(old), Err(AuthFailure::Expired));
    }
}
