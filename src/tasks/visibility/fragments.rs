//! The filters of [`super`] that are SQL of their own: a column in the lists shared with a user
//! ([`InListsOf`]) and the tag index rows of the owners whose tasks a user sees
//! ([`TagOwnersSeenBy`]), written for each backend, both looking the user's memberships up once
//! per statement (PostgreSQL: an InitPlan; SQLite: a subquery); and, on PostgreSQL only, a
//! query on `tasks` read once for each of a user's memberships ([`ForEachSharedList`], with
//! its filter [`InMembershipList`]).

use diesel::expression::{ValidGrouping, is_aggregate};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId, SelectQuery};
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::sqlite::Sqlite;

use crate::db::schema::{task_tags, tasks};

/// `column` is one of the lists shared with `user` in one of `roles`: a subquery on their
/// `list_members` rows (index `list_members_user`), written for each backend so that it
/// costs one lookup per statement and leaves the owner's index usable beside it (under an
/// OR, PostgreSQL runs `IN (subquery)` as a filter on every row of the table: a sequential
/// scan of every user's tasks). PostgreSQL: `= ANY ((SELECT array_agg(…))::bigint[])`, an
/// InitPlan run once, then an index condition (a bitmap OR with the owner's index), as
/// the policies of migration 000060 read it; SQLite: `IN (SELECT …)`, which its OR
/// optimisation serves from both indexes.
#[derive(Debug, Clone, Copy)]
pub(in crate::tasks) struct InListsOf<'a, C> {
    pub(super) column: C,
    pub(super) user: &'a str,
    pub(super) roles: &'a [&'a str],
}

/// See `visibility::tag_owners_seen_by`: `task_tags.user_id` is the user or the owner of a list
/// shared with them in one of `roles`.
#[derive(Debug, Clone, Copy)]
pub(in crate::tasks) struct TagOwnersSeenBy<'a> {
    pub(super) user: &'a str,
    pub(super) roles: &'a [&'a str],
}

/// The memberships of `user` in one of `roles`, as the end of a PostgreSQL `WHERE`.
fn pg_memberships<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    user: &'b &'b str,
    roles: &'b [&'b str],
) -> QueryResult<()> {
    out.push_sql("shared.user_id = ");
    out.push_bind_param::<Text, _>(user)?;
    out.push_sql(" AND shared.role = ANY (");
    out.push_bind_param::<Array<Text>, _>(roles)?;
    out.push_sql(")");
    Ok(())
}

/// The same for SQLite (no arrays: one bind per role).
fn sqlite_memberships<'b>(
    out: &mut AstPass<'_, 'b, Sqlite>,
    user: &'b &'b str,
    roles: &'b [&'b str],
) -> QueryResult<()> {
    out.push_sql("shared.user_id = ");
    out.push_bind_param::<Text, _>(user)?;
    out.push_sql(" AND shared.role IN (");
    for (i, role) in roles.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        out.push_bind_param::<Text, _>(role)?;
    }
    out.push_sql(")");
    Ok(())
}

impl<C> QueryId for InListsOf<'_, C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: Expression> Expression for InListsOf<'_, C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS: ?Sized> AppearsOnTable<QS> for InListsOf<'_, C> {}

impl<C: SelectableExpression<QS>, QS: ?Sized> SelectableExpression<QS> for InListsOf<'_, C> {}

impl<C> ValidGrouping<()> for InListsOf<'_, C> {
    type IsAggregate = is_aggregate::Never;
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for InListsOf<'_, C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(
            " = ANY ((SELECT coalesce(array_agg(shared.list_id), '{}') FROM list_members shared \
             WHERE ",
        );
        pg_memberships(&mut out, &self.user, self.roles)?;
        out.push_sql(")::bigint[]))");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InListsOf<'_, C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("(");
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT shared.list_id FROM list_members shared WHERE ");
        sqlite_memberships(&mut out, &self.user, self.roles)?;
        out.push_sql("))");
        Ok(())
    }
}

impl QueryId for TagOwnersSeenBy<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Expression for TagOwnersSeenBy<'_> {
    type SqlType = Bool;
}

impl<QS: ?Sized> AppearsOnTable<QS> for TagOwnersSeenBy<'_> where
    task_tags::user_id: AppearsOnTable<QS>
{
}

