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
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::AuthUser;
use super::jwks::{JwksClient, JwksSettings};
use super::sessions::{SessionSettings, SessionVerifier};
use crate::db::Db;
use crate::error::AuthFailure;

/// Longest user id accepted from a token. Better Auth ids are 32 characters.
const MAX_USER_ID_CHARS: usize = 255;

/// Longest token looked at. Better Auth's JWTs are usually under 2 KB, but they carry the user
/// object, whose `image` may be a data URL; past this size a token is refused undecoded.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// A shared HMAC secret (never printed).
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Wraps the secret's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretKey(bytes.into())
    }

    /// The bytes, for signing.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// What the verifier checks.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// Shared secret for the HS algorithms (and for checking session tokens' signatures).
    pub secret: Option<SecretKey>,
    /// The algorithms a token may use.
    pub algorithms: Vec<Algorithm>,
    /// Required `iss`, when set (compared as an origin: a trailing slash does not matter).
    pub issuer: Option<String>,
    /// Accepted audiences, when set: the token's `aud` (string or array) must name one.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Better Auth's public keys, when asymmetric tokens are accepted.
    pub jwks: Option<JwksSettings>,
    /// Opaque session tokens, when accepted (`AUTH_SESSION_TOKENS=on`).
    pub sessions: Option<SessionSettings>,
    /// Better Auth's API base (`{BETTER_AUTH_URL}/api/auth`), when configured.
    pub better_auth_api: Option<String>,
    /// CA certificates trusted for HTTPS calls to Better Auth besides the bundled roots.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl AuthSettings {
    /// Why `todo-api token` cannot sign, and where tokens come from instead.
    pub fn no_secret_message(&self) -> String {
        match (&self.better_auth_api, &self.jwks) {
            (Some(api), _) => format!(
                "BETTER_AUTH_SECRET: no shared secret is configured, so this command cannot sign \
                 tokens. Tokens come from Better Auth: sign in on the frontend, then take the JWT \
                 from `GET {api}/token` (or the `set-auth-jwt` header of `{api}/get-session`) and \
                 send it as `Authorization: Bearer <token>`."
            ),
            (None, Some(jwks)) => format!(
                "BETTER_AUTH_SECRET: no shared secret is configured, so this command cannot sign \
                 tokens. Tokens come from the issuer whose keys are published at {}.",
                jwks.url
            ),
            (None, None) => "BETTER_AUTH_SECRET: no shared secret is configured".to_owned(),
        }
    }
}

