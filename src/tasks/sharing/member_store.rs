//! Membership SQL (issue 29): a list's members, the count the cap checks, adding one (under
//! the owner's lists lock, which the caller takes before it reads the list: two adds count
//! one after the other, and none adds to a list its deletion removes), changing a role,
//! removing one. The service checks first who may do what (`tasks::sharing::members`); every
//! statement here names its list (`visibility::members_of`, `member_row`), and on
//! PostgreSQL the policies of migration 000060 admit the rows again.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::schema::list_members::dsl as lm;
use crate::db::schema::task_lists::dsl as l;
use crate::db::{DbConn, Reader};
use crate::tasks::sharing::{Member, Role};
use crate::tasks::task::stamp::Stamp;
use crate::tasks::visibility::{lists_visible_to, member_row, members_of};
use crate::{db_run, read_run};

/// A row of `list_members`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::list_members)]
pub(in crate::tasks) struct MemberRow {
    list_id: i64,
    user_id: String,
    role: String,
    added_at: NaiveDateTime,
}

/// A row of `list_members` as a read decodes it: its time may be unreadable (another
/// program's row, issue 40), and then the member is left out of the answer (logged).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::list_members)]
pub(in crate::tasks) struct SeenMember {
    list_id: i64,
    user_id: String,
    role: String,
    added_at: Stamp,
}

impl SeenMember {
    /// As a member with its list, unless its time is unreadable (logged with the user id).
    fn readable(self) -> Option<(i64, Member)> {
        let added_at = self
            .added_at
            .read_as("list_members", &self.user_id, "added_at")?;
        let member = Member {
            user_id: self.user_id,
            role: Role::stored(&self.role),
            added_at: added_at.and_utc(),
        };
        Some((self.list_id, member))
    }
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        Member {
            user_id: row.user_id,
            role: Role::stored(&row.role),
            added_at: row.added_at.and_utc(),
        }
    }
}

/// The members of `list`, in the order they joined (ties by user id).
pub(in crate::tasks) async fn of_list(conn: &mut DbConn, list: i64) -> QueryResult<Vec<Member>> {
    let rows: Vec<SeenMember> = db_run!(conn, |c| {
        lm::list_members
            .filter(members_of(list))
            .order_by((lm::added_at.asc(), lm::user_id.asc()))
            .select(SeenMember::as_select())
            .load(c)
            .await
    })?;
    let members = rows.into_iter().filter_map(SeenMember::readable);
    Ok(members.map(|(_, member)| member).collect())
}

/// The members of those of `lists` the viewer sees, each with its list, by list and then in
/// the order they joined: one statement for a whole GraphQL page's `List.members`
/// (`tasks::order::nested`), traveling with the page's other nested reads.
pub(in crate::tasks) async fn of_lists(
    conn: Reader<'_>,
    viewer: &AuthUser,
    lists: &[i64],
) -> QueryResult<Vec<(i64, Member)>> {
    if lists.is_empty() {
        return Ok(Vec::new());
    }
    let seen = l::task_lists
        .filter(l::id.eq_any(lists))
        .filter(lists_visible_to(viewer))
        .select(l::id);
    let rows: Vec<SeenMember> = read_run!(conn, |c| {
        lm::list_members
            .filter(lm::list_id.eq_any(seen))
            .order_by((lm::list_id, lm::added_at.asc(), lm::user_id.asc()))
            .select(SeenMember::as_select())
            .load(c)
            .await
    })?;
    Ok(rows.into_iter().filter_map(SeenMember::readable).collect())
}

/// Why a member was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::tasks) enum NotAdded {
    /// Already a member.
    Duplicate,
    /// The list has `cap` members already.
    Full,
}

/// Adds `user` to `list` in `role`, while it has fewer than `cap` members. On PostgreSQL
/// the caller holds the list owner's lists lock (`TaskService::locked_list`).
pub(in crate::tasks) async fn insert(
    conn: &mut DbConn,
    list: i64,
    user: &str,
    role: Role,
    now: NaiveDateTime,
    cap: u64,
) -> QueryResult<Result<Member, NotAdded>> {
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let members: i64 = db_run!(conn, |c| {
        lm::list_members
            .filter(members_of(list))
            .count()
            .get_result(c)
            .await
    })?;
    if members >= cap {
        return Ok(Err(NotAdded::Full));
    }
    let row = MemberRow {
        list_id: list,
        user_id: user.to_owned(),
        role: role.as_str().to_owned(),
        added_at: now,
    };
    let added: Option<MemberRow> = db_run!(conn, |c| {
        diesel::insert_into(lm::list_members)
            .values(&row)
            .on_conflict_do_nothing()
            .returning(MemberRow::as_returning())
            .get_result(c)
            .await
            .optional()
    })?;
    Ok(added.map(Member::from).ok_or(NotAdded::Duplicate))
}

/// Gives `user` on `list` the role `role`; `None` when they are no member.
pub(in crate::tasks) async fn set_role(
    conn: &mut DbConn,
    list: i64,
    user: &str,
    role: Role,
) -> QueryResult<Option<Member>> {
    let row: Option<MemberRow> = db_run!(conn, |c| {
        diesel::update(lm::list_members.filter(member_row(list, user)))
            .set(lm::role.eq(role.as_str()))
            .returning(MemberRow::as_returning())
            .get_result(c)
            .await
            .optional()
    })?;
    Ok(row.map(Member::from))
}

/// Removes `user` from `list`; whether they were a member.
pub(in crate::tasks) async fn remove(
    conn: &mut DbConn,
    list: i64,
    user: &str,
) -> QueryResult<bool> {
    let removed = db_run!(conn, |c| {
        diesel::delete(lm::list_members.filter(member_row(list, user)))
            .execute(c)
            .await
    })?;
    Ok(removed > 0)
}
