//! The open connections and who holds them, so that slots come back: each accepted TCP
//! connection is registered for as long as its socket lives (an upgraded WebSocket included),
//! with its requests in flight, when it last did something, and its tenant: the verified user
//! of its latest request, or its client address, from the moment it is accepted until a
//! request's token verifies (and again for each request, until its token verifies).
//!
//! Two things are decided here. Under pressure (every MAX_CONNECTIONS slot taken and a client
//! waiting, `serve`), the connection idle the longest between requests is closed for it.
//! And one tenant holds at most CONNECTION_SHARE_PER_USER of the connections: a request that
//! would bring its tenant one more first closes that tenant's longest idle connection, and is
//! refused (its connection closed after the answer) when none is idle.
//!
//! The admission gate attributes a connection where it admits a caller, wherever that is
//! (REST extractor, GraphQL over HTTP, a WebSocket upgrade), through [`claim_current`]: the
//! connection a request arrived on is known to the task handling it (a task-local set by
//! `serve`), so no transport has to carry it. It imports no other part of the crate but the
//! slot counting's [`ConnectionLimit`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use super::slots::ConnectionLimit;

/// Whose a connection is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tenant {
    /// The verified user of its latest request.
    User(String),
    /// Its client address: from accept until a token verifies, and for each request from
    /// the door (before its body is read) until its token verifies.
    Address(IpAddr),
}

/// Every open connection, and how many each tenant holds.
#[derive(Clone)]
pub struct Connections {
    registry: Arc<Mutex<Registry>>,
    /// Connections per tenant.
    share: usize,
    /// The clock of `last_active`.
    epoch: Instant,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Entry>,
    held: HashMap<Tenant, usize>,
}

struct Entry {
    state: Arc<State>,
    tenant: Option<Tenant>,
}

/// One connection as its serving task, its requests and the registry see it.
struct State {
    id: u64,
    started: AtomicU64,
    finished: AtomicU64,
    /// Milliseconds since `epoch` of the last request started or finished.
    last_active: AtomicU64,
    /// Upgraded (a WebSocket): no longer HTTP, never idle between requests.
    upgraded: AtomicBool,
    /// Told to close; not chosen again.
    closing: AtomicBool,
    /// Its current answer is a refusal of its tenant: say `Connection: close` on it.
    close_after_answer: AtomicBool,
    close: Notify,
}

impl State {
    /// Between requests: served at least one, none in flight, not upgraded or closing.
    /// (A connection that has not finished its first request is left alone: its client
    /// may be sending it right now.)
    fn is_idle(&self) -> bool {
        // `finished` first: a request finishing between the two loads cannot make the
        // connection look idle while it was busy.
        let finished = self.finished.load(Ordering::Acquire);
        let started = self.started.load(Ordering::Acquire);
        started > 0
            && started == finished
            && !self.upgraded.load(Ordering::Acquire)
            && !self.closing.load(Ordering::Acquire)
    }
}

impl Registry {
    /// Tells the connection idle the longest (of `tenant`, or of anyone) to close, and gives
    /// its tenant's place back; false when none is idle.
    fn close_longest_idle(&mut self, tenant: Option<&Tenant>) -> bool {
        let chosen = self
            .open
            .values_mut()
            .filter(|e| tenant.is_none_or(|t| e.tenant.as_ref() == Some(t)))
            .filter(|e| e.state.is_idle())
            // Ties (the same millisecond) go to the older connection, not to the hash order.
            .min_by_key(|e| (e.state.last_active.load(Ordering::Relaxed), e.state.id));
        let Some(entry) = chosen else {
            return false;
        };
        entry.state.closing.store(true, Ordering::Release);
        entry.state.close.notify_one();
        let released = entry.tenant.take();
        self.release(released);
        true
    }

    fn release(&mut self, tenant: Option<Tenant>) {
        if let Some(tenant) = tenant
            && let Some(count) = self.held.get_mut(&tenant)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.held.remove(&tenant);
            }
        }
    }
}

