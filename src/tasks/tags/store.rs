//! The tag index (`task_tags`, one row per tag of a task): rewriting one task's rows with its
//! `tags`, the per-user distinct-name count behind MAX_TAGS_PER_USER, the counts per tag, the
//! tasks carrying a tag, and [`retag`], the write of a task's tags alone (rename and delete
//! across tasks), with its version, journal entry and event like every task write. The
//! `tag` / `any_tag` filters are `query`'s. Rename and delete move a tag's index rows in a
//! few statements whatever the number of tasks ([`rename_tag`], [`forget_tag`]).
//!
//! A task's rows go with it by the foreign key's cascade, whichever path deletes it: nothing
//! here needs calling on delete. Every statement is filtered by `tags_visible_to(viewer)`,
//! but a task's own rows, which are its owner's (`tags_of_owner`) whoever writes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db::schema::task_tags as tt;
use crate::db_run;
use crate::tasks::sync::journal::Written;
use crate::tasks::tags::rules::tag_key;
use crate::tasks::task::stamp::Stamp;
use crate::tasks::task::write::returning_row;
use crate::tasks::visibility::{tags_of_owner, tags_visible_to, writable_by};

/// One row of the index, as inserted.
#[derive(Insertable)]
#[diesel(table_name = tt)]
struct TagRow<'a> {
    user_id: &'a str,
    task_id: i64,
    tag_key: String,
    name: &'a str,
    changed_at: NaiveDateTime,
}

/// Replaces the index rows of the task `task_id` of `task_owner` with `names` (validated:
/// trimmed, unique by key), inside the write's transaction.
async fn index(
    conn: &mut DbConn,
    task_owner: &str,
    task_id: i64,
    names: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let rows: Vec<TagRow<'_>> = names
        .iter()
        .map(|name| TagRow {
            user_id: task_owner,
            task_id,
            tag_key: tag_key(name),
            name,
            changed_at: now,
        })
        .collect();
    db_run!(conn, |c| {
        diesel::delete(
            tt::table
                .filter(tags_of_owner(task_owner))
                .filter(tt::task_id.eq(task_id)),
        )
        .execute(c)
        .await?;
        // One statement per tag (at most 20): SQLite's diesel has no batch insert here.
        for row in &rows {
            diesel::insert_into(tt::table)
                .values(row)
                .execute(c)
                .await?;
        }
        Ok(())
    })
}

/// [`index`] under the per-user cap on different tags: `false` (the caller refuses the
/// write, rolling it back) when `names` bring a tag none of the owner's tasks had and the
/// owner would then have more than `cap` different ones. SQLite's way (`stepwise`), which
/// runs one write transaction at a time (no lock for the count); PostgreSQL's write functions
/// do the same in SQL (`index_task_tags`). The rows and the cap are the task OWNER's, whoever
/// writes (an editor of a shared list): `task_owner` is the written row's.
pub(in crate::tasks) async fn index_under_cap(
    conn: &mut DbConn,
    task_owner: &str,
    task_id: i64,
    names: &[String],
    now: NaiveDateTime,
    cap: u64,
) -> QueryResult<bool> {
    let keys: Vec<String> = names.iter().map(|name| tag_key(name)).collect();
    let new = any_new(conn, task_owner, &keys).await?;
    index(conn, task_owner, task_id, names, now).await?;
    if !new {
        return Ok(true);
    }
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let distinct: i64 = db_run!(conn, |c| {
        tt::table
            .filter(tags_of_owner(task_owner))
            .select(diesel::dsl::count(tt::tag_key).aggregate_distinct())
            .get_result(c)
            .await
    })?;
    Ok(distinct <= cap)
}

/// Whether any of `keys` is a tag none of `task_owner`'s tasks has yet.
async fn any_new(conn: &mut DbConn, task_owner: &str, keys: &[String]) -> QueryResult<bool> {
    if keys.is_empty() {
        return Ok(false);
    }
    let known: Vec<String> = db_run!(conn, |c| {
        tt::table
            .filter(tags_of_owner(task_owner))
            .filter(tt::tag_key.eq_any(keys))
            .select(tt::tag_key)
            .distinct()
            .load(c)
            .await
    })?;
    Ok(keys.iter().any(|k| !known.contains(k)))
}

