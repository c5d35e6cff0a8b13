//! A split found at the start of a run (an earlier run died mid-rollout, or left an unjudged
//! slot at 100%): continue from the cursor when asked to and everything agrees, otherwise put
//! traffic back on the stable slot first. A run never starts a second split.

use super::super::images::ResolvedImages;
use super::super::rolling::revert_budget;
use super::super::{log, Ports};
use super::topology::Topology;
use super::weights;
use crate::domain::plan::cursor::{resume, Resume};
use crate::domain::plan::Plan;
use crate::domain::settings::{DeployConfig, OnSplit, ProgressiveConfig};
use crate::error::Error;
use crate::ports::Stickiness;

/// A split was found: an earlier run died mid-rollout. Never start a second split: continue
/// from the cursor when asked to and everything agrees, otherwise put traffic back first.
/// Returns the step to start from.
pub(super) async fn converge_split(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    topo: &mut Topology,
    plan: &Plan,
    resolved: &ResolvedImages,
) -> Result<usize, Error> {
    log::warning(
        "Traffic is split",
        &format!(
            "{} has {}% and {} has {}%: an earlier rollout was interrupted",
            topo.live.state.name, topo.live.weight, topo.idle.state.name, topo.idle.weight
        ),
    );
    if pc.on_split == OnSplit::Continue {
        let info = ports
            .ecs
            .describe_task_definition(&topo.idle.state.task_definition)
            .await?;
        let runs_ours = info.containers.iter().any(|(_, image)| *image == resolved.image);
        let decision = if runs_ours {
            resume(plan, topo.idle.cursor().as_ref(), topo.idle.weight)
        } else {
            Resume::RollBack("the interrupted rollout was of another image".into())
        };
        match decision {
            Resume::From(step) => {
                log::info(&format!(
                    "continuing the interrupted rollout at step {} of {} ({}% on {})",
                    step + 1,
                    plan.steps.len(),
                    topo.idle.weight,
                    topo.idle.state.name
                ));
                return Ok(step);
            }
            Resume::RollBack(why) => log::warning("Not continuing", &format!("{why}; rolling it back first")),
        }
    }
    let unstick = Stickiness::Keep; // converging a split restores the stable slot's weights only
    if let Err(reason) = weights::restore_weights(ports, &pc.split, topo, unstick, revert_budget(false)).await {
        return Err(Error::AfterChange {
            cluster: cfg.cluster.clone(),
            service: topo.idle.state.name.clone(),
            problem: format!("could not take back the traffic an interrupted rollout left on it: {reason}"),
            now: format!(
                "traffic may still be split, {}% on {} and {}% on {} (the listener says which)",
                topo.live.weight, topo.live.state.name, topo.idle.weight, topo.idle.state.name
            ),
            recover: "re-run this job: it puts all traffic back on the stable slot before anything else (or set the listener's weights to 100/0 by hand)".into(),
        });
    }
    log::info(&format!("converged: all traffic back on {}", topo.live.state.name));
    topo.live.weight = 100;
    topo.idle.weight = 0;
    Ok(0)
}
