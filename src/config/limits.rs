//! The limits that protect the server: request body, time and rate (per user and per client
//! address), connections and their timeouts, WebSocket messages, tasks per user, and the
//! GraphQL document limits. Declares and reads them; enforcing them is `server`'s and
//! `graphql`'s business.

use std::net::IpAddr;
use std::time::Duration;

use clap::Args;

use super::value::{ConfigError, Parsed, bad, check, checked, list};

/// The limit settings as given.
#[derive(Debug, Clone, Args)]
pub struct LimitsArgs {
    /// GraphQL: deepest selection allowed.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value = "10",
          value_parser = check::number::<usize>("a whole number"), global = true)]
    pub graphql_max_depth: Parsed<usize>,

    /// GraphQL: highest query complexity allowed.
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value = "250",
          value_parser = check::number::<usize>("a whole number"), global = true)]
    pub graphql_max_complexity: Parsed<usize>,

    /// GraphQL: most bytes one response may hold (bytes, or with KiB / MiB), counted while it
    /// is built; past it the answer is one RESPONSE_TOO_LARGE error with no data.
    #[arg(long, env = "GRAPHQL_MAX_RESPONSE_BYTES", default_value = "16MiB",
          value_parser = check::bytes(), global = true)]
    pub graphql_max_response_bytes: Parsed<usize>,

    /// GraphQL: most bytes all responses being built or sent hold together (bytes, or with
    /// KiB / MiB; at least GRAPHQL_MAX_RESPONSE_BYTES), counted as each is built and given
    /// back when it has been sent; a response that needs more waits briefly, then is answered
    /// 503 with one SERVICE_UNAVAILABLE error.
    #[arg(long, env = "GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES", default_value = "64MiB",
          value_parser = check::bytes(), global = true)]
    pub graphql_max_in_flight_response_bytes: Parsed<usize>,

    /// GraphQL: largest query document, in bytes.
    #[arg(long, env = "GRAPHQL_MAX_DOCUMENT_BYTES", default_value = "16384",
          value_parser = check::number::<usize>("a number of bytes"), global = true)]
    pub graphql_max_document_bytes: Parsed<usize>,

    /// GraphQL: most aliases in one document.
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value = "30",
          value_parser = check::number::<usize>("a whole number"), global = true)]
    pub graphql_max_aliases: Parsed<usize>,

    /// GraphQL: most operations in one batched request (0 turns batching off).
    #[arg(long, env = "GRAPHQL_MAX_BATCH", default_value = "0",
          value_parser = check::number::<usize>("a whole number (0 = off)"), global = true)]
    pub graphql_max_batch: Parsed<usize>,

    /// GraphQL: answer introspection queries (turn off in production if you like).
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value = "true",
          value_parser = check::boolean(), global = true)]
    pub graphql_introspection: Parsed<bool>,

    /// Largest request body (bytes, or with KiB / MiB); a larger one is answered 413.
    #[arg(long, env = "MAX_BODY_SIZE", default_value = "256KiB",
          value_parser = check::bytes(), global = true)]
    pub max_body_size: Parsed<usize>,

    /// Longest a request may take before it is answered 408 (e.g. 30s).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s",
          value_parser = check::nonzero_duration(), global = true)]
    pub request_timeout: Parsed<Duration>,

    /// Requests each user may make per RATE_LIMIT_WINDOW (a token bucket, so also the largest
    /// burst); more are answered 429. 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT", default_value = "300",
          value_parser = check::number::<u32>("a number of requests (0 = off)"), global = true)]
    pub rate_limit: Parsed<u32>,

    /// The window of RATE_LIMIT: the bucket refills completely over this time (e.g. 60s).
    #[arg(long, env = "RATE_LIMIT_WINDOW", default_value = "60s",
          value_parser = check::nonzero_duration(), global = true)]
    pub rate_limit_window: Parsed<Duration>,

    /// Most client connections open at once; a further one closes the connection idle the
    /// longest between requests, or waits to be accepted while all are busy.
    #[arg(long, env = "MAX_CONNECTIONS", default_value = "1024",
          value_parser = check::at_least_one::<usize>("a number of connections"), global = true)]
    pub max_connections: Parsed<usize>,

    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open waiting for the next request (e.g. 10s).
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s",
          value_parser = check::nonzero_duration(), global = true)]
    pub header_read_timeout: Parsed<Duration>,

    /// How long a client may take to send a request's body before it is answered 408.
    #[arg(long, env = "BODY_READ_TIMEOUT", default_value = "10s",
          value_parser = check::nonzero_duration(), global = true)]
    pub body_read_timeout: Parsed<Duration>,

    /// How long a client may go without accepting any of a response's bytes (a stream, a
    /// long list, a WebSocket message) before its connection is closed (e.g. 30s).
    #[arg(long, env = "SLOW_CLIENT_TIMEOUT", default_value = "30s",
          value_parser = check::nonzero_duration(), global = true)]
    pub slow_client_timeout: Parsed<Duration>,

    /// Requests without a token each client address may make per RATE_LIMIT_WINDOW; more are
    /// answered 429. 0 turns the limit off.
    #[arg(long, env = "ANONYMOUS_RATE_LIMIT", default_value = "60",
          value_parser = check::number::<u32>("a number of requests (0 = off)"), global = true)]
    pub anonymous_rate_limit: Parsed<u32>,

    /// Reverse proxies (IP addresses, comma-separated) whose X-Forwarded-For names the client
    /// address for the anonymous rate limit. Empty: X-Forwarded-For is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "",
          value_parser = checked(ip_list), global = true)]
    pub trusted_proxies: Parsed<Vec<IpAddr>>,

    /// WebSocket: how long a client has to send `connection_init` after connecting before the
    /// socket is closed with 4408.
    #[arg(long, env = "WS_INIT_TIMEOUT", default_value = "10s",
          value_parser = check::nonzero_duration(), global = true)]
    pub ws_init_timeout: Parsed<Duration>,

    /// WebSocket: largest message a client may send (bytes, or with KiB / MiB); a larger one
    /// closes the socket with 1009.
    #[arg(long, env = "WS_MAX_MESSAGE_SIZE", default_value = "64KiB",
          value_parser = check::bytes(), global = true)]
    pub ws_max_message_size: Parsed<usize>,

    /// WebSocket: most operations running at once on one connection; one more is refused
    /// with a graphql-ws `error` (LIMIT_EXCEEDED).
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value = "50",
          value_parser = check::at_least_one::<usize>("a number of operations"), global = true)]
    pub ws_max_subscriptions_per_connection: Parsed<usize>,

    /// WebSocket: how long an authenticated socket may stay open with no operation running
    /// before it is closed with 4410 (e.g. 5m).
    #[arg(long, env = "WS_IDLE_TIMEOUT", default_value = "5m",
          value_parser = check::nonzero_duration(), global = true)]
    pub ws_idle_timeout: Parsed<Duration>,

    /// Most live connections (GraphQL WebSockets and SSE streams together) one user may have
    /// open on one instance; one more is refused (SSE 429, WebSocket close 4430).
    #[arg(long, env = "MAX_LIVE_CONNECTIONS_PER_USER", default_value = "16",
          value_parser = check::at_least_one::<usize>("a number of connections"), global = true)]
    pub max_live_connections_per_user: Parsed<usize>,

    /// Percentage of MAX_CONNECTIONS that live connections (WebSockets and SSE streams of all
    /// users together) may hold, so the rest stays free for ordinary requests; past it a new
    /// one is refused (SSE 503, WebSocket close 4503).
    #[arg(long, env = "LIVE_CONNECTION_SHARE", default_value = "50%",
          value_parser = checked(percentage), global = true)]
    pub live_connection_share: Parsed<u8>,

    /// Most connections one client address (X-Forwarded-For behind TRUSTED_PROXIES) may hold
    /// open without a verified user: sockets that have sent nothing yet, WebSockets before
    /// `connection_init`. One more is closed at once (a WebSocket upgrade: 429).
    #[arg(long, env = "MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS", default_value = "64",
          value_parser = check::at_least_one::<usize>("a number of connections"), global = true)]
    pub max_unauthenticated_connections_per_address: Parsed<usize>,

    /// Percentage of MAX_CONNECTIONS one user may hold open, of any kind (keep-alive, SSE,
    /// WebSocket), counting requests without a token for their client address. One more closes
    /// that user's longest idle connection, or is refused (429, connection closed) when all
    /// are busy.
    #[arg(long, env = "CONNECTION_SHARE_PER_USER", default_value = "25%",
          value_parser = checked(percentage), global = true)]
    pub connection_share_per_user: Parsed<u8>,

    /// Most tasks one user may have; creating one more is a 409 (REST) or LIMIT_EXCEEDED
    /// (GraphQL).
    #[arg(long, env = "MAX_TASKS_PER_USER", default_value = "10000",
          value_parser = check::at_least_one::<u64>("a number of tasks"), global = true)]
    pub max_tasks_per_user: Parsed<u64>,

    /// Most different tag names one user's tasks may carry (ignoring case); a create or update
    /// that would bring one more is a 409 (REST) or LIMIT_EXCEEDED (GraphQL).
    #[arg(long, env = "MAX_TAGS_PER_USER", default_value = "500",
          value_parser = check::at_least_one::<u64>("a number of tags"), global = true)]
    pub max_tags_per_user: Parsed<u64>,
    /// Most lists one user may have (issue 21); creating one more is refused with 409
    /// `LIMIT_EXCEEDED` (REST) / LIMIT_EXCEEDED (GraphQL), as the task cap.
    #[arg(long, env = "MAX_LISTS_PER_USER", default_value = "100",
          value_parser = check::at_least_one::<u64>("a number of lists"), global = true)]
    pub max_lists_per_user: Parsed<u64>,

    /// Most members one shared list may have besides its owner (issue 29); adding one more
    /// (directly or by an invite link) is refused with 409 `LIMIT_EXCEEDED` (REST) /
    /// LIMIT_EXCEEDED (GraphQL).
    #[arg(long, env = "MAX_MEMBERS_PER_LIST", default_value = "50",
          value_parser = check::at_least_one::<u64>("a number of members"), global = true)]
    pub max_members_per_list: Parsed<u64>,

    /// Most invite links one list may have that are neither revoked nor expired (issue 29);
    /// creating one more is refused with 409 `LIMIT_EXCEEDED` / LIMIT_EXCEEDED.
    #[arg(long, env = "MAX_INVITES_PER_LIST", default_value = "20",
          value_parser = check::at_least_one::<u64>("a number of invites"), global = true)]
    pub max_invites_per_list: Parsed<u64>,

    /// How long a revoked or expired invite link is kept (e.g. 7d): listed with
    /// `?include=all` meanwhile, then dropped by the background job that runs every
    /// TOMBSTONE_PRUNE_INTERVAL (a revoked link counts from its revocation).
    #[arg(long, env = "INVITE_RETENTION", default_value = "7d",
          value_parser = check::nonzero_duration(), global = true)]
    pub invite_retention: Parsed<Duration>,

    /// REST: refuse a `PUT`, `DELETE` or `PATCH …/complete` without `If-Match` (428
    /// Precondition Required), so that no client can overwrite a change it has not seen. Off:
    /// `If-Match` is optional, as the FastAPI contract has it.
    #[arg(long, env = "REQUIRE_IF_MATCH", default_value = "false",
          value_parser = check::boolean(), global = true)]
    pub require_if_match: Parsed<bool>,
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
    /// Most bytes one response may hold.
    pub max_response_bytes: usize,
    /// Most bytes all responses in flight hold together (at least `max_response_bytes`).
    pub max_in_flight_response_bytes: usize,
    /// Most aliases.
    pub max_aliases: usize,
    /// Most operations per batch; 0 = batching off.
    pub max_batch: usize,
    /// Introspection on or off.
    pub introspection: bool,
}

