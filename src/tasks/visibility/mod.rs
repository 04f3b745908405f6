//! Who may see a task: written once, here. Every query of the tasks store filters by
//! [`visible_to`] (tasks), [`journal_visible_to`] (the change journal, `task_changes`) or
//! [`cursor_of`] (the per-user change counter, `task_sync_cursors`); the event router and the
//! NOTIFY payload deliver an event about a task to [`audience`] of its owner, and a subscriber
//! listens on [`inbox`]. No other file of the tasks SQL names an owner column in a filter.
//!
//! A task is visible to its owner and to the members of the list it is in (issue 29), and
//! writable by its owner and the list's editors. The walls:
//! - **PostgreSQL row-level security** (the second wall, docs/ARCHITECTURE.md rule 3): the policies on
//!   these three tables say the same thing as these functions (`user_id =
//!   current_setting('app.user_id')`), set per transaction by the unit of work
//!   (`tasks::unit`). These filters stay: they keep the query plans on the owner indexes and
//!   keep SQLite, which has no RLS, isolated.
//! - **Shared lists**: "visible to" is "owned by, or in a list shared with" (`list_id IN` the
//!   viewer's `list_members` rows), the policies of migration 000060 the same (the viewer's
//!   lists looked up once per statement, `app_member_lists()`). PostgreSQL's write functions
//!   (migration 000050, called by `service::folded`) filter by the owner they are given.
//!
//! It must not grow other rules (validation, limits): only who sees which rows and events.

use diesel::dsl;
use diesel::prelude::*;
use diesel::query_source::AliasedField;

mod fragments;

pub(super) use self::fragments::{ForEachSharedList, InListsOf, InMembershipList, TagOwnersSeenBy};

use crate::auth::AuthUser;
use crate::db::schema::{
    idempotency_keys, list_changes, list_members, task_changes, task_lists, task_sync_cursors,
    task_tags, tasks, webhook_attempts, webhook_deliveries, webhooks,
};

/// The member roles that read a shared list's tasks.
const READERS: &[&str] = &["editor", "viewer"];
/// The member roles that write them (the task keeps its owner: `stepwise` and the write
/// functions of migration 000061 resolve it).
const WRITERS: &[&str] = &["editor"];

fn shared_lists<'a>(user: &'a str, roles: &'a [&'a str]) -> InListsOf<'a, task_lists::id> {
    InListsOf {
        column: task_lists::id,
        user,
        roles,
    }
}

/// The filter "tasks this viewer may see" (or write): their own, and those in the lists
/// shared with them in a role that may.
pub(super) type VisibleTasks<'a> =
    dsl::Or<dsl::Eq<tasks::user_id, &'a str>, InListsOf<'a, tasks::list_id>>;

/// The filter on `tasks` for the rows `viewer` may see: their own and those of the lists
/// shared with them (any role).
pub(super) fn visible_to(viewer: &AuthUser) -> VisibleTasks<'_> {
    tasks_seen_by(viewer.id(), READERS)
}

/// The filter on `tasks` for the rows `viewer` may change or delete: their own and those of
/// the lists where they are an editor. A row [`visible_to`] them but not writable is a 403,
/// not a 404 (they know it exists).
pub(super) fn writable_by(viewer: &AuthUser) -> VisibleTasks<'_> {
    tasks_seen_by(viewer.id(), WRITERS)
}

/// The viewer's own tasks: the first of [`visible_parts`].
pub(super) type OwnTasks<'a> = dsl::Eq<tasks::user_id, &'a str>;
/// Other owners' tasks in one list shared with the viewer, the list of the membership row
/// [`for_each_shared_list`] reads a query for: the second of [`visible_parts`].
pub(super) type OthersInSharedList<'a> =
    dsl::And<dsl::NotEq<tasks::user_id, &'a str>, InMembershipList>;

/// [`visible_to`] in two disjoint parts, for a page read as two ordered branches
/// (`task::query::list`): the viewer's own tasks, and the other owners' tasks in the lists
/// shared with them, read list by list ([`for_each_shared_list`]). Each part alone can be read
/// in the order of an index and stop at the page; their OR cannot (PostgreSQL reads every task
/// of the viewer and sorts them).
pub(super) fn visible_parts(viewer: &AuthUser) -> (OwnTasks<'_>, OthersInSharedList<'_>) {
    let id = viewer.id();
    (
        tasks::user_id.eq(id),
        tasks::user_id.ne(id).and(InMembershipList),
    )
}

/// `query`, a query on `tasks` filtered by the second of [`visible_parts`], read for each
/// list shared with `viewer` (any role), ordered by `order` (positions in its select list) and
/// cut at `limit`, on PostgreSQL: what admits the rows of that part.
pub(super) fn for_each_shared_list<Q, O>(
    viewer: &AuthUser,
    query: Q,
    order: O,
    limit: i64,
) -> ForEachSharedList<'_, Q, O> {
    ForEachSharedList {
        query,
        user: viewer.id(),
        roles: READERS,
        order,
        limit,
    }
}

