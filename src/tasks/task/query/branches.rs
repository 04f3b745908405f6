//! A page of the task list on PostgreSQL, read as two branches of one statement (see
//! [`page_in_branches`]). The filters, cursor and order of each branch are `page_of!`'s, the
//! same as the one-filter read of `list` (its parent).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::strpos;
use crate::tasks::tags::rules::tag_key;
use crate::tasks::task::model::{
    ListFilter, ListQuery, SortKey, SortOrder, TaskRow, TaskStatus, search_needle,
};
use crate::tasks::task::page::{PageRequest, SortValue};
use crate::tasks::task::search_keys::SearchKeys;
use crate::tasks::visibility::{
    for_each_shared_list, tag_owners_seen_by, tags_visible_to, visible_parts,
};

/// Where [`TaskRow`]'s columns stand in its select list, for the order of a union (`ORDER BY`
/// a position: the outer query of [`page_in_branches`] names no table).
mod at {
    pub(super) const ID: u32 = 1;
    pub(super) const COMPLETED: u32 = 5;
    pub(super) const CREATED_AT: u32 = 6;
    pub(super) const UPDATED_AT: u32 = 7;
    pub(super) const PRIORITY: u32 = 8;
    pub(super) const DUE_DATE: u32 = 10;
    pub(super) const POSITION: u32 = 15;
    /// Past `TaskRow`'s columns: the folded title a title-ordered page selects after them.
    pub(super) const TITLE_KEY: u32 = 24;
}

