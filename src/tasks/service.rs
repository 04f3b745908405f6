//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first, checks out one connection (the unit of work) and makes one statement,
//! or for a write one transaction: the change, its change number and its event together.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};

use super::events::{self, EventRouter, EventStream, Received, TaskEvent, TaskEventKind};
use super::model::{
    Category, ListQuery, NewTask, Priority, Task, TaskPatch, TaskRow, TaskStats, description_key,
    micros, title_key, validate_description, validate_search, validate_title,
};
use super::page::{MAX_PAGE_SIZE, Page, PageRequest};
use super::store::{self, NewTaskRow, TaskChanges};
use crate::auth::AuthUser;
use crate::db::Db;
use crate::db::events::ListenerNotice;
use crate::error::{AppError, AppResult, FieldError};

/// The one entry point to tasks, shared by REST and GraphQL.
#[derive(Clone)]
pub struct TaskService {
    db: Db,
    events: EventRouter,
    /// MAX_TASKS_PER_USER.
    max_tasks: u64,
    /// How long deletions are remembered for incremental sync.
    tombstone_retention: Duration,
    /// SQLite only: one write (commit and in-process delivery) at a time, so events are
    /// delivered in commit order. SQLite runs one writer at a time anyway; PostgreSQL orders
    /// its NOTIFYs by commit itself and does not take this.
    write_order: Arc<tokio::sync::Mutex<()>>,
}

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

    /// The cursor as the APIs show it.
    pub fn cursor_text(&self) -> String {
        self.cursor.to_string()
    }
}

/// Now, cut to microseconds: what both backends store, so a task reads back exactly as written.
fn now_micros() -> NaiveDateTime {
    micros(Utc::now()).naive_utc()
}

