//! The world the judges see: a two-slot rollout's requests and 5xx per minute, and when
//! CloudWatch publishes each minute, on the simulator's model (sim/aws/cw_clock.py): a minute
//! is readable 60–180 s after it ends; half of the minutes are first published with 60–95% of
//! their data and grow to the whole 20–60 s later.
//!
//! Every random draw of a minute comes from that minute's own seed, so each judge sees the
//! same world (common random numbers): only the weights it sets change what a minute holds.

use ecs_deploy_action::domain::minutes::MinuteMetrics;
use ecs_deploy_action::domain::seeded::{inverse_binomial, Rng};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One rollout's service: its requests a minute, the stable version's 5xx rate, and the
/// canary's rate as a multiple of it.
#[derive(Clone, Copy)]
pub struct Service {
    pub per_minute: f64,
    pub stable_rate: f64,
    pub ratio: f64,
}

/// A minute's draws, fixed by its seed.
struct Draws {
    canary_u: f64,
    stable_u: f64,
    lag: f64,
    partial: Option<(f64, f64)>,
}

pub struct World {
    pub service: Service,
    seed: u64,
    /// (time in seconds, canary weight in %) from the rollout's start.
    weights: Vec<(f64, f64)>,
}

/// One side's view of a minute at a moment: None until CloudWatch published it.
pub struct Published {
    pub canary: Vec<MinuteMetrics>,
    pub stable: Vec<MinuteMetrics>,
}

pub fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs)
}

impl World {
    pub fn new(service: Service, seed: u64) -> World {
        World {
            service,
            seed,
            weights: Vec::new(),
        }
    }

    pub fn set_weight(&mut self, t: f64, weight: f64) {
        self.weights.push((t, weight));
    }

    fn draws(&self, minute: u64) -> Draws {
        let mut r = Rng(self.seed ^ minute.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (canary_u, stable_u) = (r.uniform(), r.uniform());
        let lag = 60.0 + 120.0 * r.uniform();
        let partial = (r.uniform() < 0.5).then(|| (0.60 + 0.35 * r.uniform(), 20.0 + 40.0 * r.uniform()));
        Draws {
            canary_u,
            stable_u,
            lag,
            partial,
        }
    }

    /// The canary's average weight over a minute, as a share.
    fn share(&self, minute: u64) -> f64 {
        let (from, to) = (minute as f64 * 60.0, minute as f64 * 60.0 + 60.0);
        let mut total = 0.0;
        for (i, (t, w)) in self.weights.iter().enumerate() {
            let end = self.weights.get(i + 1).map_or(f64::INFINITY, |n| n.0);
            let overlap = (end.min(to) - t.max(from)).max(0.0);
            total += overlap * w / 100.0;
        }
        total / 60.0
    }

    /// Both sides' counts of a whole minute: requests split by the weights, 5xx binomial.
    fn minute(&self, minute: u64) -> (f64, f64, f64, f64) {
        let d = self.draws(minute);
        let s = self.service;
        let a = (s.per_minute * self.share(minute)).round();
        let b = s.per_minute - a;
        let x = inverse_binomial(a as u64, (s.stable_rate * s.ratio).min(1.0), d.canary_u);
        let y = inverse_binomial(b as u64, s.stable_rate, d.stable_u);
        (a, x, b, y)
    }

    /// What GetMetricData returns at `now` for the minutes from `from_minute` on.
    pub fn read(&self, from_minute: u64, now: f64) -> Published {
        let mut out = Published {
            canary: Vec::new(),
            stable: Vec::new(),
        };
        let mut k = from_minute;
        while (k + 1) as f64 * 60.0 <= now {
            let d = self.draws(k);
            let first = (k + 1) as f64 * 60.0 + d.lag;
            if first <= now {
                let share = match d.partial {
                    Some((part, grows)) if now < first + grows => part,
                    _ => 1.0,
                };
                let (a, x, b, y) = self.minute(k);
                let m = |req: f64, err: f64| MinuteMetrics {
                    start: at(k as f64 * 60.0),
                    requests: (req * share).round(),
                    errors_5xx: (err * share).round(),
                    p99_ms: None,
                    connection_errors: 0.0,
                    unanswered: 0.0,
                    unhealthy_hosts: 0.0,
                    slow: None,
                };
                if a > 0.0 {
                    out.canary.push(m(a, x));
                }
                if b > 0.0 {
                    out.stable.push(m(b, y));
                }
            }
            k += 1;
        }
        out
    }
}
