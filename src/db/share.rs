//! The per-user share of the pool: at most `per_user` units of work of one user hold (or wait
//! for) a connection at once, so one user's expensive requests leave the rest of the pool to
//! everyone else. A unit takes its user's turn before its connection; waiting longer than
//! DB_TIMEOUT for a turn is a 503, like waiting for a connection.
//!
//! It knows users only as strings and nothing of tasks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// The turns of every user. Cheap to clone.
#[derive(Clone)]
pub struct UserShare {
    per_user: usize,
    users: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// One unit's turn: given back (and the user's entry dropped when no one else holds or waits
/// for one) when dropped.
pub struct UserTurn {
    permit: Option<OwnedSemaphorePermit>,
    user: String,
    share: UserShare,
}

impl UserShare {
    /// At most `per_user` (at least one) concurrent units per user.
    pub fn new(per_user: usize) -> Self {
        UserShare {
            per_user: per_user.max(1),
            users: Arc::default(),
        }
    }

    /// The share: DB_CONNECTIONS_PER_USER, or when that is 0, a quarter of the pool (at
    /// least one).
    pub fn per_user_for(setting: usize, pool_size: u32) -> usize {
        if setting > 0 {
            setting
        } else {
            (pool_size as usize / 4).max(1)
        }
    }

    /// Waits (at most `wait`) for one of `user`'s turns.
    pub async fn turn(&self, user: &str, wait: Duration) -> Result<UserTurn, AppError> {
        let semaphore = {
            let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            users
                .entry(user.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_user)))
                .clone()
        };
        // Build the turn first: if the wait ends without a permit, its drop still tidies up.
        let mut turn = UserTurn {
            permit: None,
            user: user.to_owned(),
            share: self.clone(),
        };
        match tokio::time::timeout(wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => {
                turn.permit = Some(permit);
                Ok(turn)
            }
            _ => Err(AppError::DatabaseBusy(self.per_user)),
        }
    }
}

impl Drop for UserTurn {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut users = self
            .share
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map holds it: no unit of this user runs or waits.
        if users
            .get(&self.user)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            users.remove(&self.user);
        }
    }
}
