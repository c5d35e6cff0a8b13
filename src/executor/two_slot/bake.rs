//! The Bake step on CloudWatch's clock: hold the weight and, every `analysis-interval`, judge
//! the minutes of the step that CloudWatch has published, as a whole and the most recent ones
//! alone. The step is over when its bake time has passed *and* every minute it covers is
//! published; if CloudWatch has not published them by `metrics-delay` past the bake, the step
//! is inconclusive, never a pass. Limits on failures and errors decide, as in Argo Rollouts.

use std::time::{Duration, SystemTime};

use super::super::cancel::{race, sleep_or_cancel};
use super::super::{log, Cancel, StepRecord};
use super::comparison::{compare_step, Call, MinuteP99s};
use super::{Ended, Flow, Run};
use crate::domain::analysis::{judge, FiringAlarm, Measurement, StepAnalysis, StepStatus, TargetGroupMetrics, Verdict};
use crate::domain::metric_gate::GateReading;
use crate::domain::minutes::{recent, total, Coverage};
use crate::domain::report::Comparison;
use crate::domain::rollout::Failure;

/// One look at the step's published minutes, the baseline's and the alarms.
pub(crate) struct Look {
    pub m: Measurement,
    pub coverage: Coverage,
    pub firing: Vec<FiringAlarm>,
    /// Each side's per-minute p99 over the step's published minutes (`judge: compare`).
    pub p99s: MinuteP99s,
}

pub(super) async fn bake(
    run: &mut Run<'_, '_>,
    weight: u8,
    duration: Duration,
    interval: Duration,
    cancel: &mut Cancel,
) -> Flow {
    let ports = run.ports;
    let clock = run.pc.clock;
    let set_at = run.weight_set_at;
    let bake_end = set_at + duration;
    let mut expected = clock.minutes(set_at, bake_end.max(set_at + Duration::from_millis(1)));
    // The minute the weight was set in is partial: at low traffic the new slot may get no
    // request in it at all, and an ALB publishes nothing for a minute without requests, so
    // waiting for it could only end inconclusive. The step is judged from its first whole minute.
    if expected.len() > 1 && expected[0] < set_at {
        expected.remove(0);
    }
    // CloudWatch's delay runs from the end of the step's last minute.
    let last_minute_end = expected.last().map_or(bake_end, |m| *m + clock.minute);
    let deadline = last_minute_end.max(bake_end) + clock.max_delay;
    let mut analysis = StepAnalysis::default();
    let mut seen: Option<(usize, u64)> = None;
    let mut waiting_said = false;
    let mut compared: Option<Comparison> = None;
    loop {
        let now = ports.clock.now();
        let until = if now < bake_end { bake_end } else { deadline };
        let nap = interval.min(until.duration_since(now).unwrap_or_default());
        let look = match sleep_or_cancel(ports, nap, cancel).await {
            true => None,
            false => race(cancel, look(run, &expected)).await,
        };
        let Some(look) = look else {
            let canary = analysis.last_measurement.map(|m| m.canary);
            record(run, weight, "cancelled".into(), canary, compared);
            return Flow::End(Ended::Cancelled);
        };
        let verdict = judge(&look.m, &run.pc.thresholds);
        // The same published data judged twice is one measurement, not two (failure-limit).
        let data = (look.coverage.published.len(), look.coverage.requests.round() as u64);
        let fresh = seen != Some(data) || !look.firing.is_empty() || matches!(verdict, Verdict::Error(_));
        // The newest minute may still grow after it is first published: the step's data is
        // final only once a complete read is the same as the one before it.
        let settled = !fresh && look.coverage.complete();
        seen = Some(data);
        let canary = look.m.canary;
        if fresh {
            let line = format!("analysis at {weight}%: {} → {verdict}", summary(&canary, &look));
            log::info(&line);
            ports.reporter.progress(&ports.stage, &line).await;
            let baseline = look.m.baseline;
            if let StepStatus::Failed(reason) = analysis.record(look.m, verdict, &run.pc.limits) {
                let (at, reason) = attribute(run, weight, &look.firing, reason);
                record(run, weight, format!("fail: {reason}"), Some(canary), compared);
                return Flow::End(Ended::Failed(Failure::Analysis { weight: at, reason }));
            }
            // Without traffic on the stable version (the 100% step) there is nothing to compare.
            let baseline = baseline.filter(|b| b.requests >= run.pc.thresholds.min_requests);
            if let (Some(cj), Some(baseline)) = (run.pc.compare, baseline) {
                let halfway = ports.clock.now() >= set_at + duration / 2;
                let (call, evidence) = compare_step(cj, &canary, &baseline, &look.p99s, expected.len());
                compared = Some(evidence);
                match call {
                    Call::Worse(text) => {
                        let reason = format!("worse than the stable version: {text}");
                        record(run, weight, format!("fail: {reason}"), Some(canary), compared);
                        return Flow::End(Ended::Failed(Failure::Analysis { weight, reason }));
                    }
                    Call::NotWorse(text) if cj.early_pass && halfway => {
                        log::info(&format!(
                            "analysis at {weight}%: not worse than the stable version ({text}): passing early"
                        ));
                        record(run, weight, format!("pass early ({text})"), Some(canary), compared);
                        return Flow::Next;
                    }
                    Call::NotWorse(text) | Call::Undecided(text) => {
                        log::info(&format!("comparison at {weight}%: {text}"))
                    }
                }
            }
        }
        let now = ports.clock.now();
        if now < bake_end {
            continue;
        }
        let covered = look.coverage.describe(&clock);
        if settled || (now >= deadline && look.coverage.complete()) {
            return conclude(run, weight, &analysis, (canary, compared), &covered);
        }
        if now >= deadline {
            let reason = format!(
                "{covered}: CloudWatch had not published the step's other minutes within metrics-delay ({})",
                humantime::format_duration(clock.max_delay)
            );
            return inconclusive(run, weight, reason, (canary, compared));
        }
        if !waiting_said {
            log::info(&format!(
                "bake time over; waiting for CloudWatch to publish the step's last minutes ({covered})"
            ));
            waiting_said = true;
        }
    }
}

