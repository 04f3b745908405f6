//! The two checks task operations make of a list (issue 21), inside their unit of work:
//! [`hold_list`] (a task created in a list) and [`check_list_filter`] (a task list filtered by
//! one). Apart from `tasks::lists` (the list operations), which builds on the service.

use super::model::{ListFilter, ListQuery};
use super::store::lists as store;
use crate::auth::AuthUser;
use crate::db::{DbConn, Reader};
use crate::error::{AppError, AppResult};

/// Inside a task write's transaction: the list a task goes into must be one of the viewer's
/// (else [`AppError::ListNotFound`]); held until the write commits, so that the list is not
/// deleted under it.
pub(super) async fn hold_list(tx: &mut DbConn, user: &AuthUser, list: i64) -> AppResult<()> {
    super::store::lock_lists(tx, user).await?;
    match store::find(tx, user, list).await? {
        Some(_) => Ok(()),
        None => Err(AppError::ListNotFound),
    }
}

/// Inside a task list's read: a filter by a list names one of the viewer's lists (else
/// [`AppError::ListNotFound`], not an empty list, so that a client learns the list is gone).
pub(super) async fn check_list_filter(
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
