//! Every setting, from the environment (and `.env`) or the matching command-line flag, read
//! and validated once at start. A bad value stops start-up with a message naming the variable
//! and what it expects. Secrets are never logged or printed.
//!
//! Each setting is declared once, as a typed clap field (flag, environment variable, default,
//! help and value parser), in the file of its concern:
//!
//! - `database`: `DATABASE_URL` and the pool.
//! - `server`: listening, logs, CORS, shutdown.
//! - `auth` and `better_auth`: token verification and the development secret's file.
//! - `limits`: body, time, rate, connections, WebSocket and GraphQL limits.
//! - `realtime`: subscriptions, sync tombstones, SSE keep-alives, idempotency keys.
//! - `value`: the value parsers, [`ConfigError`] and [`Secret`]; `validate`: [`Config`].
//! - `reference`: `.env.example` and `docs/settings.md`, rendered from the declarations (a
//!   test fails when either file differs).
//!
//! A feature's own settings are declared in its folder and flattened in here with one line:
//! `tasks::webhooks::settings` (caps, timeout, retries, private addresses) and
//! `tasks::reminders::settings` (how often due reminders fire).
//!
//! This root only declares [`Settings`] and re-exports: it imports nothing else of the crate
//! but those feature settings (which import only `value`), so modules that read a `Config`
//! (`server`, `graphql`, …) never depend back on `auth` or `db` through it.

mod auth;
mod better_auth;
mod database;
mod limits;
mod realtime;
pub mod reference;
mod server;
mod validate;
pub(crate) mod value;

use clap::Args;

pub use self::auth::AuthArgs;
pub use self::better_auth::{BetterAuthArgs, Lookup};
pub use self::database::DatabaseArgs;
pub use self::limits::{
    ConnectionShares, GraphqlLimits, LimitsArgs, RateLimitPolicy, WebSocketLimits,
};
pub use self::realtime::{Realtime, RealtimeArgs};
pub use self::server::{CorsOrigins, DEVELOPMENT_CORS_ORIGINS, LogFormat, ServerArgs};
pub use self::validate::{Config, Operations};
pub use self::value::{ConfigError, Parsed, Secret, parse_bytes, parse_duration};
pub use crate::tasks::reminders::settings::{Reminders, RemindersArgs};
pub use crate::tasks::webhooks::settings::{Webhooks, WebhooksArgs};

/// The settings as given, before validation, by concern. Each has an environment variable and
/// a flag; `--help` lists them in this order.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// `DATABASE_URL` and the pool.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Listening, logs, CORS, shutdown.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Token verification and the development secret.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Limits.
    #[command(flatten)]
    pub limits: LimitsArgs,
    /// Live updates and sync.
    #[command(flatten)]
    pub realtime: RealtimeArgs,
    /// Webhooks.
    #[command(flatten)]
    pub webhooks: WebhooksArgs,
    /// Reminders.
    #[command(flatten)]
    pub reminders: RemindersArgs,
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
mod tests;
