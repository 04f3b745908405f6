//! The rules of a reminder, which the writes apply: a new `remind_at` re-arms it, an
//! occurrence completed moves it with the due date, and who it goes to.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::tasks::task::model::{Task, micros};

/// Where an occurrence's advance of its due date from `due` to `advance_to` moves its
/// reminder `remind_at`: by as much, keeping its offset (due 09:00, reminded 08:45: the next
/// occurrence's reminder is at 08:45 too). `None` without a reminder (or past the calendar).
pub(in crate::tasks) fn moved(
    remind_at: Option<DateTime<Utc>>,
    due: DateTime<Utc>,
    advance_to: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let offset = advance_to - micros(due).naive_utc();
    micros(remind_at?).naive_utc().checked_add_signed(offset)
}

/// A nullable column a write changes (`Some`) or leaves (`None`).
type Change = Option<Option<NaiveDateTime>>;

/// A write's `(remind_at, reminded_at)` changes: the reminder an occurrence completed moved
/// (`moved`), else the one the patch sets; either re-arms it (`reminded_at` cleared, so it
/// fires again). `None`s: the write leaves the reminder as it is.
pub(in crate::tasks) fn written(
    moved: Option<NaiveDateTime>,
    patched: Option<Option<DateTime<Utc>>>,
) -> (Change, Change) {
    let remind_at = moved
        .map(Some)
        .or(patched.map(|at| at.map(|at| micros(at).naive_utc())));
    (remind_at, remind_at.map(|_| None))
}

/// Who a task's reminder goes to: its owner, and its assignee when that is someone else.
pub(super) fn recipients(task: &Task) -> impl Iterator<Item = &str> {
    let assignee = task.assignee_id.as_deref().filter(|a| *a != task.user_id);
    std::iter::once(task.user_id.as_str()).chain(assignee)
}
