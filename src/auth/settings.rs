//! The Better Auth settings (`BETTER_AUTH_URL`, the JWKS, session tokens) and what follows
//! from them: the JWKS URL, the expected issuer and audience (the origin of `BETTER_AUTH_URL`),
//! and the default algorithm allow-list. Flattened into `config::Settings`, so they are read
//! and validated with every other setting, and a bad one names its variable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use jsonwebtoken::Algorithm;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::{AuthSettings, JwksSettings, SessionSettings, SessionSource};
use crate::config::{ConfigError, boolean, duration};

/// What Better Auth signs with when it is configured to (ES512 is missing: jsonwebtoken has no
/// P-521). EdDSA is its default.
const ASYMMETRIC_DEFAULTS: [Algorithm; 4] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// The Better Auth settings as given.
#[derive(Debug, Clone, Args)]
pub struct BetterAuthArgs {
    /// Better Auth's URL, as the frontend's BETTER_AUTH_URL (e.g. https://app.example.com):
    /// the JWKS URL, the expected issuer and audience, and get-session follow from it.
    #[arg(long, env = "BETTER_AUTH_URL", global = true)]
    pub better_auth_url: Option<String>,

    /// Where Better Auth publishes its public keys (default {BETTER_AUTH_URL}/api/auth/jwks).
    #[arg(long, env = "JWKS_URL", global = true)]
    pub jwks_url: Option<String>,

    /// How often the JWKS is fetched again in the background (e.g. 5m).
    #[arg(
        long,
        env = "JWKS_REFRESH_INTERVAL",
        default_value = "5m",
        global = true
    )]
    pub jwks_refresh_interval: String,

    /// Shortest time between two JWKS fetches caused by tokens with an unknown key id (e.g. 10s).
    #[arg(
        long,
        env = "JWKS_REFETCH_COOLDOWN",
        default_value = "10s",
        global = true
    )]
    pub jwks_refetch_cooldown: String,

    /// Longest a call to Better Auth (JWKS or get-session) may take (e.g. 5s).
    #[arg(long, env = "JWKS_FETCH_TIMEOUT", default_value = "5s", global = true)]
    pub jwks_fetch_timeout: String,

    /// Also accept Better Auth's opaque session tokens (bearer plugin): on or off.
    #[arg(
        long,
        env = "AUTH_SESSION_TOKENS",
        default_value = "off",
        global = true
    )]
    pub auth_session_tokens: String,

    /// Where session tokens are looked up: `database` (Better Auth's `session` table in
    /// DATABASE_URL) or `http` (BETTER_AUTH_URL's get-session).
    #[arg(
        long,
        env = "AUTH_SESSION_SOURCE",
        default_value = "database",
        global = true
    )]
    pub auth_session_source: String,

    /// PEM file of extra CA certificates trusted for HTTPS calls to Better Auth (a private
    /// CA); the bundled Mozilla roots stay trusted.
    #[arg(long, env = "BETTER_AUTH_CA_FILE", global = true)]
    pub better_auth_ca_file: Option<PathBuf>,

    /// How long a get-session answer is reused (AUTH_SESSION_SOURCE=http), e.g. 30s.
    #[arg(
        long,
        env = "AUTH_SESSION_CACHE_TTL",
        default_value = "30s",
        global = true
    )]
    pub auth_session_cache_ttl: String,
}

