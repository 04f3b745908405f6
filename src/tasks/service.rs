//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first and runs in one unit of work (`tasks::unit`): a read on one connection,
//! or a write in one transaction: the change, its change number, its event (and, for a delete,
//! the pruning of old tombstones) together.
//!
//! Task operations only: sync lives in `tasks::sync`, the LISTEN relay in `tasks::events`, the
//! tombstone prune in `tasks::prune`; SQL in `tasks::store`.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use futures::{Stream, stream};

use super::conditional::hold;
use super::events::publish::Publisher;
use super::events::wire::wire_payload;
use super::events::{EventRouter, EventStream, TaskEvent, TaskEventKind};
use super::keys::{KeyPolicy, written_task};
use super::model::{
    ListQuery, NewTask, Precondition, Task, TaskPatch, TaskRow, micros, validate_search,
};
use super::page::{Cursor, MAX_PAGE_SIZE, Page, PageRequest, STREAM_PAGE_SIZE};
use super::tag_rules::filter_keys;
use super::unit::UnitOfWork;
use super::visibility;
use super::{series, store};
use crate::auth::AuthUser;
use crate::db::Db;
use crate::db::events::ListenerNotice;
use crate::error::{AppError, AppResult};
use crate::idempotency::Keyed;

/// The one entry point to tasks, shared by REST and GraphQL.
#[derive(Clone)]
pub struct TaskService {
    /// Where every connection comes from.
    pub(super) work: UnitOfWork,
    /// This instance's subscribers, by user.
    pub(super) events: EventRouter,
    /// How writes publish their events (NOTIFY or in-process), chosen once at construction.
    pub(super) publisher: Publisher,
    /// MAX_TASKS_PER_USER.
    max_tasks: u64,
    /// MAX_TAGS_PER_USER: different tag names per user (`tasks::tags`).
    pub(super) max_tags: u64,
    /// MAX_LISTS_PER_USER (`tasks::lists`).
    pub(super) max_lists: u64,
    /// How long deletions are remembered for incremental sync.
    pub(super) tombstone_retention: Duration,
    /// Idempotency keys: retention, cap, the keys in flight (`tasks::idempotency`).
    pub(super) keys: KeyPolicy,
}

/// Now, cut to microseconds: what both backends store, so a task reads back exactly as written.
pub(super) fn now_micros() -> NaiveDateTime {
    micros(Utc::now()).naive_utc()
}

/// Rules on a list request that hold whichever API it came through.
fn check_query(query: &ListQuery) -> AppResult<()> {
    if let Some(search) = &query.search {
        validate_search("query", "search", search).map_err(AppError::invalid)?;
    }
    for (field, names) in [("tag", &query.tags), ("any_tag", &query.any_tags)] {
        filter_keys(field, names).map_err(AppError::Validation)?;
    }
    Ok(())
}

/// Where the page after a full `page` of a streamed list starts (`None`: it was the last).
fn next_cursor(page: &[Task], query: &ListQuery) -> Option<Cursor> {
    let last = page
        .last()
        .filter(|_| page.len() as i64 >= STREAM_PAGE_SIZE)?;
    Some(Cursor::after(last, query))
}

impl TaskService {
    /// The service over this database, with `max_subscriptions_per_user` open subscriptions
    /// allowed per user and deletions kept `tombstone_retention` for sync.
    pub fn new(db: Db, max_subscriptions_per_user: usize, tombstone_retention: Duration) -> Self {
        TaskService {
            publisher: Publisher::new(db.event_transport()),
            work: UnitOfWork::new(db),
            events: EventRouter::new(max_subscriptions_per_user),
            max_tasks: u64::MAX,
            max_tags: u64::MAX,
            max_lists: u64::MAX,
            tombstone_retention,
            keys: KeyPolicy::default(),
        }
    }

    /// Runs `work`, one page of a streamed list or replay, as a read unit of its own: no
    /// connection is held while the client reads. A user's page reads count against their
    /// share of the pool like any unit (`DB_CONNECTIONS_PER_USER`); there is no instance-wide
    /// queue for them, which one user's expensive pages (a full-list search) would hold
    /// against everyone else's lists.
    pub(super) async fn page_read<R>(
        &self,
        user: &AuthUser,
        work: impl AsyncFnOnce(&mut crate::db::DbConn) -> AppResult<R>,
    ) -> AppResult<R> {
        self.work.read(user, work).await
    }

