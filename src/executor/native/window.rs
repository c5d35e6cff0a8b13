//! Judging a deployment AWS shifts itself (ECS native, CodeDeploy): each production weight AWS
//! sets is a window, judged on CloudWatch's published minutes once per `analysis-interval`,
//! and closed into the timeline when AWS moves on.

use std::time::{Duration, SystemTime};

use super::super::cancel::sleep_or_cancel;
use super::super::two_slot::bake::{look_at, Sides};
use super::super::{log, Cancel, Ports, StepRecord};
use super::follow::Target;
use crate::domain::analysis::{judge, StepAnalysis, StepStatus, Verdict};
use crate::domain::settings::DeployConfig;
use crate::domain::settings::ProgressiveConfig;

/// The analysis of one production weight (a window from when ECS set it).
pub(crate) struct Window {
    pub weight: u8,
    set_at: SystemTime,
    analysis: StepAnalysis,
    seen: Option<(usize, u64)>,
    /// When CloudWatch was last read for this window: once per `analysis-interval`, while
    /// the deployment's state is polled more often.
    looked_at: Option<SystemTime>,
}

impl Window {
    pub fn at(weight: u8, set_at: SystemTime) -> Window {
        Window {
            weight,
            set_at,
            analysis: StepAnalysis::default(),
            seen: None,
            looked_at: None,
        }
    }
}

/// Ends the window in the timeline. A "pass" is only written for a window whose last look
/// passed: AWS moves on by its own clock, and a window it ended before CloudWatch published
/// enough of its minutes is recorded (and warned about) as not judged, never as a pass.
pub(crate) fn close(ports: &Ports<'_>, window: &mut Option<Window>, timeline: &mut Vec<StepRecord>, verdict: &str) {
    if let Some(w) = window.take() {
        let verdict = match (&w.analysis.last, verdict.starts_with("pass")) {
            (Some(Verdict::Pass), _) | (_, false) => verdict.to_string(),
            (last, true) => {
                let seen = last
                    .as_ref()
                    .map_or("no published minute yet".to_string(), |v| v.to_string());
                let note = format!(
                    "not judged at {}%: AWS moved on before CloudWatch published enough of its minutes ({seen}); make the step's bake longer than metrics-delay to judge it",
                    w.weight
                );
                log::warning("Step not judged", &note);
                note
            }
        };
        timeline.push(StepRecord {
            weight: w.weight,
            started_at: Some(w.set_at),
            seconds: super::super::elapsed(ports, w.set_at).as_secs_f64(),
            canary: w.analysis.last_measurement.map(|m| m.canary),
            verdict,
            comparison: None,
        });
    }
}

/// One look at the window's published minutes; the reason when the verdict fails the step.
pub(crate) async fn judge_window(
    ports: &Ports<'_>,
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    target: &Target,
    w: &mut Window,
) -> Option<String> {
    let now = ports.clock.now();
    if w.looked_at
        .is_some_and(|t| now.duration_since(t).unwrap_or_default() < pc.bake.interval)
    {
        return None;
    }
    w.looked_at = Some(now);
    let mut expected = pc.clock.minutes(w.set_at, now.max(w.set_at + Duration::from_millis(1)));
    if expected.len() > 1 && expected[0] < w.set_at {
        expected.remove(0); // the partial first minute: judged from the first whole one
    }
    let sides = Sides {
        lb: &target.lb_dimension,
        canary_tg: &target.green_tg,
        baseline_tg: &target.blue_tg,
        canary_service: &target.service,
    };
    let look = look_at(ports, &cfg.cluster, pc, &sides, w.set_at, &expected).await;
    let verdict = judge(&look.m, &pc.thresholds);
    let data = (look.coverage.published.len(), look.coverage.requests.round() as u64);
    let fresh = w.seen != Some(data) || !look.firing.is_empty() || matches!(verdict, Verdict::Error(_));
    w.seen = Some(data);
    if !fresh {
        return None;
    }
    log::info(&format!("analysis at {}%: {verdict}", w.weight));
    match w.analysis.record(look.m, verdict, &pc.limits) {
        StepStatus::Failed(reason) => Some(reason),
        _ => None,
    }
}

/// GET the smoke URL (through the test listener) until 2xx or the timeout.
pub(crate) async fn smoke(ports: &Ports<'_>, url: &str, timeout: Duration, cancel: &mut Cancel) -> Result<(), String> {
    let since = ports.clock.now();
    let mut last = String::new();
    while super::super::elapsed(ports, since) < timeout {
        match ports.smoke.get(url, Duration::from_secs(5)).await {
            Ok(code) if (200..300).contains(&code) => return Ok(()),
            Ok(code) => last = format!("HTTP {code}"),
            Err(e) => last = e,
        }
        if sleep_or_cancel(ports, Duration::from_secs(1), cancel).await {
            return Err("cancelled".into());
        }
    }
    Err(format!(
        "{url} did not answer 2xx within {}: {last}",
        humantime::format_duration(timeout)
    ))
}
