//! Webhook SQL for their users' requests: list, read, create (under the per-user cap),
//! update (disabling drops what it had queued), delete, a new secret, and the attempts log. Every statement filters by
//! `visibility::webhooks_of` (a webhook is its owner's alone); none reads a secret back but
//! the create and the rotation that wrote it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::model::{Attempt, NewWebhook, WebhookPatch, WebhookRow, events_text};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db::schema::webhook_attempts::dsl as a;
use crate::db::schema::webhook_deliveries::dsl as d;
use crate::db::schema::webhooks::dsl as w;
use crate::db_run;
use crate::tasks::unit::locks::lock_lists;
use crate::tasks::visibility::{owner, webhook_attempts_of, webhook_deliveries_of, webhooks_of};

/// What a user's disabling says.
const DISABLED_BY_USER: &str = "disabled by its user";

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::webhooks)]
struct NewWebhookRow<'a> {
    user_id: &'a str,
    url: &'a str,
    events: String,
    description: Option<&'a str>,
    secret: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Columns an update changes (`None` leaves one alone).
#[derive(AsChangeset)]
#[diesel(table_name = crate::db::schema::webhooks)]
struct WebhookChanges<'a> {
    url: Option<&'a str>,
    events: Option<String>,
    description: Option<Option<&'a str>>,
    disabled: Option<bool>,
    disabled_reason: Option<Option<&'a str>>,
    failing_since: Option<Option<NaiveDateTime>>,
    updated_at: NaiveDateTime,
}

/// The viewer's webhooks, oldest first.
pub(super) async fn all(conn: &mut DbConn, viewer: &AuthUser) -> QueryResult<Vec<WebhookRow>> {
    db_run!(conn, |c| {
        w::webhooks
            .filter(webhooks_of(viewer))
            .order_by(w::id.asc())
            .select(WebhookRow::as_select())
            .load(c)
            .await
    })
}

/// One of the viewer's webhooks.
pub(super) async fn find(
    conn: &mut DbConn,
    viewer: &AuthUser,
    id: i64,
) -> QueryResult<Option<WebhookRow>> {
    db_run!(conn, |c| {
        w::webhooks
            .filter(webhooks_of(viewer))
            .filter(w::id.eq(id))
            .select(WebhookRow::as_select())
            .first(c)
            .await
            .optional()
    })
}

/// Creates a webhook (`input` validated) unless the viewer has `cap` already: `None` then.
pub(super) async fn insert(
    conn: &mut DbConn,
    viewer: &AuthUser,
    input: &NewWebhook,
    secret: &str,
    now: NaiveDateTime,
    cap: u64,
) -> QueryResult<Option<WebhookRow>> {
    // Two creates at once must not both pass the count: the owner's lists lock (rarely held,
    // and by writes as rare as this one) serialises them on PostgreSQL; SQLite has one writer.
    lock_lists(conn, viewer).await?;
    let count: i64 = db_run!(conn, |c| {
        w::webhooks
            .filter(webhooks_of(viewer))
            .count()
            .get_result(c)
            .await
    })?;
    if u64::try_from(count).unwrap_or(0) >= cap {
        return Ok(None);
    }
    let row = NewWebhookRow {
        user_id: owner(viewer),
        url: &input.url,
        events: events_text(input.events.as_deref().unwrap_or_default()),
        description: input.description.as_deref(),
        secret,
        created_at: now,
        updated_at: now,
    };
    db_run!(conn, |c| {
        diesel::insert_into(w::webhooks)
            .values(&row)
            .returning(WebhookRow::as_returning())
            .get_result(c)
            .await
            .map(Some)
    })
}

