//! Webhooks in GraphQL (issue 43): the `Webhook` type (its `deliveries` log), the `webhooks`
//! and `webhook(id)` queries, and `createWebhook`, `updateWebhook`, `deleteWebhook`,
//! `rotateWebhookSecret` and `testWebhook`. The secret is only in `createWebhook`'s and
//! `rotateWebhookSecret`'s answers. Like the other resolvers: read the viewer, call the
//! service, map the result.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject,
};

use super::error::{parse_id, to_graphql_error};
use super::idempotency::{as_json, item_request, keyed_request, or_replayed};
use super::types::DateTime;
use super::viewer;
use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::graphql::transport::budget::charged;
use crate::tasks::idempotency::request::{Keyed, StoredOutcome, keyed};
use crate::tasks::webhooks::model::{self, Attempt, Created, EventType, NewWebhook, WebhookPatch};
use crate::tasks::webhooks::{WebhookError, WebhookService};

fn hooks<'a>(ctx: &Context<'a>) -> Result<&'a WebhookService> {
    ctx.data::<WebhookService>()
}

/// An endpoint of the signed-in user's, told about changes to the tasks they see with
/// Standard Webhooks signed POSTs (docs/WEBHOOKS.md).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Webhook {
    /// The webhook's id.
    pub id: ID,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it gets.
    pub events: Vec<EventType>,
    /// The user's note.
    pub description: Option<String>,
    /// Disabled (by its user, or for failing every delivery WEBHOOK_DISABLE_AFTER).
    pub disabled: bool,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime,
    #[graphql(skip)]
    pub webhook_id: i64,
}

impl From<crate::tasks::webhooks::model::Webhook> for Webhook {
    fn from(hook: crate::tasks::webhooks::model::Webhook) -> Self {
        Webhook {
            id: ID(hook.id.to_string()),
            url: hook.url,
            events: hook.events,
            description: hook.description,
            disabled: hook.disabled,
            disabled_reason: hook.disabled_reason,
            created_at: DateTime(hook.created_at),
            webhook_id: hook.id,
        }
    }
}

#[ComplexObject]
impl Webhook {
    /// The latest delivery attempts, newest first (`first`: 1 to 100).
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let user = viewer(ctx)?;
        let attempts = charged(ctx, async {
            hooks(ctx)?
                .attempts(user, self.webhook_id, Some(i64::from(first)))
                .await
                .map_err(to_graphql_error)
        })
        .await?;
        Ok(attempts.into_iter().map(WebhookDelivery::from).collect())
    }
}

/// One delivery attempt.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// The message's `webhook-id` (the same on every attempt of one message).
    pub message_id: String,
    /// The message's type (`task.completed`).
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// The endpoint's status; null when it gave none (unreachable, refused, timed out).
    pub status_code: Option<i32>,
    /// What went wrong, when it did.
    pub error: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: i32,
    /// When it was made.
    pub attempted_at: DateTime,
    /// When the message is tried again; null when it is not.
    pub next_attempt_at: Option<DateTime>,
}

impl From<Attempt> for WebhookDelivery {
    fn from(a: Attempt) -> Self {
        WebhookDelivery {
            message_id: a.message_id,
            event_type: a.event_type,
            attempt: a.attempt,
            status_code: a.status_code,
            error: a.error,
            duration_ms: i32::try_from(a.duration_ms).unwrap_or(i32::MAX),
            attempted_at: DateTime(a.attempted_at.and_utc()),
            next_attempt_at: a.next_attempt_at.map(|at| DateTime(at.and_utc())),
        }
    }
}

/// A webhook with its secret: what `createWebhook` and `rotateWebhookSecret` answer.
#[derive(SimpleObject)]
pub struct WebhookWithSecret {
    /// The webhook.
    pub webhook: Webhook,
    /// `whsec_<base64 of 32 bytes>`: verify deliveries with it. Shown only here; null only
    /// in the replay of a mutation sent with an idempotency key (no secret is kept for it).
    pub secret: Option<String>,
}

impl From<Created> for WebhookWithSecret {
    fn from(created: Created) -> Self {
        WebhookWithSecret {
            webhook: created.webhook.into(),
            secret: Some(created.secret),
        }
    }
}

/// What a keyed create or rotation stores: the webhook, never its secret.
fn without_secret(created: &Created) -> StoredOutcome {
    as_json(&created.webhook)
}

/// A create's or a rotation's answer; on a replay, the stored webhook with a null secret.
fn with_secret(result: AppResult<Created>) -> Result<WebhookWithSecret> {
    match result {
        Ok(created) => Ok(created.into()),
        Err(error) => {
            let webhook: model::Webhook = or_replayed(Err(error))?;
            let webhook = webhook.into();
            Ok(WebhookWithSecret {
                webhook,
                secret: None,
            })
        }
    }
}

