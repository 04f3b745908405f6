//! SQL for the maintenance jobs: the scheduled tombstone prune (`tasks::prune`). (Search keys
//! need no job: the database keeps them, see `store::keys`.)
//!
//! Exempt from `tasks::visibility`, and the only SQL that is: a job run by the server itself,
//! whoever owns the rows. No request reaches it. The prune only finds whose tombstones have
//! expired (the journal's `prune_owner` drops them).
//! Under RLS it runs as the owner role (see `tasks::unit::UnitOfWork::maintenance`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::DbConn;
use crate::db_run;

/// Owners (of any user) with tombstones older than `before`, each with the newest such
/// tombstone's number. At most `batch` of them.
pub(in crate::tasks) async fn expired_tombstones(
    conn: &mut DbConn,
    before: NaiveDateTime,
    batch: i64,
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::task_changes::dsl::*;
    let found: Vec<(String, Option<i64>)> = db_run!(conn, |c| {
        task_changes
            .filter(deleted.eq(true))
            .filter(changed_at.lt(before))
            .group_by(user_id)
            .select((user_id, diesel::dsl::max(seq)))
            .order_by(user_id.asc())
            .limit(batch)
            .load(c)
            .await
    })?;
    Ok(found
        .into_iter()
        .filter_map(|(owner, newest)| Some((owner, newest?)))
        .collect())
}
