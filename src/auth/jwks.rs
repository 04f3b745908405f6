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

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::fetch::FetchError;
use crate::error::AuthFailure;

/// Where the keys are and how often to look again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSettings {
    /// The JWKS URL (`{BETTER_AUTH_URL}/api/auth/jwks` by default).
    pub url: String,
    /// How often the key set is fetched again in the background.
    pub refresh_interval: Duration,
    /// Shortest time between two fetches caused by tokens naming unknown keys.
    pub refetch_cooldown: Duration,
    /// Longest a fetch may take.
    pub fetch_timeout: Duration,
}

/// Shortest pause between background retries while the JWKS cannot be fetched.
const MIN_RETRY: Duration = Duration::from_millis(250);

/// The curve or key type of a public key; it decides which algorithms the key can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Ed25519,
    P256,
    P384,
    Rsa,
}

impl KeyType {
    fn can_check(self, alg: Algorithm) -> bool {
        match self {
            KeyType::Ed25519 => alg == Algorithm::EdDSA,
            KeyType::P256 => alg == Algorithm::ES256,
            KeyType::P384 => alg == Algorithm::ES384,
            KeyType::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
        }
    }
}

/// One usable key of the set.
#[derive(Clone)]
struct PublicKey {
    kid: Option<String>,
    key_type: KeyType,
    /// The `alg` the key is published for; `None` when the JWKS leaves it out (then the key
    /// type decides).
    alg: Option<Algorithm>,
    decoding: DecodingKey,
}

impl PublicKey {
    fn fits(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.key_type.can_check(alg)
            && self.alg.is_none_or(|own| own == alg)
            && kid.is_none_or(|kid| self.kid.as_deref() == Some(kid))
    }
}

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

/// Reads one JWK, or says why it cannot be used.
fn parse_key(jwk: &Value) -> Result<PublicKey, String> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if let Some(usage) = field("use")
        && usage != "sig"
    {
        return Err(format!("not a signing key (use {usage:?})"));
    }
    let alg = match field("alg") {
        None => None,
        Some(name) => Some(super::algorithm_named(name).ok_or_else(|| match name {
            "ES512" => "ES512 keys are not supported (jsonwebtoken has no P-521)".to_owned(),
            other => format!("unsupported alg {other:?}"),
        })?),
    };
    let component = |name: &str, want: Option<usize>| -> Result<Vec<u8>, String> {
        let text = field(name).ok_or_else(|| format!("missing {name}"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| format!("{name} is not base64url"))?;
        match want {
            Some(len) if bytes.len() != len => {
                Err(format!("{name} is {} bytes, not {len}", bytes.len()))
            }
            _ => Ok(bytes),
        }
    };
    // The lengths are checked here because the verifiers assume them (a short Ed25519 key
    // would otherwise fail deep inside the crypto code).
    let (key_type, decoding) = match (field("kty"), field("crv")) {
        (Some("OKP"), Some("Ed25519")) => {
            let x = component("x", Some(32))?;
            (KeyType::Ed25519, DecodingKey::from_ed_der(&x))
        }
        (Some("EC"), Some(curve @ ("P-256" | "P-384"))) => {
            let (key_type, len) = if curve == "P-256" {
                (KeyType::P256, 32)
            } else {
                (KeyType::P384, 48)
            };
            let mut point = vec![0x04];
            point.extend(component("x", Some(len))?);
            point.extend(component("y", Some(len))?);
            (key_type, DecodingKey::from_ec_der(&point))
        }
        (Some("RSA"), _) => {
            let n = component("n", None)?;
            let e = component("e", None)?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < 2048 {
                return Err(format!(
                    "RSA key of {bits} bits is too weak (2048 at least)"
                ));
            }
            if e.is_empty() || e.len() > 8 {
                return Err("RSA exponent out of range".into());
            }
            (KeyType::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        (Some(kty), crv) => return Err(format!("unsupported key type {kty:?} (curve {crv:?})")),
        (None, _) => return Err("no kty".into()),
    };
    if let Some(alg) = alg
        && !key_type.can_check(alg)
    {
        return Err(format!("alg {alg:?} does not match the key type"));
    }
    let kid = field("kid").map(str::to_owned);
    Ok(PublicKey {
        kid,
        key_type,
        alg,
        decoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(len: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![7u8; len])
    }

    #[test]
    fn reads_the_key_shapes_better_auth_publishes() {
        let ed = parse_key(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "kid": "a", "alg": "EdDSA"}),
        )
        .unwrap();
        assert_eq!(ed.key_type, KeyType::Ed25519);
        assert!(ed.fits(Algorithm::EdDSA, Some("a")));
        assert!(!ed.fits(Algorithm::EdDSA, Some("b")));
        assert!(!ed.fits(Algorithm::ES256, Some("a")));
        let renamed =
            parse_key(&json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "alg": "Ed25519"}))
                .unwrap();
        assert_eq!(renamed.alg, Some(Algorithm::EdDSA));
        let no_alg =
            parse_key(&json!({"kty": "EC", "crv": "P-256", "x": b64(32), "y": b64(32)})).unwrap();
        assert!(no_alg.fits(Algorithm::ES256, None));
        assert!(!no_alg.fits(Algorithm::ES384, None));
        let rsa =
            parse_key(&json!({"kty": "RSA", "n": b64(256), "e": "AQAB", "alg": "PS256"})).unwrap();
        assert!(rsa.fits(Algorithm::PS256, None));
        assert!(
            !rsa.fits(Algorithm::RS256, None),
            "a key published for PS256 checks only PS256"
        );
    }

    #[test]
    fn refuses_keys_it_must_not_use() {
        let refused = [
            json!({"kty": "oct", "k": b64(32)}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(16)}),
            json!({"kty": "OKP", "crv": "Ed448", "x": b64(57)}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "use": "enc"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "alg": "RS256"}),
            json!({"kty": "EC", "crv": "P-521", "x": b64(66), "y": b64(66), "alg": "ES512"}),
            json!({"kty": "EC", "crv": "P-256", "x": "not base64!", "y": b64(32)}),
            json!({"kty": "RSA", "n": b64(128), "e": "AQAB"}),
            json!({"crv": "Ed25519", "x": b64(32)}),
            json!("not an object"),
        ];
        for jwk in refused {
            assert!(parse_key(&jwk).is_err(), "accepted {jwk}");
        }
    }
}
