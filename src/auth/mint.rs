//! Development tokens: signing a JWT with the shared secret, for `todo-api token`, the
//! development sign-in (`/dev/token`) and tests. What is minted is exactly what the verifier
//! accepts (a valid user id, a bounded lifetime, the configured issuer and audience).
//!
//! It never verifies anything and never reads the development secret file (that is
//! `secret_file`'s job); it signs with whatever secret [`AuthSettings`] holds.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

use super::types::{AuthSettings, SecretKey, check_user_id, is_hmac};

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
            .find(|a| is_hmac(*a))
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
