//! The commit of a write whose events are published after it (issue 41): the journal keeps
//! what it would have notified in the transaction-local `app.deferred_events` (migration
//! 000071), which is read in the same simple-protocol batch as the COMMIT, so the write still
//! costs its two round trips, and no NOTIFY (a lock on the whole database, held through the
//! commit's WAL flush) is taken at commit.

use diesel::QueryResult;
use diesel::connection::{TransactionDepthChange, TransactionManagerStatus};
use diesel_async::{AnsiTransactionManager, TransactionManager};
use tokio_postgres::SimpleQueryMessage;

use super::{PgConn, from_postgres};

/// Sent with the write's first statement: the journal defers its notifications, and starts
/// from none (transaction-local settings, gone at COMMIT or ROLLBACK).
pub const DEFER_EVENTS: &str = "SELECT set_config('app.events', 'deferred', true), \
     set_config('app.deferred_events', '', true)";

/// Reads what the journal deferred, then commits, in one exchange.
const READ_AND_COMMIT: &str = "SELECT current_setting('app.deferred_events', true); COMMIT";

impl PgConn {
    /// Commits the transaction `DbConn::begin_write` opened and returns what its journal
    /// deferred (newline-separated payloads; empty when it journaled nothing). On failure the
    /// connection is marked broken (the pool closes it, which ends whatever is left of the
    /// transaction), as after any COMMIT whose outcome is not known.
    pub async fn commit_deferred(&mut self) -> QueryResult<String> {
        let answer = self
            .session
            .queued(None, self.session.client.simple_query(READ_AND_COMMIT))
            .await;
        let status = AnsiTransactionManager::transaction_manager_status_mut(self);
        let messages = match answer {
            Ok(messages) => messages,
            Err(e) => {
                status.set_in_error();
                return Err(from_postgres(e));
            }
        };
        match status {
            TransactionManagerStatus::Valid(valid) => {
                valid.change_transaction_depth(TransactionDepthChange::DecreaseDepth)?
            }
            TransactionManagerStatus::InError => {
                return Err(diesel::result::Error::BrokenTransactionManager);
            }
        }
        Ok(messages
            .into_iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap_or_default().to_owned()),
                _ => None,
            })
            .unwrap_or_default())
    }
}
