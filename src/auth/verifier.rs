//! Token verification: JWT signature, algorithm allow-list, `exp` / `nbf` with leeway,
//! issuer and audience. The only place an [`AuthUser`] is made.

use std::collections::HashSet;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use super::AuthUser;
use crate::error::AuthFailure;

/// Longest user id accepted from a token. Better Auth ids are 32 characters.
const MAX_USER_ID_CHARS: usize = 255;

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
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Shared secret for the HS algorithms.
    pub secret: Option<SecretKey>,
    /// The algorithms a token may use.
    pub algorithms: Vec<Algorithm>,
    /// Required `iss`, when set (compared as an origin: a trailing slash does not matter).
    pub issuer: Option<String>,
    /// Accepted audiences, when set: the token's `aud` (string or array) must name one.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

/// Verifies bearer tokens and makes [`AuthUser`]s.
pub struct Verifier {
    settings: AuthSettings,
    secret: Option<DecodingKey>,
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Compares issuers and audiences as origins: scheme and host case-insensitively, without a
/// trailing slash.
fn normalize_origin(value: &str) -> String {
    value.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl Verifier {
    /// A verifier for these settings.
    pub fn new(settings: AuthSettings) -> Self {
        let secret = settings.secret.as_ref().map(|s| DecodingKey::from_secret(s.bytes()));
        Verifier { settings, secret }
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Verifies `token` and returns the user it names.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, AuthFailure> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthFailure::Invalid(format!("malformed token: {}", describe(&e))))?;
        if !self.settings.algorithms.contains(&header.alg) {
            return Err(AuthFailure::Invalid(format!(
                "algorithm {:?} is not allowed",
                header.alg
            )));
        }
        let key = if is_hmac(header.alg) {
            self.secret
                .clone()
                .ok_or_else(|| AuthFailure::Invalid("no shared secret is configured".into()))?
        } else {
            return Err(AuthFailure::Invalid(format!(
                "no public key is configured for {:?}",
                header.alg
            )));
        };
        let claims = self.decode(token, header.alg, &key)?;
        self.user_from_claims(&claims)
    }

    fn decode(
        &self,
        token: &str,
        alg: Algorithm,
        key: &DecodingKey,
    ) -> Result<Map<String, Value>, AuthFailure> {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.required_spec_claims = HashSet::from(["exp".to_owned()]);
        // Issuer and audience are compared below, as origins.
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthFailure::Expired,
                _ => AuthFailure::Invalid(describe(&e)),
            })?;
        Ok(data.claims)
    }

    fn user_from_claims(&self, claims: &Map<String, Value>) -> Result<AuthUser, AuthFailure> {
        if let Some(expected) = &self.settings.issuer {
            let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
            if normalize_origin(issuer) != normalize_origin(expected) {
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
                    .any(|want| normalize_origin(want) == normalize_origin(aud))
            });
            if !accepted {
                return Err(AuthFailure::Invalid("wrong audience".into()));
            }
        }
        // Better Auth puts the user id in `sub`; older setups only in the user object's `id`.
        let id = match claims.get("sub").or_else(|| claims.get("id")) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(AuthFailure::Invalid("token has no subject (sub)".into())),
        };
        if id.is_empty()
            || id.chars().count() > MAX_USER_ID_CHARS
            || id.chars().any(char::is_control)
        {
            return Err(AuthFailure::Invalid("token subject is not a valid user id".into()));
        }
        Ok(AuthUser { id })
    }
}

/// A short reason for logs and `error_description`, never containing the token.
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    match error.kind() {
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "algorithm not allowed".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("missing required claim {claim}"),
        ErrorKind::InvalidToken => "not a JWT".into(),
        ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => "not a JWT".into(),
        _ => "invalid token".into(),
    }
}

/// Signs a token for `user_id` with the shared secret: for `todo-api token` and for tests.
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
