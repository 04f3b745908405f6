//! Repeating tasks inside a write's transaction: what an update does to a task's series
//! (its anchor, `recurrence_start`; stopping it when the due date is cleared; a repeating task
//! needs a due date), and completing an occurrence, which moves the due date to the next one
//! and leaves the task pending (`completed_at` stamped) instead of completing it. The rules
//! themselves are `tasks::recurrence`'s; the row is read held (`store::lock`), so concurrent
//! completions each advance once, one after the other.
//!
//! It must not open transactions or publish events (the service does).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::model::{Task, TaskPatch, TaskRow, micros};
use super::recurrence::{Rule, needs_due_date, next_due, zone};
use super::store::{self, SeriesWrite, Written};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// The due date after `due` of a series by `recurrence` in `time_zone` begun on `start`;
/// `None` when the series ends there (or the stored rule is not one the server wrote).
fn next(
    recurrence: &str,
    time_zone: &str,
    start: NaiveDateTime,
    due: DateTime<Utc>,
) -> Option<NaiveDateTime> {
    let rule = Rule::parse(recurrence).ok()?;
    next_due(&rule, zone(time_zone)?, start.and_utc(), due).map(|at| at.naive_utc())
}

/// Where completing this row's current occurrence moves its due date: `Some` for a pending
/// repeating task with an occurrence left, `None` when completing it completes it for good.
fn advance_of(row: &TaskRow) -> Option<NaiveDateTime> {
    let start = row.recurrence_start;
    let task = Task::from(row.clone());
    let due = task.due_date.filter(|_| !task.completed)?;
    let start = start.unwrap_or(due.naive_utc());
    next(task.recurrence.as_deref()?, &task.time_zone, start, due)
}

/// Inside a complete / toggle / setTaskCompleted(true): when task `id` is a pending repeating
/// task with an occurrence left, completes the current occurrence (one change: due date
/// moved, still pending, `completed_at` = `now`, version +1) and returns it; `None` when the
/// caller's ordinary completion applies (not repeating, already completed, the last
/// occurrence, or no such task).
pub(super) async fn complete_occurrence(
    tx: &mut DbConn,
    user: &AuthUser,
    id: i64,
    now: NaiveDateTime,
) -> AppResult<Option<Written>> {
    let Some(row) = store::lock(tx, user, id).await? else {
        return Ok(None);
    };
    let Some(advance_to) = advance_of(&row) else {
        return Ok(None);
    };
    let series = SeriesWrite {
        advance_to: Some(advance_to),
        ..SeriesWrite::default()
    };
    let patch = TaskPatch::default();
    Ok(store::update(tx, user, id, (&patch, &series), now).await?)
}

/// Inside an update: what `patch` does to task `id`'s series. A due date, recurrence or time
/// zone that changes (re)starts the series from the resulting due date; clearing the due date
/// of a repeating task stops it repeating (unless the patch sets a recurrence: a 422);
/// `completed: true` on a pending repeating task completes its occurrence (after the patch's
/// other fields apply, so from the due date it sets). Reads the row only when the patch
/// touches one of those fields.
pub(super) async fn for_update(
    tx: &mut DbConn,
    user: &AuthUser,
    id: i64,
    patch: &TaskPatch,
) -> AppResult<SeriesWrite> {
    let touches = patch.recurrence.is_some()
        || patch.time_zone.is_some()
        || patch.due_date.is_some()
        || patch.completed == Some(true);
    if !touches {
        return Ok(SeriesWrite::default());
    }
    match store::lock(tx, user, id).await? {
        // The update finds no task either: a 404.
        None => Ok(SeriesWrite::default()),
        Some(row) => plan(&row, patch),
    }
}

/// [`for_update`] once the row is read.
fn plan(row: &TaskRow, patch: &TaskPatch) -> AppResult<SeriesWrite> {
    let old_start = row.recurrence_start;
    let task = Task::from(row.clone());
    let mut recurrence = patch.recurrence.clone().unwrap_or(task.recurrence.clone());
    let due = patch.due_date.unwrap_or(task.due_date).map(micros);
    let time_zone = patch.time_zone.as_deref().unwrap_or(&task.time_zone);
    let mut series = SeriesWrite::default();
    let (Some(rule), Some(due)) = (recurrence.as_deref(), due) else {
        if let Some(Some(raw)) = &patch.recurrence {
            return Err(AppError::invalid(needs_due_date(raw)));
        }
        // Not repeating (any more): the due date was cleared, or the recurrence.
        series.stop = recurrence.take().is_some();
        if old_start.is_some() {
            series.start = Some(None);
        }
        return Ok(series);
    };
    let restarted = task.recurrence.as_deref() != Some(rule)
        || task.due_date != Some(due)
        || task.time_zone != time_zone
        || old_start.is_none();
    let start = if restarted {
        series.start = Some(Some(due.naive_utc()));
        due.naive_utc()
    } else {
        old_start.unwrap_or(due.naive_utc())
    };
    if patch.completed == Some(true) && !task.completed {
        series.advance_to = next(rule, time_zone, start, due);
    }
    Ok(series)
}
