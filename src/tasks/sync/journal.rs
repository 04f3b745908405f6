//! The change journal, as the database keeps it (docs/ARCHITECTURE.md, rule 12): per-user change numbers
//! (`task_sync_cursors`), each task's and each list's last change (`task_changes`, `list_changes`,
//! keyed by owner and id; deletions kept as tombstones for a while). The triggers beside this file
//! (`journal_changes.sql` and what it calls; first made by `2026-11-25-000040_database_journal`)
//! write all of it, and the NOTIFY, for every writer; the server's writes add no statement for it,
//! but for SQLite's one read of whose counters moved ([`drain_touched`]). Sync (`tasks::sync`), the
//! event relay and SQLite's in-process delivery read it here; the tombstone prunes trim it.
//!
//! It must not read or write `tasks` itself (that is `query` and `write`).

use chrono::NaiveDateTime;
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::query_dsl::positional_order_dsl::PositionalOrderDsl;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::{DbConn, PerStore};
use crate::db_run;
use crate::tasks::task::model::TaskRow;
use crate::tasks::visibility::{
    counter_of_owner, cursor_of, journal_of_owner, journal_visible_to, list_journal_of_owner, owner,
};

/// A write that happened: the row after it. Its events are the journal's: PostgreSQL's
/// trigger NOTIFYs them, and on SQLite the service reads them back at the end of the write's
/// transaction ([`drain_touched`]).
pub(in crate::tasks) struct Written {
    pub(in crate::tasks) row: TaskRow,
}

/// A user whose change counter the current transaction moved ([`drain_touched`]).
#[derive(QueryableByName)]
pub(in crate::tasks) struct Touched {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(in crate::tasks) user_id: String,
    /// Where their counter stood before the transaction's first change of it.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(in crate::tasks) before_seq: i64,
    /// Where it stands now.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(in crate::tasks) last_seq: i64,
    /// The newest of their numbers whose tombstone is gone (a prune in the same transaction
    /// may have dropped some of its own: then their events cannot all be read back).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(in crate::tasks) pruned_seq: i64,
}

/// At the start of a write's transaction (SQLite): forgets what another program's writes
/// recorded in `journal_touched` (the server's own writes leave nothing there), so that what
/// [`drain_touched`] finds at the end is this transaction's alone. No statement on
/// PostgreSQL.
pub(in crate::tasks) async fn forget_touched(conn: &mut DbConn) -> QueryResult<()> {
    conn.per_store(TouchedTable { drain: false })
        .await
        .map(drop)
}

/// Each user whose change counter the current transaction moved (SQLite's `journal_touched`,
/// filled by the counters' triggers, migration 000065), and the table emptied: at the end of
/// a write's transaction, so that the service delivers every user's events, not only the
/// writer's. Empty on PostgreSQL, without a statement: its journal trigger NOTIFYs each user.
pub(in crate::tasks) async fn drain_touched(conn: &mut DbConn) -> QueryResult<Vec<Touched>> {
    conn.per_store(TouchedTable { drain: true }).await
}

/// SQLite's `journal_touched` emptied, its rows read (`drain`) or not.
struct TouchedTable {
    drain: bool,
}

impl PerStore for TouchedTable {
    type Output = QueryResult<Vec<Touched>>;

    /// No such table: the journal's trigger NOTIFYs each user itself.
    async fn postgres(self, _conn: &mut PgConn) -> Self::Output {
        Ok(Vec::new())
    }

    /// A table of SQLite's migrations only (not in the shared `schema.rs`), hence SQL text.
    async fn sqlite(self, conn: &mut DbConn) -> Self::Output {
        if !self.drain {
            db_run!(conn, |c| {
                diesel::sql_query("DELETE FROM journal_touched")
                    .execute(c)
                    .await
            })?;
            return Ok(Vec::new());
        }
        db_run!(conn, |c| {
            diesel::sql_query(
                "DELETE FROM journal_touched RETURNING user_id, before_seq, \
                 coalesce((SELECT c.last_seq FROM task_sync_cursors c \
                           WHERE c.user_id = journal_touched.user_id), 0) AS last_seq, \
                 coalesce((SELECT c.pruned_seq FROM task_sync_cursors c \
                           WHERE c.user_id = journal_touched.user_id), 0) AS pruned_seq",
            )
            .load(c)
            .await
        })
    }
}

