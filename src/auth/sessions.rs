//! Opaque Better Auth session tokens (its bearer() plugin's `<token>.<signature>`), accepted
//! only when `AUTH_SESSION_TOKENS=on`.
//!
//! The signature is Better Auth's HMAC-SHA256 of the token under `BETTER_AUTH_SECRET`, which
//! is required whenever session tokens are on: it is checked here first, so a tampered or
//! made-up token costs no lookup and never reaches Better Auth. A session is
//! then looked up either in Better Auth's `session` table (it shares our database; the query is
//! in `auth::session_table`) or by asking Better Auth's `get-session`, whose answers are cached for a
//! short while. Expired, revoked (deleted), unknown and tampered sessions are all rejected.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fetch::FetchError;
use super::session_token::{signature_matches, split_session_token};
use super::types::{SecretKey, SessionSettings, SessionSource};
use crate::db::Db;
use crate::error::AuthFailure;

/// Most cached `get-session` answers; past it the oldest are dropped rather than the cache
/// grown, so memory stays bounded while the sessions in use stay cached.
const MAX_CACHED: usize = 10_000;

/// A session found: its user, and its expiry when known.
type Found = (String, Option<DateTime<Utc>>);

struct Cached {
    until: Instant,
    /// When it was stored, as a position in [`SessionCache::order`].
    stored: u64,
    outcome: Result<Found, AuthFailure>,
}

/// The cache of `get-session` answers, bounded: when full, the expired answers and then the
/// oldest ones make room, never the whole cache at once.
struct SessionCache {
    capacity: usize,
    /// Keyed by the SHA-256 of the token, so the tokens themselves are not kept.
    entries: HashMap<[u8; 32], Cached>,
    /// The keys by the order they were stored in, oldest first.
    order: BTreeMap<u64, [u8; 32]>,
    next: u64,
}

impl SessionCache {
    fn new(capacity: usize) -> Self {
        SessionCache {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
        }
    }

    fn get(&self, key: &[u8; 32], now: Instant) -> Option<Result<Found, AuthFailure>> {
        self.entries
            .get(key)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.outcome.clone())
    }

    fn insert(&mut self, key: [u8; 32], until: Instant, outcome: Result<Found, AuthFailure>) {
        let now = Instant::now();
        if let Some(old) = self.entries.remove(&key) {
            self.order.remove(&old.stored);
        }
        if self.entries.len() >= self.capacity {
            // Expired answers go first (one pass, and only when full); then the oldest.
            self.entries.retain(|_, entry| entry.until > now);
            let entries = &self.entries;
            self.order.retain(|_, key| entries.contains_key(key));
            while self.entries.len() >= self.capacity {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.entries.remove(&oldest);
            }
        }
        let stored = self.next;
        self.next += 1;
        self.order.insert(stored, key);
        self.entries.insert(
            key,
            Cached {
                until,
                stored,
                outcome,
            },
        );
    }
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
    secret: SecretKey,
    lookup: Lookup,
    cache_ttl: Duration,
    cache: Mutex<SessionCache>,
}

impl SessionVerifier {
    pub(super) fn new(
        settings: &SessionSettings,
        secret: SecretKey,
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
            cache: Mutex::new(SessionCache::new(MAX_CACHED)),
        }
    }

    /// At start: says in the log whether sessions can be looked up, without failing start-up
    /// (Better Auth may create its table after we start).
    pub(super) async fn check(&self) {
        if let Lookup::Database(db) = &self.lookup {
            let readable = db
                .server_read(async |conn| super::session_table::session_table_readable(conn).await)
                .await
                .map_err(|e| e.to_string());
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
        if !signature_matches(&self.secret, id, signature) {
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
        let outcome = ask_get_session(client, url, token).await?;
        self.remember(key, &outcome);
        outcome
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Result<Found, AuthFailure>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key, Instant::now())
    }

    fn remember(&self, key: [u8; 32], outcome: &Result<Found, AuthFailure>) {
        let mut until = Instant::now() + self.cache_ttl;
        // A session is never reused from the cache past its own expiry.
        if let Ok((_, Some(expires))) = outcome {
            let left = (*expires - Utc::now()).to_std().unwrap_or_default();
            until = until.min(Instant::now() + left);
        }
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, until, outcome.clone());
    }
}

