//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first, checks out one connection (the unit of work) and makes one statement.

use chrono::{NaiveDateTime, Utc};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::model::{
    Category, ListQuery, NewTask, Priority, Task, TaskPatch, TaskStats, description_key, micros,
    title_key, validate_description, validate_search, validate_title,
};
use super::page::{MAX_PAGE_SIZE, Page, PageRequest};
use super::store::{self, NewTaskRow, TaskChanges};
use crate::auth::AuthUser;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Events kept for a slow subscriber before it starts missing some.
const EVENT_BUFFER: usize = 1024;

/// The one entry point to tasks, shared by REST and GraphQL.
#[derive(Clone)]
pub struct TaskService {
    db: Db,
    events: broadcast::Sender<TaskEvent>,
}

/// What happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEventKind {
    /// It was created.
    Created,
    /// One of its fields changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// A change to one user's task, as published to that user's subscribers.
#[derive(Debug, Clone)]
pub struct TaskEvent {
    /// What happened.
    pub kind: TaskEventKind,
    /// The task's id.
    pub task_id: i64,
    /// The task after the change (`None` once deleted).
    pub task: Option<Task>,
    owner: String,
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

impl TaskService {
    /// The service over this database.
    pub fn new(db: Db) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        TaskService { db, events }
    }

    /// Changes to the user's tasks made through this process, as they happen. Other users'
    /// events never reach the stream; a subscriber too slow to keep up skips the ones it lost.
    pub fn subscribe(&self, user: &AuthUser) -> impl Stream<Item = TaskEvent> + Send + use<> {
        let owner = user.id().to_owned();
        BroadcastStream::new(self.events.subscribe()).filter_map(move |event| {
            let event = event.ok().filter(|e| e.owner == owner);
            async move { event }
        })
    }

    fn publish(&self, user: &AuthUser, kind: TaskEventKind, task_id: i64, task: Option<&Task>) {
        // No subscriber is not an error: the send result only says whether anyone listened.
        let _ = self.events.send(TaskEvent {
            kind,
            task_id,
            task: task.cloned(),
            owner: user.id().to_owned(),
        });
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

    /// Deletes the user's completed tasks in one statement, tells subscribers about each, and
    /// returns their ids.
    pub async fn clear_completed(&self, user: &AuthUser) -> AppResult<Vec<i64>> {
        let mut conn = self.db.conn().await?;
        let ids = store::delete_completed(&mut conn, user).await?;
        for id in &ids {
            self.publish(user, TaskEventKind::Deleted, *id, None);
        }
        Ok(ids)
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

    /// Creates a task for the user.
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
        let mut conn = self.db.conn().await?;
        let task = Task::from(store::insert(&mut conn, &row).await?);
        self.publish(user, TaskEventKind::Created, task.id, Some(&task));
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
        let mut conn = self.db.conn().await?;
        let task = store::update(&mut conn, user, id, &changes).await?;
        self.published_update(user, task)
    }

    /// Sets `completed` to the given value; idempotent (a repeat leaves `updated_at` alone).
    pub async fn set_completed(
        &self,
        user: &AuthUser,
        id: i64,
        completed: bool,
    ) -> AppResult<Task> {
        let mut conn = self.db.conn().await?;
        let task = store::set_completed(&mut conn, user, id, completed, now_micros()).await?;
        self.published_update(user, task)
    }

    /// Flips `completed` atomically.
    pub async fn toggle(&self, user: &AuthUser, id: i64) -> AppResult<Task> {
        let mut conn = self.db.conn().await?;
        let task = store::toggle(&mut conn, user, id, now_micros()).await?;
        self.published_update(user, task)
    }

    /// Deletes one of the user's tasks.
    pub async fn delete(&self, user: &AuthUser, id: i64) -> AppResult<()> {
        let mut conn = self.db.conn().await?;
        if store::delete(&mut conn, user, id).await? {
            self.publish(user, TaskEventKind::Deleted, id, None);
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Maps a changed row to the task (404 when there was none) and tells subscribers.
    fn published_update(
        &self,
        user: &AuthUser,
        row: Option<super::model::TaskRow>,
    ) -> AppResult<Task> {
        let task = row.map(Task::from).ok_or(AppError::NotFound)?;
        self.publish(user, TaskEventKind::Updated, task.id, Some(&task));
        Ok(task)
    }
}
