//! Task reads: lists (filtered, sorted, paged by key), counts, stats, one task, some tasks.
//! Every statement starts from `tasks.filter(visible_to(viewer))`.
//!
//! It must not write: writes and their journal entries are `write` and `journal`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::{DbConn, Reader, strpos};
use crate::tasks::tags::rules::tag_key;
use crate::tasks::task::model::{
    ListFilter, ListQuery, SortKey, SortOrder, TaskRow, TaskStatus, search_needle,
};
use crate::tasks::task::page::{PageRequest, SortValue};
use crate::tasks::task::search_keys::SearchKeys;
use crate::tasks::visibility::{
    VisibleTasks, tag_owners_seen_by, visible_to, visible_to_member, writable_by,
};
use crate::{db_run, read_run};

/// Adds the filters of a [`ListQuery`] to a boxed query on `tasks` (written once, expanded
/// for each backend inside `db_run!`).
macro_rules! filtered {
    ($c:expr, $q:expr, $query:expr, $now:expr) => {{
        use crate::db::schema::tasks::dsl::*;
        let query: &ListQuery = $query;
        let mut q = $q;
        q = match query.status {
            TaskStatus::All => q,
            TaskStatus::Pending => q.filter(completed.eq(false)),
            TaskStatus::Completed => q.filter(completed.eq(true)),
        };
        if let Some(wanted) = query.priority {
            q = q.filter(priority.eq(wanted.rank()));
        }
        if let Some(wanted) = query.category {
            q = q.filter(category.eq(wanted.as_str()));
        }
        if let Some(text) = query.search.as_deref().filter(|t| !t.is_empty()) {
            // The keys are folded as the needle is (`task::search_keys`); a plain substring search
            // (not `LIKE '%…%'`, whose backtracking costs text × pattern on both backends)
            // gives the same answer on both. `strpos` is PostgreSQL's own; on SQLite,
            // `db::sqlite` defines it, linear in the text.
            let needle = search_needle(text);
            q = q.filter(
                strpos($c.title_key().nullable(), needle.clone())
                    .gt(0)
                    .or(strpos($c.description_key(), needle).gt(0)),
            );
        }
        if let Some(before) = query.due_before {
            q = q.filter(due_date.lt(before.naive_utc()));
        }
        if let Some(after) = query.due_after {
            q = q.filter(due_date.gt(after.naive_utc()));
        }
        if query.overdue {
            let now: NaiveDateTime = $now;
            q = q.filter(completed.eq(false)).filter(due_date.lt(now));
        }
        q = match query.list {
            ListFilter::Any => q,
            ListFilter::Inbox => q.filter(list_id.is_null()),
            ListFilter::List(wanted) => q.filter(list_id.eq(wanted)),
        };
        if !query.among_lists.is_empty() {
            q = q.filter(list_id.eq_any(query.among_lists.clone()));
        }
        if let Some(wanted) = &query.assignee {
            q = q.filter(assignee_id.eq(wanted.clone()));
        }
        q = match query.parent_id {
            None => q,
            Some(None) => q.filter(parent_id.is_null()),
            Some(Some(wanted)) => q.filter(parent_id.eq(wanted)),
        };
        q
    }};
}

/// Adds a [`ListQuery`]'s tag filters to a boxed query on `tasks`: for each `tags` name, the
/// task carries it; with `any_tags`, the task carries at least one of them. Each is an
/// `id IN (…)` over the tag index rows `$tag_rows` admits: those of the owners whose tasks the
/// viewer sees (`visibility::tag_owners_seen_by`: the viewer's and their shared lists'
/// owners', a task's rows being its owner's), so a member's filter matches a shared list's
/// tasks, or the viewer's own for their own tasks (`visibility::tags_visible_to`), served by
/// the `(user_id, tag_key)` index. Which tasks are seen stays the query's own filter (`$q`'s).
macro_rules! tag_filtered {
    ($q:expr, $query:expr, $tag_rows:expr) => {{
        use crate::db::schema::task_tags as tt;
        use crate::db::schema::tasks::dsl::id;
        let query: &ListQuery = $query;
        // Each group's keys: the task carries one of them (a `tags` name is a group of one).
        let all = query.tags.iter().map(|n| vec![tag_key(n)]);
        let any = (!query.any_tags.is_empty()).then(|| {
            query
                .any_tags
                .iter()
                .map(|n| tag_key(n))
                .collect::<Vec<_>>()
        });
        let mut q = $q;
        for keys in all.chain(any) {
            q = q.filter(
                id.eq_any(
                    tt::table
                        .filter($tag_rows)
                        .filter(tt::tag_key.eq_any(keys))
                        .select(tt::task_id),
                ),
            );
        }
        q
    }};
}