/// Asks `get-session` about `token`. The outer `Err` is an answer not to cache: Better Auth is
/// down or broken (503, the token may be fine). A request that cannot even be built is the
/// token's fault (a 401), never a 503.
async fn ask_get_session(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<Result<Found, AuthFailure>, AuthFailure> {
    match super::fetch::get_json(client, url, Some(token)).await {
        Ok((status, body)) if status.is_success() => Ok(session_from_answer(&body)),
        Ok((status, _)) if status.as_u16() == 401 || status.as_u16() == 403 => Ok(Err(
            AuthFailure::Invalid("Better Auth rejected the session token".into()),
        )),
        Ok((status, _)) => Err(AuthFailure::KeysUnavailable(format!(
            "{url} answered {status}"
        ))),
        Err(FetchError::Request(_)) => Err(AuthFailure::Invalid(
            "malformed session token: it cannot be sent to Better Auth".into(),
        )),
        Err(FetchError::Answer(why)) => Err(AuthFailure::KeysUnavailable(format!(
            "asking Better Auth for the session: {why}"
        ))),
    }
}

async fn from_database(db: &Db, id: &str) -> Result<Found, AuthFailure> {
    let unavailable = |why: String| {
        tracing::warn!(error = %why, "looking up a Better Auth session failed");
        AuthFailure::KeysUnavailable(format!("session lookup failed: {why}"))
    };
    let row = db
        .server_read(async |conn| super::session_table::find_session(conn, id).await)
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
        .and_then(super::session_table::parse_stored_time);
    Ok((user.to_owned(), expires))
}

fn still_valid((user, expires): Found) -> Result<String, AuthFailure> {
    match expires {
        Some(at) if at <= Utc::now() => Err(AuthFailure::Expired),
        _ => Ok(user),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_cannot_be_built_is_the_tokens_fault() {
        let client = super::super::fetch::client(Duration::from_secs(1), &[]).unwrap();
        // Port 9 (discard): nothing is sent anyway, the header is refused first.
        let url = "http://127.0.0.1:9/api/auth/get-session";
        for token in ["abcdef.\n", "abcdef.\0x", "abc\r\ndef.x"] {
            let outcome = ask_get_session(&client, url, token).await;
            assert!(
                matches!(outcome, Err(AuthFailure::Invalid(_))),
                "{token:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_full_cache_drops_the_oldest_not_everything() {
        let mut cache = SessionCache::new(3);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let found = |user: &str| Ok((user.to_owned(), None));
        cache.insert([1; 32], later, found("a"));
        cache.insert([2; 32], later, found("b"));
        cache.insert([3; 32], later, found("c"));
        cache.insert([4; 32], later, found("d"));
        assert!(cache.get(&[1; 32], now).is_none(), "the oldest made room");
        for key in [[2; 32], [3; 32], [4; 32]] {
            assert!(cache.get(&key, now).is_some(), "{key:?} was dropped too");
        }
        // Stored again, an entry is young again; an expired one goes before any live one.
        cache.insert([2; 32], later, found("b"));
        cache.insert([5; 32], now, found("e"));
        assert!(cache.get(&[3; 32], now).is_none());
        cache.insert([6; 32], later, found("f"));
        assert!(!cache.entries.contains_key(&[5; 32]));
        for key in [[2; 32], [4; 32], [6; 32]] {
            assert!(cache.get(&key, now).is_some(), "{key:?} was dropped");
        }
        assert_eq!(cache.entries.len(), 3);
        assert_eq!(cache.order.len(), 3);
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
