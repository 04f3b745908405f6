//! The token-verification settings: the shared secret (`BETTER_AUTH_SECRET`, alias
//! `JWT_SECRET`), the JWT checks (algorithms, issuer, audience, leeway), Better Auth's (in
//! `better_auth`) and where the development secret is kept. Declares and reads them into
//! [`AuthSettings`]; verifying tokens is `auth`'s business.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use jsonwebtoken::Algorithm;

use super::better_auth::BetterAuthArgs;
use super::value::{ConfigError, Parsed, Secret, bad, check, checked, list};
use crate::auth::{AuthSettings, MIN_SECRET_BYTES, SecretKey, default_dev_secret_path};

/// The auth settings as given.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Shared secret for HS256/384/512 tokens (Better Auth's secret, at least 32 bytes).
    #[arg(
        long,
        env = "BETTER_AUTH_SECRET",
        hide_env_values = true,
        value_parser = Secret::parse,
        global = true
    )]
    pub auth_secret: Option<Secret>,

    /// Alias of BETTER_AUTH_SECRET.
    #[arg(
        long,
        env = "JWT_SECRET",
        hide_env_values = true,
        value_parser = Secret::parse,
        global = true
    )]
    pub jwt_secret: Option<Secret>,

    /// Allowed token algorithms, comma-separated (default: EdDSA, ES256, RS256, PS256 when a
    /// JWKS is configured, plus HS256 when a shared secret is).
    #[arg(
        long,
        env = "JWT_ALGORITHMS",
        value_parser = checked(algorithms),
        global = true
    )]
    pub jwt_algorithms: Option<Parsed<Vec<Algorithm>>>,

    /// Required token issuer (`iss`).
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Accepted token audiences (`aud`), comma-separated.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed on `exp` and `nbf` (e.g. 60s).
    #[arg(
        long,
        env = "JWT_LEEWAY",
        default_value = "60s",
        value_parser = check::duration(),
        global = true
    )]
    pub jwt_leeway: Parsed<Duration>,

    /// Better Auth: its URL, JWKS and session tokens.
    #[command(flatten)]
    pub better_auth: BetterAuthArgs,

    /// Where the development secret is kept when no auth is configured (default:
    /// $XDG_CONFIG_HOME/todo-api/dev-secret, i.e. ~/.config/todo-api/dev-secret, whatever the
    /// database; shared by `serve` and `token`).
    #[arg(long, env = "DEV_SECRET_FILE", global = true)]
    pub dev_secret_file: Option<PathBuf>,
}

/// JWT_ALGORITHMS: the names, or an empty list, which `BetterAuthArgs::apply` fills with the
/// default for the keys configured.
fn algorithms(text: &str) -> Result<Vec<Algorithm>, String> {
    list(text)
        .iter()
        .map(|name| {
            let upper = name.to_ascii_uppercase();
            match upper.as_str() {
                "EDDSA" | "ED25519" => Ok(Algorithm::EdDSA),
                "ES512" => Err(
                    "ES512 is not supported (jsonwebtoken has no P-521); configure \
                                Better Auth with EdDSA (its default), ES256, RS256 or PS256"
                        .to_owned(),
                ),
                _ => upper.parse::<Algorithm>().map_err(|_| {
                    format!(
                        "unknown algorithm {name:?}; expected names such as HS256, EdDSA, \
                         ES256, RS256, PS256"
                    )
                }),
            }
        })
        .collect()
}

impl AuthArgs {
    /// Everything token verification needs, checked. With no verification configured the
    /// secret stays unset: `Config::with_dev_secret` puts the development one in.
    pub fn auth(&self) -> Result<AuthSettings, ConfigError> {
        // An empty BETTER_AUTH_SECRET counts as unset (and hides JWT_SECRET), as it always has.
        let secret = match (&self.auth_secret, &self.jwt_secret) {
            (Some(s), _) => Some(("BETTER_AUTH_SECRET", s.expose())),
            (None, Some(s)) => Some(("JWT_SECRET", s.expose())),
            (None, None) => None,
        }
        .filter(|(_, s)| !s.is_empty());
        if let Some((variable, s)) = secret
            && s.trim().is_empty()
        {
            // Spaces from a badly quoted .env line are not a secret anyone chose.
            return Err(bad(
                variable,
                "the secret is blank (only whitespace); set a real one (generate one with \
                 `openssl rand -base64 32`) or leave it unset",
            ));
        }
        if let Some((variable, s)) = secret
            && s.trim().len() < MIN_SECRET_BYTES
        {
            return Err(bad(
                variable,
                format!(
                    "the secret must be at least {MIN_SECRET_BYTES} bytes long (generate one with `openssl rand -base64 32`)"
                ),
            ));
        }
        let algorithms = match &self.jwt_algorithms {
            Some(given) => given.get()?,
            None => Vec::new(),
        };
        let auth = AuthSettings {
            secret: secret.map(|(_, s)| SecretKey::new(s.as_bytes())),
            algorithms,
            issuer: self
                .jwt_issuer
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            audiences: list(self.jwt_audience.as_deref().unwrap_or_default()),
            leeway: self.jwt_leeway.get()?,
            // The Better Auth settings are filled in just below.
            ..AuthSettings::default()
        };
        self.better_auth.apply(auth)
    }

    /// Where the development secret is kept: DEV_SECRET_FILE, else the default place.
    pub fn dev_secret_path(&self) -> PathBuf {
        self.dev_secret_file
            .clone()
            .unwrap_or_else(default_dev_secret_path)
    }
}
