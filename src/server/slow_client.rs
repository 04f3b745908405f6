//! A client that stops reading loses its connection: a write to its socket that stays pending
//! for SLOW_CLIENT_TIMEOUT fails with `TimedOut`, and hyper (or the WebSocket, which writes
//! through the same socket after its upgrade) ends the connection, dropping what it held.
//!
//! Paired with response bodies produced as the client takes them (a streamed list, an SSE
//! replay), this bounds what a non-reading client pins: hyper stops asking a body for more
//! while its write buffer is full, and gives the whole connection up after this timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// The clock of one socket's pending write.
pub(super) struct WriteDeadline {
    timeout: Duration,
    /// Running while a write is pending; stopped by any write that completes.
    clock: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    /// A deadline of `timeout` for each write that cannot proceed.
    pub(super) fn new(timeout: Duration) -> Self {
        WriteDeadline {
            timeout,
            clock: None,
        }
    }

    /// Passes a write's outcome on: `Pending` starts (or keeps) the clock, and past the
    /// deadline becomes `TimedOut`; any other outcome stops it.
    pub(super) fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if outcome.is_ready() {
            self.clock = None;
            return outcome;
        }
        let timeout = self.timeout;
        let clock = self
            .clock
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match clock.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.clock = None;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client accepted no data for SLOW_CLIENT_TIMEOUT",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
