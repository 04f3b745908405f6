//! A delivery's message: its `webhook-id` and body, the same bytes on every attempt. A
//! journal-queued delivery needs no database work before its first attempt: its id is
//! derived from its row (`signing::derived_message_id`, so an attempt sent and then lost with
//! its instance is sent again with the same id) and its body made from the task's row the
//! trigger stored (a failed attempt stores both for the retries, `attempts`). A reminder's is
//! read from the task as its recipient sees it and stored before the first attempt.

use chrono::SecondsFormat;
use serde_json::json;

use super::claim::Claimed;
use super::model::EventType;
use super::queue;
use super::signing;
use super::worker::Worker;
use crate::error::{AppError, AppResult};
use crate::tasks::task::model::TaskRow;
use crate::tasks::task::query::find_many_for_event;

impl Worker {
    /// The message's id and body: as stored (a retry sends the same bytes), else made from the
    /// task's row the journal stored (nothing to read or write), else read from the task and
    /// stored before the first attempt (a reminder: the task as its recipient sees it now).
    /// `None` when the task is gone (the delivery is dropped).
    pub(super) async fn message(&self, delivery: &Claimed) -> AppResult<Option<(String, String)>> {
        let message_id = delivery.message_id.clone().unwrap_or_else(|| {
            let queued = delivery.created_at.and_utc().timestamp_micros();
            signing::derived_message_id(delivery.webhook_id, delivery.id, queued)
        });
        if let Some(body) = &delivery.body {
            return Ok(Some((message_id, body.clone())));
        }
        let event = EventType::parse(&delivery.event_type);
        let stored_row = delivery.task_row.as_deref();
        let data = match (event, delivery.task_id) {
            (Some(EventType::TaskDeleted), Some(task)) => {
                Some(json!({"id": task, "user_id": delivery.user_id}))
            }
            (Some(EventType::WebhookTest), _) | (None, _) => Some(json!({
                "webhook_id": delivery.webhook_id,
                "message": "a test message, asked for by the webhook's user",
            })),
            // As the change left it (queued by the journal's trigger).
            (Some(_), Some(_)) if stored_row.is_some() => {
                serde_json::from_str::<TaskRow>(stored_row.unwrap_or_default())
                    .map_err(|e| tracing::warn!(error = %e, "a queued task row does not parse"))
                    .ok()
                    .and_then(TaskRow::readable)
                    .map(|task| (self.render)(&task))
            }
            // Queued by the server (a reminder): read, then stored below.
            (Some(_), Some(task)) => return self.prepare(delivery, task, message_id).await,
            (Some(_), None) => None,
        };
        let Some(data) = data else {
            self.drop_delivery(delivery).await?;
            return Ok(None);
        };
        Ok(Some((message_id, self.body(delivery, data))))
    }

    /// A message's body: its type, its queueing time, its data.
    fn body(&self, delivery: &Claimed, data: serde_json::Value) -> String {
        let timestamp = delivery
            .created_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        json!({"type": delivery.event_type, "timestamp": timestamp, "data": data}).to_string()
    }

    /// Marks a delivery with nothing to send dropped.
    async fn drop_delivery(&self, delivery: &Claimed) -> AppResult<()> {
        let (id, token) = (delivery.id, delivery.lease);
        self.work
            .maintenance(async |conn| Ok(queue::prepare(conn, id, token, None).await?))
            .await
            .map(|_| ())
    }

    /// A server-queued message about `task` (a reminder): the task as its recipient sees it
    /// now, stored with the id before the first attempt; `None` (dropped) when it is gone.
    async fn prepare(
        &self,
        delivery: &Claimed,
        task: i64,
        message_id: String,
    ) -> AppResult<Option<(String, String)>> {
        let render = self.render;
        let user = delivery.user_id.clone();
        let (id, token) = (delivery.id, delivery.lease);
        self.work
            .maintenance(async |conn| {
                let rows = find_many_for_event(conn, &user, &[task]).await?;
                let data = rows
                    .into_iter()
                    .find_map(TaskRow::readable)
                    .map(|task| render(&task));
                let Some(data) = data else {
                    queue::prepare(conn, id, token, None).await?;
                    return Ok(None);
                };
                let body = self.body(delivery, data);
                if !queue::prepare(conn, id, token, Some((&message_id, &body))).await? {
                    return Err(AppError::Unavailable("the delivery's lease ran out".into()));
                }
                Ok(Some((message_id.clone(), body)))
            })
            .await
    }
}
