//! The binomial tail the threshold judge tests a window's errors with (statrs's distribution,
//! exact at any request count: no hand-written approximation).

use statrs::distribution::{Binomial, DiscreteCDF};

/// P(X ≥ k) for X ~ Binomial(n, p). Counts are CloudWatch sums, rounded to whole requests.
pub fn binomial_upper_tail(n: f64, k: f64, p: f64) -> f64 {
    let (n, k) = (n.max(0.0).round() as u64, k.round());
    if k <= 0.0 {
        return 1.0;
    }
    if p <= 0.0 || k as u64 > n {
        return 0.0;
    }
    match Binomial::new(p.min(1.0), n) {
        // P(X ≥ k) = P(X > k − 1).
        Ok(b) => b.sf(k as u64 - 1),
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binomial_tail_is_right() {
        // P(X >= 4) and P(X >= 7) for Binomial(60, 0.05): 0.3527 and 0.0297 (exact, by rationals).
        assert!((binomial_upper_tail(60.0, 4.0, 0.05) - 0.3527).abs() < 0.001);
        assert!((binomial_upper_tail(60.0, 7.0, 0.05) - 0.0297).abs() < 0.001);
        assert_eq!(binomial_upper_tail(60.0, 0.0, 0.05), 1.0);
        assert_eq!(binomial_upper_tail(60.0, 61.0, 0.05), 0.0);
        // Large counts stay exact: P(X >= 280) for Binomial(5,000, 0.05) is about 0.0294.
        assert!((binomial_upper_tail(5_000.0, 280.0, 0.05) - 0.0294).abs() < 0.002);
        assert!((binomial_upper_tail(5_001.0, 280.0, 0.05) - 0.0294).abs() < 0.002);
    }
}
