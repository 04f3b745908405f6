//! The tasks of a list being deleted (issue 21): deleted, or moved to the inbox (the
//! database journals each and notifies, so sync and every subscriber see it). Called
//! by `lists::delete` inside its transaction, after it has locked and found the list.
//!
//! Every statement filters by `visibility::visible_to`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db_run;
use crate::tasks::order::position as keys;
use crate::tasks::visibility::writable_by;

/// What a list's delete changed: its tasks (deleted or moved).
pub(in crate::tasks) struct Emptied {
    pub(in crate::tasks) task_ids: Vec<i64>,
}

/// Deletes every task of the list (subtasks are in their parent's list, so they go too, in
/// the same statement), each with its tombstone, in id order.
pub(in crate::tasks) async fn delete_all(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
) -> QueryResult<Emptied> {
    use crate::db::schema::tasks::dsl::*;
    let mut ids: Vec<i64> = db_run!(conn, |c| {
        diesel::delete(tasks.filter(writable_by(viewer)).filter(list_id.eq(list)))
            .returning(id)
            .get_results(c)
            .await
    })?;
    ids.sort_unstable();
    Ok(Emptied { task_ids: ids })
}

/// Moves every task of the list to the inbox, each a change (version one more): the top-level ones to the end of the inbox's top level, in their order in the
/// list; subtasks keep their positions under their parents. When the new keys would be too
/// long, the inbox's top level is renumbered first (each of those tasks changes too).
pub(in crate::tasks) async fn to_inbox(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    now: NaiveDateTime,
) -> QueryResult<Emptied> {
    use crate::db::schema::tasks::dsl::*;
    let members: Vec<(i64, Option<i64>)> = db_run!(conn, |c| {
        tasks
            .filter(writable_by(viewer))
            .filter(list_id.eq(list))
            .order_by((position.asc(), id.asc()))
            .select((id, parent_id))
            .load(c)
            .await
    })?;
    let top: Vec<i64> = members
        .iter()
        .filter(|(_, parent)| parent.is_none())
        .map(|(task, _)| *task)
        .collect();
    let end = crate::tasks::order::group_end::group_end(conn, viewer, None, None).await?;
    let mut keys = Vec::with_capacity(top.len());
    let mut last = end;
    for _ in &top {
        match keys::between(last.as_deref(), None).filter(|p| !keys::too_long(p)) {
            Some(key) => {
                keys.push(key.clone());
                last = Some(key);
            }
            None => break,
        }
    }
    if keys.len() < top.len() {
        // Renumber the inbox's top level (each a recorded change), then the moved ones after.
        let inbox: Vec<i64> = db_run!(conn, |c| {
            tasks
                .filter(writable_by(viewer))
                .filter(list_id.is_null())
                .filter(parent_id.is_null())
                .order_by((position.asc(), id.asc()))
                .select(id)
                .load(c)
                .await
        })?;
        let mut spread = keys::spread(inbox.len() + top.len()).into_iter();
        for (task, key) in inbox.iter().zip(spread.by_ref()) {
            write_task(conn, viewer, *task, None, Some(key), now).await?;
        }
        keys = spread.collect();
    }
    let mut keys = keys.into_iter();
    for (task, parent) in &members {
        let key = if parent.is_none() { keys.next() } else { None };
        write_task(conn, viewer, *task, Some(()), key, now).await?;
    }
    let mut task_ids: Vec<i64> = members.iter().map(|(task, _)| *task).collect();
    task_ids.sort_unstable();
    Ok(Emptied { task_ids })
}

/// One task's change for [`to_inbox`]: to the inbox (when `to_inbox` is set) and / or to a
/// new position, its version one more.
async fn write_task(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task: i64,
    to_inbox: Option<()>,
    key: Option<String>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    use crate::db::schema::tasks::dsl::*;
    let inbox: Option<Option<i64>> = to_inbox.map(|()| None);
    db_run!(conn, |c| {
        diesel::update(tasks.filter(id.eq(task)).filter(writable_by(viewer)))
            .set((
                inbox.map(|none| list_id.eq(none)),
                key.map(|key| position.eq(key)),
                version.eq(version + 1),
                updated_at.eq(now),
            ))
            .execute(c)
            .await
            .map(drop)
    })
}
