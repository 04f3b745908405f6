//! Connection shares: how many connections a key (a user, a client address) holds open, each
//! count under a cap, and a cap on all long-lived connections together. Held and asked by the
//! admission gate (`auth::Gate`), which decides who the key is; a [`Hold`] gives its place
//! back when dropped, so a closed socket or stream can never leak a place. This module only
//! counts (and names the shares, [`ConnectionLimit`], which `AppError` carries); it knows no
//! users, tokens or transports, and imports nothing else of the crate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Which connection share a refused connection was over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionLimit {
    /// The user's long-lived connections (WebSocket and SSE together), MAX_LIVE_CONNECTIONS_PER_USER.
    PerUser(usize),
    /// Every user's long-lived connections together (LIVE_CONNECTION_SHARE of MAX_CONNECTIONS).
    Server(usize),
    /// Connections without a verified user from one client address
    /// (MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS).
    PerAddress(usize),
    /// Connections of any kind of one user (or, without a token, one client address), all
    /// busy (CONNECTION_SHARE_PER_USER of MAX_CONNECTIONS).
    Share(usize),
}

impl ConnectionLimit {
    /// `Retry-After` of a 503 for a full server share: places free up as others disconnect.
    pub const RETRY_AFTER_SECS: u64 = 5;

    /// The `code` of the REST body, for clients to match on.
    pub fn code(self) -> &'static str {
        match self {
            ConnectionLimit::PerUser(_)
            | ConnectionLimit::PerAddress(_)
            | ConnectionLimit::Share(_) => "TOO_MANY_CONNECTIONS",
            ConnectionLimit::Server(_) => "SERVER_BUSY",
        }
    }

    /// What the client is told: which limit, and what to do.
    pub fn message(self) -> String {
        match self {
            ConnectionLimit::PerUser(cap) => format!(
                "Too many live connections: at most {cap} WebSocket and SSE connections per \
                 user; close one first"
            ),
            ConnectionLimit::Server(cap) => format!(
                "Server busy: all {cap} places for live connections (WebSocket and SSE) are \
                 taken; retry later"
            ),
            ConnectionLimit::PerAddress(cap) => format!(
                "Too many connections without a token from this address (at most {cap}); \
                 authenticate or close one first"
            ),
            ConnectionLimit::Share(cap) => format!(
                "Too many open connections: at most {cap} per user (per client address without \
                 a token), all busy; wait for an answer and reuse its connection, or close one"
            ),
        }
    }
}

type Counts = Arc<Mutex<HashMap<String, usize>>>;

/// Open places per key, at most `cap` each.
pub struct KeyedSlots {
    cap: usize,
    counts: Counts,
}

/// One place held for a key; given back on drop.
pub struct Hold {
    counts: Counts,
    key: String,
}

impl KeyedSlots {
    /// At most `cap` places per key.
    pub fn new(cap: usize) -> Self {
        KeyedSlots {
            cap,
            counts: Arc::default(),
        }
    }

    /// The cap per key.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Takes one of `key`'s places, or `None` when it holds `cap` already.
    pub fn try_hold(&self, key: &str) -> Option<Hold> {
        // A poisoned lock only means a panic mid-update elsewhere; the counts stay usable.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key.to_owned()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Hold {
            counts: self.counts.clone(),
            key: key.to_owned(),
        })
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Memory follows the keys that hold something now.
                counts.remove(&self.key);
            }
        }
    }
}

/// Places for every long-lived connection together, at most `cap`.
pub struct SharedSlots {
    cap: usize,
    places: Arc<Semaphore>,
}

impl SharedSlots {
    /// At most `cap` places in all.
    pub fn new(cap: usize) -> Self {
        let cap = cap.min(Semaphore::MAX_PERMITS);
        SharedSlots {
            cap,
            places: Arc::new(Semaphore::new(cap)),
        }
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Takes a place, or `None` when all are taken.
    pub fn try_hold(&self) -> Option<OwnedSemaphorePermit> {
        self.places.clone().try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_come_back_when_dropped() {
        let slots = KeyedSlots::new(2);
        let a = slots.try_hold("alice").unwrap();
        let _b = slots.try_hold("alice").unwrap();
        assert!(slots.try_hold("alice").is_none());
        assert!(slots.try_hold("bob").is_some());
        drop(a);
        assert!(slots.try_hold("alice").is_some());
        let shared = SharedSlots::new(1);
        let held = shared.try_hold().unwrap();
        assert!(shared.try_hold().is_none());
        drop(held);
        assert!(shared.try_hold().is_some());
    }

    #[test]
    fn empty_keys_are_forgotten() {
        let slots = KeyedSlots::new(1);
        drop(slots.try_hold("alice"));
        assert!(slots.counts.lock().unwrap().is_empty());
    }
}
