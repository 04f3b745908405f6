//! The reminder's event: `REMINDER`, to one recipient, with the task (`reminded_at` set) and
//! no cursor (the change itself is an `UPDATED` of its own). Its kind is one of
//! `events::TaskEventKind`; its wire form (`{"k": "reminder", …}`) is `events::wire`'s.

use crate::tasks::task::model::Task;
use crate::tasks::{TaskEvent, TaskEventKind};

impl TaskEvent {
    /// A `Reminder` of `task` (none: too large for its payload) for `recipient` alone
    /// (`EventRouter::deliver_to`).
    pub(in crate::tasks) fn reminder(recipient: &str, task_id: i64, task: Option<Task>) -> Self {
        TaskEvent {
            kind: TaskEventKind::Reminder,
            task_id: Some(task_id),
            task,
            list_id: None,
            list: None,
            cursor: None,
            owner: recipient.to_owned(),
        }
    }
}
