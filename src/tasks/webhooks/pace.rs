//! How many deliveries the worker may start: up to IN_FLIGHT in flight at once, and while the
//! database is busy with requests (its claims take several times longer than usual, or
//! requests wait for a connection: the careful mode) at most IN_FLIGHT_UNDER_LOAD started in
//! the last YOUNG, so that deliveries yield to requests and catch up when the load eases.
//! "Usual" is the quickest claim seen, a baseline that rises slowly (so that a database that
//! is slower for good, or far away, is soon the new usual).
//!
//! What a delivery costs the database is its claim and its record, not its wait: one that has
//! hung for YOUNG costs nothing more until it ends, so it leaves the careful mode's budget
//! (issue 58: five hanging endpoints of one user used to hold the careful mode's every slot,
//! and every other user's deliveries waited for their timeouts). Hanging deliveries are
//! bounded by IN_FLIGHT, and one user's by `claim`'s share per user.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Deliveries one instance sends at once (each to a different webhook).
pub(super) const IN_FLIGHT: usize = 64;
/// How many may have started within YOUNG while the database is busy (at 64 beside a
/// saturating load of writes, 10-13 % fewer writes, measured).
pub(super) const IN_FLIGHT_UNDER_LOAD: usize = 8;
/// How long a delivery counts against the careful mode's budget.
pub(super) const YOUNG: Duration = Duration::from_millis(250);
/// The most deliveries one user's endpoints may have in flight, across all instances: 16
/// users' hanging endpoints fill IN_FLIGHT; fewer leave the others a free slot at every claim.
pub(super) const PER_USER: usize = 4;

/// How much slower than usual a claim must be for the database to count as busy.
const BUSY_FACTOR: u32 = 4;
/// Below this a claim is never "slow" (a claim on an idle local database takes ~1-2 ms).
const FLOOR: Duration = Duration::from_millis(5);
/// How much the baseline rises per claim (1 %: after ~70 slow claims, a few seconds of a
/// sustained load, it has doubled).
const RISE: f64 = 1.01;

/// The claims' pace.
#[derive(Debug, Default)]
pub(super) struct Pace {
    baseline: Option<Duration>,
    last: Duration,
}

impl Pace {
    /// A claim took `took`.
    pub(super) fn claimed(&mut self, took: Duration) {
        self.last = took;
        self.baseline = Some(match self.baseline {
            None => took,
            Some(base) => base.mul_f64(RISE).min(took),
        });
    }

    /// Whether the last claim was slow enough for the database to count as busy.
    pub(super) fn busy(&self) -> bool {
        let base = self.baseline.unwrap_or_default();
        self.last > FLOOR && self.last > base * BUSY_FACTOR
    }
}

/// The deliveries in flight, by their task, and when each started.
#[derive(Debug)]
pub(super) struct Slots<K = tokio::task::Id> {
    started: HashMap<K, Instant>,
}

impl<K> Default for Slots<K> {
    fn default() -> Self {
        Slots {
            started: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq> Slots<K> {
    /// A delivery started, in task `id`.
    pub(super) fn started(&mut self, id: K) {
        self.started.insert(id, Instant::now());
    }

    /// Task `id` ended.
    pub(super) fn ended(&mut self, id: K) {
        self.started.remove(&id);
    }

    /// How many more may start, `waiting` finished ones not recorded yet (they hold their
    /// slots, and their webhooks stay leased, until they are).
    pub(super) fn free(&self, careful: bool, waiting: usize) -> usize {
        let all = IN_FLIGHT.saturating_sub(self.started.len() + waiting);
        match careful {
            false => all,
            true => all.min(IN_FLIGHT_UNDER_LOAD.saturating_sub(self.young() + waiting)),
        }
    }

    /// When the next young delivery ages out of the careful mode's budget.
    pub(super) fn next_ageing(&self) -> Option<Duration> {
        self.started
            .values()
            .map(|at| at.elapsed())
            .filter(|age| *age < YOUNG)
            .max()
            .map(|age| YOUNG - age)
    }

    fn young(&self) -> usize {
        self.started
            .values()
            .filter(|at| at.elapsed() < YOUNG)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_claim_much_slower_than_usual_means_busy_and_a_lasting_slowness_becomes_usual() {
        let mut pace = Pace::default();
        for _ in 0..10 {
            pace.claimed(ms(2));
        }
        assert!(!pace.busy());
        pace.claimed(ms(40));
        assert!(pace.busy(), "20 times the usual");
        pace.claimed(ms(2));
        assert!(!pace.busy());
        // A database far away: every claim 30 ms, soon usual.
        let mut far = Pace::default();
        far.claimed(ms(30));
        assert!(!far.busy());
        // Slow for good: the baseline rises until it is no longer busy.
        for _ in 0..400 {
            pace.claimed(ms(40));
        }
        assert!(!pace.busy());
    }

    #[test]
    fn a_hanging_delivery_leaves_the_careful_budget_but_not_the_slots() {
        let mut slots: Slots<usize> = Slots::default();
        for id in 0..IN_FLIGHT_UNDER_LOAD {
            slots.started(id);
        }
        assert_eq!(slots.free(true, 0), 0, "the careful budget is spent");
        assert_eq!(slots.free(false, 0), IN_FLIGHT - IN_FLIGHT_UNDER_LOAD);
        std::thread::sleep(YOUNG);
        assert_eq!(
            slots.free(true, 0),
            IN_FLIGHT_UNDER_LOAD,
            "hanging, they cost nothing"
        );
        assert_eq!(slots.free(true, 3), IN_FLIGHT_UNDER_LOAD - 3);
        slots.ended(0);
        assert_eq!(slots.free(false, 0), IN_FLIGHT - IN_FLIGHT_UNDER_LOAD + 1);
    }
}
