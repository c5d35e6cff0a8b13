//! A rollout's published CloudWatch minutes, each counted once at its final counts. CloudWatch
//! may first publish part of its newest minute and grow it later, and part of a minute is not
//! what that minute served: so every minute of a read but the newest is counted at its latest
//! counts, and the newest once a later one is published or a read gives it again unchanged.
//! Both sequential tests (5xx and latency) keep their minutes here.

use std::collections::BTreeMap;

/// Minutes by their start (seconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger<T> {
    minutes: BTreeMap<u64, T>,
    /// The newest minute of the last read, not counted until it is final.
    newest: Option<(u64, T)>,
}

impl<T> Default for Ledger<T> {
    fn default() -> Self {
        Ledger {
            minutes: BTreeMap::new(),
            newest: None,
        }
    }
}

impl<T: Copy + PartialEq> Ledger<T> {
    /// A minute's latest counts (a later read of the same minute replaces the earlier one).
    pub fn observe(&mut self, minute_start: u64, counts: T) {
        self.minutes.insert(minute_start, counts);
    }

    /// One read of the published minutes, by start.
    pub fn observe_read(&mut self, read: &[(u64, T)]) {
        let Some(&(last, last_counts)) = read.iter().max_by_key(|(t, _)| *t) else {
            return;
        };
        for &(t, c) in read.iter().filter(|(t, _)| *t < last) {
            self.observe(t, c);
        }
        if self.newest == Some((last, last_counts)) || self.has(last) {
            self.observe(last, last_counts);
        }
        self.newest = Some((last, last_counts));
    }

    /// Whether the minute starting at `minute_start` is counted.
    pub fn has(&self, minute_start: u64) -> bool {
        self.minutes.contains_key(&minute_start)
    }

    pub fn len(&self) -> usize {
        self.minutes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty()
    }

    /// The counted minutes, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &T)> {
        self.minutes.iter().map(|(t, c)| (*t, c))
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.minutes.values()
    }
}