/// The owner's change counter: (last change number, newest number whose tombstone is gone).
/// (0, 0) for a user who never changed anything.
pub(in crate::tasks) async fn cursor(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> QueryResult<(i64, i64)> {
    use crate::db::schema::task_sync_cursors::dsl::*;
    let found = db_run!(conn, |c| {
        task_sync_cursors
            .filter(cursor_of(viewer))
            .select((last_seq, pruned_seq))
            .first::<(i64, i64)>(c)
            .await
            .optional()
    })?;
    Ok(found.unwrap_or((0, 0)))
}

/// Drops the viewer's tombstones older than `before`, and all but the newest `keep` of them,
/// remembering the newest number dropped so an older cursor is refused instead of silently
/// missing those deletions. Inside a write's transaction (after the delete that makes
/// tombstones pile up).
pub(in crate::tasks) async fn prune_tombstones(
    conn: &mut DbConn,
    viewer: &AuthUser,
    before: NaiveDateTime,
    keep: i64,
) -> QueryResult<()> {
    let by_age = prunable(conn, viewer, before).await?;
    let by_count = beyond(conn, viewer, keep).await?;
    match by_age.max(by_count) {
        Some(newest) => prune(conn, viewer, newest).await,
        None => Ok(()),
    }
}

/// The newest of the viewer's tombstones (of tasks or lists) older than `before`, if any: a
/// plain read, so sync can check without a transaction (most of the time there is nothing to
/// drop or lock).
pub(in crate::tasks) async fn prunable(
    conn: &mut DbConn,
    viewer: &AuthUser,
    before: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    use crate::db::schema::list_changes as lc;
    use crate::db::schema::task_changes as tc;
    let lists = list_journal_of_owner(owner(viewer));
    // One statement for both journals (one round trip): each side's newest, the larger wins.
    let newest: Vec<Option<i64>> = db_run!(conn, |c| {
        tc::table
            .filter(journal_visible_to(viewer))
            .filter(tc::deleted.eq(true))
            .filter(tc::changed_at.lt(before))
            .select(diesel::dsl::max(tc::seq))
            .union_all(
                lc::table
                    .filter(lists)
                    .filter(lc::deleted.eq(true))
                    .filter(lc::changed_at.lt(before))
                    .select(diesel::dsl::max(lc::seq)),
            )
            .load(c)
            .await
    })?;
    Ok(newest.into_iter().flatten().max())
}

/// The newest of the viewer's tombstones past the `keep` newest, if there are more.
async fn beyond(conn: &mut DbConn, viewer: &AuthUser, keep: i64) -> QueryResult<Option<i64>> {
    use crate::db::schema::task_changes as tc;
    db_run!(conn, |c| {
        tc::table
            .filter(journal_visible_to(viewer))
            .filter(tc::deleted.eq(true))
            .order_by(tc::seq.desc())
            .select(tc::seq)
            .offset(keep)
            .first::<i64>(c)
            .await
            .optional()
    })
}

/// Drops the viewer's tombstones up to `newest` and records that number as pruned. Two
/// writes: run it inside a unit of work's transaction.
pub(in crate::tasks) async fn prune(
    conn: &mut DbConn,
    viewer: &AuthUser,
    newest: i64,
) -> QueryResult<()> {
    prune_owner(conn, owner(viewer), newest).await
}

/// [`prune`] for the owner of the journal entries (the scheduled prune's, which has no
/// viewer: `tasks::sync::prune`).
pub(in crate::tasks) async fn prune_owner(
    conn: &mut DbConn,
    owner: &str,
    newest: i64,
) -> QueryResult<()> {
    use crate::db::schema::list_changes as lc;
    use crate::db::schema::task_changes as tc;
    use crate::db::schema::task_sync_cursors as cur;
    db_run!(conn, |c| {
        diesel::delete(
            lc::table
                .filter(list_journal_of_owner(owner))
                .filter(lc::deleted.eq(true))
                .filter(lc::seq.le(newest)),
        )
        .execute(c)
        .await?;
        diesel::update(
            cur::table
                .filter(counter_of_owner(owner))
                .filter(cur::pruned_seq.lt(newest)),
        )
        .set(cur::pruned_seq.eq(newest))
        .execute(c)
        .await?;
        diesel::delete(
            tc::table
                .filter(journal_of_owner(owner))
                .filter(tc::deleted.eq(true))
                .filter(tc::seq.le(newest)),
        )
        .execute(c)
        .await
        .map(drop)
    })
}

/// What a journal entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::tasks) enum Entity {
    Task,
    List,
}

