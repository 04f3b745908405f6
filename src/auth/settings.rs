//! What the verifier says at start about the Better Auth settings it was given: which of its
//! URLs are plain http on a network host. The settings themselves are declared and validated
//! in `config` (`config::better_auth`), which must not be imported from here.

use super::{AuthSettings, SessionSource};

/// 127.0.0.0/8, ::1 and `localhost`: traffic that never leaves the machine.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The URLs Better Auth is called at over plain http on a host that is not loopback (allowed
/// only by AUTH_ALLOW_INSECURE_HTTP): said as a warning at start.
pub fn insecure_urls(auth: &AuthSettings) -> Vec<String> {
    let session_url = auth.sessions.as_ref().and_then(|s| match &s.source {
        SessionSource::Http { get_session_url } => Some(get_session_url.clone()),
        SessionSource::Database => None,
    });
    auth.jwks
        .iter()
        .map(|jwks| jwks.url.clone())
        .chain(session_url)
        .filter(|text| {
            url::Url::parse(text).is_ok_and(|url| url.scheme() == "http" && !is_loopback(&url))
        })
        .collect()
}
