//! The per-owner advisory locks a write may take on PostgreSQL, each until its transaction
//! ends (SQLite runs one write transaction at a time and needs none), and their one order.
//!
//! - The **lists lock** serialises one owner's list writes (names, positions, deletion).
//! - The **placement lock** serialises what places or counts the owner's tasks: creates under
//!   the task cap, moves and renumbering, deletes of subtrees, writes that may add tags under
//!   the tag cap.
//!
//! A write that needs both takes the lists lock first: [`lock_owner`] takes the two in one
//! statement, in that order. A move or create may put a task in a list while that list's
//! deletion (which takes both) empties it; one order everywhere means no two writers of one
//! owner can deadlock. Advisory locks are re-entrant, so taking one again is harmless.
//!
//! **Keys.** An advisory lock is named by a number, not a string, so an owner id must be
//! hashed, and the key must keep kinds and owners apart: `hashtext` (32 bits) of
//! `'task_lists:' || owner` for one kind and of the bare owner for the other let a user named
//! `task_lists:alice` hold alice's lists lock, and 32 bits put a colliding pair among a few
//! hundred thousand ids. Each key is therefore one `bigint` (the one-argument lock): the top
//! two bits say the kind ([`LISTS`], [`PLACEMENT`]), so two kinds can never share a key
//! whatever the owners, and the other 62 bits are `hashtextextended(owner, 0)`, a 64-bit hash,
//! so two owners share one only by a 62-bit collision (about one chance in ten million among a
//! million users). Not the two-argument `(int4, int4)` form with a class per kind: its owner
//! half would still be 32 bits, and that space is the idempotency lock's, keyed by
//! `(hashtext(user), hashtext(key))` (`idempotency::store`). The migrations' lock
//! (`db::migrate`) is a small positive `bigint`: top bits `00`, a kind of its own.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::pg::PgConn;
use crate::db::{DbConn, PerStore};
use crate::tasks::visibility::owner;

/// The lists lock's kind: top bits `01`.
const LISTS: i64 = 1 << 62;
/// The placement lock's kind: top bits `10`.
const PLACEMENT: i64 = i64::MIN;
/// The bits of a key the owner's hash fills.
const OWNER_BITS: i64 = (1 << 62) - 1;

/// Takes the viewer's lists lock.
pub(in crate::tasks) async fn lock_lists(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> diesel::QueryResult<()> {
    conn.per_store(Lock(viewer, Locks::Lists)).await
}

/// Takes the viewer's lists lock, then their placement lock, in one round trip.
pub(in crate::tasks) async fn lock_owner(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> diesel::QueryResult<()> {
    conn.per_store(Lock(viewer, Locks::OwnerOf(None))).await
}

/// Takes the lists lock, then the placement lock, of the owner of task `task`: the viewer's
/// own, or, for an editor, the owner of the shared list it is in (so that the editor's move
/// and the owner's writes of that list are serialised by the same locks). The owner is read
/// in the same statement (as the viewer, under row security: a task they do not see locks
/// their own, and the write then finds no such task). One round trip, like [`lock_owner`].
pub(in crate::tasks) async fn lock_owner_of_task(
    conn: &mut DbConn,
    viewer: &AuthUser,
    task: i64,
) -> diesel::QueryResult<()> {
    conn.per_store(Lock(viewer, Locks::OwnerOf(Some(task))))
        .await
}

/// Takes the lists locks, then the placement locks, of every owner whose tasks the viewer
/// may write: their own and those of the lists where they are an editor (a write over all
/// of them: clearing completed tasks). Each kind in key order, the lists locks first: one
/// order for every writer that takes several, so two of them cannot deadlock, and a writer
/// taking one owner's two locks (lists, then placement) fits that order too.
pub(in crate::tasks) async fn lock_writable_owners(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> diesel::QueryResult<()> {
    conn.per_store(Lock(viewer, Locks::WritableOwners)).await
}

/// Which of the viewer's locks to take.
enum Locks {
    Lists,
    /// Lists, then placement, of a task's owner (with no task, the viewer).
    OwnerOf(Option<i64>),
    WritableOwners,
}

/// Locks taken for the viewer.
struct Lock<'a>(&'a AuthUser, Locks);

impl PerStore for Lock<'_> {
    type Output = diesel::QueryResult<()>;

    async fn postgres(self, conn: &mut PgConn) -> Self::Output {
        let Lock(viewer, locks) = self;
        let statement = match locks {
            Locks::Lists => {
                diesel::sql_query(
                    "SELECT pg_advisory_xact_lock((hashtextextended($1, 0) & $2) | $3)",
                )
                .bind::<Text, _>(owner(viewer))
                .bind::<BigInt, _>(OWNER_BITS)
                .bind::<BigInt, _>(LISTS)
                .execute(conn)
                .await
            }
            // One statement for both: with no task, the owner is the viewer.
            Locks::OwnerOf(task) => {
                diesel::sql_query(
                    "SELECT pg_advisory_xact_lock((hashtextextended(w.owner, 0) & $2) | $3), \
                        pg_advisory_xact_lock((hashtextextended(w.owner, 0) & $2) | $4) \
                 FROM (SELECT coalesce((SELECT t.user_id FROM tasks t WHERE t.id = $5), $1) \
                       AS owner) w",
                )
                .bind::<Text, _>(owner(viewer))
                .bind::<BigInt, _>(OWNER_BITS)
                .bind::<BigInt, _>(LISTS)
                .bind::<BigInt, _>(PLACEMENT)
                .bind::<Nullable<BigInt>, _>(task)
                .execute(conn)
                .await
            }
            Locks::WritableOwners => {
                diesel::sql_query(
                    "WITH owners AS ( \
                     SELECT $1::text AS owner \
                     UNION SELECT l.user_id FROM list_members m \
                           JOIN task_lists l ON l.id = m.list_id \
                           WHERE m.user_id = $1 AND m.role = 'editor'), \
                 keys AS (SELECT hashtextextended(owner, 0) & $2 AS k FROM owners) \
                 SELECT (SELECT count(pg_advisory_xact_lock(x.k)) \
                         FROM (SELECT k | $3 AS k FROM keys ORDER BY 1) x), \
                        (SELECT count(pg_advisory_xact_lock(y.k)) \
                         FROM (SELECT k | $4 AS k FROM keys ORDER BY 1) y)",
                )
                .bind::<Text, _>(owner(viewer))
                .bind::<BigInt, _>(OWNER_BITS)
                .bind::<BigInt, _>(LISTS)
                .bind::<BigInt, _>(PLACEMENT)
                .execute(conn)
                .await
            }
        };
        statement.map(drop)
    }

    /// One write transaction at a time (BEGIN IMMEDIATE): no lock to take.
    async fn sqlite(self, _conn: &mut DbConn) -> Self::Output {
        Ok(())
    }
}