/// One task's or list's last change, as recorded for sync.
pub(in crate::tasks) struct ChangeEntry {
    pub(in crate::tasks) seq: i64,
    pub(in crate::tasks) entity: Entity,
    pub(in crate::tasks) id: i64,
    pub(in crate::tasks) deleted: bool,
    /// The change number that created it (`None`: created before it was recorded).
    pub(in crate::tasks) created_seq: Option<i64>,
}

/// The viewer's changes numbered `after < seq <= upto`, oldest first (the first `limit`).
pub(in crate::tasks) async fn changes_between(
    conn: &mut DbConn,
    viewer: &AuthUser,
    after: i64,
    upto: i64,
    limit: Option<i64>,
) -> QueryResult<Vec<ChangeEntry>> {
    changes_of(conn, owner(viewer), (after, upto), limit).await
}

/// The changes of `member` of an event's audience numbered `after < seq <= upto`, for the
/// event relay completing a notification (the member comes from the database's own NOTIFY,
/// never from a client; today the audience is the owner).
pub(in crate::tasks) async fn changes_for_member(
    conn: &mut DbConn,
    member: &str,
    after: i64,
    upto: i64,
) -> QueryResult<Vec<ChangeEntry>> {
    changes_of(conn, member, (after, upto), None).await
}

/// Both journals' entries of `who` in the range, merged in number order.
async fn changes_of(
    conn: &mut DbConn,
    who: &str,
    (after, upto): (i64, i64),
    limit: Option<i64>,
) -> QueryResult<Vec<ChangeEntry>> {
    use crate::db::schema::list_changes as lc;
    use crate::db::schema::task_changes as tc;
    type Row = (i64, i64, bool, Option<i64>, bool);
    // One statement for both journals (one round trip, and cacheable: nothing boxed); the
    // last column tells a list's entry from a task's. A UNION is ordered by position only
    // (diesel's `PositionalOrderDsl`, documented for this use on `union_all`, though not yet
    // declared stable: Cargo.lock pins the diesel it was written against).
    let limit_rows = limit.unwrap_or(i64::MAX);
    let rows: Vec<Row> = db_run!(conn, |c| {
        tc::table
            .filter(journal_of_owner(who))
            .filter(tc::seq.gt(after))
            .filter(tc::seq.le(upto))
            .select((
                tc::seq,
                tc::task_id,
                tc::deleted,
                tc::created_seq,
                false.into_sql::<diesel::sql_types::Bool>(),
            ))
            .union_all(
                lc::table
                    .filter(list_journal_of_owner(who))
                    .filter(lc::seq.gt(after))
                    .filter(lc::seq.le(upto))
                    .select((
                        lc::seq,
                        lc::list_id,
                        lc::deleted,
                        lc::created_seq,
                        true.into_sql::<diesel::sql_types::Bool>(),
                    )),
            )
            .positional_order_by(1_u32)
            .limit(limit_rows)
            .load(c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(seq, id, deleted, created_seq, list)| ChangeEntry {
            seq,
            entity: if list { Entity::List } else { Entity::Task },
            id,
            deleted,
            created_seq,
        })
        .collect())
}