/// Rules on a list request that hold whichever API it came through.
fn check_query(query: &ListQuery) -> AppResult<()> {
    if let Some(search) = &query.search {
        validate_search("query", "search", search).map_err(AppError::invalid)?;
    }
    Ok(())
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
    /// The service over this database, with `max_subscriptions_per_user` open subscriptions
    /// allowed per user and deletions kept `tombstone_retention` for sync.
    pub fn new(db: Db, max_subscriptions_per_user: usize, tombstone_retention: Duration) -> Self {
        TaskService {
            db,
            events: EventRouter::new(max_subscriptions_per_user),
            max_tasks: u64::MAX,
            tombstone_retention,
            write_order: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The same service, refusing to create more than `max` tasks per user.
    pub fn with_task_cap(mut self, max: u64) -> Self {
        self.max_tasks = max;
        self
    }

    /// True when this instance delivers its own events (SQLite); on PostgreSQL every event,
    /// this instance's included, comes back through the LISTEN connection.
    fn delivers_in_process(&self) -> bool {
        matches!(self.db, Db::Sqlite(_))
    }

    /// Routes what the LISTEN connection hears to the subscribers on this instance, in order.
    /// Returns once the first LISTEN is in place (or after `wait`), so that the instance
    /// serves only when it can hear events.
    pub async fn route_database_events(
        &self,
        mut notices: tokio::sync::mpsc::Receiver<ListenerNotice>,
        wait: Duration,
    ) {
        let (ready, listening) = tokio::sync::oneshot::channel::<()>();
        let service = self.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready);
            while let Some(notice) = notices.recv().await {
                match notice {
                    ListenerNotice::Listening { reconnected } => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        if reconnected {
                            service.events.resync_all();
                        }
                    }
                    ListenerNotice::Payload(payload) => service.route_payload(&payload).await,
                }
            }
        });
        if tokio::time::timeout(wait, listening).await.is_err() {
            tracing::warn!(
                "the task event listener is not connected yet; subscribers will get events once \
                 it is (it keeps retrying)"
            );
        }
    }

    async fn route_payload(&self, payload: &str) {
        match events::decode(payload) {
            Some(Received::Event(event)) => self.events.deliver(event),
            Some(Received::ResyncAll) => self.events.resync_all(),
            Some(Received::NeedsTask {
                owner,
                kind,
                task_id,
                seq,
            }) => {
                // Too large to travel in the payload: read it (its current state, which is
                // at least as new as the change).
                let row = match self.db.conn().await {
                    Ok(mut conn) => store::find_for_event(&mut conn, &owner, task_id)
                        .await
                        .map_err(AppError::from),
                    Err(e) => Err(e),
                };
                match row {
                    Ok(Some(row)) => self.events.deliver(TaskEvent::change(
                        &owner,
                        kind,
                        task_id,
                        Some(Task::from(row)),
                        seq,
                    )),
                    // Deleted meanwhile: its deletion event follows.
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read a task for its event; resync");
                        self.events.resync_all();
                    }
                }
            }
            None => {}
        }
    }

    /// Changes to the user's tasks made through any instance, as they happen, each with the
    /// cursor after it. Refused when the user already has the most subscriptions allowed open
    /// on this instance.
    pub fn subscribe(&self, user: &AuthUser) -> AppResult<EventStream> {
        self.events.subscribe(user.id())
    }

    /// Waits for this write's turn where delivery order depends on it (SQLite); held until
    /// the event is delivered.
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.delivers_in_process() {
            Some(self.write_order.lock().await)
        } else {
            None
        }
    }

    /// Ends every subscription on this instance (at shutdown).
    pub fn close_subscriptions(&self) {
        self.events.close_all();
    }

    /// After a commit: on SQLite, delivers the event here (PostgreSQL's NOTIFY does it).
    fn delivered(
        &self,
        user: &AuthUser,
        kind: TaskEventKind,
        task_id: i64,
        task: Option<&Task>,
        seq: Option<i64>,
    ) {
        if let (true, Some(seq)) = (self.delivers_in_process(), seq) {
            self.events.deliver(TaskEvent::change(
                user.id(),
                kind,
                task_id,
                task.cloned(),
                seq,
            ));
        }
    }

    /// The user's changes since `since` (a cursor this API returned), or all of their tasks
    /// without one, and the cursor to use next. A cursor older than the deletions kept is
    /// [`AppError::CursorExpired`]: the client must fetch everything again.
    pub async fn changes(
        &self,
        user: &AuthUser,
        since: Option<&str>,
        field: &str,
    ) -> AppResult<TaskChangeSet> {
        let since = since.map(|raw| parse_cursor(field, raw)).transpose()?;
        let mut conn = self.db.conn().await?;
        store::prune_tombstones(&mut conn, user, self.tombstone_cutoff()).await?;
        // The counter first: every change up to it has committed (one user's changes commit
        // in number order), so reading up to it is exact.
        let (last, pruned) = store::cursor(&mut conn, user).await?;
        let Some(since) = since else {
            let all =
                store::list(&mut conn, user, &ListQuery::default(), None, now_micros()).await?;
            let events = all
                .into_iter()
                .rev()
                .map(|row| {
                    let task = Task::from(row);
                    TaskEvent::change(user.id(), TaskEventKind::Created, task.id, Some(task), last)
                })
                .collect();
            return Ok(TaskChangeSet {
                events,
                cursor: last,
            });
        };
        if since < pruned || since > last {
            return Err(AppError::CursorExpired);
        }
        let entries = store::changes_between(&mut conn, user, since, last).await?;
        let live: Vec<i64> = entries
            .iter()
            .filter(|entry| !entry.deleted)
            .map(|entry| entry.task_id)
            .collect();
        let mut tasks: std::collections::HashMap<i64, Task> =
            store::find_many(&mut conn, user, &live)
                .await?
                .into_iter()
                .map(|row| {
                    let task = Task::from(row);
                    (task.id, task)
                })
                .collect();
        let events = entries
            .into_iter()
            .filter_map(|entry| {
                let id = entry.task_id;
                if entry.deleted {
                    return Some(TaskEvent::change(
                        user.id(),
                        TaskEventKind::Deleted,
                        id,
                        None,
                        entry.seq,
                    ));
                }
                // Missing: deleted after the counter was read; the next sync reports it.
                let task = tasks.remove(&id)?;
                // New to a client at `since`, however often it changed since: it has to add
                // the task (in its latest state), not look for one to update.
                let kind = match entry.created_seq {
                    Some(created) if created > since => TaskEventKind::Created,
                    _ => TaskEventKind::Updated,
                };
                Some(TaskEvent::change(
                    user.id(),
                    kind,
                    id,
                    Some(task),
                    entry.seq,
                ))
            })
            .collect();
        Ok(TaskChangeSet {
            events,
            cursor: last,
        })
    }

    /// Tombstones older than this are dropped.
    fn tombstone_cutoff(&self) -> NaiveDateTime {
        chrono::Duration::from_std(self.tombstone_retention)
            .ok()
            .and_then(|keep| now_micros().checked_sub_signed(keep))
            .unwrap_or(NaiveDateTime::MIN)
    }

    /// The user's current cursor (where a client that just fetched everything stands).
    pub async fn cursor(&self, user: &AuthUser) -> AppResult<i64> {
        let mut conn = self.db.conn().await?;
        Ok(store::cursor(&mut conn, user).await?.0)
    }

    /// The database (for health checks).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The user's tasks, filtered and sorted.
    pub async fn list(&self, user: &AuthUser, query: &ListQuery) -> AppResult<Vec<Task>> {
        check_query(query)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list(&mut conn, user, query, None, now_micros()).await?;
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
        let mut conn = self.db.conn().await?;
        let mut rows = store::list(&mut conn, user, query, Some(&probe), now).await?;
        let total = store::count(&mut conn, user, query, now).await?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok(Page {
            tasks: rows.into_iter().map(Task::from).collect(),
            has_next,
            total,
        })
    }

    /// Counts of the user's tasks: by status, overdue, by priority and by category.
    pub async fn stats(&self, user: &AuthUser) -> AppResult<TaskStats> {
        let mut conn = self.db.conn().await?;
        let groups = store::stats(&mut conn, user, now_micros()).await?;
        let mut stats = TaskStats {
            by_priority: Priority::ALL.iter().map(|p| (*p, 0)).collect(),
            by_category: Category::ALL.iter().map(|c| (*c, 0)).collect(),
            ..TaskStats::default()
        };
        for (rank, category, completed, count, overdue) in groups {
            stats.total += count;
            if completed {
                stats.completed += count;
            } else {
                stats.pending += count;
            }
            stats.overdue += overdue;
            let priority = Priority::from_rank(rank).unwrap_or_default();
            let category = Category::parse(&category).unwrap_or_default();
            for (p, n) in &mut stats.by_priority {
                if *p == priority {
                    *n += count;
                }
            }
            for (c, n) in &mut stats.by_category {
                if *c == category {
                    *n += count;
                }
            }
        }
        Ok(stats)
    }

    /// Deletes the user's completed tasks in one transaction, each with its tombstone and
    /// event (so sync and every instance see them), and returns their ids.
    pub async fn clear_completed(&self, user: &AuthUser) -> AppResult<Vec<i64>> {
        let kind = TaskEventKind::Deleted;
        let payload =
            |seq, id, row: Option<&TaskRow>| events::wire_payload(user.id(), kind, id, seq, row);
        let _turn = self.write_turn().await;
        let mut conn = self.db.conn().await?;
        let deleted = store::delete_completed(&mut conn, user, now_micros(), &payload).await?;
        for (id, seq) in &deleted {
            self.delivered(user, kind, *id, None, Some(*seq));
        }
        if !deleted.is_empty() {
            // As for a single delete: tombstones pile up here. Best effort, it has committed.
            if let Err(e) = store::prune_tombstones(&mut conn, user, self.tombstone_cutoff()).await
            {
                tracing::warn!(error = %e, "pruning old tombstones failed");
            }
        }
        Ok(deleted.into_iter().map(|(id, _)| id).collect())
    }

    /// Fills in the search keys of rows written before they existed (the migration cannot:
    /// the key is Rust's lower-casing, which SQL's `lower()` does not match on either backend).
    /// Idempotent and cheap when there is nothing to do; returns how many rows it keyed.
    pub async fn backfill_search_keys(&self) -> AppResult<usize> {
        const BATCH: i64 = 500;
        let mut done = 0;
        let mut conn = self.db.conn().await?;
        loop {
            let rows = store::missing_description_keys(&mut conn, BATCH).await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let keys: Vec<(i64, String)> = rows
                .into_iter()
                .map(|(id, description)| (id, description_key(&description)))
                .collect();
            store::set_description_keys(&mut conn, &keys).await?;
            done += keys.len();
        }
    }

    /// One of the user's tasks; another user's task is [`AppError::NotFound`] too.
    pub async fn get(&self, user: &AuthUser, id: i64) -> AppResult<Task> {
        let mut conn = self.db.conn().await?;
        store::find(&mut conn, user, id)
            .await?
            .map(Task::from)
            .ok_or(AppError::NotFound)
    }

    /// Creates a task for the user, unless they already have MAX_TASKS_PER_USER.
    pub async fn create(&self, user: &AuthUser, input: NewTask) -> AppResult<Task> {
        let mut errors = Vec::new();
        let title = validate_title(&input.title)
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(description) = &input.description {
            validate_description(description).unwrap_or_else(|e| errors.push(e));
        }
        let Some(title) = title.filter(|_| errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        let now = now_micros();
        let key = title_key(&title);
        let description_key = input.description.as_deref().map(description_key);
        let row = NewTaskRow {
            user_id: user.id(),
            title: &title,
            title_key: &key,
            description: input.description.as_deref(),
            description_key: description_key.as_deref(),
            completed: false,
            created_at: now,
            updated_at: now,
            priority: input.priority.unwrap_or_default().rank(),
            category: input.category.unwrap_or_default().as_str(),
            due_date: input.due_date.map(|d| micros(d).naive_utc()),
        };
        let kind = TaskEventKind::Created;
        let payload =
            |seq, id, row: Option<&TaskRow>| events::wire_payload(user.id(), kind, id, seq, row);
        let _turn = self.write_turn().await;
        let mut conn = self.db.conn().await?;
        let written = store::insert(&mut conn, &row, self.max_tasks, &payload)
            .await?
            .ok_or(AppError::TaskLimitReached(self.max_tasks))?;
        let task = Task::from(written.row);
        self.delivered(user, kind, task.id, Some(&task), written.seq);
        Ok(task)
    }

    /// Changes the fields the patch names; the others stay as they are.
    pub async fn update(&self, user: &AuthUser, id: i64, patch: TaskPatch) -> AppResult<Task> {
        let mut errors = Vec::new();
        let title = match &patch.title {
            Some(title) => validate_title(title).map_err(|e| errors.push(e)).ok(),
            None => None,
        };
        if let Some(Some(description)) = &patch.description {
            validate_description(description).unwrap_or_else(|e| errors.push(e));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let key = title.as_deref().map(title_key);
        let description_key = patch
            .description
            .as_ref()
            .map(|d| d.as_deref().map(description_key));
        let changes = TaskChanges {
            title: title.as_deref(),
            title_key: key.as_deref(),
            description: patch.description.as_ref().map(|d| d.as_deref()),
            description_key: description_key.as_ref().map(|d| d.as_deref()),
            completed: patch.completed,
            updated_at: now_micros(),
            priority: patch.priority.map(Priority::rank),
            category: patch.category.map(Category::as_str),
            due_date: patch.due_date.map(|d| d.map(|d| micros(d).naive_utc())),
        };
        let _turn = self.write_turn().await;
        let mut conn = self.db.conn().await?;
        let written = store::update(&mut conn, user, id, &changes, &update_payload(user)).await?;
        self.published_update(user, written)
    }

    /// Sets `completed` to the given value; idempotent (a repeat leaves `updated_at` alone).
    pub async fn set_completed(
        &self,
        user: &AuthUser,
        id: i64,
        completed: bool,
    ) -> AppResult<Task> {
        let _turn = self.write_turn().await;
        let mut conn = self.db.conn().await?;
        let payload = update_payload(user);
        let written =
            store::set_completed(&mut conn, user, id, completed, now_micros(), &payload).await?;
        self.published_update(user, written)
    }

    /// Flips `completed` atomically.
    pub async fn toggle(&self, user: &AuthUser, id: i64) -> AppResult<Task> {
        let _turn = self.write_turn().await;
        let mut conn = self.db.conn().await?;
        let payload = update_payload(user);
        let written = store::toggle(&mut conn, user, id, now_micros(), &payload).await?;
        self.published_update(user, written)
    }

    /// Deletes one of the user's tasks.
    pub async fn delete(&self, user: &AuthUser, id: i64) -> AppResult<()> {
        let kind = TaskEventKind::Deleted;
        let payload =
            |seq, id, row: Option<&TaskRow>| events::wire_payload(user.id(), kind, id, seq, row);
        let _turn = self.write_turn().await;
        let mut conn = self.db.conn().await?;
        match store::delete(&mut conn, user, id, now_micros(), &payload).await? {
            Some(seq) => {
                self.delivered(user, kind, id, None, Some(seq));
                // Deleting is when tombstones pile up, so it is where old ones go, also for
                // users who never sync. Best effort: the delete itself has committed.
                if let Err(e) =
                    store::prune_tombstones(&mut conn, user, self.tombstone_cutoff()).await
                {
                    tracing::warn!(error = %e, "pruning old tombstones failed");
                }
                Ok(())
            }
            None => Err(AppError::NotFound),
        }
    }

    /// Maps a changed row to the task (404 when there was none) and tells subscribers.
    fn published_update(
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

/// The NOTIFY payload builder of an update.
fn update_payload(user: &AuthUser) -> impl Fn(i64, i64, Option<&TaskRow>) -> String + Sync + '_ {
    move |seq, id, row| events::wire_payload(user.id(), TaskEventKind::Updated, id, seq, row)
}
