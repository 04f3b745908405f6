//! The search-key backfill, a maintenance job run once at start-up: fills in the
//! `description_key` of rows written before the column existed. The migration cannot: the key
//! is Rust's lower-casing, which SQL's `lower()` does not match on either backend.
//!
//! It sees every user's rows, so it is the one task job exempt from `tasks::visibility`: the
//! server runs it itself before serving anyone, no request reaches it, and it touches only that
//! derived column. It runs through `UnitOfWork::maintenance`, which takes no viewer.

use super::model::description_key;
use super::service::TaskService;
use super::store;
use crate::error::AppResult;

/// Rows keyed per transaction.
const BATCH: i64 = 500;

impl TaskService {
    /// Fills in the search keys of rows written before they existed. Idempotent and cheap when
    /// there is nothing to do; returns how many rows it keyed.
    pub async fn backfill_search_keys(&self) -> AppResult<usize> {
        let mut done = 0;
        loop {
            // As the owner (`maintenance`): it keys every user's rows, and no user asks.
            let keyed = self
                .work
                .maintenance(async |tx| {
                    let rows = store::missing_description_keys(tx, BATCH).await?;
                    let keys: Vec<(i64, String)> = rows
                        .into_iter()
                        .map(|(id, description)| (id, description_key(&description)))
                        .collect();
                    store::set_description_keys(tx, &keys).await?;
                    Ok(keys.len())
                })
                .await?;
            if keyed == 0 {
                return Ok(done);
            }
            done += keyed;
        }
    }
}
