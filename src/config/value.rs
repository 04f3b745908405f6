//! How one setting's text becomes a typed value: the value parsers the declarations name
//! (`value_parser = check::duration()` and friends), [`Parsed`], which carries the result to
//! validation, [`ConfigError`], which names the variable, and [`Secret`], whose `Debug` never
//! shows it. It knows no particular setting and imports nothing else of the crate.

use std::ffi::OsStr;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable (and flag) at fault.
    pub variable: String,
    /// What is wrong and what it expects.
    pub problem: String,
}

/// The error for `variable`.
pub(crate) fn bad(variable: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.into(),
        problem: problem.into(),
    }
}

/// A setting as its declaration's parser read it: the typed value, or what is wrong with the
/// text. A bad value is not refused while the command line is parsed but by
/// `Settings::validate` (through [`Parsed::get`]), so that it stops start-up with
/// `VARIABLE: problem`, and a command that does not use the setting (`print-schema`) is not
/// stopped by it.
#[derive(Clone)]
pub struct Parsed<T> {
    variable: String,
    value: Result<T, String>,
}

impl<T: Clone> Parsed<T> {
    /// The value, or the error naming the variable.
    pub fn get(&self) -> Result<T, ConfigError> {
        self.value
            .clone()
            .map_err(|problem| bad(self.variable.as_str(), problem))
    }
}

impl<T: fmt::Debug> fmt::Debug for Parsed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Ok(value) => value.fmt(f),
            Err(problem) => write!(f, "Invalid({problem:?})"),
        }
    }
}

/// A secret as given (BETTER_AUTH_SECRET, JWT_SECRET): `Debug` prints `<redacted>`, so a
/// settings dump or a log line cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Reads a secret; every text is one (whether it is a good one is checked in validation).
    pub fn parse(text: &str) -> Result<Secret, std::convert::Infallible> {
        Ok(Secret(text.to_owned()))
    }

    /// The secret itself, for the key it becomes.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

type Check<T> = Arc<dyn Fn(&str) -> Result<T, String> + Send + Sync>;

/// The value parser of a typed setting: runs `check` on the text and keeps the outcome, with
/// the variable's name (the argument's `env`), in a [`Parsed`].
#[derive(Clone)]
pub struct Checked<T>(Check<T>);

/// A value parser from a checking function.
pub fn checked<T>(check: impl Fn(&str) -> Result<T, String> + Send + Sync + 'static) -> Checked<T> {
    Checked(Arc::new(check))
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Checked<T> {
    type Value = Parsed<T>;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Parsed<T>, clap::Error> {
        let variable = arg
            .map(|arg| match arg.get_env() {
                Some(env) => env.to_string_lossy().into_owned(),
                None => arg.get_id().as_str().to_ascii_uppercase(),
            })
            .unwrap_or_default();
        // As for a `String` setting: text that is not UTF-8 is clap's own error.
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        Ok(Parsed {
            variable,
            value: (self.0)(text),
        })
    }
}

/// Parses `90`, `90s`, `1500ms`, `15m`, `1h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (n, unit) = split_number(text)
        .ok_or_else(|| format!("expected a duration such as 30s, 5m or 1h, got {text:?}"))?;
    let multiple: u64 = match unit {
        "" | "s" => 1,
        "ms" => return Ok(Duration::from_millis(n)),
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "expected a duration such as 30s, 5m or 1h, got {text:?}"
            ));
        }
    };
    n.checked_mul(multiple)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("the duration {text:?} is too long"))
}

/// Parses `262144`, `256KiB`, `256k`, `1MiB`, `1M` (binary multiples: a body limit is about
/// buffers, not disk marketing).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let expected = || format!("expected a size such as 65536, 256KiB or 1MiB, got {text:?}");
    let (n, unit) = split_number(text).ok_or_else(expected)?;
    let multiple = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(expected()),
    };
    usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(multiple))
        .ok_or_else(expected)
}

/// `"15m"` -> `(15, "m")`: the leading digits and the (trimmed) unit after them.
fn split_number(text: &str) -> Option<(u64, &str)> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    Some((number.parse().ok()?, unit.trim()))
}

/// Comma-separated values, trimmed, empty ones dropped.
pub(crate) fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The value parsers the declarations use, one per kind of value.
pub mod check {
    use std::str::FromStr;
    use std::time::Duration;

    use crate::config::value::{Checked, checked, parse_bytes, parse_duration};

    /// Anything `FromStr`: `what` says what is expected ("expected {what}, got …").
    pub fn number<T>(what: &'static str) -> Checked<T>
    where
        T: FromStr + Clone + Send + Sync + 'static,
    {
        checked(move |text| {
            text.trim()
                .parse()
                .map_err(|_| format!("expected {what}, got {text:?}"))
        })
    }

    /// A whole number of at least 1 (a pool or cap of 0 would refuse everything).
    pub fn at_least_one<T>(what: &'static str) -> Checked<T>
    where
        T: FromStr + PartialOrd + From<u8> + Clone + Send + Sync + 'static,
    {
        checked(move |text| {
            let n: T = text
                .trim()
                .parse()
                .map_err(|_| format!("expected {what}, got {text:?}"))?;
            if n < T::from(1) {
                return Err("must be at least 1".to_owned());
            }
            Ok(n)
        })
    }

    /// A duration, zero allowed.
    pub fn duration() -> Checked<Duration> {
        checked(parse_duration)
    }

    /// A duration longer than zero (a zero window or timeout would refuse everything).
    pub fn nonzero_duration() -> Checked<Duration> {
        checked(|text| match parse_duration(text)? {
            zero if zero.is_zero() => Err("must be longer than 0s".to_owned()),
            positive => Ok(positive),
        })
    }

    /// A size in bytes, at least one.
    pub fn bytes() -> Checked<usize> {
        checked(|text| match parse_bytes(text)? {
            0 => Err("must be at least 1 byte".to_owned()),
            n => Ok(n),
        })
    }

    /// `true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`.
    pub fn boolean() -> Checked<bool> {
        checked(|text| match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(format!("expected true or false, got {text:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("-5").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("262144"), Ok(262_144));
        assert_eq!(parse_bytes("256KiB"), Ok(256 * 1024));
        assert_eq!(parse_bytes("1 M"), Ok(1024 * 1024));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5GiB").is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let secret = Secret::parse("hunter2-hunter2-hunter2-hunter2!").unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "hunter2-hunter2-hunter2-hunter2!");
    }
}
