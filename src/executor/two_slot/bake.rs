//! The Bake step on CloudWatch's clock: hold the weight and, every `analysis-interval`, judge
//! the minutes of the step that CloudWatch has published, as a whole and the most recent ones
//! alone. The step is over when its bake time has passed *and* every minute it covers is
//! published; if CloudWatch has not published them by `metrics-delay` past the bake, the step
//! is inconclusive, never a pass. Limits on failures and errors decide, as in Argo Rollouts.

use std::time::{Duration, SystemTime};

use super::super::cancel::{race, sleep_or_cancel};
use super::super::{log, Cancel, StepRecord};
use super::comparison::{compare_step, Call};
use super::look::{look, Look};
use super::{Ended, Flow, Run};
use crate::domain::analysis::{
    elb_side_failures, judge, thousands, FiringAlarm, StepAnalysis, StepStatus, TargetGroupMetrics, Verdict,
};
use crate::domain::report::Comparison;
use crate::domain::rollout::Failure;
use crate::domain::sequential::Call as Evidence;

pub(super) async fn bake(
    run: &mut Run<'_, '_>,
    weight: u8,
    (duration, promotes): (Duration, bool),
    interval: Duration,
    cancel: &mut Cancel,
) -> Flow {
    let ports = run.ports;
    let clock = run.pc.clock;
    let set_at = run.weight_set_at;
    let mut bake_end = set_at + duration;
    let (mut expected, mut deadline) = step_minutes(&clock, set_at, bake_end);
    let mut extensions = 0;
    let mut analysis = StepAnalysis::default();
    let mut seen: Option<super::look::DataKey> = None;
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
        let Some(mut look) = look else {
            let canary = analysis.last_measurement.map(|m| m.canary);
            record(run, weight, "cancelled".into(), canary, compared);
            return Flow::End(Ended::Cancelled);
        };
        look.weigh_latency(run.pc, &mut run.slow);
        let rollout_from = run.step_starts.first().map(|(_, t)| *t);
        let latency = look.weigh_slower(run.pc, rollout_from, &mut run.slower);
        let verdict = judge(&look.m, &run.pc.thresholds);
        // The same published data judged twice is one measurement, not two (failure-limit).
        let data = look.data();
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
            let passed = verdict == Verdict::Pass;
            if let StepStatus::Failed(reason) = analysis.record(look.m, verdict, &run.pc.limits) {
                let (at, reason) = attribute(run, weight, &look.firing, reason);
                record(run, weight, format!("fail: {reason}"), Some(canary), compared);
                return Flow::End(Ended::Failed(Failure::Analysis { weight: at, reason }));
            }
            if let Some(cj) = run.pc.compare {
                run.evidence.observe_read(&look.pairs);
                let reading = run.evidence.read(&cj.sequential());
                let (call, evidence) = compare_step(reading, latency);
                compared = Some(evidence);
                // Early pass needs a stable version to have been compared with in this step.
                let halfway = ports.clock.now() >= set_at + duration / 2 && weight < 100;
                match call {
                    Call::Worse(reason) => {
                        record(run, weight, format!("fail: {reason}"), Some(canary), compared);
                        // Late minutes count: the failure is the step's that served them.
                        let newest = match reading.call() {
                            Evidence::Worse => run.evidence.newest_evidence(),
                            _ => run.slower.newest_evidence(),
                        };
                        let at = served_at(run, newest).unwrap_or(weight);
                        return Flow::End(Ended::Failed(Failure::Analysis { weight: at, reason }));
                    }
                    // So few 5xx on both sides that no ratio matters is a pass too, once this
                    // look's own measurement passed (it needs `min-requests`).
                    Call::NotWorse(text) | Call::TooFewErrors(text) if cj.early_pass && halfway && passed => {
                        log::info(&format!(
                            "analysis at {weight}%: not worse than the stable version ({text}): passing early"
                        ));
                        record(run, weight, format!("pass early ({text})"), Some(canary), compared);
                        return Flow::Next;
                    }
                    Call::NotWorse(text) | Call::TooFewErrors(text) | Call::Undecided(text) => {
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
            if let Some(reason) = unjudged_promotion(promotes, compared.as_ref()) {
                // Before 100% the evidence may need more minutes: bake again at this weight.
                if extensions < EXTENSIONS {
                    extensions += 1;
                    bake_end += duration;
                    (expected, deadline) = step_minutes(&clock, set_at, bake_end);
                    waiting_said = false;
                    log::info(&format!(
                        "analysis at {weight}%: the evidence has not decided before 100%; baking {} more at this weight ({extensions} of {EXTENSIONS})",
                        humantime::format_duration(duration)
                    ));
                    continue;
                }
                return inconclusive(run, weight, format!("{covered}: {reason}"), (canary, compared));
            }
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

/// How many more bake times the step before 100% may take when the sequential evidence has
/// not decided by its end (the judges' Monte Carlo: a healthy 1,000 requests/min service at
/// 0.5% 5xx needs them to stay within alpha; most rollouts never do).
const EXTENSIONS: u32 = 3;

/// A step's minutes from its first whole one (the minute the weight was set in is partial: at
/// low traffic the new slot may get no request in it at all, and an ALB publishes nothing for
/// a minute without requests, so waiting for it could only end inconclusive), and the deadline
/// for CloudWatch to publish them: `metrics-delay` after the last one ends.
fn step_minutes(
    clock: &crate::domain::minutes::MetricsClock,
    set_at: SystemTime,
    bake_end: SystemTime,
) -> (Vec<SystemTime>, SystemTime) {
    let mut expected = clock.minutes(set_at, bake_end.max(set_at + Duration::from_millis(1)));
    if expected.len() > 1 && expected[0] < set_at {
        expected.remove(0);
    }
    let last_minute_end = expected.last().map_or(bake_end, |m| *m + clock.minute);
    (expected, last_minute_end.max(bake_end) + clock.max_delay)
}

/// The weight the run had set in the minute starting at `minute` (seconds since the epoch).
fn served_at(run: &Run<'_, '_>, minute: Option<u64>) -> Option<u8> {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(minute?);
    run.step_starts
        .iter()
        .rev()
        .find(|(_, t)| run.pc.clock.floor(*t) <= at)
        .map(|(w, _)| *w)
}

/// Why the canary may not have all the traffic yet, with `judge: compare`: the move to 100%
/// leaves nothing to compare with, so it needs the rollout's evidence to show the canary's
/// 5xx rate below the tolerance, or so few 5xx on both sides that no ratio could matter.
fn unjudged_promotion(promotes: bool, compared: Option<&Comparison>) -> Option<String> {
    let c = compared.filter(|_| promotes)?;
    match c.errors.call() {
        Evidence::NotWorse | Evidence::TooFewErrors => None,
        Evidence::Worse | Evidence::Undecided => Some(format!(
            "the canary was not shown to be below {:.2}× the stable version's 5xx rate before 100% ({}); bake longer at this weight for more evidence",
            c.errors.tolerance,
            c.errors.describe()
        )),
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
    let refused = elb_side_failures(c).map_or(String::new(), |f| format!(" (with {f})"));
    let gates: String = look
        .m
        .gates
        .iter()
        .map(|g| match g.value {
            Some(v) => format!(", {} {v:.3}", g.gate),
            None => format!(", {} n/a", g.gate),
        })
        .collect();
    // The rollout's count of requests slower than `max-p99-latency`, which the gate judges.
    let slow = look.m.latency.map_or(String::new(), |r| {
        format!(
            " ({} of {} slower than {:.0} ms in the rollout)",
            thousands(r.slow),
            thousands(r.requests),
            r.limit_ms
        )
    });
    format!(
        "5xx {rate}{refused}, p99 {p99}{slow}{gates} over {}",
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