impl Connections {
    /// No connections yet; each tenant may hold `share`.
    pub fn new(share: usize) -> Self {
        Connections {
            registry: Arc::default(),
            share,
            epoch: Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A poisoned lock only means a panic mid-update elsewhere; the registry stays usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a just-accepted connection, until the returned value is dropped.
    pub fn register(&self) -> Registered {
        let mut registry = self.lock();
        registry.next_id += 1;
        let state = Arc::new(State {
            id: registry.next_id,
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            last_active: AtomicU64::new(self.now()),
            upgraded: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close_after_answer: AtomicBool::new(false),
            close: Notify::new(),
        });
        let entry = Entry {
            state: state.clone(),
            tenant: None,
        };
        registry.open.insert(state.id, entry);
        Registered(Connection {
            connections: self.clone(),
            state,
        })
    }

    /// Closes the connection idle the longest between requests, for a client waiting for a
    /// slot; false when every connection is busy.
    pub fn close_longest_idle(&self) -> bool {
        self.lock().close_longest_idle(None)
    }
}

/// One open connection: what its serving task and its requests use.
#[derive(Clone)]
pub struct Connection {
    connections: Connections,
    state: Arc<State>,
}

/// A connection's registration, ended (and its tenant's place given back) when dropped: held
/// by the socket itself, so an upgraded WebSocket stays registered as long as it is open.
pub struct Registered(Connection);

impl Registered {
    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.0
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut registry = self.0.connections.lock();
        if let Some(entry) = registry.open.remove(&self.0.state.id) {
            registry.release(entry.tenant);
        }
    }
}

/// One request in flight on its connection, until dropped (with its response body).
pub struct Busy(Connection);

impl Drop for Busy {
    fn drop(&mut self) {
        let state = &self.0.state;
        state
            .last_active
            .store(self.0.connections.now(), Ordering::Relaxed);
        state.finished.fetch_add(1, Ordering::Release);
    }
}

/// What [`Connection::activity`] said at one moment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// Requests started so far.
    pub started: u64,
    /// Requests in flight.
    pub in_flight: u64,
}

impl Connection {
    /// Counts a request as started; it is in flight until the returned guard is dropped.
    pub fn begin(&self) -> Busy {
        self.state
            .last_active
            .store(self.connections.now(), Ordering::Relaxed);
        self.state.started.fetch_add(1, Ordering::Release);
        Busy(self.clone())
    }

    /// Its requests at this moment.
    pub fn activity(&self) -> Activity {
        let finished = self.state.finished.load(Ordering::Acquire);
        let started = self.state.started.load(Ordering::Acquire);
        Activity {
            started,
            in_flight: started.saturating_sub(finished),
        }
    }

    /// Marks it upgraded (a WebSocket): never closed as idle. An upgrade without a token gives
    /// its client address's place up: until `connection_init` the socket is one of the
    /// address's connections without a user (the gate's own share), then one of its user's
    /// live connections; keeping it the address's would cap every user behind one NAT.
    pub fn upgraded(&self) {
        self.state.upgraded.store(true, Ordering::Release);
        let mut registry = self.connections.lock();
        let released = registry
            .open
            .get_mut(&self.state.id)
            .filter(|e| matches!(e.tenant, Some(Tenant::Address(_))))
            .and_then(|e| e.tenant.take());
        registry.release(released);
    }

    /// Completes when it is told to close (reclaimed as idle).
    pub async fn told_to_close(&self) {
        self.state.close.notified().await;
    }

    /// Whether its current answer refused its tenant, so should close the connection.
    pub fn take_close_after_answer(&self) -> bool {
        self.state.close_after_answer.swap(false, Ordering::AcqRel)
    }

    /// Makes it one of `tenant`'s connections: kept when it is already, else one of the
    /// tenant's places, taken from the tenant's longest idle connection (which closes) when
    /// all are held. Refused when all are held by busy connections; this connection then
    /// closes after its answer.
    pub fn claim(&self, tenant: Tenant) -> Result<(), ConnectionLimit> {
        let share = self.connections.share;
        let mut registry = self.connections.lock();
        let id = self.state.id;
        let current = registry.open.get(&id).and_then(|e| e.tenant.as_ref());
        if current == Some(&tenant) {
            return Ok(());
        }
        let held = registry.held.get(&tenant).copied().unwrap_or(0);
        if held >= share && !registry.close_longest_idle(Some(&tenant)) {
            self.state.close_after_answer.store(true, Ordering::Release);
            return Err(ConnectionLimit::Share(share));
        }
        let previous = match registry.open.get_mut(&id) {
            Some(entry) => entry.tenant.replace(tenant.clone()),
            // Already unregistered: nothing to hold.
            None => return Ok(()),
        };
        registry.release(previous);
        *registry.held.entry(tenant).or_insert(0) += 1;
        Ok(())
    }
}