macro_rules! after_key {
    ($q:expr, $col:expr, $dir:expr, $value:expr, $after_id:expr) => {{
        use crate::db::schema::tasks::dsl::id;
        match $dir {
            SortOrder::Asc => $q
                .filter($col.ge($value.clone()))
                .filter($col.gt($value).or(id.gt($after_id))),
            SortOrder::Desc => $q
                .filter($col.le($value.clone()))
                .filter($col.lt($value).or(id.lt($after_id))),
        }
    }};
}

/// The viewer's tasks that `$visible` admits, filtered as asked and past the page's cursor, in
/// no order: one boxed query (the rows of [`page_of!`], and of the shared branch of a page,
/// which orders them itself: `branches`).
macro_rules! rows_of {
    // `$select` (optional): `TaskRow`'s columns, and after them what a union orders by
    // (`branches`).
    (@select) => {
        TaskRow::as_select()
    };
    (@select $select:expr) => {
        $select
    };
    ($c:expr, $visible:expr, $tag_rows:expr, $query:expr, $page:expr, $now:expr $(, $select:expr)?) => {{
        use crate::db::schema::tasks::dsl::*;
        let query: &ListQuery = $query;
        let page: Option<&PageRequest> = $page;
        let direction = query.direction();
        let after = page.and_then(|p| p.after.as_ref());
        let mut q = filtered!(
            $c,
            tasks.filter($visible).select(rows_of!(@select $($select)?)).into_boxed(),
            query,
            $now
        );
        q = tag_filtered!(q, query, $tag_rows);
        if let Some(cursor) = after {
            let i = cursor.id;
            q = match &cursor.value {
                SortValue::Time(at) if cursor.sort == SortKey::UpdatedAt => {
                    after_key!(q, updated_at, direction, *at, i)
                }
                SortValue::Time(at) => after_key!(q, created_at, direction, *at, i),
                SortValue::Text(key) => after_key!(q, $c.title_key(), direction, key.clone(), i),
                SortValue::Flag(flag) => after_key!(q, completed, direction, *flag, i),
                SortValue::Rank(rank) => after_key!(q, priority, direction, *rank, i),
                SortValue::Position(key) => after_key!(q, position, direction, key.clone(), i),
                // Tasks without a due date come last in both directions, by id.
                SortValue::Due(None) => match direction {
                    SortOrder::Asc => q.filter(due_date.is_null()).filter(id.gt(i)),
                    SortOrder::Desc => q.filter(due_date.is_null()).filter(id.lt(i)),
                },
                SortValue::Due(Some(at)) => match direction {
                    SortOrder::Asc => q.filter(
                        due_date
                            .is_null()
                            .or(due_date.gt(*at))
                            .or(due_date.eq(*at).and(id.gt(i))),
                    ),
                    SortOrder::Desc => q.filter(
                        due_date
                            .is_null()
                            .or(due_date.lt(*at))
                            .or(due_date.eq(*at).and(id.lt(i))),
                    ),
                },
            };
        }
        q
    }};
}

/// The viewer's tasks that `$visible` admits, filtered, ordered and paged as asked: one boxed
/// query (the body of [`list`], written once for each backend, and the own branch of a page).
macro_rules! page_of {
    // `$select` (optional): as `rows_of!`'s.
    ($c:expr, $visible:expr, $tag_rows:expr, $query:expr, $page:expr, $now:expr $(, $select:expr)?) => {{
        use crate::db::schema::tasks::dsl::*;
        let query: &ListQuery = $query;
        let page: Option<&PageRequest> = $page;
        let direction = query.direction();
        let mut q = rows_of!($c, $visible, $tag_rows, query, page, $now $(, $select)?);
        q = match (query.sort, direction) {
            (SortKey::CreatedAt, SortOrder::Asc) => q.order_by((created_at.asc(), id.asc())),
            (SortKey::CreatedAt, SortOrder::Desc) => q.order_by((created_at.desc(), id.desc())),
            (SortKey::UpdatedAt, SortOrder::Asc) => q.order_by((updated_at.asc(), id.asc())),
            (SortKey::UpdatedAt, SortOrder::Desc) => q.order_by((updated_at.desc(), id.desc())),
            (SortKey::Title, SortOrder::Asc) => q.order_by(($c.title_key().asc(), id.asc())),
            (SortKey::Title, SortOrder::Desc) => q.order_by(($c.title_key().desc(), id.desc())),
            (SortKey::Status, SortOrder::Asc) => q.order_by((completed.asc(), id.asc())),
            (SortKey::Status, SortOrder::Desc) => q.order_by((completed.desc(), id.desc())),
            (SortKey::Priority, SortOrder::Asc) => q.order_by((priority.asc(), id.asc())),
            (SortKey::Priority, SortOrder::Desc) => q.order_by((priority.desc(), id.desc())),
            (SortKey::Position, SortOrder::Asc) => q.order_by((position.asc(), id.asc())),
            (SortKey::Position, SortOrder::Desc) => q.order_by((position.desc(), id.desc())),
            // Undated tasks last in both directions; the backends disagree on where NULLs go
            // by themselves, so each says it its way (`search_keys`).
            (SortKey::DueDate, _) => {
                let mut keys = $c.due_order(direction == SortOrder::Asc).into_iter();
                let first = keys.next().expect("the due order has keys");
                keys.fold(q.order_by(first), |q, key| q.then_order_by(key))
            }
        };
        if let Some(page) = page {
            q = q.limit(page.limit);
        }
        q
    }};
}