    /// The same service, refusing to create more than `max` tasks per user.
    pub fn with_task_cap(mut self, max: u64) -> Self {
        self.max_tasks = max;
        self
    }

    /// Routes what the LISTEN connection hears to the subscribers on this instance, each
    /// user's in order (`events::relay`), reading the tasks of events too large for their
    /// payload through `fetch_db` (a pool apart from the requests'), each read within
    /// `db_timeout`. Returns once the first LISTEN is in place (or after `db_timeout`), so
    /// that the instance serves only when it can hear events.
    pub async fn route_database_events(
        &self,
        notices: tokio::sync::mpsc::Receiver<ListenerNotice>,
        fetch_db: Db,
        db_timeout: Duration,
    ) {
        let fetch_work = UnitOfWork::new(fetch_db);
        super::events::relay::route(self.events.clone(), fetch_work, notices, db_timeout).await;
    }

    /// Changes to the user's tasks made through any instance, as they happen, each with the
    /// cursor after it. Refused when the user already has the most subscriptions allowed open
    /// on this instance.
    pub fn subscribe(&self, user: &AuthUser) -> AppResult<EventStream> {
        self.events.subscribe(visibility::inbox(user))
    }

    /// Ends every subscription on this instance (at shutdown).
    pub fn close_subscriptions(&self) {
        self.events.close_all();
    }

    /// After a commit: delivers the event in-process where the publisher says so (a write
    /// that changed nothing, `seq` = `None`, has none).
    pub(super) fn delivered(
        &self,
        user: &AuthUser,
        kind: TaskEventKind,
        task_id: i64,
        task: Option<&Task>,
        seq: Option<i64>,
    ) {
        if let Some(seq) = seq {
            self.publisher.delivered(&self.events, || {
                TaskEvent::change(visibility::owner(user), kind, task_id, task.cloned(), seq)
            });
        }
    }

    /// The user's tasks, filtered and sorted.
    pub async fn list(&self, user: &AuthUser, query: &ListQuery) -> AppResult<Vec<Task>> {
        check_query(query)?;
        let rows = self
            .work
            .read(user, async |conn| {
                super::tree::check_parent_filter(conn, user, query).await?;
                super::list_checks::check_list_filter(conn, user, query).await?;
                Ok(store::list(conn, user, query, None, now_micros()).await?)
            })
            .await?;
        Ok(rows.into_iter().map(Task::from).collect())
    }

    /// The user's tasks, filtered and sorted, as [`list`](Self::list) gives them, read
    /// [`STREAM_PAGE_SIZE`] at a time: the first page now (so a bad request or an unavailable
    /// database is an error before anything is sent), and when it was full, the pages after
    /// it, each read by its own short unit of work when the stream is polled for it. Keyset
    /// order: a task that exists throughout and keeps its sort value comes exactly once.
    pub async fn list_pages(
        &self,
        user: &AuthUser,
        query: &ListQuery,
    ) -> AppResult<(
        Vec<Task>,
        Option<impl Stream<Item = AppResult<Vec<Task>>> + Send + use<>>,
    )> {
        check_query(query)?;
        // One `now` for every page: the `overdue` filter means the same on each.
        let now = now_micros();
        let first = self.list_after(user, query, None, now).await?;
        let Some(after) = next_cursor(&first, query) else {
            return Ok((first, None));
        };
        let (service, user, query) = (self.clone(), user.clone(), query.clone());
        let rest = stream::unfold(Some(after), move |after| {
            let (service, user, query) = (service.clone(), user.clone(), query.clone());
            async move {
                match service.list_after(&user, &query, Some(after?), now).await {
                    Ok(page) if page.is_empty() => None,
                    Ok(page) => {
                        let next = next_cursor(&page, &query);
                        Some((Ok(page), next))
                    }
                    Err(error) => Some((Err(error), None)),
                }
            }
        });
        Ok((first, Some(rest)))
    }

    /// One page of [`STREAM_PAGE_SIZE`] tasks after `after`.
    async fn list_after(
        &self,
        user: &AuthUser,
        query: &ListQuery,
        after: Option<Cursor>,
        now: NaiveDateTime,
    ) -> AppResult<Vec<Task>> {
        let page = PageRequest {
            limit: STREAM_PAGE_SIZE,
            after,
        };
        let rows = self
            .page_read(user, async |conn| {
                super::tree::check_parent_filter(conn, user, query).await?;
                super::list_checks::check_list_filter(conn, user, query).await?;
                Ok(store::list(conn, user, query, Some(&page), now).await?)
            })
            .await?;
        Ok(rows.into_iter().map(Task::from).collect())
    }

