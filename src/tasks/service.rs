//! The task rules: validation, ownership, timestamps. Each public function takes the
//! [`AuthUser`] first, checks out one connection (the unit of work) and makes one statement.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::model::{
    ListQuery, NewTask, Task, TaskPatch, title_key, validate_description, validate_title,
};
use super::store::{self, NewTaskRow, TaskChanges};
use crate::auth::AuthUser;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// The one entry point to tasks, shared by REST and GraphQL.
#[derive(Clone)]
pub struct TaskService {
    db: Db,
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
        TaskService { db }
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
        Ok(store::insert(&mut conn, &row).await?.into())
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
        store::update(&mut conn, user, id, &changes)
            .await?
            .map(Task::from)
            .ok_or(AppError::NotFound)
    }

    /// Sets `completed` to the given value; idempotent (a repeat leaves `updated_at` alone).
    pub async fn set_completed(
        &self,
        user: &AuthUser,
        id: i64,
        completed: bool,
    ) -> AppResult<Task> {
        let mut conn = self.db.conn().await?;
        store::set_completed(&mut conn, user, id, completed, now_micros())
            .await?
            .map(Task::from)
            .ok_or(AppError::NotFound)
    }

    /// Flips `completed` atomically.
    pub async fn toggle(&self, user: &AuthUser, id: i64) -> AppResult<Task> {
        let mut conn = self.db.conn().await?;
        store::toggle(&mut conn, user, id, now_micros())
            .await?
            .map(Task::from)
            .ok_or(AppError::NotFound)
    }

    /// Deletes one of the user's tasks.
    pub async fn delete(&self, user: &AuthUser, id: i64) -> AppResult<()> {
        let mut conn = self.db.conn().await?;
        if store::delete(&mut conn, user, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
