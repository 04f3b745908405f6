//! The server-wide budget of GraphQL response bytes (`GRAPHQL_MAX_IN_FLIGHT_RESPONSE_BYTES`):
//! what every response being built or sent holds, together. One per server (`Pipeline`). Each
//! response's budget (`budget`) takes its bytes from here as it charges them and gives them
//! back when it is dropped: once its body has been sent, or its client has gone (the HTTP
//! body holds it, `http`), or, for a WebSocket, as each event is handed to the socket. So the
//! bound per response cannot be multiplied by concurrency: N large responses at once hold at
//! most this many bytes, and the next one waits briefly ([`WAIT_FOR_ROOM`]) for room, then is
//! refused with SERVICE_UNAVAILABLE. Only a response that holds nothing yet waits; one that
//! already holds bytes and finds no room for more is refused at once and gives its bytes back
//! (waiting while holding, large responses would wait on one another). It counts estimated JSON bytes, as the per-response bound
//! does, not the allocator's: docs/SECURITY.md gives the measured ratio to resident memory.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};

use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a charge waits for room before its response is refused: long enough for a
/// response in flight to be sent and give its bytes back, short next to a request's timeout.
pub(crate) const WAIT_FOR_ROOM: Duration = Duration::from_secs(1);

/// The bytes held by the server's GraphQL responses in flight.
#[derive(Debug)]
pub(crate) struct InFlight {
    limit: usize,
    held: AtomicUsize,
    /// Woken whenever bytes are given back.
    freed: Notify,
}

impl InFlight {
    /// A budget of `limit` bytes for all responses in flight together.
    pub(crate) fn new(limit: usize) -> InFlight {
        InFlight {
            limit,
            held: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }

    /// The bound.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `bytes` if they fit now.
    pub(crate) fn try_take(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|after| *after <= self.limit)
            })
            .is_ok()
    }

    /// Takes `bytes`, waiting up to [`WAIT_FOR_ROOM`] for other responses to give theirs
    /// back; false when they do not fit by then.
    pub(crate) async fn take(&self, bytes: usize) -> bool {
        if self.try_take(bytes) {
            return true;
        }
        let deadline = Instant::now() + WAIT_FOR_ROOM;
        loop {
            // Registered before trying again, so a release between the try and the wait
            // is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.try_take(bytes) {
                return true;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return self.try_take(bytes);
            }
        }
    }

    /// Gives back `bytes` taken earlier.
    pub(crate) fn give_back(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.held.fetch_sub(bytes, Ordering::AcqRel);
        self.freed.notify_waiters();
    }

    /// What the responses in flight hold now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// The piece of a body handed to hyper at a time: hyper asks for the next only once it has
/// written most of what it holds, so the guard is kept until all but the last pieces have
/// reached the socket.
const PIECE: usize = 64 * 1024;

/// A response body that keeps `guard` (the responses' budgets) until it has been handed to the
/// socket or its client has gone: hyper drops the body then, and the bytes go back to
/// [`InFlight`]. (What the kernel still buffers for a slow reader is bounded per socket.)
pub(crate) struct HeldBody<G> {
    rest: Bytes,
    _guard: G,
}

impl<G> HeldBody<G> {
    /// `body`, holding `guard` while it is in flight.
    pub(crate) fn new(body: Vec<u8>, guard: G) -> HeldBody<G> {
        HeldBody {
            rest: Bytes::from(body),
            _guard: guard,
        }
    }
}

impl<G: Unpin> HttpBody for HeldBody<G> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let rest = &mut self.get_mut().rest;
        if rest.is_empty() {
            return Poll::Ready(None);
        }
        let piece = rest.split_to(rest.len().min(PIECE));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn takes_what_fits_waits_for_room_and_refuses_after_a_while() {
        let in_flight = std::sync::Arc::new(InFlight::new(100));
        assert!(in_flight.take(60).await);
        assert!(in_flight.take(40).await);
        // Full: a charge given room within the wait is served.
        let waiting = tokio::spawn({
            let in_flight = in_flight.clone();
            async move { in_flight.take(30).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        in_flight.give_back(60);
        assert!(waiting.await.expect("joined"));
        assert_eq!(in_flight.held(), 70);
        // One that never fits is refused once the wait is over.
        let started = std::time::Instant::now();
        assert!(!in_flight.take(31).await);
        assert!(started.elapsed() >= WAIT_FOR_ROOM);
        in_flight.give_back(70);
        assert_eq!(in_flight.held(), 0);
    }
}
