//! The server's own settings: where it listens, how it logs, which browser origins may call
//! it (CORS), and how long shutdown may take. Declares and reads them; serving is `server`'s.

use std::net::IpAddr;
use std::time::Duration;

use clap::Args;

use super::value::{ConfigError, Parsed, check, checked, list};

/// The origins of a Next.js dev server, allowed by default in development mode.
pub const DEVELOPMENT_CORS_ORIGINS: &[&str] = &["http://localhost:3000", "http://127.0.0.1:3000"];

/// The server settings as given.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on. Without auth configured only a loopback address is allowed.
    #[arg(
        long,
        env = "HOST",
        default_value = "127.0.0.1",
        value_parser = check::number::<IpAddr>("an IP address such as 127.0.0.1 or 0.0.0.0"),
        global = true
    )]
    pub host: Parsed<IpAddr>,

    /// Port to listen on.
    #[arg(
        long,
        env = "PORT",
        default_value = "8000",
        value_parser = check::number::<u16>("a port number from 0 to 65535"),
        global = true
    )]
    pub port: Parsed<u16>,

    /// Log output: `pretty` (human-readable lines) or `json` (one JSON object per line).
    #[arg(
        long,
        env = "LOG_FORMAT",
        default_value = "pretty",
        value_parser = checked(LogFormat::parse),
        global = true
    )]
    pub log_format: Parsed<LogFormat>,

    /// Browser origins allowed to call the API (CORS), comma-separated, such as
    /// http://localhost:3000; `*` allows any origin; empty: no cross-origin calls. Unset: none,
    /// except in development mode, where http://localhost:3000 and http://127.0.0.1:3000
    /// (a Next.js dev server) are allowed.
    #[arg(
        long,
        env = "CORS_ORIGINS",
        value_parser = checked(CorsOrigins::parse),
        global = true
    )]
    pub cors_origins: Option<Parsed<CorsOrigins>>,

    /// How long a browser may cache a CORS preflight answer (e.g. 10m).
    #[arg(
        long,
        env = "CORS_MAX_AGE",
        default_value = "10m",
        value_parser = check::duration(),
        global = true
    )]
    pub cors_max_age: Parsed<Duration>,

    /// On SIGTERM / SIGINT, how long in-flight requests may take to finish before the server
    /// exits anyway (e.g. 30s).
    #[arg(
        long,
        env = "SHUTDOWN_TIMEOUT",
        default_value = "30s",
        value_parser = check::duration(),
        global = true
    )]
    pub shutdown_timeout: Parsed<Duration>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    fn parse(text: &str) -> Result<LogFormat, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pretty" | "text" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected pretty or json, got {text:?}")),
        }
    }
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers: only same-origin pages (and non-browser clients).
    Off,
    /// Any origin (`*`), without credentials.
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<String>),
}

impl CorsOrigins {
    fn parse(text: &str) -> Result<CorsOrigins, String> {
        let origins = list(text);
        if origins.is_empty() {
            Ok(CorsOrigins::Off)
        } else if origins.iter().any(|o| o == "*") {
            if origins.len() > 1 {
                return Err("`*` cannot be combined with other origins".to_owned());
            }
            Ok(CorsOrigins::Any)
        } else {
            let origins = origins.iter().map(|o| cors_origin(o));
            Ok(CorsOrigins::List(origins.collect::<Result<_, _>>()?))
        }
    }
}

/// Checks one CORS origin: `scheme://host[:port]`, nothing after it, as browsers send it.
fn cors_origin(text: &str) -> Result<String, String> {
    let problem = || {
        format!(
            "{text:?} is not an origin; expected scheme://host[:port] such as \
             http://localhost:3000, comma-separated, or *"
        )
    };
    let url = url::Url::parse(text).map_err(|_| problem())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare {
        return Err(problem());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem());
    }
    // `Url` lower-cases the host and drops a default port, as the browser's Origin does.
    Ok(url.origin().ascii_serialization())
}

impl ServerArgs {
    /// The CORS allow-list, and whether it is development mode's default (CORS_ORIGINS unset
    /// with no verification configured).
    pub fn cors(&self, development: bool) -> Result<(CorsOrigins, bool), ConfigError> {
        match &self.cors_origins {
            Some(given) => Ok((given.get()?, false)),
            None if development => {
                let origins = DEVELOPMENT_CORS_ORIGINS.iter().map(|o| o.to_string());
                Ok((CorsOrigins::List(origins.collect()), true))
            }
            None => Ok((CorsOrigins::Off, false)),
        }
    }
}
