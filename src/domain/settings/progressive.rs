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
    /// `judge-confidence` with `judge: compare` (the 5xx test has the other half), 5% with
    /// `judge: threshold`.
    pub fn latency_alpha(&self) -> f64 {
        self.compare.map_or(0.05, |c| c.alpha)
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
    /// The rollout's sequential test of the error rates: null ratio 1 + `judge-margin`.
    pub fn sequential(&self) -> crate::domain::sequential::Settings {
        crate::domain::sequential::Settings {
            null_ratio: 1.0 + self.margin,
            alpha: self.alpha,
        }
    }
}
