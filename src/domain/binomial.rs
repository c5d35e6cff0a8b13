//! The binomial tail the threshold judge tests a window's errors with.

/// P(X ≥ k) for X ~ Binomial(n, p): exact up to 5,000 trials, a normal approximation beyond.
pub fn binomial_upper_tail(n: f64, k: f64, p: f64) -> f64 {
    if k <= 0.0 {
        return 1.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if n > 5_000.0 {
        let (mean, sd) = (n * p, (n * p * (1.0 - p)).sqrt());
        let z = (k - 0.5 - mean) / sd;
        return 0.5 * erfc(z / std::f64::consts::SQRT_2);
    }
    // Sum P(X = i) for i < k in log space, then the complement.
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let mut ln_pmf = n * ln_q; // P(X = 0)
    let mut below = 0.0;
    let mut i = 0.0;
    while i < k {
        below += ln_pmf.exp();
        ln_pmf += ((n - i) / (i + 1.0)).ln() + ln_p - ln_q;
        i += 1.0;
    }
    (1.0 - below).max(0.0)
}

/// The complementary error function (Abramowitz and Stegun 7.1.26; error below 1.5e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let r = poly * (-z * z).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
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
        // The normal approximation agrees with the exact sum near its switch-over.
        // Near its switch-over the normal approximation agrees with the exact value, 0.0294.
        assert!((binomial_upper_tail(5_000.0, 280.0, 0.05) - 0.0294).abs() < 0.001);
        assert!((binomial_upper_tail(5_001.0, 280.0, 0.05) - 0.0294).abs() < 0.005);
    }
}
