//! All task SQL, written once in diesel's DSL and expanded for each backend by [`db_run!`]:
//! task reads ([`query`]), task writes ([`write`]), the change journal and per-user change
//! counters behind sync and events ([`journal`]), stored idempotency outcomes
//! ([`idempotency`]), the maintenance jobs' SQL ([`maintenance`]), and the per-backend search
//! and title keys ([`keys`]).
//!
//! Every function takes the viewer and every statement is filtered by `tasks::visibility`
//! (the prune alone sees every user's rows, and says why): no function here can read or
//! change a task by id alone. Every function takes `&mut` the connection of the caller's unit
//! of work (`tasks::unit`) and none opens a transaction or checks a connection out: a write,
//! its journal entry and its NOTIFY commit together because the unit's transaction holds them.
//!
//! [`db_run!`]: crate::db_run

mod idempotency;
#[macro_use]
mod journal;
mod keys;
mod list_tasks;
pub(super) mod lists;
mod maintenance;
mod order;
mod query;
mod write;

pub(super) use idempotency::{
    count_keys, find_key, forget_expired_keys, forget_key, lock_key, save_key,
};
pub(super) use journal::{
    Written, changes_between, cursor, prunable, prune, prune_owner, prune_tombstones,
};
pub(super) use maintenance::{expired_tombstones, prune_expired_keys};
pub(super) use query::{count, find, find_for_event, find_many, list, stats};
pub(super) use write::{delete, delete_completed, insert, lock, set_completed, toggle, update};
