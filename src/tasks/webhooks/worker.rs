//! The delivery worker, one per instance: every 100 ms it fans the journal's new events out
//! to deliveries (`fan_out`), and whenever it has a free slot (at most every CLAIM_GAP while
//! fewer than half are free, every POLL when the queue was empty, at once when nudged) it
//! claims due deliveries (`claim`: webhooks in turn, at most one per webhook, none of a
//! webhook already in flight anywhere, at most PER_USER slots a user) up to
//! IN_FLIGHT at once (`pace`), and sends each in a task of its own, outside any transaction. A message's id is derived from its row (`signing::derived_message_id`) and
//! its body from the task's row the journal's trigger stored, so the first attempt needs no
//! database work before it is sent (a reminder's body, read from the task, is stored first);
//! every attempt is signed afresh (`signing`) and sent with the SSRF-safe client (`ssrf`).
//! Finished attempts are recorded together under their lease (`attempts::record`: success, a
//! retry at the schedule's next delay with its id and body kept, or failed), one transaction
//! for all that finished within RECORD_WAIT.
//!
//! The bound (docs/WEBHOOKS.md, "Fairness"): one user's endpoints hold at most PER_USER of
//! the IN_FLIGHT slots, and a hanging delivery leaves the careful mode's budget once it is no
//! longer young (`pace`), so while fewer than 16 users hang at once another user's message is
//! claimed by the first claim after it is fanned out (in the careful mode, within `YOUNG` of
//! it); beyond that a user with nothing in flight takes the first slot that frees, within
//! WEBHOOK_TIMEOUT.
//!
//! It stops when the service that started it is dropped. It must not take a viewer's unit of
//! work: it serves every user (maintenance units), and reads a task as its recipient sees it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::TaskRenderer;
use super::attempts::{self, Outcome};
use super::claim::{self, Claimed};
use super::fan_out;
use super::model::Attempt;
use super::pace::{IN_FLIGHT, PER_USER, Pace, Slots};
use super::queue;
use super::settings::Webhooks;
use super::{signing, ssrf};
use crate::db::Db;
use crate::error::AppResult;
use crate::tasks::service::now_micros;
use crate::tasks::unit::UnitOfWork;

/// How long a finished attempt may wait for others to be recorded with it.
const RECORD_WAIT: Duration = Duration::from_millis(20);
/// How often the journal's events are fanned out to deliveries (at once while a backlog is
/// left).
const FAN_OUT_EVERY: Duration = Duration::from_millis(100);
/// How often the queue is looked at without a nudge.
const POLL: Duration = Duration::from_millis(250);
/// The least time between two claims while fewer than half the slots are free (a claim per
/// finished delivery would read the queue once per delivery).
const CLAIM_GAP: Duration = Duration::from_millis(20);
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
    /// The requests' pool: while requests wait for a connection, the worker sends fewer at
    /// once (background work yields to requests).
    pub requests: Db,
    pub client: reqwest::Client,
    pub settings: Webhooks,
    pub render: TaskRenderer,
    pub nudge: Arc<Notify>,
    /// This worker's claims: a random number, so another instance's (or a previous run's)
    /// are never taken for its own.
    pub token: i64,
    /// Held in the careful mode whatever the pace (tests of its bound).
    pub careful: Arc<std::sync::atomic::AtomicBool>,
}

