//! The end of a successful rollout: record which slot is stable, keep the old slot warm for
//! `keep-old-for` while analysis keeps watching the new one (a failure or a cancel there rolls
//! back by weights, instantly: the old slot still runs), then scale the old slot to 0.

use std::time::Duration;

use super::super::cancel::{race, sleep_or_cancel};
use super::super::rolling::revert_budget;
use super::super::{log, Cancel, StepRecord};
use super::topology::{Slot, SLOT_TAG};
use super::weights::{scale_to_zero, settle};
use super::{Ended, Flow, Run};
use crate::domain::analysis::{judge, StepAnalysis, StepStatus, Verdict};
use crate::domain::rollout::Failure;
use crate::ports::Stickiness;

/// Success only once the weights are final (no late write of ours can undo them); then slot
/// tags swapped and the test listener pointed at the new live slot. Those are warnings:
/// traffic is final, and the next run reads weights before tags.
pub async fn record(run: &mut Run<'_, '_>) -> Flow {
    let ports = run.ports;
    let topo = &run.topo;
    let deadline = ports.clock.now() + revert_budget(false);
    if let Err(reason) = settle(ports, &run.pc.split, topo, 100, deadline).await {
        return Flow::End(Ended::Failed(Failure::Traffic { reason }));
    }
    slot_tags(run, [(&topo.idle, "stable"), (&topo.live, "previous")]).await;
    run.recorded = true;
    let topo = &run.topo;
    super::traffic::clear_cursor(run).await;
    if let Some(test) = &run.pc.test_listener {
        let weights = [
            (topo.idle.target_group.clone(), 100),
            (topo.live.target_group.clone(), 0),
        ];
        if let Err(e) = ports.router.set_weights(test, &weights, Stickiness::Keep).await {
            log::warning(
                "Test listener not updated",
                &format!("{e}; point it at {} by hand", topo.idle.state.name),
            );
        }
    }
    Flow::Next
}

/// Writes the slot tags; a failure is a warning (the next run reads weights before tags).
pub async fn slot_tags(run: &Run<'_, '_>, tags: [(&Slot, &str); 2]) {
    for (slot, value) in tags {
        if let Err(e) = run
            .ports
            .ecs
            .tag_service(&slot.state.arn, &[(SLOT_TAG.to_string(), value.to_string())])
            .await
        {
            log::warning(
                "Slot tag not written",
                &format!("{e}; set {SLOT_TAG}={value} on {} by hand", slot.state.name),
            );
        }
    }
}

/// Keeps the old slot warm, then scales it to 0; with clients pinned to it for longer than
/// the run waits (`pinned`), it stays up and the report says when it may go.
pub async fn retire(
    run: &mut Run<'_, '_>,
    keep_for: Duration,
    pinned: Option<Duration>,
    interval: Duration,
    cancel: &mut Cancel,
) -> Flow {
    let live = run.topo.live.state.name.clone();
    if !keep_for.is_zero() {
        log::info(&format!(
            "keeping {live} warm for {}, analysis watching {}",
            humantime::format_duration(keep_for),
            run.topo.idle.state.name
        ));
        if let Some(ended) = watch(run, keep_for, interval, cancel).await {
            return Flow::End(ended);
        }
    }
    match pinned {
        Some(d) => log::warning(
            "Old slot left running for its pinned clients",
            &format!(
                "target-group stickiness sends clients first sent to {live} back to it for up to {}; scaling it to 0 now would answer them 503. Scale it to 0 after that (the next deploy reuses it as the idle slot either way)",
                humantime::format_duration(d)
            ),
        ),
        None => {
            let _ = scale_to_zero(run.cfg, run.ports, &live, "Old slot not scaled down").await;
        }
    }
    Flow::Next
}

/// The new slot at 100% under analysis while the old one is warm: its minutes since the shift,
/// as a whole and the latest alone. Only a failing verdict counts here (the release passed its
/// bake; a CloudWatch outage now is no reason to undo it). A signal reverts: while the old slot
/// is warm, undoing the release costs one weight change, and a cancel here is how an emergency
/// rollback reaches a running promote.
async fn watch(run: &mut Run<'_, '_>, keep_for: Duration, interval: Duration, cancel: &mut Cancel) -> Option<Ended> {
    let ports = run.ports;
    let end = ports.clock.now() + keep_for;
    let mut analysis = StepAnalysis::default();
    let mut seen = None;
    loop {
        let now = ports.clock.now();
        if now >= end {
            return None;
        }
        let cancelled = sleep_or_cancel(ports, interval.min(end.duration_since(now).unwrap_or_default()), cancel).await;
        let expected = run.pc.clock.minutes(run.weight_set_at, ports.clock.now());
        let look = if cancelled {
            None
        } else {
            race(cancel, super::look::look(run, &expected)).await
        };
        let Some(look) = look else {
            // The old release still runs at full size: a cancel now (an emergency rollback's
            // workflow cancels this run) puts traffic back on it at once, by weights.
            log::info(&format!(
                "cancelled while keeping {} warm: traffic goes back to it",
                run.topo.live.state.name
            ));
            return Some(Ended::Cancelled);
        };
        let verdict = judge(&look.m, &run.pc.thresholds);
        let data = look.data();
        if seen == Some(data) && look.firing.is_empty() {
            continue;
        }
        seen = Some(data);
        let Verdict::Fail(_) = &verdict else {
            continue;
        };
        log::info(&format!("analysis after the shift: {verdict}"));
        let canary = look.m.canary;
        if let StepStatus::Failed(reason) = analysis.record(look.m, verdict, &run.pc.limits) {
            let reason = format!(
                "after the shift, while {} was kept warm: {reason}",
                run.topo.live.state.name
            );
            run.timeline.push(StepRecord {
                weight: 100,
                started_at: Some(run.weight_set_at),
                seconds: super::super::elapsed(ports, run.weight_set_at).as_secs_f64(),
                canary: Some(canary),
                verdict: format!("fail: {reason}"),
                comparison: None,
            });
            return Some(Ended::Failed(Failure::Analysis { weight: 100, reason }));
        }
    }
}
