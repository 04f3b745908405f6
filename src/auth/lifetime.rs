//! How long a verified credential stays good on a connection that outlives its request (a
//! GraphQL WebSocket, an SSE stream): until the JWT's `exp` plus JWT_LEEWAY (the verifier's
//! rule, so a token accepted on one path is accepted on all), and only while verifying the
//! token again (every session cache period, at least once a minute) still names the same
//! user, so a revoked Better Auth session or a removed signing key ends its connections too.
//!
//! It only says when and why the credential ended ([`CredentialEnd`]); each transport says so
//! in its own way (WebSocket close 4401 with [`CredentialEnd::message`] as the reason, a final
//! SSE event with [`CredentialEnd::code`] and the same message).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use super::types::AuthUser;
use super::verifier::Verifier;
use crate::error::AuthFailure;

/// How often a credential is verified again when session tokens are off (JWTs also end at
/// their `exp`, on the dot), and at most this long apart when they are on.
const REVERIFY_EVERY: Duration = Duration::from_secs(60);

/// Why a long-lived connection's credential stopped being good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialEnd {
    /// The token's `exp` passed (or its Better Auth session expired).
    Expired,
    /// Verifying the token again failed (the session was revoked, the key removed, …) or
    /// named another user; the text is the client-facing detail.
    Unauthorized(&'static str),
}

impl CredentialEnd {
    /// A stable code for clients: `TOKEN_EXPIRED` or `UNAUTHENTICATED` (GraphQL's code for a
    /// refused token).
    pub fn code(&self) -> &'static str {
        match self {
            CredentialEnd::Expired => "TOKEN_EXPIRED",
            CredentialEnd::Unauthorized(_) => "UNAUTHENTICATED",
        }
    }

    /// What happened, for people: `Token has expired`, or `Unauthorized: <detail>`.
    pub fn message(&self) -> String {
        match self {
            CredentialEnd::Expired => AuthFailure::Expired.detail().to_owned(),
            CredentialEnd::Unauthorized(detail) => format!("Unauthorized: {detail}"),
        }
    }
}

/// A verified token held by a long-lived connection.
pub struct Credential {
    verifier: Arc<Verifier>,
    token: String,
    user: AuthUser,
}

impl Credential {
    /// `token`, which `verifier` has just verified as `user`.
    pub fn new(verifier: Arc<Verifier>, token: impl Into<String>, user: AuthUser) -> Self {
        Credential {
            verifier,
            token: token.into(),
            user,
        }
    }

    /// Resolves when the credential stops being good, saying why; never while it is good.
    pub async fn ended(self) -> CredentialEnd {
        // The same leeway as verification: a token good for `/changes` is good for a stream,
        // until `exp` + JWT_LEEWAY on every path.
        let leeway = self.verifier.settings().leeway;
        let expiry = async {
            match token_expiry(&self.token, leeway) {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        let every = match &self.verifier.settings().sessions {
            Some(sessions) => sessions
                .cache_ttl
                .clamp(Duration::from_secs(1), REVERIFY_EVERY),
            None => REVERIFY_EVERY,
        };
        let mut reverify = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                () = &mut expiry => return CredentialEnd::Expired,
                _ = reverify.tick() => match self.verifier.verify(&self.token).await {
                    Ok(again) if again == self.user => {}
                    // The key server being down is not the client's fault; try again later.
                    Err(AuthFailure::KeysUnavailable(_)) => {}
                    Ok(_) => return CredentialEnd::Unauthorized("Invalid token"),
                    Err(AuthFailure::Expired) => return CredentialEnd::Expired,
                    Err(failure) => return CredentialEnd::Unauthorized(failure.detail()),
                },
            }
        }
    }
}

/// When a (verified) JWT's `exp` + `leeway` passes; `None` for session tokens, which are
/// re-verified.
fn token_expiry(token: &str, leeway: Duration) -> Option<tokio::time::Instant> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?,
    )
    .ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
    // The verifier refuses a token once the whole second `now` is past `exp` + leeway: the
    // credential ends at that very instant, not a fraction of a second before it.
    let refused_from_ms = exp
        .saturating_add(leeway)
        .saturating_add(1)
        .saturating_mul(1000);
    let left = refused_from_ms
        .saturating_sub(chrono::Utc::now().timestamp_millis())
        .max(0);
    Some(tokio::time::Instant::now() + Duration::from_millis(left as u64))
}
