//! What the `/api/{user_id}/webhooks` routes read and write (issue 43): the bodies of a create
//! and an update, parsed with FastAPI / pydantic v2 error shapes (every problem at once), the
//! webhook's JSON (with the secret only in a create's and a rotation's answer), an attempt's
//! JSON, the log's `limit`, and the routes' documented errors. Rules about values (URL,
//! addresses) are the service's.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::{RefOr, Response};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::body::{object, optional_bool, string_type};
use super::openapi::{detail_response, errors};
use super::write_docs::key_errors;
use crate::error::{AppError, FieldError};
use crate::tasks::task::time::rfc3339;
use crate::tasks::webhooks::model::{
    Attempt, Created, EventType, NewWebhook, Webhook, WebhookPatch,
};

/// A webhook as REST shows it (no secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookJson {
    id: i64,
    /// Where deliveries are POSTed.
    url: String,
    /// The event types it gets: `task.created`, `task.updated`, `task.completed`,
    /// `task.deleted`, `reminder.due`, `webhook.test`.
    events: Vec<&'static str>,
    description: Option<String>,
    /// Disabled by its user, or for failing every delivery WEBHOOK_DISABLE_AFTER.
    disabled: bool,
    disabled_reason: Option<String>,
    /// RFC 3339 UTC with `Z`.
    created_at: String,
}

impl From<&Webhook> for WebhookJson {
    fn from(hook: &Webhook) -> Self {
        WebhookJson {
            id: hook.id,
            url: hook.url.clone(),
            events: hook.events.iter().map(|e| e.as_str()).collect(),
            description: hook.description.clone(),
            disabled: hook.disabled,
            disabled_reason: hook.disabled_reason.clone(),
            created_at: rfc3339(hook.created_at),
        }
    }
}

/// A webhook with its secret: a create's and a rotation's answer, and nothing else's.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    #[schema(inline)]
    webhook: WebhookJson,
    /// `whsec_<base64 of 32 bytes>`: verify deliveries with it (Standard Webhooks). `null`
    /// only in the replay of a keyed request (`Idempotent-Replayed: true`): no secret is kept
    /// for replays.
    secret: Option<String>,
}

impl From<&Created> for WebhookWithSecret {
    fn from(created: &Created) -> Self {
        WebhookWithSecret {
            webhook: WebhookJson::from(&created.webhook),
            secret: Some(created.secret.clone()),
        }
    }
}

