//! Judging a deployment AWS shifts itself (ECS native, CodeDeploy): each production weight AWS
//! sets is a window, judged on the CloudWatch minutes AWS served at that weight, once per
//! `analysis-interval`. AWS moves on by its own clock, before CloudWatch has published a
//! window's minutes; the window is still judged on its own minutes after that, until all are
//! published, and a failure then still stops the deployment. A window that ends with nothing
//! judged falls under `on-inconclusive`: it is never a pass.

use std::time::{Duration, SystemTime};

use super::super::cancel::sleep_or_cancel;
use super::super::two_slot::look::{look_at, Sides};
use super::super::{log, Cancel, Ports, StepRecord};
use super::follow::Target;
use crate::domain::analysis::{judge, StepAnalysis, StepStatus, Verdict};
use crate::domain::outcome::{RollbackResult, ServiceStatus};
use crate::domain::rollout::Failure;
use crate::domain::settings::DeployConfig;
use crate::domain::settings::ProgressiveConfig;

/// The analysis of one production weight: from when AWS set it to when it moved on.
pub(crate) struct Window {
    pub weight: u8,
    set_at: SystemTime,
    /// When AWS moved on from this weight; `None` while it serves it.
    ended_at: Option<SystemTime>,
    analysis: StepAnalysis,
    seen: Option<super::super::two_slot::look::DataKey>,
    /// When CloudWatch was last read for this window: once per `analysis-interval`, while
    /// the deployment's state is polled more often.
    looked_at: Option<SystemTime>,
}

impl Window {
    pub fn at(weight: u8, set_at: SystemTime) -> Window {
        Window {
            weight,
            set_at,
            ended_at: None,
            analysis: StepAnalysis::default(),
            seen: None,
            looked_at: None,
        }
    }

    /// Every minute it covers is published, or past CloudWatch's publication deadline.
    fn settled(&self, pc: &ProgressiveConfig, now: SystemTime) -> bool {
        self.ended_at
            .is_some_and(|end| super::pause::published_through(pc, end, now))
    }

    fn record(&self, ports: &Ports<'_>, verdict: String) -> StepRecord {
        let end = self.ended_at.unwrap_or_else(|| ports.clock.now());
        StepRecord {
            weight: self.weight,
            started_at: Some(self.set_at),
            seconds: end.duration_since(self.set_at).unwrap_or_default().as_secs_f64(),
            canary: self.analysis.last_measurement.as_ref().map(|m| m.canary),
            verdict,
            comparison: None,
        }
    }
}

/// The windows of one deployment: the weight AWS serves now, and those it moved on from that
/// CloudWatch has not published whole yet.
#[derive(Default)]
pub(crate) struct Windows {
    current: Option<Window>,
    pending: Vec<Window>,
    pub timeline: Vec<StepRecord>,
    /// When AWS first served the new revision a weight: the rollout's first minute.
    started: Option<SystemTime>,
    /// Each weight AWS served and since when, for laying a verdict at the weight that served
    /// the minutes it rests on.
    served: Vec<(u8, SystemTime)>,
    /// The rollout's sequential evidence on the new revision's 5xx (`judge: compare`): one
    /// process over every weight, fed by every window's looks.
    evidence: crate::domain::sequential::Evidence,
    /// The rollout's latency evidence against `max-p99-latency`, every window's.
    slow: crate::domain::latency::SlowEvidence,
    /// Without `max-p99-latency`, the rollout's latency against the stable version's.
    slower: crate::domain::slower::SlowerEvidence,
}

impl Windows {
    /// AWS serves `weight` now: a new window when it changed; the one before stays open on
    /// its own minutes.
    pub fn serving(&mut self, ports: &Ports<'_>, weight: u8) {
        if self.current.as_ref().map(|w| w.weight) != Some(weight) {
            self.end_current(ports);
            self.current = Some(Window::at(weight, ports.clock.now()));
            self.started.get_or_insert(ports.clock.now());
            self.served.push((weight, ports.clock.now()));
        }
    }

    /// AWS no longer serves the current weight (it finished, or rolls back).
    pub fn end_current(&mut self, ports: &Ports<'_>) {
        if let Some(mut w) = self.current.take() {
            w.ended_at = Some(ports.clock.now());
            self.pending.push(w);
        }
    }

