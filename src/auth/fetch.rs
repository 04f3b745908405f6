//! HTTP calls to Better Auth (its JWKS and `get-session`): one client with a timeout on every
//! request, rustls with the bundled Mozilla roots (no OpenSSL, no dependence on the host's CA
//! store, so a bare container works), and a cap on how much of an answer is read.
//!
//! This module only moves bytes; what an answer means is decided by `jwks` and `sessions`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

/// Largest answer read from Better Auth. A JWKS or a session is a few kilobytes; anything bigger
/// is a misconfigured URL (or a hostile server) and must not grow our memory.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Builds the client. `timeout` bounds every request end to end, so a hung auth server can
/// delay a request by at most that long, never forever. `extra_roots` (a private CA) are
/// trusted besides the bundled roots.
pub(super) fn client(
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
) -> anyhow::Result<reqwest::Client> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for root in extra_roots {
        roots.add(root.clone())?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("todo-api/", env!("CARGO_PKG_VERSION")))
        // A redirect could lead a JWKS or get-session call (carrying a session token) to
        // another host, or from https to http: Better Auth's own URLs never redirect.
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Why a call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FetchError {
    /// The request could not even be built (e.g. a bearer token that is no valid header
    /// value): the caller's input is at fault, and nothing was sent.
    Request(String),
    /// Sent, but no usable answer: unreachable, timed out, too big, or not JSON.
    Answer(String),
}

/// GETs `url` (with `Authorization: Bearer` when given). A 2xx answer comes back with its JSON
/// body; any other status (a redirect included: none is followed) with `Value::Null` (the body
/// is not read).
pub(super) async fn get_json(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<(StatusCode, Value), FetchError> {
    let mut request = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let request = request
        .build()
        .map_err(|e| FetchError::Request(describe(&e)))?;
    let answer = |e: reqwest::Error| FetchError::Answer(describe(&e));
    let mut response = client.execute(request).await.map_err(answer)?;
    let status = response.status();
    if !status.is_success() {
        return Ok((status, Value::Null));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(answer)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(FetchError::Answer(format!(
                "{url} answered more than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let json = serde_json::from_slice(&body)
        .map_err(|e| FetchError::Answer(format!("{url} did not answer JSON ({e})")))?;
    Ok((status, json))
}

/// reqwest's own message is terse ("error sending request"); the cause (connection refused,
/// certificate unknown, timed out) is what an operator needs.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("{error} (timed out)")
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
