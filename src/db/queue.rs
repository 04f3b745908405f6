//! The pool's waiting line: units of work get their connections in the order they asked.
//!
//! bb8 hands a returned connection to whoever asks next, not to whoever has waited longest:
//! it wakes one waiter, and a request that arrives before that waiter runs takes the
//! connection, so the waiter queues again at the back. Under load (more requests than
//! connections, every request of the bench) a few units lose that race many times over and
//! wait far longer than the rest: the tail of the latency. A fair semaphore with one permit per
//! connection in front of the pool keeps the line: a unit takes its place, and when its turn
//! comes there is a connection free for it. Every check-out of a pooled connection takes a
//! place (`Db::conn`, and `Db::place` for the rest), so the places are the connections.
//!
//! Waiting happens here now, not in bb8, so the pool's numbers for `/metrics` (waiting now,
//! waits, timeouts) are counted here too.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Db, Pool, pool_error};
use crate::error::AppError;

/// The line for one pool: as many places as the pool has connections.
pub(super) struct Line {
    places: Arc<Semaphore>,
    /// Units waiting for a place now.
    waiting: AtomicU64,
    /// Units so far that found no place free and waited.
    waits: AtomicU64,
    /// Check-outs so far that gave up after DB_TIMEOUT.
    timeouts: AtomicU64,
}

impl Line {
    /// Whether a place is free now (a check-out would not wait).
    pub(super) fn has_free_place(&self) -> bool {
        self.places.available_permits() > 0
    }

    pub(super) fn new(connections: u32) -> Self {
        Line {
            places: Arc::new(Semaphore::new(connections.max(1) as usize)),
            waiting: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
        }
    }

    /// Waits for this unit's turn (first come, first served); `None` only if the line were
    /// closed, which it never is. The caller bounds the wait.
    pub(super) async fn turn(&self) -> Option<Place> {
        if let Ok(permit) = self.places.clone().try_acquire_owned() {
            return Some(Place { _permit: permit });
        }
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        // Counted out however the wait ends (a place, or the caller's timeout dropping it).
        let _waiting = Waiting(&self.waiting);
        let permit = self.places.clone().acquire_owned().await.ok()?;
        Some(Place { _permit: permit })
    }
}

/// One unit in the line, counted out when dropped.
struct Waiting<'a>(&'a AtomicU64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A unit's turn at the pool, held as long as its connection.
pub(super) struct Place {
    _permit: OwnedSemaphorePermit,
}

/// A snapshot of the pool, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Connections open.
    pub connections: u32,
    /// Of those, not checked out.
    pub idle: u32,
    /// Check-outs waiting for a connection right now.
    pub waiting: u64,
    /// Check-outs so far that had to wait for a connection.
    pub waits: u64,
    /// Check-outs so far that gave up after the acquire timeout.
    pub timeouts: u64,
}

impl Db {
    /// A place in the pool's line, waited for within DB_TIMEOUT (a 503 past it).
    pub(super) async fn place(&self) -> Result<Place, AppError> {
        let waited = tokio::time::timeout(self.acquire_timeout, self.line.turn()).await;
        waited.ok().flatten().ok_or_else(|| self.timed_out())
    }

    /// The answer to a check-out that gave up after DB_TIMEOUT, counted.
    pub(super) fn timed_out(&self) -> AppError {
        self.line.timeouts.fetch_add(1, Ordering::Relaxed);
        pool_error(bb8::RunError::TimedOut)
    }

    /// The pool's numbers, for metrics.
    pub fn pool_stats(&self) -> PoolStats {
        let state = match &self.pool {
            Pool::Postgres(pool) => pool.state(),
            Pool::Sqlite(pool) => pool.state(),
        };
        PoolStats {
            connections: state.connections,
            idle: state.idle_connections,
            waiting: self.line.waiting.load(Ordering::Relaxed),
            waits: self.line.waits.load(Ordering::Relaxed),
            timeouts: self.line.timeouts.load(Ordering::Relaxed),
        }
    }
}

/// A checked-out connection with its place in the line. The connection goes back to the
/// pool before the place is given up (fields drop in order), so the next in line finds it.
pub struct Checkout<C> {
    conn: C,
    _place: Place,
}

impl<C> Checkout<C> {
    pub(super) fn new(conn: C, place: Place) -> Self {
        Checkout {
            conn,
            _place: place,
        }
    }
}

impl<C: Deref> Deref for Checkout<C> {
    type Target = C::Target;

    fn deref(&self) -> &C::Target {
        &self.conn
    }
}

impl<C: DerefMut> DerefMut for Checkout<C> {
    fn deref_mut(&mut self) -> &mut C::Target {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::FutureExt;

    use super::Line;

    /// A place given back goes to the one who waited, not to whoever asks next (the race bb8
    /// alone loses: a newcomer between the release and the waiter's wake-up takes the
    /// connection), and waiters are served in the order they came.
    #[tokio::test]
    async fn the_first_to_wait_is_the_first_served() {
        let line = Arc::new(Line::new(1));
        let held = line.turn().await.expect("a free place");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut waiters = Vec::new();
        for i in 0..4 {
            let (line, tx) = (line.clone(), tx.clone());
            waiters.push(tokio::spawn(async move {
                let place = line.turn().await.expect("a place");
                tx.send(i).expect("send");
                tokio::task::yield_now().await;
                drop(place);
            }));
            // On this one-thread runtime the waiter runs to its wait before this task goes on,
            // so waiter i is in the line before waiter i + 1 comes.
            tokio::task::yield_now().await;
        }
        drop(held);
        assert!(
            line.turn().now_or_never().is_none(),
            "a newcomer took the place a waiter was owed"
        );
        for waiter in waiters {
            waiter.await.expect("waiter");
        }
        let order: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(order, [0, 1, 2, 3]);
    }
}
