//! List SQL (issue 21): a user's lists in their manual order, one list, create (under the
//! per-user cap, names unique per user), update, move (a position between two neighbours;
//! the user's lists renumbered with `position::spread` when that key would be too long), and
//! delete, after its tasks are deleted or moved to the inbox (`list_tasks`).
//!
//! Lists themselves have no journal or events: only their tasks' changes are recorded. Every
//! list write first takes a per-owner lock on PostgreSQL ([`lock_lists`]): two writes of one
//! user's lists (a rename and a create of the same name, a delete and a task created in that
//! list) run one after the other. SQLite runs one write transaction at a time and needs none.
//! Every statement filters by `visibility::lists_owned_by` (a list write is its owner's) or
//! `lists_writable_by` (a task put in a list). The reads of lists as a user sees them
//! (shared ones too, with their role) are `reads`'.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db::schema::task_lists::dsl as l;
use crate::db_run;
use crate::tasks::lists::model::{
    List, ListPatch, ListPlacement, ListRow, ListTasks, NewList, name_key,
};
use crate::tasks::order::position as keys;
use crate::tasks::task::model::Precondition;
use crate::tasks::unit::locks::{lock_lists, lock_owner};
use crate::tasks::visibility::{lists_owned_by, lists_writable_by, owner};

/// Why a list write did not happen.
#[derive(Debug, Clone)]
pub(in crate::tasks) enum Refusal {
    /// No such list of the viewer's.
    Missing,
    /// The viewer has another list of that name (case-insensitively).
    Duplicate,
    /// The viewer has as many lists as allowed.
    Full,
    /// The neighbour of a move is not one of the viewer's lists.
    NeighbourMissing,
    /// The neighbour of a move is the moved list itself.
    NeighbourIsItself,
    /// The write's precondition does not hold: the list as it is now.
    Stale(Box<ListRow>),
}

/// A list write's outcome: the database's error, or done, or refused.
pub(in crate::tasks) type Outcome<T> = QueryResult<Result<T, Refusal>>;

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::task_lists)]
struct NewListRow<'a> {
    user_id: &'a str,
    name: &'a str,
    name_key: String,
    color: Option<&'a str>,
    position: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Columns an update changes (`None` leaves one alone).
#[derive(AsChangeset)]
#[diesel(table_name = crate::db::schema::task_lists)]
struct ListChanges<'a> {
    name: Option<&'a str>,
    name_key: Option<String>,
    color: Option<Option<&'a str>>,
    updated_at: NaiveDateTime,
}

/// The viewer's own lists, in their manual order (ties by id): the order a move places in.
async fn owned(conn: &mut DbConn, viewer: &AuthUser) -> QueryResult<Vec<ListRow>> {
    db_run!(conn, |c| {
        l::task_lists
            .filter(lists_owned_by(viewer))
            .order_by((l::position.asc(), l::id.asc()))
            .select(ListRow::as_select())
            .load(c)
            .await
    })
}

/// The list `list` if `visible` (a predicate on `task_lists`) selects it. A macro, as each
/// predicate is its own type (expanded inside `db_run!`).
macro_rules! one_list {
    ($conn:expr, $list:expr, $visible:expr) => {
        db_run!($conn, |c| {
            l::task_lists
                .filter(l::id.eq($list))
                .filter($visible)
                .select(ListRow::as_select())
                .first(c)
                .await
                .optional()
        })
    };
}

/// One of the lists the viewer may put tasks in (their own, or shared with them to edit).
pub(in crate::tasks) async fn find(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
) -> QueryResult<Option<ListRow>> {
    one_list!(conn, list, lists_writable_by(viewer))
}

/// One of the viewer's own lists (a list write's, or a sharing request's, first look).
pub(in crate::tasks) async fn find_owned(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
) -> QueryResult<Option<ListRow>> {
    one_list!(conn, list, lists_owned_by(viewer))
}

