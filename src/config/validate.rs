//! [`Config`], the validated settings the rest of the server reads, and the two steps that
//! make it: `Settings::validate` (every value checked, the first bad one reported by its
//! variable) and, in development mode only, [`Config::with_dev_secret`]. Nothing changes a
//! `Config` once it is made.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::Settings;
use super::limits::{ConnectionShares, GraphqlLimits, RateLimitPolicy, WebSocketLimits};
use super::realtime::Realtime;
use super::server::{CorsOrigins, LogFormat};
use super::value::ConfigError;
use crate::auth::{AuthSettings, SecretKey, load_or_create_secret};
use crate::db::{DatabaseTarget, PgRoutes, PoolOptions};
use crate::tasks::reminders::settings::Reminders;
use crate::tasks::webhooks::settings::Webhooks;

/// Validated configuration. Its `Debug` shows neither the secret nor the database password.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database.
    pub database: DatabaseTarget,
    /// PostgreSQL: DATABASE_DIRECT_URL (or what stands for it) and whether DATABASE_URL is a
    /// pooler.
    pub routes: Option<PgRoutes>,
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
    /// Webhook delivery.
    pub webhooks: Webhooks,
    /// Reminders.
    pub reminders: Reminders,
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
    /// Longest a client may go without accepting response bytes before it is dropped.
    pub slow_client_timeout: Duration,
    /// Rate limit for requests without a token, per client address; `None` when off.
    pub anonymous_rate_limit: Option<RateLimitPolicy>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// WebSocket limits.
    pub websocket: WebSocketLimits,
    /// Live connections per user and in all; connections without a user per address.
    pub connection_shares: ConnectionShares,
    /// Most tasks per user.
    pub max_tasks_per_user: u64,
    /// Most different tag names per user.
    pub max_tags_per_user: u64,
    /// Most lists per user.
    pub max_lists_per_user: u64,
    /// Most members per shared list (besides its owner).
    pub max_members_per_list: u64,
    /// Most live invite links per list.
    pub max_invites_per_list: u64,
    /// How long revoked and expired invite links are kept.
    pub invite_retention: Duration,
    /// REST writes without `If-Match` are refused (428).
    pub require_if_match: bool,
    /// Longest `/readyz` waits for the database before answering 503.
    pub ready_timeout: Duration,
}

impl Settings {
    /// The log format alone: logging starts before the rest is validated.
    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        self.server.log_format.get()
    }

    /// Validates every setting; the first bad one is reported. In development mode (no
    /// verification configured) the result still needs [`Config::with_dev_secret`].
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let database = self.database.target()?;
        let routes = self.database.routes(&database)?;
        let host = self.server.host.get()?;
        let port = self.server.port.get()?;
        let pool = self.database.pool()?;
        let auth = self.auth.auth()?;
        let graphql = self.limits.graphql()?;
        // No verification configured: development mode, with the development secret.
        let development = auth.secret.is_none() && auth.jwks.is_none();
        Ok(Config {
            database,
            routes,
            pool,
            host,
            port,
            auth,
            dev_secret_file: development.then(|| self.auth.dev_secret_path()),
            graphql,
            operations: self.operations(development)?,
            realtime: self.realtime.realtime()?,
            webhooks: self.webhooks.webhooks(development)?,
            reminders: self.reminders.reminders()?,
        })
    }

    fn operations(&self, development: bool) -> Result<Operations, ConfigError> {
        let (server, limits) = (&self.server, &self.limits);
        let (cors_origins, cors_development_default) = server.cors(development)?;
        let max_body_bytes = limits.max_body_size.get()?;
        let (rate_limit, anonymous_rate_limit) = limits.rate_limits()?;
        Ok(Operations {
            log_format: server.log_format.get()?,
            cors_origins,
            cors_development_default,
            cors_max_age: server.cors_max_age.get()?,
            max_body_bytes,
            request_timeout: limits.request_timeout.get()?,
            rate_limit,
            max_connections: limits.max_connections.get()?,
            shutdown_timeout: server.shutdown_timeout.get()?,
            header_read_timeout: limits.header_read_timeout.get()?,
            body_read_timeout: limits.body_read_timeout.get()?,
            slow_client_timeout: limits.slow_client_timeout.get()?,
            anonymous_rate_limit,
            trusted_proxies: limits.trusted_proxies.get()?,
            websocket: limits.websocket()?,
            connection_shares: limits.connection_shares()?,
            max_tasks_per_user: limits.max_tasks_per_user.get()?,
            max_tags_per_user: limits.max_tags_per_user.get()?,
            max_lists_per_user: limits.max_lists_per_user.get()?,
            max_members_per_list: limits.max_members_per_list.get()?,
            max_invites_per_list: limits.max_invites_per_list.get()?,
            invite_retention: limits.invite_retention.get()?,
            require_if_match: limits.require_if_match.get()?,
            ready_timeout: self.database.ready_timeout.get()?,
        })
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

    /// The configuration with the development secret (loaded, or created) as its HS256 key.
    /// Only for loopback addresses and the `token` command; the caller says so in the log.
    /// The file is `dev_secret_file`, which `validate` sets whenever a secret is needed.
    pub fn with_dev_secret(self) -> std::io::Result<Config> {
        let path = self
            .dev_secret_file
            .clone()
            .unwrap_or_else(crate::auth::default_dev_secret_path);
        let secret = load_or_create_secret(&path)?;
        let mut algorithms = self.auth.algorithms;
        if !algorithms.contains(&Algorithm::HS256) {
            algorithms.push(Algorithm::HS256);
        }
        Ok(Config {
            auth: AuthSettings {
                secret: Some(SecretKey::new(secret.into_bytes())),
                algorithms,
                ..self.auth
            },
            dev_secret_file: Some(path),
            ..self
        })
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}
