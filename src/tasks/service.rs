//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first, checks out one connection (the unit of work) and makes one statement.

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::model::{
    ListQuery, NewTask, Task, TaskPatch, title_key, validate_description, validate_title,
};
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
    /// MAX_TASKS_PER_USER.
    max_tasks: u64,
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
    let now = Utc::now();
    DateTime::<Utc>::from_timestamp_micros(now.timestamp_micros())
        .unwrap_or(now)
        .naive_utc()
}

impl TaskService {
    /// The service over this database.
    pub fn new(db: Db) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        TaskService {
            db,
            max_tasks: u64::MAX,
            events,
        }
    }

    /// The same service, refusing to create more than `max` tasks per user.
    pub fn with_task_cap(mut self, max: u64) -> Self {
        self.max_tasks = max;
        self
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
        let mut conn = self.db.conn().await?;
        let rows = store::list(&mut conn, user, query).await?;
        Ok(rows.into_iter().map(Task::from).collect())
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
        let row = NewTaskRow {
            user_id: user.id(),
            title: &title,
            title_key: &key,
            description: input.description.as_deref(),
            completed: false,
            created_at: now,
            updated_at: now,
        };
        let mut conn = self.db.conn().await?;
        let task = store::insert_capped(&mut conn, &row, self.max_tasks)
            .await?
            .map(Task::from)
            .ok_or(AppError::TaskLimitReached(self.max_tasks))?;
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
        let changes = TaskChanges {
            title: title.as_deref(),
            title_key: key.as_deref(),
            description: patch.description.as_ref().map(|d| d.as_deref()),
            completed: patch.completed,
            updated_at: now_micros(),
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
