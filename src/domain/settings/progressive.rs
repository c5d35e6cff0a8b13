//! The two-slot strategies' settings (blue/green, canary, linear, all-at-once), also used to judge
//! an ECS-native or CodeDeploy rollout.

use std::time::Duration;

use crate::domain::analysis::{Limits, OnInconclusive, Thresholds};
use crate::domain::minutes::MetricsClock;
use crate::domain::strategy::Bake;
use crate::domain::traffic::TrafficSplitRef;

/// What to do when a run finds traffic already split (an earlier run was killed mid-rollout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSplit {
    Rollback,
    Continue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgressiveConfig {
    /// The two slot services, in the order given.
    pub slots: [String; 2],
    pub split: TrafficSplitRef,
    pub test_listener: Option<TrafficSplitRef>,
    pub bake: Bake,
    pub alarms: Vec<String>,
    pub thresholds: Thresholds,
    pub limits: Limits,
    pub on_inconclusive: OnInconclusive,
    pub smoke_url: Option<String>,
    pub smoke_timeout: Duration,
    pub keep_old_for: Duration,
    pub on_split: OnSplit,
    pub sticky_rollback: StickyRollback,
    /// `judge: compare`: canary against baseline by the evidence (None: thresholds only).
    pub compare: Option<CompareJudge>,
    /// CloudWatch's minute and the longest it takes to publish one (`metrics-delay`).
    pub clock: MetricsClock,
    /// How many of the latest published minutes are also judged alone (`recent-window`).
    pub recent_minutes: usize,
    /// Custom metric gates (`metrics:` in the config file), judged on every bake.
    pub gates: Vec<crate::domain::metric_gate::MetricGate>,
}

/// What a rollback does about clients pinned to the new slot by target-group stickiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickyRollback {
    /// Stickiness off with the weights: pinned clients follow them back at once.
    Unstick,
    /// Stickiness kept; the new slot keeps serving its pinned clients until their cookies expire.
    KeepServing,
}

impl ProgressiveConfig {
    /// The latency test's chance of a false rollback over a whole rollout: its share of
    /// `1 − judge-confidence` with `judge: compare` (the 5xx test has the rest), 5% with
    /// `judge: threshold`.
    pub fn latency_alpha(&self) -> f64 {
        self.compare.map_or(0.05, |c| c.latency_alpha())
    }

    /// `max-p99-latency` as the limit a slow request is counted past.
    pub fn slow_above(&self) -> Option<std::time::Duration> {
        self.thresholds
            .max_p99_ms
            .map(|ms| std::time::Duration::from_secs_f64(ms / 1000.0))
    }

    /// Against a simulator that runs `scale` times faster than real time, CloudWatch's minute,
    /// its delay and the analysis interval (a count of CloudWatch minutes) shrink by as much
    /// (set by ECS_DEPLOY_TIME_SCALE; never on AWS). The interval keeps a floor of one real
    /// second (or what was set, if less) so that a fast clock never hammers the API; the floor
    /// only makes looks rarer than even scaling would, never more frequent.
    pub fn scale_metrics_clock(&mut self, scale: f64) {
        if scale > 1.0 {
            self.clock.minute = self.clock.minute.div_f64(scale);
            self.clock.max_delay = self.clock.max_delay.div_f64(scale);
            let floor = self.bake.interval.min(std::time::Duration::from_secs(1));
            self.bake.interval = self.bake.interval.div_f64(scale).max(floor);
        }
    }
}

/// The canary-vs-baseline judge's settings (`judge: compare`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareJudge {
    /// The chance of a false rollback allowed over a whole rollout (1 − `judge-confidence`).
    pub alpha: f64,
    /// How much higher, relative, the canary's 5xx rate may be than the stable version's and
    /// still be good (`judge-margin`: 0.1 is 1.1×).
    pub margin: f64,
    /// Pass a step as soon as the evidence says "not worse" (`early-pass`), after half its bake.
    pub early_pass: bool,
}

impl CompareJudge {
    /// The rollout's sequential test of the error rates: null ratio 1 + `judge-margin`, at
    /// its share of alpha.
    pub fn sequential(&self) -> crate::domain::sequential::Settings {
        crate::domain::sequential::Settings {
            null_ratio: 1.0 + self.margin,
            alpha: self.alpha * (1.0 - LATENCY_SHARE),
            promotion_alpha: self.alpha,
        }
    }

    /// The latency test's share of alpha (against `max-p99-latency`, or else the stable
    /// version's p99): the two tests together keep `judge-confidence`.
    pub fn latency_alpha(&self) -> f64 {
        self.alpha * LATENCY_SHARE
    }

    /// The latency comparison (no `max-p99-latency`): the canary is slower once it is shown
    /// to have more than twice the stable version's share of requests past the stable p99,
    /// that is once its own p98 is above the stable version's p99. A canary is never
    /// identical to stable (a cold cache, a JIT warming up), and a tail a few percent slower
    /// is not a regression to roll back; for the simulator's log-normal the line is a tail
    /// about 12% slower.
    pub fn slower(&self) -> crate::domain::sequential::Settings {
        crate::domain::sequential::Settings {
            null_ratio: SLOWER_NULL_RATIO,
            alpha: self.latency_alpha(),
            promotion_alpha: self.alpha,
        }
    }
}

/// The share of the false-rollback chance `1 − judge-confidence` the latency test has; the 5xx
/// test has the rest. The 5xx test gets most: a healthy canary is far more often near its 5xx
/// null than near the latency one (twice the stable share), and the 5xx test's power matters
/// more at low traffic. Promotion is a different error and keeps all of it.
pub const LATENCY_SHARE: f64 = 0.2;

/// See `CompareJudge::slower`.
pub const SLOWER_NULL_RATIO: f64 = 2.0;