/// The other owners' tasks in the lists shared with `viewer` (any role): [`visible_to`] but
/// the viewer's own, for a count of the whole visible set that takes the viewer's own from
/// the database's `task_counts` (`task::query::count`). Served by the `tasks_list` index.
pub(super) fn others_visible_to(viewer: &AuthUser) -> OthersVisible<'_> {
    let id = viewer.id();
    tasks::user_id.ne(id).and(InListsOf {
        column: tasks::list_id,
        user: id,
        roles: READERS,
    })
}

diesel::define_sql_function! {
    /// An owner's task count as the database keeps it (`task_counts`, for any writer: the
    /// triggers beside `task/counts/owner_task_count.sql`); the viewer's own only.
    fn owner_task_count(owner: diesel::sql_types::Text) -> diesel::sql_types::BigInt;
}

/// The number of the viewer's own tasks, as PostgreSQL keeps it: the rest of
/// [`others_visible_to`]'s count.
pub(super) fn own_task_count(viewer: &AuthUser) -> owner_task_count<&str> {
    owner_task_count(viewer.id())
}

/// What [`others_visible_to`] gives.
pub(super) type OthersVisible<'a> =
    dsl::And<dsl::NotEq<tasks::user_id, &'a str>, InListsOf<'a, tasks::list_id>>;

/// The same filter for the event relay, which re-reads a task too large for its NOTIFY
/// payload on behalf of a member of the event's [`audience`]. That id comes from our own
/// payload (written inside a verified user's transaction), never from a client.
pub(super) fn visible_to_member(member: &str) -> VisibleTasks<'_> {
    tasks_seen_by(member, READERS)
}

/// The tasks `task_owner` owns: what the per-user task cap counts (tasks in lists shared with
/// a user count against their owners). The owner comes from the row of a list or task the
/// writer may write (their own, or an editor's shared list's owner).
pub(super) fn owned_by_user(task_owner: &str) -> dsl::Eq<tasks::user_id, &str> {
    tasks::user_id.eq(task_owner)
}

/// Who a write is made by: recorded as a new task's `created_by`.
pub(super) fn actor(viewer: &AuthUser) -> &str {
    viewer.id()
}

fn tasks_seen_by<'a>(viewer_id: &'a str, roles: &'a [&'a str]) -> VisibleTasks<'a> {
    tasks::user_id.eq(viewer_id).or(InListsOf {
        column: tasks::list_id,
        user: viewer_id,
        roles,
    })
}

/// The filter "lists this viewer may see".
pub(super) type VisibleLists<'a> =
    dsl::Or<dsl::Eq<task_lists::user_id, &'a str>, InListsOf<'a, task_lists::id>>;

/// The filter on `task_lists` for the lists `viewer` may see (and filter tasks by): their
/// own and the ones shared with them.
pub(super) fn lists_visible_to(viewer: &AuthUser) -> VisibleLists<'_> {
    lists_visible_to_member(viewer.id())
}

/// The same filter for the event relay, reading lists on behalf of a member of an event's
/// [`audience`] (as [`visible_to_member`]).
pub(super) fn lists_visible_to_member(member: &str) -> VisibleLists<'_> {
    task_lists::user_id
        .eq(member)
        .or(shared_lists(member, READERS))
}

/// The filter on `task_lists` for the lists `viewer` owns: the only ones they may rename,
/// move, delete or share.
pub(super) fn lists_owned_by(viewer: &AuthUser) -> dsl::Eq<task_lists::user_id, &str> {
    task_lists::user_id.eq(owner(viewer))
}

/// The filter on `task_lists` for the lists `viewer` may put tasks in: their own and the
/// ones where they are an editor.
pub(super) fn lists_writable_by(viewer: &AuthUser) -> VisibleLists<'_> {
    task_lists::user_id
        .eq(viewer.id())
        .or(shared_lists(viewer.id(), WRITERS))
}

// `list_members` joined to a list for its reader's role (an alias: the visibility filter's
// subquery reads `list_members` itself).
diesel::alias! {
    pub(super) const OWN_MEMBERSHIP: Alias<OwnMembership> = list_members as own_membership;
}

/// The join condition "this list's membership row of this user".
pub(super) type Memberships<'a> = dsl::And<
    dsl::Eq<AliasedField<OwnMembership, list_members::list_id>, task_lists::id>,
    dsl::Eq<AliasedField<OwnMembership, list_members::user_id>, &'a str>,
>;