fn bad(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// An http(s) URL with a host, or a clear error.
fn http_url(variable: &'static str, text: &str) -> Result<url::Url, ConfigError> {
    let url =
        url::Url::parse(text).map_err(|e| bad(variable, format!("{text:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            variable,
            format!("expected an http:// or https:// URL, got {text:?}"),
        ));
    }
    Ok(url)
}

/// Better Auth's origin (its default `iss` and `aud`) and API base. Better Auth mounts its
/// routes at `/api/auth` unless its URL carries a path of its own, which then is the base.
fn endpoints(text: &str) -> Result<(String, String), ConfigError> {
    let url = http_url("BETTER_AUTH_URL", text)?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let api = if path.is_empty() {
        format!("{origin}/api/auth")
    } else {
        format!("{origin}{path}")
    };
    Ok((origin, api))
}

impl BetterAuthArgs {
    /// Completes `auth` (whose secret, explicit algorithms, issuer, audiences and leeway are
    /// already read) with the JWKS, session tokens, and the defaults that follow from them.
    pub fn apply(&self, mut auth: AuthSettings) -> Result<AuthSettings, ConfigError> {
        let endpoints = given(&self.better_auth_url).map(endpoints).transpose()?;
        if let Some((origin, api)) = &endpoints {
            auth.issuer.get_or_insert_with(|| origin.clone());
            if auth.audiences.is_empty() {
                auth.audiences.push(origin.clone());
            }
            auth.better_auth_api = Some(api.clone());
        }
        let jwks_url = match given(&self.jwks_url) {
            Some(url) => Some(http_url("JWKS_URL", url)?.to_string()),
            None => endpoints.as_ref().map(|(_, api)| format!("{api}/jwks")),
        };
        auth.jwks = match jwks_url {
            Some(url) => Some(self.jwks(url)?),
            None => None,
        };
        if let Some(path) = &self.better_auth_ca_file {
            auth.extra_roots = certificates(path)?;
        }
        default_algorithms(&mut auth)?;
        if boolean("AUTH_SESSION_TOKENS", &self.auth_session_tokens)? {
            auth.sessions = Some(self.sessions(&auth)?);
        }
        Ok(auth)
    }

    fn jwks(&self, url: String) -> Result<JwksSettings, ConfigError> {
        let positive = |variable, text: &str| -> Result<Duration, ConfigError> {
            let value = duration(variable, text)?;
            if value.is_zero() {
                return Err(bad(variable, "must be longer than 0s"));
            }
            Ok(value)
        };
        Ok(JwksSettings {
            url,
            refresh_interval: positive("JWKS_REFRESH_INTERVAL", &self.jwks_refresh_interval)?,
            refetch_cooldown: duration("JWKS_REFETCH_COOLDOWN", &self.jwks_refetch_cooldown)?,
            fetch_timeout: positive("JWKS_FETCH_TIMEOUT", &self.jwks_fetch_timeout)?,
        })
    }

    fn sessions(&self, auth: &AuthSettings) -> Result<SessionSettings, ConfigError> {
        let source = match self
            .auth_session_source
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "database" | "db" => {
                // Without the secret a token with a forged signature part would be looked up
                // like a genuine one; Better Auth itself refuses those, and so must we.
                if auth.secret.is_none() {
                    return Err(bad(
                        "AUTH_SESSION_SOURCE",
                        "database lookups need BETTER_AUTH_SECRET (the frontend's) to check the \
                         session token's signature; set it, or use AUTH_SESSION_SOURCE=http",
                    ));
                }
                SessionSource::Database
            }
            "http" => match &auth.better_auth_api {
                Some(api) => SessionSource::Http {
                    get_session_url: format!("{api}/get-session"),
                },
                None => {
                    return Err(bad(
                        "AUTH_SESSION_SOURCE",
                        "http lookups ask BETTER_AUTH_URL's get-session; set BETTER_AUTH_URL",
                    ));
                }
            },
            other => {
                return Err(bad(
                    "AUTH_SESSION_SOURCE",
                    format!("expected database or http, got {other:?}"),
                ));
            }
        };
        Ok(SessionSettings {
            source,
            cache_ttl: duration("AUTH_SESSION_CACHE_TTL", &self.auth_session_cache_ttl)?,
        })
    }
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let problem = |why: String| bad("BETTER_AUTH_CA_FILE", format!("{}: {why}", path.display()));
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| problem(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(e.to_string()))?;
    if certificates.is_empty() {
        return Err(problem("no certificate in the file".into()));
    }
    Ok(certificates)
}

