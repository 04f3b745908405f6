//! A TCP proxy between the server and its database (PostgreSQL or PgBouncer) that counts the
//! connections it accepts and can stop forwarding: what a test needs to count the connections
//! a server opens, and to make an outage in which the database does not answer at all (a
//! network that drops packets, not a refused connection).
//!
//! It also counts round trips (issue 28): the times the server sends data after the database
//! last answered it (a burst of requests sent together is one, however many statements it
//! carries), over every connection through it. Made with [`TcpProxy::counting`] the count is
//! deterministic: every answer is held back for [`ANSWER_DELAY`] before it is passed on, so
//! requests the server sends without waiting (a pipeline) always arrive before the answer to
//! the first of them, and a request that needed an answer can only follow it. The instance's
//! event and webhook connections (`todo-api-events`, `todo-api-listener`, `todo-api-webhooks`) are not
//! counted: what they send, such as the batched signals to other instances after a write's
//! commit (`tasks::events::signal`), is on no request's path.
//! [`TcpProxy::stall_events`] holds back what those connections send while the requests'
//! connections flow: a signal lost between a write's commit and its batch.
//!
//! To know when a server has sent everything an operation costs (a COMMIT it sends after
//! answering, without waiting), the proxy follows the protocol's framing on each counted
//! connection: every Sync or simple Query it forwards is owed one ReadyForQuery, which carries
//! the session's transaction status. [`TcpProxy::settled`] waits until no answer is owed and
//! every session is idle outside a transaction: a COMMIT not yet sent keeps its session "in a
//! transaction", so it cannot be missed, where a fixed pause could on a loaded machine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a [`TcpProxy::counting`] proxy holds each answer of the database before the
/// server gets it: far longer than the server takes to write the requests of one pipeline,
/// far shorter than a test.
const ANSWER_DELAY: Duration = Duration::from_millis(20);

/// A running proxy; it stops when dropped.
pub struct TcpProxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    round_trips: Arc<AtomicUsize>,
    sessions: Sessions,
    opened: Opened,
    flowing: watch::Sender<bool>,
    /// Whether the uncounted connections' requests (events, listener, webhooks) pass.
    events_flowing: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Every connection's [`Session`] (dropped with its connection).
type Sessions = Arc<Mutex<Vec<Weak<Mutex<Session>>>>>;

/// The application each connection opened so far named in its startup, in order
/// ([`REQUESTS`] for one that named none of the instance's own).
type Opened = Arc<Mutex<Vec<&'static str>>>;

/// What [`TcpProxy::opened`] calls a connection of the requests' pool (no application name
/// of the instance's background connections).
pub const REQUESTS: &str = "requests";

/// What every connection of one proxy shares.
#[derive(Clone)]
struct Relay {
    target: String,
    round_trips: Arc<AtomicUsize>,
    answer_delay: Duration,
    sessions: Sessions,
    opened: Opened,
}

impl TcpProxy {
    /// Forwards 127.0.0.1:`port` (a fresh one) to `target` (`host:port`).
    pub async fn start(target: &str) -> TcpProxy {
        Self::with_delay(target, Duration::ZERO).await
    }

    /// [`TcpProxy::start`], holding every answer back for [`ANSWER_DELAY`] so that
    /// [`TcpProxy::round_trips`] is exact.
    pub async fn counting(target: &str) -> TcpProxy {
        Self::with_delay(target, ANSWER_DELAY).await
    }

