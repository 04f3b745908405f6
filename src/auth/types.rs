//! The auth types every other auth file (and the rest of the crate) shares: the verified
//! [`AuthUser`], the [`SecretKey`], the settings the verifier checks against ([`AuthSettings`],
//! [`JwksSettings`], [`SessionSettings`]) and the small rules about them (what a user id may
//! be, how algorithm names read, how issuers compare, which URLs are loopback).
//!
//! It is a leaf: it imports nothing else of this crate, so every auth file (and `config`) can
//! import it without a cycle. It holds no behaviour that calls out (no HTTP, no database).

use std::time::Duration;

use jsonwebtoken::Algorithm;

/// Longest user id accepted from a token. Better Auth ids are 32 characters.
const MAX_USER_ID_CHARS: usize = 255;

/// A user whose identity a verified token vouches for.
///
/// Its field is private and its one constructor is visible only inside `auth`, where only the
/// verifier calls it; and outside `auth` the only way to one is the admission gate
/// ([`super::Gate`]), so no code path can act for a user that a valid token did not name, or
/// skip the rate limit on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    id: String,
}

impl AuthUser {
    /// The user id (the token's `sub`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Only for the verifier, once the token checked out and `id` passed [`check_user_id`].
    pub(super) fn verified(id: String) -> Self {
        AuthUser { id }
    }
}

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

/// Where Better Auth's public keys are and how often to look again.
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

    /// The URLs Better Auth is called at over plain http on a host that is not loopback
    /// (allowed only by AUTH_ALLOW_INSECURE_HTTP): said as a warning at start.
    pub fn insecure_urls(&self) -> Vec<String> {
        let session_url = self.sessions.as_ref().and_then(|s| match &s.source {
            SessionSource::Http { get_session_url } => Some(get_session_url.clone()),
            SessionSource::Database => None,
        });
        self.jwks
            .iter()
            .map(|jwks| jwks.url.clone())
            .chain(session_url)
            .filter(|text| {
                url::Url::parse(text).is_ok_and(|url| url.scheme() == "http" && !is_loopback(&url))
            })
            .collect()
    }
}

/// 127.0.0.0/8, ::1 and `localhost`: traffic that never leaves the machine.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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

/// The algorithm a JOSE `alg` names, accepting the newer "Ed25519" (RFC 9864) for EdDSA.
/// Names are case-sensitive, as JOSE says.
pub fn algorithm_named(name: &str) -> Option<Algorithm> {
    match name {
        "EdDSA" | "Ed25519" => Some(Algorithm::EdDSA),
        other => other.parse().ok(),
    }
}

/// The HS algorithms: checked with the shared secret, never with a JWKS key.
pub(super) fn is_hmac(alg: Algorithm) -> bool {
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
}
