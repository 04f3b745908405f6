//! The rules of a webhook's fields, checked before anything is written (422 with the field
//! and what is wrong): the URL (http or https, a host, no credentials, no control character,
//! at most 2,048 characters; without WEBHOOK_ALLOW_PRIVATE https only and no literal private
//! address), kept as parsed; the event types (at least one; unknown names are the adapters'
//! 422) and the description (no NUL, which PostgreSQL cannot store).

use serde_json::Value;

use super::model::{EventType, NewWebhook, WebhookPatch};
use super::ssrf;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::task::rules::check_no_nul;

/// The longest URL taken.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest description taken.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

fn refuse(field: &str, message: String, input: &str) -> AppError {
    let input = Value::String(input.chars().take(200).collect());
    AppError::invalid(FieldError::body(field, "value_error", message, input))
}

/// A URL deliveries may go to, as parsed and written out again (what is stored and sent to:
/// `HTTPS://Example.com` is `https://example.com/`).
pub(super) fn check_url(url: &str, allow_private: bool) -> AppResult<String> {
    let too_long = |url: &str| url.chars().count() > MAX_URL_CHARS;
    let long = || {
        let message = format!("Value error, at most {MAX_URL_CHARS} characters");
        refuse("url", message, url)
    };
    if too_long(url) {
        return Err(long());
    }
    let bad = |why: &str| refuse("url", format!("Value error, {why}"), url);
    // The parser would drop tabs and newlines and escape the rest: a URL carrying one is
    // not the URL its user meant (and PostgreSQL stores no NUL).
    if url.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| bad(&format!("not a URL ({e})")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(bad(
                "must be https (plain http needs WEBHOOK_ALLOW_PRIVATE)",
            ));
        }
        _ => return Err(bad("must be an http or https URL")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not carry credentials (user:password@)"));
    }
    if let Some(ip) = ssrf::literal_address(&parsed)
        && !allow_private
        && !ssrf::is_public(ip)
    {
        return Err(bad(&format!(
            "{ip} is not a public address (loopback, private, link-local, unique-local, \
             multicast, unspecified, 6to4, Teredo and other special-use addresses are \
             refused)"
        )));
    }
    // Escaping can lengthen it (a space is `%20`).
    let written = String::from(parsed);
    if too_long(&written) {
        return Err(long());
    }
    Ok(written)
}

/// A set of event types: at least one, each once (in the order given).
fn check_events(events: &[EventType]) -> AppResult<Vec<EventType>> {
    if events.is_empty() {
        return Err(AppError::invalid(FieldError::body(
            "events",
            "too_short",
            "List should have at least 1 item (leave `events` out for every type)",
            Value::Array(Vec::new()),
        )));
    }
    let mut seen = Vec::new();
    for event in events {
        if !seen.contains(event) {
            seen.push(*event);
        }
    }
    Ok(seen)
}

fn check_description(description: Option<&str>) -> AppResult<()> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => Err(refuse(
            "description",
            format!("String should have at most {MAX_DESCRIPTION_CHARS} characters"),
            text,
        )),
        Some(text) => check_no_nul("description", text).map_err(AppError::invalid),
        None => Ok(()),
    }
}

impl NewWebhook {
    /// The input checked, with every type when none were given.
    pub(super) fn validated(mut self, allow_private: bool) -> AppResult<NewWebhook> {
        self.url = check_url(self.url.trim(), allow_private)?;
        let events = self
            .events
            .take()
            .unwrap_or_else(|| EventType::ALL.to_vec());
        self.events = Some(check_events(&events)?);
        check_description(self.description.as_deref())?;
        Ok(self)
    }
}

impl WebhookPatch {
    /// The patch checked.
    pub(super) fn validated(mut self, allow_private: bool) -> AppResult<WebhookPatch> {
        if let Some(url) = self.url.take() {
            self.url = Some(check_url(url.trim(), allow_private)?);
        }
        if let Some(events) = self.events.take() {
            self.events = Some(check_events(&events)?);
        }
        check_description(self.description.clone().flatten().as_deref())?;
        Ok(self)
    }
}
