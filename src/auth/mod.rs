//! Authentication: who is calling. Owns bearer-token parsing, token verification, the
//! admission gate and [`AuthUser`], the verified user that every task operation takes.
//!
//! `AuthUser` has a private field and only the verifier makes one; outside this module the
//! only way to one is [`Gate::admit`], which also charges the rate limits, so no code path can
//! act for a user that a valid token did not name, or skip a limit on the way.
//!
//! - `types`: the shared types (`AuthUser`, `SecretKey`, `AuthSettings` and its parts) and
//!   small rules (user ids, algorithm names, claim comparison); every other file imports it.
//! - `gate`: the admission gate (credentials in, an admitted user or a refusal out), bearer
//!   parsing, the client address, the connection shares, and the `AuthUser` extractor that
//!   runs the gate.
//! - `verifier`: the checks, in order; HS256 with the shared secret and Better Auth's
//!   asymmetric JWTs (EdDSA, ES256, RS256, PS256, …).
//! - `jwks` and `jwk`: Better Auth's public keys, cached, refreshed, refetched on an unknown
//!   `kid`; and how one JWK is read.
//! - `sessions` and `session_token`: Better Auth's opaque session tokens (opt-in), read from
//!   its `session` table (through `session_table`, the only database access here) or from its
//!   `get-session`; and their format and signature.
//! - `mint`: development tokens (`todo-api token`, `/dev/token`, tests).
//! - `secret_file`: the development secret's file (its default place, created safely).
//!
//! The settings themselves are declared in `config`, which hands this module plain types.
//! - `fetch`: the HTTP client for calls to Better Auth (rustls, timeouts, size cap).
//! - `lifetime`: how long a verified token stays good on a WebSocket or SSE stream (its `exp`,
//!   and periodic re-verification), shared by both transports.
//!
//! This file only declares and re-exports, so `crate::auth::X` paths stay as they were and
//! nothing here depends on anything else.

mod fetch;
mod gate;
mod jwk;
mod jwks;
mod lifetime;
mod mint;
mod secret_file;
mod session_table;
mod session_token;
mod sessions;
mod types;
mod verifier;

pub use gate::{Admitted, Client, Credentials, Gate, LiveHold, bearer_from_value, bearer_token};
pub use lifetime::{Credential, CredentialEnd};
pub use mint::{MAX_TOKEN_TTL, check_token_ttl, mint_token};
pub use secret_file::{MIN_SECRET_BYTES, default_dev_secret_path, load_or_create_secret};
pub use session_token::sign_session_token;
pub use types::{
    AuthSettings, AuthUser, JwksSettings, SecretKey, SessionSettings, SessionSource,
    algorithm_named, check_user_id, is_loopback, normalize_claim_value,
};
pub use verifier::Verifier;
