//! All task SQL, written once in diesel's DSL and expanded for each backend by [`db_run!`]:
//! task reads ([`query`]), task writes ([`write`]; the plain ones the service asks for in
//! [`folded`], one statement each on PostgreSQL, a call of a function the migrations own,
//! and SQLite's same steps one at a time in [`stepwise`]), the change journal and per-user
//! change counters behind sync and events ([`journal`]), stored idempotency outcomes
//! ([`idempotency`]), the maintenance jobs' SQL ([`maintenance`]), and the per-backend search
//! and title keys ([`keys`]), and the tag index ([`tags`]).
//!
//! Every function takes the viewer and every statement is filtered by `tasks::visibility`
//! (the prune alone sees every user's rows, and says why; the write functions [`folded`]
//! calls are given the viewer as `visibility::owner` names it, and filter as it does): no
//! function here can read or change a task by id alone. Every function takes `&mut` the
//! connection of the caller's unit of work (`tasks::unit`) and none opens a transaction or
//! checks a connection out: a write, its journal entry and its event payload (the database's
//! triggers') commit together because the unit's transaction holds them.
//!
//! [`db_run!`]: crate::db_run

mod assignees;
mod folded;
mod idempotency;
pub(super) mod invites;
mod journal;
mod keys;
pub(super) mod list_reads;
mod list_tasks;
pub(super) mod lists;
mod locks;
mod maintenance;
pub(super) mod members;
mod moves;
mod order;
mod outcome;
mod query;
mod stepwise;
mod tags;
mod write;

pub(super) use folded::{complete, create, delete, update, update_planned};
pub(super) use idempotency::{Claim, claim_key, save_key};
pub(super) use journal::{
    Entity, Written, changes_between, changes_for_member, cursor, drain_touched, forget_touched,
    prunable, prune, prune_owner, prune_tombstones,
};
pub(super) use locks::{lock_lists, lock_owner_of_task, lock_writable_owners};
pub(super) use maintenance::{
    counters_of, expired_tombstones, prune_dead_invites, prune_expired_keys,
};
pub(super) use moves::{
    Placement, children_of, completed_ids, delete_all, group, level, place, subtree,
};
pub(super) use order::group_end;
pub(super) use outcome::{Changed, Created, Limits, Refusal};
pub(super) use query::{
    count, find, find_many, find_many_for_event, find_read, find_seen, list, stats, subtasks_of,
};
pub(super) use tags::{forget_tag, rename_tag, retag, spellings, tagged};
pub(super) use write::{SeriesWrite, lock, set_completed, toggle};
