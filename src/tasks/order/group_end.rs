//! Manual order: where a group of siblings (one user's tasks with the same list and parent)
//! ends, read inside the caller's unit of work. Positions are made by `tasks::order::position`.
//!
//! It must not write: the rows a move or a renumbering changes are written by `write`.

use diesel::dsl::max;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db_run;
use crate::tasks::visibility::writable_by;

/// The last position in the viewer's group of tasks in `list` (`None`: the inbox) under
/// `parent` (`None`: the top level); `None` when the group is empty.
pub(in crate::tasks) async fn group_end(
    conn: &mut DbConn,
    viewer: &AuthUser,
    list: Option<i64>,
    parent: Option<i64>,
) -> QueryResult<Option<String>> {
    db_run!(conn, |c| {
        use crate::db::schema::tasks::dsl::*;
        let mut q = tasks
            .filter(writable_by(viewer))
            .select(max(position))
            .into_boxed();
        q = match list {
            Some(wanted) => q.filter(list_id.eq(wanted)),
            None => q.filter(list_id.is_null()),
        };
        q = match parent {
            Some(wanted) => q.filter(parent_id.eq(wanted)),
            None => q.filter(parent_id.is_null()),
        };
        q.get_result(c).await
    })
}
