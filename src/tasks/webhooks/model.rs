//! What a webhook is to its user: its event types, the endpoint as both APIs show it (never
//! its secret, but in [`Created`]), the inputs of a create and an update, and one delivery
//! attempt as the log shows it. No SQL and no rule beyond the names (`rules` checks inputs).

use chrono::{DateTime, NaiveDateTime, Utc};

/// What a webhook can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
#[graphql(name = "WebhookEventType")]
pub enum EventType {
    /// A task was created (or came into view: a list shared with the user).
    #[graphql(name = "TASK_CREATED")]
    TaskCreated,
    /// A task changed (other than a completion).
    #[graphql(name = "TASK_UPDATED")]
    TaskUpdated,
    /// A task was completed, or a repeating task's occurrence was (it moves to the next).
    #[graphql(name = "TASK_COMPLETED")]
    TaskCompleted,
    /// A task was deleted (or went out of view).
    #[graphql(name = "TASK_DELETED")]
    TaskDeleted,
    /// A task's reminder came due.
    #[graphql(name = "REMINDER_DUE")]
    ReminderDue,
    /// Asked for by `test` / `testWebhook`.
    #[graphql(name = "WEBHOOK_TEST")]
    WebhookTest,
}

impl EventType {
    /// Every type, in the order they are listed.
    pub const ALL: [EventType; 6] = [
        EventType::TaskCreated,
        EventType::TaskUpdated,
        EventType::TaskCompleted,
        EventType::TaskDeleted,
        EventType::ReminderDue,
        EventType::WebhookTest,
    ];

    /// The wire name (`task.completed`), as the body's `type` and the REST API say it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TaskCreated => "task.created",
            EventType::TaskUpdated => "task.updated",
            EventType::TaskCompleted => "task.completed",
            EventType::TaskDeleted => "task.deleted",
            EventType::ReminderDue => "reminder.due",
            EventType::WebhookTest => "webhook.test",
        }
    }

    /// The type of a wire name.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The stored form of a set of types: their wire names, comma-separated (the database's
/// triggers match a type in it).
pub(super) fn events_text(events: &[EventType]) -> String {
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    names.join(",")
}

/// In JSON (a replayed GraphQL answer), its wire name.
impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        EventType::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event type {name:?}")))
    }
}

/// The types of a stored set (names the server no longer knows are left out).
pub(super) fn events_of(text: &str) -> Vec<EventType> {
    text.split(',').filter_map(EventType::parse).collect()
}

/// One of a user's webhooks, as both APIs show it (the secret is not part of it). In JSON it
/// is what a keyed GraphQL mutation stores for its replays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Webhook {
    /// Generated id.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it gets.
    pub events: Vec<EventType>,
    /// The user's note.
    pub description: Option<String>,
    /// Disabled (by the user's `disabled: true`, or for failing WEBHOOK_DISABLE_AFTER).
    pub disabled: bool,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A webhook and its secret: what a create or a rotation answers, and nothing else does.
#[derive(Debug, Clone)]
pub struct Created {
    /// The webhook.
    pub webhook: Webhook,
    /// `whsec_<base64>`: the key its deliveries are signed with.
    pub secret: String,
}

/// The row as stored.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::webhooks)]
pub(super) struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            id: row.id,
            url: row.url,
            events: events_of(&row.events),
            description: row.description,
            disabled: row.disabled,
            disabled_reason: row.disabled_reason,
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A webhook to create: the body of `POST /api/{user_id}/webhooks` (other fields are
/// ignored), checked by the service's rules.
#[derive(Debug, Clone, Default, utoipa::ToSchema)]
#[schema(as = WebhookCreate)]
pub struct NewWebhook {
    /// Where to POST: https (http and private addresses only with WEBHOOK_ALLOW_PRIVATE), no
    /// credentials, at most 2,048 characters.
    pub url: String,
    /// The event types to get (default: all).
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Vec<EventType>>,
    /// A note, at most 500 characters.
    pub description: Option<String>,
}

/// What an update changes: the body of `PATCH /api/{user_id}/webhooks/{id}`, an absent
/// field (`None`) left as it is.
#[derive(Debug, Clone, Default, utoipa::ToSchema)]
#[schema(as = WebhookUpdate)]
pub struct WebhookPatch {
    /// A new URL (the rules of a create's).
    pub url: Option<String>,
    /// A new set of event types.
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Vec<EventType>>,
    /// A new note; `null` clears it.
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `false` re-enables a disabled webhook (its failures start from nothing, the reason
    /// cleared); `true` disables it.
    pub disabled: Option<bool>,
}

/// One delivery attempt, as the log keeps it: what `attempts` reads back for the log (both
/// APIs render it) and what the worker writes of each attempt (`attempts::Outcome`). Times are
/// UTC. `None` is NULL, not the column's default, so that a batch is one statement.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(table_name = crate::db::schema::webhook_attempts)]
#[diesel(treat_none_as_default_value = false)]
pub struct Attempt {
    /// The message's `webhook-id` (the same on every attempt of one message).
    pub message_id: String,
    /// The message's type (`task.completed`).
    pub event_type: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: i32,
    /// The endpoint's answer; `None` when none came (refused, timed out, unreachable).
    pub status_code: Option<i32>,
    /// What went wrong; `None` for a success.
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: NaiveDateTime,
    /// When the message is tried again; `None` when it will not be (done or failed).
    pub next_attempt_at: Option<NaiveDateTime>,
}
