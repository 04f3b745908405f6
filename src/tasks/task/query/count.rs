//! How many tasks a list holds: `X-Total-Count` and `totalCount`, beside a page.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::schema::tasks;
use crate::db::{Reader, strpos};
use crate::read_run;
use crate::tasks::tags::rules::tag_key;
use crate::tasks::task::model::{ListFilter, ListQuery, TaskStatus, search_needle};
use crate::tasks::task::search_keys::SearchKeys;
use crate::tasks::visibility::{others_visible_to, own_task_count, tag_owners_seen_by, visible_to};

/// How many of the viewer's tasks match the filters. Without a filter, on PostgreSQL, the
/// viewer's own tasks are the count the database keeps (one row, not a read of every task:
/// issue 60 item 2) and the shared lists' other tasks are counted by the `tasks_list` index;
/// the two statements share a round trip (the reader pipelines them).
pub(in crate::tasks) async fn count(
    conn: Reader<'_>,
    viewer: &AuthUser,
    query: &ListQuery,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    if let Reader::Postgres(pg) = conn
        && query.filters_nothing()
    {
        let (mut a, mut b): (&PgConn, &PgConn) = (pg, pg);
        let own = diesel::select(own_task_count(viewer)).get_result::<i64>(&mut a);
        let others = tasks::table
            .filter(others_visible_to(viewer))
            .count()
            .get_result::<i64>(&mut b);
        let (own, others) = tokio::try_join!(own, others)?;
        return Ok(own + others);
    }
    // The names come into scope inside `filtered!`.
    read_run!(conn, |c| {
        let q = filtered!(
            c,
            tasks
                .filter(visible_to(viewer))
                .select(diesel::dsl::count_star())
                .into_boxed(),
            query,
            now
        );
        tag_filtered!(q, query, tag_owners_seen_by(viewer))
            .get_result(c)
            .await
    })
}