/// An empty allow-list becomes: the asymmetric algorithms when a JWKS is configured, plus
/// HS256 when a secret is (or when nothing is, for the development secret). An explicit list
/// naming asymmetric algorithms needs a JWKS to have keys for them.
fn default_algorithms(auth: &mut AuthSettings) -> Result<(), ConfigError> {
    let hmac = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    if auth.algorithms.is_empty() {
        if auth.jwks.is_some() {
            auth.algorithms.extend(ASYMMETRIC_DEFAULTS);
        }
        if auth.secret.is_some() || auth.jwks.is_none() {
            auth.algorithms.push(Algorithm::HS256);
        }
    } else if auth.jwks.is_none()
        && let Some(alg) = auth.algorithms.iter().find(|alg| !hmac.contains(alg))
    {
        return Err(bad(
            "JWT_ALGORITHMS",
            format!("{alg:?} needs Better Auth's public keys: set BETTER_AUTH_URL or JWKS_URL"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        crate::config::settings_from_args(args.iter().copied())
            .expect("arguments parse")
            .validate()
    }

    const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!!";

    #[test]
    fn better_auth_url_brings_keys_issuer_audience_and_algorithms() {
        let config = config(&["--better-auth-url", "https://app.example.com/"]).unwrap();
        assert!(!config.needs_dev_secret(), "the JWKS is real verification");
        let auth = &config.auth;
        assert_eq!(auth.issuer.as_deref(), Some("https://app.example.com"));
        assert_eq!(auth.audiences, ["https://app.example.com"]);
        let jwks = auth.jwks.as_ref().unwrap();
        assert_eq!(jwks.url, "https://app.example.com/api/auth/jwks");
        assert_eq!(auth.algorithms, ASYMMETRIC_DEFAULTS);
        assert!(auth.no_secret_message().contains("/api/auth/token"));
    }

    #[test]
    fn explicit_settings_win_and_the_secret_adds_hs256() {
        let config = config(&[
            "--better-auth-url",
            "http://localhost:3000",
            "--jwks-url",
            "http://keys.internal/jwks",
            "--jwt-issuer",
            "https://issuer.example.com",
            "--auth-secret",
            SECRET,
        ])
        .unwrap();
        let auth = &config.auth;
        assert_eq!(auth.jwks.as_ref().unwrap().url, "http://keys.internal/jwks");
        assert_eq!(auth.issuer.as_deref(), Some("https://issuer.example.com"));
        assert_eq!(auth.audiences, ["http://localhost:3000"]);
        assert_eq!(auth.algorithms.last(), Some(&Algorithm::HS256));
        assert_eq!(auth.algorithms.len(), ASYMMETRIC_DEFAULTS.len() + 1);
    }

    #[test]
    fn without_any_verification_the_dev_secret_stands_in() {
        let config = config(&[]).unwrap();
        assert!(config.needs_dev_secret());
        assert_eq!(config.auth.algorithms, [Algorithm::HS256]);
        assert!(config.auth.jwks.is_none() && config.auth.sessions.is_none());
    }

    #[test]
    fn session_token_sources() {
        let on = ["--auth-session-tokens", "on"];
        assert!(config(&on).is_err(), "database lookups need the secret");
        let database = config(&[on[0], on[1], "--auth-secret", SECRET]).unwrap();
        let sessions = database.auth.sessions.unwrap();
        assert_eq!(sessions.source, SessionSource::Database);
        let http = ["--auth-session-source", "http"];
        assert!(
            config(&[on[0], on[1], http[0], http[1]]).is_err(),
            "http needs BETTER_AUTH_URL"
        );
        let url = ["--better-auth-url", "https://app.example.com"];
        let http = config(&[on[0], on[1], http[0], http[1], url[0], url[1]]).unwrap();
        let get_session_url = "https://app.example.com/api/auth/get-session".to_owned();
        assert_eq!(
            http.auth.sessions.unwrap().source,
            SessionSource::Http { get_session_url }
        );
        assert!(config(&[on[0], on[1], "--auth-session-source", "ldap"]).is_err());
    }

    #[test]
    fn better_auth_url_gives_origin_and_api_base() {
        let cases = [
            (
                "http://localhost:3000",
                "http://localhost:3000",
                "http://localhost:3000/api/auth",
            ),
            (
                "https://App.Example.com/",
                "https://app.example.com",
                "https://app.example.com/api/auth",
            ),
            (
                "https://example.com:443",
                "https://example.com",
                "https://example.com/api/auth",
            ),
            (
                "https://example.com/auth/",
                "https://example.com",
                "https://example.com/auth",
            ),
        ];
        for (given, origin, api) in cases {
            assert_eq!(
                endpoints(given).unwrap(),
                (origin.to_owned(), api.to_owned()),
                "{given}"
            );
        }
        assert!(endpoints("localhost:3000").is_err());
        assert!(endpoints("ftp://example.com").is_err());
    }
}
