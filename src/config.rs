//! Every setting, from the environment (and `.env`) or the matching command-line flag, read
//! and validated once at start. A bad value stops start-up with a message naming the variable
//! and what it expects. Secrets are never logged or printed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use jsonwebtoken::Algorithm;

use crate::auth::{AuthSettings, BetterAuthArgs, SecretKey};
use crate::db::{DatabaseTarget, PoolOptions};

/// Shortest shared secret accepted (Better Auth asks for 32 characters as well).
const MIN_SECRET_BYTES: usize = 32;

/// The origins of a Next.js dev server, allowed by default in development mode.
pub const DEVELOPMENT_CORS_ORIGINS: &[&str] = &["http://localhost:3000", "http://127.0.0.1:3000"];

/// The settings as given, before validation. Each has an environment variable and a flag.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: postgres://…, postgresql://… (sslmode / sslrootcert as libpq), sqlite://PATH
    /// or sqlite::memory:.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://todo.db",
        global = true
    )]
    pub database_url: String,

    /// Address to listen on. Without auth configured only a loopback address is allowed.
    #[arg(long, env = "HOST", default_value = "127.0.0.1", global = true)]
    pub host: String,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value = "8000", global = true)]
    pub port: String,

    /// Most database connections held open.
    #[arg(long, env = "DB_POOL_SIZE", default_value = "10", global = true)]
    pub db_pool_size: String,

    /// How long a request waits for a database connection before answering 503 (e.g. 5s).
    #[arg(long, env = "DB_TIMEOUT", default_value = "5s", global = true)]
    pub db_timeout: String,

    /// Shared secret for HS256/384/512 tokens (Better Auth's secret, at least 32 bytes).
    #[arg(
        long,
        env = "BETTER_AUTH_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub auth_secret: Option<String>,

    /// Alias of BETTER_AUTH_SECRET.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Allowed token algorithms, comma-separated (default: EdDSA, ES256, RS256, PS256 when a
    /// JWKS is configured, plus HS256 when a shared secret is).
    #[arg(long, env = "JWT_ALGORITHMS", global = true)]
    pub jwt_algorithms: Option<String>,

    /// Required token issuer (`iss`).
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Accepted token audiences (`aud`), comma-separated.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed on `exp` and `nbf` (e.g. 60s).
    #[arg(long, env = "JWT_LEEWAY", default_value = "60s", global = true)]
    pub jwt_leeway: String,

    /// Better Auth: its URL, JWKS and session tokens.
    #[command(flatten)]
    pub better_auth: BetterAuthArgs,

    /// Where the development secret is kept when no auth is configured (default:
    /// $XDG_CONFIG_HOME/todo-api/dev-secret, i.e. ~/.config/todo-api/dev-secret, whatever the
    /// database; shared by `serve` and `token`).
    #[arg(long, env = "DEV_SECRET_FILE", global = true)]
    pub dev_secret_file: Option<PathBuf>,

    /// GraphQL: deepest selection allowed.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value = "10", global = true)]
    pub graphql_max_depth: String,

    /// GraphQL: highest query complexity allowed.
    #[arg(
        long,
        env = "GRAPHQL_MAX_COMPLEXITY",
        default_value = "250",
        global = true
    )]
    pub graphql_max_complexity: String,

    /// GraphQL: largest query document, in bytes.
    #[arg(
        long,
        env = "GRAPHQL_MAX_DOCUMENT_BYTES",
        default_value = "16384",
        global = true
    )]
    pub graphql_max_document_bytes: String,

    /// GraphQL: most aliases in one document.
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value = "30", global = true)]
    pub graphql_max_aliases: String,

    /// GraphQL: most operations in one batched request (0 turns batching off).
    #[arg(long, env = "GRAPHQL_MAX_BATCH", default_value = "0", global = true)]
    pub graphql_max_batch: String,

    /// GraphQL: answer introspection queries (turn off in production if you like).
    #[arg(
        long,
        env = "GRAPHQL_INTROSPECTION",
        default_value = "true",
        global = true
    )]
    pub graphql_introspection: String,

    /// Log output: `pretty` (human-readable lines) or `json` (one JSON object per line).
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty", global = true)]
    pub log_format: String,

    /// Browser origins allowed to call the API (CORS), comma-separated, such as
    /// http://localhost:3000; `*` allows any origin; empty: no cross-origin calls. Unset: none,
    /// except in development mode, where http://localhost:3000 and http://127.0.0.1:3000
    /// (a Next.js dev server) are allowed.
    #[arg(long, env = "CORS_ORIGINS", global = true)]
    pub cors_origins: Option<String>,

    /// How long a browser may cache a CORS preflight answer (e.g. 10m).
    #[arg(long, env = "CORS_MAX_AGE", default_value = "10m", global = true)]
    pub cors_max_age: String,

    /// Largest request body (bytes, or with KiB / MiB); a larger one is answered 413.
    #[arg(long, env = "MAX_BODY_SIZE", default_value = "256KiB", global = true)]
    pub max_body_size: String,

    /// Longest a request may take before it is answered 408 (e.g. 30s).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", global = true)]
    pub request_timeout: String,

    /// Requests each user may make per RATE_LIMIT_WINDOW (a token bucket, so also the largest
    /// burst); more are answered 429. 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT", default_value = "300", global = true)]
    pub rate_limit: String,

    /// The window of RATE_LIMIT: the bucket refills completely over this time (e.g. 60s).
    #[arg(long, env = "RATE_LIMIT_WINDOW", default_value = "60s", global = true)]
    pub rate_limit_window: String,

    /// Most client connections open at once; further ones wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value = "1024", global = true)]
    pub max_connections: String,

    /// On SIGTERM / SIGINT, how long in-flight requests may take to finish before the server
    /// exits anyway (e.g. 30s).
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "30s", global = true)]
    pub shutdown_timeout: String,

    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open waiting for the next request (e.g. 10s).
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT",
        default_value = "10s",
        global = true
    )]
    pub header_read_timeout: String,

    /// How long a client may take to send a request's body before it is answered 408.
    #[arg(long, env = "BODY_READ_TIMEOUT", default_value = "10s", global = true)]
    pub body_read_timeout: String,

    /// Requests without a token each client address may make per RATE_LIMIT_WINDOW; more are
    /// answered 429. 0 turns the limit off.
    #[arg(
        long,
        env = "ANONYMOUS_RATE_LIMIT",
        default_value = "60",
        global = true
    )]
    pub anonymous_rate_limit: String,

    /// Reverse proxies (IP addresses, comma-separated) whose X-Forwarded-For names the client
    /// address for the anonymous rate limit. Empty: X-Forwarded-For is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,

    /// WebSocket: how long a client has to send `connection_init` after connecting before the
    /// socket is closed with 4408.
    #[arg(long, env = "WS_INIT_TIMEOUT", default_value = "10s", global = true)]
    pub ws_init_timeout: String,

    /// WebSocket: largest message a client may send (bytes, or with KiB / MiB); a larger one
    /// closes the socket with 1009.
    #[arg(
        long,
        env = "WS_MAX_MESSAGE_SIZE",
        default_value = "64KiB",
        global = true
    )]
    pub ws_max_message_size: String,

    /// WebSocket: most operations running at once on one connection; one more is refused
    /// with a graphql-ws `error` (LIMIT_EXCEEDED).
    #[arg(
        long,
        env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value = "50",
        global = true
    )]
    pub ws_max_subscriptions_per_connection: String,

    /// Most tasks one user may have; creating one more is a 409 (REST) or LIMIT_EXCEEDED
    /// (GraphQL).
    #[arg(
        long,
        env = "MAX_TASKS_PER_USER",
        default_value = "10000",
        global = true
    )]
    pub max_tasks_per_user: String,

    /// Most live-update subscriptions (GraphQL and SSE together) one user may have open on
    /// one instance; more are refused (GraphQL TOO_MANY_SUBSCRIPTIONS, SSE 429).
    #[arg(
        long,
        env = "MAX_SUBSCRIPTIONS_PER_USER",
        default_value = "100",
        global = true
    )]
    pub max_subscriptions_per_user: String,

    /// How long deletions are remembered for incremental sync (e.g. 30d); an older cursor is
    /// answered 410 CURSOR_EXPIRED.
    #[arg(
        long,
        env = "TOMBSTONE_RETENTION",
        default_value = "30d",
        global = true
    )]
    pub tombstone_retention: String,

    /// How often an idle Server-Sent Events stream gets a keep-alive comment (e.g. 15s).
    #[arg(long, env = "SSE_KEEP_ALIVE", default_value = "15s", global = true)]
    pub sse_keep_alive: String,
}

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable (and flag) at fault.
    pub variable: &'static str,
    /// What is wrong and what it expects.
    pub problem: String,
}

