//! A seeded random source for the domain's Monte Carlo tests (splitmix64): reproducible runs
//! without a dependency.

/// splitmix64 with a seed.
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Failures among `n` trials that each fail with chance `p`.
    pub fn binomial(&mut self, n: u32, p: f64) -> f64 {
        (0..n).filter(|_| self.uniform() < p).count() as f64
    }
}

impl Rng {
    /// Failures among `n` trials that each fail with chance `p`: one uniform a draw, for
    /// large `n` (`inverse_binomial`).
    pub fn binomial_count(&mut self, n: u64, p: f64) -> f64 {
        let u = self.uniform();
        inverse_binomial(n, p, u)
    }
}

/// Of `runs` seeded trials, the share that stopped (`f` gives the minute it did) and the median
/// minute among those (usize::MAX when none did): how the evidence processes' tests read.
pub fn share(runs: usize, mut f: impl FnMut() -> Option<usize>) -> (f64, usize) {
    let mut hits: Vec<usize> = (0..runs).filter_map(|_| f()).collect();
    hits.sort_unstable();
    let median = hits.get(hits.len() / 2).copied().unwrap_or(usize::MAX);
    (hits.len() as f64 / runs as f64, median)
}

/// The smallest k with P(X ≤ k) ≥ u, X ~ Bin(n, p): statrs's distribution function, bisected.
/// Shared by the seeded draws and the judges' Monte Carlo, which keeps each minute's `u` so
/// every judge sees the same world.
pub fn inverse_binomial(n: u64, p: f64, u: f64) -> f64 {
    use statrs::distribution::{Binomial, DiscreteCDF};
    let Ok(dist) = Binomial::new(p.clamp(0.0, 1.0), n) else {
        return 0.0;
    };
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if dist.cdf(mid) >= u {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo as f64
}