/// What a keyed mutation answering `true` stores.
fn done(_: &()) -> StoredOutcome {
    as_json(&true)
}

/// A keyed mutation of the webhook `id` answering `true` when done (`deleteWebhook`,
/// `testWebhook`): `write` is the service's call.
async fn done_on<W>(
    ctx: &Context<'_>,
    id: &ID,
    idempotency_key: Option<String>,
    write: W,
) -> Result<bool>
where
    W: AsyncFnOnce(&WebhookService, &AuthUser, i64, Option<Keyed<'_, ()>>) -> AppResult<()>,
{
    let (user, id, request) = item_request(ctx, id, idempotency_key)?;
    let once = keyed(request.as_ref(), &done);
    let written = write(hooks(ctx)?, user, id, once).await;
    or_replayed(written.map(|()| true))
}

/// A webhook to create.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// https (http and private addresses only with WEBHOOK_ALLOW_PRIVATE), no credentials, at
    /// most 2,048 characters.
    pub url: String,
    /// The event types to get (default: all).
    pub events: Option<Vec<EventType>>,
    /// A note, at most 500 characters.
    pub description: Option<String>,
}

/// What to change in a webhook (absent fields stay).
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    /// A new URL.
    pub url: Option<String>,
    /// A new set of event types.
    pub events: Option<Vec<EventType>>,
    /// A new note; null clears it.
    pub description: MaybeUndefined<String>,
    /// false re-enables a disabled webhook; true disables it.
    pub disabled: Option<bool>,
}

/// The webhook queries.
#[derive(Default)]
pub struct WebhookQueries;

#[Object]
impl WebhookQueries {
    /// The signed-in user's webhooks, oldest first.
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let user = viewer(ctx)?;
        let list = charged(ctx, async {
            hooks(ctx)?.list(user).await.map_err(to_graphql_error)
        })
        .await?;
        Ok(list.into_iter().map(Webhook::from).collect())
    }

    /// One webhook by id; null when the signed-in user has no such webhook.
    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Webhook>> {
        let user = viewer(ctx)?;
        let hook = charged(ctx, async {
            match hooks(ctx)?.get(user, parse_id("id", &id)?).await {
                Ok(hook) => Ok(Some(hook)),
                Err(e) if e.feature() == Some(&WebhookError::NotFound) => Ok(None),
                Err(e) => Err(to_graphql_error(e)),
            }
        })
        .await?;
        Ok(hook.map(Webhook::from))
    }
}

/// The webhook mutations.
#[derive(Default)]
pub struct WebhookMutations;

#[Object]
impl WebhookMutations {
    /// Creates a webhook; the answer carries its secret (and only this one and
    /// `rotateWebhookSecret`'s do; a replay of a keyed one has a null secret).
    /// LIMIT_EXCEEDED past MAX_WEBHOOKS_PER_USER.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
        idempotency_key: Option<String>,
    ) -> Result<WebhookWithSecret> {
        let user = viewer(ctx)?;
        let request = keyed_request(ctx, idempotency_key)?;
        let input = NewWebhook {
            url: input.url,
            events: input.events,
            description: input.description,
        };
        let once = keyed(request.as_ref(), &without_secret);
        with_secret(hooks(ctx)?.create(user, input, once).await)
    }

    /// Changes a webhook; `disabled: false` re-enables it.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
        idempotency_key: Option<String>,
    ) -> Result<Webhook> {
        let (user, id, request) = item_request(ctx, &id, idempotency_key)?;
        let patch = WebhookPatch {
            url: input.url,
            events: input.events,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(text) => Some(Some(text)),
            },
            disabled: input.disabled,
        };
        let once = keyed(request.as_ref(), &as_json::<model::Webhook>);
        let hook = hooks(ctx)?.update(user, id, patch, once).await;
        Ok(or_replayed(hook)?.into())
    }

    /// Deletes a webhook with its queued messages and its log; true when done.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        idempotency_key: Option<String>,
    ) -> Result<bool> {
        done_on(ctx, &id, idempotency_key, WebhookService::delete).await
    }

    /// Gives a webhook a new secret (the old one signs nothing more); the answer carries it
    /// (null in the replay of a keyed one: it rotated once).
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        idempotency_key: Option<String>,
    ) -> Result<WebhookWithSecret> {
        let (user, id, request) = item_request(ctx, &id, idempotency_key)?;
        let once = keyed(request.as_ref(), &without_secret);
        with_secret(hooks(ctx)?.rotate_secret(user, id, once).await)
    }

    /// Queues a `webhook.test` message for a webhook; true when queued. WEBHOOK_DISABLED
    /// when it is disabled (it is sent nothing).
    async fn test_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        idempotency_key: Option<String>,
    ) -> Result<bool> {
        done_on(ctx, &id, idempotency_key, WebhookService::test).await
    }
}
