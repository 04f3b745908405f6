//! The change journal's entries as events (tasks and lists, each with its row's current
//! state): what sync returns (`tasks::sync`), what the event relay delivers for a
//! notification that named changes without carrying them (`events::pending`), and what a
//! write that delivers its own events (SQLite) reads back from its transaction, for each user
//! whose journal it moved (`events::publish`).
//!
//! It reads only (the journal and the rows it names) and must not depend on the service.

use std::collections::HashMap;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::tasks::events::TaskEvent;
use crate::tasks::events::TaskEventKind::{
    Created, Deleted, ListCreated, ListDeleted, ListUpdated, Updated,
};
use crate::tasks::lists::model::List;
use crate::tasks::lists::reads;
use crate::tasks::sync::journal;
use crate::tasks::sync::journal::Entity;
use crate::tasks::task::model::{Task, TaskRow};
use crate::tasks::task::query;
use crate::tasks::visibility;

/// Whose journal a read of changes is for: a viewer syncing, or a member of an event's
/// audience (the relay, completing a notification).
#[derive(Clone, Copy)]
pub(in crate::tasks) enum Reader<'a> {
    Viewer(&'a AuthUser),
    Member(&'a str),
}

/// The changes of `member` numbered `after < seq <= upto`, as events (what the relay
/// delivers for a notification that named them without carrying them, and what a SQLite
/// write delivers to each user whose journal it moved): each with its row's current state as
/// `member` sees it; a change superseded since has no event here (its successor's follows).
pub(in crate::tasks) async fn events_for_member(
    conn: &mut DbConn,
    member: &str,
    after: i64,
    upto: i64,
) -> AppResult<Vec<TaskEvent>> {
    let (events, _) = changes_page(conn, Reader::Member(member), after, after, upto, None).await?;
    Ok(events)
}

/// The changes numbered `after < seq <= upto` (at most `limit`), oldest first, each task or
/// list with its current state, as seen by a client at `since`; and the number to read on
/// from when the page was full (more may follow).
pub(in crate::tasks) async fn changes_page(
    conn: &mut DbConn,
    reader: Reader<'_>,
    since: i64,
    after: i64,
    upto: i64,
    limit: Option<i64>,
) -> AppResult<(Vec<TaskEvent>, Option<i64>)> {
    let (owner, entries) = match reader {
        Reader::Viewer(user) => (
            visibility::owner(user),
            journal::changes_between(conn, user, after, upto, limit).await?,
        ),
        Reader::Member(member) => (
            member,
            journal::changes_for_member(conn, member, after, upto).await?,
        ),
    };
    let next = match (entries.last(), limit) {
        (Some(entry), Some(limit)) if entries.len() as i64 >= limit => Some(entry.seq),
        _ => None,
    };
    let live = |entity| -> Vec<i64> {
        entries
            .iter()
            .filter(|e| !e.deleted && e.entity == entity)
            .map(|e| e.id)
            .collect()
    };
    let (task_ids, list_ids) = (live(Entity::Task), live(Entity::List));
    // No read for a kind with nothing to read (most pages have tasks only, or nothing).
    let (mut task_rows, mut list_rows) = (Vec::new(), Vec::new());
    if !task_ids.is_empty() {
        task_rows = match reader {
            Reader::Viewer(user) => {
                conn.readers(async |r| query::find_many(r, user, &task_ids).await)
                    .await?
            }
            Reader::Member(member) => query::find_many_for_event(conn, member, &task_ids).await?,
        };
    }
    if !list_ids.is_empty() {
        list_rows = match reader {
            Reader::Viewer(user) => {
                conn.readers(async |r| reads::find_many(r, user, &list_ids).await)
                    .await?
            }
            Reader::Member(member) => reads::find_many_for(conn, member, &list_ids).await?,
        };
    }
    // An unreadable row (issue 40) is left out like a missing one (logged).
    let mut tasks: HashMap<i64, Task> = task_rows
        .into_iter()
        .filter_map(TaskRow::readable)
        .map(|task| (task.id, task))
        .collect();
    let mut lists: HashMap<i64, List> = list_rows
        .into_iter()
        .map(|row| {
            let list = List::from(row);
            (list.id, list)
        })
        .collect();
    let events = entries
        .into_iter()
        .filter_map(|entry| {
            // New to a client at `since`, however often it changed since: it has to add it
            // (in its latest state), not look for one to update.
            let created = matches!(entry.created_seq, Some(created) if created > since);
            let (id, seq) = (entry.id, entry.seq);
            let [gone, new, changed] = match entry.entity {
                Entity::Task => [Deleted, Created, Updated],
                Entity::List => [ListDeleted, ListCreated, ListUpdated],
            };
            let kind = match (entry.deleted, created) {
                (true, _) => gone,
                (false, true) => new,
                (false, false) => changed,
            };
            // A row missing (deleted after the counter was read) has no event: the next
            // sync has its deletion.
            Some(match entry.entity {
                Entity::Task => {
                    let task = match entry.deleted {
                        true => None,
                        false => Some(tasks.remove(&id)?),
                    };
                    TaskEvent::change(owner, kind, id, task, seq)
                }
                Entity::List => {
                    let list = match entry.deleted {
                        true => None,
                        false => Some(lists.remove(&id)?),
                    };
                    TaskEvent::list_change(owner, kind, id, list, seq)
                }
            })
        })
        .collect();
    Ok((events, next))
}
