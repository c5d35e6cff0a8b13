//! A seeded Monte Carlo of a healthy canary with ordinary noise, judged minute by minute as the
//! bake judges it: how often does the recent window (issue 18) roll back a good release that the
//! whole-step window alone would pass? The count is reported in BENCHMARKS.md.

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::domain::analysis::{judge, Measurement, Thresholds, Verdict};
    use crate::domain::minutes::{recent, total, Coverage, MetricsClock, MinuteMetrics};

    use crate::domain::seeded::Rng;

    /// One step of `minutes` minutes at `per_minute` requests and a true 5xx rate of `p`,
    /// measured once per published minute; true if any measurement fails.
    fn step_fails(rng: &mut Rng, minutes: usize, per_minute: u32, p: f64, recent_minutes: usize) -> bool {
        let clock = MetricsClock::aws(Duration::from_secs(180));
        let t = Thresholds {
            max_error_rate: Some(0.05),
            max_p99_ms: None,
            max_error_rate_increase: None,
            min_requests: 50.0,
            max_error_rate_uncompared: None,
        };
        let expected: Vec<_> = (0..minutes).map(|i| UNIX_EPOCH + clock.minute * i as u32).collect();
        let mut published = Vec::new();
        for start in &expected {
            published.push(MinuteMetrics {
                start: *start,
                requests: f64::from(per_minute),
                errors_5xx: rng.binomial(per_minute, p),
                p99_ms: None,
                connection_errors: 0.0,
                unanswered: 0.0,
                unhealthy_hosts: 0.0,
                slow: None,
            });
            let coverage = Coverage::of(expected.clone(), &published);
            let m = Measurement {
                canary: total(&published),
                recent: (recent_minutes > 0 && published.len() > recent_minutes)
                    .then(|| recent(&published, &expected, recent_minutes))
                    .flatten()
                    .map(|(w, a, b)| (w, clock.span(a, b))),
                coverage: Some(coverage.describe(&clock)),
                ..Default::default()
            };
            if matches!(judge(&m, &t), Verdict::Fail(_)) {
                return true;
            }
        }
        false
    }

    /// A 5-step canary (5, 10, 25, 50, 100% of 600 requests a minute), 5-minute bakes, a true
    /// 5xx rate of 1% against a 5% gate: false rollbacks out of `runs`.
    fn false_rollbacks(seed: u64, runs: usize, recent_minutes: usize) -> usize {
        let mut rng = Rng(seed);
        (0..runs)
            .filter(|_| {
                [5u32, 10, 25, 50, 100]
                    .iter()
                    .any(|w| step_fails(&mut rng, 6, 600 * w / 100, 0.01, recent_minutes))
            })
            .count()
    }

    #[test]
    fn ordinary_noise_rarely_fails_a_healthy_canary_through_the_recent_window() {
        let runs = 2_000;
        let with_recent = false_rollbacks(20_261_126, runs, 2);
        let step_only = false_rollbacks(20_261_126, runs, 0);
        println!("false rollbacks of a healthy canary (1% 5xx, 5% gate, 2,000 seeded runs): {with_recent} with the 2-minute recent window, {step_only} with the whole step alone");
        assert!(step_only <= with_recent, "the recent window only adds a check");
        assert!(
            (with_recent - step_only) * 200 <= runs,
            "the recent window added {} false rollbacks",
            with_recent - step_only
        );
        assert!(
            with_recent * 100 <= runs * 3,
            "{with_recent} of {runs} runs rolled back a healthy canary"
        );
    }
}