/// After [`lock_lists`]: the list the write is about, when it is the viewer's and in the
/// version the write expects.
async fn held(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    expect: &Precondition,
) -> Outcome<ListRow> {
    let Some(row) = find_owned(conn, viewer, list).await? else {
        return Ok(Err(Refusal::Missing));
    };
    if List::from(row.clone()).satisfies(expect) {
        Ok(Ok(row))
    } else {
        Ok(Err(Refusal::Stale(Box::new(row))))
    }
}

/// [`held`] after [`lock_lists`]: how a rename or a move starts.
async fn locked_held(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    expect: &Precondition,
) -> Outcome<ListRow> {
    lock_lists(conn, viewer).await?;
    held(conn, viewer, list, expect).await
}

/// Whether another of the viewer's lists (not `except`) has this name key.
async fn name_taken(
    conn: &mut DbConn,
    viewer: &AuthUser,
    key: &str,
    except: Option<i64>,
) -> QueryResult<bool> {
    let found: Option<i64> = db_run!(conn, |c| {
        l::task_lists
            .filter(lists_owned_by(viewer))
            .filter(l::name_key.eq(key))
            .filter(l::id.ne(except.unwrap_or(0)))
            .select(l::id)
            .first(c)
            .await
            .optional()
    })?;
    Ok(found.is_some())
}

/// The position of a list placed as asked among the viewer's other lists (all but
/// `moving`), renumbering them first when the key would be too long or the neighbours are
/// out of order.
async fn place(
    conn: &mut DbConn,
    viewer: &AuthUser,
    moving: Option<i64>,
    placement: ListPlacement,
    now: NaiveDateTime,
) -> Outcome<String> {
    let mut others: Vec<(i64, String)> = owned(conn, viewer)
        .await?
        .into_iter()
        .filter(|row| Some(row.id) != moving)
        .map(|row| (row.id, row.position))
        .collect();
    let neighbour = match placement {
        ListPlacement::End => None,
        ListPlacement::After(id) | ListPlacement::Before(id) => {
            if Some(id) == moving {
                return Ok(Err(Refusal::NeighbourIsItself));
            }
            match others.iter().position(|(other, _)| *other == id) {
                Some(index) => Some(index),
                None => return Ok(Err(Refusal::NeighbourMissing)),
            }
        }
    };
    // The index of the list that will be right below the placed one.
    let below = match (placement, neighbour) {
        (ListPlacement::After(_), Some(i)) => i + 1,
        (ListPlacement::Before(_), Some(i)) => i,
        _ => others.len(),
    };
    let key = |others: &[(i64, String)]| {
        let above = below.checked_sub(1).map(|i| others[i].1.as_str());
        let under = others.get(below).map(|(_, p)| p.as_str());
        keys::between(above, under).filter(|p| !keys::too_long(p))
    };
    if let Some(found) = key(&others) {
        return Ok(Ok(found));
    }
    // Renumber the others (lists have no journal: their rows are rewritten, versions bumped).
    let spread = keys::spread(others.len() + 1);
    for ((id, old), new) in others.iter_mut().zip(spread) {
        *old = new;
        set_position(conn, viewer, *id, old.clone(), now).await?;
    }
    Ok(Ok(key(&others).unwrap_or_default()))
}

/// Writes one of the viewer's lists' position (its version one more).
async fn set_position(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    key: String,
    now: NaiveDateTime,
) -> QueryResult<ListRow> {
    db_run!(conn, |c| {
        diesel::update(
            l::task_lists
                .filter(l::id.eq(list))
                .filter(lists_owned_by(viewer)),
        )
        .set((
            l::position.eq(key),
            l::version.eq(l::version + 1),
            l::updated_at.eq(now),
        ))
        .returning(ListRow::as_returning())
        .get_result(c)
        .await
    })
}

