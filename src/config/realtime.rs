//! The live-update and sync settings: subscriptions per user, how long deletions are
//! remembered, SSE keep-alives, the event relay's own connections, and how long offline
//! clients' idempotency keys are kept. Declares and reads them; the event router, sync and
//! idempotent writes are in `tasks`.

use std::time::Duration;

use clap::Args;

use super::value::{ConfigError, Parsed, check};

/// The realtime settings as given.
#[derive(Debug, Clone, Args)]
pub struct RealtimeArgs {
    /// Most live-update subscriptions (GraphQL and SSE together) one user may have open on
    /// one instance; more are refused (GraphQL TOO_MANY_SUBSCRIPTIONS, SSE 429).
    #[arg(
        long,
        env = "MAX_SUBSCRIPTIONS_PER_USER",
        default_value = "100",
        value_parser = check::at_least_one::<usize>("a number of subscriptions"),
        global = true
    )]
    pub max_subscriptions_per_user: Parsed<usize>,

    /// How long deletions are remembered for incremental sync (e.g. 30d); an older cursor is
    /// answered 410 CURSOR_EXPIRED.
    #[arg(
        long,
        env = "TOMBSTONE_RETENTION",
        default_value = "30d",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub tombstone_retention: Parsed<Duration>,

    /// How often every user's tombstones older than TOMBSTONE_RETENTION, and the invite links
    /// revoked or expired longer than INVITE_RETENTION ago, are dropped, in the background
    /// (e.g. 1h).
    #[arg(
        long,
        env = "TOMBSTONE_PRUNE_INTERVAL",
        default_value = "1h",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub tombstone_prune_interval: Parsed<Duration>,

    /// How often an idle Server-Sent Events stream gets a keep-alive comment (e.g. 15s).
    #[arg(
        long,
        env = "SSE_KEEP_ALIVE",
        default_value = "15s",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub sse_keep_alive: Parsed<Duration>,

    /// PostgreSQL: connections (a pool apart from DB_POOL_SIZE's) that read the changes an
    /// event names without carrying them (a row too large for the payload, a statement that
    /// changed several, a gap between two signals) and the subscribed users' change counters
    /// every 500 ms (a lost signal), so a busy request pool neither delays nor drops events.
    #[arg(
        long,
        env = "EVENT_FETCH_CONNECTIONS",
        default_value = "2",
        value_parser = check::at_least_one::<u32>("a number of connections"),
        global = true
    )]
    pub event_fetch_connections: Parsed<u32>,

    /// How long the outcome of a write sent with an Idempotency-Key (or GraphQL
    /// idempotencyKey) is kept for its retries (e.g. 24h); after it, the key is a new request.
    #[arg(
        long,
        env = "IDEMPOTENCY_KEY_RETENTION",
        default_value = "24h",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub idempotency_key_retention: Parsed<Duration>,

    /// How often every user's idempotency keys older than IDEMPOTENCY_KEY_RETENTION are
    /// dropped, in the background (e.g. 1h).
    #[arg(
        long,
        env = "IDEMPOTENCY_KEY_PRUNE_INTERVAL",
        default_value = "1h",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub idempotency_key_prune_interval: Parsed<Duration>,

    /// Most idempotency keys one user may have stored (within IDEMPOTENCY_KEY_RETENTION); a
    /// new key beyond it is refused (REST 429, GraphQL LIMIT_EXCEEDED) until older ones expire.
    #[arg(
        long,
        env = "MAX_IDEMPOTENCY_KEYS_PER_USER",
        default_value = "10000",
        value_parser = check::at_least_one::<u64>("a number of keys"),
        global = true
    )]
    pub max_idempotency_keys_per_user: Parsed<u64>,

    /// PostgreSQL: how often each instance sends itself a heartbeat through DATABASE_URL and
    /// expects it back on its event listener (e.g. 15s); one not back within the same time
    /// marks `/readyz` check `events` failing, logs why and tells subscribers to resync.
    #[arg(
        long,
        env = "EVENT_HEARTBEAT_INTERVAL",
        default_value = "15s",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub event_heartbeat_interval: Parsed<Duration>,
}

/// Live updates (subscriptions, SSE) and incremental sync.
#[derive(Debug, Clone)]
pub struct Realtime {
    /// Most open subscriptions per user per instance.
    pub max_subscriptions_per_user: usize,
    /// How long tombstones are kept.
    pub tombstone_retention: Duration,
    /// How often expired tombstones are dropped.
    pub tombstone_prune_interval: Duration,
    /// Keep-alive comment interval of SSE streams.
    pub sse_keep_alive: Duration,
    /// Size of the pool that completes events too large for their payload (PostgreSQL).
    pub event_fetch_connections: u32,
    /// How long idempotency outcomes are kept.
    pub idempotency_key_retention: Duration,
    /// How often expired idempotency outcomes are dropped.
    pub idempotency_key_prune_interval: Duration,
    /// Most idempotency outcomes stored per user.
    pub max_idempotency_keys_per_user: u64,
    /// How often the event listener proves it hears (PostgreSQL), and its deadline.
    pub event_heartbeat_interval: Duration,
}

impl RealtimeArgs {
    /// The realtime settings.
    pub fn realtime(&self) -> Result<Realtime, ConfigError> {
        Ok(Realtime {
            max_subscriptions_per_user: self.max_subscriptions_per_user.get()?,
            tombstone_retention: self.tombstone_retention.get()?,
            tombstone_prune_interval: self.tombstone_prune_interval.get()?,
            sse_keep_alive: self.sse_keep_alive.get()?,
            event_fetch_connections: self.event_fetch_connections.get()?,
            idempotency_key_retention: self.idempotency_key_retention.get()?,
            idempotency_key_prune_interval: self.idempotency_key_prune_interval.get()?,
            max_idempotency_keys_per_user: self.max_idempotency_keys_per_user.get()?,
            event_heartbeat_interval: self.event_heartbeat_interval.get()?,
        })
    }
}
