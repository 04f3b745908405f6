//! What a plain task write (`folded`, `stepwise`) did, or why it did not happen, and the
//! limits it is checked against: the same on both backends, so the service reads one
//! outcome whichever took the write.

use diesel::QueryResult;

use crate::tasks::sync::journal::Written;
use crate::tasks::task::model::TaskRow;

/// Why a task write did not happen (the service says what each means to a client).
#[derive(Debug)]
pub(in crate::tasks) enum Refusal {
    /// The list a create names is not one of the viewer's.
    ListMissing,
    /// The parent a create names (or one of its ancestors) is not one of the viewer's tasks.
    ParentMissing,
    /// The parent a create names sits at `level` (`usize::MAX`: in a chain longer than the
    /// rules allow): a subtask under it would be too deep.
    TooDeep { parent: i64, level: usize },
    /// A subtask's create names `list`, not its parent's.
    NotParentsList { list: i64 },
    /// The viewer owns as many tasks as allowed.
    TaskCap,
    /// The write would give the viewer more different tags than allowed.
    TagCap,
    /// The write's precondition does not hold: the task as it is now.
    Stale(Box<TaskRow>),
    /// The viewer sees the task (or list) in a list shared with them, as a viewer: they may
    /// not write it.
    Forbidden,
    /// The assignee the write names is neither the owner of the task's list nor one of its
    /// members (in the inbox: not the task's owner).
    Assignee,
}

/// A task write's outcome: the database's error, or done, or refused.
pub(in crate::tasks) type Outcome<T> = QueryResult<Result<T, Refusal>>;

/// The limits a write is checked against (MAX_TASKS_PER_USER, MAX_TAGS_PER_USER, the
/// deepest a task may nest).
#[derive(Debug, Clone, Copy)]
pub(in crate::tasks) struct Limits {
    pub(in crate::tasks) tasks: u64,
    pub(in crate::tasks) tags: u64,
    pub(in crate::tasks) depth: usize,
}

/// What a create did.
pub(in crate::tasks) enum Created {
    Done(Box<Written>),
    /// Nothing written: the key after the last of the task's group would be too long (or
    /// that key is not one the server wrote). The service renumbers the group and creates
    /// again at the position it gives.
    NeedsRoom,
}

/// What an update or a completion did to an existing task.
pub(in crate::tasks) enum Changed {
    /// Written, or already as asked (a repeated completion): the row.
    Done(Written),
    /// Nothing written: the service decides the rest (a series, a move) and writes it
    /// ([`update_planned`]). The row, held until the transaction ends, when it was read.
    Pending(Option<TaskRow>),
}