fn bad(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// GraphQL protection limits.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    /// Deepest selection.
    pub max_depth: usize,
    /// Highest complexity.
    pub max_complexity: usize,
    /// Largest document in bytes.
    pub max_document_bytes: usize,
    /// Most aliases.
    pub max_aliases: usize,
    /// Most operations per batch; 0 = batching off.
    pub max_batch: usize,
    /// Introspection on or off.
    pub introspection: bool,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database.
    pub database: DatabaseTarget,
    /// Pool settings.
    pub pool: PoolOptions,
    /// Listen address.
    pub host: IpAddr,
    /// Listen port.
    pub port: u16,
    /// Token verification.
    pub auth: AuthSettings,
    /// Set when the secret is a generated development one (its file).
    pub dev_secret_file: Option<PathBuf>,
    /// GraphQL limits.
    pub graphql: GraphqlLimits,
    /// Logging, CORS, limits and shutdown.
    pub operations: Operations,
    /// Live updates and sync.
    pub realtime: Realtime,
}

/// Live updates (subscriptions, SSE) and incremental sync.
#[derive(Debug, Clone)]
pub struct Realtime {
    /// Most open subscriptions per user per instance.
    pub max_subscriptions_per_user: usize,
    /// How long tombstones are kept.
    pub tombstone_retention: Duration,
    /// Keep-alive comment interval of SSE streams.
    pub sse_keep_alive: Duration,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers: only same-origin pages (and non-browser clients).
    Off,
    /// Any origin (`*`), without credentials.
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<String>),
}