    /// The weight AWS served in the minute starting at `minute` (seconds since the epoch); the
    /// current one when unknown.
    fn weight_of(&self, pc: &ProgressiveConfig, minute: Option<u64>) -> u8 {
        let current = self.served.last().map_or(0, |(w, _)| *w);
        let Some(minute) = minute else { return current };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(minute);
        self.served
            .iter()
            .rev()
            .find(|(_, since)| pc.clock.floor(*since) <= at)
            .map_or(current, |(w, _)| *w)
    }

    /// Whether a window AWS moved on from still waits for CloudWatch's minutes.
    pub fn settling(&self, pc: &ProgressiveConfig, now: SystemTime) -> bool {
        self.pending.iter().any(|w| !w.settled(pc, now))
    }

    /// One look at every open window, each on its own minutes. A window whose minutes are
    /// all published is concluded under `on-inconclusive`. Returns (weight, reason) to stop on.
    pub async fn judge(
        &mut self,
        ports: &Ports<'_>,
        cfg: &DeployConfig,
        pc: &ProgressiveConfig,
        target: &Target,
    ) -> Option<(u8, String)> {
        let (started, evidence, slow, slower) = (self.started, &mut self.evidence, &mut self.slow, &mut self.slower);
        for w in self.pending.iter_mut().chain(self.current.as_mut()) {
            let rollout = Rollout {
                started,
                evidence: &mut *evidence,
                slow: &mut *slow,
                slower: &mut *slower,
            };
            if let Some(reason) = judge_window(ports, (cfg, pc), target, w, rollout).await {
                return Some((w.weight, reason));
            }
        }
        if let Some(cj) = pc.compare {
            let reading = self.evidence.read(&cj.sequential());
            if reading.call() == crate::domain::sequential::Call::Worse {
                let weight = self.weight_of(pc, self.evidence.newest_evidence());
                return Some((weight, format!("worse than the stable version: {}", reading.describe())));
            }
            let slower = (self.slower.read(&cj.slower()), self.slower.limit_ms());
            if let (Some(r), Some(limit_ms)) = slower {
                if r.call() == crate::domain::sequential::Call::Worse {
                    let weight = self.weight_of(pc, self.slower.newest_evidence());
                    let text = crate::domain::slower::describe(&r, limit_ms);
                    return Some((weight, format!("slower than the stable version: {text}")));
                }
            }
        }
        let now = ports.clock.now();
        let (settled, open): (Vec<Window>, Vec<Window>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|w| w.settled(pc, now));
        self.pending = open;
        for w in settled {
            if let Err(reason) = self.conclude(ports, pc, w, "pass") {
                return Some(reason);
            }
        }
        None
    }

    /// AWS completed the deployment: every window concluded on what CloudWatch published,
    /// under `on-inconclusive`. The first one not judged good is the error.
    pub fn finish(&mut self, ports: &Ports<'_>, pc: &ProgressiveConfig, how: &str) -> Result<(), (u8, String)> {
        self.end_current(ports);
        let mut first = Ok(());
        for w in std::mem::take(&mut self.pending) {
            let concluded = self.conclude(ports, pc, w, &format!("pass ({how})"));
            if first.is_ok() {
                first = concluded;
            }
        }
        first
    }

    /// A stop, a rollback by AWS, or the job no longer watching: every open window ends with
    /// `verdict`.
    pub fn close_all(&mut self, ports: &Ports<'_>, verdict: &str) {
        // A weight AWS had moved on from, passing on what CloudWatch had published, is not
        // the one that failed: its row says what it showed, not the run's verdict.
        let earlier = std::mem::take(&mut self.pending);
        self.end_current(ports);
        let current = std::mem::take(&mut self.pending);
        for w in earlier {
            let row = match w.analysis.last {
                Some(Verdict::Pass) => "pass on the minutes published so far".to_string(),
                _ => verdict.to_string(),
            };
            self.timeline.push(w.record(ports, row));
        }
        for w in current {
            self.timeline.push(w.record(ports, verdict.to_string()));
        }
    }

