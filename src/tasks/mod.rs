//! The tasks domain: what a task is ([`model`]), the rules for changing one ([`service`]) and
//! all task SQL ([`store`]). REST and GraphQL both call [`TaskService`] and nothing below it.

pub mod events;
pub mod model;
pub mod service;
mod store;

pub use events::{EventRouter, EventStream, TaskEvent, TaskEventKind};
pub use model::{ListQuery, NewTask, SortKey, SortOrder, Task, TaskPatch, TaskStatus};
pub use service::{TaskChangeSet, TaskService};
