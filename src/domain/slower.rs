//! `judge: compare` on latency, without a latency objective: each minute, how many of each
//! side's requests were slower than the stable version's p99 from before the rollout, fed to
//! the same conditional test as the 5xx (`sequential`). The limit is fixed once for the
//! rollout, so every minute counts against the same line; the test needs no knowledge of the
//! true share above it, since it only asks whether the canary has more than its share of the
//! slow requests (issue 28: the per-minute p99 Mann-Whitney test it replaces could only fail
//! on a step's last minute).

use std::time::SystemTime;

use super::minutes::MinuteMetrics;
use super::sequential::{Evidence, MinuteCounts, Reading, Settings};

/// How many of the stable version's minutes before the rollout its p99 is taken from, at
/// least: fewer is no reference, and the latency comparison stays off.
pub const MIN_REFERENCE_MINUTES: usize = 3;

/// The rollout's latency comparison: its limit once known, and its evidence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowerEvidence {
    limit_ms: Option<f64>,
    process: Evidence,
}

impl SlowerEvidence {
    /// The line a request is slow past, in milliseconds, once the stable version's minutes
    /// from before the rollout fixed it.
    pub fn limit_ms(&self) -> Option<f64> {
        self.limit_ms
    }

    /// Fixes the limit from the stable version's minutes that began before `rollout_from`: the
    /// median of their p99s. Kept once set: a limit that moved would change what every
    /// minute already counted means.
    pub fn fix_limit(&mut self, stable: &[MinuteMetrics], rollout_from: SystemTime) {
        if self.limit_ms.is_some() {
            return;
        }
        let mut p99s: Vec<f64> = stable
            .iter()
            .filter(|m| m.start < rollout_from)
            .filter_map(|m| m.p99_ms)
            .filter(|p| p.is_finite() && *p > 0.0)
            .collect();
        if p99s.len() < MIN_REFERENCE_MINUTES {
            return;
        }
        p99s.sort_by(f64::total_cmp);
        let mid = p99s.len() / 2;
        self.limit_ms = Some(if p99s.len() % 2 == 1 {
            p99s[mid]
        } else {
            (p99s[mid - 1] + p99s[mid]) / 2.0
        });
    }

    /// One read of both sides' minutes, counted against the limit (see `published::Ledger`).
    pub fn observe_read(&mut self, canary: &[MinuteMetrics], stable: &[MinuteMetrics]) {
        if self.limit_ms.is_some() {
            self.process.observe_read(&paired_slow(canary, stable));
        }
    }

    /// The start of the newest minute that carries evidence: a verdict belongs to the weight
    /// that served it.
    pub fn newest_evidence(&self) -> Option<u64> {
        self.process.newest_evidence()
    }

    /// The evidence so far; None until the limit is fixed.
    pub fn read(&self, settings: &Settings) -> Option<Reading> {
        self.limit_ms.map(|_| self.process.read(settings))
    }
}

/// The minutes both sides published with a slow count, as `MinuteCounts` whose "errors" are
/// the requests slower than the limit, among the requests that had an answer.
fn paired_slow(canary: &[MinuteMetrics], stable: &[MinuteMetrics]) -> Vec<(u64, MinuteCounts)> {
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let answered = |m: &MinuteMetrics| (m.requests - m.connection_errors - m.unanswered).max(0.0);
    canary
        .iter()
        .filter_map(|c| {
            let s = stable.iter().find(|s| s.start == c.start)?;
            Some((
                secs(c.start),
                MinuteCounts {
                    canary_requests: answered(c),
                    canary_errors: c.slow?.clamp(0.0, answered(c)),
                    stable_requests: answered(s),
                    stable_errors: s.slow?.clamp(0.0, answered(s)),
                    ..Default::default()
                },
            ))
        })
        .collect()
}

/// "requests slower than the stable version's 182 ms p99 from before the rollout: 40 of 1,500
/// against 285 of 28,538 over 9 minutes; evidence the canary's share is above 1.10× the stable
/// version's 3.2e9, that it is below 3.00× 0.0 (a rollback needs 100)".
pub fn describe(r: &Reading, limit_ms: f64) -> String {
    let n = super::analysis::thousands;
    let e = super::sequential::evidence_text;
    format!(
        "requests slower than the stable version's {limit_ms:.0} ms p99 from before the rollout: {} of {} against {} of {} over {} minutes; evidence the canary's share is above {:.2}× the stable version's {}, that it is below {:.2}× {} (a rollback needs {:.0})",
        n(r.canary.0),
        n(r.canary.1),
        n(r.stable.0),
        n(r.stable.1),
        r.minutes,
        r.null_ratio,
        e(r.worse),
        r.tolerance,
        e(r.not_worse),
        r.needs
    )
}

#[cfg(test)]
#[path = "slower_tests.rs"]
mod tests;