/// The per-user rate limit: a bucket of `requests` tokens that refills over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// Bucket size: requests per window, and the largest burst.
    pub requests: u32,
    /// Time to refill an empty bucket.
    pub window: Duration,
}

/// Operating settings: logs, CORS, limits, shutdown.
#[derive(Debug, Clone)]
pub struct Operations {
    /// Log line format.
    pub log_format: LogFormat,
    /// CORS allow-list.
    pub cors_origins: CorsOrigins,
    /// True when the allow-list is development mode's default (CORS_ORIGINS unset).
    pub cors_development_default: bool,
    /// Preflight cache time.
    pub cors_max_age: Duration,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Per-user rate limit; `None` when off.
    pub rate_limit: Option<RateLimitPolicy>,
    /// Most open client connections.
    pub max_connections: usize,
    /// Bound on draining in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Time to send request headers, and the longest idle keep-alive gap.
    pub header_read_timeout: Duration,
    /// Time to send a request body.
    pub body_read_timeout: Duration,
    /// Rate limit for requests without a token, per client address; `None` when off.
    pub anonymous_rate_limit: Option<RateLimitPolicy>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// WebSocket limits.
    pub websocket: WebSocketLimits,
    /// Most tasks per user.
    pub max_tasks_per_user: u64,
}