impl<QS: ?Sized> SelectableExpression<QS> for TagOwnersSeenBy<'_> where
    task_tags::user_id: SelectableExpression<QS>
{
}

impl ValidGrouping<()> for TagOwnersSeenBy<'_> {
    type IsAggregate = is_aggregate::Never;
}

impl QueryFragment<Pg> for TagOwnersSeenBy<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        task_tags::user_id.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY ((SELECT array_append(coalesce(array_agg(owners.user_id), '{}'), ");
        out.push_bind_param::<Text, _>(&self.user)?;
        out.push_sql(
            "::text) FROM task_lists owners JOIN list_members shared \
             ON shared.list_id = owners.id WHERE ",
        );
        pg_memberships(&mut out, &self.user, self.roles)?;
        out.push_sql(")::text[]))");
        Ok(())
    }
}

impl QueryFragment<Sqlite> for TagOwnersSeenBy<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("(");
        task_tags::user_id.walk_ast(out.reborrow())?;
        out.push_sql(" = ");
        out.push_bind_param::<Text, _>(&self.user)?;
        out.push_sql(" OR ");
        task_tags::user_id.walk_ast(out.reborrow())?;
        out.push_sql(
            " IN (SELECT owners.user_id FROM task_lists owners JOIN list_members shared \
             ON shared.list_id = owners.id WHERE ",
        );
        sqlite_memberships(&mut out, &self.user, self.roles)?;
        out.push_sql("))");
        Ok(())
    }
}

/// `query` (on `tasks`, filtered by [`InMembershipList`]) read once for each of `user`'s
/// memberships in one of `roles`, its rows together, ordered by `order` (positions in the
/// query's select list) and cut at `limit`: `SELECT … FROM list_members shared CROSS JOIN
/// LATERAL (query OFFSET 0) … ORDER BY … LIMIT …`. Its plan cannot depend on the statistics of
/// `tasks`: the lateral query (kept apart by its `OFFSET 0`, never joined by a plan of the
/// planner's choosing) runs once per membership row, none for a user without one, and each run
/// reads one list's tasks by the `tasks_list` index, the one index for `list_id = <a value>`.
/// The same filter as a list of ids (`InListsOf`) left the choice to the planner, which,
/// knowing nothing of `tasks` (before its first `ANALYZE`, issue 58), counted ten lists of 0.5 %
/// of the table each and read the whole table instead.
#[derive(Debug, Clone, Copy)]
pub(in crate::tasks) struct ForEachSharedList<'a, Q, O> {
    pub(super) query: Q,
    pub(super) user: &'a str,
    pub(super) roles: &'a [&'a str],
    pub(super) order: O,
    pub(super) limit: i64,
}

/// `tasks.list_id` is the list of the membership row a [`ForEachSharedList`] reads its query
/// for (that row is named `shared` there); nowhere else does it mean anything.
#[derive(Debug, Clone, Copy)]
pub(in crate::tasks) struct InMembershipList;

impl<Q, O> QueryId for ForEachSharedList<'_, Q, O> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query, O> Query for ForEachSharedList<'_, Q, O> {
    type SqlType = Q::SqlType;
}

impl<Q: SelectQuery, O> SelectQuery for ForEachSharedList<'_, Q, O> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<Pg>, O: QueryFragment<Pg>> QueryFragment<Pg> for ForEachSharedList<'_, Q, O> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // `in_list.*`: the query's own select list, in its order (what `order` counts).
        out.push_sql("SELECT in_list.* FROM list_members shared CROSS JOIN LATERAL (");
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" OFFSET 0) in_list WHERE ");
        pg_memberships(&mut out, &self.user, self.roles)?;
        out.push_sql(" ORDER BY ");
        self.order.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)
    }
}

impl QueryId for InMembershipList {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Expression for InMembershipList {
    type SqlType = Bool;
}

impl<QS: ?Sized> AppearsOnTable<QS> for InMembershipList where tasks::list_id: AppearsOnTable<QS> {}

impl<QS: ?Sized> SelectableExpression<QS> for InMembershipList where
    tasks::list_id: SelectableExpression<QS>
{
}

impl ValidGrouping<()> for InMembershipList {
    type IsAggregate = is_aggregate::Never;
}

impl QueryFragment<Pg> for InMembershipList {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        tasks::list_id.walk_ast(out.reborrow())?;
        out.push_sql(" = shared.list_id)");
        Ok(())
    }
}