/// The algorithm a JOSE `alg` names, accepting the newer "Ed25519" (RFC 9864) for EdDSA.
/// Names are case-sensitive, as JOSE says.
pub fn algorithm_named(name: &str) -> Option<Algorithm> {
    match name {
        "EdDSA" | "Ed25519" => Some(Algorithm::EdDSA),
        other => other.parse().ok(),
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The form in which issuers and audiences are compared. A URL (http, https, …) compares by
/// its origin (`url`'s serialization: scheme and host lower-cased, a default port dropped, no
/// trailing slash) plus its path, if any, without a trailing slash; a URL with a query or
/// fragment, and any other value, compares exactly as written.
pub fn normalize_claim_value(value: &str) -> String {
    if let Ok(url) = url::Url::parse(value) {
        let origin = url.origin();
        if origin.is_tuple()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
        {
            return format!(
                "{}{}",
                origin.ascii_serialization(),
                url.path().trim_end_matches('/')
            );
        }
    }
    value.to_owned()
}

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
        for url in super::settings::insecure_urls(&self.settings) {
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
    pub async fn verify(&self, token: &str) -> Result<AuthUser, AuthFailure> {
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

/// The one gate every verified user id passes, whatever the token kind.
fn user_from_id(id: String) -> Result<AuthUser, AuthFailure> {
    if check_user_id(&id).is_err() {
        return Err(AuthFailure::Invalid(
            "token subject is not a valid user id".into(),
        ));
    }
    Ok(AuthUser { id })
}

/// What a user id must be for the verifier to accept it; also checked before minting a token,
/// so that nothing is signed that the server would then refuse.
pub fn check_user_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("the user id is empty".to_owned());
    }
    if id.chars().count() > MAX_USER_ID_CHARS {
        return Err(format!(
            "the user id is longer than {MAX_USER_ID_CHARS} characters"
        ));
    }
    if id.chars().any(char::is_control) {
        return Err("the user id contains control characters".to_owned());
    }
    Ok(())
}

/// Longest lifetime of a minted token: a year.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(365 * 86_400);

/// A minted token's lifetime must be more than nothing and at most [`MAX_TOKEN_TTL`].
pub fn check_token_ttl(ttl: Duration) -> Result<(), String> {
    if ttl.as_secs() == 0 {
        return Err("the lifetime must be at least 1s".to_owned());
    }
    if ttl > MAX_TOKEN_TTL {
        return Err("the lifetime must be at most a year (365d)".to_owned());
    }
    Ok(())
}

impl AuthSettings {
    /// Signs a token for `user_id` with the shared secret, for `todo-api token` and the
    /// development sign-in: refuses a user id or lifetime the server would not accept, and
    /// signs with the first HS algorithm allowed and the configured issuer and audience, so
    /// that the token verifies.
    pub fn mint(&self, user_id: &str, ttl: Duration) -> Result<String, String> {
        check_user_id(user_id)?;
        check_token_ttl(ttl)?;
        let Some(secret) = &self.secret else {
            return Err(self.no_secret_message());
        };
        let algorithm = self
            .algorithms
            .iter()
            .copied()
            .find(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
            .unwrap_or(Algorithm::HS256);
        mint_token(
            secret,
            algorithm,
            user_id,
            ttl,
            self.issuer.as_deref(),
            self.audiences.first().map(String::as_str),
        )
        .map_err(|e| format!("cannot sign the token: {e}"))
    }
}

/// Signs a token for `user_id` with the shared secret, unchecked (tests make bad ones on
/// purpose); see [`AuthSettings::mint`].
pub fn mint_token(
    secret: &SecretKey,
    algorithm: Algorithm,
    user_id: &str,
    ttl: Duration,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = chrono::Utc::now().timestamp();
    let mut claims = serde_json::json!({
        "sub": user_id,
        "iat": now,
        "exp": now + ttl.as_secs() as i64,
    });
    if let Some(iss) = issuer {
        claims["iss"] = Value::from(iss);
    }
    if let Some(aud) = audience {
        claims["aud"] = Value::from(aud);
    }
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret.bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names() {
        assert_eq!(algorithm_named("EdDSA"), Some(Algorithm::EdDSA));
        assert_eq!(algorithm_named("Ed25519"), Some(Algorithm::EdDSA));
        assert_eq!(algorithm_named("PS256"), Some(Algorithm::PS256));
        assert_eq!(
            algorithm_named("hs256"),
            None,
            "JOSE names are case-sensitive"
        );
        assert!(token_algorithm("none").is_err());
        assert!(token_algorithm("NONE").is_err());
        assert!(token_algorithm("ES512").is_err());
    }

    #[test]
    fn issuers_and_audiences_compare_as_origins_or_exactly() {
        let same = [
            ("https://app.example.com", "https://app.example.com/"),
            ("https://App.Example.com", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:80/", "http://localhost"),
            ("https://example.com/auth/", "https://example.com/auth"),
            ("my-issuer", "my-issuer"),
        ];
        for (a, b) in same {
            assert_eq!(
                normalize_claim_value(a),
                normalize_claim_value(b),
                "{a} {b}"
            );
        }
        let different = [
            ("https://app.example.com", "https://app.example.com:8443"),
            ("https://app.example.com", "http://app.example.com"),
            (
                "https://app.example.com",
                "https://app.example.com.evil.com",
            ),
            ("https://example.com/auth", "https://example.com/other"),
            ("https://example.com/?a", "https://example.com/"),
            ("my-issuer", "MY-ISSUER"),
            ("my-issuer", "my-issuer/"),
            ("urn:a", "urn:b"),
            ("", "/"),
        ];
        for (a, b) in different {
            assert_ne!(
                normalize_claim_value(a),
                normalize_claim_value(b),
                "{a} {b}"
            );
        }
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
