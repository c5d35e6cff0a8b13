//! The end of a successful rollout: record which slot is stable, keep the old slot warm for
//! `keep-old-for` (instant rollback by weights), then scale it to 0.

use std::time::Duration;

use super::super::cancel::sleep_or_cancel;
use super::super::rolling::revert_budget;
use super::super::{log, Cancel};
use super::topology::SLOT_TAG;
use super::weights::{scale_to_zero, settle};
use super::{Ended, Flow, Run};
use crate::domain::rollout::Failure;

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
    for (slot, value) in [(&topo.idle, "stable"), (&topo.live, "previous")] {
        if let Err(e) = ports
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
    super::traffic::clear_cursor(run).await;
    if let Some(test) = &run.pc.test_listener {
        let weights = [
            (topo.idle.target_group.clone(), 100),
            (topo.live.target_group.clone(), 0),
        ];
        if let Err(e) = ports.router.set_weights(test, &weights).await {
            log::warning(
                "Test listener not updated",
                &format!("{e}; point it at {} by hand", topo.idle.state.name),
            );
        }
    }
    Flow::Next
}

pub async fn retire(run: &mut Run<'_, '_>, keep_for: Duration, cancel: &mut Cancel) -> Flow {
    let live = run.topo.live.state.name.clone();
    if !keep_for.is_zero() {
        log::info(&format!(
            "keeping {live} warm for {}",
            humantime::format_duration(keep_for)
        ));
        if sleep_or_cancel(run.ports, keep_for, cancel).await {
            log::info("cancelled while keeping the old slot warm; the rollout itself is complete");
        }
    }
    let _ = scale_to_zero(run.cfg, run.ports, &live, "Old slot not scaled down").await;
    Flow::Next
}
