//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first and runs in one unit of work (`tasks::unit`): a read on one connection,
//! or a write in one transaction: the change, its change number, its event (and, for a delete,
//! the pruning of old tombstones) together. Every write goes through [`TaskService::write`]
//! (or `write_once`), which publishes what it journaled to every user whose journal it moved
//! (`events::publish`).
//!
//! The service sits at the top of `tasks`, above the features it composes; `tasks::task` is
//! what they all build on (the task, its fields, rules and SQL), so it imports none of this.
//! Task writes and the service's shared parts are here: the reads ([`reads`]), the plain
//! writes' calls ([`folded`]: one function call on PostgreSQL, `folded::stepwise` on SQLite),
//! what a write did ([`outcome`]), a conditional move's check ([`conditional`]); moves live in
//! `tasks::order::moves`, lists in `tasks::lists`, tags in `tasks::tags`, sync in
//! `tasks::sync`, the LISTEN relay in `tasks::events`, the tombstone prune in
//! `tasks::sync::prune`.

pub(in crate::tasks) mod conditional;
pub(in crate::tasks) mod folded;
pub(in crate::tasks) mod outcome;
pub(in crate::tasks) mod reads;
mod stats;

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};

use crate::auth::AuthUser;
use crate::db::events::ListenerNotice;
use crate::db::{Db, DbConn};
use crate::error::{AppError, AppResult};
use crate::tasks::events::publish::Publisher;
use crate::tasks::events::{EventRouter, EventStream};
use crate::tasks::idempotency::keys::{KeyPolicy, written_task};
use crate::tasks::idempotency::request::Keyed;
use crate::tasks::series;
use crate::tasks::sync::journal::Written;
use crate::tasks::task::model::{NewTask, Precondition, Task, TaskPatch, micros};
use crate::tasks::unit::UnitOfWork;
use crate::tasks::visibility;
use outcome::{Changed, Created, Limits, Refusal};

/// A create as an adapter asks it: who writes, and the idempotency key's request with the
/// write's rendering when the request has one.
pub struct Writer<'a, T> {
    /// The signed-in user.
    pub user: &'a AuthUser,
    /// `Some` for a keyed request (`crate::tasks::idempotency::request::keyed`).
    pub once: Option<Keyed<'a, T>>,
}

/// A write of one existing item (a task or a list) as an adapter asks it: who writes, which
/// item, what they expect of it (REST `If-Match`, GraphQL `expectedVersion`), keyed or not.
pub struct ItemWrite<'a, T> {
    /// The signed-in user.
    pub user: &'a AuthUser,
    /// The task's or list's id.
    pub id: i64,
    /// Checked inside the write's transaction, after ownership.
    pub expect: Precondition,
    /// `Some` for a keyed request (`crate::tasks::idempotency::request::keyed`).
    pub once: Option<Keyed<'a, T>>,
}

impl<'a, T> ItemWrite<'a, T> {
    /// Its user, id, precondition and key, for the write's closures to take apart.
    pub(in crate::tasks) fn parts(self) -> (&'a AuthUser, i64, Precondition, Option<Keyed<'a, T>>) {
        (self.user, self.id, self.expect, self.once)
    }
}

/// The one entry point to tasks, shared by REST and GraphQL.
#[derive(Clone)]
pub struct TaskService {
    /// Where every connection comes from.
    pub(in crate::tasks) work: UnitOfWork,
    /// This instance's subscribers, by user.
    pub(in crate::tasks) events: EventRouter,
    /// How writes publish their events (NOTIFY or in-process), chosen once at construction.
    pub(in crate::tasks) publisher: Publisher,
    /// MAX_TASKS_PER_USER.
    max_tasks: u64,
    /// MAX_TAGS_PER_USER: different tag names per user (`tasks::tags`).
    pub(in crate::tasks) max_tags: u64,
    /// MAX_LISTS_PER_USER (`tasks::lists`).
    pub(in crate::tasks) max_lists: u64,
    /// MAX_MEMBERS_PER_LIST and MAX_INVITES_PER_LIST (`tasks::sharing::members`).
    pub(in crate::tasks) sharing: crate::tasks::sharing::SharingCaps,
    /// How long deletions are remembered for incremental sync.
    pub(in crate::tasks) tombstone_retention: Duration,
    /// Idempotency keys: retention, cap, the keys in flight (`tasks::idempotency`).
    pub(in crate::tasks) keys: KeyPolicy,
}

