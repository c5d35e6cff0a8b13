//! One look at a rollout's CloudWatch minutes: the new version's, the stable version's (for
//! the comparison) and the alarms, shared by the two-slot bake and the server-side windows.

use std::time::SystemTime;

use super::Run;
use crate::domain::analysis::{FiringAlarm, Measurement};
use crate::domain::latency::{SlowEvidence, SlowMinute};
use crate::domain::metric_gate::GateReading;
use crate::domain::minutes::{paired, recent, total, Coverage, MinuteMetrics};
use crate::domain::report::SlowerReading;
use crate::domain::settings::ProgressiveConfig;
use crate::domain::slower::SlowerEvidence;

/// One look at the step's published minutes, the baseline's and the alarms.
pub(crate) struct Look {
    pub m: Measurement,
    pub coverage: Coverage,
    pub firing: Vec<FiringAlarm>,
    /// Both sides' published minutes as read, the new version's then the stable version's
    /// (with its minutes from before the rollout): the latency comparison's counts.
    pub minutes: (Vec<MinuteMetrics>, Vec<MinuteMetrics>),
    /// Both sides' published minutes since the rollout's first step, for its sequential test
    /// (`judge: compare`): a step's late minutes keep counting after the next weight is set.
    pub pairs: Vec<(u64, crate::domain::sequential::MinuteCounts)>,
    /// The new version's published minutes with their slow requests (`max-p99-latency`), for
    /// the rollout's latency test.
    pub slow: Vec<(u64, SlowMinute)>,
}

/// Reads the step's minutes from their first to now (the canary's, and the stable slot's
/// when a relative gate needs them) and the alarms. Alarms are read whatever the metrics did:
/// a firing alarm is evidence on its own.
impl Look {
    /// Feeds the rollout's latency evidence with this look's minutes and puts its reading in
    /// the measurement, which `judge` fails on once it shows the limit broken. Nothing without
    /// `max-p99-latency`.
    pub fn weigh_latency(&mut self, pc: &ProgressiveConfig, evidence: &mut SlowEvidence) {
        let Some(limit_ms) = pc.thresholds.max_p99_ms else {
            return;
        };
        evidence.observe_read(&self.slow);
        self.m.latency = Some(evidence.read(limit_ms, pc.latency_alpha()));
    }

    /// Feeds the rollout's latency comparison (`judge: compare` without `max-p99-latency`,
    /// which has its own test): fixes its limit from the stable version's minutes before
    /// `rollout_from` at the first look that has them, then counts both sides against it.
    pub fn weigh_slower(
        &self,
        pc: &ProgressiveConfig,
        rollout_from: Option<SystemTime>,
        evidence: &mut SlowerEvidence,
    ) -> Option<SlowerReading> {
        let cj = pc.compare.filter(|_| pc.thresholds.max_p99_ms.is_none())?;
        evidence.fix_limit(&self.minutes.1, pc.clock.floor(rollout_from?));
        evidence.observe_read(&self.minutes.0, &self.minutes.1);
        let reading = evidence.read(&cj.slower())?;
        Some(SlowerReading {
            reading,
            limit_ms: evidence.limit_ms()?,
        })
    }

    /// What makes two looks the same data: the canary's published minutes, requests and 5xx,
    /// and the stable version's compared counts. The same data judged twice is one measurement
    /// (`failure-limit`), and a step's data is final once a complete read repeats it.
    pub fn data(&self) -> DataKey {
        let stable = self.pairs.iter().fold((0.0, 0.0), |(r, e), (_, m)| {
            (r + m.stable_requests, e + m.stable_errors)
        });
        let slow: f64 = self
            .minutes
            .0
            .iter()
            .chain(&self.minutes.1)
            .filter_map(|m| m.slow)
            .sum();
        (
            self.coverage.published.len(),
            self.coverage.requests.round() as u64,
            self.m.canary.errors().round() as u64,
            (stable.0.round() as u64, stable.1.round() as u64),
            slow.round() as u64,
        )
    }
}

/// How many of CloudWatch's minutes before the rollout the stable version's are read as its
/// reference rate.
const REFERENCE_MINUTES: u32 = 10;

/// See `Look::data`.
pub(crate) type DataKey = (usize, u64, u64, (u64, u64), u64);

pub(super) async fn look(run: &Run<'_, '_>, expected: &[SystemTime]) -> Look {
    let topo = &run.topo;
    let sides = Sides {
        lb: &topo.lb_dimension,
        canary_tg: &topo.idle.target_group,
        baseline_tg: &topo.live.target_group,
        canary_service: &topo.idle.state.name,
    };
    let rollout_from = run.step_starts.first().map(|(_, t)| *t);
    look_at(
        run.ports,
        &run.cfg.cluster,
        run.pc,
        &sides,
        (run.weight_set_at, rollout_from),
        expected,
        run.slower.limit_ms(),
    )
    .await
}