impl WebhookWithSecret {
    /// The answer a keyed create or rotation stores for its replays: the secret left out.
    pub(super) fn replayed(webhook: &Webhook) -> Self {
        WebhookWithSecret {
            webhook: WebhookJson::from(webhook),
            secret: None,
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAttempt)]
pub struct AttemptJson {
    /// The message's `webhook-id` (the same on each attempt of one message).
    message_id: String,
    event_type: String,
    /// 1 for the first attempt.
    attempt: i32,
    /// The endpoint's status; null when it gave none (unreachable, refused, timed out).
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
    /// RFC 3339 UTC with `Z`.
    attempted_at: String,
    /// When the message is tried again; null when it is not (delivered, or failed for good).
    next_attempt_at: Option<String>,
}

impl From<&Attempt> for AttemptJson {
    fn from(attempt: &Attempt) -> Self {
        AttemptJson {
            message_id: attempt.message_id.clone(),
            event_type: attempt.event_type.clone(),
            attempt: attempt.attempt,
            status_code: attempt.status_code,
            error: attempt.error.clone(),
            duration_ms: attempt.duration_ms,
            attempted_at: rfc3339(attempt.attempted_at.and_utc()),
            next_attempt_at: attempt.next_attempt_at.map(|at| rfc3339(at.and_utc())),
        }
    }
}

/// `url`: absent is `None`.
fn url_field(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<String> {
    match body.get("url")? {
        Value::String(url) => Some(url.clone()),
        other => {
            errors.push(string_type("url", other));
            None
        }
    }
}

/// `events`: absent is `None`; each an event type's name.
fn events_field(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Vec<EventType>> {
    let Value::Array(items) = body.get("events")? else {
        let input = body.get("events").cloned().unwrap_or_default();
        errors.push(FieldError::body(
            "events",
            "list_type",
            "Input should be a valid list",
            input,
        ));
        return None;
    };
    let mut events = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match item.as_str().and_then(EventType::parse) {
            Some(event) => events.push(event),
            None => {
                let names: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                errors.push(FieldError::body(
                    &format!("events.{index}"),
                    "enum",
                    format!("Input should be one of {}", names.join(", ")),
                    item.clone(),
                ));
            }
        }
    }
    Some(events)
}

/// `description`: absent is `None`, `null` is `Some(None)`.
fn description_field(
    body: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match body.get("description")? {
        Value::Null => Some(None),
        Value::String(text) => Some(Some(text.clone())),
        other => {
            errors.push(string_type("description", other));
            None
        }
    }
}

/// Parses the body of `POST /api/{user_id}/webhooks` (the schema is [`NewWebhook`]'s); every
/// problem is reported at once.
pub(super) fn parse_create(body: &[u8]) -> Result<NewWebhook, AppError> {
    let body = object(body)?;
    let mut errors = Vec::new();
    let url = url_field(&body, &mut errors);
    if url.is_none() && !body.contains_key("url") {
        let input = Value::Object(body.clone());
        errors.push(FieldError::body("url", "missing", "Field required", input));
    }
    let events = events_field(&body, &mut errors);
    let description = description_field(&body, &mut errors).flatten();
    match url {
        Some(url) if errors.is_empty() => Ok(NewWebhook {
            url,
            events,
            description,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Parses the body of `PATCH /api/{user_id}/webhooks/{id}` (the schema is [`WebhookPatch`]'s);
/// every problem is reported at once.
pub(super) fn parse_update(body: &[u8]) -> Result<WebhookPatch, AppError> {
    let body = object(body)?;
    let mut errors = Vec::new();
    let url = url_field(&body, &mut errors);
    let events = events_field(&body, &mut errors);
    let description = description_field(&body, &mut errors);
    let disabled = optional_bool(&body, "disabled", &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(WebhookPatch {
        url,
        events,
        description,
        disabled,
    })
}

/// `?limit=` of the attempts log.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptsParams {
    /// How many attempts, newest first: 1–100 (default 20; the service checks the range).
    pub(super) limit: Option<i64>,
}

impl AttemptsParams {
    /// The query string's `limit`, when there is one.
    pub(super) fn parse(raw: Option<&str>) -> Result<AttemptsParams, AppError> {
        let Some(raw) = raw else {
            return Ok(AttemptsParams { limit: None });
        };
        let mut limit = None;
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            if key == "limit" {
                let parsed = value.parse::<i64>().map_err(|_| {
                    AppError::invalid(FieldError {
                        location: "query",
                        field: Some("limit".to_owned()),
                        kind: "int_parsing",
                        message: "Input should be a valid integer, unable to parse string as an \
                                  integer"
                            .to_owned(),
                        input: Value::String(value.to_string()),
                        ctx: None,
                    })
                })?;
                limit = Some(parsed);
            }
        }
        Ok(AttemptsParams { limit })
    }
}

/// The errors of a webhook route that names one (`ID`: 404), reads a body (`BODY`: 413, and
/// 409 for a create over the cap) and / or writes (`WRITE`: those of an `Idempotency-Key`).
pub struct WebhookErrors<const ID: bool, const BODY: bool, const WRITE: bool>;

impl<const ID: bool, const BODY: bool, const WRITE: bool> IntoResponses
    for WebhookErrors<ID, BODY, WRITE>
{
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut map = errors(ID, BODY);
        if WRITE {
            key_errors(&mut map, false);
        }
        let mut add = |status: &str, description: &str| {
            map.insert(
                status.to_owned(),
                RefOr::T(detail_response(description).build()),
            );
        };
        if ID {
            add(
                "404",
                "No such webhook (another user's webhook looks the same): `Webhook not found`",
            );
        }
        if BODY && !ID {
            add(
                "409",
                "The user has MAX_WEBHOOKS_PER_USER webhooks already (`code`: `LIMIT_EXCEEDED`), \
                 or a request with this `Idempotency-Key` is still running (`code`: \
                 `IDEMPOTENCY_KEY_IN_USE`)",
            );
        }
        map
    }
}
