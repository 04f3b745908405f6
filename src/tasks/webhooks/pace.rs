//! How many deliveries the worker may have in flight: all its slots while the database answers
//! its claims as fast as it usually does, few while its claims take several times longer than
//! usual (the database is busy with requests: deliveries then yield, and catch up when the
//! load eases). "Usual" is the quickest claim seen, a baseline that rises slowly (so that a
//! database that is slower for good, or far away, is soon the new usual).

use std::time::Duration;

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
}
