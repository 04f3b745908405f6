//! Serving connections: a cap on how many are open at once, and a graceful shutdown whose
//! drain is bounded by SHUTDOWN_TIMEOUT, after which the server returns (and the pools, owned
//! by the state the router holds, are dropped and close their connections).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;

/// A listener that accepts a connection only while fewer than the cap are open. Past the cap,
/// new connections wait in the kernel's accept queue (and time out there) instead of being
/// taken in and starved.
pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
}

impl CappedListener {
    /// Wraps `inner`, allowing `max` open connections.
    pub fn new(inner: TcpListener, max: usize) -> Self {
        CappedListener {
            inner,
            slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
        }
    }
}

/// An accepted connection holding one slot until it is dropped (closed).
pub struct CappedStream {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl axum::serve::Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let slot = match self.slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            // The semaphore is never closed; if it were, accept nothing more.
            Err(_) => std::future::pending().await,
        };
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        // Small JSON responses: do not hold them back waiting for more bytes to send.
        let _ = stream.set_nodelay(true);
        (
            CappedStream {
                stream,
                _slot: slot,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves the app on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish for at most SHUTDOWN_TIMEOUT, and returns.
pub async fn serve_on<F>(listener: TcpListener, state: AppState, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let operations = state.config.operations.clone();
    let listener = CappedListener::new(listener, operations.max_connections);
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let tasks = state.tasks.clone();
    let shutdown = async move {
        shutdown.await;
        // Live streams never finish by themselves: end them so the drain is not held up.
        tasks.close_subscriptions();
        let _ = signalled.send(());
    };
    let server = axum::serve(listener, crate::app(state)).with_graceful_shutdown(shutdown);
    let drain_deadline = async move {
        match on_signal.await {
            Ok(()) => tokio::time::sleep(operations.shutdown_timeout).await,
            // The server ended without a signal: nothing to bound.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result?,
        () = drain_deadline => {
            tracing::warn!(
                timeout = ?operations.shutdown_timeout,
                "SHUTDOWN_TIMEOUT: in-flight requests did not finish in time; closing them"
            );
        }
    }
    Ok(())
}
