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

use super::types::{
    AuthSettings, JwksSettings, SessionSettings, SessionSource, is_loopback, normalize_claim_value,
};
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

    /// Allow plain http:// for BETTER_AUTH_URL and JWKS_URL on hosts other than loopback
    /// (keys and session tokens then travel unprotected): true or false.
    #[arg(
        long,
        env = "AUTH_ALLOW_INSECURE_HTTP",
        default_value = "false",
        global = true
    )]
    pub auth_allow_insecure_http: String,
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

/// An http(s) URL with a host, or a clear error. Plain http is refused unless the host is a
/// loopback one (local development) or `insecure` (AUTH_ALLOW_INSECURE_HTTP) allows it: over it
/// the keys could be swapped and session tokens read on the way.
fn http_url(variable: &'static str, text: &str, insecure: bool) -> Result<url::Url, ConfigError> {
    let url =
        url::Url::parse(text).map_err(|e| bad(variable, format!("{text:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            variable,
            format!("expected an http:// or https:// URL, got {text:?}"),
        ));
    }
    if url.scheme() == "http" && !insecure && !is_loopback(&url) {
        return Err(bad(
            variable,
            format!(
                "{text:?} is plain http on a host that is not loopback: use https, or set \
                 AUTH_ALLOW_INSECURE_HTTP=true on a network you trust"
            ),
        ));
    }
    Ok(url)
}