/// Now, cut to microseconds: what both backends store, so a task reads back exactly as written.
pub(in crate::tasks) fn now_micros() -> NaiveDateTime {
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
            sharing: crate::tasks::sharing::SharingCaps::default(),
            tombstone_retention,
            keys: KeyPolicy::default(),
        }
    }

    /// Runs `work`, one page of a streamed list or replay, as a read unit of its own: no
    /// connection is held while the client reads. A user's page reads count against their
    /// share of the pool like any unit (`DB_CONNECTIONS_PER_USER`); there is no instance-wide
    /// queue for them, which one user's expensive pages (a full-list search) would hold
    /// against everyone else's lists.
    pub(in crate::tasks) async fn page_read<R>(
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
        let (signals, local) = crate::tasks::events::signal::Signals::start(fetch_db.clone());
        let fetch_work = UnitOfWork::new(fetch_db);
        crate::tasks::events::relay::route(
            self.events.clone(),
            fetch_work,
            notices,
            local,
            db_timeout,
        )
        .await;
        // Writes defer their notifications only once the relay can hear them.
        self.publisher.install(signals);
    }

    /// Changes to the user's tasks made through any instance, as they happen, each with the
    /// cursor after it. Refused when the user already has the most subscriptions allowed open
    /// on this instance.
    pub async fn subscribe(&self, user: &AuthUser) -> AppResult<EventStream> {
        // Where the user's changes stand before the subscription is in place: the relay
        // delivers every change after it, in order, whatever order their signals come in
        // (`events::sequence`). Only where signals can cross (PostgreSQL's relay).
        let baseline = match self.publisher.deferral() {
            crate::tasks::unit::Deferral::Deferred => Some(self.cursor(user).await?),
            crate::tasks::unit::Deferral::Notify => None,
        };
        self.events.subscribe(visibility::inbox(user), baseline)
    }

    /// Ends every subscription on this instance (at shutdown).
    pub fn close_subscriptions(&self) {
        self.events.close_all();
    }

    /// Runs `work` as one write unit of the user's and publishes what it journaled (see
    /// [`Publisher`]): on SQLite every user's events whose journal it moved, read at the end
    /// of its transaction and delivered after the commit, in commit order. Every write of the
    /// service goes through here or [`TaskService::write_once`] (which comes here too).
    pub(in crate::tasks) async fn write<R>(
        &self,
        user: &AuthUser,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        let _turn = self.publisher.turn().await;
        self.write_published(user, work).await
    }

    /// [`TaskService::write`] for a caller already holding the publisher's turn.
    pub(in crate::tasks) async fn write_published<R>(
        &self,
        user: &AuthUser,
        work: impl AsyncFnOnce(&mut DbConn) -> AppResult<R> + Clone,
    ) -> AppResult<R> {
        let ((result, events), deferred) = self
            .work
            .write(user, self.publisher.deferral(), async |tx| {
                self.publisher.begun(tx).await?;
                let result = work(tx).await?;
                Ok((result, self.publisher.journaled(tx).await?))
            })
            .await?;
        self.publisher.deliver(&self.events, events, deferred);
        Ok(result)
    }

    /// Most tombstones kept per user: as many as the tasks they may have (MAX_TASKS_PER_USER),
    /// so a user's journal holds at most twice that many entries however often they delete.
    pub(in crate::tasks) fn tombstones_kept(&self) -> i64 {
        i64::try_from(self.max_tasks).unwrap_or(i64::MAX)
    }

    /// The limits a task write is checked against.
    fn limits(&self) -> Limits {
        Limits {
            tasks: self.max_tasks,
            tags: self.max_tags,
            depth: crate::tasks::order::tree::MAX_DEPTH,
        }
    }

    /// What a refused task write means to a client.
    fn task_refused(&self, refusal: Refusal) -> AppError {
        match refusal {
            Refusal::ListMissing => AppError::ListNotFound,
            Refusal::ParentMissing => AppError::NotFound,
            Refusal::TooDeep { parent, level } => {
                crate::tasks::order::tree::too_deep(parent, level)
            }
            Refusal::NotParentsList { list } => crate::tasks::order::tree::not_parents_list(list),
            Refusal::TaskCap => AppError::TaskLimitReached(self.max_tasks),
            Refusal::TagCap => AppError::TagLimitReached(self.max_tags),
            Refusal::Stale(row) => AppError::VersionConflict(Box::new(Task::from(*row))),
            Refusal::Assignee => crate::tasks::order::tree::not_assignable(),
            Refusal::Forbidden => crate::tasks::sharing::SharingError::NotAllowed(
                "the list is shared with you as a viewer: you may read its tasks, not change them",
            )
            .into(),
        }
    }

    /// Creates a task for the user, unless they already have MAX_TASKS_PER_USER: in its list
    /// (one of theirs), under its parent (one of theirs, not too deep; a subtask takes its
    /// list), after the last of its group, with its tags (under MAX_TAGS_PER_USER). One
    /// statement on PostgreSQL (`service::folded`), unless the group must be renumbered first.
    pub async fn create(&self, w: Writer<'_, Task>, input: NewTask) -> AppResult<Task> {
        let Writer { user, once } = w;
        let input = input.validated()?;
        let now = now_micros();
        let written = self
            .write_once(
                user,
                once,
                |w: &Written| Some(Task::from(w.row.clone())),
                async |tx| {
                    let limits = self.limits();
                    let create = folded::create(tx, user, &input, None, now, limits);
                    match create.await?.map_err(|r| self.task_refused(r))? {
                        Created::Done(written) => Ok(*written),
                        Created::NeedsRoom => {
                            // A long key at the end: the group is renumbered first.
                            let position =
                                crate::tasks::order::tree::room_at_end(tx, user, &input, now)
                                    .await?;
                            let at = Some(position.as_str());
                            let create = folded::create(tx, user, &input, at, now, limits);
                            match create.await?.map_err(|r| self.task_refused(r))? {
                                Created::Done(written) => Ok(*written),
                                Created::NeedsRoom => Err(AppError::Internal(
                                    "no room at the position given".to_owned(),
                                )),
                            }
                        }
                    }
                },
            )
            .await?;
        Ok(Task::from(written.row))
    }

    /// Changes the fields the patch names; the others stay as they are. One statement on
    /// PostgreSQL, unless the task repeats and the patch touches its series, or the patch
    /// moves it (another list or parent): then the service plans what the store hands back.
    pub async fn update(&self, w: ItemWrite<'_, Task>, patch: TaskPatch) -> AppResult<Task> {
        let (user, id, expect, once) = w.parts();
        let patch = patch.validated()?;
        let written = self
            .write_once(user, once, written_task, async |tx| {
                let now = now_micros();
                let tried = folded::update(tx, user, id, (&patch, &expect), now, self.max_tags);
                let held = match tried.await?.map_err(|r| self.task_refused(r))? {
                    None => return Ok(None),
                    Some(Changed::Done(written)) => return Ok(Some(written)),
                    Some(Changed::Pending(held)) => held,
                };
                let series = series::for_update(held.as_ref(), &patch)?;
                // A new list or parent is a move to the end of that group (`moves`).
                let task = (id, held.as_ref());
                let patch =
                    crate::tasks::order::tree::placed_patch(tx, user, task, patch, now).await?;
                let planned = (&patch, &series);
                let written = folded::update_planned(tx, user, id, planned, now, self.max_tags);
                written.await?.map_err(|r| self.task_refused(r))
            })
            .await?;
        written_row(written)
    }

    /// Sets `completed` to the given value; idempotent (a repeat leaves `updated_at` and the
    /// version alone), except that completing a pending repeating task completes its current
    /// occurrence (`tasks::series`), so a repeat completes the next.
    pub async fn set_completed(&self, w: ItemWrite<'_, Task>, completed: bool) -> AppResult<Task> {
        self.complete(w, Some(completed)).await
    }

    /// Flips `completed` atomically; on a pending repeating task, completes its current
    /// occurrence instead (`tasks::series`).
    pub async fn toggle(&self, w: ItemWrite<'_, Task>) -> AppResult<Task> {
        self.complete(w, None).await
    }

    /// [`TaskService::set_completed`] (`value`) or [`TaskService::toggle`] (`None`): one
    /// statement on PostgreSQL, and one more for a repeating task (`series::complete_held`).
    async fn complete(&self, w: ItemWrite<'_, Task>, value: Option<bool>) -> AppResult<Task> {
        let (user, id, expect, once) = w.parts();
        let written = self
            .write_once(user, once, written_task, async |tx| {
                let now = now_micros();
                let done = folded::complete(tx, user, id, value, &expect, now);
                match done.await?.map_err(|r| self.task_refused(r))? {
                    None => Ok(None),
                    Some(Changed::Done(written)) => Ok(Some(written)),
                    Some(Changed::Pending(None)) => Ok(None),
                    Some(Changed::Pending(Some(row))) => {
                        series::complete_held(tx, user, &row, value, now).await
                    }
                }
            })
            .await?;
        written_row(written)
    }

    /// Deletes one of the user's tasks with its subtasks, each with its tombstone. Deleting
    /// is when tombstones pile up, so it is where old ones and those past the per-user bound
    /// go, in the same transaction (expired ones also go on a schedule: `tasks::sync::prune`). One
    /// statement on PostgreSQL, the owner's locks, the precondition and the prune included.
    pub async fn delete(&self, w: ItemWrite<'_, ()>) -> AppResult<()> {
        let (user, id, expect, once) = w.parts();
        let tombstones = (self.tombstone_cutoff(), self.tombstones_kept());
        let gone = |deleted: &Option<Vec<i64>>| deleted.as_ref().map(drop);
        let deleted = self
            .write_once(user, once, gone, async |tx| {
                let depth = crate::tasks::order::tree::MAX_DEPTH;
                let deleted = folded::delete(tx, user, id, &expect, tombstones, depth);
                deleted.await?.map_err(|r| self.task_refused(r))
            })
            .await?;
        deleted.map(drop).ok_or(AppError::NotFound)
    }
}

/// The task a write changed (404 when there was none).
pub(in crate::tasks) fn written_row(written: Option<Written>) -> AppResult<Task> {
    written
        .map(|written| Task::from(written.row))
        .ok_or(AppError::NotFound)
}
