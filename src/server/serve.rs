//! Serving connections: a cap on how many are open at once (idle ones closed for a client
//! waiting for a slot, `connections`), a per-address share of sockets
//! that have sent nothing yet (the admission gate's), a header-read / idle timeout so silent
//! sockets give their slot back, a write timeout so a client that stops reading gives its
//! connection up (`slow_client`), and a graceful shutdown whose
//! drain is bounded by SHUTDOWN_TIMEOUT, after which the server returns (and the pools, owned
//! by the state the router holds, are dropped and close their connections).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use super::connections::{Connection, Connections, Registered, on_connection};
use super::slow_client::WriteDeadline;
use crate::AppState;

/// A listener that accepts a connection only while fewer than the cap are open. Past the cap,
/// a waiting client is taken in and the connection idle the longest between requests is
/// closed for it (`connections`); when every connection is busy, it waits for a slot, and the
/// clients after it wait in the kernel's accept queue (and time out there) instead of being
/// taken in and starved.
pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    /// Every accepted connection, registered for as long as its socket lives.
    connections: Connections,
    /// SLOW_CLIENT_TIMEOUT of each accepted connection's writes.
    write_timeout: Duration,
}

/// How often a client waiting for a slot asks again for an idle connection to be closed (one
/// closed frees its slot within milliseconds; this is for when none was idle).
const RECLAIM_RETRY: Duration = Duration::from_millis(100);

impl CappedListener {
    /// Wraps `inner`, allowing `max` open connections, registered in `connections`.
    pub fn new(inner: TcpListener, max: usize, connections: Connections) -> Self {
        CappedListener {
            inner,
            slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            connections,
            write_timeout: Duration::MAX,
        }
    }

    /// The same listener, closing a connection whose client accepts no data for `timeout`.
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// A slot, waiting as long as it takes (the semaphore is never closed; if it were,
    /// accept nothing more).
    async fn slot(slots: Arc<Semaphore>) -> OwnedSemaphorePermit {
        match slots.acquire_owned().await {
            Ok(slot) => slot,
            Err(_) => std::future::pending().await,
        }
    }

    /// A slot for a client taken in while every slot is held: idle connections are closed,
    /// the longest idle first, until one comes back.
    async fn slot_for_waiting_client(&self) -> OwnedSemaphorePermit {
        loop {
            if self.connections.close_longest_idle() {
                tracing::debug!("closed an idle connection for a client waiting for a slot");
            }
            tokio::select! {
                slot = Self::slot(self.slots.clone()) => return slot,
                () = tokio::time::sleep(RECLAIM_RETRY) => {}
            }
        }
    }
}

/// An accepted connection holding one slot and its registration until it is dropped (closed),
/// whether it is served as HTTP or upgraded to a WebSocket.
pub struct CappedStream {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    registered: Registered,
    deadline: WriteDeadline,
}

/// Which came first while every slot was held.
enum Waited {
    Slot(OwnedSemaphorePermit),
    Client((TcpStream, SocketAddr)),
}

