//! The per-owner advisory locks a write may take on PostgreSQL, each until its transaction
//! ends (SQLite runs one write transaction at a time and needs none), and their one order.
//!
//! - The **lists lock** serialises one owner's list writes (names, positions, deletion).
//! - The **placement lock** (keyed by the owner alone) serialises what places or counts the
//!   owner's tasks: creates under the task cap, moves and renumbering, deletes of subtrees,
//!   writes that may add tags under the tag cap.
//!
//! A write that needs both takes the lists lock first: [`lock_owner`] takes the two in one
//! statement, in that order. A move or create may put a task in a list while that list's
//! deletion (which takes both) empties it; one order everywhere means no two writers of one
//! owner can deadlock. Advisory locks are re-entrant, so taking one again is harmless.

use diesel_async::RunQueryDsl;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::tasks::visibility::owner;

/// The lists lock's key (the placement lock's is the owner id).
fn lists_key(viewer: &AuthUser) -> String {
    format!("task_lists:{}", owner(viewer))
}

/// Takes the viewer's lists lock.
pub(in crate::tasks) async fn lock_lists(
    conn: &mut DbConn,
    viewer: &AuthUser,
) -> diesel::QueryResult<()> {
    if let DbConn::Postgres(pooled) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(lists_key(viewer))
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
            "SELECT pg_advisory_xact_lock(hashtext($1)), pg_advisory_xact_lock(hashtext($2))",
        )
        .bind::<diesel::sql_types::Text, _>(lists_key(viewer))
        .bind::<diesel::sql_types::Text, _>(owner(viewer))
        .execute(&mut **pooled)
        .await?;
    }
    Ok(())
}
