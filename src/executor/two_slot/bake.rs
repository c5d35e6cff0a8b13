//! The Bake step: hold the weight and measure every `analysis-interval` over the window since
//! the weight was set; limits on failures and errors decide, and no data is never a pass.

use std::time::{Duration, SystemTime};

use super::super::cancel::{race, sleep_or_cancel};
use super::super::{log, Cancel, StepRecord};
use super::{Ended, Flow, Run};
use crate::domain::analysis::{judge, Measurement, StepAnalysis, StepStatus, TargetGroupMetrics};
use crate::domain::rollout::Failure;

pub async fn bake(
    run: &mut Run<'_, '_>,
    weight: u8,
    duration: Duration,
    interval: Duration,
    cancel: &mut Cancel,
) -> Flow {
    let ports = run.ports;
    let step_start = run.weight_set_at;
    let bake_end = ports.clock.now() + duration;
    let mut analysis = StepAnalysis::default();
    let record = |run: &mut Run<'_, '_>, verdict: String, canary: Option<TargetGroupMetrics>| {
        run.timeline.push(StepRecord {
            weight,
            seconds: super::super::elapsed(ports, step_start).as_secs_f64(),
            canary,
            verdict,
        });
    };
    loop {
        let until_next = interval.min(bake_end.duration_since(ports.clock.now()).unwrap_or(Duration::ZERO));
        if sleep_or_cancel(ports, until_next, cancel).await {
            record(run, "cancelled".into(), analysis.last_measurement.map(|m| m.canary));
            return Flow::End(Ended::Cancelled);
        }
        let Some(m) = race(cancel, measure(run, step_start)).await else {
            record(run, "cancelled".into(), analysis.last_measurement.map(|m| m.canary));
            return Flow::End(Ended::Cancelled);
        };
        let verdict = judge(&m, &run.pc.thresholds);
        let rate = m
            .canary
            .error_rate()
            .map(|r| format!("{:.2}%", r * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let line = format!(
            "analysis at {weight}%: {} requests, 5xx {rate}, p99 {} → {verdict}",
            m.canary.requests.round(),
            m.canary
                .p99_ms
                .map(|p| format!("{p:.0} ms"))
                .unwrap_or_else(|| "n/a".into())
        );
        log::info(&line);
        ports.reporter.progress(&ports.stage, &line).await;
        let canary = m.canary;
        if let StepStatus::Failed(reason) = analysis.record(m, verdict, &run.pc.limits) {
            record(run, format!("fail: {reason}"), Some(canary));
            return Flow::End(Ended::Failed(Failure::Analysis { weight, reason }));
        }
        if ports.clock.now() >= bake_end {
            return match analysis.conclude(run.pc.on_inconclusive) {
                Ok(None) => {
                    record(run, "pass".into(), Some(canary));
                    Flow::Next
                }
                Ok(Some(note)) => {
                    log::warning("Inconclusive analysis", &note);
                    record(run, note, Some(canary));
                    Flow::Next
                }
                Err(reason) => {
                    record(run, format!("fail: {reason}"), Some(canary));
                    Flow::End(Ended::Failed(Failure::Analysis { weight, reason }))
                }
            };
        }
    }
}

/// One look at the canary, the baseline (when a relative gate needs it) and the alarms.
/// Alarms are read whatever the metrics did: a firing alarm is evidence on its own.
async fn measure(run: &Run<'_, '_>, since: SystemTime) -> Measurement {
    let ports = run.ports;
    let topo = &run.topo;
    let pc = run.pc;
    let now = ports.clock.now();
    let window_secs = now.duration_since(since).map(|d| d.as_secs()).unwrap_or(0);
    let mut m = Measurement {
        window_secs,
        ..Default::default()
    };
    let mut errors = Vec::new();
    match ports
        .metrics
        .target_group(&topo.lb_dimension, &topo.idle.target_group, since, now)
        .await
    {
        Ok(c) => m.canary = c,
        Err(e) => errors.push(e.to_string()),
    }
    if pc.thresholds.max_error_rate_increase.is_some() {
        match ports
            .metrics
            .target_group(&topo.lb_dimension, &topo.live.target_group, since, now)
            .await
        {
            Ok(b) => m.baseline = Some(b),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !pc.alarms.is_empty() {
        match ports.metrics.alarms_firing(&pc.alarms).await {
            Ok(firing) => m.alarms_firing = firing,
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        m.query_error = Some(errors.join("; "));
    }
    m
}
