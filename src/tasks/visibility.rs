//! Who may see a task: written once, here. Every query of the tasks store filters by
//! [`visible_to`] (tasks), [`journal_visible_to`] (the change journal, `task_changes`) or
//! [`cursor_of`] (the per-user change counter, `task_sync_cursors`); the event router and the
//! NOTIFY payload deliver an event about a task to [`audience`] of its owner, and a subscriber
//! listens on [`inbox`]. No other file of the tasks SQL names an owner column in a filter.
//!
//! Today a task is visible to its owner only. This module is where the next walls plug in:
//! - **PostgreSQL row-level security** (the second wall, DESIGN rule 3): the policies on
//!   these three tables say the same thing as these functions (`user_id =
//!   current_setting('app.user_id')`), set per transaction by the unit of work
//!   (`tasks::unit`). These filters stay: they keep the query plans on the owner indexes and
//!   keep SQLite, which has no RLS, isolated.
//! - **Shared lists**: "visible to" grows from "owned by" to "owned by, or in a list shared
//!   with" (an `EXISTS` over the membership table), and [`audience`] from the owner to the
//!   list's members; the store's callers do not change. PostgreSQL's write functions
//!   (migration 000050, called by `store::folded`) filter by the owner they are given, as the
//!   policies do: they grow with them.
//!
//! It must not grow other rules (validation, limits): only who sees which rows and events.

use diesel::dsl;
use diesel::prelude::*;

use crate::auth::AuthUser;
use crate::db::schema::{
    idempotency_keys, list_changes, task_changes, task_lists, task_sync_cursors, task_tags, tasks,
};

/// The filter "tasks this viewer may see".
pub(super) type VisibleTasks<'a> = dsl::Eq<tasks::user_id, &'a str>;

/// The filter on `tasks` for the rows `viewer` may see (and so read, change or delete).
pub(super) fn visible_to(viewer: &AuthUser) -> VisibleTasks<'_> {
    tasks_seen_by(viewer.id())
}

/// The same filter for the event relay, which re-reads a task too large for its NOTIFY
/// payload on behalf of a member of the event's [`audience`]. That id comes from our own
/// payload (written inside a verified user's transaction), never from a client.
pub(super) fn visible_to_member(member: &str) -> VisibleTasks<'_> {
    tasks_seen_by(member)
}

/// The tasks `viewer` owns: what the per-user task cap counts. Today the same rows as
/// [`visible_to`]; with shared lists, a subset of them.
pub(super) fn owned_by(viewer: &AuthUser) -> VisibleTasks<'_> {
    tasks_seen_by(owner(viewer))
}

fn tasks_seen_by(viewer_id: &str) -> VisibleTasks<'_> {
    tasks::user_id.eq(viewer_id)
}

/// The filter on `task_lists` for the lists `viewer` may see (and so read, change, delete,
/// or put tasks in): their own. With shared lists, this grows with [`visible_to`].
pub(super) fn lists_visible_to(viewer: &AuthUser) -> dsl::Eq<task_lists::user_id, &str> {
    lists_visible_to_member(viewer.id())
}

/// The same filter for the event relay, reading lists on behalf of a member of an event's
/// [`audience`] (as [`visible_to_member`]).
pub(super) fn lists_visible_to_member(member: &str) -> dsl::Eq<task_lists::user_id, &str> {
    task_lists::user_id.eq(member)
}

/// The filter on the change journal (`task_changes`): the entries about tasks `viewer` sees.
pub(super) fn journal_visible_to(viewer: &AuthUser) -> dsl::Eq<task_changes::user_id, &str> {
    journal_of_owner(viewer.id())
}

/// The filter on the tag index (`task_tags`): the tags of the tasks `viewer` sees.
pub(super) fn tags_visible_to(viewer: &AuthUser) -> dsl::Eq<task_tags::user_id, &str> {
    task_tags::user_id.eq(viewer.id())
}

/// The filter on stored idempotency outcomes: the keys `viewer` sent (keys belong to the
/// user who sends them, whoever owns the tasks written).
pub(super) fn keys_of(viewer: &AuthUser) -> dsl::Eq<idempotency_keys::user_id, &str> {
    idempotency_keys::user_id.eq(key_owner(viewer))
}

/// Whose idempotency keys a viewer's requests use and store: the viewer's own.
pub(super) fn key_owner(viewer: &AuthUser) -> &str {
    viewer.id()
}

/// The filter on the change counters (`task_sync_cursors`): `viewer`'s own counter.
pub(super) fn cursor_of(viewer: &AuthUser) -> dsl::Eq<task_sync_cursors::user_id, &str> {
    counter_of_owner(viewer.id())
}

/// The journal entries recorded for `owner`: for the scheduled tombstone prune, a maintenance
/// job that takes each owner from the journal itself (never from a client).
pub(super) fn journal_of_owner(owner: &str) -> dsl::Eq<task_changes::user_id, &str> {
    task_changes::user_id.eq(owner)
}

/// The list journal entries (`list_changes`) recorded for `owner`: for sync, the event relay
/// (both of a viewer's or an audience member's own journal) and the scheduled prune.
pub(super) fn list_journal_of_owner(owner: &str) -> dsl::Eq<list_changes::user_id, &str> {
    list_changes::user_id.eq(owner)
}

/// `owner`'s change counter, for the same job.
pub(super) fn counter_of_owner(owner: &str) -> dsl::Eq<task_sync_cursors::user_id, &str> {
    task_sync_cursors::user_id.eq(owner)
}

/// The owner recorded on a row `viewer` writes (a new task, its journal entry, its counter).
/// Ownership is not visibility: with shared lists a member sees tasks they do not own, and a
/// task still has exactly one owner, whose counter numbers its changes.
pub(super) fn owner(viewer: &AuthUser) -> &str {
    viewer.id()
}

/// Who receives the events about a task owned by `task_owner`: the users whose [`inbox`] the
/// event router delivers them to, on every instance (the NOTIFY payload carries the owner;
/// each instance's router asks this function). Today the owner alone.
pub(super) fn audience(task_owner: &str) -> impl Iterator<Item = &str> {
    std::iter::once(task_owner)
}

/// The event channel `viewer`'s subscriptions listen on (and count against the per-user cap).
pub(super) fn inbox(viewer: &AuthUser) -> &str {
    viewer.id()
}

#[cfg(test)]
mod tests {
    /// The store names an owner column only to record the owner of a row it inserts
    /// (`user_id.eq(owner)`); every filter goes through this module.
    #[test]
    fn the_store_filters_by_owner_only_through_this_module() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tasks/store");
        let mut files = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let compact: String = text.split_whitespace().collect();
            let named = compact.matches("user_id.eq(").count();
            let recorded = compact.matches("user_id.eq(owner)").count();
            assert_eq!(
                named,
                recorded,
                "{} filters by owner itself",
                path.display()
            );
            assert!(
                !compact.contains(".id())"),
                "{} reads a user id",
                path.display()
            );
            files += 1;
        }
        assert!(files >= 4);
    }
}