/// What is compared: the new version's target group against the stable one's, behind one
/// load balancer (two slots, or ECS-native's target group and its alternate).
pub(crate) struct Sides<'a> {
    pub lb: &'a str,
    pub canary_tg: &'a str,
    pub baseline_tg: &'a str,
    /// The service the new version runs in (`${service}` of a metric gate).
    pub canary_service: &'a str,
}

/// One look at the minutes from `expected`'s first to now, since the weight was set at `set_at`;
/// with `judge: compare`, both sides from the rollout's first weight (`rollout_from`) on, their
/// requests slower than `compare_limit` (ms) counted once the latency comparison has one.
pub(crate) async fn look_at(
    ports: &super::super::Ports<'_>,
    cluster: &str,
    pc: &crate::domain::settings::ProgressiveConfig,
    sides: &Sides<'_>,
    (set_at, rollout_from): (SystemTime, Option<SystemTime>),
    expected: &[SystemTime],
    compare_limit: Option<f64>,
) -> Look {
    let now = ports.clock.now();
    let step_start = expected.first().copied().unwrap_or(now);
    let start = match (pc.compare, rollout_from) {
        (Some(_), Some(from)) => pc.clock.floor(from).min(step_start),
        _ => step_start,
    };
    let mut m = Measurement {
        window_secs: now.duration_since(set_at).map(|d| d.as_secs()).unwrap_or(0),
        ..Default::default()
    };
    let mut errors = Vec::new();
    let mut coverage = Coverage::of(expected.to_vec(), &[]);
    let mut canary_minutes = Vec::new();
    let mut stable_minutes = Vec::new();
    let mut slow = Vec::new();
    // The objective when there is one; else, with the comparison, the stable version's p99.
    let compare_above = match pc.slow_above() {
        Some(_) => None,
        None => compare_limit
            .filter(|_| pc.compare.is_some())
            .map(|ms| std::time::Duration::from_secs_f64(ms / 1000.0)),
    };
    let lb = sides.lb;
    match ports
        .metrics
        .target_group_minutes(lb, sides.canary_tg, (start, now), pc.slow_above().or(compare_above))
        .await
    {
        Ok(minutes) => {
            coverage = Coverage::of(expected.to_vec(), &minutes);
            m.canary = total(minutes.iter().filter(|x| expected.contains(&x.start)));
            canary_minutes.clone_from(&minutes);
            slow = slow_minutes(&minutes);
            if pc.recent_minutes > 0 && coverage.published.len() > pc.recent_minutes {
                m.recent = recent(&minutes, expected, pc.recent_minutes)
                    .map(|(w, first, last)| (w, pc.clock.span(first, last)));
            }
        }
        Err(e) => errors.push(e.to_string()),
    }
    m.coverage = Some(coverage.describe(&pc.clock));
    let mut pairs = Vec::new();
    if pc.thresholds.max_error_rate_increase.is_some() || pc.compare.is_some() {
        // With the comparison, the stable side is read from before the rollout too: its rate
        // then is the reference for a step with nothing beside it (the 100% step, blue/green).
        let stable_from = match (pc.compare, rollout_from) {
            (Some(_), Some(_)) => start.checked_sub(pc.clock.minute * REFERENCE_MINUTES).unwrap_or(start),
            _ => start,
        };
        match ports
            .metrics
            .target_group_minutes(lb, sides.baseline_tg, (stable_from, now), compare_above)
            .await
        {
            Ok(minutes) => {
                if pc.compare.is_some() {
                    m.reference = Some(total(minutes.iter()));
                }
                m.baseline = Some(total(minutes.iter().filter(|x| expected.contains(&x.start))));
                pairs = paired(&canary_minutes, &minutes);
                stable_minutes = minutes;
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    for gate in &pc.gates {
        let gate = gate.for_slot(cluster, sides.canary_service);
        match ports.metrics.gate_minutes(&gate.name, &gate.source, start, now).await {
            Ok(minutes) => {
                let values: Vec<f64> = minutes
                    .iter()
                    .filter(|(t, _)| expected.contains(t))
                    .map(|(_, v)| *v)
                    .collect();
                m.gates.push(GateReading::of(&gate, &values));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let mut firing = Vec::new();
    if !pc.alarms.is_empty() {
        match ports.metrics.alarms_firing(&pc.alarms).await {
            Ok(f) => firing = f,
            Err(e) => errors.push(e.to_string()),
        }
    }
    m.alarms_firing = firing.iter().map(|a| a.name.clone()).collect();
    if !errors.is_empty() {
        m.query_error = Some(errors.join("; "));
    }
    Look {
        m,
        coverage,
        firing,
        pairs,
        slow,
        minutes: (canary_minutes, stable_minutes),
    }
}

/// The minutes that carry a slow count, by start in seconds since the epoch.
fn slow_minutes(minutes: &[crate::domain::minutes::MinuteMetrics]) -> Vec<(u64, SlowMinute)> {
    minutes
        .iter()
        .filter_map(|m| {
            let secs = m.start.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
            let slow = m.slow?;
            let requests = (m.requests - m.connection_errors).max(0.0);
            Some((secs, SlowMinute { requests, slow }))
        })
        .collect()
}
