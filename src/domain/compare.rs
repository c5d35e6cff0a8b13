//! The canary's latency against the stable version's at one look (`judge: compare`): the
//! error rates are judged by the rollout's sequential test (`sequential.rs`).
//!
//! **Latency: Mann-Whitney U** over the per-minute p99 samples of both sides, one-sided (canary
//! slower than the baseline by more than the latency margin), with the normal approximation
//! (statrs) and alpha split over the step's planned looks (Bonferroni); only with at least
//! `MIN_LATENCY_SAMPLES` minutes on each side. Not yet the sequential test the errors have
//! (issue 28 asks for one on slow-request counts).

use statrs::distribution::{ContinuousCDF, Normal};

/// How the latency comparison is set up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The chance of a false verdict allowed per step (e.g. 0.05).
    pub alpha: f64,
    /// Looks planned in a step (its minutes): alpha is split over them.
    pub looks: u32,
}

impl Settings {
    pub fn boundary(&self) -> f64 {
        1.0 - self.alpha / f64::from(self.looks.max(1))
    }
}

/// Fewest per-minute samples on each side before latency is compared at all.
pub const MIN_LATENCY_SAMPLES: usize = 4;

/// The canary's per-minute p99s against the baseline's, for the verdict and the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// The canary tends to be slower than the baseline × (1 + margin), beyond chance.
    pub slower: bool,
    /// One-sided Mann-Whitney p-value of that.
    pub p_value: f64,
    /// The p-value a verdict needs at this look (alpha / looks).
    pub needs_below: f64,
    pub canary_minutes: usize,
    pub baseline_minutes: usize,
    /// Median of each side's per-minute p99, in ms.
    pub canary_median_ms: f64,
    pub baseline_median_ms: f64,
}

/// Whether the canary's per-minute p99s are larger than the baseline's, scaled by
/// (1 + `relative_margin`), beyond chance at the per-look alpha; None: too few samples.
pub fn slower(canary_p99: &[f64], baseline_p99: &[f64], relative_margin: f64, s: &Settings) -> Option<Latency> {
    if canary_p99.len() < MIN_LATENCY_SAMPLES || baseline_p99.len() < MIN_LATENCY_SAMPLES {
        return None;
    }
    let shifted: Vec<f64> = baseline_p99.iter().map(|b| b * (1.0 + relative_margin)).collect();
    let p_value = mann_whitney_greater(canary_p99, &shifted);
    let needs_below = 1.0 - s.boundary();
    Some(Latency {
        slower: p_value < needs_below,
        p_value,
        needs_below,
        canary_minutes: canary_p99.len(),
        baseline_minutes: baseline_p99.len(),
        canary_median_ms: median(canary_p99),
        baseline_median_ms: median(baseline_p99),
    })
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One-sided p-value of Mann-Whitney U that `x` tends to be larger than `y` (normal
/// approximation with a continuity correction; ties count one half).
fn mann_whitney_greater(x: &[f64], y: &[f64]) -> f64 {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let u: f64 = x
        .iter()
        .map(|a| {
            y.iter()
                .map(|b| match a.partial_cmp(b) {
                    Some(std::cmp::Ordering::Greater) => 1.0,
                    Some(std::cmp::Ordering::Equal) => 0.5,
                    _ => 0.0,
                })
                .sum::<f64>()
        })
        .sum();
    let mean = n1 * n2 / 2.0;
    let sd = (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
    1.0 - normal_cdf((u - mean - 0.5) / sd)
}

/// Φ(z), the standard normal's distribution function.
fn normal_cdf(z: f64) -> f64 {
    Normal::standard().cdf(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Settings = Settings { alpha: 0.05, looks: 10 };

    #[test]
    fn the_boundary_splits_alpha_over_the_looks() {
        assert!((S.boundary() - 0.995).abs() < 1e-12);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn latency_is_compared_only_with_enough_minutes_and_beyond_the_margin() {
        let base = [50.0, 52.0, 49.0, 51.0, 50.0, 53.0];
        assert_eq!(slower(&[90.0, 95.0, 92.0], &base, 0.1, &S), None);
        let bad = slower(&[90.0, 95.0, 92.0, 91.0, 94.0, 93.0], &base, 0.1, &S).unwrap();
        assert!(bad.slower, "twice as slow in every minute: {bad:?}");
        assert_eq!((bad.canary_median_ms, bad.baseline_median_ms), (92.5, 50.5));
        let ok = slower(&[52.0, 53.0, 51.0, 54.0, 52.0, 53.0], &base, 0.1, &S).unwrap();
        assert!(!ok.slower, "within the 10% margin: {ok:?}");
        // The same slow minutes interleaved with fast ones are not beyond chance.
        let mixed = slower(&[90.0, 49.0, 92.0, 50.0, 94.0, 51.0], &base, 0.1, &S).unwrap();
        assert!(!mixed.slower, "{mixed:?}");
    }
}
