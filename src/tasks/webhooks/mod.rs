//! Webhooks (issue 43): a user's endpoints, told about changes to the tasks they see (the same
//! audience as their live streams: their own tasks and those of lists shared with them,
//! whoever wrote them) with Standard Webhooks v1 signed POSTs, at least once, durably, on
//! any number of instances.
//!
//! - `model`: event types, the webhook as both APIs show it, inputs, the attempts log.
//! - `rules`: what a URL, a set of types and a description must be (422 otherwise).
//! - `store`: the users' requests' SQL; `fan_out`: events to deliveries; `queue`: the
//!   deliveries' (claim, depth, prune); `attempts`: attempts recorded in batches.
//! - `signing`: secrets, message ids, the `v1,` signature; `ssrf`: which addresses a delivery
//!   may reach, and the client that holds to it; `worker`: the per-instance delivery loop.
//!
//! Changes are queued by the database (migrations 000077, 000078: a trigger on the journal
//! queues one event row when the entry's user has an enabled webhook taking its type), in the
//! writing transaction, so every writer is covered and each change is queued once; a user
//! with no webhook pays one index probe per journal entry. The worker fans each event out to
//! a delivery per webhook (`fan_out`), off the write path. The server queues what it makes
//! itself: `webhook.test` ([`WebhookService::test`]) and `reminder.due`
//! ([`enqueue_reminders`]).
//!
//! [`WebhookService`] is what REST and GraphQL call. It must not know HTTP adapters' shapes:
//! the task's REST JSON comes from the [`TaskRenderer`] the application gives it.

mod attempts;
mod claim;
mod error;
mod fan_out;
mod message;
pub mod model;
mod pace;
mod queue;
mod rules;
pub mod settings;
mod signing;
mod ssrf;
mod store;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, watch};

