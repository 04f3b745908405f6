//! What a database error means for the client, decided once: a connection lost or a server
//! going away (503, retry), a statement stopped by STATEMENT_TIMEOUT (503, the query took too
//! long), storage that cannot take writes (503, storage unavailable; `/readyz` follows, see
//! `db::health`), anything else a bug (500).
//!
//! diesel exposes neither the SQLSTATE nor SQLite's result code, only a kind and the message,
//! so the messages are matched: SQLite's are fixed English; PostgreSQL's are its default
//! English (`lc_messages`), with kinds used where diesel has one.

use diesel::result::{DatabaseErrorKind, Error};

use crate::error::AppError;

/// Turns diesel errors into `AppError`s.
pub struct StorageFailure;

impl StorageFailure {
    /// The `AppError` a database error becomes.
    pub fn classify(error: Error) -> AppError {
        let error = match error {
            // A commit that failed and whose rollback failed too: what the commit met decides.
            Error::RollbackErrorOnCommit { commit_error, .. } => *commit_error,
            // A connection left inside a transaction it can no longer end (a statement
            // stopped under it): the request did not happen and may be retried.
            Error::BrokenTransactionManager => {
                return AppError::Unavailable(error.to_string());
            }
            error => error,
        };
        let Error::DatabaseError(kind, info) = &error else {
            return AppError::Internal(error.to_string());
        };
        let message = info.message();
        match kind {
            // The connection died under us (database restarted, network cut): the request
            // can be retried, so it is a 503, not a bug.
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                AppError::Unavailable(error.to_string())
            }
            // PostgreSQL: a read-only database (hot standby, default_transaction_read_only).
            DatabaseErrorKind::ReadOnlyTransaction => {
                AppError::StorageUnavailable(error.to_string())
            }
            // SQLite gave up waiting for the write lock after busy_timeout.
            _ if message.contains("database is locked") => AppError::Unavailable(error.to_string()),
            // PostgreSQL is ending or refusing sessions (shutdown, restart, failover: SQLSTATE
            // class 57). The request may be retried once it is back, so 503, not a bug.
            _ if server_going_away(message) => AppError::Unavailable(error.to_string()),
            _ if timed_out(message) => AppError::QueryTimeout,
            _ if storage_refuses(message) => AppError::StorageUnavailable(error.to_string()),
            _ => AppError::Internal(error.to_string()),
        }
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        StorageFailure::classify(error)
    }
}

/// PostgreSQL's messages for SQLSTATE 57P01–57P03 (admin shutdown, crash shutdown, cannot
/// connect now).
fn server_going_away(message: &str) -> bool {
    message.starts_with("terminating connection due to")
        || message.starts_with("terminating connection because of crash")
        || message.starts_with("the database system is")
}

/// A statement stopped for its time: PostgreSQL's `statement_timeout` (57014), SQLite's
/// interrupt by the budget's progress handler (SQLITE_INTERRUPT).
fn timed_out(message: &str) -> bool {
    message == "canceling statement due to statement timeout" || message == "interrupted"
}

/// Storage that cannot take a write. SQLite: SQLITE_READONLY, SQLITE_FULL, SQLITE_IOERR,
/// SQLITE_CANTOPEN. PostgreSQL: disk full (53100, "could not extend file … No space left on
/// device", or a WAL write failing the same way).
fn storage_refuses(message: &str) -> bool {
    message.starts_with("attempt to write a readonly database")
        || message == "database or disk is full"
        || message.starts_with("disk I/O error")
        || message == "unable to open database file"
        || message.contains("No space left on device")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_that_cannot_end_its_transaction_is_a_retry_not_a_bug() {
        let broken = StorageFailure::classify(Error::BrokenTransactionManager);
        assert!(matches!(broken, AppError::Unavailable(_)), "{broken:?}");
        let commit = Error::RollbackErrorOnCommit {
            rollback_error: Box::new(Error::BrokenTransactionManager),
            commit_error: Box::new(Error::NotFound),
        };
        let mapped = StorageFailure::classify(commit);
        assert!(
            matches!(mapped, AppError::Internal(ref m) if m.contains("not found")),
            "{mapped:?}"
        );
    }
}
