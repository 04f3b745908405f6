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
//! `(hashtext(user), hashtext(key))` (`store::idempotency`). The migrations' lock
//! (`db::migrate`) is a small positive `bigint`: top bits `00`, a kind of its own.

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
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
    if let DbConn::Postgres(pooled) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock((hashtextextended($1, 0) & $2) | $3)")
            .bind::<Text, _>(owner(viewer))
            .bind::<BigInt, _>(OWNER_BITS)
            .bind::<BigInt, _>(LISTS)
            .execute(&mut **pooled)
            .await?;
    }
    Ok(())
}

/// Takes the viewer's lists lock, then their placement lock, in one round trip.
pub(in crate::tasks) async fn lock_owner(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> diesel::QueryResult<()> {
    if let DbConn::Postgres(pooled) = conn {
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock((hashtextextended($1, 0) & $2) | $3), \
                    pg_advisory_xact_lock((hashtextextended($1, 0) & $2) | $4)",
        )
        .bind::<Text, _>(owner(viewer))
        .bind::<BigInt, _>(OWNER_BITS)
        .bind::<BigInt, _>(LISTS)
        .bind::<BigInt, _>(PLACEMENT)
        .execute(&mut **pooled)
        .await?;
    }
    Ok(())
}
