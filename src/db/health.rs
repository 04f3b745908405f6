//! What the last writes said about storage: a write that failed because the database cannot
//! store anything (a read-only file or database, a full disk, an I/O error) marks storage
//! unavailable, and `/readyz` answers 503 while it is, so a balancer stops sending writes to
//! this instance. A write that succeeds, or a readiness probe that writes, clears it.
//!
//! The probe writes one row of `storage_probe`, a table of its own, and only while storage is
//! marked unavailable: a healthy `/readyz` stays read-only.

use std::sync::atomic::{AtomicBool, Ordering};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::storage_probe;
use super::{Acting, Db, StorageFailure};
use crate::db_run;
use crate::error::{AppError, AppResult};

/// Set while writes fail for want of storage.
#[derive(Debug, Default)]
pub(super) struct StorageHealth {
    failing: AtomicBool,
}

impl StorageHealth {
    fn failing(&self) -> bool {
        AtomicBool::load(&self.failing, Ordering::Relaxed)
    }

    fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }
}

impl Db {
    /// Notes how a write unit ended: storage failures mark storage unavailable, a commit
    /// clears the mark; other errors say nothing about storage.
    pub fn note_write<T>(&self, outcome: &AppResult<T>) {
        match outcome {
            Ok(_) => self.storage.set_failing(false),
            Err(AppError::StorageUnavailable(_)) => self.storage.set_failing(true),
            Err(_) => {}
        }
    }

    /// True unless the last writes failed for want of storage and a probe write fails too.
    pub async fn storage_writable(&self) -> bool {
        if !self.storage.failing() {
            return true;
        }
        let outcome = self.probe_write().await;
        if let Err(error) = &outcome {
            tracing::warn!(%error, "readiness: storage still refuses writes");
        }
        self.note_write(&outcome);
        outcome.is_ok()
    }

    /// One write transaction that touches the disk: the probe row, upserted.
    async fn probe_write(&self) -> AppResult<()> {
        let mut conn = self.conn().await?;
        // As the owner: `storage_probe` holds no user's rows, and the application role has no
        // grant on it.
        conn.begin_write(self.statement_timeout, Acting::Owner)
            .await?;
        let now = chrono::Utc::now().naive_utc();
        let written: QueryResult<usize> = db_run!(&mut conn, |c| {
            diesel::insert_into(storage_probe::table)
                .values((storage_probe::id.eq(1), storage_probe::probed_at.eq(now)))
                .on_conflict(storage_probe::id)
                .do_update()
                .set(storage_probe::probed_at.eq(now))
                .execute(c)
                .await
        });
        match written {
            Ok(_) => Ok(conn.commit().await.map_err(StorageFailure::classify)?),
            Err(e) => {
                let _ = conn.rollback().await;
                Err(StorageFailure::classify(e))
            }
        }
    }
}
