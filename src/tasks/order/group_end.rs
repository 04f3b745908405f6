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

/// Narrows a boxed query on `tasks` to one group of siblings: those in `list` (`None`: the
/// inbox) under `parent` (`None`: the top level). A macro, as the boxed query's type is each
/// backend's (expanded inside `db_run!`).
macro_rules! in_group {
    ($q:expr, $list:expr, $parent:expr) => {{
        use crate::db::schema::tasks::dsl::{list_id, parent_id};
        let q = $q;
        let q = match $list {
            Some(wanted) => q.filter(list_id.eq(wanted)),
            None => q.filter(list_id.is_null()),
        };
        match $parent {
            Some(wanted) => q.filter(parent_id.eq(wanted)),
            None => q.filter(parent_id.is_null()),
        }
    }};
}
pub(in crate::tasks) use in_group;

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
        let q = tasks
            .filter(writable_by(viewer))
            .select(max(position))
            .into_boxed();
        in_group!(q, list, parent).get_result(c).await
    })
}
