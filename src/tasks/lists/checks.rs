//! The check a task list makes of the list it is filtered by (issue 21), inside its unit of
//! work: [`check_list_filter`]. (A task created in a list has it checked by the create itself:
//! `service::folded`.) Apart from `tasks::lists` (the list operations), which builds on the
//! service.

use crate::auth::AuthUser;
use crate::db::Reader;
use crate::error::{AppError, AppResult};
use crate::tasks::lists::reads as store;
use crate::tasks::task::model::{ListFilter, ListQuery};

/// Inside a task list's read: a filter by a list names one of the viewer's lists (else
/// [`AppError::ListNotFound`], not an empty list, so that a client learns the list is gone).
pub(in crate::tasks) async fn check_list_filter(
    conn: Reader<'_>,
    user: &AuthUser,
    query: &ListQuery,
) -> AppResult<()> {
    match query.list {
        ListFilter::List(list) if store::find_read(conn, user, list).await?.is_none() => {
            Err(AppError::ListNotFound)
        }
        _ => Ok(()),
    }
}