/// Applies `patch` (validated) to one of the viewer's webhooks; `None` when there is none.
pub(super) async fn update(
    conn: &mut DbConn,
    viewer: &AuthUser,
    id: i64,
    patch: &WebhookPatch,
    now: NaiveDateTime,
) -> QueryResult<Option<WebhookRow>> {
    let changes = WebhookChanges {
        url: patch.url.as_deref(),
        events: patch.events.as_deref().map(events_text),
        description: patch.description.as_ref().map(|d| d.as_deref()),
        disabled: patch.disabled,
        disabled_reason: patch
            .disabled
            .map(|disabled| disabled.then_some(DISABLED_BY_USER)),
        // Re-enabled: its failures start from nothing.
        failing_since: patch.disabled.map(|_| None),
        updated_at: now,
    };
    // Disabled, it is sent nothing, not even what it had queued; re-enabled, nothing queued
    // before (a retry recorded while it was disabled, a message the worker's disabling left)
    // is sent either. The messages first, as `delete` does (and for the same deadlock).
    match patch.disabled {
        Some(true) => drop_queued(conn, viewer, id, &[false, true]).await?,
        Some(false) => drop_queued(conn, viewer, id, &[true]).await?,
        None => 0,
    };
    db_run!(conn, |c| {
        diesel::update(w::webhooks.filter(webhooks_of(viewer)).filter(w::id.eq(id)))
            .set(&changes)
            .returning(WebhookRow::as_returning())
            .get_result(c)
            .await
            .optional()
    })
}

/// Marks the queued messages of the viewer's webhook `id` dropped when its `disabled` is one
/// of `when` now; how many. One in flight is marked too: its attempt is still recorded under
/// its lease (and a retry it asks for is dropped at the re-enabling).
async fn drop_queued(
    conn: &mut DbConn,
    viewer: &AuthUser,
    id: i64,
    when: &[bool],
) -> QueryResult<usize> {
    let hook = w::webhooks
        .filter(webhooks_of(viewer))
        .filter(w::id.eq(id))
        .filter(w::disabled.eq_any(when))
        .select(w::id);
    db_run!(conn, |c| {
        diesel::update(
            d::webhook_deliveries
                .filter(webhook_deliveries_of(viewer))
                .filter(d::webhook_id.eq_any(hook))
                .filter(d::state.eq("pending")),
        )
        .set(d::state.eq("dropped"))
        .execute(c)
        .await
    })
}

/// Gives one of the viewer's webhooks a new secret; `None` when there is no such webhook.
pub(super) async fn set_secret(
    conn: &mut DbConn,
    viewer: &AuthUser,
    id: i64,
    secret: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<WebhookRow>> {
    db_run!(conn, |c| {
        diesel::update(w::webhooks.filter(webhooks_of(viewer)).filter(w::id.eq(id)))
            .set((w::secret.eq(secret), w::updated_at.eq(now)))
            .returning(WebhookRow::as_returning())
            .get_result(c)
            .await
            .optional()
    })
}

/// Deletes one of the viewer's webhooks, its queued messages and its log with it; whether
/// there was one. Its messages go first, in their own statement: the worker recording an
/// attempt locks the message's row, then (the log's foreign key) shares the webhook's, so a
/// delete that locked the webhook's row first and then cascaded to a message the worker held
/// was a deadlock (PostgreSQL ended it with an error: a 500, one delete in three while a
/// message was in flight). In this order the delete waits for the worker's record, or the
/// worker for the delete, never both.
pub(super) async fn delete(conn: &mut DbConn, viewer: &AuthUser, id: i64) -> QueryResult<bool> {
    let gone = db_run!(conn, |c| {
        diesel::delete(
            d::webhook_deliveries
                .filter(webhook_deliveries_of(viewer))
                .filter(d::webhook_id.eq(id)),
        )
        .execute(c)
        .await?;
        diesel::delete(w::webhooks.filter(webhooks_of(viewer)).filter(w::id.eq(id)))
            .execute(c)
            .await
    })?;
    Ok(gone > 0)
}

/// The latest `limit` attempts of the viewer's webhook `id`, newest first.
pub(super) async fn attempts(
    conn: &mut DbConn,
    viewer: &AuthUser,
    id: i64,
    limit: i64,
) -> QueryResult<Vec<Attempt>> {
    db_run!(conn, |c| {
        a::webhook_attempts
            .filter(webhook_attempts_of(viewer))
            .filter(a::webhook_id.eq(id))
            .order_by(a::id.desc())
            .limit(limit)
            .select(Attempt::as_select())
            .load(c)
            .await
    })
}
