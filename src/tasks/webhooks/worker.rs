//! The delivery worker, one per instance: every 250 ms (or at once when nudged) it claims due
//! deliveries (`queue::claim`: at most one per webhook, none of a webhook already in flight
//! anywhere) up to IN_FLIGHT at once, and sends each in a task of its own, outside any
//! transaction: a message's id and body are stored before its first attempt, every attempt
//! is signed afresh (`signing`), sent with the SSRF-safe client (`ssrf`) and recorded under
//! its lease (`queue::record`): success, a retry at the schedule's next delay, or failed. So
//! one user's slow endpoint holds one of the slots and delays nobody else's deliveries.
//!
//! It stops when the service that started it is dropped. It must not take a viewer's unit of
//! work: it serves every user (maintenance units), and reads a task as its recipient sees it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde_json::json;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::TaskRenderer;
use super::model::EventType;
use super::queue::{self, AttemptRecord, Claimed};
use super::{signing, ssrf};
use crate::config::Webhooks;
use crate::error::{AppError, AppResult};
use crate::tasks::task::model::TaskRow;
use crate::tasks::task::query::find_many_for_event;
use crate::tasks::task::service::now_micros;
use crate::tasks::unit::UnitOfWork;

/// Deliveries one instance sends at once (each to a different webhook).
const IN_FLIGHT: usize = 32;
/// How often the queue is looked at without a nudge.
const POLL: Duration = Duration::from_millis(250);
/// How often the queue's depth is measured for the metrics.
const GAUGES: Duration = Duration::from_secs(5);
/// How often finished messages past WEBHOOK_LOG_RETENTION are dropped (or that retention,
/// when shorter).
const PRUNE: Duration = Duration::from_secs(3600);
/// Messages dropped per transaction.
const PRUNE_BATCH: i64 = 1000;
/// The most of an endpoint's error text kept in the log.
const MAX_ERROR_CHARS: usize = 300;

/// What the worker needs; shared by its tasks.
pub(super) struct Worker {
    pub work: UnitOfWork,
    pub client: reqwest::Client,
    pub settings: Webhooks,
    pub render: TaskRenderer,
    pub nudge: Arc<Notify>,
    /// This worker's claims: a random number, so another instance's (or a previous run's)
    /// are never taken for its own.
    pub token: i64,
}

