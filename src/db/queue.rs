//! The pool's waiting line: units of work get their connections in the order they asked.
//!
//! bb8 hands a returned connection to whoever asks next, not to whoever has waited longest:
//! it wakes one waiter, and a request that arrives before that waiter runs takes the
//! connection, so the waiter queues again at the back. Under load (more requests than
//! connections, every request of the bench) a few units lose that race many times over and
//! wait far longer than the rest: the tail of the latency. A fair semaphore with one permit per
//! connection in front of the pool keeps the line: a unit takes its place, and when its turn
//! comes there is a connection free for it.
//!
//! It knows nothing of what a connection is.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The line for one pool: as many places as the pool has connections.
pub(super) struct Line(Arc<Semaphore>);

impl Line {
    pub(super) fn new(connections: u32) -> Self {
        Line(Arc::new(Semaphore::new(connections.max(1) as usize)))
    }

    /// Waits for this unit's turn (first come, first served); `None` only if the line were
    /// closed, which it never is. The caller bounds the wait.
    pub(super) async fn turn(&self) -> Option<Place> {
        let permit = self.0.clone().acquire_owned().await.ok()?;
        Some(Place { _permit: permit })
    }
}

/// A unit's turn at the pool, held as long as its connection.
pub(super) struct Place {
    _permit: OwnedSemaphorePermit,
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