    /// One page of the user's tasks, filtered and sorted, with the total over all pages.
    pub async fn list_page(
        &self,
        user: &AuthUser,
        query: &ListQuery,
        page: &PageRequest,
    ) -> AppResult<Page> {
        check_query(query)?;
        // The adapters check the size with their own names; this bounds it whatever the caller.
        let limit = page.limit.clamp(0, MAX_PAGE_SIZE);
        // One more than asked says whether a next page exists.
        let probe = PageRequest {
            limit: limit + 1,
            after: page.after.clone(),
        };
        let now = now_micros();
        let (mut rows, total) = self
            .work
            .read(user, async |conn| {
                super::tree::check_parent_filter(conn, user, query).await?;
                super::list_checks::check_list_filter(conn, user, query).await?;
                let rows = store::list(conn, user, query, Some(&probe), now).await?;
                Ok((rows, store::count(conn, user, query, now).await?))
            })
            .await?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok(Page {
            tasks: rows.into_iter().map(Task::from).collect(),
            has_next,
            total,
        })
    }

    /// Most tombstones kept per user: as many as the tasks they may have (MAX_TASKS_PER_USER),
    /// so a user's journal holds at most twice that many entries however often they delete.
    pub(super) fn tombstones_kept(&self) -> i64 {
        i64::try_from(self.max_tasks).unwrap_or(i64::MAX)
    }

    /// One of the user's tasks; another user's task is [`AppError::NotFound`] too.
    pub async fn get(&self, user: &AuthUser, id: i64) -> AppResult<Task> {
        self.work
            .read(user, async |conn| Ok(store::find(conn, user, id).await?))
            .await?
            .map(Task::from)
            .ok_or(AppError::NotFound)
    }

    /// Creates a task for the user, unless they already have MAX_TASKS_PER_USER.
    pub async fn create(
        &self,
        user: &AuthUser,
        input: NewTask,
        once: Option<Keyed<'_, Task>>,
    ) -> AppResult<Task> {
        let input = input.validated()?;
        let now = now_micros();
        let kind = TaskEventKind::Created;
        let payload = event_payload(user, kind);
        let renumber = event_payload(user, TaskEventKind::Updated);
        let _turn = self.publisher.turn().await;
        let (written, renumbered) = self
            .write_once(
                user,
                once,
                |(w, _)| written_task(w),
                async |tx| {
                    // The list and placement locks (in that order), the list checked; a
                    // subtask takes its parent's list; a long key at the end renumbers first.
                    store::lock_owner(tx, user).await?;
                    if let Some(list) = input.list_id {
                        super::list_checks::hold_list(tx, user, list).await?;
                    }
                    let input = super::tree::subtask_input(tx, user, &input).await?;
                    let renumbered =
                        super::tree::room_at_end(tx, user, &input, now, &renumber).await?;
                    let written =
                        store::insert(tx, user, &input, now, self.max_tasks, &payload).await?;
                    if let (Some(written), Some(tags)) = (&written, &input.tags) {
                        self.index_tags(tx, user, written.row.id, tags, now).await?;
                    }
                    Ok((written, renumbered))
                },
            )
            .await?;
        let written = written.ok_or(AppError::TaskLimitReached(self.max_tasks))?;
        self.published_all(user, renumbered);
        let task = Task::from(written.row);
        self.delivered(user, kind, task.id, Some(&task), written.seq);
        Ok(task)
    }

    /// Changes the fields the patch names; the others stay as they are.
    pub async fn update(
        &self,
        user: &AuthUser,
        id: i64,
        patch: TaskPatch,
        expect: Precondition,
        once: Option<Keyed<'_, Task>>,
    ) -> AppResult<Task> {
        let patch = patch.validated()?;
        let payload = event_payload(user, TaskEventKind::Updated);
        let _turn = self.publisher.turn().await;
        let (written, moved) = self
            .write_once(
                user,
                once,
                |(w, _)| written_task(w),
                async |tx| {
                    super::tree::lock_if_moving(tx, user, &patch).await?;
                    hold(tx, user, id, &expect).await?;
                    let series = series::for_update(tx, user, id, &patch).await?;
                    let now = now_micros();
                    // A new list or parent is a move to the end of that group (`moves`).
                    let (patch, moved) =
                        super::tree::placed_patch(tx, user, id, patch, now, &payload).await?;
                    let written =
                        store::update(tx, user, id, (&patch, &series), now, &payload).await?;
                    if let (Some(_), Some(tags)) = (&written, &patch.tags) {
                        self.index_tags(tx, user, id, tags, now).await?;
                    }
                    Ok((written, moved))
                },
            )
            .await?;
        self.published_all(user, moved);
        self.published_update(user, written)
    }

