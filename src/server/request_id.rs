//! Request ids. An incoming `X-Request-Id` is kept (so a load balancer's id follows the request
//! through), otherwise one is made. The id is echoed back, carried by the `request` tracing
//! span (so every log line of the request has it), and readable by the error mapping through
//! [`current`], which puts it in 500 bodies.
//!
//! The span's `path` is the only place a request's URL reaches a log (never its query string,
//! never a header), and it is the path with its secrets redacted ([`loggable_path`]): an
//! invite token is shown once, in the answer that made it, and nowhere else.

use std::borrow::Cow;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries the id both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id kept; a longer (or odd) one is replaced, so logs stay readable.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled, if called inside one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// An incoming id worth keeping: 1–128 visible ASCII characters.
fn usable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let fits = !text.is_empty() && text.len() <= MAX_LEN;
    (fits && text.bytes().all(|b| b.is_ascii_graphic())).then(|| text.to_owned())
}

/// Middleware: assigns the id, runs the request inside its span and task-local, logs one line
/// when it finishes, and echoes the id.
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(usable)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
    );
    // Probes and scrapes come every few seconds: their lines would drown the rest at `info`.
    let routine = matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let started = Instant::now();
    let handled = async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if routine {
            tracing::debug!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
        response
    };
    let mut response = CURRENT.scope(id.clone(), handled.instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// `path` as it may be logged: an invite token in it (`/api/{user_id}/invites/{token}/accept`,
/// `/api/{user_id}/lists/{id}/invites/{token}`) is replaced by `sha256:` and the first 8 hex
/// digits of its SHA-256, which are the first 8 of the invite's `id` (enough to tell which
/// invite a line is about, useless to accept it). The segment is hashed as the router decodes
/// it. Whatever follows it does not matter (a mistyped `…/acept`, a trailing slash: a 404
/// path must not log the token either). Any other path is logged as it is.
fn loggable_path(path: &str) -> Cow<'_, str> {
    let segments: Vec<&str> = path.split('/').collect();
    let token_at = match segments.as_slice() {
        ["", "api", _, "invites", token, ..] if !token.is_empty() => 4,
        ["", "api", _, "lists", _, "invites", token, ..] if !token.is_empty() => 6,
        _ => return Cow::Borrowed(path),
    };
    let mut redacted = segments;
    let hashed = redact(redacted[token_at]);
    redacted[token_at] = &hashed;
    Cow::Owned(redacted.join("/"))
}

/// `sha256:` and the first 8 hex digits of the SHA-256 of the percent-decoded `segment`.
fn redact(segment: &str) -> String {
    use sha2::{Digest, Sha256};
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
    let digest = Sha256::digest(&decoded);
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_tokens_are_redacted_from_logged_paths() {
        // SHA-256("abc") = ba7816bf…
        for (path, logged) in [
            (
                "/api/u/invites/abc/accept",
                "/api/u/invites/sha256:ba7816bf/accept",
            ),
            (
                "/api/u/invites/abc/accept/",
                "/api/u/invites/sha256:ba7816bf/accept/",
            ),
            (
                "/api/u/invites/%61bc/accept",
                "/api/u/invites/sha256:ba7816bf/accept",
            ),
            (
                "/api/u/lists/7/invites/abc",
                "/api/u/lists/7/invites/sha256:ba7816bf",
            ),
            (
                "/api/u/lists/7/invites/abc/",
                "/api/u/lists/7/invites/sha256:ba7816bf/",
            ),
            // A mistyped or unknown route (a 404) does not log it either.
            ("/api/u/invites/abc", "/api/u/invites/sha256:ba7816bf"),
            (
                "/api/u/invites/abc/acept",
                "/api/u/invites/sha256:ba7816bf/acept",
            ),
            (
                "/api/u/lists/7/invites/abc/x",
                "/api/u/lists/7/invites/sha256:ba7816bf/x",
            ),
            // Not a token: the collections, and other paths.
            ("/api/u/lists/7/invites", "/api/u/lists/7/invites"),
            ("/api/u/lists/7/invites/", "/api/u/lists/7/invites/"),
            ("/api/u/invites/", "/api/u/invites/"),
            ("/api/u/tasks/3", "/api/u/tasks/3"),
            ("/graphql", "/graphql"),
        ] {
            assert_eq!(loggable_path(path), logged, "{path}");
        }
    }
}