/// Limits of the GraphQL WebSocket transport (the GraphQL limits apply to each operation too).
#[derive(Debug, Clone)]
pub struct WebSocketLimits {
    /// Time allowed between the upgrade and `connection_init`.
    pub init_timeout: Duration,
    /// Largest client message, in bytes.
    pub max_message_bytes: usize,
    /// Most operations running at once on one connection.
    pub max_operations: usize,
}

/// Parses `262144`, `256KiB`, `256k`, `1MiB`, `1M` (binary multiples: a body limit is about
/// buffers, not disk marketing).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || format!("expected a size such as 65536, 256KiB or 1MiB, got {text:?}");
    let n: usize = number.parse().map_err(|_| expected())?;
    let multiple = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(expected()),
    };
    n.checked_mul(multiple).ok_or_else(expected)
}

/// A whole number that must be at least 1 (a pool or cap of 0 would refuse everything).
fn at_least_one<T>(variable: &'static str, text: &str, what: &str) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    let n: T = number(variable, text, what)?;
    if n < T::from(1) {
        return Err(bad(variable, "must be at least 1"));
    }
    Ok(n)
}

/// A duration that must not be zero (a zero window or timeout would refuse everything).
fn nonzero_duration(variable: &'static str, text: &str) -> Result<Duration, ConfigError> {
    match duration(variable, text)? {
        zero if zero.is_zero() => Err(bad(variable, "must be longer than 0s")),
        positive => Ok(positive),
    }
}

/// Checks one CORS origin: `scheme://host[:port]`, nothing after it, as browsers send it.
fn cors_origin(text: &str) -> Result<String, ConfigError> {
    let problem = || {
        bad(
            "CORS_ORIGINS",
            format!(
                "{text:?} is not an origin; expected scheme://host[:port] such as \
                 http://localhost:3000, comma-separated, or *"
            ),
        )
    };
    let url = url::Url::parse(text).map_err(|_| problem())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare {
        return Err(problem());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem());
    }
    // `Url` lower-cases the host and drops a default port, as the browser's Origin does.
    Ok(url.origin().ascii_serialization())
}

