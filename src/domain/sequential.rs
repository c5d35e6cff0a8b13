//! The canary against the stable version by an always-valid sequential test over the whole
//! rollout (issue 28), so the chance of a false rollback holds per rollout, however often it
//! looks and however many steps there are.
//!
//! **Conditioning removes the unknown stable rate.** In one minute the canary served `a`
//! requests and the stable version `b`. Given that minute's 5xx on both sides together, `n`,
//! the canary's share of them is binomial: `x ~ Bin(n, θ)` with `θ = ρq / (ρq + 1 − q)`,
//! where `q = a / (a + b)` is the canary's share of the requests and `ρ` the ratio of its
//! error rate to the stable one's (exact for Poisson errors, close for binomial ones at the
//! rates a service lives with). `q` comes from the counts, so weight changes, a tiny canary
//! or a zero baseline need no special case; a minute with no errors or no stable traffic
//! says nothing, and counts nothing.
//!
//! **Evidence is a mixture likelihood ratio** (a test supermartingale, as in mSPRT): the
//! product over minutes of `Bin(x; n, θ(ρ₁)) / Bin(x; n, θ(ρ₀))`, averaged over a grid of
//! alternatives `ρ₁`. Under any ratio at or on the null's side of `ρ₀` its expectation is at
//! most 1, so by Ville's inequality it reaches `1/α` with a chance of at most `α`, at any
//! number of looks (optional stopping). Two such processes run:
//! - *worse*: null `ρ ≤ ρ₀` (`judge-margin` above 1), alternatives above it: reaching `1/α`
//!   rolls the canary back;
//! - *not worse*: null `ρ ≥ τ` (the tolerance), alternatives below it: reaching `1/α` is an
//!   anytime-valid upper bound on `ρ` below `τ`, which promotion to 100% needs.

use super::published::Ledger;

/// One minute's requests and 5xx on each side.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MinuteCounts {
    pub canary_requests: f64,
    pub canary_errors: f64,
    pub stable_requests: f64,
    pub stable_errors: f64,
    /// Of the canary's errors, the ALB's connection errors and the requests it never got an
    /// answer to: counted in `canary_errors`, kept apart so a reason can name them.
    pub canary_connection_errors: f64,
    pub canary_unanswered: f64,
}

impl MinuteCounts {
    /// (x, n, q): the canary's 5xx, both sides' 5xx and the canary's share of requests, or
    /// None for a minute that carries no evidence about the ratio.
    fn conditioned(&self) -> Option<(f64, f64, f64)> {
        let (a, b) = (self.canary_requests.max(0.0), self.stable_requests.max(0.0));
        let (x, y) = (self.canary_errors.max(0.0), self.stable_errors.max(0.0));
        let n = x + y;
        (a > 0.0 && b > 0.0 && n > 0.0).then(|| (x, n, a / (a + b)))
    }
}

/// How the test is set up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The ratio of error rates a canary may have and still be good (1 + `judge-margin`).
    pub null_ratio: f64,
    /// A false rollback's chance over the whole rollout: this test's share of
    /// `1 − judge-confidence` (the latency test has the rest).
    pub alpha: f64,
    /// A false promotion's chance (a canary at the tolerance shown below it): all of
    /// `1 − judge-confidence`, since nothing else promotes. Kept apart from `alpha` because
    /// the two are different errors, each bounded on its own.
    pub promotion_alpha: f64,
}

impl Settings {
    /// The ratio a canary must be shown to be below before it gets all the traffic: twice the
    /// stable rate (the regression this test is built to catch), or 1.5 × the null ratio
    /// when the null is set that high.
    pub fn tolerance(&self) -> f64 {
        (1.5 * self.null_ratio).max(2.0)
    }
}

/// Multiples of the null ratio the *worse* process bets on, and their weights: most on the
/// 1.5–3× regressions that are hard to see, some on the large ones that are seen at once.
const WORSE_GRID: [(f64, f64); 8] = [
    (1.25, 0.10),
    (1.5, 0.16),
    (1.75, 0.16),
    (2.0, 0.16),
    (2.5, 0.14),
    (3.5, 0.12),
    (6.0, 0.08),
    (15.0, 0.08),
];

/// Divisors of the tolerance the *not worse* process bets on: a healthy canary's ratio is
/// near 1, so the weight is near `τ / 2`.
const NOT_WORSE_GRID: [(f64, f64); 4] = [(1.5, 0.15), (2.0, 0.6), (2.5, 0.15), (3.5, 0.1)];

/// Both sides' 5xx in the compared minutes together below this: too few for any ratio to
/// be told apart, and too few for one to matter.
pub const TOO_FEW_ERRORS: f64 = 10.0;

/// The rollout's evidence: every compared minute, by its start (seconds since the epoch),
/// each counted once CloudWatch's numbers for it are final (`published::Ledger`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    minutes: Ledger<MinuteCounts>,
}

/// What the evidence says at one look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The *worse* process: rolls back at `1/α`.
    pub worse: f64,
    /// The *not worse* process: shows the ratio below the tolerance at `1/α`.
    pub not_worse: f64,
    /// What a rollback needs (1/α).
    pub needs: f64,
    /// What showing the canary below the tolerance needs (1/`promotion_alpha`).
    pub needs_to_promote: f64,
    pub null_ratio: f64,
    pub tolerance: f64,
    /// Totals over the compared minutes.
    pub canary: (f64, f64),
    pub stable: (f64, f64),
    /// Of the canary's errors: connection errors and requests never answered.
    pub canary_elb_side: (f64, f64),
    pub minutes: usize,
}

