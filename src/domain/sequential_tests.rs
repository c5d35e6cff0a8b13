//! The evidence processes on seeded rollouts: valid under optional stopping at the null,
//! powerful at 2×. Looks after every minute, the most often the action could.

use super::*;
use crate::domain::seeded::{share, Rng};

const S: Settings = Settings {
    null_ratio: 1.1,
    alpha: 0.05,
    promotion_alpha: 0.05,
};

/// Canary weights of a 5-step rollout's minutes before 100%: 5, 10, 25 and 50%, 5 minutes each.
fn weights() -> Vec<f64> {
    [5.0, 10.0, 25.0, 50.0]
        .iter()
        .flat_map(|w| std::iter::repeat_n(*w, 5))
        .collect()
}

/// One rollout, looked at after every minute: the first minute whose look makes `stop`.
fn first(rng: &mut Rng, per_minute: f64, stable_rate: f64, ratio: f64, stop: Call) -> Option<usize> {
    let mut e = Evidence::default();
    for (i, w) in weights().into_iter().enumerate() {
        let a = (per_minute * w / 100.0).round();
        let b = per_minute - a;
        e.observe(
            i as u64 * 60,
            MinuteCounts {
                canary_requests: a,
                canary_errors: rng.binomial_count(a as u64, stable_rate * ratio),
                stable_requests: b,
                stable_errors: rng.binomial_count(b as u64, stable_rate),
                ..Default::default()
            },
        );
        if e.read(&S).call() == stop {
            return Some(i + 1);
        }
    }
    None
}

#[test]
fn at_the_null_ratio_the_worse_process_rolls_back_at_most_alpha_of_rollouts() {
    for (seed, per_minute, stable) in [
        (1, 6000.0, 0.01),
        (2, 1000.0, 0.01),
        (3, 6000.0, 0.005),
        (4, 1000.0, 0.005),
    ] {
        let mut rng = Rng(seed);
        let (rate, _) = share(1000, || first(&mut rng, per_minute, stable, S.null_ratio, Call::Worse));
        println!("null {per_minute}/min at {stable}: false rollbacks {rate}");
        assert!(rate <= S.alpha, "{per_minute}/min at {stable}: {rate}");
    }
}

#[test]
fn at_the_tolerance_the_not_worse_process_promotes_at_most_alpha_of_rollouts() {
    let mut rng = Rng(5);
    let tau = S.tolerance();
    let (rate, _) = share(1000, || first(&mut rng, 6000.0, 0.01, tau, Call::NotWorse));
    println!("at the tolerance {tau}: shown below it in {rate}");
    assert!(rate <= S.alpha, "{rate}");
}

#[test]
fn twice_the_stable_rate_is_caught_before_full_traffic() {
    let mut rng = Rng(6);
    let (rate, median) = share(500, || first(&mut rng, 6000.0, 0.01, 2.0, Call::Worse));
    println!("2x at 6,000/min: caught {rate}, median minute {median}");
    assert!(rate >= 0.95 && median <= 10, "caught {rate}, median minute {median}");
    let (rate, median) = share(500, || first(&mut rng, 6000.0, 0.01, 5.0, Call::Worse));
    println!("5x at 6,000/min: caught {rate}, median minute {median}");
    assert!(rate >= 0.99 && median <= 3, "caught {rate}, median minute {median}");
}

#[test]
fn a_healthy_canary_is_shown_below_the_tolerance_before_full_traffic() {
    let mut rng = Rng(7);
    let (rate, median) = share(500, || first(&mut rng, 6000.0, 0.01, 1.0, Call::NotWorse));
    println!("healthy at 6,000/min: shown not worse in {rate}, median minute {median}");
    assert!(rate >= 0.95, "{rate}");
}

#[test]
fn minutes_without_errors_or_without_stable_traffic_count_for_nothing() {
    let mut e = Evidence::default();
    let quiet = MinuteCounts {
        canary_requests: 300.0,
        stable_requests: 5700.0,
        ..Default::default()
    };
    let all_canary = MinuteCounts {
        canary_requests: 6000.0,
        canary_errors: 600.0,
        ..Default::default()
    };
    for m in 0..30 {
        e.observe(m * 60, if m % 2 == 0 { quiet } else { all_canary });
    }
    let r = e.read(&S);
    assert!(
        (r.worse - 1.0).abs() < 1e-9 && (r.not_worse - 1.0).abs() < 1e-9,
        "{r:?}"
    );
    assert_eq!(r.call(), Call::Undecided, "9,000 errors, all at 100%: {}", r.describe());
    let mut none = Evidence::default();
    none.observe(0, quiet);
    assert_eq!(none.read(&S).call(), Call::TooFewErrors);
}

#[test]
fn a_later_read_of_a_minute_replaces_the_earlier_one() {
    let mut e = Evidence::default();
    let partial = MinuteCounts {
        canary_requests: 100.0,
        canary_errors: 50.0,
        stable_requests: 1000.0,
        stable_errors: 10.0,
        ..Default::default()
    };
    e.observe(60, partial);
    assert_eq!(e.read(&S).call(), Call::Worse);
    e.observe(
        60,
        MinuteCounts {
            canary_errors: 1.0,
            ..partial
        },
    );
    assert_eq!(e.minutes(), 1);
    assert_ne!(e.read(&S).call(), Call::Worse);
}

#[test]
fn the_newest_minute_counts_once_a_later_one_is_published_or_it_is_read_again_unchanged() {
    let m = |errors: f64| MinuteCounts {
        canary_requests: 100.0,
        canary_errors: errors,
        stable_requests: 1000.0,
        stable_errors: 10.0,
        ..Default::default()
    };
    let mut e = Evidence::default();
    e.observe_read(&[(0, m(1.0)), (60, m(30.0))]);
    assert!(e.has(0) && !e.has(60), "the newest minute may still grow");
    e.observe_read(&[(0, m(1.0)), (60, m(40.0))]);
    assert!(!e.has(60), "it grew");
    e.observe_read(&[(0, m(1.0)), (60, m(40.0))]);
    assert!(e.has(60), "read twice unchanged");
    let mut later = Evidence::default();
    later.observe_read(&[(60, m(30.0))]);
    later.observe_read(&[(60, m(40.0)), (120, m(1.0))]);
    assert!(later.has(60) && !later.has(120));
    assert_eq!(later.read(&S).canary.0, 40.0);
}

#[test]
fn the_newest_evidence_is_the_newest_minute_with_errors_on_both_sides_serving() {
    let m = |canary_requests: f64, stable_requests: f64, errors: f64| MinuteCounts {
        canary_requests,
        canary_errors: errors,
        stable_requests,
        stable_errors: 0.0,
        ..Default::default()
    };
    let mut e = Evidence::default();
    assert_eq!(e.newest_evidence(), None);
    e.observe(60, m(100.0, 900.0, 5.0));
    e.observe(120, m(100.0, 900.0, 0.0)); // no 5xx: no evidence
    e.observe(180, m(1000.0, 0.0, 50.0)); // all traffic on the canary: no evidence
    assert_eq!(e.newest_evidence(), Some(60));
}