/// The per-user rate limit: a bucket of `requests` tokens that refills over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// Bucket size: requests per window, and the largest burst.
    pub requests: u32,
    /// Time to refill an empty bucket.
    pub window: Duration,
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
    /// Longest an authenticated socket may run no operation.
    pub idle_timeout: Duration,
}

/// The connection shares of the admission gate.
#[derive(Debug, Clone)]
pub struct ConnectionShares {
    /// Live connections (WebSocket, SSE) per user.
    pub live_per_user: usize,
    /// Live connections of all users together.
    pub live_total: usize,
    /// Connections without a verified user, per client address.
    pub unauthenticated_per_address: usize,
    /// Connections of any kind per user (or client address, without a token).
    pub per_user: usize,
}

/// `50`, `50%`: a whole percentage from 1 to 100.
fn percentage(text: &str) -> Result<u8, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<u8>() {
        Ok(n @ 1..=100) => Ok(n),
        _ => Err(format!(
            "expected a percentage from 1% to 100%, got {text:?}"
        )),
    }
}

fn ip_list(text: &str) -> Result<Vec<IpAddr>, String> {
    list(text)
        .iter()
        .map(|ip| {
            ip.parse::<IpAddr>()
                .map_err(|_| format!("{ip:?} is not an IP address (expected e.g. 10.0.0.1)"))
        })
        .collect()
}

