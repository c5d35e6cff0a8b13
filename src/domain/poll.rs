//! Adaptive polling: quick at first (most waits end in seconds on a warm cluster), then capped
//! so we are never more than `cap` late once AWS is there, and never hammer the API.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct PollSchedule {
    next: Duration,
    cap: Duration,
}

impl PollSchedule {
    pub fn new(first: Duration, cap: Duration) -> Self {
        PollSchedule {
            next: first.min(cap),
            cap,
        }
    }

    /// The default: 250 ms, 500 ms, then every second.
    pub fn standard(cap: Duration) -> Self {
        Self::new(Duration::from_millis(250), cap)
    }

    pub fn next_delay(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(self.cap);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let mut p = PollSchedule::standard(Duration::from_secs(1));
        let got: Vec<u128> = (0..5).map(|_| p.next_delay().as_millis()).collect();
        assert_eq!(got, vec![250, 500, 1000, 1000, 1000]);
    }

    #[test]
    fn a_small_cap_wins_over_the_first_delay() {
        let mut p = PollSchedule::new(Duration::from_secs(2), Duration::from_millis(100));
        assert_eq!(p.next_delay(), Duration::from_millis(100));
    }
}