/// Better Auth's origin (its default `iss` and `aud`) and API base. Better Auth mounts its
/// routes at `/api/auth` unless its URL carries a path of its own, which then is the base.
fn endpoints(text: &str, insecure: bool) -> Result<(String, String), ConfigError> {
    let url = http_url("BETTER_AUTH_URL", text, insecure)?;
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
        let insecure = boolean("AUTH_ALLOW_INSECURE_HTTP", &self.auth_allow_insecure_http)?;
        let endpoints = given(&self.better_auth_url)
            .map(|url| endpoints(url, insecure))
            .transpose()?;
        if let Some((origin, api)) = &endpoints {
            auth.issuer.get_or_insert_with(|| origin.clone());
            if auth.audiences.is_empty() {
                auth.audiences.push(origin.clone());
            }
            auth.better_auth_api = Some(api.clone());
        }
        let jwks_url = match given(&self.jwks_url) {
            Some(url) => Some(http_url("JWKS_URL", url, insecure)?.to_string()),
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
        check_claim_values(&auth)?;
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
            // Zero would let every made-up kid cause a fetch: the flood the cooldown is for.
            refetch_cooldown: positive("JWKS_REFETCH_COOLDOWN", &self.jwks_refetch_cooldown)?,
            fetch_timeout: positive("JWKS_FETCH_TIMEOUT", &self.jwks_fetch_timeout)?,
        })
    }

    fn sessions(&self, auth: &AuthSettings) -> Result<SessionSettings, ConfigError> {
        // Better Auth signs every session token with its secret. Without it a token with a
        // forged signature part would be looked up (or sent on to get-session) like a genuine
        // one; with it, forgeries are refused here.
        if auth.secret.is_none() {
            return Err(bad(
                "BETTER_AUTH_SECRET",
                "AUTH_SESSION_TOKENS=on needs BETTER_AUTH_SECRET (the frontend's) to check the \
                 session tokens' signatures",
            ));
        }
        let source = match self
            .auth_session_source
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "database" | "db" => SessionSource::Database,
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

/// An issuer or audience that normalises to nothing (`/`) would be a requirement no real
/// token meets, or worse, one a token without the claim could be taken to meet.
fn check_claim_values(auth: &AuthSettings) -> Result<(), ConfigError> {
    let empty = |value: &str| {
        normalize_claim_value(value.trim())
            .trim_matches('/')
            .trim()
            .is_empty()
    };
    if let Some(issuer) = &auth.issuer
        && empty(issuer)
    {
        return Err(bad(
            "JWT_ISSUER",
            format!("{issuer:?} is empty once normalised"),
        ));
    }
    if let Some(audience) = auth.audiences.iter().find(|aud| empty(aud)) {
        return Err(bad(
            "JWT_AUDIENCE",
            format!("{audience:?} is empty once normalised"),
        ));
    }
    Ok(())
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
            "--auth-allow-insecure-http",
            "true",
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
        let secret = ["--auth-secret", SECRET];
        assert!(
            config(&[on[0], on[1], http[0], http[1], secret[0], secret[1]]).is_err(),
            "http needs BETTER_AUTH_URL"
        );
        let url = ["--better-auth-url", "https://app.example.com"];
        let no_secret = config(&[on[0], on[1], http[0], http[1], url[0], url[1]]).unwrap_err();
        assert_eq!(
            no_secret.variable, "BETTER_AUTH_SECRET",
            "http lookups need the secret too"
        );
        let database = config(&[on[0], on[1]]).unwrap_err();
        assert_eq!(database.variable, "BETTER_AUTH_SECRET");
        let http = config(&[
            on[0], on[1], http[0], http[1], url[0], url[1], secret[0], secret[1],
        ])
        .unwrap();
        let get_session_url = "https://app.example.com/api/auth/get-session".to_owned();
        assert_eq!(
            http.auth.sessions.unwrap().source,
            SessionSource::Http { get_session_url }
        );
        let ldap = ["--auth-session-source", "ldap"];
        let ldap = config(&[on[0], on[1], secret[0], secret[1], ldap[0], ldap[1]]).unwrap_err();
        assert_eq!(ldap.variable, "AUTH_SESSION_SOURCE");
    }

    #[test]
    fn plain_http_only_for_loopback_unless_allowed() {
        for url in [
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://127.8.9.10",
            "http://[::1]:3000",
        ] {
            assert!(config(&["--better-auth-url", url]).is_ok(), "{url}");
            assert!(config(&["--jwks-url", url]).is_ok(), "{url}");
        }
        for url in [
            "http://app.example.com",
            "http://10.0.0.5:3000",
            "http://localhost.example.com",
            "http://[::2]",
        ] {
            for flag in ["--better-auth-url", "--jwks-url"] {
                let error = config(&[flag, url]).unwrap_err();
                let variable = if flag == "--jwks-url" {
                    "JWKS_URL"
                } else {
                    "BETTER_AUTH_URL"
                };
                assert_eq!(error.variable, variable, "{url}");
                assert!(
                    error.problem.contains("AUTH_ALLOW_INSECURE_HTTP"),
                    "{error}"
                );
                let allowed = config(&[flag, url, "--auth-allow-insecure-http", "true"]).unwrap();
                assert_eq!(
                    allowed.auth.insecure_urls().len(),
                    1,
                    "{url} is said at start"
                );
            }
        }
        assert!(config(&["--better-auth-url", "https://app.example.com"]).is_ok());
    }

    #[test]
    fn the_refetch_cooldown_must_be_positive() {
        let url = ["--better-auth-url", "https://app.example.com"];
        for zero in ["0s", "0ms", "0"] {
            let error = config(&[url[0], url[1], "--jwks-refetch-cooldown", zero]).unwrap_err();
            assert_eq!(error.variable, "JWKS_REFETCH_COOLDOWN", "{zero}");
        }
        assert!(config(&[url[0], url[1], "--jwks-refetch-cooldown", "100ms"]).is_ok());
    }

    #[test]
    fn issuers_and_audiences_that_normalise_to_nothing_are_refused() {
        for issuer in ["/", "//", " / "] {
            let error = config(&["--jwt-issuer", issuer]).unwrap_err();
            assert_eq!(error.variable, "JWT_ISSUER", "{issuer:?}");
            let error = config(&["--jwt-audience", &format!("api,{issuer}")]).unwrap_err();
            assert_eq!(error.variable, "JWT_AUDIENCE", "{issuer:?}");
        }
        assert!(config(&["--jwt-issuer", "my-issuer", "--jwt-audience", "api"]).is_ok());
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
                endpoints(given, false).unwrap(),
                (origin.to_owned(), api.to_owned()),
                "{given}"
            );
        }
        assert!(endpoints("localhost:3000", false).is_err());
        assert!(endpoints("ftp://example.com", false).is_err());
    }
}
