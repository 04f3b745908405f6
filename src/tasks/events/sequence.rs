//! Each user's events in commit order, whatever order their signals arrive in, and none lost
//! for good (issue 41). Since the server publishes its writes after the commit
//! (`signal`), the signals of one user's changes made through two instances (or two writes
//! on one, published by two tasks) may cross, and one may never come (an instance stopped
//! between a commit and its batch). A user's change numbers are gap-free in commit order (the
//! counter row is held until commit), so the relay can tell both:
//!
//! - **A gap** (changes after the last delivered one that were not heard yet): their changes
//!   are read from the journal first (`pending`), then this one follows; when the late
//!   signal comes, it is [`Admit::Seen`] and dropped.
//! - **A lost signal**: every [`SWEEP_INTERVAL`] the relay reads the change counters of the
//!   users subscribed here ([`Sequence::swept`]); a counter that the previous sweep already saw
//!   ahead of what was delivered names changes whose signal did not come within a whole
//!   interval, and they are read from the journal. So a lost signal is caught up within two
//!   intervals, and a signal merely slow costs one read at most.
//!
//! Each followed user starts from the change number read just before their first
//! subscription here was in place (`TaskService::subscribe`): every change after it is
//! delivered, in order, even when its signal comes after a later one's. A `RESYNC` to
//! everyone (the listener reconnected) keeps what was delivered: the numbers stay valid, and
//! what the relay drops then is covered by the subscribers' sync.
//!
//! Only users with subscribers on this instance are followed; the map holds no one else.

use std::collections::HashMap;
use std::time::Duration;

/// How often the relay reads its subscribed users' change counters.
pub(in crate::tasks) const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

/// What to do with a user's changes numbered `after < n <= upto`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admit {
    /// Delivered already (a signal that crossed a gap's read or a sweep's): drop it.
    Seen,
    /// Deliver what comes after `from` (where an overlapping range starts later).
    Deliver { from: i64 },
    /// Changes after `from` up to this one's start were not heard: read them first.
    AfterGap { from: i64 },
}

/// The newest change delivered per followed user, and what the last sweep read.
#[derive(Default)]
pub(super) struct Sequence {
    delivered: HashMap<String, i64>,
    swept: HashMap<String, i64>,
}

impl Sequence {
    /// Starts following `owner` at `baseline` (their subscriptions' starting point), unless
    /// followed already.
    pub(super) fn follow(&mut self, owner: &str, baseline: Option<i64>) {
        if let (false, Some(baseline)) = (self.delivered.contains_key(owner), baseline) {
            self.delivered.insert(owner.to_owned(), baseline);
        }
    }

    /// Where `owner`'s changes `after < n <= upto` stand against what was delivered; records
    /// them as delivered unless seen.
    pub(super) fn admit(&mut self, owner: &str, after: i64, upto: i64) -> Admit {
        let Some(last) = self.delivered.get_mut(owner) else {
            self.delivered.insert(owner.to_owned(), upto);
            return Admit::Deliver { from: after };
        };
        let from = *last;
        if upto <= from {
            return Admit::Seen;
        }
        *last = upto;
        if after <= from {
            Admit::Deliver { from }
        } else {
            Admit::AfterGap { from }
        }
    }

    /// Stops following `owner` (nobody here listens any more).
    pub(super) fn forget(&mut self, owner: &str) {
        self.delivered.remove(owner);
    }

    /// Keeps following only `subscribed`, the users to sweep.
    pub(super) fn retain(&mut self, subscribed: &[String]) {
        let keep: std::collections::HashSet<&str> = subscribed.iter().map(String::as_str).collect();
        self.delivered
            .retain(|user, _| keep.contains(user.as_str()));
        self.swept.retain(|user, _| keep.contains(user.as_str()));
    }

    /// A sweep read `counters` (of followed users): returns the ranges `(owner, after, upto)`
    /// whose signals did not come within an interval (to read from the journal, through
    /// [`Sequence::admit`]).
    pub(super) fn swept(&mut self, counters: Vec<(String, i64)>) -> Vec<(String, i64, i64)> {
        let mut lost = Vec::new();
        for (user, _) in &counters {
            let before = self.swept.get(user).copied();
            if let (Some(known), Some(before)) = (self.delivered.get(user).copied(), before)
                && before > known
            {
                lost.push((user.clone(), known, before));
            }
        }
        self.swept = counters.into_iter().collect();
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossed_signals_read_the_gap_once_and_drop_the_late_one() {
        let mut sequence = Sequence::default();
        assert_eq!(sequence.admit("a", 4, 5), Admit::Deliver { from: 4 });
        // 7 comes before 6: 6 is read first, and its own signal is then dropped.
        assert_eq!(sequence.admit("a", 6, 7), Admit::AfterGap { from: 5 });
        assert_eq!(sequence.admit("a", 5, 6), Admit::Seen);
        // A range overlapping what was delivered starts after it.
        assert_eq!(sequence.admit("a", 6, 9), Admit::Deliver { from: 7 });
        assert_eq!(sequence.admit("b", 0, 1), Admit::Deliver { from: 0 });
    }

    #[test]
    fn a_sweep_catches_a_signal_that_never_came_after_one_interval() {
        let mut sequence = Sequence::default();
        assert_eq!(sequence.admit("a", 0, 3), Admit::Deliver { from: 0 });
        // The counter moved to 5; the signal may still be on its way: nothing yet.
        assert!(sequence.swept(vec![("a".into(), 5)]).is_empty());
        // A whole interval later it has not come: 3..5 is read.
        assert_eq!(
            sequence.swept(vec![("a".into(), 5)]),
            vec![("a".to_owned(), 3, 5)]
        );
        sequence.retain(&[]);
        assert_eq!(sequence.admit("a", 7, 8), Admit::Deliver { from: 7 });
    }

    #[test]
    fn a_new_subscriber_starts_from_its_baseline_whatever_comes_first() {
        let mut sequence = Sequence::default();
        // Subscribed at 4; 6 (written through this instance) is heard before 5 (through
        // another): 5 is read first, and its own signal dropped when it comes.
        sequence.follow("a", Some(4));
        assert_eq!(sequence.admit("a", 5, 6), Admit::AfterGap { from: 4 });
        assert_eq!(sequence.admit("a", 4, 5), Admit::Seen);
        // A change never signalled at all, right after subscribing, is found by the sweep.
        sequence.follow("b", Some(0));
        sequence.follow("b", Some(9));
        assert!(sequence.swept(vec![("b".into(), 1)]).is_empty());
        assert_eq!(
            sequence.swept(vec![("b".into(), 1)]),
            vec![("b".to_owned(), 0, 1)]
        );
    }
}
