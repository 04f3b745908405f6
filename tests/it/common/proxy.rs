//! A TCP proxy between the server and its database (PostgreSQL or PgBouncer) that counts the
//! connections it accepts and can stop forwarding: what a test needs to count the connections
//! a server opens, and to make an outage in which the database does not answer at all (a
//! network that drops packets, not a refused connection).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; it stops when dropped.
pub struct TcpProxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    flowing: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Forwards 127.0.0.1:`port` (a fresh one) to `target` (`host:port`).
    pub async fn start(target: &str) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let flowing = watch::Sender::new(true);
        let (count, gate, target) = (accepted.clone(), flowing.clone(), target.to_owned());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(forward(client, target.clone(), gate.subscribe()));
            }
        });
        TcpProxy {
            port,
            accepted,
            flowing,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stops forwarding: no byte passes either way until [`TcpProxy::resume`], and new
    /// connections are accepted and left without an answer.
    pub fn stall(&self) {
        self.flowing.send_replace(false);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.flowing.send_replace(true);
    }

    /// `url` (a PostgreSQL URL on 127.0.0.1) with its port replaced by this proxy's.
    pub fn url(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("a URL");
        parsed.set_port(Some(self.port)).expect("a port");
        parsed.to_string()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forwards one connection both ways while the proxy flows.
async fn forward(client: TcpStream, target: String, flowing: watch::Receiver<bool>) {
    let mut gate = flowing.clone();
    if gate.wait_for(|f| *f).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(&target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        _ = pipe(client_read, server_write, flowing.clone()) => {}
        _ = pipe(server_read, client_write, flowing) => {}
    }
}

/// Copies `from` to `to`, holding each chunk back while the proxy is stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if flowing.wait_for(|f| *f).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
