//! The tasks domain: what a task is ([`model`]), the rules for changing one ([`service`]),
//! incremental sync and live catch-up ([`sync`]), task events and their delivery ([`events`]),
//! keyset paging ([`page`]) and all task SQL (`store`). REST and GraphQL both call
//! [`TaskService`] and nothing below it.
//!
//! Two seams hold isolation: `visibility` says who may see a task (every store query filters
//! by it; RLS and shared lists plug in there), and `unit` is the one place that checks a
//! connection out for a viewer (one transaction per write; where `app.user_id` will be set).

mod changes;
mod conditional;
pub mod events;
mod idempotency;
mod invites;
mod keys;
mod list_checks;
pub mod list_model;
mod lists;
mod members;
pub mod model;
mod moves;
mod nested;
pub use nested::{NestedAsk, NestedFound};
pub use reads::check_query as check_list_query;
pub mod page;
pub mod position;
mod prune;
mod reads;
pub mod recurrence;
mod rules;
mod series;
pub mod service;
pub mod sharing;
mod stamp;
mod stats;
mod store;
pub mod sync;
pub mod tag_rules;
mod tags;
pub(crate) mod task;
pub mod time;
mod tree;
mod unit;
mod visibility;

pub use events::{EventRouter, EventStream, TaskEvent, TaskEventKind};
pub use list_model::{List, ListColor, ListDeletion, ListPatch, ListPlacement, ListTasks, NewList};
pub use model::{
    Category, ListFilter, ListQuery, NewTask, Precondition, Priority, SortKey, SortOrder, Task,
    TaskPatch, TaskStats, TaskStatus,
};
pub use page::{Cursor, Page, PageRequest};
pub use service::TaskService;
pub use sharing::{Invite, Member, Role};
pub use sync::TaskChangeSet;
pub use tags::TagCount;
pub use tree::{MAX_DEPTH, MoveTask};
