//! SQL for the start-up search-key backfill (`tasks::backfill`).
//!
//! Exempt from `tasks::visibility`, and the only SQL that is: a maintenance job run by the
//! server itself at start, before it serves anyone, over rows written before the key column
//! existed, whoever owns them. No request reaches it, and it reads and writes only the
//! derived `description_key` column. Under RLS it runs as the owner role (see
//! `tasks::unit::UnitOfWork::maintenance`).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::db_run;

/// Rows (of any owner) with a description but no search key yet: written before the key
/// existed. At most `batch` of them.
pub(in crate::tasks) async fn missing_description_keys(
    conn: &mut DbConn,
    batch: i64,
) -> QueryResult<Vec<(i64, String)>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(description_key.is_null())
            .filter(description.is_not_null())
            .select((id, description.assume_not_null()))
            .order_by(id.asc())
            .limit(batch)
            .load(c)
            .await
    })
}

/// Stores search keys computed by the application (inside the job's transaction).
pub(in crate::tasks) async fn set_description_keys(
    conn: &mut DbConn,
    keys: &[(i64, String)],
) -> QueryResult<()> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        for (task_id, key) in keys {
            diesel::update(tasks.filter(id.eq(*task_id)))
                .set(description_key.eq(key))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}
