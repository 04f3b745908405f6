//! A transaction pooler nobody declared (issue 40), found out by what PostgreSQL answers a
//! named statement: `prepared statement "s5" does not exist` (kept on one server connection,
//! run on another) or `… already exists` (another client's name on the lent one). Directly,
//! neither can happen (names are unique per process, and a kept statement lives as long as
//! its connection), so either proves a pooler that lends server connections per transaction.
//!
//! From the first proof on, every connection of the pools on that `DATABASE_URL` names no
//! statement (`PgConn`), reads stop sharing connections (`db::shared_reads`), `/readyz` says
//! `pooler: undeclared`, and the log warns once, naming the setting that declares it. The
//! statement that hit it runs again unnamed (`PgConn`, within a read) or its unit of work
//! does (`tasks::unit`, for a transaction, which the failure aborted: nothing committed).

use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::error::SqlState;

/// Whether the pools on one `DATABASE_URL` found it to be a transaction pooler. Shared by
/// every pool the deployment's routes open (`db::PgRoutes`), and by their connections.
#[derive(Debug, Default)]
pub struct Undeclared {
    found: AtomicBool,
}

impl Undeclared {
    /// Whether a named statement's failure proved a transaction pooler.
    pub fn found(&self) -> bool {
        self.found.load(Ordering::Relaxed)
    }

    /// Records the proof `error`; the first one is logged, with the setting that declares it.
    pub(super) fn prove(&self, error: &tokio_postgres::Error) {
        if self.found.swap(true, Ordering::Relaxed) {
            return;
        }
        // tokio-postgres shows a database's error as "db error": its message is the proof.
        let proof = error
            .as_db_error()
            .map_or_else(|| error.to_string(), |db| db.message().to_owned());
        tracing::warn!(
            setting = "DATABASE_DIRECT_URL",
            error = %proof,
            "DATABASE_URL is a transaction pooler (PostgreSQL lost or mixed up a prepared \
             statement between transactions) and nothing declared it: from now on no statement \
             is named and reads share no connection, and the request that met it runs again. \
             Set DATABASE_DIRECT_URL to the direct (non-pooler) connection string: it declares \
             the pooler from the start, and the event listener (LISTEN) needs it"
        );
    }
}

/// Whether `error`, the answer to a named statement, proves a transaction pooler.
pub(super) fn proves_a_pooler(error: &tokio_postgres::Error) -> bool {
    let Some(db) = error.as_db_error() else {
        return false;
    };
    match *db.code() {
        // `prepared statement "s5" does not exist`, `… already exists`.
        SqlState::INVALID_SQL_STATEMENT_NAME | SqlState::DUPLICATE_PSTATEMENT => true,
        // Bound to another client's statement of the same name: `bind message supplies 2
        // parameters, but prepared statement "s5" requires 1`.
        SqlState::PROTOCOL_VIOLATION => db.message().contains("prepared statement"),
        _ => false,
    }
}
