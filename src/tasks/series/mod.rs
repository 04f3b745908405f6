//! Repeating tasks inside a write's transaction: what an update does to a task's series
//! (its anchor, `recurrence_start`; stopping it when the due date is cleared; a repeating task
//! needs a due date), and completing an occurrence, which moves the due date to the next one
//! and leaves the task pending (`completed_at` stamped) instead of completing it. The rules
//! themselves are `tasks::series::recurrence`'s; the row is the one the write holds (the store hands
//! back a repeating task held, `service::outcome::Changed::Pending`), so concurrent completions each
//! advance once, one after the other.
//!
//! It must not open transactions or publish events (the service does).

pub mod recurrence;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::tasks::reminders::rules::moved as moved_reminder;
use crate::tasks::series::recurrence::{Rule, needs_due_date, next_due, zone};
use crate::tasks::service::folded;
use crate::tasks::sync::journal::Written;
use crate::tasks::task::model::{Task, TaskPatch, TaskRow, micros};
use crate::tasks::task::write;
use crate::tasks::task::write::SeriesWrite;

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
    let start = row.series_start();
    let task = Task::from(row.clone());
    let due = task.due_date.filter(|_| !task.completed)?;
    let start = start.unwrap_or(due.naive_utc());
    next(task.recurrence.as_deref()?, &task.time_zone, start, due)
}

/// Inside a complete / toggle / setTaskCompleted(true) of `row`, a pending repeating task
/// held by this write (`service::folded::complete` hands it back): completes its current occurrence
/// (one change: due date moved, still pending, `completed_at` = `now`, version +1) when it has
/// one left; else completes the task for good, as any other (`value`: `None` toggles). One
/// statement either way.
pub(super) async fn complete_held(
    tx: &mut DbConn,
    user: &AuthUser,
    row: &TaskRow,
    value: Option<bool>,
    now: NaiveDateTime,
) -> AppResult<Option<Written>> {
    let id = row.id;
    let Some(advance_to) = advance_of(row) else {
        return Ok(match value {
            None => write::toggle(tx, user, id, now).await?,
            Some(value) => write::set_completed(tx, user, id, value, now).await?,
        });
    };
    let task = Task::from(row.clone());
    let series = SeriesWrite {
        advance_to: Some(advance_to),
        remind_at: task
            .due_date
            .and_then(|due| moved_reminder(task.remind_at, due, advance_to)),
        ..SeriesWrite::default()
    };
    let patch = TaskPatch::default();
    // No tags written, so no cap to check: it cannot be refused.
    folded::update_planned(tx, user, id, (&patch, &series), now, u64::MAX)
        .await?
        .map_err(|refused| AppError::Internal(format!("an occurrence refused: {refused:?}")))
}

/// Inside an update: what `patch` does to the series of `row` (the task as this write holds
/// it; `None` when the patch does not touch the series, or no such task: the update finds
/// none either). A due date, recurrence or time zone that changes (re)starts the series from
/// the resulting due date; clearing the due date of a repeating task stops it repeating
/// (unless the patch sets a recurrence: a 422); `completed: true` on a pending repeating task
/// completes its occurrence (after the patch's other fields apply, so from the due date it
/// sets).
pub(super) fn for_update(row: Option<&TaskRow>, patch: &TaskPatch) -> AppResult<SeriesWrite> {
    match row {
        Some(row) if patch.touches_series() => plan(row, patch),
        _ => Ok(SeriesWrite::default()),
    }
}

/// [`for_update`] once the row is read.
fn plan(row: &TaskRow, patch: &TaskPatch) -> AppResult<SeriesWrite> {
    let old_start = row.series_start();
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
        let remind_at = patch.remind_at.unwrap_or(task.remind_at);
        series.remind_at = series
            .advance_to
            .and_then(|to| moved_reminder(remind_at, due, to));
    }
    Ok(series)
}