    async fn with_delay(target: &str, answer_delay: Duration) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let round_trips = Arc::new(AtomicUsize::new(0));
        let flowing = watch::Sender::new(true);
        let events_flowing = watch::Sender::new(true);
        let sessions = Sessions::default();
        let opened = Opened::default();
        let relay = Relay {
            target: target.to_owned(),
            round_trips: round_trips.clone(),
            answer_delay,
            sessions: sessions.clone(),
            opened: opened.clone(),
        };
        let (count, gate, events) = (accepted.clone(), flowing.clone(), events_flowing.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let gates = (gate.subscribe(), events.subscribe());
                tokio::spawn(forward(client, relay.clone(), gates));
            }
        });
        TcpProxy {
            port,
            accepted,
            round_trips,
            sessions,
            opened,
            flowing,
            events_flowing,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The connections opened so far by application: the requests' pool's under [`REQUESTS`],
    /// the instance's background connections under their names (`todo-api-events`, …).
    pub fn opened(&self) -> Vec<&'static str> {
        self.opened.lock().unwrap().clone()
    }

    /// Round trips counted so far, over every connection.
    pub fn round_trips(&self) -> usize {
        self.round_trips.load(Ordering::SeqCst)
    }

    /// Waits until every counted connection has been answered all it asked and is idle outside
    /// a transaction (what it sends after answering a request has been sent and answered).
    pub async fn settled(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let idle = {
                let mut sessions = self.sessions.lock().unwrap();
                sessions.retain(|session| session.strong_count() > 0);
                sessions.iter().filter_map(Weak::upgrade).all(|session| {
                    let session = session.lock().unwrap();
                    !session.counted || (session.owed == 0 && session.status == b'I')
                })
            };
            if idle {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server's sessions through the proxy never came back to idle"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops forwarding: no byte passes either way until [`TcpProxy::resume`], and new
    /// connections are accepted and left without an answer.
    pub fn stall(&self) {
        self.flowing.send_replace(false);
    }

    /// Stops forwarding what the instance's event, listener and webhook connections send (the
    /// uncounted ones: a batched signal, a LISTEN), while its requests' connections flow: a
    /// write commits and its signal to other instances never reaches the database. Told apart
    /// by the startup's application name, so only for connections in clear text
    /// (`sslmode=disable`): a TLS connection's name cannot be read and it is never held.
    pub fn stall_events(&self) {
        self.events_flowing.send_replace(false);
    }

    /// Forwards again, every connection.
    pub fn resume(&self) {
        self.events_flowing.send_replace(true);
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
async fn forward(
    client: TcpStream,
    relay: Relay,
    (flowing, events_flowing): (watch::Receiver<bool>, watch::Receiver<bool>),
) {
    let mut gate = flowing.clone();
    if gate.wait_for(|f| *f).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(&relay.target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Whether the last thing that crossed was an answer (so the next request starts a trip).
    let answered = Arc::new(AtomicBool::new(true));
    let session = Arc::new(Mutex::new(Session::default()));
    relay
        .sessions
        .lock()
        .unwrap()
        .push(Arc::downgrade(&session));
    let requests = Direction::Requests(relay.round_trips.clone(), relay.opened.clone());
    let answers = Direction::Answers(relay.answer_delay);
    let (asked, told) = (session.clone(), session);
    let asking = (flowing.clone(), Some(events_flowing));
    tokio::select! {
        _ = pipe(client_read, server_write, asking, requests, answered.clone(), asked) => {}
        _ = pipe(server_read, client_write, (flowing, None), answers, answered, told) => {}
    }
}

/// Which way a [`pipe`] copies, with what that way does besides.
enum Direction {
    /// The server's requests: counts each burst that follows an answer, and notes the
    /// application the connection names.
    Requests(Arc<AtomicUsize>, Opened),
    /// The database's answers: each held back this long.
    Answers(Duration),
}

/// Copies `from` to `to`, holding each chunk back while the proxy is stalled (and, with an
/// `events` gate, an uncounted connection's chunks while that gate is shut).
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    (mut flowing, mut events): (watch::Receiver<bool>, Option<watch::Receiver<bool>>),
    direction: Direction,
    answered: Arc<AtomicBool>,
    session: Arc<Mutex<Session>>,
) {
    let requests = matches!(direction, Direction::Requests(..));
    let mut frames = Frames::new(requests);
    let mut buffer = vec![0u8; 16 * 1024];
    // The startup message (after an SSLRequest, when the driver asks for TLS first) names the
    // connection's application.
    let mut opening = 2;
    let mut counted = true;
    let mut named = None;
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if opening > 0 {
            opening -= 1;
            for name in [
                todo_api::db::events::LISTENER_APPLICATION_NAME,
                todo_api::db::events::EVENTS_APPLICATION_NAME,
                todo_api::tasks::webhooks::WORKER_APPLICATION_NAME,
            ] {
                if buffer[..n]
                    .windows(name.len())
                    .any(|w| w == name.as_bytes())
                {
                    counted = false;
                    named = Some(name);
                }
            }
            if let Direction::Requests(_, opened) = &direction {
                session.lock().unwrap().counted = counted;
                // Once the startup has passed (it follows an SSLRequest, when there is one).
                if named.is_some() || opening == 0 {
                    opened.lock().unwrap().push(named.unwrap_or(REQUESTS));
                    opening = 0;
                }
            }
        }

        match &direction {
            Direction::Requests(round_trips, _) => {
                if counted && answered.swap(false, Ordering::SeqCst) {
                    round_trips.fetch_add(1, Ordering::SeqCst);
                }
            }
            Direction::Answers(delay) => {
                if !delay.is_zero() {
                    tokio::time::sleep(*delay).await;
                }
                // Before the server can see the answer: whatever it sends next is a new trip.
                answered.store(true, Ordering::SeqCst);
            }
        }
        // Read as it is passed on: an answer is owed once asked, and given once delivered.
        frames.read(&buffer[..n], &mut session.lock().unwrap());
        if let Some(events) = events.as_mut().filter(|_| !counted)
            && events.wait_for(|f| *f).await.is_err()
        {
            return;
        }
        if flowing.wait_for(|f| *f).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// What one connection's session owes and is, as its messages say.
struct Session {
    /// Whether its requests are counted (not an event connection).
    counted: bool,
    /// ReadyForQuery messages still owed: one per startup, Sync and simple Query.
    owed: usize,
    /// The last ReadyForQuery's transaction status (`I` idle, `T` in one, `E` failed one).
    status: u8,
    /// Bytes of the answer to an SSLRequest (one, unframed) still to come.
    unframed: usize,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            counted: true,
            owed: 0,
            status: 0,
            unframed: 0,
        }
    }
}

/// The protocol's framing in one direction: a type byte (none before and in the startup
/// message) and a length that counts itself.
struct Frames {
    requests: bool,
    /// Before the startup message (the requests' side only): messages carry no type byte.
    untyped: bool,
    head: Vec<u8>,
    /// Bytes of the current message's body still to come.
    body: usize,
    kind: u8,
    /// The first bytes of the current body (a ReadyForQuery's status, a request's code).
    start: Vec<u8>,
}

impl Frames {
    fn new(requests: bool) -> Frames {
        Frames {
            requests,
            untyped: requests,
            head: Vec::new(),
            body: 0,
            kind: 0,
            start: Vec::new(),
        }
    }

    fn read(&mut self, mut bytes: &[u8], session: &mut Session) {
        while !bytes.is_empty() {
            if !self.requests && session.unframed > 0 && self.head.is_empty() && self.body == 0 {
                session.unframed -= 1;
                bytes = &bytes[1..];
                continue;
            }
            if self.body == 0 {
                let head = if self.untyped { 4 } else { 5 };
                let take = (head - self.head.len()).min(bytes.len());
                self.head.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.head.len() < head {
                    return;
                }
                let (kind, length) = if self.untyped {
                    (0, &self.head[..4])
                } else {
                    (self.head[0], &self.head[1..5])
                };
                let length = u32::from_be_bytes(length.try_into().unwrap()) as usize;
                self.kind = kind;
                self.body = length.saturating_sub(4);
                self.head.clear();
                self.start.clear();
                if self.body == 0 {
                    self.finish(session);
                }
                continue;
            }
            let take = self.body.min(bytes.len());
            let keep = take.min(4usize.saturating_sub(self.start.len()));
            self.start.extend_from_slice(&bytes[..keep]);
            bytes = &bytes[take..];
            self.body -= take;
            if self.body == 0 {
                self.finish(session);
            }
        }
    }

    /// A whole message has passed: what it owes, or what it answers.
    fn finish(&mut self, session: &mut Session) {
        if self.requests {
            if self.untyped {
                match self.start.as_slice() {
                    // SSLRequest and GSSENCRequest: one unframed byte answers, then the startup.
                    [0x04, 0xd2, 0x16, 0x2f] | [0x04, 0xd2, 0x16, 0x30] => session.unframed += 1,
                    // CancelRequest: no answer at all.
                    [0x04, 0xd2, 0x16, 0x2e] => {}
                    _ => {
                        self.untyped = false;
                        session.owed += 1;
                    }
                }
            } else if matches!(self.kind, b'S' | b'Q') {
                session.owed += 1;
            }
        } else if self.kind == b'Z' {
            session.owed = session.owed.saturating_sub(1);
            session.status = self.start.first().copied().unwrap_or(0);
        }
    }
}