impl Settings {
    /// The log format alone: logging starts before the rest is validated.
    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.log_format.trim().to_ascii_lowercase().as_str() {
            "pretty" | "text" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(bad(
                "LOG_FORMAT",
                format!("expected pretty or json, got {:?}", self.log_format),
            )),
        }
    }

    fn operations(&self, development: bool) -> Result<Operations, ConfigError> {
        let cors_development_default = development && self.cors_origins.is_none();
        let origins = if cors_development_default {
            DEVELOPMENT_CORS_ORIGINS
                .iter()
                .map(|o| o.to_string())
                .collect()
        } else {
            list(self.cors_origins.as_deref())
        };
        let cors_origins = if origins.is_empty() {
            CorsOrigins::Off
        } else if origins.iter().any(|o| o == "*") {
            if origins.len() > 1 {
                return Err(bad(
                    "CORS_ORIGINS",
                    "`*` cannot be combined with other origins",
                ));
            }
            CorsOrigins::Any
        } else {
            CorsOrigins::List(
                origins
                    .iter()
                    .map(|o| cors_origin(o))
                    .collect::<Result<_, _>>()?,
            )
        };
        let max_body_bytes =
            parse_bytes(&self.max_body_size).map_err(|problem| bad("MAX_BODY_SIZE", problem))?;
        if max_body_bytes == 0 {
            return Err(bad("MAX_BODY_SIZE", "must be at least 1 byte"));
        }
        let requests: u32 = number(
            "RATE_LIMIT",
            &self.rate_limit,
            "a number of requests (0 = off)",
        )?;
        let window = nonzero_duration("RATE_LIMIT_WINDOW", &self.rate_limit_window)?;
        let request_timeout = nonzero_duration("REQUEST_TIMEOUT", &self.request_timeout)?;
        let max_connections: usize = at_least_one(
            "MAX_CONNECTIONS",
            &self.max_connections,
            "a number of connections",
        )?;
        Ok(Operations {
            log_format: self.log_format()?,
            cors_origins,
            cors_development_default,
            cors_max_age: duration("CORS_MAX_AGE", &self.cors_max_age)?,
            max_body_bytes,
            request_timeout,
            rate_limit: (requests > 0).then_some(RateLimitPolicy { requests, window }),
            max_connections,
            shutdown_timeout: duration("SHUTDOWN_TIMEOUT", &self.shutdown_timeout)?,
            header_read_timeout: nonzero_duration(
                "HEADER_READ_TIMEOUT",
                &self.header_read_timeout,
            )?,
            body_read_timeout: nonzero_duration("BODY_READ_TIMEOUT", &self.body_read_timeout)?,
            anonymous_rate_limit: {
                let requests: u32 = number(
                    "ANONYMOUS_RATE_LIMIT",
                    &self.anonymous_rate_limit,
                    "a number of requests (0 = off)",
                )?;
                (requests > 0).then_some(RateLimitPolicy { requests, window })
            },
            trusted_proxies: list(Some(self.trusted_proxies.as_str()))
                .iter()
                .map(|ip| {
                    ip.parse::<IpAddr>().map_err(|_| {
                        bad(
                            "TRUSTED_PROXIES",
                            format!("{ip:?} is not an IP address (expected e.g. 10.0.0.1)"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            websocket: WebSocketLimits {
                init_timeout: nonzero_duration("WS_INIT_TIMEOUT", &self.ws_init_timeout)?,
                max_message_bytes: match parse_bytes(&self.ws_max_message_size) {
                    Ok(0) => return Err(bad("WS_MAX_MESSAGE_SIZE", "must be at least 1 byte")),
                    Ok(n) => n,
                    Err(problem) => return Err(bad("WS_MAX_MESSAGE_SIZE", problem)),
                },
                max_operations: at_least_one(
                    "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                    &self.ws_max_subscriptions_per_connection,
                    "a number of operations",
                )?,
            },
            max_tasks_per_user: at_least_one(
                "MAX_TASKS_PER_USER",
                &self.max_tasks_per_user,
                "a number of tasks",
            )?,
        })
    }
}

/// Parses `90`, `90s`, `1500ms`, `15m`, `1h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 30s, 5m or 1h, got {text:?}"))?;
    let multiple: u64 = match unit.trim() {
        "" | "s" => 1,
        "ms" => return Ok(Duration::from_millis(n)),
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "expected a duration such as 30s, 5m or 1h, got {text:?}"
            ));
        }
    };
    n.checked_mul(multiple)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("the duration {text:?} is too long"))
}

fn number<T: std::str::FromStr>(
    variable: &'static str,
    text: &str,
    what: &str,
) -> Result<T, ConfigError> {
    text.trim()
        .parse()
        .map_err(|_| bad(variable, format!("expected {what}, got {text:?}")))
}

pub(crate) fn duration(variable: &'static str, text: &str) -> Result<Duration, ConfigError> {
    parse_duration(text).map_err(|problem| bad(variable, problem))
}

pub(crate) fn boolean(variable: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(
            variable,
            format!("expected true or false, got {text:?}"),
        )),
    }
}

fn list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn algorithms(text: Option<&str>) -> Result<Vec<Algorithm>, ConfigError> {
    // Empty: `BetterAuthArgs::apply` picks the default, which depends on the keys configured.
    let names = list(text);
    names
        .iter()
        .map(|name| {
            let upper = name.to_ascii_uppercase();
            match upper.as_str() {
                "EDDSA" | "ED25519" => Ok(Algorithm::EdDSA),
                "ES512" => Err(bad(
                    "JWT_ALGORITHMS",
                    "ES512 is not supported (jsonwebtoken has no P-521); configure Better Auth \
                     with EdDSA (its default), ES256, RS256 or PS256",
                )),
                _ => upper.parse::<Algorithm>().map_err(|_| {
                    bad(
                        "JWT_ALGORITHMS",
                        format!(
                            "unknown algorithm {name:?}; expected names such as HS256, EdDSA, \
                             ES256, RS256, PS256"
                        ),
                    )
                }),
            }
        })
        .collect()
}