/// The viewer's tags by (key, spelling): the tasks spelling it so, and when the newest of
/// them was tagged. At most a few spellings per tag: bounded by MAX_TAGS_PER_USER's order.
pub(in crate::tasks) async fn spellings(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> QueryResult<Vec<(String, String, i64, Option<Stamp>)>> {
    db_run!(conn, |c| {
        tt::table
            .filter(tags_visible_to(viewer))
            .group_by((tt::tag_key, tt::name))
            .select((
                tt::tag_key,
                tt::name,
                diesel::dsl::count_star(),
                diesel::dsl::max(tt::changed_at),
            ))
            .load(c)
            .await
    })
}

/// The ids of the viewer's tasks that carry the tag `key`, in id order.
pub(in crate::tasks) async fn tagged(
    conn: &mut DbConn,
    viewer: &AuthUser,
    key: &str,
) -> QueryResult<Vec<i64>> {
    db_run!(conn, |c| {
        tt::table
            .filter(tags_visible_to(viewer))
            .filter(tt::tag_key.eq(key))
            .order_by(tt::task_id.asc())
            .select(tt::task_id)
            .load(c)
            .await
    })
}

/// After the tag `key` was deleted from the viewer's tasks: drops its index rows, all of
/// them at once (every task carrying it changed).
pub(in crate::tasks) async fn forget_tag(
    conn: &mut DbConn,
    viewer: &AuthUser,
    key: &str,
) -> QueryResult<()> {
    db_run!(conn, |c| {
        diesel::delete(
            tt::table
                .filter(tags_visible_to(viewer))
                .filter(tt::tag_key.eq(key)),
        )
        .execute(c)
        .await
        .map(drop)
    })
}

/// After the tag `from_key` was renamed `to` on the viewer's tasks `changed` (of which
/// `merged` already carried `to`): their index rows follow, in three statements whatever
/// their number: the merged tasks' `from_key` rows go, the others' take the new key, and
/// every changed task's row of the new key is spelled `to`.
pub(in crate::tasks) async fn rename_tag(
    conn: &mut DbConn,
    viewer: &AuthUser,
    (from_key, to): (&str, &str),
    changed: &[i64],
    merged: &[i64],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let to_key = tag_key(to);
    db_run!(conn, |c| {
        let rows = || {
            tt::table
                .filter(tags_visible_to(viewer))
                .filter(tt::task_id.eq_any(changed))
        };
        if from_key != to_key {
            diesel::delete(
                tt::table
                    .filter(tags_visible_to(viewer))
                    .filter(tt::task_id.eq_any(merged))
                    .filter(tt::tag_key.eq(from_key)),
            )
            .execute(c)
            .await?;
            diesel::update(rows().filter(tt::tag_key.eq(from_key)))
                .set(tt::tag_key.eq(&to_key))
                .execute(c)
                .await?;
        }
        diesel::update(rows().filter(tt::tag_key.eq(&to_key)))
            .set((tt::name.eq(to), tt::changed_at.eq(now)))
            .execute(c)
            .await
            .map(drop)
    })
}

/// Sets the tags of one of the viewer's tasks (and nothing else): its version +1 and its
/// `updated_at` (the database journals it), in the caller's transaction; its index rows
/// are the caller's ([`forget_tag`], [`rename_tag`]). `None` when there is no such task.
pub(in crate::tasks) async fn retag(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
    names: &[String],
    now: NaiveDateTime,
) -> QueryResult<Option<Written>> {
    use crate::db::schema::tasks::dsl::*;
    let json = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_owned());
    let updated = db_run!(conn, |c| {
        returning_row!(
            diesel::update(tasks.filter(id.eq(task_id)).filter(writable_by(viewer))).set((
                tags.eq(&json),
                updated_at.eq(now),
                version.eq(version + 1)
            )),
            c
        )
    })?;
    Ok(updated.map(|row| Written { row }))
}
