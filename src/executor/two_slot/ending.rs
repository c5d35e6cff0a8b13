//! How a two-slot run ends: traffic back on the stable slot first on any failure or signal,
//! the cursor dropped, then the report with the diagnostics.

use std::time::SystemTime;

use super::super::rolling::revert_budget;
use super::super::{log, DeployReport};
use super::weights::{never_moved, restore, scale_to_zero};
use super::{Ended, Run};
use crate::domain::diagnostics::Diagnostics;
use crate::domain::outcome::{Outcome, OutcomeKind, ServiceResult, ServiceStatus};
use crate::domain::rollout::Failure;
use crate::error::Error;

pub(super) struct Ending {
    kind: OutcomeKind,
    status: ServiceStatus,
    reason: Option<String>,
}

/// Puts things where they must be for this ending. An error only when nothing was served
/// by the new slot yet (it is scaled back down first).
pub(super) async fn close(run: &mut Run<'_, '_>, ended: Ended) -> Result<Ending, Error> {
    let (cfg, pc, ports) = (run.cfg, run.pc, run.ports);
    let idle = run.topo.idle.state.name.clone();
    let restore_now = |cancelled: bool| {
        let topo = &run.topo;
        async move {
            restore(
                cfg,
                pc.test_listener.as_ref(),
                &pc.split,
                ports,
                topo,
                pc.sticky_rollback,
                revert_budget(cancelled),
            )
            .await
        }
    };
    Ok(match ended {
        Ended::Aborted(e) => {
            let _ = scale_to_zero(cfg, ports, &idle, "New slot not scaled down").await;
            return Err(e);
        }
        Ended::Done => Ending {
            kind: OutcomeKind::Success,
            status: ServiceStatus::Deployed,
            reason: None,
        },
        Ended::Paused => {
            let w = run.weight;
            log::info(&format!(
                "paused with {w}% of traffic on {idle}; re-run with `on-split: continue` to go on, or with the default `on-split: rollback` to roll back"
            ));
            Ending {
                kind: OutcomeKind::Paused,
                status: ServiceStatus::Deployed,
                reason: Some(format!("paused at {w}% on {idle}")),
            }
        }
        Ended::Failed(failure) => {
            log::group("Roll back: traffic to the stable slot first");
            // No weight change ever took (run.weight is set only once one is read back).
            let untouched = run.weight == 0 && run.step_starts.is_empty();
            let test = pc.test_listener.as_ref();
            let never = match untouched {
                true => never_moved(cfg, test, &pc.split, ports, &run.topo).await,
                false => None,
            };
            let rollback = match never {
                Some(r) => r,
                None => restore_now(false).await,
            };
            if run.recorded {
                // Failed after the slot tags named the new slot stable: the old one is again.
                let topo = &run.topo;
                super::retire::slot_tags(run, [(&topo.live, "stable"), (&topo.idle, "candidate")]).await;
            }
            super::traffic::clear_cursor(run).await;
            log::endgroup();
            Ending {
                kind: OutcomeKind::Failure,
                reason: Some(format!("{idle}: {}", failure.summary())),
                status: ServiceStatus::Failed { failure, rollback },
            }
        }
        Ended::Cancelled => {
            log::group("Cancelled: traffic to the stable slot");
            let rollback = restore_now(true).await;
            if run.recorded {
                // Cancelled while the old slot was kept warm: it is the stable one again.
                let topo = &run.topo;
                super::retire::slot_tags(run, [(&topo.live, "stable"), (&topo.idle, "candidate")]).await;
            }
            super::traffic::clear_cursor(run).await;
            log::endgroup();
            Ending {
                kind: OutcomeKind::Cancelled,
                status: ServiceStatus::Cancelled(rollback),
                reason: Some("cancelled by the runner (SIGINT/SIGTERM/SIGHUP)".to_string()),
            }
        }
    })
}

pub(super) async fn report(run: &Run<'_, '_>, ending: Ending, started: SystemTime) -> DeployReport {
    let (cfg, ports) = (run.cfg, run.ports);
    let idle = &run.topo.idle.state.name;
    let live = &run.topo.live.state.name;
    let diagnostics = match &ending.status {
        ServiceStatus::Failed {
            failure:
                Failure::RolloutFailed { .. } | Failure::EcsRollback { .. } | Failure::Timeout | Failure::Unhealthy { .. },
            ..
        } => {
            let state = ports
                .ecs
                .describe_services(&cfg.cluster, std::slice::from_ref(idle))
                .await
                .ok()
                .and_then(|mut v| v.pop());
            match state {
                Some(s) => ports.ecs.diagnostics(&cfg.cluster, &s, &run.new_td, started).await,
                None => Diagnostics::default(),
            }
        }
        _ => Diagnostics::default(),
    };
    let kind = ending.kind;
    let reason = match (ending.reason, diagnostics.headline()) {
        (Some(r), Some(headline)) => Some(format!("{r} ({headline})")),
        (r, _) => r,
    };
    DeployReport {
        outcome: Outcome {
            kind,
            services: vec![ServiceResult {
                service: idle.clone(),
                previous_task_definition: run.topo.live.state.task_definition.clone(),
                new_task_definition: Some(run.new_td.clone()),
                status: ending.status,
                diagnostics,
                duration_ms: super::super::elapsed(ports, started).as_millis(),
            }],
            reason: reason.map(|r| {
                if kind == OutcomeKind::Success {
                    r
                } else {
                    format!("{r} (stable slot: {live})")
                }
            }),
        },
        image: run.resolved.image.clone(),
        digest: run.resolved.digest.as_ref().map(|d| d.to_string()),
        strategy: cfg.strategy.name().into(),
        timeline: run.timeline.clone(),
        plan: Some(run.plan.clone()),
        executed: run.executed.clone(),
        limits: Some(run.pc.thresholds),
        links: super::super::links::for_run(
            cfg,
            &[live.as_str(), idle.as_str()],
            &[run.topo.live.target_group.as_str(), run.topo.idle.target_group.as_str()],
            &run.resolved.image,
        ),
        production: Some(
            super::super::readback::slots(
                ports,
                &cfg.cluster,
                &run.pc.split,
                [
                    (live.as_str(), run.topo.live.target_group.as_str()),
                    (idle.as_str(), run.topo.idle.target_group.as_str()),
                ],
            )
            .await,
        ),
    }
}
