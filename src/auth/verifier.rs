//! Token verification, the only place an [`AuthUser`] is made.
//!
//! A JWT is checked in a fixed order: its header (the `alg` must be on the allow-list; `none`
//! and unknown names never are), then the key its `alg` and `kid` lead to (HS tokens only the
//! shared secret, asymmetric ones only a key from Better Auth's JWKS of the matching type), then
//! the signature, and only then its claims (`exp` required, `nbf`, issuer and audience compared
//! as origins when they are URLs, exactly otherwise, the user from `sub`, or from `id` for a
//! JWKS-verified token). Opaque session tokens go to `sessions` when they are turned on. Every
//! failure is a short reason that never contains the token.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jwks::JwksClient;
use super::sessions::SessionVerifier;
use super::types::{
    AuthSettings, AuthUser, algorithm_named, check_user_id, is_hmac, normalize_claim_value,
};
use crate::db::Db;
use crate::error::AuthFailure;

/// Longest token looked at. Better Auth's JWTs are usually under 2 KB, but they carry the user
/// object, whose `image` may be a data URL; past this size a token is refused undecoded.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// The part of a JOSE header we read. `jku`, `x5u` and `jwk` are ignored on purpose: keys
/// never come from the token itself.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// A compact JWS split into its parts.
struct Jws<'a> {
    header: JoseHeader,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn malformed() -> AuthFailure {
    AuthFailure::Invalid("malformed token: not a JWT".into())
}

fn parse_jws(token: &str) -> Result<Jws<'_>, AuthFailure> {
    let mut parts = token.split('.');
    let (Some(encoded_header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(encoded_header)
        .map_err(|_| malformed())?;
    let header = serde_json::from_slice(&header_json).map_err(|_| malformed())?;
    // The signature covers `header.payload`, the token up to its second dot.
    let signing_input = &token[..encoded_header.len() + 1 + payload.len()];
    Ok(Jws {
        header,
        signing_input,
        payload,
        signature,
    })
}

/// The algorithm a token header names, or why it is refused outright.
fn token_algorithm(name: &str) -> Result<Algorithm, AuthFailure> {
    if name.eq_ignore_ascii_case("none") {
        return Err(AuthFailure::Invalid(
            "unsigned token (alg none) is never accepted".into(),
        ));
    }
    algorithm_named(name).ok_or_else(|| {
        AuthFailure::Invalid(match name {
            "ES512" => "algorithm ES512 is not supported".to_owned(),
            _ => "unknown algorithm".to_owned(),
        })
    })
}

/// A numeric date claim (seconds; fractions allowed by RFC 7519).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, AuthFailure> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| AuthFailure::Invalid(format!("claim {name} is not a number"))),
    }
}

/// Verifies bearer tokens and makes [`AuthUser`]s.
pub struct Verifier {
    settings: AuthSettings,
    secret: Option<DecodingKey>,
    jwks: Option<Arc<JwksClient>>,
    sessions: Option<SessionVerifier>,
}

impl Verifier {
    /// A verifier for these settings; `db` is where Better Auth's sessions are read when they
    /// are looked up in the database. Start-up only (it builds the HTTP client).
    pub fn new(settings: AuthSettings, db: Db) -> anyhow::Result<Self> {
        let secret = settings
            .secret
            .as_ref()
            .map(|s| DecodingKey::from_secret(s.bytes()));
        let needs_http = settings.jwks.is_some() || settings.sessions.is_some();
        let timeout = settings
            .jwks
            .as_ref()
            .map_or(Duration::from_secs(5), |j| j.fetch_timeout);
        let http = if needs_http {
            Some(super::fetch::client(timeout, &settings.extra_roots)?)
        } else {
            None
        };
        let jwks = match (&settings.jwks, &http) {
            (Some(jwks), Some(http)) => Some(Arc::new(JwksClient::new(jwks.clone(), http.clone()))),
            _ => None,
        };
        let sessions = match (&settings.sessions, http) {
            (Some(sessions), Some(http)) => {
                // The settings refuse session tokens without the secret; this is the backstop.
                let secret = settings.secret.clone().ok_or_else(|| {
                    anyhow::anyhow!("BETTER_AUTH_SECRET: session tokens need the secret")
                })?;
                Some(SessionVerifier::new(sessions, secret, db, http))
            }
            _ => None,
        };
        Ok(Verifier {
            settings,
            secret,
            jwks,
            sessions,
        })
    }

    /// At start: fetches the JWKS once (a failure is logged, not fatal: requests then get 503
    /// until it can be fetched), starts its background refresh, and checks that sessions can
    /// be looked up. Needs a tokio runtime.
    pub async fn start(&self) {
        for url in self.settings.insecure_urls() {
            tracing::warn!(
                %url,
                "AUTH_ALLOW_INSECURE_HTTP: calling Better Auth over plain http on a network host; \
                 its keys could be swapped and session tokens read on the way"
            );
        }
        if let Some(jwks) = &self.jwks {
            jwks.refresh().await;
            JwksClient::spawn_refresh(jwks);
        }
        if let Some(sessions) = &self.sessions {
            sessions.check().await;
        }
    }