impl Worker {
    /// Runs until `stop`'s sender is dropped.
    pub(super) async fn run(self: Arc<Self>, mut stop: watch::Receiver<()>) {
        let mut flying: JoinSet<i64> = JoinSet::new();
        let mut busy: HashSet<i64> = HashSet::new();
        let mut measured = Instant::now() - GAUGES;
        let mut pruned = Instant::now();
        loop {
            while let Some(done) = flying.try_join_next() {
                if let Ok(hook) = done {
                    busy.remove(&hook);
                }
            }
            // A claim when half the slots are free (or none is taken): one per finished
            // delivery would read the queue once per delivery.
            if flying.len() <= IN_FLIGHT / 2 {
                match self.claim(IN_FLIGHT - flying.len(), &busy).await {
                    Ok(claimed) => {
                        for delivery in claimed {
                            busy.insert(delivery.webhook_id);
                            let worker = self.clone();
                            flying.spawn(async move {
                                let hook = delivery.webhook_id;
                                worker.deliver(delivery).await;
                                hook
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            if measured.elapsed() >= GAUGES {
                measured = Instant::now();
                self.measure().await;
            }
            if pruned.elapsed() >= PRUNE.min(self.settings.log_retention) {
                pruned = Instant::now();
                self.prune().await;
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                _ = self.nudge.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(Ok(hook)) = flying.join_next(), if !flying.is_empty() => {
                    busy.remove(&hook);
                }
            }
        }
        flying.abort_all();
        self.release().await;
    }

    /// Frees what this worker had claimed and not recorded (its attempts were cut short by
    /// the stop), so the next instance need not wait for the leases to run out. An attempt
    /// that was sent is sent again, with the same id: at least once.
    async fn release(&self) {
        let token = self.token;
        let freed = self
            .work
            .maintenance(async |conn| Ok(queue::release(conn, token).await?))
            .await;
        match freed {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "released webhook deliveries at shutdown"),
            Err(e) => tracing::warn!(error = %e, "releasing webhook deliveries failed"),
        }
    }

    async fn claim(&self, limit: usize, busy: &HashSet<i64>) -> AppResult<Vec<Claimed>> {
        let now = now_micros();
        // Long enough for the attempt and its record; a crashed instance's claim frees then.
        let lease = chrono::Duration::from_std(self.settings.timeout + Duration::from_secs(60))
            .unwrap_or(chrono::Duration::minutes(5));
        let token = self.token;
        self.work
            .maintenance(async |conn| {
                Ok(queue::claim(conn, now, now + lease, token, limit, busy).await?)
            })
            .await
    }

    /// Drops finished messages older than WEBHOOK_LOG_RETENTION, a batch at a time.
    async fn prune(&self) {
        let keep = chrono::Duration::from_std(self.settings.log_retention)
            .unwrap_or(chrono::Duration::days(7));
        let before = now_micros() - keep;
        loop {
            let round = self
                .work
                .maintenance(async |conn| Ok(queue::prune(conn, before, PRUNE_BATCH).await?))
                .await;
            match round {
                Ok(n) if n < PRUNE_BATCH as usize => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the webhook log failed");
                    return;
                }
            }
        }
    }

    async fn measure(&self) {
        let depth = self
            .work
            .maintenance(async |conn| Ok(queue::depth(conn).await?))
            .await;
        match depth {
            Ok((waiting, oldest)) => {
                metrics::gauge!("webhook_queue_depth").set(waiting as f64);
                let age = oldest.map_or(0.0, |t| (now_micros() - t).as_seconds_f64().max(0.0));
                metrics::gauge!("webhook_oldest_pending_seconds").set(age);
            }
            Err(e) => tracing::debug!(error = %e, "measuring the webhook queue failed"),
        }
    }

    /// One attempt of one claimed delivery, start to record.
    async fn deliver(&self, mut delivery: Claimed) {
        if delivery.body.is_none() {
            match self.prepare(&delivery).await {
                Ok(Some((id, body))) => {
                    delivery.message_id = Some(id);
                    delivery.body = Some(body);
                }
                Ok(None) => {
                    metrics::counter!("webhook_deliveries_total", "outcome" => "dropped")
                        .increment(1);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, delivery = delivery.id, "preparing a webhook message failed");
                    return;
                }
            }
        }
        let (Some(message_id), Some(body)) = (&delivery.message_id, &delivery.body) else {
            return;
        };
        let attempted_at = now_micros();
        let started = Instant::now();
        let outcome = self.send(&delivery, message_id, body).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, error) = match &outcome {
            Ok(status) if (200..300).contains(status) => (Some(*status), None),
            Ok(status) => (Some(*status), Some(format!("answered {status}"))),
            Err(why) => (None, Some(why.clone())),
        };
        let succeeded = error.is_none();
        let attempt = delivery.attempts + 1;
        let next_attempt_at = match succeeded {
            true => None,
            false => usize::try_from(delivery.attempts)
                .ok()
                .and_then(|used| self.settings.retry_schedule.get(used))
                .and_then(|delay| chrono::Duration::from_std(*delay).ok())
                .map(|delay| attempted_at + delay),
        };
        let outcome_name = match (succeeded, next_attempt_at) {
            (true, _) => "succeeded",
            (false, Some(_)) => "retrying",
            (false, None) => "failed",
        };
        metrics::counter!("webhook_deliveries_total", "outcome" => outcome_name).increment(1);
        let record = AttemptRecord {
            delivery_id: delivery.id,
            webhook_id: delivery.webhook_id,
            user_id: &delivery.user_id,
            message_id,
            event_type: &delivery.event_type,
            attempt,
            status_code,
            error: error.as_deref(),
            duration_ms,
            attempted_at,
            next_attempt_at,
        };
        let disable_after = chrono::Duration::from_std(self.settings.disable_after)
            .unwrap_or(chrono::Duration::days(5));
        let reason = format!(
            "every delivery failed for {} (WEBHOOK_DISABLE_AFTER); the last: {}",
            humanize(self.settings.disable_after),
            error.as_deref().unwrap_or("")
        );
        let token = delivery.lease;
        let recorded = self
            .work
            .maintenance(async |conn| {
                let before = attempted_at - disable_after;
                Ok(queue::record(conn, token, &record, succeeded, before, &reason).await?)
            })
            .await;
        match recorded {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                delivery = delivery.id,
                "a webhook attempt's lease ran out before it was recorded"
            ),
            Err(e) => {
                tracing::warn!(error = %e, delivery = delivery.id, "recording a webhook attempt failed")
            }
        }
    }

    /// The message's id and body, stored; `None` when its task is gone (dropped).
    async fn prepare(&self, delivery: &Claimed) -> AppResult<Option<(String, String)>> {
        let event = EventType::parse(&delivery.event_type);
        let render = self.render;
        let (user, task_id) = (delivery.user_id.clone(), delivery.task_id);
        let (id, token) = (delivery.id, delivery.lease);
        let message_id = signing::new_message_id();
        let timestamp = delivery
            .created_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        self.work
            .maintenance(async |conn| {
                let data = match (event, task_id) {
                    (Some(EventType::TaskDeleted), Some(task)) => {
                        Some(json!({"id": task, "user_id": user}))
                    }
                    (Some(EventType::WebhookTest), _) | (None, _) => Some(json!({
                        "webhook_id": delivery.webhook_id,
                        "message": "a test message, asked for by the webhook's user",
                    })),
                    // As the change left it (queued by the journal's trigger).
                    (Some(_), Some(_)) if delivery.task_row.is_some() => {
                        let row = delivery.task_row.as_deref().unwrap_or_default();
                        serde_json::from_str::<TaskRow>(row)
                            .map_err(
                                |e| tracing::warn!(error = %e, "a queued task row does not parse"),
                            )
                            .ok()
                            .and_then(TaskRow::readable)
                            .map(|task| render(&task))
                    }
                    // Queued by the server (a reminder): as it is now, as its recipient sees it.
                    (Some(_), Some(task)) => {
                        let rows = find_many_for_event(conn, &user, &[task]).await?;
                        rows.into_iter()
                            .find_map(TaskRow::readable)
                            .map(|task| render(&task))
                    }
                    (Some(_), None) => None,
                };
                let Some(data) = data else {
                    queue::prepare(conn, id, token, None).await?;
                    return Ok(None);
                };
                let body = json!({
                    "type": delivery.event_type,
                    "timestamp": timestamp,
                    "data": data,
                })
                .to_string();
                if !queue::prepare(conn, id, token, Some((&message_id, &body))).await? {
                    return Err(AppError::Unavailable("the delivery's lease ran out".into()));
                }
                Ok(Some((message_id.clone(), body)))
            })
            .await
    }

    /// Sends one attempt: the status the endpoint answered, or why there was none.
    async fn send(&self, delivery: &Claimed, message_id: &str, body: &str) -> Result<i32, String> {
        let url = url::Url::parse(&delivery.url).map_err(|e| format!("bad URL: {e}"))?;
        if !self.settings.allow_private
            && let Some(ip) = ssrf::literal_address(&url)
            && !ssrf::is_public(ip)
        {
            return Err(format!("{ip} is not a public address"));
        }
        let timestamp = Utc::now().timestamp();
        let signature = signing::signature(&delivery.secret, message_id, timestamp, body);
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(answer) => Ok(i32::from(answer.status().as_u16())),
            Err(e) => Err(describe(&e)),
        }
    }
}

/// An HTTP error in a line, with its causes (the resolver's refusal is a cause).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// `5d`, `2h`, `30s`: a duration as the settings write it.
fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