/// The call a look makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Worse than the null ratio, at the rollout's α: roll back.
    Worse,
    /// Shown below the tolerance at α: may pass early and be promoted.
    NotWorse,
    /// Too few 5xx on both sides together for a ratio to be told or to matter.
    TooFewErrors,
    Undecided,
}

impl Evidence {
    /// A minute's latest counts (a later read of the same minute replaces the earlier one:
    /// CloudWatch's newest minute may still grow).
    pub fn observe(&mut self, minute_start: u64, counts: MinuteCounts) {
        self.minutes.observe(minute_start, counts);
    }

    /// One read of both sides' published minutes, by start: every minute but the newest is
    /// counted at its latest counts; the newest once a read gives it again unchanged.
    pub fn observe_read(&mut self, read: &[(u64, MinuteCounts)]) {
        self.minutes.observe_read(read);
    }

    /// The start of the newest minute that carries evidence (5xx with both sides serving):
    /// a verdict belongs to the weight that served it, not to the one set since.
    pub fn newest_evidence(&self) -> Option<u64> {
        self.minutes
            .iter()
            .rev()
            .find(|(_, m)| m.conditioned().is_some())
            .map(|(t, _)| t)
    }

    pub fn minutes(&self) -> usize {
        self.minutes.len()
    }

    /// Whether the minute starting at `minute_start` is already counted.
    pub fn has(&self, minute_start: u64) -> bool {
        self.minutes.has(minute_start)
    }

    /// Log likelihood ratio of the canary's share of the errors under ratio `alt` against
    /// ratio `null`, over every minute.
    fn log_ratio(&self, alt: f64, null: f64) -> f64 {
        self.minutes
            .values()
            .filter_map(MinuteCounts::conditioned)
            .map(|(x, n, q)| {
                let theta = |rho: f64| rho * q / (rho * q + 1.0 - q);
                let (t1, t0) = (theta(alt), theta(null));
                x * (t1 / t0).ln() + (n - x) * ((1.0 - t1) / (1.0 - t0)).ln()
            })
            .sum()
    }

    /// The grid's mixture of likelihood ratios of alternatives `alt_of(g)` against `null`.
    fn mixture(&self, grid: &[(f64, f64)], null: f64, alt_of: impl Fn(f64) -> f64) -> f64 {
        mixture(grid, |g| self.log_ratio(alt_of(g), null))
    }

    pub fn read(&self, s: &Settings) -> Reading {
        let (rho0, tau) = (s.null_ratio, s.tolerance());
        let sum = |f: fn(&MinuteCounts) -> f64| self.minutes.values().map(f).sum::<f64>();
        Reading {
            worse: self.mixture(&WORSE_GRID, rho0, |g| rho0 * g),
            not_worse: self.mixture(&NOT_WORSE_GRID, tau, |h| tau / h),
            needs: 1.0 / s.alpha,
            needs_to_promote: 1.0 / s.promotion_alpha,
            null_ratio: rho0,
            tolerance: tau,
            canary: (sum(|m| m.canary_errors), sum(|m| m.canary_requests)),
            stable: (sum(|m| m.stable_errors), sum(|m| m.stable_requests)),
            canary_elb_side: (sum(|m| m.canary_connection_errors), sum(|m| m.canary_unanswered)),
            minutes: self.minutes.len(),
        }
    }
}

impl Reading {
    pub fn call(&self) -> Call {
        if self.worse >= self.needs {
            Call::Worse
        } else if self.not_worse >= self.needs_to_promote {
            Call::NotWorse
        } else if self.canary.0 + self.stable.0 < TOO_FEW_ERRORS {
            Call::TooFewErrors
        } else {
            Call::Undecided
        }
    }

    /// "5xx 12 of 300 against 57 of 5,700 over 6 minutes; evidence it is worse than 1.1× the
    /// stable rate 25.3, that it is below 2× 0.4 (a rollback needs 25, a promotion 20)".
    pub fn describe(&self) -> String {
        let n = super::analysis::thousands;
        let e = evidence_text;
        let (connection_errors, unanswered) = self.canary_elb_side;
        let elb_side = super::analysis::elb_side_text(connection_errors, unanswered)
            .map_or(String::new(), |f| format!(" (with {f})"));
        format!(
            "5xx {} of {}{elb_side} against {} of {} over {} minutes; evidence the canary's 5xx rate is above {:.2}× the stable version's {}, that it is below {:.2}× {} (a rollback needs {:.0}, a promotion {:.0})",
            n(self.canary.0),
            n(self.canary.1),
            n(self.stable.0),
            n(self.stable.1),
            self.minutes,
            self.null_ratio,
            e(self.worse),
            self.tolerance,
            e(self.not_worse),
            self.needs,
            self.needs_to_promote
        )
    }
}

/// The weighted average over a grid of alternatives `(g, weight)` of `exp(log_ratio(g))`, in
/// log space so it cannot overflow: the mixture likelihood ratio both sequential tests use.
pub(crate) fn mixture(grid: &[(f64, f64)], log_ratio: impl Fn(f64) -> f64) -> f64 {
    let logs: Vec<(f64, f64)> = grid.iter().map(|&(g, w)| (w.ln(), log_ratio(g))).collect();
    let top = logs.iter().map(|(lw, l)| lw + l).fold(f64::NEG_INFINITY, f64::max);
    top.exp() * logs.iter().map(|(lw, l)| (lw + l - top).exp()).sum::<f64>()
}

/// Evidence as a number to read: it grows by orders of magnitude, and past 10,000 its exponent
/// is what matters ("3.2e9").
pub fn evidence_text(x: f64) -> String {
    if x >= 1e4 {
        format!("{x:.1e}")
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
#[path = "sequential_tests.rs"]
mod tests;
