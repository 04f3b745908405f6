//! All task SQL, written once in diesel's DSL and expanded for each backend by [`db_run!`]:
//! task reads ([`query`]), task writes ([`write`]), the change journal and per-user change
//! counters behind sync and events ([`journal`]), stored idempotency outcomes
//! ([`idempotency`]), the maintenance jobs' SQL ([`maintenance`]), and the per-backend search
//! and title keys ([`keys`]), and the tag index ([`tags`]).
//!
//! Every function takes the viewer and every statement is filtered by `tasks::visibility`
//! (the prune alone sees every user's rows, and says why): no function here can read or
//! change a task by id alone. Every function takes `&mut` the connection of the caller's unit
//! of work (`tasks::unit`) and none opens a transaction or checks a connection out: a write,
//! its journal entry and its NOTIFY (the database's triggers') commit together because the
//! unit's transaction holds them.
//!
//! [`db_run!`]: crate::db_run

mod idempotency;
mod journal;
mod keys;
mod list_tasks;
pub(super) mod lists;
mod locks;
mod maintenance;
mod moves;
mod order;
mod query;
mod tags;
mod write;

pub(super) use idempotency::{
    count_keys, find_key, forget_expired_keys, forget_key, lock_key, save_key,
};
pub(super) use journal::{
    Entity, Written, changes_between, changes_for_member, cursor, prunable, prune, prune_owner,
    prune_tombstones,
};
pub(super) use locks::{lock_lists, lock_owner};
pub(super) use maintenance::{expired_tombstones, prune_expired_keys};
pub(super) use moves::{Placement, children_of, completed_ids, delete_all, group, place};
pub(super) use order::group_end;
pub(super) use query::{
    count, find, find_many, find_many_for_event, find_read, list, stats, subtasks_of,
};
pub(super) use tags::{
    any_new, distinct, forget_tag, index as index_tags, rename_tag, retag, spellings, tagged,
};
pub(super) use write::{SeriesWrite, insert, lock, set_completed, toggle, update};
