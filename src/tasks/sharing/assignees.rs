//! Who may be a task's assignee: its owner, or a member of its list (a task in no list: its
//! owner only). PostgreSQL's write functions check it and its triggers keep it (migration
//! 000064); SQLite's triggers keep it (a move to a list the assignee is no member of clears
//! them, a member who leaves is unassigned) and the stepwise writes check it here, after the
//! write, in its transaction (a refusal rolls the write back).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::db_run;
use crate::tasks::service::outcome::Refusal;
use crate::tasks::task::model::{Task, TaskRow};
use crate::tasks::task::query::find;
use crate::tasks::visibility::member_row;

/// After a stepwise write of task `written` that named `asked` as its assignee (`None`: it
/// named none, `Some(None)`: it unassigned it): the row as the database now has it (its
/// triggers may have cleared the assignee of a task that moved, which SQLite's RETURNING
/// does not show), or a refusal when the assignee named may not be.
pub(in crate::tasks) async fn settled(
    conn: &mut DbConn,
    viewer: &AuthUser,
    written: TaskRow,
    asked: Option<Option<&str>>,
) -> QueryResult<Result<TaskRow, Refusal>> {
    if Task::from(written.clone()).assignee_id.is_none() {
        return Ok(Ok(written));
    }
    let Some(row) = find(conn, viewer, written.id).await? else {
        return Ok(Ok(written));
    };
    let now = Task::from(row.clone());
    let fits = match (now.assignee_id.as_deref(), now.list_id) {
        (None, _) => true,
        (Some(assignee), _) if assignee == now.user_id => true,
        (Some(_), None) => false,
        (Some(assignee), Some(list)) => is_member(conn, list, assignee).await?,
    };
    match asked {
        Some(Some(asked)) if !fits || now.assignee_id.as_deref() != Some(asked) => {
            Ok(Err(Refusal::Assignee))
        }
        _ => Ok(Ok(row)),
    }
}

/// Whether `user` is a member of list `list` (a list the writer just wrote a task in: its
/// owner or an editor).
async fn is_member(conn: &mut DbConn, list: i64, user: &str) -> QueryResult<bool> {
    use crate::db::schema::list_members::dsl::list_members;
    let found: i64 = db_run!(conn, |c| {
        list_members
            .filter(member_row(list, user))
            .count()
            .get_result(c)
            .await
    })?;
    Ok(found > 0)
}