    /// Sets `completed` to the given value; idempotent (a repeat leaves `updated_at` and the
    /// version alone), except that completing a pending repeating task completes its current
    /// occurrence (`tasks::series`), so a repeat completes the next.
    pub async fn set_completed(
        &self,
        user: &AuthUser,
        id: i64,
        completed: bool,
        expect: Precondition,
        once: Option<Keyed<'_, Task>>,
    ) -> AppResult<Task> {
        let payload = event_payload(user, TaskEventKind::Updated);
        let _turn = self.publisher.turn().await;
        let written = self
            .write_once(user, once, written_task, async |tx| {
                hold(tx, user, id, &expect).await?;
                let now = now_micros();
                if completed
                    && let Some(advanced) =
                        series::complete_occurrence(tx, user, id, now, &payload).await?
                {
                    return Ok(Some(advanced));
                }
                Ok(store::set_completed(tx, user, id, completed, now, &payload).await?)
            })
            .await?;
        self.published_update(user, written)
    }

    /// Flips `completed` atomically; on a pending repeating task, completes its current
    /// occurrence instead (`tasks::series`).
    pub async fn toggle(
        &self,
        user: &AuthUser,
        id: i64,
        expect: Precondition,
        once: Option<Keyed<'_, Task>>,
    ) -> AppResult<Task> {
        let payload = event_payload(user, TaskEventKind::Updated);
        let _turn = self.publisher.turn().await;
        let written = self
            .write_once(user, once, written_task, async |tx| {
                hold(tx, user, id, &expect).await?;
                let now = now_micros();
                if let Some(advanced) =
                    series::complete_occurrence(tx, user, id, now, &payload).await?
                {
                    return Ok(Some(advanced));
                }
                Ok(store::toggle(tx, user, id, now, &payload).await?)
            })
            .await?;
        self.published_update(user, written)
    }

    /// Deletes one of the user's tasks. Deleting is when tombstones pile up, so it is where
    /// old ones and those past the per-user bound go, in the same transaction (expired ones
    /// also go on a schedule: `tasks::prune`).
    pub async fn delete(
        &self,
        user: &AuthUser,
        id: i64,
        expect: Precondition,
        once: Option<Keyed<'_, ()>>,
    ) -> AppResult<()> {
        let kind = TaskEventKind::Deleted;
        let payload = event_payload(user, kind);
        let cutoff = self.tombstone_cutoff();
        let _turn = self.publisher.turn().await;
        let gone = |deleted: &Option<Vec<(i64, i64)>>| deleted.as_ref().map(drop);
        let deleted = self
            .write_once(user, once, gone, async |tx| {
                // Before the row lock, as placements take them (`tree::lock_if_moving`).
                store::lock_owner(tx, user).await?;
                hold(tx, user, id, &expect).await?;
                // Its subtasks go with it, each with its tombstone (`moves`).
                let deleted =
                    super::tree::delete_tree(tx, user, id, now_micros(), &payload).await?;
                if deleted.is_some() {
                    store::prune_tombstones(tx, user, cutoff, self.tombstones_kept()).await?;
                }
                Ok(deleted)
            })
            .await?;
        for (gone_id, seq) in deleted.ok_or(AppError::NotFound)? {
            self.delivered(user, kind, gone_id, None, Some(seq));
        }
        Ok(())
    }

    /// Maps a changed row to the task (404 when there was none) and tells subscribers.
    pub(super) fn published_update(
        &self,
        user: &AuthUser,
        written: Option<store::Written>,
    ) -> AppResult<Task> {
        let written = written.ok_or(AppError::NotFound)?;
        let task = Task::from(written.row);
        self.delivered(
            user,
            TaskEventKind::Updated,
            task.id,
            Some(&task),
            written.seq,
        );
        Ok(task)
    }
}

/// The NOTIFY payload builder of the user's writes of this kind.
pub(super) fn event_payload(
    user: &AuthUser,
    kind: TaskEventKind,
) -> impl Fn(i64, i64, Option<&TaskRow>) -> String + Sync + '_ {
    move |seq, id, row| wire_payload(visibility::owner(user), kind, id, seq, row)
}
