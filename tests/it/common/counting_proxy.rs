//! A TCP proxy between the server and PostgreSQL that counts round trips: the times the
//! server sends data after the database last answered it (a burst of requests sent together
//! is one round trip, however many statements it carries). Deterministic: every answer is
//! held back for [`ANSWER_DELAY`] before it is passed on, so requests the server sends
//! without waiting (a pipeline) always arrive before the answer to the first of them, and a
//! request that needed an answer can only follow it. Counted over every connection through
//! it (the pool's and the listener's), so a test keeps background work quiet while it counts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long each answer of the database is held before the server gets it: far longer than
/// the server takes to write the requests of one pipeline, far shorter than a test.
const ANSWER_DELAY: Duration = Duration::from_millis(20);

/// A running proxy; it stops accepting when dropped.
pub struct CountingProxy {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    round_trips: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    /// Starts a proxy to `upstream`.
    pub async fn start(upstream: SocketAddr) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("an address");
        let round_trips = Arc::new(AtomicUsize::new(0));
        let counter = round_trips.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, counter.clone()));
            }
        });
        CountingProxy {
            addr,
            round_trips,
            accept,
        }
    }

    /// `url` (a PostgreSQL URL to the proxied server) with its host and port replaced by the
    /// proxy's.
    pub fn url(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).expect("a URL");
        url.set_host(Some(&self.addr.ip().to_string()))
            .expect("a host");
        url.set_port(Some(self.addr.port())).expect("a port");
        url.to_string()
    }

    /// Round trips counted so far, over every connection.
    pub fn round_trips(&self) -> usize {
        self.round_trips.load(Ordering::SeqCst)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Relays one connection both ways, counting each burst of the client's that follows an
/// answer (or opens the connection).
async fn relay(client: TcpStream, server: TcpStream, round_trips: Arc<AtomicUsize>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Whether the last thing that crossed was an answer (so the next request starts a trip).
    let answered = Arc::new(AtomicBool::new(true));
    let requests = {
        let answered = answered.clone();
        async move {
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = match client_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if answered.swap(false, Ordering::SeqCst) {
                    round_trips.fetch_add(1, Ordering::SeqCst);
                }
                if server_write.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
            let _ = server_write.shutdown().await;
        }
    };
    let answers = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            tokio::time::sleep(ANSWER_DELAY).await;
            // Before the client can see the answer: whatever it sends next is a new trip.
            answered.store(true, Ordering::SeqCst);
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(requests, answers);
}