mod branches;
mod count;

use branches::page_in_branches;
pub(in crate::tasks) use count::count;

/// The viewer's tasks, filtered and ordered as asked; with a page, at most `limit` of them
/// after its cursor.
pub(in crate::tasks) async fn list(
    conn: Reader<'_>,
    viewer: &AuthUser,
    query: &ListQuery,
    page: Option<&PageRequest>,
    now: NaiveDateTime,
) -> QueryResult<Vec<TaskRow>> {
    if let (Reader::Postgres(pg), Some(page)) = (conn, page)
        && let Some(planned) = pg.with_setting("SET LOCAL enable_bitmapscan = off")
    {
        return page_in_branches(&planned, viewer, query, page, now).await;
    }
    read_run!(conn, |c| page_of!(
        c,
        visible_to(viewer),
        tag_owners_seen_by(viewer),
        query,
        page,
        now
    )
    .load(c)
    .await)
}

/// Per (priority rank, category, completed): the number of tasks, and of those pending and
/// due before `now`. One grouped statement, so the figures are from one snapshot.
pub(in crate::tasks) async fn stats(
    conn: &mut DbConn,
    viewer: &AuthUser,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i16, String, bool, i64, i64)>> {
    use crate::db::schema::tasks::dsl::*;
    use diesel::dsl::{case_when, count, count_star};
    db_run!(conn, |c| {
        tasks
            .filter(visible_to(viewer))
            .group_by((priority, category, completed))
            .select((
                priority,
                category,
                completed,
                count_star(),
                // COUNT skips the NULLs the CASE gives for every other row.
                count(case_when(
                    completed.eq(false).and(due_date.lt(now).assume_not_null()),
                    id,
                )),
            ))
            .load(c)
            .await
    })
}

/// One of the tasks the viewer may write (a write's first look at its task).
pub(in crate::tasks) async fn find(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    conn.readers(async |r| find_visible(r, writable_by(viewer), task_id).await)
        .await
}

/// One of the tasks the viewer sees (their own, or in a list shared with them).
pub(in crate::tasks) async fn find_seen(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    conn.readers(async |r| find_visible(r, visible_to(viewer), task_id).await)
        .await
}

/// [`find`] through a [`Reader`], to travel with other reads.
pub(in crate::tasks) async fn find_read(
    conn: Reader<'_>,
    viewer: &AuthUser,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    find_visible(conn, visible_to(viewer), task_id).await
}

/// Those of the viewer's tasks whose ids are listed (missing ones were deleted meanwhile).
pub(in crate::tasks) async fn find_many(
    conn: Reader<'_>,
    viewer: &AuthUser,
    ids: &[i64],
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    read_run!(conn, |c| {
        tasks
            .filter(visible_to(viewer))
            .filter(id.eq_any(ids))
            .select(TaskRow::as_select())
            .load(c)
            .await
    })
}

/// The viewer's tasks under any of `parents`, grouped by parent, each group in manual order
/// (`position`, then id): the subtasks of a whole page in one statement.
pub(in crate::tasks) async fn subtasks_of(
    conn: Reader<'_>,
    viewer: &AuthUser,
    parents: &[i64],
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    read_run!(conn, |c| {
        tasks
            .filter(visible_to(viewer))
            .filter(parent_id.eq_any(parents))
            .order_by((parent_id.asc(), position.asc(), id.asc()))
            .select(TaskRow::as_select())
            .load(c)
            .await
    })
}

/// The tasks `ids` of `member` of an event's audience, for events completed from the
/// journal (a row too large for its payload, a statement that changed several). The member
/// comes from the database's own NOTIFY, not from a client, and the query is still filtered
/// by what they may see.
pub(in crate::tasks) async fn find_many_for_event(
    conn: &mut DbConn,
    member: &str,
    ids: &[i64],
) -> QueryResult<Vec<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    db_run!(conn, |c| {
        tasks
            .filter(visible_to_member(member))
            .filter(id.eq_any(ids))
            .select(TaskRow::as_select())
            .load(c)
            .await
    })
}

/// The task `task_id` if `visible` lets it through.
async fn find_visible(
    conn: Reader<'_>,
    visible: VisibleTasks<'_>,
    task_id: i64,
) -> QueryResult<Option<TaskRow>> {
    use crate::db::schema::tasks::dsl::*;
    read_run!(conn, |c| {
        tasks
            .filter(id.eq(task_id))
            .filter(visible)
            .select(TaskRow::as_select())
            .first(c)
            .await
            .optional()
    })
}
