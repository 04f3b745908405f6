//! Incremental sync: what changed for a user since a cursor (`changes`: tasks and lists),
//! where a user stands now (`cursor`), and the catch-up a live stream starts with
//! (`catch_up`: the changes since the client's last cursor, then the live events after them,
//! without gaps or repeats). REST's `/changes` and SSE and GraphQL's `changes` all read
//! through here; the journal's entries become events in `tasks::sync::changes`.
//!
//! It reads the change journal (`journal`) and the tasks; it never writes a task.

pub(in crate::tasks) mod changes;
pub(in crate::tasks) mod journal;
pub(in crate::tasks) mod maintenance;
pub(in crate::tasks) mod prune;

use chrono::NaiveDateTime;
use futures::{Stream, StreamExt, stream};

use super::events::{TaskEvent, TaskEventKind};
use super::visibility;
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::lists::model::List;
use crate::tasks::lists::reads;
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::sync::changes::{Reader, changes_page};
use crate::tasks::task::model::{ListQuery, Task, TaskRow};
use crate::tasks::task::page::STREAM_PAGE_SIZE;
use crate::tasks::task::query;

/// What changed for a user since a cursor (or everything, without one).
#[derive(Debug, Clone)]
pub struct TaskChangeSet {
    /// The changes in the order they happened, each task once at its last change, with the
    /// task as it is now: `Created` for a task created after the cursor (even if it changed
    /// again since), `Updated` for an older one, `Deleted` for a tombstone (also for a task
    /// both created and deleted in the gap). Each carries its cursor. Without a cursor, every
    /// task as `Created`.
    pub events: Vec<TaskEvent>,
    /// The cursor to send next time.
    pub cursor: i64,
}

impl TaskChangeSet {
    /// The tasks created or changed (their current state).
    pub fn changed(&self) -> Vec<Task> {
        self.events.iter().filter_map(|e| e.task.clone()).collect()
    }

    /// The ids of tasks deleted.
    pub fn deleted_ids(&self) -> Vec<i64> {
        self.events
            .iter()
            .filter(|e| e.kind == TaskEventKind::Deleted)
            .filter_map(|e| e.task_id)
            .collect()
    }

    /// The lists created or changed (their current state).
    pub fn changed_lists(&self) -> Vec<List> {
        self.events.iter().filter_map(|e| e.list.clone()).collect()
    }

    /// The ids of lists deleted.
    pub fn deleted_list_ids(&self) -> Vec<i64> {
        self.events
            .iter()
            .filter(|e| e.kind == TaskEventKind::ListDeleted)
            .filter_map(|e| e.list_id)
            .collect()
    }

    /// The cursor as the APIs show it.
    pub fn cursor_text(&self) -> String {
        self.cursor.to_string()
    }
}

/// The cursor a client sent, if any: an empty or blank one is none, on every API (a form or
/// a query string sends `since=` for a cursor it does not have yet).
fn given(since: Option<&str>) -> Option<&str> {
    since.filter(|raw| !raw.trim().is_empty())
}

/// Reads a cursor a client sent back (`field` names the parameter in errors).
fn parse_cursor(field: &str, raw: &str) -> AppResult<i64> {
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(AppError::invalid(FieldError {
            location: "query",
            field: Some(field.to_owned()),
            kind: "value_error",
            message: "Value error, not a cursor this API returned".into(),
            input: serde_json::Value::from(raw),
            ctx: None,
        })),
    }
}

impl TaskService {
    /// The user's changes since `since` (a cursor this API returned), or all of their tasks
    /// without one, and the cursor to use next. A cursor older than the deletions kept is
    /// [`AppError::CursorExpired`]: the client must fetch everything again.
    pub async fn changes(
        &self,
        user: &AuthUser,
        since: Option<&str>,
        field: &str,
    ) -> AppResult<TaskChangeSet> {
        let since = given(since)
            .map(|raw| parse_cursor(field, raw))
            .transpose()?;
        self.prune_expired(user).await?;
        self.work
            .read(user, async |conn| {
                let last = sync_point(conn, user, since).await?;
                let Some(since) = since else {
                    let lists = reads::all(conn, user).await?;
                    let all = conn
                        .readers(async |r| {
                            let all = ListQuery::default();
                            query::list(r, user, &all, None, now_micros()).await
                        })
                        .await?;
                    let kind = TaskEventKind::ListCreated;
                    let events =
                        lists
                            .into_iter()
                            .map(|row| {
                                let list = List::from(row);
                                TaskEvent::list_change(user.id(), kind, list.id, Some(list), last)
                            })
                            .chain(all.into_iter().rev().filter_map(TaskRow::readable).map(
                                |task| {
                                    let kind = TaskEventKind::Created;
                                    TaskEvent::change(user.id(), kind, task.id, Some(task), last)
                                },
                            ))
                            .collect();
                    return Ok(TaskChangeSet {
                        events,
                        cursor: last,
                    });
                };
                let (events, _) =
                    changes_page(conn, Reader::Viewer(user), since, since, last, None).await?;
                Ok(TaskChangeSet {
                    events,
                    cursor: last,
                })
            })
            .await
    }

