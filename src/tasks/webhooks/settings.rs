//! The webhook settings (issue 43): how many endpoints a user may have, how long an attempt
//! may take, when a failed message is tried again, when an endpoint failing everything is
//! disabled, and whether deliveries may go to private addresses and plain http. Declares and
//! reads them, here in the feature's folder; `config::Settings` flattens them in with one line.

use std::time::Duration;

use clap::Args;

use crate::config::value::{ConfigError, Parsed, check, checked, list, parse_duration};

/// The webhook settings as given.
#[derive(Debug, Clone, Args)]
pub struct WebhooksArgs {
    /// Most webhooks one user may have; another is refused with 409 LIMIT_EXCEEDED.
    #[arg(
        long,
        env = "MAX_WEBHOOKS_PER_USER",
        default_value = "10",
        value_parser = check::at_least_one::<u64>("a number of webhooks"),
        global = true
    )]
    pub max_webhooks_per_user: Parsed<u64>,

    /// How long one delivery attempt may take (connecting, sending, the answer's status);
    /// an endpoint that has not answered 2xx by then has failed that attempt (e.g. 10s).
    #[arg(
        long,
        env = "WEBHOOK_TIMEOUT",
        default_value = "10s",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub webhook_timeout: Parsed<Duration>,

    /// When a message that failed is tried again: the delay after each failed attempt,
    /// comma-separated (the first retry 5s after the first attempt, …); after the last, the
    /// message is marked failed.
    #[arg(
        long,
        env = "WEBHOOK_RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h",
        value_parser = checked(durations),
        global = true
    )]
    pub webhook_retry_schedule: Parsed<Vec<Duration>>,

    /// An endpoint whose every attempt has failed for this long (since its last success) is
    /// disabled, with the reason in `disabled_reason`; `"disabled": false` re-enables it.
    #[arg(
        long,
        env = "WEBHOOK_DISABLE_AFTER",
        default_value = "5d",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub webhook_disable_after: Parsed<Duration>,

    /// How long delivered and failed messages (and their attempts) are kept for the
    /// deliveries log; older ones are dropped in the background (e.g. 7d).
    #[arg(
        long,
        env = "WEBHOOK_LOG_RETENTION",
        default_value = "7d",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub webhook_log_retention: Parsed<Duration>,

    /// Allow webhook URLs on loopback and private addresses, and plain http (for tests and
    /// local work). Unset: on in development mode (no token verification configured), off
    /// otherwise, where deliveries go only to https URLs resolving to public addresses.
    #[arg(
        long,
        env = "WEBHOOK_ALLOW_PRIVATE",
        value_parser = check::boolean(),
        global = true
    )]
    pub webhook_allow_private: Option<Parsed<bool>>,
}

/// Webhook delivery.
#[derive(Debug, Clone)]
pub struct Webhooks {
    /// Most webhooks per user.
    pub max_per_user: u64,
    /// Longest one attempt may take.
    pub timeout: Duration,
    /// The delay before each retry.
    pub retry_schedule: Vec<Duration>,
    /// How long an endpoint may fail everything before it is disabled.
    pub disable_after: Duration,
    /// How long finished messages are kept.
    pub log_retention: Duration,
    /// Private addresses and plain http allowed.
    pub allow_private: bool,
}

impl WebhooksArgs {
    /// The webhook settings; `development` decides WEBHOOK_ALLOW_PRIVATE when it is unset.
    pub fn webhooks(&self, development: bool) -> Result<Webhooks, ConfigError> {
        let allow_private = match &self.webhook_allow_private {
            Some(given) => given.get()?,
            None => development,
        };
        Ok(Webhooks {
            max_per_user: self.max_webhooks_per_user.get()?,
            timeout: self.webhook_timeout.get()?,
            retry_schedule: self.webhook_retry_schedule.get()?,
            disable_after: self.webhook_disable_after.get()?,
            log_retention: self.webhook_log_retention.get()?,
            allow_private,
        })
    }
}

/// A comma-separated list of durations (each longer than zero); empty means no retry.
fn durations(text: &str) -> Result<Vec<Duration>, String> {
    list(text)
        .iter()
        .map(|item| match parse_duration(item)? {
            zero if zero.is_zero() => Err(format!("{item:?}: each delay must be longer than 0s")),
            delay => Ok(delay),
        })
        .collect()
}
