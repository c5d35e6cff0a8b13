//! The latency evidence on seeded rollouts: valid under optional stopping at the objective,
//! powerful past it. Looks after every minute, the most often the action could.

use super::*;
use crate::domain::seeded::{share, Rng};

const ALPHA: f64 = 0.05;

/// The new version's requests in each minute of a 5-step rollout at `per_minute`: 5, 10, 25
/// and 50% for 5 minutes each, then 100% for 5.
fn requests(per_minute: f64) -> Vec<f64> {
    [5.0, 10.0, 25.0, 50.0, 100.0]
        .iter()
        .flat_map(|w| std::iter::repeat_n((per_minute * w / 100.0).round(), 5))
        .collect()
}

/// One rollout whose requests are each slower than the limit with chance `p`, looked at after
/// every minute: the first minute whose look rolls it back.
fn caught_at(rng: &mut Rng, per_minute: f64, p: f64) -> Option<usize> {
    let mut e = SlowEvidence::default();
    for (i, n) in requests(per_minute).into_iter().enumerate() {
        let slow = rng.binomial_count(n as u64, p);
        e.minutes.observe(i as u64 * 60, SlowMinute { requests: n, slow });
        if e.read(500.0, ALPHA).worse() {
            return Some(i + 1);
        }
    }
    None
}

#[test]
fn at_the_objective_at_most_alpha_of_rollouts_are_rolled_back() {
    for (seed, per_minute) in [(1, 6000.0), (2, 1000.0), (3, 200.0)] {
        let mut rng = Rng(seed);
        let (rate, _) = share(1000, || caught_at(&mut rng, per_minute, OBJECTIVE_SHARE));
        println!("objective at {per_minute}/min: false rollbacks {rate}");
        assert!(rate <= ALPHA, "{per_minute}/min: {rate}");
    }
}

#[test]
fn a_p99_twice_past_the_objective_share_is_caught_before_full_traffic() {
    // 2% slower than the limit where the objective allows 1%.
    for (seed, per_minute, within) in [(4, 6000.0, 10), (5, 1000.0, 20)] {
        let mut rng = Rng(seed);
        let (rate, median) = share(500, || caught_at(&mut rng, per_minute, 2.0 * OBJECTIVE_SHARE));
        println!("2× at {per_minute}/min: caught {rate}, median minute {median}");
        assert!(rate >= 0.9, "{per_minute}/min: caught {rate}");
        assert!(median <= within, "{per_minute}/min: median minute {median}");
    }
}

#[test]
fn a_hanging_dependency_is_caught_in_the_first_minutes() {
    // 10% of requests slower than the limit, 300 requests a minute at 5%.
    let mut rng = Rng(6);
    let (rate, median) = share(500, || caught_at(&mut rng, 6000.0, 0.10));
    assert!(rate == 1.0 && median <= 2, "caught {rate}, median minute {median}");
}

#[test]
fn a_healthy_small_canary_says_nothing_against_itself() {
    // 50 requests a minute, none slower: the evidence only falls.
    let mut e = SlowEvidence::default();
    for i in 0..10 {
        e.minutes.observe(
            i * 60,
            SlowMinute {
                requests: 50.0,
                slow: 0.0,
            },
        );
    }
    let r = e.read(300.0, ALPHA);
    assert!(r.evidence < 1.0 && !r.worse(), "{r:?}");
    assert!(r.describe().contains("0 of 500 requests slower"), "{}", r.describe());
}

#[test]
fn the_reading_names_the_limit_the_counts_and_what_a_rollback_needs() {
    let mut e = SlowEvidence::default();
    e.observe_read(&[
        (
            0,
            SlowMinute {
                requests: 600.0,
                slow: 60.0,
            },
        ),
        (
            60,
            SlowMinute {
                requests: 600.0,
                slow: 30.0,
            },
        ),
    ]);
    let r = e.read(500.0, ALPHA);
    assert_eq!(
        (r.minutes, r.slow, r.requests),
        (1, 60.0, 600.0),
        "the newest minute waits"
    );
    assert!(r.worse());
    let text = r.describe();
    assert!(
        text.starts_with("p99 latency above 500 ms: 60 of 600 requests slower (10.0%") && text.contains("needs 20"),
        "{text}"
    );
}
