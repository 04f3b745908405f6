//! Live updates and incremental sync for REST clients: `GET /api/{user_id}/tasks/changes`
//! (what changed since a cursor) and `GET /api/{user_id}/tasks/events` (Server-Sent Events
//! carrying the same events as the GraphQL subscription). Same auth, rate limit and 403 rule
//! as the other task routes; the subscription cap is the event router's, shared with GraphQL.
//! An SSE stream holds one of its user's live-connection places and one of the server's (the
//! admission gate's, shared with WebSockets) for as long as it is open: over either, the open
//! is refused (429 `TOO_MANY_CONNECTIONS` / 503 `SERVER_BUSY`), and a refused open of any kind
//! closes its connection.
//! An SSE stream lives only as long as its token ([`Credential`], as a GraphQL socket): at the
//! token's `exp`, or when re-verification fails (a revoked Better Auth session), it sends a
//! final `event: unauthorized` saying why and ends.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Owner;
use super::json::TaskJson;
use super::list_body::ListJson;
use super::openapi::{ListErrors, Slashed, UserPath};
use crate::AppState;
use crate::auth::{Credential, CredentialEnd, Gate, Verifier, bearer_token};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::tasks::{TaskEvent, TaskEventKind, TaskService};

/// The routes and their documentation, from one list; each also under a trailing slash.
/// A refused stream closes its connection (`server::conn::close_refused`), so a client that keeps
/// the socket open after its 429 / 503 holds no connection slot.
pub(super) fn router() -> OpenApiRouter<AppState> {
    let events =
        OpenApiRouter::new()
            .slashed(routes!(events))
            .route_layer(axum::middleware::from_fn(
                crate::server::conn::close_refused,
            ));
    OpenApiRouter::new().slashed(routes!(changes)).merge(events)
}

/// What changed since a cursor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesJson {
    /// Tasks created or changed since the cursor, as they are now (every task without one).
    changed: Vec<TaskJson>,
    /// Ids of the tasks deleted since the cursor.
    deleted_ids: Vec<i64>,
    /// Lists created or changed since the cursor, as they are now (every list without one).
    changed_lists: Vec<ListJson>,
    /// Ids of the lists deleted since the cursor.
    deleted_list_ids: Vec<i64>,
    /// Send it as `since` next time.
    cursor: String,
}

/// `since` from the query string (unknown parameters are ignored, as on the list); empty is
/// absent, as a blank `Last-Event-ID` is.
fn since_param(raw: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "since")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.trim().is_empty())
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/changes", tag = "tasks", params(UserPath,
        ("since" = Option<String>, Query, description = "A cursor from an earlier answer or event; none or empty: everything")),
    responses(
        (status = 200, description = "What changed since the cursor, and the next cursor", body = ChangesJson),
        (status = 410, description = "`CURSOR_EXPIRED`: the cursor is older than the deletions kept (TOMBSTONE_RETENTION); fetch everything again", body = crate::error::Detail),
        ListErrors
    )
)]
async fn changes(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<ChangesJson>> {
    let since = since_param(query.as_deref());
    let set = tasks.changes(&user, since.as_deref(), "since").await?;
    Ok(Json(ChangesJson {
        deleted_ids: set.deleted_ids(),
        changed_lists: set.changed_lists().iter().map(ListJson::from).collect(),
        deleted_list_ids: set.deleted_list_ids(),
        cursor: set.cursor_text(),
        changed: set.changed().into_iter().map(TaskJson::from).collect(),
    }))
}

fn kind_name(kind: TaskEventKind) -> &'static str {
    match kind {
        TaskEventKind::Created => "CREATED",
        TaskEventKind::Updated => "UPDATED",
        TaskEventKind::Deleted => "DELETED",
        TaskEventKind::ListCreated => "LIST_CREATED",
        TaskEventKind::ListUpdated => "LIST_UPDATED",
        TaskEventKind::ListDeleted => "LIST_DELETED",
        TaskEventKind::Reminder => "REMINDER",
        TaskEventKind::Resync => "RESYNC",
    }
}

/// One SSE message: `id` is the cursor after the change (what `Last-Event-ID` resumes from),
/// `data` the event as JSON with the task (`id`, `task`) or, for a `LIST_*` kind, the list
/// (`list_id`, `list`) in the REST shape.
fn sse_event(event: TaskEvent) -> Event {
    let cursor = event.cursor_text();
    let data = match event.list_id {
        Some(list_id) => json!({
            "kind": kind_name(event.kind),
            "list_id": list_id,
            "list": event.list.as_ref().map(ListJson::from),
            "cursor": cursor,
        }),
        None => json!({
            "kind": kind_name(event.kind),
            "id": event.task_id,
            "task": event.task.map(TaskJson::from),
            "cursor": cursor,
        }),
    };
    let sse = Event::default().data(data.to_string());
    match cursor {
        Some(cursor) => sse.id(cursor),
        None => sse,
    }
}

/// The last message of a stream whose credential ended: a named event (not `error`, which
/// `EventSource` also fires for its own connection failures) with no `id:`, so the client's
/// last event id stays the cursor to resume from. The same code and text as the WebSocket's
/// 4401 close.
fn credential_event(end: &CredentialEnd) -> Event {
    let data = json!({"code": end.code(), "detail": end.message()});
    Event::default()
        .event("unauthorized")
        .data(data.to_string())
}

#[utoipa::path(
    get, path = "/api/{user_id}/tasks/events", tag = "tasks", params(UserPath,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this cursor: the changes since are sent first"),
        ("since" = Option<String>, Query, description = "Same as Last-Event-ID, for clients that cannot set it (empty: none)")),
    responses(
        (status = 200, description = "`text/event-stream`: one `data:` JSON per change (`kind`, `id`, `task`, `cursor`), `id:` = cursor; keep-alive comments. When the token expires or stops verifying (a revoked session), a last `event: unauthorized` with `data: {\"code\": \"TOKEN_EXPIRED\" | \"UNAUTHENTICATED\", \"detail\": …}`, then the stream ends", content_type = "text/event-stream", body = String),
        (status = 410, description = "Not used: an expired cursor gets a RESYNC event", body = crate::error::Detail),
        ListErrors
    )
)]
async fn events(
    Owner(user): Owner,
    State(tasks): State<TaskService>,
    State(config): State<Arc<Config>>,
    State(verifier): State<Arc<Verifier>>,
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Held by the stream: its place comes back when the client goes.
    let live = gate.hold_live(&user)?;
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|v| !v.trim().is_empty());
    // A bad cursor's error names the parameter it came in.
    let (resume, field) = match header {
        Some(header) => (Some(header), "Last-Event-ID"),
        None => (since_param(query.as_deref()), "since"),
    };
    // The changes since the client's cursor, then the live events after them.
    let events = tasks
        .catch_up(&user, resume.as_deref(), field)
        .await?
        .map(sse_event);
    // `Owner` has verified this very token.
    let token = bearer_token(&headers).map_err(AppError::Unauthenticated)?;
    let ended = Credential::new(verifier, token, user).ended();
    let stream = async_stream::stream! {
        let _live = live;
        tokio::pin!(ended);
        tokio::pin!(events);
        loop {
            tokio::select! {
                end = &mut ended => {
                    yield Ok::<_, Infallible>(credential_event(&end));
                    break;
                }
                event = events.next() => match event {
                    Some(event) => yield Ok(event),
                    // Closed at shutdown.
                    None => break,
                },
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(config.realtime.sse_keep_alive)
            .text("keep-alive"),
    ))
}