    fn conclude(
        &mut self,
        ports: &Ports<'_>,
        pc: &ProgressiveConfig,
        w: Window,
        pass: &str,
    ) -> Result<(), (u8, String)> {
        match w.analysis.conclude(pc.on_inconclusive) {
            Ok(None) => {
                self.timeline.push(w.record(ports, pass.to_string()));
                Ok(())
            }
            Ok(Some(note)) => {
                let note = format!("not judged at {}%: {note}", w.weight);
                log::warning("Step not judged", &note);
                self.timeline.push(w.record(ports, note));
                Ok(())
            }
            Err(reason) => {
                let reason = match w.analysis.last {
                    Some(Verdict::Fail(_)) => reason,
                    _ => format!(
                        "not judged: CloudWatch published too little of the minutes AWS served it ({reason}); make the step's bake longer than one minute plus metrics-delay, or set on-inconclusive: continue"
                    ),
                };
                self.timeline.push(w.record(ports, format!("fail: {reason}")));
                Err((w.weight, reason))
            }
        }
    }
}

/// A step judged bad, or left unjudged, only after `who` (ECS, CodeDeploy) completed the
/// deployment: stopping it can no longer undo it, so the run fails and says how to roll back.
pub(crate) fn judged_too_late(weight: u8, reason: String, who: &str) -> (ServiceStatus, String) {
    let failure = Failure::Analysis { weight, reason };
    let why = failure.summary();
    let rollback = RollbackResult::NotAttempted(format!(
        "{who} had completed the deployment before CloudWatch published the step's minutes; roll back with `command: rollback`"
    ));
    (ServiceStatus::Failed { failure, rollback }, why)
}

/// What a window's look feeds: the rollout's first minute and its two evidence processes.
pub(crate) struct Rollout<'a> {
    started: Option<SystemTime>,
    evidence: &'a mut crate::domain::sequential::Evidence,
    slow: &'a mut crate::domain::latency::SlowEvidence,
    slower: &'a mut crate::domain::slower::SlowerEvidence,
}

/// One look at the window's published minutes; the reason when the verdict fails the step.
/// With `judge: compare` the look also feeds the rollout's evidence, which `Windows::judge`
/// reads once per round of looks.
pub(crate) async fn judge_window(
    ports: &Ports<'_>,
    (cfg, pc): (&DeployConfig, &ProgressiveConfig),
    target: &Target,
    w: &mut Window,
    rollout: Rollout<'_>,
) -> Option<String> {
    let Rollout {
        started,
        evidence,
        slow,
        slower,
    } = rollout;
    let now = ports.clock.now();
    if w.looked_at
        .is_some_and(|t| now.duration_since(t).unwrap_or_default() < pc.bake.interval)
    {
        return None;
    }
    w.looked_at = Some(now);
    let upto = w.ended_at.unwrap_or(now).max(w.set_at + Duration::from_millis(1));
    let mut expected = pc.clock.minutes(w.set_at, upto);
    if expected.len() > 1 && expected[0] < w.set_at {
        expected.remove(0); // the partial first minute: judged from the first whole one
    }
    let sides = Sides {
        lb: &target.lb_dimension,
        canary_tg: &target.green_tg,
        baseline_tg: &target.blue_tg,
        canary_service: &target.service,
    };
    let limit = slower.limit_ms();
    let mut look = look_at(ports, &cfg.cluster, pc, &sides, (w.set_at, started), &expected, limit).await;
    look.weigh_latency(pc, slow);
    let latency = look.weigh_slower(pc, started, slower);
    let verdict = judge(&look.m, &pc.thresholds);
    let data = look.data();
    let fresh = w.seen != Some(data) || !look.firing.is_empty() || matches!(verdict, Verdict::Error(_));
    w.seen = Some(data);
    if !fresh {
        return None;
    }
    log::info(&format!("analysis at {}%: {verdict}", w.weight));
    if let Some(cj) = pc.compare {
        // Judged once per look over every window (`Windows::judge`), at the weight it rests on.
        evidence.observe_read(&look.pairs);
        let errors = evidence.read(&cj.sequential());
        let text = super::super::two_slot::comparison::describe(&crate::domain::report::Comparison { errors, latency });
        log::info(&format!("comparison at {}%: {text}", w.weight));
    }
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
