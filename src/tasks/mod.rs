//! The tasks domain, grouped by feature: each folder holds a feature's model, rules, service
//! functions and SQL. [`task`] is what a task is and its plain reads and writes (and
//! [`TaskService`], which REST and GraphQL both call and nothing below it); [`lists`] a user's
//! lists; [`sharing`] members, invites and assignees; [`tags`] the tag index; [`series`]
//! repeating tasks; [`order`] manual order, moves and subtasks; [`sync`] the change journal,
//! incremental sync and the prunes; `idempotency` keyed writes. Shared by all of them: the
//! viewer and who may see what (`visibility`), the unit of work (`unit`, with the per-owner
//! locks a write takes) and task events and their delivery ([`events`]). [`webhooks`] tells a
//! user's endpoints about the same changes (its own service, `WebhookService`).
//!
//! Two seams hold isolation: `visibility` says who may see a task (every statement of every
//! feature's SQL filters by it; RLS and shared lists plug in there), and `unit` is the one
//! place that checks a connection out for a viewer (one transaction per write; where
//! `app.user_id` will be set).
//!
//! The SQL is written once in diesel's DSL and expanded for each backend by [`db_run!`]. Every
//! SQL function takes the viewer (the prune alone sees every user's rows, and says why; the
//! write functions `service::folded` calls are given the viewer as `visibility::owner` names it,
//! and filter as it does): none can read or change a task by id alone. Every one takes `&mut`
//! the connection of the caller's unit of work and none opens a transaction or checks a
//! connection out: a write, its journal entry and its event payload (the database's
//! triggers') commit together because the unit's transaction holds them.
//!
//! [`db_run!`]: crate::db_run

pub mod events;
pub mod idempotency;
pub mod lists;
pub mod order;
pub mod reminders;
pub mod series;
pub mod service;
pub mod sharing;
pub mod sync;
pub mod tags;
pub mod task;
mod unit;
mod visibility;
pub mod webhooks;

pub use events::{EventRouter, EventStream, TaskEvent, TaskEventKind};
pub use lists::model::{
    List, ListColor, ListDeletion, ListPatch, ListPlacement, ListTasks, NewList,
};
pub use order::nested::{NestedAsk, NestedFound};
pub use order::tree::{MAX_DEPTH, MoveTask};
pub use service::reads::check_query as check_list_query;
pub use service::{ItemWrite, TaskService, Writer};
pub use sharing::{Invite, Member, Role};
pub use sync::TaskChangeSet;
pub use tags::TagCount;
pub use task::model::{
    Category, ListFilter, ListQuery, NewTask, Precondition, Priority, SortKey, SortOrder, Task,
    TaskPatch, TaskStats, TaskStatus,
};
pub use task::page::{Cursor, Page, PageRequest};
