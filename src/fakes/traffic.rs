//! An ALB listener as state (weights and every change to them), metrics that follow the
//! weights, and a smoke check.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::throttled;
use crate::domain::analysis::FiringAlarm;
use crate::domain::minutes::{MetricsClock, MinuteMetrics};
use crate::error::AwsError;
use crate::ports::{ForwardWeights, Metrics, SmokeCheck, Stickiness, TargetHealth, TrafficRouter, TrafficSplitRef};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// (target group, weight) as a forward action lists them.
type Weights = Vec<(String, i32)>;

/// The listener's weights, every change to them in order, and ELB's late writes: a change
/// whose attempt timed out is applied anyway, after a newer one (the request was in flight).
pub struct FakeRouter {
    pub weights: Mutex<Vec<(String, i32)>>,
    pub history: Mutex<Vec<Vec<(String, i32)>>>,
    /// Target group whose weight `history_of` and the metrics follow.
    pub canary_group: String,
    /// Set by a test: the next change times out (at this time) and lands late.
    pub abandon_next_at: Mutex<Option<SystemTime>>,
    /// The abandoned change, and whether a newer one has been made since (then it lands right
    /// after that newer change has been read back).
    late: Mutex<Option<(Weights, bool)>>,
    uncertain_at: Mutex<Option<SystemTime>>,
    /// The forward action's target-group stickiness (a test sets it; a rollback may turn it off).
    pub stickiness: Mutex<Option<Duration>>,
    /// Reads and writes of the forward action, with their place in every fake's calls.
    calls: Mutex<Vec<(u64, String)>>,
}

impl FakeRouter {
    pub fn new(weights: &[(&str, i32)], canary_group: &str) -> FakeRouter {
        FakeRouter {
            weights: Mutex::new(weights.iter().map(|(t, w)| (t.to_string(), *w)).collect()),
            history: Mutex::new(vec![]),
            canary_group: canary_group.into(),
            abandon_next_at: Mutex::new(None),
            late: Mutex::new(None),
            uncertain_at: Mutex::new(None),
            stickiness: Mutex::new(None),
            calls: Mutex::new(vec![]),
        }
    }

    /// The listener's reads (`DescribeListeners`) and writes (`ModifyListener`), each with its
    /// place in the order of every fake's calls (`fakes::next_call`).
    pub fn ordered_calls(&self) -> Vec<(u64, String)> {
        lock(&self.calls).clone()
    }

    pub fn weight_of(&self, tg: &str) -> i32 {
        lock(&self.weights)
            .iter()
            .find(|(t, _)| t == tg)
            .map(|(_, w)| *w)
            .unwrap_or(0)
    }

    /// The canary group's weight after each change, in order.
    pub fn canary_history(&self) -> Vec<i32> {
        lock(&self.history)
            .iter()
            .map(|w| {
                w.iter()
                    .find(|(tg, _)| *tg == self.canary_group)
                    .map(|(_, w)| *w)
                    .unwrap_or(0)
            })
            .collect()
    }
}

#[async_trait]
impl TrafficRouter for FakeRouter {
    async fn forward_weights(&self, _: &TrafficSplitRef) -> Result<ForwardWeights, AwsError> {
        lock(&self.calls).push((super::next_call(), "DescribeListeners".into()));
        let read = lock(&self.weights).clone();
        // The late write lands just after the newer change read back right.
        let mut late = lock(&self.late);
        if let Some((w, true)) = late.as_ref() {
            *lock(&self.weights) = w.clone();
            *late = None;
        }
        Ok(ForwardWeights {
            weights: read,
            load_balancer_dimension: "app/shop/1111".into(),
            stickiness: *lock(&self.stickiness),
        })
    }
    async fn set_weights(
        &self,
        split: &TrafficSplitRef,
        weights: &[(String, i32)],
        stickiness: Stickiness,
    ) -> Result<(), AwsError> {
        lock(&self.calls).push((super::next_call(), "ModifyListener".into()));
        if stickiness == Stickiness::TurnOff {
            *lock(&self.stickiness) = None;
        }
        if let Some(at) = lock(&self.abandon_next_at).take() {
            *lock(&self.late) = Some((weights.to_vec(), false));
            *lock(&self.uncertain_at) = Some(at);
            return Err(throttled("ModifyListener", split.arn()));
        }
        *lock(&self.weights) = weights.to_vec();
        lock(&self.history).push(weights.to_vec());
        if let Some((w, newer)) = lock(&self.late).as_mut() {
            *newer |= w.as_slice() != weights;
        }
        Ok(())
    }
    fn uncertain_write_at(&self) -> Option<SystemTime> {
        *lock(&self.uncertain_at)
    }
    async fn target_health(&self, _: &str) -> Result<Vec<TargetHealth>, AwsError> {
        Ok((0..4)
            .map(|i| TargetHealth {
                target: format!("10.0.0.{i}"),
                state: crate::domain::traffic::TargetState::Healthy,
                reason: String::new(),
            })
            .collect())
    }
}

