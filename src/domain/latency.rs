//! The new version's latency against `max-p99-latency` by an always-valid sequential test over
//! the whole rollout (issues 28 and 29), the same kind of test as the 5xx one (`sequential`).
//!
//! **Counts, not a p99 per minute.** A p99 of at most `L` means at most 1% of requests slower
//! than `L`. CloudWatch's percentile rank on `TargetResponseTime`, `PR(:L)`, gives the share
//! of a minute's requests that took at most `L`; so each minute's slow requests are counted.
//! A minute's own p99 is not a good witness: with 50 requests it is nearly their slowest one,
//! so a healthy small canary's worst minute breaks a p99 gate by chance, while a count of 50
//! requests weighs exactly as much as 50 requests should.
//!
//! **Evidence is a mixture likelihood ratio** of the slow counts, binomial at a share `p`:
//! the product over minutes of `Bin(s; n, p₁) / Bin(s; n, p₀)` with `p₀` = 1%, averaged over
//! a grid of `p₁ > p₀`. Under any share at or below `p₀` it is a test supermartingale, so it
//! reaches `1/α` with a chance of at most `α` however often it is looked at (Ville's
//! inequality). Reaching `1/α` rolls the release back.

use super::published::Ledger;
use super::sequential::{evidence_text, mixture};

/// The share of requests a p99 objective lets be slower than it.
pub const OBJECTIVE_SHARE: f64 = 0.01;

/// Multiples of `p₀` the test bets on, and their weights: most on 1.5–5× (a p99 that drifted
/// past the objective), some on the large ones seen at once (a hanging dependency).
const GRID: [(f64, f64); 7] = [
    (1.5, 0.15),
    (2.0, 0.20),
    (3.0, 0.20),
    (5.0, 0.15),
    (10.0, 0.12),
    (30.0, 0.10),
    (90.0, 0.08),
];

/// One minute of the new version: requests answered, and how many took longer than `L`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SlowMinute {
    pub requests: f64,
    pub slow: f64,
}

/// The rollout's latency evidence: every published minute of the new version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowEvidence {
    minutes: Ledger<SlowMinute>,
}

/// What the latency evidence says at one look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowReading {
    pub evidence: f64,
    /// What a rollback needs (1/α).
    pub needs: f64,
    pub limit_ms: f64,
    pub requests: f64,
    pub slow: f64,
    pub minutes: usize,
}

impl SlowEvidence {
    /// One read of the new version's published minutes, by start (see `published::Ledger`).
    pub fn observe_read(&mut self, read: &[(u64, SlowMinute)]) {
        self.minutes.observe_read(read);
    }

    fn log_ratio(&self, p1: f64) -> f64 {
        let p0 = OBJECTIVE_SHARE;
        self.minutes
            .values()
            .filter(|m| m.requests > 0.0)
            .map(|m| {
                let s = m.slow.clamp(0.0, m.requests);
                s * (p1 / p0).ln() + (m.requests - s) * ((1.0 - p1) / (1.0 - p0)).ln()
            })
            .sum()
    }

    pub fn read(&self, limit_ms: f64, alpha: f64) -> SlowReading {
        let p0 = OBJECTIVE_SHARE;
        SlowReading {
            evidence: mixture(&GRID, |g| self.log_ratio((p0 * g).min(0.999))),
            needs: 1.0 / alpha,
            limit_ms,
            requests: self.minutes.values().map(|m| m.requests).sum(),
            slow: self.minutes.values().map(|m| m.slow).sum(),
            minutes: self.minutes.len(),
        }
    }
}

impl SlowReading {
    /// More than 1% of the new version's requests are slower than the limit, at the rollout's α.
    pub fn worse(&self) -> bool {
        self.evidence >= self.needs
    }

    /// "p99 latency above 500 ms: 31 of 1,180 requests slower (2.6%, the objective allows 1%)
    /// over 6 minutes; evidence 48.2 (a rollback needs 40)".
    pub fn describe(&self) -> String {
        let n = super::analysis::thousands;
        let share = if self.requests > 0.0 {
            self.slow / self.requests * 100.0
        } else {
            0.0
        };
        format!(
            "p99 latency above {:.0} ms: {} of {} requests slower ({share:.1}%, a p99 objective allows {:.0}%) over {} minutes; evidence {} (a rollback needs {:.0})",
            self.limit_ms,
            n(self.slow),
            n(self.requests),
            OBJECTIVE_SHARE * 100.0,
            self.minutes,
            evidence_text(self.evidence),
            self.needs
        )
    }
}

#[cfg(test)]
#[path = "latency_tests.rs"]
mod tests;