impl Worker {
    /// Runs until `stop`'s sender is dropped.
    pub(super) async fn run(self: Arc<Self>, mut stop: watch::Receiver<()>) {
        tokio::spawn(self.clone().housekeep(stop.clone()));
        let mut flying: JoinSet<Option<Outcome>> = JoinSet::new();
        let mut slots = Slots::default();
        // Finished, not recorded yet (their webhooks stay leased until they are), and since
        // when. Which webhooks are in flight is the database's to say (their leases, taken by
        // the claim, cleared by the record), for this instance as for the others.
        let mut finished: Vec<Outcome> = Vec::new();
        let mut waiting_since = Instant::now();
        let mut fanned = Instant::now() - FAN_OUT_EVERY;
        let mut more_events = false;
        let mut pace = Pace::default();
        // When the last claim ran, and whether it found all it asked for (more may be due).
        let mut claimed_at = Instant::now() - POLL;
        let mut more_due = true;
        loop {
            while let Some(done) = flying.try_join_next_with_id() {
                landed(done, &mut slots, &mut finished, &mut waiting_since);
            }
            // Recorded together: when a quarter of the slots wait, when nothing else flies, or
            // when the first has waited RECORD_WAIT.
            if !finished.is_empty()
                && (finished.len() >= IN_FLIGHT / 4
                    || flying.is_empty()
                    || waiting_since.elapsed() >= RECORD_WAIT)
            {
                self.record(&finished).await;
                finished.clear();
                // Their webhooks are back in line, perhaps with more due.
                more_due = true;
            }
            // The journal's new events become deliveries, a batch at a time: at once while a
            // backlog is left, else every FAN_OUT_EVERY.
            if more_events || fanned.elapsed() >= FAN_OUT_EVERY {
                fanned = Instant::now();
                let taken = self.fan_out().await;
                // A user's whole turn taken: more of theirs may wait.
                more_events = taken >= fan_out::USER_TURN;
                more_due |= taken > 0;
            }
            // A claim whenever a slot is free: at once when half are, else at most every
            // CLAIM_GAP; while the queue has nothing due, every POLL (or when nudged).
            let careful = pace.busy()
                || self.requests_wait()
                || self.careful.load(std::sync::atomic::Ordering::Relaxed);
            let free = slots.free(careful, finished.len());
            let since = claimed_at.elapsed();
            if free > 0
                && (since >= POLL || (more_due && (free * 2 >= IN_FLIGHT || since >= CLAIM_GAP)))
            {
                claimed_at = Instant::now();
                let claimed = self.claim(free, PER_USER).await;
                pace.claimed(claimed_at.elapsed());
                match claimed {
                    Ok(claimed) => {
                        more_due = claimed.len() >= free;
                        for delivery in claimed {
                            let worker = self.clone();
                            let task = flying.spawn(async move { worker.deliver(delivery).await });
                            let task_id = task.id();
                            slots.started(task_id);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            let wait = match (finished.is_empty(), more_events) {
                (_, true) => Duration::ZERO,
                (true, false) => POLL,
                (false, false) => RECORD_WAIT.saturating_sub(waiting_since.elapsed()),
            };
            // The next fan-out is due; a free slot waits at most CLAIM_GAP; in the careful mode
            // a slot frees when a young delivery ages, too.
            let mut wait = wait.min(FAN_OUT_EVERY.saturating_sub(fanned.elapsed()));
            if more_due && slots.free(careful, finished.len()) > 0 {
                wait = wait.min(CLAIM_GAP.saturating_sub(claimed_at.elapsed()));
            }
            if careful && more_due {
                wait = wait.min(slots.next_ageing().unwrap_or(wait));
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                _ = self.nudge.notified() => more_due = true,
                _ = tokio::time::sleep(wait) => {}
                Some(done) = flying.join_next_with_id(), if !flying.is_empty() => {
                    landed(done, &mut slots, &mut finished, &mut waiting_since);
                }
            }
        }
        // What finished is recorded; what is still in flight is given back (sent again).
        while let Some(done) = flying.try_join_next_with_id() {
            landed(done, &mut slots, &mut finished, &mut waiting_since);
        }
        flying.abort_all();
        if !finished.is_empty() {
            self.record(&finished).await;
        }
        self.release().await;
    }

    /// The queue's gauges every GAUGES and the log's pruning, beside the delivery loop (a long
    /// prune must not hold up records and claims while leases run), until `stop`.
    async fn housekeep(self: Arc<Self>, mut stop: watch::Receiver<()>) {
        let mut pruned = Instant::now();
        loop {
            self.measure().await;
            if pruned.elapsed() >= PRUNE.min(self.settings.log_retention) {
                pruned = Instant::now();
                self.prune().await;
                let repaired = self
                    .work
                    .maintenance(async |conn| Ok(claim::repair(conn).await?))
                    .await;
                match repaired {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(webhooks = n, "webhooks with messages out of line"),
                    Err(e) => tracing::warn!(error = %e, "repairing the webhooks' line failed"),
                }
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(GAUGES) => {}
            }
        }
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

    /// Whether requests wait for a connection of the requests' pool (every one taken).
    fn requests_wait(&self) -> bool {
        let pool = self.requests.pool_stats();
        pool.idle == 0 && pool.waiting > 0
    }

    /// One fan-out (`fan_out`); how many events it took (a full batch: more may wait).
    async fn fan_out(&self) -> i64 {
        let taken = self
            .work
            .maintenance(async |conn| Ok(fan_out::run(conn, fan_out::FAN_OUT_BATCH).await?))
            .await;
        taken.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "fanning webhook events out failed");
            0
        })
    }

    async fn claim(&self, limit: usize, per_user: usize) -> AppResult<Vec<Claimed>> {
        let now = now_micros();
        // Long enough for the attempt and its record; a crashed instance's claim frees then.
        let lease = chrono::Duration::from_std(self.settings.timeout + Duration::from_secs(60))
            .unwrap_or(chrono::Duration::minutes(5));
        let token = self.token;
        self.work
            .maintenance(async |conn| {
                Ok(claim::claim(conn, now, now + lease, token, limit, per_user).await?)
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

    /// One attempt of one claimed delivery, start to send: its outcome, to record; `None` when
    /// there was nothing to send (its task was gone: dropped) or it could not be prepared.
    async fn deliver(&self, delivery: Claimed) -> Option<Outcome> {
        let (message_id, body) = match self.message(&delivery).await {
            Ok(Some(message)) => message,
            Ok(None) => {
                metrics::counter!("webhook_deliveries_total", "outcome" => "dropped").increment(1);
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, delivery = delivery.id, "preparing a webhook message failed");
                return None;
            }
        };
        let attempted_at = now_micros();
        let started = Instant::now();
        let outcome = self.send(&delivery, &message_id, &body).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, error) = match &outcome {
            Ok(status) if (200..300).contains(status) => (Some(*status), None),
            Ok(status) => (Some(*status), Some(format!("answered {status}"))),
            Err(why) => (None, Some(why.clone())),
        };
        let next_attempt_at = match error {
            None => None,
            Some(_) => usize::try_from(delivery.attempts)
                .ok()
                .and_then(|used| self.settings.retry_schedule.get(used))
                .and_then(|delay| chrono::Duration::from_std(*delay).ok())
                .map(|delay| attempted_at + delay),
        };
        let outcome_name = match (&error, next_attempt_at) {
            (None, _) => "succeeded",
            (Some(_), Some(_)) => "retrying",
            (Some(_), None) => "failed",
        };
        metrics::counter!("webhook_deliveries_total", "outcome" => outcome_name).increment(1);
        Some(Outcome {
            delivery_id: delivery.id,
            webhook_id: delivery.webhook_id,
            user_id: delivery.user_id,
            logged: Attempt {
                message_id,
                event_type: delivery.event_type,
                attempt: delivery.attempts + 1,
                status_code,
                error,
                duration_ms,
                attempted_at,
                next_attempt_at,
            },
            body,
        })
    }

    /// Records finished attempts in one transaction (see `attempts`).
    async fn record(&self, finished: &[Outcome]) {
        let disable_after = chrono::Duration::from_std(self.settings.disable_after)
            .unwrap_or(chrono::Duration::days(5));
        let before = now_micros() - disable_after;
        let after = attempts::humanize(self.settings.disable_after);
        let reason = |o: &Outcome| {
            format!(
                "every delivery failed for {after} (WEBHOOK_DISABLE_AFTER); the last: {}",
                o.logged.error.as_deref().unwrap_or("")
            )
        };
        let token = self.token;
        let recorded = self
            .work
            .maintenance(async |conn| {
                Ok(attempts::record(conn, token, finished, before, &reason).await?)
            })
            .await;
        match recorded {
            Ok(n) if n == finished.len() => {}
            Ok(n) => tracing::warn!(
                lost = finished.len() - n,
                "webhook attempts' leases ran out before they were recorded"
            ),
            // One failure must not cost the others their records (a deadlock with a webhook
            // being deleted, say): each alone, then.
            Err(e) if finished.len() > 1 => {
                tracing::debug!(error = %e, "recording webhook attempts together failed; one by one");
                for one in finished.chunks(1) {
                    Box::pin(self.record(one)).await;
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                delivery = finished[0].delivery_id,
                "recording a webhook attempt failed; it will be sent again when its lease runs out"
            ),
        }
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

/// A delivery's task ended: its outcome waits to be recorded, or there is none (dropped,
/// failed before sending, panicked: its leases, the delivery's and its webhook's, run out and
/// another claim takes it).
fn landed(
    done: Result<(tokio::task::Id, Option<Outcome>), tokio::task::JoinError>,
    slots: &mut Slots,
    finished: &mut Vec<Outcome>,
    waiting_since: &mut Instant,
) {
    slots.ended(match &done {
        Ok((id, _)) => *id,
        Err(e) => e.id(),
    });
    if let Ok((_, Some(outcome))) = done {
        if finished.is_empty() {
            *waiting_since = Instant::now();
        }
        finished.push(outcome);
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
