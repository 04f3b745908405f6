//! Lists as a user sees them (issue 29): their own and those shared with them, each with
//! their role (a left join on their own membership row: none means they own it), in one
//! statement. Every statement filters by `visibility::lists_visible_to` (or, for the event
//! relay, `lists_visible_to_member`). Writes are `lists`'. A list whose timestamps another
//! program left unreadable is left out, logged (`ListRow::readable`, issue 40).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::schema::task_lists::dsl as l;
use crate::db::{DbConn, Reader};
use crate::tasks::lists::model::ListRow;
use crate::tasks::visibility::{
    Memberships, OWN_MEMBERSHIP, VisibleLists, lists_visible_to, lists_visible_to_member,
    memberships_of, memberships_of_member, own_role,
};
use crate::{db_run, read_run};

/// A list as a user sees it: the row, and their role when they are a member (none: the
/// owner).
pub(in crate::tasks) type SeenList = (ListRow, Option<String>);

/// `rows` without the unreadable ones.
fn readable(mut rows: Vec<SeenList>) -> Vec<SeenList> {
    rows.retain(|(row, _)| row.readable());
    rows
}

/// The lists the viewer sees (their own, then those shared with them), each in manual order
/// (ties by id), with the viewer's role: one statement.
pub(in crate::tasks) async fn all(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> QueryResult<Vec<SeenList>> {
    let rows = db_run!(conn, |c| {
        l::task_lists
            .left_join(OWN_MEMBERSHIP.on(memberships_of(viewer)))
            .filter(lists_visible_to(viewer))
            .order_by((own_role().is_not_null(), l::position.asc(), l::id.asc()))
            .select((ListRow::as_select(), own_role().nullable()))
            .load(c)
            .await
    })?;
    Ok(readable(rows))
}

/// One of the lists the viewer sees, with their role.
pub(in crate::tasks) async fn find_seen(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: i64,
) -> QueryResult<Option<SeenList>> {
    let row: Option<SeenList> = db_run!(conn, |c| {
        l::task_lists
            .left_join(OWN_MEMBERSHIP.on(memberships_of(viewer)))
            .filter(l::id.eq(list))
            .filter(lists_visible_to(viewer))
            .select((ListRow::as_select(), own_role().nullable()))
            .first(c)
            .await
            .optional()
    })?;
    Ok(row.filter(|(row, _)| row.readable()))
}

/// One of the lists the viewer sees, through a [`Reader`], to travel with other reads (a
/// task list's filter by list).
pub(in crate::tasks) async fn find_read(
    conn: Reader<'_>,
    viewer: &AuthUser,
    list: i64,
) -> QueryResult<Option<ListRow>> {
    read_run!(conn, |c| {
        l::task_lists
            .filter(l::id.eq(list))
            .filter(lists_visible_to(viewer))
            .select(ListRow::as_select())
            .first(c)
            .await
            .optional()
    })
}

/// The lists `ids` of `member` of an event's audience (or of a viewer syncing: the member is
/// then the viewer), for events and sync completed from the journal. The member comes from
/// our own journal, never from a client, and the query is still filtered by what they see.
pub(in crate::tasks) async fn find_many_for(
    conn: &mut DbConn,
    member: &str,
    ids: &[i64],
) -> QueryResult<Vec<SeenList>> {
    let (mine, seen) = (
        memberships_of_member(member),
        lists_visible_to_member(member),
    );
    conn.readers(async |r| find_many_seen(r, mine, seen, ids).await)
        .await
}

/// The viewer's lists among `ids` (sync).
pub(in crate::tasks) async fn find_many(
    conn: Reader<'_>,
    viewer: &AuthUser,
    ids: &[i64],
) -> QueryResult<Vec<SeenList>> {
    find_many_seen(conn, memberships_of(viewer), lists_visible_to(viewer), ids).await
}

async fn find_many_seen(
    conn: Reader<'_>,
    mine: Memberships<'_>,
    visible: VisibleLists<'_>,
    ids: &[i64],
) -> QueryResult<Vec<SeenList>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = read_run!(conn, |c| {
        l::task_lists
            .left_join(OWN_MEMBERSHIP.on(mine))
            .filter(l::id.eq_any(ids))
            .filter(visible)
            .select((ListRow::as_select(), own_role().nullable()))
            .load(c)
            .await
    })?;
    Ok(readable(rows))
}