impl axum::serve::Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (slot, (stream, addr)) = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => (slot, axum::serve::Listener::accept(&mut self.inner).await),
            Err(_) => {
                let waited = tokio::select! {
                    slot = Self::slot(self.slots.clone()) => Waited::Slot(slot),
                    accepted = axum::serve::Listener::accept(&mut self.inner) => {
                        Waited::Client(accepted)
                    }
                };
                match waited {
                    Waited::Slot(slot) => {
                        (slot, axum::serve::Listener::accept(&mut self.inner).await)
                    }
                    // Under pressure: an idle connection makes way rather than the client wait.
                    Waited::Client(accepted) => (self.slot_for_waiting_client().await, accepted),
                }
            }
        };
        // Small JSON responses: do not hold them back waiting for more bytes to send.
        let _ = stream.set_nodelay(true);
        (
            CappedStream {
                stream,
                _slot: slot,
                registered: self.connections.register(),
                deadline: WriteDeadline::new(self.write_timeout),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl CappedStream {
    /// The connection, as its requests and the registry see it.
    pub fn connection(&self) -> &Connection {
        self.registered.connection()
    }

    /// Waits until the client has sent something, for at most `timeout`: false when it did
    /// not. (Before the first byte, hyper's protocol detection waits without a timeout.)
    async fn sent_something(&self, timeout: std::time::Duration) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(timeout, self.stream.peek(&mut byte)).await,
            Ok(Ok(1..))
        )
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
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.deadline.check(cx, outcome)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.stream).poll_flush(cx);
        this.deadline.check(cx, outcome)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.deadline.check(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves the app on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish for at most SHUTDOWN_TIMEOUT, and returns.
///
/// A hand-rolled accept loop rather than `axum::serve`, for what that does not offer: a
/// header-read timeout that also closes idle keep-alive connections (HEADER_READ_TIMEOUT), so
/// sockets that send nothing cannot hold the MAX_CONNECTIONS slots, an idle timeout of the
/// same length for every connection (an HTTP/2 peer that only answers pings included), and
/// the client address
/// (`ConnectInfo`) for the anonymous rate limit.
pub async fn serve_on<F>(listener: TcpListener, state: AppState, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let operations = state.config.operations.clone();
    let connections = Connections::new(operations.connection_shares.per_user);
    let mut listener = CappedListener::new(listener, operations.max_connections, connections)
        .with_write_timeout(operations.slow_client_timeout);
    // Live streams never finish by themselves: ended at shutdown so the drain is not held up.
    let tasks = state.tasks.clone();
    let gate = state.gate.clone();
    let app = crate::app(state);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(operations.header_read_timeout)
        .keep_alive(true);
    // HTTP/2 (cleartext, prior knowledge): a silent peer is found by pings and dropped.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(operations.header_read_timeout)
        .keep_alive_timeout(operations.header_read_timeout)
        .enable_connect_protocol();
    let builder = Arc::new(builder);
    // Dropping `signal_tx` tells connections to finish; each holds a `close_rx` clone, so
    // `close_tx.closed()` completes when the last one is gone.
    let (signal_tx, signal_rx) = watch::channel(());
    let (close_tx, close_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // Until it sends something, a connection has no user: one of its address's share of
        // such connections, so a flood of silent sockets from one address cannot take the
        // slots of everyone else; and until a token verifies it is one of the address's
        // connections (`connections`), so sockets trickling their headers cannot either.
        // Over either share it is closed at once.
        let silent = match gate.hold_connection(addr.ip(), stream.connection()) {
            Ok(hold) => hold,
            Err(_) => {
                tracing::debug!(peer = %addr.ip(), "closed a connection over its address's share");
                continue;
            }
        };
        let connection = stream.connection().clone();
        let service = TowerToHyperService::new(service_for(app.clone(), addr, connection.clone()));
        let builder = builder.clone();
        let mut signal_rx = signal_rx.clone();
        let close_rx = close_rx.clone();
        let first_byte = operations.header_read_timeout;
        let idle_timeout = operations.header_read_timeout;
        tokio::spawn(async move {
            if !stream.sent_something(first_byte).await {
                // A silent socket gives its slot back.
                return;
            }
            drop(silent);
            let serving = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut serving = std::pin::pin!(serving);
            let mut signalled = false;
            // The first check one period in (an interval's first tick is immediate).
            let mut idle_check =
                tokio::time::interval_at(tokio::time::Instant::now() + idle_timeout, idle_timeout);
            idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seen = connection.activity();
            loop {
                tokio::select! {
                    result = serving.as_mut() => {
                        if let Err(error) = result {
                            tracing::trace!(%error, "connection ended with an error");
                        }
                        break;
                    }
                    _ = signal_rx.changed(), if !signalled => {
                        signalled = true;
                        serving.as_mut().graceful_shutdown();
                    }
                    // Idle while a client waits for a slot, or its user holds their share.
                    () = connection.told_to_close(), if !signalled => {
                        signalled = true;
                        serving.as_mut().graceful_shutdown();
                    }
                    _ = idle_check.tick(), if !signalled => {
                        // Idle for a whole period: nothing in flight and nothing started since
                        // the last check. (An HTTP/2 peer that answers pings is not dead, but
                        // it must not hold a slot doing nothing.)
                        let now = connection.activity();
                        if now.in_flight == 0 && now.started == seen.started {
                            signalled = true;
                            serving.as_mut().graceful_shutdown();
                        }
                        seen = now;
                    }
                }
            }
            drop(close_rx);
        });
    }
    tasks.close_subscriptions();
    // Stop accepting: new connections are refused from here on.
    drop(listener);
    drop(signal_rx);
    let _ = signal_tx.send(());
    drop(close_rx);
    tokio::select! {
        () = close_tx.closed() => {}
        () = tokio::time::sleep(operations.shutdown_timeout) => {
            tracing::warn!(
                timeout = ?operations.shutdown_timeout,
                "SHUTDOWN_TIMEOUT: in-flight requests did not finish in time; closing them"
            );
        }
    }
    Ok(())
}

/// The app as one connection's service: each request knows its client address
/// (`ConnectInfo`) and, while it is handled, its connection (for the admission gate's claims);
/// it is in flight until its response body is done or dropped (a streamed body such as SSE
/// included). A 101 marks the connection upgraded; an answer that refused its tenant a place
/// closes the connection (`Connection: close`), so the refused client's slot comes back.
fn service_for(
    app: axum::Router,
    addr: SocketAddr,
    connection: Connection,
) -> impl tower::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        let busy = connection.begin();
        let handling = on_connection(
            connection.clone(),
            app.clone().oneshot(request.map(Body::new)),
        );
        let connection = connection.clone();
        async move {
            let mut response = handling.await?;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                connection.upgraded();
            }
            if connection.take_close_after_answer() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _busy = &busy;
                    frame
                }))
            }))
        }
    })
}