impl LimitsArgs {
    /// The GraphQL limits.
    pub fn graphql(&self) -> Result<GraphqlLimits, ConfigError> {
        let max_response_bytes = self.graphql_max_response_bytes.get()?;
        let max_in_flight_response_bytes = self.graphql_max_in_flight_response_bytes.get()?;
        // One response alone must fit, or a response within its own bound could never be sent.
        if max_in_flight_response_bytes < max_response_bytes {
            return Err(bad(
                "GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES",
                format!(
                    "must be at least GRAPHQL_MAX_RESPONSE_BYTES ({max_response_bytes} bytes), \
                     got {max_in_flight_response_bytes}"
                ),
            ));
        }
        Ok(GraphqlLimits {
            max_depth: self.graphql_max_depth.get()?,
            max_complexity: self.graphql_max_complexity.get()?,
            max_document_bytes: self.graphql_max_document_bytes.get()?,
            max_response_bytes,
            max_in_flight_response_bytes,
            max_aliases: self.graphql_max_aliases.get()?,
            max_batch: self.graphql_max_batch.get()?,
            introspection: self.graphql_introspection.get()?,
        })
    }

    /// The per-user and the anonymous rate limits (`None` when off); they share the window.
    pub fn rate_limits(
        &self,
    ) -> Result<(Option<RateLimitPolicy>, Option<RateLimitPolicy>), ConfigError> {
        let requests = self.rate_limit.get()?;
        let window = self.rate_limit_window.get()?;
        let anonymous = self.anonymous_rate_limit.get()?;
        let policy = |requests: u32| (requests > 0).then_some(RateLimitPolicy { requests, window });
        Ok((policy(requests), policy(anonymous)))
    }

    /// The WebSocket limits.
    pub fn websocket(&self) -> Result<WebSocketLimits, ConfigError> {
        Ok(WebSocketLimits {
            init_timeout: self.ws_init_timeout.get()?,
            max_message_bytes: self.ws_max_message_size.get()?,
            max_operations: self.ws_max_subscriptions_per_connection.get()?,
            idle_timeout: self.ws_idle_timeout.get()?,
        })
    }

    /// The connection shares: the live share and each user's are percentages of
    /// MAX_CONNECTIONS (at least one place, so a tiny server still serves and streams).
    pub fn connection_shares(&self) -> Result<ConnectionShares, ConfigError> {
        let max_connections = self.max_connections.get()?;
        let part = |percent: u8| (max_connections.saturating_mul(percent.into()) / 100).max(1);
        Ok(ConnectionShares {
            live_per_user: self.max_live_connections_per_user.get()?,
            live_total: part(self.live_connection_share.get()?),
            unauthenticated_per_address: self.max_unauthenticated_connections_per_address.get()?,
            per_user: part(self.connection_share_per_user.get()?),
        })
    }
}
