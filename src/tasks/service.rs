//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first and runs in one unit of work (`tasks::unit`): a read on one connection,
//! or a write in one transaction: the change, its change number, its event (and, for a delete,
//! the pruning of old tombstones) together.
//!
//! Task writes and the service's shared parts: the reads live in `tasks::reads`, moves in
//! `tasks::moves`, lists in `tasks::lists`, tags in `tasks::tags`, sync in `tasks::sync`, the
//! LISTEN relay in `tasks::events`, the tombstone prune in `tasks::prune`; SQL in
//! `tasks::store`.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};

use super::conditional::hold;
use super::events::publish::Publisher;
use super::events::{EventRouter, EventStream, TaskEvent, TaskEventKind};
use super::keys::{KeyPolicy, written_task};
use super::model::{NewTask, Precondition, Task, TaskPatch, micros};
use super::unit::UnitOfWork;
use super::visibility;
use super::{series, store};
use crate::auth::AuthUser;
use crate::db::events::ListenerNotice;
use crate::db::{Db, DbConn};
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
        work: impl AsyncFnOnce(&mut crate::db::DbConn) -> AppResult<R> + Clone,
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
    /// that changed nothing has no `seq`, and neither has any on PostgreSQL, whose trigger
    /// sent the event).
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

    /// Where the user's journal stands before a write whose events the service delivers
    /// itself (SQLite); its end reads back what it journaled ([`TaskService::journaled_since`]).
    /// `None` where the database's NOTIFY is the event (PostgreSQL): no statement.
    pub(super) async fn journal_mark(
        &self,
        tx: &mut DbConn,
        user: &AuthUser,
    ) -> AppResult<Option<i64>> {
        if !self.publisher.in_process() {
            return Ok(None);
        }
        Ok(Some(store::cursor(tx, user).await?.0))
    }

    /// At the end of a write, in its transaction: the events of every change it journaled
    /// since `mark` (tasks and lists, however many), for [`TaskService::deliver_all`].
    pub(super) async fn journaled_since(
        &self,
        tx: &mut DbConn,
        user: &AuthUser,
        mark: Option<i64>,
    ) -> AppResult<Vec<TaskEvent>> {
        match mark {
            Some(after) => super::changes::events_since(tx, user, after).await,
            None => Ok(Vec::new()),
        }
    }

    /// After the commit: delivers `events` in-process where the publisher says so.
    pub(super) fn deliver_all(&self, events: Vec<TaskEvent>) {
        for event in events {
            self.publisher.delivered(&self.events, || event);
        }
    }

    /// Most tombstones kept per user: as many as the tasks they may have (MAX_TASKS_PER_USER),
    /// so a user's journal holds at most twice that many entries however often they delete.
    pub(super) fn tombstones_kept(&self) -> i64 {
        i64::try_from(self.max_tasks).unwrap_or(i64::MAX)
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
                    let (position, renumbered) =
                        super::tree::room_at_end(tx, user, &input, now).await?;
                    let written =
                        store::insert(tx, user, &input, position, now, self.max_tasks).await?;
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
                        super::tree::placed_patch(tx, user, id, patch, now).await?;
                    let written = store::update(tx, user, id, (&patch, &series), now).await?;
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
        let _turn = self.publisher.turn().await;
        let written = self
            .write_once(user, once, written_task, async |tx| {
                hold(tx, user, id, &expect).await?;
                let now = now_micros();
                if completed
                    && let Some(advanced) = series::complete_occurrence(tx, user, id, now).await?
                {
                    return Ok(Some(advanced));
                }
                Ok(store::set_completed(tx, user, id, completed, now).await?)
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
        let _turn = self.publisher.turn().await;
        let written = self
            .write_once(user, once, written_task, async |tx| {
                hold(tx, user, id, &expect).await?;
                let now = now_micros();
                if let Some(advanced) = series::complete_occurrence(tx, user, id, now).await? {
                    return Ok(Some(advanced));
                }
                Ok(store::toggle(tx, user, id, now).await?)
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
        let cutoff = self.tombstone_cutoff();
        let _turn = self.publisher.turn().await;
        let gone = |deleted: &Option<Vec<(i64, Option<i64>)>>| deleted.as_ref().map(drop);
        let deleted = self
            .write_once(user, once, gone, async |tx| {
                // Before the row lock, as placements take them (`tree::lock_if_moving`).
                store::lock_owner(tx, user).await?;
                hold(tx, user, id, &expect).await?;
                // Its subtasks go with it, each with its tombstone (`moves`).
                let deleted = super::tree::delete_tree(tx, user, id).await?;
                if deleted.is_some() {
                    store::prune_tombstones(tx, user, cutoff, self.tombstones_kept()).await?;
                }
                Ok(deleted)
            })
            .await?;
        for (gone_id, seq) in deleted.ok_or(AppError::NotFound)? {
            self.delivered(user, kind, gone_id, None, seq);
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
