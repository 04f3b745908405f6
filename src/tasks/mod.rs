//! The tasks domain: what a task is ([`model`]), the rules for changing one ([`service`]),
//! keyset paging ([`page`]) and all task SQL ([`store`]). REST and GraphQL both call
//! [`TaskService`] and nothing below it.

pub mod events;
pub mod model;
pub mod page;
pub mod service;
mod store;
pub mod time;

pub use events::{EventRouter, EventStream, TaskEvent, TaskEventKind};
pub use model::{
    Category, ListQuery, NewTask, Priority, SortKey, SortOrder, Task, TaskPatch, TaskStats,
    TaskStatus,
};
pub use page::{Cursor, Page, PageRequest};
pub use service::{TaskChangeSet, TaskService};