    /// Drops the user's tombstones past retention, if any (a write unit of its own, before
    /// the reads: most of the time there is nothing to drop and this is one cheap read).
    async fn prune_expired(&self, user: &AuthUser) -> AppResult<()> {
        let cutoff = self.tombstone_cutoff();
        let prunable = self
            .work
            .read(user, async |conn| {
                Ok(journal::prunable(conn, user, cutoff).await?)
            })
            .await?;
        if let Some(newest) = prunable {
            self.write(user, async |tx| Ok(journal::prune(tx, user, newest).await?))
                .await?;
        }
        Ok(())
    }

    /// Tombstones older than this are dropped.
    pub(super) fn tombstone_cutoff(&self) -> NaiveDateTime {
        chrono::Duration::from_std(self.tombstone_retention)
            .ok()
            .and_then(|keep| now_micros().checked_sub_signed(keep))
            .unwrap_or(NaiveDateTime::MIN)
    }

    /// The user's current cursor (where a client that just fetched everything stands).
    pub async fn cursor(&self, user: &AuthUser) -> AppResult<i64> {
        let (last, _) = self
            .work
            .read(user, async |conn| Ok(journal::cursor(conn, user).await?))
            .await?;
        Ok(last)
    }

    /// The catch-up of a live stream resuming after `resume` (a cursor the client saw last,
    /// `field` naming where it came from in errors), followed by the live events: subscribed
    /// first, so nothing falls between the two, and the live events the catch-up already
    /// covered are skipped. Without `resume`, the live events only. A cursor too old to replay
    /// gives one `Resync` event carrying the current cursor (fetch everything, resume from
    /// there). Refused like [`TaskService::subscribe`] at the subscription cap.
    pub async fn catch_up(
        &self,
        user: &AuthUser,
        resume: Option<&str>,
        field: &str,
    ) -> AppResult<impl Stream<Item = TaskEvent> + Send + use<>> {
        let live = self.subscribe(user).await?;
        let mut first: Vec<TaskEvent> = Vec::new();
        let mut covered = None;
        let mut replay = None;
        if let Some(resume) = given(resume) {
            let since = parse_cursor(field, resume)?;
            self.prune_expired(user).await?;
            let point = self
                .work
                .read(user, async |conn| sync_point(conn, user, Some(since)).await)
                .await;
            match point {
                Ok(last) => {
                    // The replay reads its pages as the client takes them, each its own
                    // short read: no connection is held while the client reads.
                    covered = Some(last);
                    replay = Some(self.replay(user, since, last));
                }
                Err(AppError::CursorExpired) => {
                    let now = self.cursor(user).await?;
                    covered = Some(now);
                    first.push(TaskEvent::resync_at(visibility::inbox(user), now));
                }
                Err(e) => return Err(e),
            }
        }
        let live = live.filter(move |event| {
            let fresh = match (event.cursor, covered) {
                (Some(cursor), Some(covered)) => cursor > covered,
                _ => true,
            };
            std::future::ready(fresh)
        });
        // A replay page that fails ends the stream (the client resumes from the last event it
        // got) rather than go on to the live events with a gap.
        Ok(stream::iter(first.into_iter().map(Ok))
            .chain(stream::iter(replay).flatten())
            .chain(live.map(Ok))
            .take_while(|item| {
                if let Err(error) = item {
                    tracing::warn!(%error, "a replay page failed; ending the stream");
                }
                std::future::ready(item.is_ok())
            })
            .filter_map(|item| std::future::ready(item.ok())))
    }

    /// The changes numbered `since < seq <= upto`, read [`STREAM_PAGE_SIZE`] at a time when
    /// the stream is polled for more, each page its own short read.
    fn replay(
        &self,
        user: &AuthUser,
        since: i64,
        upto: i64,
    ) -> impl Stream<Item = AppResult<TaskEvent>> + Send + use<> {
        let (service, user) = (self.clone(), user.clone());
        stream::unfold(Some(since), move |after| {
            let (service, user) = (service.clone(), user.clone());
            async move {
                let after = after?;
                let limit = Some(STREAM_PAGE_SIZE);
                let page = service.page_read(&user, async |conn| {
                    changes_page(conn, Reader::Viewer(&user), since, after, upto, limit).await
                });
                let (items, next) = match page.await {
                    Ok((events, next)) => (events.into_iter().map(Ok).collect(), next),
                    Err(error) => (vec![Err(error)], None),
                };
                Some((stream::iter::<Vec<AppResult<TaskEvent>>>(items), next))
            }
        })
        .flatten()
    }
}

/// Where sync stands for the user now: the last change number. A `since` older than the
/// deletions kept, or newer than the last change, is [`AppError::CursorExpired`].
async fn sync_point(conn: &mut DbConn, user: &AuthUser, since: Option<i64>) -> AppResult<i64> {
    // The counter first: every change up to it has committed (one user's changes commit in
    // number order), so reading up to it is exact.
    let (last, pruned) = journal::cursor(conn, user).await?;
    match since {
        Some(since) if since < pruned || since > last => Err(AppError::CursorExpired),
        _ => Ok(last),
    }
}