impl Settings {
    /// Validates every setting; the first bad one is reported.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let database = DatabaseTarget::parse(&self.database_url)
            .map_err(|problem| bad("DATABASE_URL", problem))?;
        let host: IpAddr = number(
            "HOST",
            &self.host,
            "an IP address such as 127.0.0.1 or 0.0.0.0",
        )?;
        let port: u16 = number("PORT", &self.port, "a port number from 0 to 65535")?;
        let max_size: u32 = at_least_one(
            "DB_POOL_SIZE",
            &self.db_pool_size,
            "a number of connections",
        )?;
        let pool = PoolOptions {
            max_size,
            acquire_timeout: duration("DB_TIMEOUT", &self.db_timeout)?,
        };

        let secret = match (&self.auth_secret, &self.jwt_secret) {
            (Some(s), _) => Some(("BETTER_AUTH_SECRET", s)),
            (None, Some(s)) => Some(("JWT_SECRET", s)),
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
        let algorithms = algorithms(self.jwt_algorithms.as_deref())?;
        let auth = AuthSettings {
            secret: secret.map(|(_, s)| SecretKey::new(s.as_bytes())),
            algorithms,
            issuer: self
                .jwt_issuer
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            audiences: list(self.jwt_audience.as_deref()),
            leeway: duration("JWT_LEEWAY", &self.jwt_leeway)?,
            // The Better Auth settings are filled in just below.
            ..AuthSettings::default()
        };
        let auth = self.better_auth.apply(auth)?;
        let graphql = GraphqlLimits {
            max_depth: number(
                "GRAPHQL_MAX_DEPTH",
                &self.graphql_max_depth,
                "a whole number",
            )?,
            max_complexity: number(
                "GRAPHQL_MAX_COMPLEXITY",
                &self.graphql_max_complexity,
                "a whole number",
            )?,
            max_document_bytes: number(
                "GRAPHQL_MAX_DOCUMENT_BYTES",
                &self.graphql_max_document_bytes,
                "a number of bytes",
            )?,
            max_aliases: number(
                "GRAPHQL_MAX_ALIASES",
                &self.graphql_max_aliases,
                "a whole number",
            )?,
            max_batch: number(
                "GRAPHQL_MAX_BATCH",
                &self.graphql_max_batch,
                "a whole number (0 = off)",
            )?,
            introspection: boolean("GRAPHQL_INTROSPECTION", &self.graphql_introspection)?,
        };
        // No verification configured: development mode, with the development secret.
        let development = auth.secret.is_none() && auth.jwks.is_none();
        Ok(Config {
            database,
            pool,
            host,
            port,
            auth,
            dev_secret_file: development.then(|| self.dev_secret_path()),
            graphql,
            operations: self.operations(development)?,
            realtime: Realtime {
                max_subscriptions_per_user: at_least_one(
                    "MAX_SUBSCRIPTIONS_PER_USER",
                    &self.max_subscriptions_per_user,
                    "a number of subscriptions",
                )?,
                tombstone_retention: nonzero_duration(
                    "TOMBSTONE_RETENTION",
                    &self.tombstone_retention,
                )?,
                sse_keep_alive: nonzero_duration("SSE_KEEP_ALIVE", &self.sse_keep_alive)?,
            },
        })
    }

    fn dev_secret_path(&self) -> PathBuf {
        self.dev_secret_file
            .clone()
            .unwrap_or_else(default_dev_secret_path)
    }
}