/// The step's verdict once all its minutes are in: the last measurement decides.
fn conclude(
    run: &mut Run<'_, '_>,
    weight: u8,
    analysis: &StepAnalysis,
    (canary, compared): (TargetGroupMetrics, Option<Comparison>),
    covered: &str,
) -> Flow {
    match analysis.conclude(run.pc.on_inconclusive) {
        Ok(None) => {
            record(run, weight, format!("pass ({covered})"), Some(canary), compared);
            Flow::Next
        }
        Ok(Some(note)) => {
            log::warning("Inconclusive analysis", &note);
            record(run, weight, note, Some(canary), compared);
            Flow::Next
        }
        Err(reason) => {
            record(run, weight, format!("fail: {reason}"), Some(canary), compared);
            Flow::End(Ended::Failed(Failure::Analysis { weight, reason }))
        }
    }
}

fn inconclusive(
    run: &mut Run<'_, '_>,
    weight: u8,
    reason: String,
    (canary, compared): (TargetGroupMetrics, Option<Comparison>),
) -> Flow {
    match run.pc.on_inconclusive {
        crate::domain::analysis::OnInconclusive::Continue => {
            let note = format!("inconclusive, continuing as configured: {reason}");
            log::warning("Inconclusive analysis", &note);
            record(run, weight, note, Some(canary), compared);
            Flow::Next
        }
        crate::domain::analysis::OnInconclusive::Fail => {
            let reason = format!("inconclusive: {reason}");
            record(run, weight, format!("fail: {reason}"), Some(canary), compared);
            Flow::End(Ended::Failed(Failure::Analysis { weight, reason }))
        }
    }
}

fn record(
    run: &mut Run<'_, '_>,
    weight: u8,
    verdict: String,
    canary: Option<TargetGroupMetrics>,
    comparison: Option<Comparison>,
) {
    let seconds = super::super::elapsed(run.ports, run.weight_set_at).as_secs_f64();
    run.timeline.push(StepRecord {
        weight,
        started_at: Some(run.weight_set_at),
        seconds,
        canary,
        verdict,
        comparison,
    });
}

