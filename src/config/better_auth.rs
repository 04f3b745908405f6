//! The Better Auth settings (`BETTER_AUTH_URL`, the JWKS, session tokens) and what follows
//! from them: the JWKS URL, the expected issuer and audience (the origin of `BETTER_AUTH_URL`),
//! and the default algorithm allow-list. Flattened into the auth settings, so they are read
//! and validated with every other setting, and a bad one names its variable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use jsonwebtoken::Algorithm;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::value::{ConfigError, Parsed, bad, check, checked};
use crate::auth::{
    AuthSettings, JwksSettings, SessionSettings, SessionSource, is_loopback, normalize_claim_value,
};

/// What Better Auth signs with when it is configured to (ES512 is missing: jsonwebtoken has no
/// P-521). EdDSA is its default.
pub(crate) const ASYMMETRIC_DEFAULTS: [Algorithm; 4] = [
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
    #[arg(long, env = "JWKS_REFRESH_INTERVAL", default_value = "5m",
          value_parser = check::nonzero_duration(), global = true)]
    pub jwks_refresh_interval: Parsed<Duration>,

    /// Shortest time between two JWKS fetches caused by tokens with an unknown key id (e.g. 10s).
    // Zero would let every made-up kid cause a fetch: the flood the cooldown is for.
    #[arg(long, env = "JWKS_REFETCH_COOLDOWN", default_value = "10s",
          value_parser = check::nonzero_duration(), global = true)]
    pub jwks_refetch_cooldown: Parsed<Duration>,

    /// Longest a call to Better Auth (JWKS or get-session) may take (e.g. 5s).
    #[arg(long, env = "JWKS_FETCH_TIMEOUT", default_value = "5s",
          value_parser = check::nonzero_duration(), global = true)]
    pub jwks_fetch_timeout: Parsed<Duration>,

    /// Also accept Better Auth's opaque session tokens (bearer plugin): on or off.
    #[arg(long, env = "AUTH_SESSION_TOKENS", default_value = "off",
          value_parser = check::boolean(), global = true)]
    pub auth_session_tokens: Parsed<bool>,

    /// Where session tokens are looked up: `database` (Better Auth's `session` table in
    /// DATABASE_URL) or `http` (BETTER_AUTH_URL's get-session).
    #[arg(long, env = "AUTH_SESSION_SOURCE", default_value = "database",
          value_parser = checked(lookup), global = true)]
    pub auth_session_source: Parsed<Lookup>,

    /// PEM file of extra CA certificates trusted for HTTPS calls to Better Auth (a private
    /// CA); the bundled Mozilla roots stay trusted.
    #[arg(long, env = "BETTER_AUTH_CA_FILE", global = true)]
    pub better_auth_ca_file: Option<PathBuf>,

    /// How long a get-session answer is reused (AUTH_SESSION_SOURCE=http), e.g. 30s.
    #[arg(long, env = "AUTH_SESSION_CACHE_TTL", default_value = "30s",
          value_parser = check::duration(), global = true)]
    pub auth_session_cache_ttl: Parsed<Duration>,

    /// Allow plain http:// for BETTER_AUTH_URL and JWKS_URL on hosts other than loopback
    /// (keys and session tokens then travel unprotected): true or false.
    #[arg(long, env = "AUTH_ALLOW_INSECURE_HTTP", default_value = "false",
          value_parser = check::boolean(), global = true)]
    pub auth_allow_insecure_http: Parsed<bool>,
}

/// AUTH_SESSION_SOURCE, before BETTER_AUTH_URL gives the get-session URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Better Auth's `session` table.
    Database,
    /// Better Auth's get-session.
    Http,
}

fn lookup(text: &str) -> Result<Lookup, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "database" | "db" => Ok(Lookup::Database),
        "http" => Ok(Lookup::Http),
        other => Err(format!("expected database or http, got {other:?}")),
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
pub(crate) fn endpoints(text: &str, insecure: bool) -> Result<(String, String), ConfigError> {
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
        let insecure = self.auth_allow_insecure_http.get()?;
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
            Some(url) => Some(JwksSettings {
                url,
                refresh_interval: self.jwks_refresh_interval.get()?,
                refetch_cooldown: self.jwks_refetch_cooldown.get()?,
                fetch_timeout: self.jwks_fetch_timeout.get()?,
            }),
            None => None,
        };
        if let Some(path) = &self.better_auth_ca_file {
            auth.extra_roots = certificates(path)?;
        }
        default_algorithms(&mut auth)?;
        check_claim_values(&auth)?;
        if self.auth_session_tokens.get()? {
            auth.sessions = Some(self.sessions(&auth)?);
        }
        Ok(auth)
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
        let source = match self.auth_session_source.get()? {
            Lookup::Database => SessionSource::Database,
            Lookup::Http => match &auth.better_auth_api {
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
        };
        Ok(SessionSettings {
            source,
            cache_ttl: self.auth_session_cache_ttl.get()?,
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
