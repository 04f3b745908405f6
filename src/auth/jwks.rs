//! Better Auth's public keys (its JWKS): fetched at start, cached, refreshed in the background,
//! refetched when a token names a key we do not have (at most once per cooldown, so a flood of
//! made-up `kid`s cannot hammer the auth server), and kept when a fetch fails or lists no
//! usable key.
//!
//! Only public signing keys are taken: OKP (Ed25519), EC (P-256, P-384) and RSA (2048 bits or
//! more). A symmetric (`oct`) key in a JWKS is ignored, so a published "secret" can never sign
//! tokens. This module never decides whether a token is valid, only which key may check it.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::fetch::FetchError;
use super::jwk::{PublicKey, parse_key};
use super::types::JwksSettings;
use crate::error::AuthFailure;

/// Shortest pause between background retries while the JWKS cannot be fetched.
const MIN_RETRY: Duration = Duration::from_millis(250);

#[derive(Default)]
struct KeyState {
    keys: Arc<Vec<PublicKey>>,
    /// True once a fetch has succeeded: from then on there is always a last good set.
    loaded: bool,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

/// The cached key set and the means to fetch it.
pub(super) struct JwksClient {
    settings: JwksSettings,
    http: reqwest::Client,
    state: RwLock<KeyState>,
    /// Held while fetching, so concurrent misses cause one fetch, not one each.
    fetching: tokio::sync::Mutex<()>,
}

impl JwksClient {
    pub(super) fn new(settings: JwksSettings, http: reqwest::Client) -> Self {
        JwksClient {
            settings,
            http,
            state: RwLock::new(KeyState::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    // A panic while holding the lock cannot leave the state half-written (every write is a
    // plain field assignment), so a poisoned lock is still safe to use.
    fn read(&self) -> RwLockReadGuard<'_, KeyState> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, KeyState> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True once a key set has been fetched (for readiness).
    pub(super) fn loaded(&self) -> bool {
        self.read().loaded
    }

    /// The key that may check a token signed with `alg` under `kid`. An unknown key causes one
    /// refetch if the cooldown allows it; while no key set was ever fetched the answer is
    /// `KeysUnavailable` (a 503), since the token may well be good.
    pub(super) async fn key_for(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<DecodingKey, AuthFailure> {
        if let Some(key) = self.find(alg, kid)? {
            return Ok(key);
        }
        self.refetch_unless_cooling_down().await;
        if let Some(key) = self.find(alg, kid)? {
            return Ok(key);
        }
        let state = self.read();
        if !state.loaded {
            return Err(AuthFailure::KeysUnavailable(format!(
                "the signing keys could not be fetched from {}: {}",
                self.settings.url,
                state.last_error.as_deref().unwrap_or("not fetched yet")
            )));
        }
        Err(AuthFailure::Invalid(match kid {
            Some(_) => format!("unknown signing key: no {alg:?} key with this kid in the JWKS"),
            None => format!("unknown signing key: no {alg:?} key in the JWKS"),
        }))
    }

    fn find(&self, alg: Algorithm, kid: Option<&str>) -> Result<Option<DecodingKey>, AuthFailure> {
        let keys = self.read().keys.clone();
        let mut fitting = keys.iter().filter(|key| key.fits(alg, kid));
        match (fitting.next(), fitting.next()) {
            (None, _) => Ok(None),
            (Some(key), None) => Ok(Some(key.decoding.clone())),
            // Two keys under one kid (a sloppy JWKS): the first one listed, as jose does.
            (Some(key), Some(_)) if kid.is_some() => Ok(Some(key.decoding.clone())),
            (Some(_), Some(_)) => Err(AuthFailure::Invalid(
                "the token has no kid and several keys in the JWKS could have signed it".into(),
            )),
        }
    }

    async fn refetch_unless_cooling_down(&self) {
        let _fetching = self.fetching.lock().await;
        let due = self
            .read()
            .last_attempt
            .is_none_or(|at| at.elapsed() >= self.settings.refetch_cooldown);
        if due {
            self.fetch().await;
        }
    }

    /// Fetches the key set now (the cooldown does not apply); true when it worked.
    pub(super) async fn refresh(&self) -> bool {
        let _fetching = self.fetching.lock().await;
        self.fetch().await
    }

    async fn fetch(&self) -> bool {
        self.write().last_attempt = Some(Instant::now());
        let outcome = self.download().await;
        let ok = outcome.is_ok();
        metrics::counter!("jwks_refreshes_total", "outcome" => if ok { "ok" } else { "error" })
            .increment(1);
        let mut state = self.write();
        match outcome {
            Ok(keys) => {
                let kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
                if !state.loaded || state.keys.len() != keys.len() {
                    tracing::info!(url = %self.settings.url, keys = keys.len(), ?kids, "JWKS loaded");
                } else {
                    tracing::debug!(url = %self.settings.url, keys = keys.len(), ?kids, "JWKS refreshed");
                }
                state.keys = Arc::new(keys);
                state.loaded = true;
                state.last_error = None;
            }
            Err(why) => {
                // While Better Auth stays down the same error repeats on every retry: said once
                // as a warning, then at debug level until it changes.
                let repeated = state.last_error.as_deref() == Some(why.as_str());
                let consequence = if state.loaded {
                    "keeping the last good keys"
                } else {
                    "no keys yet: tokens that need one get 503 until a fetch works"
                };
                if repeated {
                    tracing::debug!(url = %self.settings.url, error = %why, "JWKS fetch failed again; {consequence}");
                } else {
                    tracing::warn!(url = %self.settings.url, error = %why, "JWKS fetch failed; {consequence}");
                }
                state.last_error = Some(why);
            }
        }
        ok
    }

    async fn download(&self) -> Result<Vec<PublicKey>, String> {
        let (status, body) = super::fetch::get_json(&self.http, &self.settings.url, None)
            .await
            .map_err(|e| match e {
                FetchError::Request(why) | FetchError::Answer(why) => why,
            })?;
        if !status.is_success() {
            return Err(format!("{} answered {status}", self.settings.url));
        }
        let Some(listed) = body.get("keys").and_then(Value::as_array) else {
            return Err(format!(
                "{} did not answer a JWKS ({{\"keys\": [...]}})",
                self.settings.url
            ));
        };
        let mut keys = Vec::with_capacity(listed.len());
        for (index, jwk) in listed.iter().enumerate() {
            match parse_key(jwk) {
                Ok(key) => keys.push(key),
                Err(why) => {
                    tracing::warn!(index, kid = ?jwk.get("kid"), reason = %why, "JWKS key skipped")
                }
            }
        }
        // An empty answer (a misconfigured or half-started Better Auth, or a JWKS of keys we
        // cannot use) must not wipe the keys that verify today's tokens: it counts as a failed
        // fetch, so the last good keys stay.
        if keys.is_empty() {
            return Err(format!(
                "{} lists no usable signing key ({} listed); Better Auth creates its first key \
                 when it first issues a token",
                self.settings.url,
                listed.len()
            ));
        }
        Ok(keys)
    }

    /// Refreshes in the background until the client is dropped: every `refresh_interval`, or
    /// sooner (every cooldown) while fetches fail. The task holds only a weak reference, so it
    /// ends by itself when the server (and its verifier) goes away.
    pub(super) fn spawn_refresh(client: &Arc<JwksClient>) {
        let weak = Arc::downgrade(client);
        let interval = client.settings.refresh_interval;
        let retry = client
            .settings
            .refetch_cooldown
            .max(MIN_RETRY)
            .min(interval);
        let mut delay = if client.loaded() { interval } else { retry };
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(delay).await;
                let Some(client) = weak.upgrade() else { break };
                delay = if client.refresh().await {
                    interval
                } else {
                    retry
                };
            }
        });
    }
}