/// The development secret's one place, whatever DATABASE_URL and the working directory are,
/// so that `serve` and `token` always agree: `$XDG_CONFIG_HOME/todo-api/dev-secret`, else
/// `$HOME/.config/todo-api/dev-secret`, else `.todo-api.dev-secret` in the working directory.
pub fn default_dev_secret_path() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let config_home = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")));
    match config_home {
        Some(dir) => dir.join("todo-api").join("dev-secret"),
        None => PathBuf::from(".todo-api.dev-secret"),
    }
}

impl Config {
    /// Development mode: no verification was configured, so tokens are signed with the
    /// development secret, and the server may only listen on a loopback address.
    pub fn is_development(&self) -> bool {
        self.dev_secret_file.is_some() && self.host.is_loopback()
    }

    /// True when no verification is configured and a development secret must stand in.
    pub fn needs_dev_secret(&self) -> bool {
        // Better Auth's JWKS is real verification: the development secret must not stand in
        // beside it.
        self.auth.secret.is_none() && self.auth.jwks.is_none()
    }

    /// Loads (or creates) the development secret and makes it the HS256 key. Only for
    /// loopback addresses and the `token` command; the caller says so in the log.
    pub fn use_dev_secret(&mut self) -> std::io::Result<PathBuf> {
        let path = self
            .dev_secret_file
            .clone()
            .unwrap_or_else(default_dev_secret_path);
        let secret = load_or_create_secret(&path)?;
        self.auth.secret = Some(SecretKey::new(secret.into_bytes()));
        if !self.auth.algorithms.contains(&Algorithm::HS256) {
            self.auth.algorithms.push(Algorithm::HS256);
        }
        Ok(path)
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.host, self.port)
    }
}

/// Reads the development secret, or creates it (mode 0600, in a 0700 directory). The file is
/// never followed through a symbolic link, and one that other users could read is refused:
/// anyone who reads it can sign tokens for any user.
fn load_or_create_secret(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read, Write};
    let shown = path.display();
    match open_no_follow(path, std::fs::OpenOptions::new().read(true)) {
        Ok(mut file) => {
            let metadata = file.metadata()?;
            if !metadata.is_file() {
                return Err(Error::other(format!("{shown} is not a regular file")));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(Error::other(format!(
                        "{shown} can be read by other users (mode {mode:03o}), and whoever reads \
                         it can sign tokens for any user; run `chmod 600 {shown}` (or delete \
                         the file to generate a new secret)"
                    )));
                }
            }
            let mut existing = String::new();
            file.read_to_string(&mut existing)?;
            if existing.trim().len() >= MIN_SECRET_BYTES {
                return Ok(existing.trim().to_owned());
            }
            // Too short to be ours (an empty file, say): replaced below with a new secret.
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) if is_symlink_error(&e) => {
            return Err(Error::other(format!(
                "{shown} is a symbolic link; the development secret is never read or written \
                 through one. Remove the link, or set DEV_SECRET_FILE to a regular file"
            )));
        }
        Err(e) => return Err(e),
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = open_no_follow(path, &mut options).map_err(|e| {
        if is_symlink_error(&e) {
            Error::other(format!(
                "{shown} is a symbolic link; refusing to write through it"
            ))
        } else {
            e
        }
    })?;
    // An existing short file keeps its mode on open: tighten it before writing the secret.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(secret.as_bytes())?;
    Ok(secret)
}

/// Opens `path` without following a symbolic link in its last component (O_NOFOLLOW).
fn open_no_follow(
    path: &Path,
    options: &mut std::fs::OpenOptions,
) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// O_NOFOLLOW on a symbolic link fails with ELOOP.
fn is_symlink_error(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// Parses settings from command-line style arguments (flags override the environment):
/// for tests and embedding.
pub fn settings_from_args<I, T>(args: I) -> Result<Settings, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        settings: Settings,
    }
    Wrapper::try_parse_from(
        std::iter::once(std::ffi::OsString::from("todo-api"))
            .chain(args.into_iter().map(Into::into)),
    )
    .map(|w| w.settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