    /// True when tokens can be verified: the JWKS has been fetched at least once, or none is
    /// configured. For readiness probes.
    pub fn keys_loaded(&self) -> bool {
        self.jwks.as_ref().is_none_or(|jwks| jwks.loaded())
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Verifies `token` (a JWT, or a Better Auth session token when those are on) and returns
    /// the user it names.
    /// Only `auth` calls it: outside, users come from the admission gate, which also charges
    /// the rate limit.
    pub(super) async fn verify(&self, token: &str) -> Result<AuthUser, AuthFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::Invalid("token is too long".into()));
        }
        if token.bytes().filter(|b| *b == b'.').count() != 2 {
            return match &self.sessions {
                Some(sessions) => user_from_id(sessions.verify(token).await?),
                None => Err(malformed()),
            };
        }
        let jws = parse_jws(token)?;
        let alg = token_algorithm(&jws.header.alg)?;
        if !self.settings.algorithms.contains(&alg) {
            return Err(AuthFailure::Invalid(format!(
                "algorithm {alg:?} is not allowed"
            )));
        }
        if jws.header.crit.is_some() {
            return Err(AuthFailure::Invalid(
                "unsupported critical header (crit)".into(),
            ));
        }
        let key = self.key_for(alg, jws.header.kid.as_deref()).await?;
        // Errors here are a signature that is not base64url or a key that cannot check it:
        // either way the signature does not verify.
        let signed =
            jsonwebtoken::crypto::verify(jws.signature, jws.signing_input.as_bytes(), &key, alg);
        if !matches!(signed, Ok(true)) {
            return Err(AuthFailure::Invalid("bad signature".into()));
        }
        let claims: Map<String, Value> = URL_SAFE_NO_PAD
            .decode(jws.payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| {
                AuthFailure::Invalid("malformed token: the claims are not a JSON object".into())
            })?;
        self.check_times(&claims)?;
        self.user_from_claims(&claims, alg)
    }

    /// HS tokens check against the shared secret only; the others against a JWKS key of their
    /// type only. So a token signed with a public key's bytes as an HMAC secret, or an RS256
    /// token presented with an HS header, finds no key that accepts it.
    async fn key_for(&self, alg: Algorithm, kid: Option<&str>) -> Result<DecodingKey, AuthFailure> {
        if is_hmac(alg) {
            return self.secret.clone().ok_or_else(|| {
                AuthFailure::Invalid(format!(
                    "{alg:?} tokens are not accepted: no shared secret is configured"
                ))
            });
        }
        match &self.jwks {
            Some(jwks) => jwks.key_for(alg, kid).await,
            None => Err(AuthFailure::Invalid(format!(
                "{alg:?} tokens are not accepted: no JWKS is configured (BETTER_AUTH_URL or JWKS_URL)"
            ))),
        }
    }

    fn check_times(&self, claims: &Map<String, Value>) -> Result<(), AuthFailure> {
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(self.settings.leeway.as_secs()).unwrap_or(i64::MAX);
        let exp = numeric_date(claims, "exp")?
            .ok_or_else(|| AuthFailure::Invalid("missing required claim exp".into()))?;
        if exp.saturating_add(leeway) < now {
            return Err(AuthFailure::Expired);
        }
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && nbf.saturating_sub(leeway) > now
        {
            return Err(AuthFailure::Invalid("token is not valid yet (nbf)".into()));
        }
        Ok(())
    }

    /// `alg` is the algorithm that verified the token: only a Better Auth JWT (checked by a
    /// JWKS key) may name its user by the user object's `id`.
    fn user_from_claims(
        &self,
        claims: &Map<String, Value>,
        alg: Algorithm,
    ) -> Result<AuthUser, AuthFailure> {
        if let Some(expected) = &self.settings.issuer {
            let issuer = match claims.get("iss") {
                Some(Value::String(issuer)) => issuer,
                Some(_) => {
                    return Err(AuthFailure::Invalid(
                        "wrong issuer: iss is not a string".into(),
                    ));
                }
                None => {
                    return Err(AuthFailure::Invalid(
                        "wrong issuer: the token has no iss".into(),
                    ));
                }
            };
            if normalize_claim_value(issuer) != normalize_claim_value(expected) {
                return Err(AuthFailure::Invalid("wrong issuer".into()));
            }
        }
        if !self.settings.audiences.is_empty() {
            let token_audiences: Vec<&str> = match claims.get("aud") {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let accepted = token_audiences.iter().any(|aud| {
                self.settings
                    .audiences
                    .iter()
                    .any(|want| normalize_claim_value(want) == normalize_claim_value(aud))
            });
            if !accepted {
                return Err(AuthFailure::Invalid("wrong audience".into()));
            }
        }
        // Better Auth puts the user id in `sub`; older setups only in the user object's `id`.
        // An HS token is ours or the frontend's own: it must say `sub`.
        let subject = match claims.get("sub") {
            None if !is_hmac(alg) => claims.get("id"),
            sub => sub,
        };
        let id = match subject {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(AuthFailure::Invalid("token has no subject (sub)".into())),
        };
        user_from_id(id)
    }
}

/// The one check every verified user id passes, whatever the token kind.
fn user_from_id(id: String) -> Result<AuthUser, AuthFailure> {
    if check_user_id(&id).is_err() {
        return Err(AuthFailure::Invalid(
            "token subject is not a valid user id".into(),
        ));
    }
    Ok(AuthUser::verified(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_algorithm_names() {
        assert!(token_algorithm("none").is_err());
        assert!(token_algorithm("NONE").is_err());
        assert!(token_algorithm("ES512").is_err());
    }

    #[test]
    fn the_signature_covers_header_and_payload() {
        let jws = parse_jws("eyJhbGciOiJIUzI1NiJ9.e30.c2ln").unwrap();
        assert_eq!(jws.signing_input, "eyJhbGciOiJIUzI1NiJ9.e30");
        assert_eq!(jws.payload, "e30");
        assert_eq!(jws.signature, "c2ln");
        assert!(parse_jws("a.b").is_err());
        assert!(parse_jws("a.b.c.d").is_err());
        assert!(parse_jws("!!.e30.c2ln").is_err());
    }
}