/// CloudWatch as the ALB publishes to it: minute buckets (`minute`) that become readable
/// `lag` after they end. Each minute the canary group gets its share, by its weight at the
/// time of the read, of 2,000 requests; alarms fire once the canary's weight reaches `alarm_at`.
pub struct FakeMetrics<'a> {
    pub router: &'a FakeRouter,
    pub canary_error_rate: f64,
    pub alarm_at: Option<i32>,
    pub minute: Duration,
    pub lag: Duration,
    /// Metric queries fail (a CloudWatch brown-out); alarms are still read.
    pub metrics_fail: bool,
    /// Metric queries hang until this is cleared (a CloudWatch call that never answers).
    pub hang: AtomicBool,
    /// How many queries are hanging now.
    pub hanging: AtomicU32,
    /// Alarm names that do not exist (DescribeAlarms does not find them).
    pub missing_alarms: Vec<String>,
    /// Every custom gate's value in each published minute (None: no datapoints).
    pub gate_value: Option<f64>,
}

impl<'a> FakeMetrics<'a> {
    pub fn new(router: &'a FakeRouter, canary_error_rate: f64) -> FakeMetrics<'a> {
        FakeMetrics {
            router,
            canary_error_rate,
            alarm_at: None,
            minute: Duration::from_secs(60),
            lag: Duration::ZERO,
            metrics_fail: false,
            hang: AtomicBool::new(false),
            hanging: AtomicU32::new(0),
            missing_alarms: vec![],
            gate_value: None,
        }
    }
}

#[async_trait]
impl Metrics for FakeMetrics<'_> {
    async fn gate_minutes(
        &self,
        _: &str,
        _: &crate::domain::metric_gate::GateSource,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<(SystemTime, f64)>, AwsError> {
        let Some(v) = self.gate_value else {
            return Ok(vec![]);
        };
        let clock = MetricsClock {
            minute: self.minute,
            max_delay: self.lag,
        };
        Ok(clock
            .minutes(start, end)
            .into_iter()
            .filter(|m| *m + self.minute + self.lag <= end)
            .map(|m| (m, v))
            .collect())
    }
    async fn target_group_minutes(
        &self,
        _: &str,
        tg: &str,
        (start, end): (SystemTime, SystemTime),
        slow_above: Option<Duration>,
    ) -> Result<Vec<MinuteMetrics>, AwsError> {
        if self.hang.load(Ordering::SeqCst) {
            self.hanging.fetch_add(1, Ordering::SeqCst);
            return std::future::pending().await;
        }
        if self.metrics_fail {
            return Err(throttled("GetMetricData", tg));
        }
        let canary = *tg == self.router.canary_group;
        let weight = self.router.weight_of(&self.router.canary_group);
        let share = f64::from(if canary { weight } else { 100 - weight }) / 100.0;
        let requests = 2_000.0 * share;
        let rate = if canary { self.canary_error_rate } else { 0.0 };
        let clock = MetricsClock {
            minute: self.minute,
            max_delay: self.lag,
        };
        Ok(clock
            .minutes(start, end)
            .into_iter()
            .filter(|m| *m + self.minute + self.lag <= end && requests > 0.0)
            .map(|m| MinuteMetrics {
                start: m,
                requests,
                errors_5xx: requests * rate,
                p99_ms: Some(FAKE_P99_MS),
                connection_errors: 0.0,
                unanswered: 0.0,
                unhealthy_hosts: 0.0,
                // Every request takes the p99's time: all slow past a limit below it, none above.
                slow: slow_above.map(|limit| {
                    if limit.as_secs_f64() * 1000.0 < FAKE_P99_MS {
                        requests
                    } else {
                        0.0
                    }
                }),
            })
            .collect())
    }
    async fn alarms_firing(&self, alarms: &[String]) -> Result<Vec<FiringAlarm>, AwsError> {
        if let Some(missing) = alarms.iter().find(|a| self.missing_alarms.contains(a)) {
            return Err(AwsError {
                operation: "cloudwatch:DescribeAlarms",
                resource: format!("alarm {missing}"),
                message: "no such alarm".into(),
                kind: crate::error::AwsErrorKind::NotFound,
            });
        }
        Ok(match self.alarm_at {
            Some(at) if self.router.weight_of(&self.router.canary_group) >= at => alarms
                .iter()
                .map(|name| FiringAlarm {
                    name: name.clone(),
                    since: None,
                    data_from: None,
                })
                .collect(),
            _ => vec![],
        })
    }
}

/// The fake's response time in every minute, in milliseconds.
const FAKE_P99_MS: f64 = 80.0;

/// A smoke check that always gets 200.
pub struct FakeSmoke;

#[async_trait]
impl SmokeCheck for FakeSmoke {
    async fn get(&self, _: &str, _: Duration) -> Result<u16, String> {
        Ok(200)
    }
}
