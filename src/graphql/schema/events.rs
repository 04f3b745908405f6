//! What sync and live events look like in GraphQL: `taskEvents`' events and `taskChanges`'
//! answer, tasks and lists alike (issue 27), mapped from the service's types.

use async_graphql::{ID, SimpleObject};

use super::lists::TaskList;
use super::types::Task;
use crate::tasks;

/// A change to one of the signed-in user's tasks or lists, whoever made it (any server
/// instance, another program writing to the database).
#[derive(SimpleObject)]
pub struct TaskEvent {
    /// What happened.
    pub kind: tasks::TaskEventKind,
    /// The task's id; null for a list's change and for RESYNC.
    pub id: Option<ID>,
    /// The task after the change; null when it was deleted, for a list's change, and for
    /// RESYNC.
    pub task: Option<Task>,
    /// The list's id, for `LIST_*` kinds.
    pub list_id: Option<ID>,
    /// The list after the change, for `LIST_CREATED` and `LIST_UPDATED`.
    pub list: Option<TaskList>,
    /// The sync cursor just after this change: `taskChanges(since:)` with it misses nothing
    /// that came after. Null for RESYNC.
    pub cursor: Option<String>,
}

impl From<tasks::TaskEvent> for TaskEvent {
    fn from(event: tasks::TaskEvent) -> Self {
        TaskEvent {
            kind: event.kind,
            id: event.task_id.map(|id| ID(id.to_string())),
            cursor: event.cursor_text(),
            task: event.task.map(Task::from),
            list_id: event.list_id.map(|id| ID(id.to_string())),
            list: event.list.map(Into::into),
        }
    }
}

/// What changed since a cursor.
#[derive(SimpleObject)]
pub struct TaskChanges {
    /// Tasks created or changed since the cursor, as they are now (all tasks without one).
    pub changed: Vec<Task>,
    /// Ids of tasks deleted since the cursor.
    pub deleted_ids: Vec<ID>,
    /// Lists created or changed since the cursor, as they are now (all lists without one).
    pub changed_lists: Vec<TaskList>,
    /// Ids of lists deleted since the cursor.
    pub deleted_list_ids: Vec<ID>,
    /// Pass this as `since` next time.
    pub cursor: String,
}

impl From<tasks::TaskChangeSet> for TaskChanges {
    fn from(set: tasks::TaskChangeSet) -> Self {
        TaskChanges {
            changed: set.changed().into_iter().map(Task::from).collect(),
            deleted_ids: set
                .deleted_ids()
                .into_iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            changed_lists: set.changed_lists().into_iter().map(Into::into).collect(),
            deleted_list_ids: set
                .deleted_list_ids()
                .into_iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            cursor: set.cursor_text(),
        }
    }
}
