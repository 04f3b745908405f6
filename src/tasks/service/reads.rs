//! The task reads: one task, the filtered and sorted list (whole, streamed a page at a time,
//! or one page with its total). Each is one read unit of work (`tasks::unit`); the rules a
//! list request must meet whatever API it came through are checked here first.

use chrono::NaiveDateTime;
use futures::{Stream, stream};

use crate::auth::AuthUser;
use crate::db::Reader;
use crate::error::{AppError, AppResult};
use crate::tasks::service::{TaskService, now_micros};
use crate::tasks::tags::rules::filter_keys;
use crate::tasks::task::model::{ListQuery, Task, TaskRow, readable_tasks, validate_search};
use crate::tasks::task::page::{Cursor, MAX_PAGE_SIZE, Page, PageRequest, STREAM_PAGE_SIZE};
use crate::tasks::task::query;

/// Rules on a list request that hold whichever API it came through.
pub fn check_query(query: &ListQuery) -> AppResult<()> {
    if let Some(search) = &query.search {
        validate_search("query", "search", search).map_err(AppError::invalid)?;
    }
    for (field, names) in [("tag", &query.tags), ("any_tag", &query.any_tags)] {
        filter_keys(field, names).map_err(AppError::Validation)?;
    }
    Ok(())
}

/// Where the page after a full `page` of a streamed list starts (`None`: it was the last).
fn next_cursor(page: &[TaskRow], query: &ListQuery) -> Option<Cursor> {
    if (page.len() as i64) < STREAM_PAGE_SIZE {
        return None;
    }
    // After the last row whose values sort where their answer does (issue 40: an unreadable
    // time is answered as null but sorted as stored); the next page reads the rest again.
    let last = page.iter().rev().find(|row| row.intact())?;
    Some(Cursor::after(&Task::from(last.clone()), query))
}

/// The list and the parent a request filters by, if any, are the viewer's: a 404
/// (`List not found` / `Task not found`) rather than an empty answer.
/// Both checks travel together (`db::Reader`); the parent's answer is read first.
async fn check_scope(conn: Reader<'_>, user: &AuthUser, query: &ListQuery) -> AppResult<()> {
    let (parent, list) = futures::join!(
        crate::tasks::order::tree::check_parent_filter(conn, user, query),
        crate::tasks::lists::checks::check_list_filter(conn, user, query)
    );
    parent.and(list)
}

/// The checks of [`check_scope`] and `read`, together: one round trip on PostgreSQL.
async fn scoped<R>(
    conn: Reader<'_>,
    user: &AuthUser,
    query: &ListQuery,
    read: impl Future<Output = diesel::QueryResult<R>>,
) -> AppResult<R> {
    let (checked, read) = futures::join!(check_scope(conn, user, query), read);
    checked?;
    Ok(read?)
}

impl TaskService {
    /// One of the user's tasks; another user's task is [`AppError::NotFound`] too.
    pub async fn get(&self, user: &AuthUser, id: i64) -> AppResult<Task> {
        self.work
            .read(user, async |conn| {
                Ok(query::find_seen(conn, user, id).await?)
            })
            .await?
            .and_then(TaskRow::readable)
            .ok_or(AppError::NotFound)
    }

    /// The user's tasks, filtered and sorted.
    pub async fn list(&self, user: &AuthUser, query: &ListQuery) -> AppResult<Vec<Task>> {
        check_query(query)?;
        let rows = self
            .work
            .read(user, async |conn| {
                conn.readers(async |r| {
                    let rows = query::list(r, user, query, None, now_micros());
                    scoped(r, user, query, rows).await
                })
                .await
            })
            .await?;
        Ok(readable_tasks(rows))
    }

    /// The user's tasks, filtered and sorted, as [`list`](Self::list) gives them, read
    /// [`STREAM_PAGE_SIZE`] at a time: the first page now (so a bad request or an unavailable
    /// database is an error before anything is sent), and when it was full, the pages after
    /// it, each read by its own short unit of work when the stream is polled for it. Keyset
    /// order: a task that exists throughout and keeps its sort value comes exactly once.
    pub async fn list_pages(
        &self,
        user: &AuthUser,
        query: &ListQuery,
    ) -> AppResult<(
        Vec<Task>,
        Option<impl Stream<Item = AppResult<Vec<Task>>> + Send + use<>>,
    )> {
        check_query(query)?;
        // One `now` for every page: the `overdue` filter means the same on each.
        let now = now_micros();
        let (first, next) = self.list_after(user, query, None, now).await?;
        let Some(after) = next else {
            return Ok((first, None));
        };
        let (service, user, query) = (self.clone(), user.clone(), query.clone());
        let rest = stream::unfold(Some(after), move |after| {
            let (service, user, query) = (service.clone(), user.clone(), query.clone());
            async move {
                match service.list_after(&user, &query, Some(after?), now).await {
                    Ok((page, None)) if page.is_empty() => None,
                    Ok((page, next)) => Some((Ok(page), next)),
                    Err(error) => Some((Err(error), None)),
                }
            }
        });
        Ok((first, Some(rest)))
    }

    /// One page of [`STREAM_PAGE_SIZE`] tasks after `after`, and the cursor after it when it
    /// was full.
    async fn list_after(
        &self,
        user: &AuthUser,
        query: &ListQuery,
        after: Option<Cursor>,
        now: NaiveDateTime,
    ) -> AppResult<(Vec<Task>, Option<Cursor>)> {
        let page = PageRequest {
            limit: STREAM_PAGE_SIZE,
            after,
        };
        let rows = self
            .page_read(user, async |conn| {
                conn.readers(async |r| {
                    let rows = query::list(r, user, query, Some(&page), now);
                    // The list and parent named exist: checked with the first page, before
                    // anything is sent (the later pages of a stream are not checked again).
                    if page.after.is_none() {
                        scoped(r, user, query, rows).await
                    } else {
                        Ok(rows.await?)
                    }
                })
                .await
            })
            .await?;
        let next = next_cursor(&rows, query);
        Ok((readable_tasks(rows), next))
    }

    /// One page of the user's tasks, filtered and sorted, with the total over all pages.
    pub async fn list_page(
        &self,
        user: &AuthUser,
        query: &ListQuery,
        page: &PageRequest,
    ) -> AppResult<Page> {
        check_query(query)?;
        // The adapters check the size with their own names; this bounds it whatever the caller.
        let limit = page.limit.clamp(0, MAX_PAGE_SIZE);
        // One more than asked says whether a next page exists.
        let probe = PageRequest {
            limit: limit + 1,
            after: page.after.clone(),
        };
        let now = now_micros();
        let (mut rows, total) = self
            .work
            .read(user, async |conn| {
                conn.readers(async |r| {
                    let both = futures::future::try_join(
                        query::list(r, user, query, Some(&probe), now),
                        query::count(r, user, query, now),
                    );
                    scoped(r, user, query, both).await
                })
                .await
            })
            .await?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok(Page {
            tasks: readable_tasks(rows),
            has_next,
            total,
        })
    }
}