tokio::task_local! {
    /// The connection of the request being handled (set by `serve` around each request).
    static CURRENT: Connection;
}

/// Runs `handling` (a request's handling) knowing the connection it arrived on.
pub async fn on_connection<F: Future>(connection: Connection, handling: F) -> F::Output {
    CURRENT.scope(connection, handling).await
}

/// Makes the current request's connection one of `tenant`'s ([`Connection::claim`]); nothing
/// to do outside a served connection (a WebSocket's later messages, tests of the router).
pub fn claim_current(tenant: Tenant) -> Result<(), ConnectionLimit> {
    CURRENT
        .try_with(|connection| connection.claim(tenant.clone()))
        .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Tenant {
        Tenant::User(id.to_owned())
    }

    /// A registered connection that has served one request and is now idle.
    fn idle(connections: &Connections) -> Registered {
        let registered = connections.register();
        drop(registered.connection().begin());
        registered
    }

    #[test]
    fn a_tenant_holds_its_share_and_idle_ones_make_way() {
        let connections = Connections::new(2);
        let a = idle(&connections);
        let b = idle(&connections);
        a.connection().claim(user("alice")).unwrap();
        b.connection().claim(user("alice")).unwrap();
        // Claiming again is free.
        a.connection().claim(user("alice")).unwrap();
        // A third: the longest idle (a) makes way and is told to close.
        let c = connections.register();
        let _busy = c.connection().begin();
        c.connection().claim(user("alice")).unwrap();
        assert!(a.connection().state.closing.load(Ordering::Acquire));
        assert!(!b.connection().state.closing.load(Ordering::Acquire));
        // b busy now too: a fourth is refused, and closes after its answer.
        let _b_busy = b.connection().begin();
        let d = connections.register();
        assert_eq!(
            d.connection().claim(user("alice")),
            Err(ConnectionLimit::Share(2))
        );
        assert!(d.connection().take_close_after_answer());
        assert!(!d.connection().take_close_after_answer());
        // Bob has his own share.
        d.connection().claim(user("bob")).unwrap();
        assert_eq!(connections.lock().held.get(&user("alice")), Some(&2));
        // Places come back when sockets close.
        drop((b, _b_busy, c, _busy, d));
        assert!(connections.lock().held.is_empty());
    }

    #[test]
    fn pressure_closes_the_longest_idle_and_never_a_busy_one() {
        let connections = Connections::new(10);
        let fresh = connections.register();
        let busy = connections.register();
        let _request = busy.connection().begin();
        let upgraded = idle(&connections);
        upgraded.connection().upgraded();
        assert!(!connections.close_longest_idle());
        let older = idle(&connections);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let newer = idle(&connections);
        assert!(connections.close_longest_idle());
        assert!(older.connection().state.closing.load(Ordering::Acquire));
        assert!(connections.close_longest_idle());
        assert!(newer.connection().state.closing.load(Ordering::Acquire));
        assert!(!connections.close_longest_idle());
        for untouched in [&fresh, &busy, &upgraded] {
            assert!(!untouched.connection().state.closing.load(Ordering::Acquire));
        }
    }

    #[test]
    fn a_claim_moves_a_connection_between_tenants() {
        let connections = Connections::new(1);
        let a = idle(&connections);
        let address = Tenant::Address("127.0.0.1".parse().unwrap());
        a.connection().claim(address.clone()).unwrap();
        a.connection().claim(user("alice")).unwrap();
        let held = connections.lock().held.clone();
        assert_eq!(held.get(&address), None);
        assert_eq!(held.get(&user("alice")), Some(&1));
        // An upgrade keeps its user's place, and gives an address's up.
        a.connection().upgraded();
        assert_eq!(connections.lock().held.get(&user("alice")), Some(&1));
        let b = idle(&connections);
        b.connection().claim(address.clone()).unwrap();
        b.connection().upgraded();
        assert_eq!(connections.lock().held.get(&address), None);
        // Outside a served connection there is nothing to claim.
        assert_eq!(claim_current(user("alice")), Ok(()));
    }
}
