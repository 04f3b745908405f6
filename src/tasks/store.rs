//! All task SQL, written once in diesel's DSL and expanded for each backend by [`db_run!`].
//! Every function takes the owner, and every statement is filtered by it: no function here
//! can read or change a task by id alone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::model::{ListQuery, SortKey, SortOrder, TaskRow, TaskStatus};
use crate::auth::AuthUser;
use crate::db::DbConn;
use diesel::IntoSql;

use crate::db_run;

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(super) struct NewTaskRow<'a> {
    pub user_id: &'a str,
    pub title: &'a str,
    pub title_key: &'a str,
    pub description: Option<&'a str>,
    pub completed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Columns to change; `None` leaves a column alone, `description: Some(None)` sets NULL.
#[derive(AsChangeset)]
#[diesel(table_name = crate::db::schema::tasks)]
pub(super) struct TaskChanges<'a> {
    pub title: Option<&'a str>,
    pub title_key: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub completed: Option<bool>,
    pub updated_at: NaiveDateTime,
}

/// The owner's tasks, filtered and ordered as asked.
pub(super) async fn list(
    conn: &mut DbConn,
    owner: &AuthUser,
    query: &ListQuery,
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    let direction = query.order.unwrap_or_else(|| query.sort.default_order());
    db_run!(conn, |c| {
        let mut q = tasks
            .filter(user_id.eq(owner.id()))
            .select(TaskRow::as_select())
            .into_boxed();
        q = match query.status {
            TaskStatus::All => q,
            TaskStatus::Pending => q.filter(completed.eq(false)),
            TaskStatus::Completed => q.filter(completed.eq(true)),
        };
        q = match (query.sort, direction) {
            (SortKey::CreatedAt, SortOrder::Asc) => q.order_by((created_at.asc(), id.asc())),
            (SortKey::CreatedAt, SortOrder::Desc) => q.order_by((created_at.desc(), id.desc())),
            (SortKey::UpdatedAt, SortOrder::Asc) => q.order_by((updated_at.asc(), id.asc())),
            (SortKey::UpdatedAt, SortOrder::Desc) => q.order_by((updated_at.desc(), id.desc())),
            (SortKey::Title, SortOrder::Asc) => q.order_by((title_key.asc(), id.asc())),
            (SortKey::Title, SortOrder::Desc) => q.order_by((title_key.desc(), id.desc())),
            (SortKey::Status, SortOrder::Asc) => q.order_by((completed.asc(), id.asc())),
            (SortKey::Status, SortOrder::Desc) => q.order_by((completed.desc(), id.desc())),
        };
        q.load(c).await
    })
}

/// One of the owner's tasks.
pub(super) async fn find(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(id.eq(task_id))
            .filter(user_id.eq(owner.id()))
            .select(TaskRow::as_select())
            .first(c)
            .await
            .optional()
    })
}

/// Inserts a task for its owner only while they have fewer than `cap` tasks, in one
/// `INSERT … SELECT … WHERE (SELECT count(*) …) < cap` statement; `None` when at the cap.
/// SQLite runs one writer at a time, so the count cannot go stale. PostgreSQL's READ
/// COMMITTED could let two concurrent inserts see the same count, so there the statement runs
/// in a transaction holding a per-owner advisory lock (PostgreSQL only: SQLite has none and
/// needs none).
pub(super) async fn insert_capped(
    conn: &mut DbConn,
    row: &NewTaskRow<'_>,
    cap: u64,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::count_star;
    use diesel::sql_types::{Bool, Nullable, Text, Timestamp};
    use diesel_async::AsyncConnection;
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    // One statement, expanded per backend (the backend type is fixed by the connection).
    macro_rules! capped_insert {
        () => {
            diesel::insert_into(tasks)
                .values(
                    diesel::select((
                        row.user_id.into_sql::<Text>(),
                        row.title.into_sql::<Text>(),
                        row.title_key.into_sql::<Text>(),
                        row.description.into_sql::<Nullable<Text>>(),
                        row.completed.into_sql::<Bool>(),
                        row.created_at.into_sql::<Timestamp>(),
                        row.updated_at.into_sql::<Timestamp>(),
                    ))
                    .filter(
                        tasks
                            .filter(user_id.eq(row.user_id))
                            .select(count_star())
                            .single_value()
                            .lt(cap),
                    ),
                )
                .into_columns((
                    user_id,
                    title,
                    title_key,
                    description,
                    completed,
                    created_at,
                    updated_at,
                ))
                .returning(TaskRow::as_returning())
        };
    }
    match conn {
        DbConn::Postgres(pooled) => {
            let c = &mut **pooled;
            c.transaction::<_, diesel::result::Error, _>(async |c| {
                // PostgreSQL only (see above): serialises this owner's capped inserts until
                // the transaction ends.
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind::<Text, _>(row.user_id)
                    .execute(c)
                    .await?;
                capped_insert!().get_result(c).await.optional()
            })
            .await
        }
        DbConn::Sqlite(pooled) => capped_insert!().get_result(&mut **pooled).await.optional(),
    }
}

/// Applies `changes` to one of the owner's tasks in one statement.
pub(super) async fn update(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    changes: &TaskChanges<'_>,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        diesel::update(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
            .set(changes)
            .returning(TaskRow::as_returning())
            .get_result(c)
            .await
            .optional()
    })
}

/// Sets `completed`; only a real change bumps `updated_at`, so repeating it changes nothing.
/// When nothing changed (already in that state, or no such task) the row is read back.
pub(super) async fn set_completed(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    value: bool,
    now: NaiveDateTime,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    let changed = db_run!(conn, |c| {
        diesel::update(
            tasks
                .filter(id.eq(task_id))
                .filter(user_id.eq(owner.id()))
                .filter(completed.ne(value)),
        )
        .set((completed.eq(value), updated_at.eq(now)))
        .returning(TaskRow::as_returning())
        .get_result(c)
        .await
        .optional()
    })?;
    match changed {
        Some(row) => Ok(Some(row)),
        None => find(conn, owner, task_id).await,
    }
}

/// Flips `completed` in one `UPDATE … SET completed = NOT completed … RETURNING`, so that
/// concurrent toggles each flip it once.
pub(super) async fn toggle(
    conn: &mut DbConn,
    owner: &AuthUser,
    task_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        diesel::update(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
            .set((
                completed.eq(diesel::dsl::not(completed)),
                updated_at.eq(now),
            ))
            .returning(TaskRow::as_returning())
            .get_result(c)
            .await
            .optional()
    })
}

/// Deletes one of the owner's tasks; false when there was none.
pub(super) async fn delete(conn: &mut DbConn, owner: &AuthUser, task_id: i64) -> QueryResult<bool> {
    use crate::db::schema::tasks::dsl::*;
    let deleted = db_run!(conn, |c| {
        diesel::delete(tasks.filter(id.eq(task_id)).filter(user_id.eq(owner.id())))
            .execute(c)
            .await
    })?;
    Ok(deleted > 0)
}
