//! The steps that move or hold production traffic, and the cursor written before each: a
//! re-run after a crash reads it to continue at exactly this step.

use super::super::log;
use super::weights::set_and_verify;
use super::{Ended, Flow, Run};
use crate::domain::plan::cursor::{Cursor, CURSOR_TAG};
use crate::domain::rollout::Failure;
use crate::ports::Stickiness;

/// Writes the cursor on the new slot. A cursor that cannot be written stops the step before
/// traffic moves: a later run could not resume safely from here.
async fn write_cursor(run: &Run<'_, '_>, step: usize, paused: bool) -> Result<(), String> {
    let cursor = Cursor {
        plan_hash: run.plan.hash(),
        step,
        paused,
    };
    run.ports
        .ecs
        .tag_service(
            &run.topo.idle.state.arn,
            &[(CURSOR_TAG.to_string(), cursor.tag_value())],
        )
        .await
        .map_err(|e| {
            format!(
                "the rollout cursor could not be written on {}: {e}",
                run.topo.idle.state.name
            )
        })
}

pub async fn set_weight(run: &mut Run<'_, '_>, index: usize, weight: u8) -> Flow {
    if let Err(reason) = write_cursor(run, index, false).await {
        return Flow::End(Ended::Failed(Failure::Traffic { reason }));
    }
    let ports = run.ports;
    let started = ports.clock.now();
    run.traffic_moved = true;
    if let Err(reason) = set_and_verify(ports, &run.pc.split, &run.topo, weight, Stickiness::Keep).await {
        return Flow::End(Ended::Failed(Failure::Traffic { reason }));
    }
    run.weight_set_at = started;
    run.weight = weight;
    run.step_starts.push((weight, started));
    let (live, idle) = (&run.topo.live.state.name, &run.topo.idle.state.name);
    log::info(&format!(
        "weights: {live} {}%, {idle} {weight}% (read back)",
        100 - weight
    ));
    ports
        .reporter
        .progress(&ports.stage, &format!("{weight}% of traffic on {idle} (read back)"))
        .await;
    Flow::Next
}

/// Stops with traffic held: the cursor says paused, so only a later run that continues (the
/// approval) goes past this step.
pub async fn await_approval(run: &mut Run<'_, '_>, index: usize) -> Flow {
    match write_cursor(run, index, true).await {
        Ok(()) => Flow::End(Ended::Paused),
        Err(reason) => Flow::End(Ended::Failed(Failure::Traffic { reason })),
    }
}

/// Drops the cursor: the rollout is over (finished or rolled back).
pub async fn clear_cursor(run: &Run<'_, '_>) {
    if let Err(e) = run
        .ports
        .ecs
        .untag_service(&run.topo.idle.state.arn, &[CURSOR_TAG.to_string()])
        .await
    {
        log::warning(
            "Rollout cursor not removed",
            &format!(
                "{e}; a later run ignores a cursor that does not match the listener's weights, so this is safe; remove the tag {CURSOR_TAG} from {} by hand to tidy up",
                run.topo.idle.state.name
            ),
        );
    }
}
