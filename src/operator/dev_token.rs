//! `POST /dev/token`: development mode's sign-in, used by GraphiQL's "Sign in" panel. It mints
//! a token for any user id with the development secret, so it exists only in development
//! mode (no verification configured, listening on loopback); otherwise the route is not
//! mounted and the path is a 404 like any unknown one.
//!
//! It answers only requests addressed to a loopback name (`Host` of `localhost`, a
//! `*.localhost` name, `127.0.0.1` or `[::1]`): a page on another site that rebinds its own DNS
//! name to 127.0.0.1 (DNS rebinding) is same-origin to the browser, but its requests carry its
//! own name in `Host`, and get a 403 instead of a token. A request that names its host twice
//! (two `Host` headers, an absolute-form target or an HTTP/2 `:authority` that disagrees with
//! `Host`) is malformed and gets a 400.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::config::Config;

/// The endpoint's path.
pub const PATH: &str = "/dev/token";

/// Lifetime of a development sign-in token.
const TTL: Duration = Duration::from_secs(3600);

/// The request body: `{"user_id": "alice"}`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    user_id: String,
}

/// Mints a token for the user id; 422 with the reason when the id would be refused.
pub async fn mint(
    State(config): State<Arc<Config>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let host = match addressed_host(&uri, &headers) {
        Ok(host) => host,
        Err(problem) => {
            let detail = format!("malformed request: {problem}");
            return (StatusCode::BAD_REQUEST, Json(json!({ "detail": detail }))).into_response();
        }
    };
    if !host.is_some_and(is_loopback_host) {
        let detail = format!(
            "development sign-in answers only requests addressed to localhost, 127.0.0.1 or [::1], \
             not to {:?}",
            host.unwrap_or("")
        );
        return (StatusCode::FORBIDDEN, Json(json!({ "detail": detail }))).into_response();
    }
    let Json(SignIn { user_id }) = match body {
        Ok(body) => body,
        Err(rejection) => {
            let detail = format!(
                "send {{\"user_id\": \"…\"}} as JSON: {}",
                rejection.body_text()
            );
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "detail": detail })),
            )
                .into_response();
        }
    };
    match config.auth.mint(&user_id, TTL) {
        Ok(token) => Json(json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": TTL.as_secs(),
            "user_id": user_id,
        }))
        .into_response(),
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "detail": problem })),
        )
            .into_response(),
    }
}

/// The host a request is addressed to: HTTP/1.1 names it in `Host` (or in an absolute-form
/// target, which then wins, RFC 9112 §3.2.2), HTTP/2 in `:authority` (the URI's authority
/// here). A request that names it twice, or two different ways, is malformed (RFC 9112
/// §3.2, RFC 9113 §8.3.1): which name would count is exactly what a DNS-rebinding page
/// would play on, so it is refused rather than guessed.
fn addressed_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Result<Option<&'a str>, String> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err("more than one Host header".into());
    }
    let host = host
        .map(|value| value.to_str().map_err(|_| "a Host header that is not text"))
        .transpose()?;
    let authority = uri.authority().map(|authority| authority.as_str());
    match (authority, host) {
        (Some(authority), Some(host)) if !authority.eq_ignore_ascii_case(host) => Err(format!(
            "the target names {authority:?} but the Host header names {host:?}"
        )),
        (Some(authority), _) => Ok(Some(authority)),
        (None, host) => Ok(host),
    }
}

/// Whether a `Host` value (a name or address, with an optional port) names this machine's
/// loopback interface.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // "[::1]" or "[::1]:8000"
        match rest.split_once(']') {
            Some((address, "")) => address,
            Some((address, port)) if port.strip_prefix(':').is_some_and(is_port) => address,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The "8000" of "localhost:8000".
fn is_port(digits: &str) -> bool {
    !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:8000",
            "LOCALHOST:3000",
            "app.localhost:8000",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:8000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8000",
            "[::2]:8000",
            "[::1]8000",
            "localhost:",
            "localhost:80:80",
            "localhost:port",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