/// The viewer's own membership row of each list (whatever the list): what gives it a role.
pub(super) fn memberships_of(viewer: &AuthUser) -> Memberships<'_> {
    memberships_of_member(viewer.id())
}

/// The same rows of a member of an event's audience (an id from our own journal, never a
/// client's word).
pub(super) fn memberships_of_member(member: &str) -> Memberships<'_> {
    OWN_MEMBERSHIP
        .field(list_members::list_id)
        .eq(task_lists::id)
        .and(OWN_MEMBERSHIP.field(list_members::user_id).eq(member))
}

/// The role column of that joined row.
pub(super) fn own_role() -> AliasedField<OwnMembership, list_members::role> {
    OWN_MEMBERSHIP.field(list_members::role)
}

/// One membership row: `user` on `list`. The store looks one up only after the list's
/// owner or the user themself was checked (`tasks::sharing::members`).
pub(super) fn member_row(
    list: i64,
    user: &str,
) -> dsl::And<dsl::Eq<list_members::list_id, i64>, dsl::Eq<list_members::user_id, &str>> {
    list_members::list_id
        .eq(list)
        .and(list_members::user_id.eq(user))
}

/// Every membership row of `list` (a list the caller sees: checked first).
pub(super) fn members_of(list: i64) -> dsl::Eq<list_members::list_id, i64> {
    list_members::list_id.eq(list)
}

/// The filter on the change journal (`task_changes`): the entries about tasks `viewer` sees.
pub(super) fn journal_visible_to(viewer: &AuthUser) -> dsl::Eq<task_changes::user_id, &str> {
    journal_of_owner(viewer.id())
}

/// The filter on the tag index (`task_tags`): the rows of the tasks `viewer` owns (a task's
/// rows are its owner's), for their tag counts, renames and deletes, and the tag filters of
/// the first of [`visible_parts`]. The list's other tag filters match the tasks of every owner
/// the viewer sees ([`tag_owners_seen_by`]).
pub(super) fn tags_visible_to(viewer: &AuthUser) -> dsl::Eq<task_tags::user_id, &str> {
    tags_of_owner(viewer.id())
}

/// The filter on the tag index (`task_tags`) for the rows of every owner whose tasks `viewer`
/// may see: the viewer, and the owners of the lists shared with them (any role). The list's
/// tag filters take a task's id from these rows (a task's rows are its owner's, whoever views
/// or wrote them), so a member's filter matches a shared list's tasks as the owner's does. It
/// admits no task by itself: which tasks are seen is the outer query's filter ([`visible_to`]
/// or one of [`visible_parts`]); on PostgreSQL the policy on `task_tags` lets a member read the
/// rows of the tasks in their lists. The owners are one InitPlan (PostgreSQL) or subquery
/// (SQLite), so the `(user_id, tag_key)` index serves the rows: a task-by-task probe of the
/// tag index scanned every user's tag rows (52 ms for a count over 10,000 tasks, measured).
pub(super) fn tag_owners_seen_by(viewer: &AuthUser) -> TagOwnersSeenBy<'_> {
    TagOwnersSeenBy {
        user: viewer.id(),
        roles: READERS,
    }
}

/// The tag index rows of `task_owner`'s tasks, for writing one task's tags (SQLite's
/// `service::folded::stepwise`): they are its owner's whoever writes them (an editor of a shared list),
/// as PostgreSQL's `index_task_tags` writes them. The owner comes from the row just written,
/// never from a client.
pub(super) fn tags_of_owner(task_owner: &str) -> dsl::Eq<task_tags::user_id, &str> {
    task_tags::user_id.eq(task_owner)
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

/// The filter on `webhooks` for `viewer`'s own webhooks (a webhook is never shared).
pub(super) fn webhooks_of(viewer: &AuthUser) -> dsl::Eq<webhooks::user_id, &str> {
    webhooks::user_id.eq(viewer.id())
}

/// The filter on `webhook_deliveries` for the messages of `viewer`'s webhooks.
pub(super) fn webhook_deliveries_of(
    viewer: &AuthUser,
) -> dsl::Eq<webhook_deliveries::user_id, &str> {
    webhook_deliveries::user_id.eq(viewer.id())
}

/// The filter on `webhook_attempts` for the attempts of `viewer`'s webhooks.
pub(super) fn webhook_attempts_of(viewer: &AuthUser) -> dsl::Eq<webhook_attempts::user_id, &str> {
    webhook_attempts::user_id.eq(viewer.id())
}

/// The filter on `webhooks` for the webhooks of `users` (the recipients of a reminder, named
/// by the reminder's own transaction, not by a client).
pub(super) fn webhooks_of_users(users: &[String]) -> dsl::EqAny<webhooks::user_id, &[String]> {
    webhooks::user_id.eq_any(users)
}

#[cfg(test)]
mod tests;