/// A page on PostgreSQL, read as two branches of one statement (issue 41): the viewer's own
/// tasks and the shared lists' other tasks (`visibility::visible_parts`), each filtered,
/// ordered and cut at the page by itself, then merged in the same order and cut again. One
/// filter with an OR of the two (and the row-security policy's own OR) led the planner to a
/// bitmap scan of every task of the viewer and a sort, so a page cost as much as the whole
/// list; each branch alone reads its index in order and stops at the page. `planned` runs
/// the statement with bitmap scans off (`PgConn::with_setting`, its own transaction's
/// setting): the policy's OR otherwise brings the planner, which estimates one row for the
/// branch, back to the bitmap. The second branch is read list by list from the viewer's
/// memberships (`visibility::for_each_shared_list`), each list's tasks by the `tasks_list`
/// index, then ordered and cut, so neither branch's plan depends on statistics: without them
/// (issue 58) a filter by the array of the viewer's lists was a sequential scan of the whole
/// table, with bitmap scans off, even for a viewer in no list. A title-ordered page selects
/// the folded title after the row to merge by it; a due-ordered one reads the dated and the
/// undated tasks apart (below). A read inside a write's transaction keeps the one filter
/// (`list`).
pub(super) async fn page_in_branches(
    planned: &PgConn,
    viewer: &AuthUser,
    query: &ListQuery,
    page: &PageRequest,
    now: NaiveDateTime,
) -> QueryResult<Vec<TaskRow>> {
    use diesel::query_dsl::positional_order_dsl::{OrderColumn, PositionalOrderDsl};
    let mut shared: &PgConn = planned;
    let c = &mut shared;
    let (own, others) = visible_parts(viewer);
    // The viewer's tasks carry the viewer's tag rows: read only those (no other owner's row,
    // whose check by the `task_tags` policy costs a read of the viewer's lists).
    let own = page_of!(c, own, tags_visible_to(viewer), query, Some(page), now);
    let others = rows_of!(
        c,
        others,
        tag_owners_seen_by(viewer),
        query,
        Some(page),
        now
    );
    let col = OrderColumn;
    let asc = query.direction() == SortOrder::Asc;
    // The shared branch is ordered and cut by the same key: its rows come from the lists in
    // turn, in no order of their own.
    macro_rules! ordered {
        ($key:expr) => {
            ordered!(own, others, $key)
        };
        ($own:expr, $others:expr, $key:expr) => {
            $own.union_all(for_each_shared_list(viewer, $others, $key, page.limit))
                .positional_order_by($key)
                .limit(page.limit)
                .load(c)
                .await
        };
    }
    // By title the rows carry their folded title after `TaskRow`'s columns, the key the merge
    // orders by (`tasks_user_title`'s), then drop it.
    if query.sort == SortKey::Title {
        use crate::db::schema::tasks::dsl::title_key;
        let (own, others) = visible_parts(viewer);
        let select = (TaskRow::as_select(), title_key);
        let own = page_of!(
            c,
            own,
            tags_visible_to(viewer),
            query,
            Some(page),
            now,
            select
        );
        let others = rows_of!(
            c,
            others,
            tag_owners_seen_by(viewer),
            query,
            Some(page),
            now,
            select
        );
        let keyed: Vec<(TaskRow, String)> = if asc {
            ordered!(own, others, (col(at::TITLE_KEY).asc(), col(at::ID).asc()))
        } else {
            ordered!(own, others, (col(at::TITLE_KEY).desc(), col(at::ID).desc()))
        }?;
        return Ok(keyed.into_iter().map(|(row, _)| row).collect());
    }
    // By due date the viewer's own tasks are two branches, the dated and the undated, each in
    // `tasks_user_due`'s own order (ascending `NULLS LAST` forward, descending `NULLS FIRST`
    // backward) from the cursor, so each walks the index and stops at the page; the merge puts
    // the undated last in both directions. One branch ordered `DESC NULLS LAST` is no index's
    // order: it read the viewer's whole set (`benches/writes/rows_per_page.sh`).
    if query.sort == SortKey::DueDate {
        use crate::db::schema::tasks::dsl::{due_date, id};
        let (own_undated, _) = visible_parts(viewer);
        let mut dated = own.filter(due_date.is_not_null());
        let undated = page_of!(
            c,
            own_undated,
            tags_visible_to(viewer),
            query,
            Some(page),
            now
        )
        .filter(due_date.is_null());
        // The cursor's date as a bound the index can start from (the keyset filter's OR with
        // the undated rows is none).
        if let Some(SortValue::Due(Some(at))) = page.after.as_ref().map(|a| &a.value) {
            dated = if asc {
                dated.filter(due_date.ge(*at))
            } else {
                dated.filter(due_date.le(*at))
            };
        }
        return if asc {
            ordered!(
                dated
                    .order_by((due_date.asc(), id.asc()))
                    .union_all(undated.order_by((due_date.asc(), id.asc()))),
                others,
                (col(at::DUE_DATE).asc().nulls_last(), col(at::ID).asc())
            )
        } else {
            ordered!(
                dated
                    .order_by((due_date.desc(), id.desc()))
                    .union_all(undated.order_by((due_date.desc(), id.desc()))),
                others,
                (col(at::DUE_DATE).desc().nulls_last(), col(at::ID).desc())
            )
        };
    }
    match (query.sort, asc) {
        (SortKey::CreatedAt, true) => ordered!((col(at::CREATED_AT).asc(), col(at::ID).asc())),
        (SortKey::CreatedAt, false) => ordered!((col(at::CREATED_AT).desc(), col(at::ID).desc())),
        (SortKey::UpdatedAt, true) => ordered!((col(at::UPDATED_AT).asc(), col(at::ID).asc())),
        (SortKey::UpdatedAt, false) => ordered!((col(at::UPDATED_AT).desc(), col(at::ID).desc())),
        (SortKey::Status, true) => ordered!((col(at::COMPLETED).asc(), col(at::ID).asc())),
        (SortKey::Status, false) => ordered!((col(at::COMPLETED).desc(), col(at::ID).desc())),
        (SortKey::Priority, true) => ordered!((col(at::PRIORITY).asc(), col(at::ID).asc())),
        (SortKey::Priority, false) => ordered!((col(at::PRIORITY).desc(), col(at::ID).desc())),
        (SortKey::Position, true) => ordered!((col(at::POSITION).asc(), col(at::ID).asc())),
        (SortKey::Position, false) => ordered!((col(at::POSITION).desc(), col(at::ID).desc())),
        (SortKey::DueDate, _) | (SortKey::Title, _) => {
            Err(diesel::result::Error::QueryBuilderError(
                "the title and due orders are read above (a bug)".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::tasks;

    /// The positions [`page_in_branches`] orders by are those of `TaskRow`'s select list.
    #[test]
    fn the_order_positions_are_the_select_lists() {
        let sql =
            diesel::debug_query::<diesel::pg::Pg, _>(&tasks::table.select(TaskRow::as_select()))
                .to_string();
        let list = sql
            .strip_prefix("SELECT ")
            .and_then(|rest| rest.split(" FROM ").next())
            .expect("a select list");
        let columns: Vec<&str> = list.split(", ").collect();
        let position = |name: &str| {
            let column = format!("\"tasks\".\"{name}\"");
            1 + columns
                .iter()
                .position(|c| *c == column)
                .unwrap_or_else(|| panic!("{name} not in {list}")) as u32
        };
        assert_eq!(position("id"), at::ID);
        assert_eq!(position("completed"), at::COMPLETED);
        assert_eq!(position("created_at"), at::CREATED_AT);
        assert_eq!(position("updated_at"), at::UPDATED_AT);
        assert_eq!(position("priority"), at::PRIORITY);
        assert_eq!(position("due_date"), at::DUE_DATE);
        assert_eq!(position("position"), at::POSITION);
        assert_eq!(
            columns.len() as u32 + 1,
            at::TITLE_KEY,
            "the title key follows the row"
        );
    }
}