use crate::auth::AuthUser;
use crate::db::{Db, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::idempotency::keys::KeyPolicy;
use crate::tasks::idempotency::request::Keyed;
use crate::tasks::idempotency::run_keyed;
use crate::tasks::service::now_micros;
use crate::tasks::unit::{Deferral, UnitOfWork};
use crate::tasks::visibility::owner;
use crate::tasks::{Task, TaskService};
pub use error::WebhookError;
use model::{Attempt, Created, EventType, NewWebhook, Webhook, WebhookPatch, WebhookRow};
use settings::Webhooks;

pub use rules::{MAX_DESCRIPTION_CHARS, MAX_URL_CHARS};

/// Renders a task as a delivery's `data` (the REST shape; given by the application).
pub type TaskRenderer = fn(&Task) -> serde_json::Value;

/// The PostgreSQL application name of the delivery worker's connections.
pub const WORKER_APPLICATION_NAME: &str = "todo-api-webhooks";

/// The most attempts one read of the log returns.
pub const MAX_ATTEMPTS_PAGE: i64 = 100;
/// How many attempts a read of the log returns when not told.
pub const DEFAULT_ATTEMPTS_PAGE: i64 = 20;

/// The webhook operations both APIs call. Cheap to clone; the delivery worker it starts
/// stops when the last clone is dropped.
#[derive(Clone)]
pub struct WebhookService {
    inner: Arc<Inner>,
}

struct Inner {
    /// The requests' database (its pool's state tells the worker when requests wait).
    db: Db,
    work: UnitOfWork,
    settings: Webhooks,
    /// The task service's idempotency keys: one store, one cap, one set in flight per user.
    keys: KeyPolicy,
    nudge: Arc<Notify>,
    stop: watch::Sender<()>,
    /// Holds the worker in its careful mode (`keep_careful`).
    careful: Arc<AtomicBool>,
}

impl WebhookService {
    /// The service over this database with these settings, keeping idempotency keys as
    /// `tasks` does; no worker yet ([`Self::start`]).
    pub fn new(db: Db, settings: Webhooks, tasks: &TaskService) -> Self {
        let (stop, _) = watch::channel(());
        WebhookService {
            inner: Arc::new(Inner {
                work: UnitOfWork::new(db.clone()),
                db,
                settings,
                keys: tasks.keys.clone(),
                nudge: Arc::new(Notify::new()),
                stop,
                careful: Arc::default(),
            }),
        }
    }

    /// Starts this instance's delivery worker on `worker_db` (its own few connections on
    /// PostgreSQL, named [`WORKER_APPLICATION_NAME`], so that neither a busy request pool nor
    /// the worker holds the other up), rendering tasks with `render`.
    pub fn start(&self, worker_db: Db, render: TaskRenderer) -> anyhow::Result<()> {
        let inner = &self.inner;
        let client = ssrf::client(inner.settings.timeout, inner.settings.allow_private)?;
        let worker = Arc::new(worker::Worker {
            work: UnitOfWork::new(worker_db),
            requests: inner.db.clone(),
            client,
            settings: inner.settings.clone(),
            render,
            nudge: inner.nudge.clone(),
            token: rand::random(),
            careful: inner.careful.clone(),
        });
        metrics::describe_counter!(
            "webhook_deliveries_total",
            "Webhook delivery attempts by outcome: succeeded, retrying, failed (retries used \
             up), dropped (nothing to send)"
        );
        metrics::describe_gauge!(
            "webhook_queue_depth",
            "Webhook messages waiting to be delivered (in flight included), all instances"
        );
        metrics::describe_gauge!(
            "webhook_oldest_pending_seconds",
            "Age of the oldest webhook message still waiting, in seconds"
        );
        tokio::spawn(worker.run(inner.stop.subscribe()));
        Ok(())
    }

    /// Holds the delivery worker in its careful mode (the few slots it keeps while the
    /// database is busy with requests) whatever the database's pace: for tests of that mode's
    /// bound, which a test cannot otherwise bring about without starving its own requests.
    #[doc(hidden)]
    pub fn keep_careful(&self) {
        self.inner.careful.store(true, Ordering::Relaxed);
    }

    /// The user's webhooks, oldest first.
    pub async fn list(&self, user: &AuthUser) -> AppResult<Vec<Webhook>> {
        let rows = self
            .inner
            .work
            .read(user, async |conn| Ok(store::all(conn, user).await?))
            .await?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    /// One of the user's webhooks; another user's is [`WebhookError::NotFound`] too.
    pub async fn get(&self, user: &AuthUser, id: i64) -> AppResult<Webhook> {
        self.inner
            .work
            .read(user, async |conn| Ok(store::find(conn, user, id).await?))
            .await?
            .map(Webhook::from)
            .ok_or_else(|| WebhookError::NotFound.into())
    }

    /// Creates a webhook with a new secret, unless the user has MAX_WEBHOOKS_PER_USER. With a
    /// key, once: the adapter's rendering it stores must leave the secret out.
    pub async fn create(
        &self,
        user: &AuthUser,
        input: NewWebhook,
        once: Option<Keyed<'_, Created>>,
    ) -> AppResult<Created> {
        let settings = &self.inner.settings;
        let input = input.validated(settings.allow_private)?;
        let cap = settings.max_per_user;
        self.write_secret(user, once, async |conn, secret| {
            let row = store::insert(conn, user, &input, secret, now_micros(), cap).await?;
            Ok(row.ok_or(WebhookError::LimitReached(cap))?)
        })
        .await
    }

    /// Changes one of the user's webhooks (`disabled: false` re-enables it).
    pub async fn update(
        &self,
        user: &AuthUser,
        id: i64,
        patch: WebhookPatch,
        once: Option<Keyed<'_, Webhook>>,
    ) -> AppResult<Webhook> {
        let patch = patch.validated(self.inner.settings.allow_private)?;
        self.write(user, once, async |conn| {
            let row = store::update(conn, user, id, &patch, now_micros()).await?;
            row.map(Webhook::from)
                .ok_or_else(|| WebhookError::NotFound.into())
        })
        .await
    }

    /// Deletes one of the user's webhooks, with its queued messages and its log.
    pub async fn delete(
        &self,
        user: &AuthUser,
        id: i64,
        once: Option<Keyed<'_, ()>>,
    ) -> AppResult<()> {
        self.write(user, once, async |conn| {
            let gone = store::delete(conn, user, id).await?;
            gone.then_some(())
                .ok_or_else(|| WebhookError::NotFound.into())
        })
        .await
    }

    /// Gives one of the user's webhooks a new secret (messages not yet sent are signed with
    /// it; the old one stops working at once). With a key, once, as [`Self::create`].
    pub async fn rotate_secret(
        &self,
        user: &AuthUser,
        id: i64,
        once: Option<Keyed<'_, Created>>,
    ) -> AppResult<Created> {
        self.write_secret(user, once, async |conn, secret| {
            let row = store::set_secret(conn, user, id, secret, now_micros()).await?;
            Ok(row.ok_or(WebhookError::NotFound)?)
        })
        .await
    }

    /// Queues a `webhook.test` message for one of the user's webhooks; a disabled one is
    /// sent nothing ([`WebhookError::Disabled`]).
    pub async fn test(
        &self,
        user: &AuthUser,
        id: i64,
        once: Option<Keyed<'_, ()>>,
    ) -> AppResult<()> {
        self.write(user, once, async |conn| {
            let hook = store::find(conn, user, id).await?;
            match hook {
                None => return Err(WebhookError::NotFound.into()),
                Some(hook) if hook.disabled => return Err(WebhookError::Disabled.into()),
                Some(_) => {}
            }
            Ok(queue::enqueue_test(conn, owner(user), id, now_micros()).await?)
        })
        .await?;
        self.inner.nudge.notify_one();
        Ok(())
    }

    /// The latest `limit` attempts of one of the user's webhooks, newest first.
    pub async fn attempts(
        &self,
        user: &AuthUser,
        id: i64,
        limit: Option<i64>,
    ) -> AppResult<Vec<Attempt>> {
        let limit = limit.unwrap_or(DEFAULT_ATTEMPTS_PAGE);
        if !(1..=MAX_ATTEMPTS_PAGE).contains(&limit) {
            return Err(AppError::invalid(FieldError {
                location: "query",
                field: Some("limit".to_owned()),
                kind: "value_error",
                message: format!("Input should be between 1 and {MAX_ATTEMPTS_PAGE}"),
                input: serde_json::Value::from(limit),
                ctx: None,
            }));
        }
        let rows = self
            .inner
            .work
            .read(user, async |conn| {
                if store::find(conn, user, id).await?.is_none() {
                    return Err(WebhookError::NotFound.into());
                }
                Ok(store::attempts(conn, user, id, limit).await?)
            })
            .await?;
        Ok(rows)
    }

    /// A write of a webhook with a new secret (a create, a rotation): `store` writes its row
    /// with the secret; the answer is the webhook and the secret.
    async fn write_secret(
        &self,
        user: &AuthUser,
        once: Option<Keyed<'_, Created>>,
        store: impl AsyncFnOnce(&mut DbConn, &str) -> AppResult<WebhookRow> + Clone,
    ) -> AppResult<Created> {
        let secret = signing::new_secret();
        self.write(user, once, async |conn| {
            let row = store.clone()(conn, &secret).await?;
            Ok(Created {
                webhook: Webhook::from(row),
                secret: secret.clone(),
            })
        })
        .await
    }

    /// One write unit of the user's; with a key, at most once (`tasks::idempotency`), its
    /// result stored as the adapter renders it.
    async fn write<R: Clone>(
        &self,
        user: &AuthUser,
        once: Option<Keyed<'_, R>>,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        let unit = &self.inner.work;
        let Some(keyed) = once else {
            return Ok(unit.write(user, Deferral::Notify, work).await?.0);
        };
        let keys = &self.inner.keys;
        let _running = keys.enter(user, keyed.request)?;
        let stored = |result: &R| Some(result.clone());
        let keyed_work =
            async |tx: &mut DbConn| run_keyed(keys, tx, user, &keyed, stored, work).await;
        Ok(unit.write(user, Deferral::Notify, keyed_work).await?.0)
    }
}

/// Queues `reminder.due` about each fired task of `fired` (its id and its recipients: the
/// owner and an assignee) for every enabled webhook of theirs that takes it, inside the
/// caller's transaction, so a message is queued if and only if its reminder fires. The
/// caller's unit must be a maintenance one on PostgreSQL (it writes rows of several users).
/// How many were queued.
pub(in crate::tasks) async fn enqueue_reminders(
    conn: &mut DbConn,
    fired: &[(i64, Vec<String>)],
) -> AppResult<usize> {
    let now = now_micros();
    Ok(queue::enqueue(conn, fired, EventType::ReminderDue, now).await?)
}