/// Creates a list for the viewer, last in their order, while they have fewer than `cap`.
pub(in crate::tasks) async fn insert(
    conn: &mut DbConn,
    viewer: &AuthUser,
    input: &NewList,
    now: NaiveDateTime,
    cap: u64,
) -> Outcome<ListRow> {
    lock_lists(conn, viewer).await?;
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let owned: i64 = db_run!(conn, |c| {
        l::task_lists
            .filter(lists_owned_by(viewer))
            .count()
            .get_result(c)
            .await
    })?;
    if owned >= cap {
        return Ok(Err(Refusal::Full));
    }
    let key = name_key(&input.name);
    if name_taken(conn, viewer, &key, None).await? {
        return Ok(Err(Refusal::Duplicate));
    }
    let position = match place(conn, viewer, None, ListPlacement::End, now).await? {
        Ok(position) => position,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let row = NewListRow {
        user_id: owner(viewer),
        name: &input.name,
        name_key: key,
        color: input.color.map(|c| c.as_str()),
        position,
        created_at: now,
        updated_at: now,
    };
    let inserted = db_run!(conn, |c| {
        diesel::insert_into(l::task_lists)
            .values(&row)
            .returning(ListRow::as_returning())
            .get_result(c)
            .await
    })?;
    Ok(Ok(inserted))
}

/// Renames and / or recolours one of the viewer's lists (its version one more).
pub(in crate::tasks) async fn update(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    patch: &ListPatch,
    expect: &Precondition,
    now: NaiveDateTime,
) -> Outcome<ListRow> {
    if let Err(refusal) = locked_held(conn, viewer, list, expect).await? {
        return Ok(Err(refusal));
    }
    let key = patch.name.as_deref().map(name_key);
    if let Some(key) = &key
        && name_taken(conn, viewer, key, Some(list)).await?
    {
        return Ok(Err(Refusal::Duplicate));
    }
    let changes = ListChanges {
        name: patch.name.as_deref(),
        name_key: key,
        color: patch.color.map(|c| c.map(|c| c.as_str())),
        updated_at: now,
    };
    let updated = db_run!(conn, |c| {
        diesel::update(
            l::task_lists
                .filter(l::id.eq(list))
                .filter(lists_owned_by(viewer)),
        )
        .set((&changes, l::version.eq(l::version + 1)))
        .returning(ListRow::as_returning())
        .get_result(c)
        .await
    })?;
    Ok(Ok(updated))
}

/// Moves one of the viewer's lists as `placement` says (its version one more).
pub(in crate::tasks) async fn move_to(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    placement: ListPlacement,
    expect: &Precondition,
    now: NaiveDateTime,
) -> Outcome<ListRow> {
    if let Err(refusal) = locked_held(conn, viewer, list, expect).await? {
        return Ok(Err(refusal));
    }
    let position = match place(conn, viewer, Some(list), placement, now).await? {
        Ok(position) => position,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let moved = set_position(conn, viewer, list, position, now).await?;
    Ok(Ok(moved))
}

/// Deletes one of the viewer's lists after deleting its tasks or moving them to the inbox
/// (see [`ListTasks`]), each task change recorded with its event.
pub(in crate::tasks) async fn delete(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
    tasks: ListTasks,
    expect: &Precondition,
    now: NaiveDateTime,
) -> Outcome<crate::tasks::lists::list_tasks::Emptied> {
    // Its tasks move or go: the placement lock too, after the lists lock (`locks`).
    lock_owner(conn, viewer).await?;
    if let Err(refusal) = held(conn, viewer, list, expect).await? {
        return Ok(Err(refusal));
    }
    let emptied = match tasks {
        ListTasks::Delete => {
            crate::tasks::lists::list_tasks::delete_all(conn, viewer, list).await?
        }
        ListTasks::MoveToInbox => {
            crate::tasks::lists::list_tasks::to_inbox(conn, viewer, list, now).await?
        }
    };
    db_run!(conn, |c| {
        diesel::delete(
            l::task_lists
                .filter(l::id.eq(list))
                .filter(lists_owned_by(viewer)),
        )
        .execute(c)
        .await
    })?;
    Ok(Ok(emptied))
}