fn summary(c: &TargetGroupMetrics, look: &Look) -> String {
    let rate = c
        .error_rate()
        .map(|r| format!("{:.2}%", r * 100.0))
        .unwrap_or_else(|| "n/a".into());
    let p99 = c.p99_ms.map(|p| format!("{p:.0} ms")).unwrap_or_else(|| "n/a".into());
    let refused = if c.connection_errors > 0.0 {
        format!(" (with {:.0} connection errors)", c.connection_errors)
    } else {
        String::new()
    };
    let gates: String = look
        .m
        .gates
        .iter()
        .map(|g| match g.value {
            Some(v) => format!(", {} {v:.3}", g.gate),
            None => format!(", {} n/a", g.gate),
        })
        .collect();
    format!(
        "5xx {rate}{refused}, p99 {p99}{gates} over {}",
        look.m.coverage.clone().unwrap_or_default()
    )
}

/// A firing alarm whose breaching data comes from an earlier step is that step's failure: the
/// alarm fired late because CloudWatch publishes late, not because this step is bad.
fn attribute(run: &Run<'_, '_>, weight: u8, firing: &[FiringAlarm], reason: String) -> (u8, String) {
    let Some(alarm) = firing.first() else {
        return (weight, reason);
    };
    let clock = run.pc.clock;
    let since = alarm
        .since
        .map(|t| format!(" since {}", clock.label(t)))
        .unwrap_or_default();
    let Some(from) = alarm.data_from else {
        return (weight, format!("{reason}{since}"));
    };
    let at = run
        .step_starts
        .iter()
        .rev()
        .find(|(_, t)| clock.floor(*t) <= from)
        .map(|(w, _)| *w)
        .unwrap_or(weight);
    let step = if at == weight {
        "this step".to_string()
    } else {
        format!("the {at}% step")
    };
    (
        at,
        format!("{reason}{since}, on data from {} ({step})", clock.label(from)),
    )
}

/// Reads the step's minutes from their first to now (the canary's, and the stable slot's
/// when a relative gate needs them) and the alarms. Alarms are read whatever the metrics did:
/// a firing alarm is evidence on its own.
pub(super) async fn look(run: &Run<'_, '_>, expected: &[SystemTime]) -> Look {
    let topo = &run.topo;
    let sides = Sides {
        lb: &topo.lb_dimension,
        canary_tg: &topo.idle.target_group,
        baseline_tg: &topo.live.target_group,
        canary_service: &topo.idle.state.name,
    };
    look_at(run.ports, &run.cfg.cluster, run.pc, &sides, run.weight_set_at, expected).await
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

/// One look at the minutes from `expected`'s first to now, since the weight was set at `set_at`.
pub(crate) async fn look_at(
    ports: &super::super::Ports<'_>,
    cluster: &str,
    pc: &crate::domain::settings::ProgressiveConfig,
    sides: &Sides<'_>,
    set_at: SystemTime,
    expected: &[SystemTime],
) -> Look {
    let now = ports.clock.now();
    let start = expected.first().copied().unwrap_or(now);
    let mut m = Measurement {
        window_secs: now.duration_since(set_at).map(|d| d.as_secs()).unwrap_or(0),
        ..Default::default()
    };
    let mut errors = Vec::new();
    let mut coverage = Coverage::of(expected.to_vec(), &[]);
    let mut p99s = MinuteP99s::default();
    let p99s_of = |minutes: &[crate::domain::minutes::MinuteMetrics]| -> Vec<f64> {
        minutes
            .iter()
            .filter(|x| expected.contains(&x.start))
            .filter_map(|x| x.p99_ms)
            .collect()
    };
    let lb = sides.lb;
    match ports
        .metrics
        .target_group_minutes(lb, sides.canary_tg, start, now)
        .await
    {
        Ok(minutes) => {
            coverage = Coverage::of(expected.to_vec(), &minutes);
            m.canary = total(minutes.iter().filter(|x| expected.contains(&x.start)));
            p99s.canary = p99s_of(&minutes);
            if pc.recent_minutes > 0 && coverage.published.len() > pc.recent_minutes {
                m.recent = recent(&minutes, expected, pc.recent_minutes)
                    .map(|(w, first, last)| (w, pc.clock.span(first, last)));
            }
        }
        Err(e) => errors.push(e.to_string()),
    }
    m.coverage = Some(coverage.describe(&pc.clock));
    if pc.thresholds.max_error_rate_increase.is_some() || pc.compare.is_some() {
        match ports
            .metrics
            .target_group_minutes(lb, sides.baseline_tg, start, now)
            .await
        {
            Ok(minutes) => {
                m.baseline = Some(total(minutes.iter().filter(|x| expected.contains(&x.start))));
                p99s.baseline = p99s_of(&minutes);
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
        p99s,
    }
}
