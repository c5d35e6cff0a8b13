//! The latency comparison: its limit, its counts, and the test on seeded rollouts.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::domain::seeded::{share, Rng};

/// As the action runs it at the default confidence (`CompareJudge::slower`).
const S: Settings = Settings {
    null_ratio: crate::domain::settings::SLOWER_NULL_RATIO,
    alpha: 0.05 * crate::domain::settings::LATENCY_SHARE,
    promotion_alpha: 0.05 * crate::domain::settings::LATENCY_SHARE,
};

fn minute(start: u64, requests: f64, p99_ms: Option<f64>, slow: Option<f64>) -> MinuteMetrics {
    MinuteMetrics {
        start: UNIX_EPOCH + Duration::from_secs(start),
        requests,
        errors_5xx: 0.0,
        p99_ms,
        connection_errors: 0.0,
        unanswered: 0.0,
        unhealthy_hosts: 0.0,
        slow,
    }
}

#[test]
fn the_limit_is_the_median_p99_from_before_the_rollout_and_is_kept() {
    let from = UNIX_EPOCH + Duration::from_secs(600);
    let mut e = SlowerEvidence::default();
    // Two minutes before the rollout are too few for a reference.
    e.fix_limit(
        &[
            minute(420, 100.0, Some(50.0), None),
            minute(480, 100.0, Some(70.0), None),
        ],
        from,
    );
    assert_eq!(e.limit_ms(), None);
    assert_eq!(e.read(&S), None, "no limit, no latency evidence");
    let stable = [
        minute(360, 100.0, Some(90.0), None),
        minute(420, 100.0, Some(50.0), None),
        minute(480, 100.0, None, None),
        minute(540, 100.0, Some(60.0), None),
        // The rollout's own minutes are not the reference.
        minute(600, 100.0, Some(900.0), None),
    ];
    e.fix_limit(&stable, from);
    assert_eq!(e.limit_ms(), Some(60.0));
    e.fix_limit(&[minute(0, 1.0, Some(5.0), None); 5], from);
    assert_eq!(e.limit_ms(), Some(60.0), "a limit once fixed never moves");
}

#[test]
fn the_counts_are_the_slow_among_the_answered_on_both_sides() {
    let mut c = minute(600, 110.0, Some(80.0), Some(30.0));
    c.connection_errors = 6.0;
    c.unanswered = 4.0;
    let s = minute(600, 2000.0, Some(60.0), Some(20.0));
    let pairs = paired_slow(
        &[c, minute(660, 50.0, None, None)],
        &[s, minute(660, 900.0, Some(60.0), Some(9.0))],
    );
    assert_eq!(
        pairs.len(),
        1,
        "a minute without a slow count on either side carries nothing"
    );
    let m = pairs[0].1;
    assert_eq!((m.canary_errors, m.canary_requests), (30.0, 100.0));
    assert_eq!((m.stable_errors, m.stable_requests), (20.0, 2000.0));
}

/// One rollout at 6,000 requests a minute, 5% then 10%, 25% and 50% for 5 minutes each, with
/// 1% of the stable version's requests slower than the limit and `share` of the canary's,
/// looked at after every minute as the bake does (each read twice, so the newest counts).
fn first_worse(rng: &mut Rng, canary_share: f64) -> Option<usize> {
    let mut e = SlowerEvidence::default();
    e.fix_limit(
        &[minute(0, 6000.0, Some(100.0), None); 3],
        UNIX_EPOCH + Duration::from_secs(600),
    );
    let (mut canary, mut stable) = (Vec::new(), Vec::new());
    let weights = [5.0, 10.0, 25.0, 50.0].iter().flat_map(|w| std::iter::repeat_n(*w, 5));
    for (i, w) in weights.enumerate() {
        let a = (6000.0_f64 * w / 100.0).round();
        let b = 6000.0 - a;
        let start = 600 + 60 * i as u64;
        canary.push(minute(
            start,
            a,
            Some(100.0),
            Some(rng.binomial_count(a as u64, canary_share)),
        ));
        stable.push(minute(start, b, Some(100.0), Some(rng.binomial_count(b as u64, 0.01))));
        e.observe_read(&canary, &stable);
        e.observe_read(&canary, &stable);
        if e.read(&S).map(|r| r.call()) == Some(super::super::sequential::Call::Worse) {
            return Some(i + 1);
        }
    }
    None
}

#[test]
fn at_the_null_ratio_at_most_alpha_of_rollouts_are_called_slower() {
    let mut rng = Rng(11);
    let (rate, _) = share(1000, || first_worse(&mut rng, 0.01 * S.null_ratio));
    assert!(rate <= S.alpha, "false rollbacks {rate}");
    let (rate, _) = share(300, || first_worse(&mut rng, 0.01));
    assert_eq!(rate, 0.0, "a canary exactly as fast as the stable version");
}

#[test]
fn a_canary_with_five_times_the_slow_share_is_caught() {
    // 5% past the stable version's p99: its p95 is there.
    let mut rng = Rng(12);
    let (rate, median) = share(200, || first_worse(&mut rng, 0.05));
    assert!(rate >= 0.95 && median <= 6, "caught {rate}, median minute {median}");
}

#[test]
fn the_reason_names_the_limit_and_both_sides() {
    let mut e = SlowerEvidence::default();
    e.fix_limit(
        &[minute(0, 100.0, Some(182.4), None); 3],
        UNIX_EPOCH + Duration::from_secs(600),
    );
    let (c, s) = (
        [minute(600, 300.0, None, Some(40.0))],
        [minute(600, 5700.0, None, Some(57.0))],
    );
    e.observe_read(&c, &s);
    e.observe_read(&c, &s);
    let r = e.read(&S).unwrap();
    let text = describe(&r, e.limit_ms().unwrap());
    assert!(
        text.starts_with("requests slower than the stable version's 182 ms p99 from before the rollout: 40 of 300 against 57 of 5,700 over 1 minutes"),
        "{text}"
    );
}
