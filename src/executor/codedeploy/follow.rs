//! Following one CodeDeploy deployment: its status and the ECS target's lifecycle events,
//! the analysis of each weight, and StopDeployment with auto-rollback when it must not go on.

use super::super::cancel::sleep_or_cancel;
use super::super::native::follow::Target;
use super::super::native::window::{judged_too_late, Windows};
use super::super::rolling::revert_budget;
use super::super::{log, Cancel, Ports};
use super::own_duration;
use crate::domain::codedeploy::{CodeDeployStatus, DeploymentGroup};
use crate::domain::native::WaitUntil;
use crate::domain::outcome::{OutcomeKind, RollbackResult, ServiceStatus};
use crate::domain::rollout::Failure;
use crate::domain::settings::DeployConfig;
use std::time::Duration;

/// Waits for a stopped deployment's rollback deployment to succeed.
pub(super) async fn await_rolled_back(
    ports: &Ports<'_>,
    id: &str,
    budget: Duration,
    every: Duration,
    cancel: &mut Cancel,
) -> RollbackResult {
    let since = ports.clock.now();
    loop {
        if let Ok(view) = ports.ecs.codedeploy_deployment(id).await {
            if view.ended() {
                let Some(rb) = view.rollback_deployment.clone() else {
                    return match view.status {
                        CodeDeployStatus::Succeeded => {
                            RollbackResult::NotAttempted("the deployment had already succeeded".into())
                        }
                        _ => RollbackResult::Failed(format!("CodeDeploy started no rollback: {}", view.failure())),
                    };
                };
                match ports.ecs.codedeploy_deployment(&rb).await {
                    Ok(r) if r.status == CodeDeployStatus::Succeeded => return RollbackResult::ByCodeDeploy,
                    Ok(r) if r.ended() => {
                        return RollbackResult::Failed(format!("rollback deployment {rb}: {}", r.failure()))
                    }
                    _ => {}
                }
            }
        }
        if super::super::elapsed(ports, since) > budget {
            return RollbackResult::Requested;
        }
        if sleep_or_cancel(ports, every, cancel).await {
            ports.clock.sleep(every).await; // a second signal does not cut it short
        }
    }
}

use super::super::server_side::Ending as Followed;

pub(super) async fn follow(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    g: &DeploymentGroup,
    target: &Target,
    cancel: &mut Cancel,
) -> Followed {
    let nc = cfg.native.as_ref();
    let Some(pc) = nc.map(|n| &n.analysis) else {
        return (
            OutcomeKind::Failure,
            ServiceStatus::Deployed,
            Some("no analysis settings".into()),
            vec![],
        );
    };
    let until = nc.map_or(WaitUntil::Deployed, |n| n.wait_until);
    let since = ports.clock.now();
    let deadline = cfg.wait_timeout + own_duration(cfg, g);
    let mut windows = Windows::default();
    let mut said = String::new();
    let every = cfg.poll_interval.min(pc.bake.interval);
    loop {
        let mut stop: Option<(Failure, bool)> = None;
        if *cancel.borrow() {
            stop = Some((
                Failure::RolloutFailed {
                    reason: "cancelled".into(),
                },
                true,
            ));
        } else if let Some(Ok(view)) =
            super::super::cancel::race(cancel, ports.ecs.codedeploy_deployment(&target.arn)).await
        {
            let line = format!(
                "{}: {} {} ({}% of production on the replacement task set)",
                target.service,
                view.status,
                view.current_event(),
                view.green_weight
            );
            if line != said {
                log::info(&line);
                ports.reporter.progress(&ports.stage, &line).await;
                said = line;
            }
            match view.status {
                CodeDeployStatus::Succeeded => {
                    windows.end_current(ports);
                    let late = if windows.settling(pc, ports.clock.now()) {
                        // Completed before CloudWatch published every minute it served: those
                        // are still judged, though only `command: rollback` can undo now.
                        windows.judge(ports, cfg, pc, target).await.inspect(|(_, reason)| {
                            windows.close_all(ports, &format!("fail: {reason}"));
                        })
                    } else {
                        match windows.finish(ports, pc, "CodeDeploy completed the deployment") {
                            Ok(()) => return (OutcomeKind::Success, ServiceStatus::Deployed, None, windows.timeline),
                            Err(late) => Some(late),
                        }
                    };
                    if let Some((weight, reason)) = late {
                        let (status, why) = judged_too_late(weight, reason, "CodeDeploy");
                        return (OutcomeKind::Failure, status, Some(why), windows.timeline);
                    }
                }
                CodeDeployStatus::Stopped | CodeDeployStatus::Failed => {
                    let why = view.failure();
                    windows.close_all(ports, &format!("stopped by CodeDeploy: {why}"));
                    let rollback =
                        await_rolled_back(ports, &target.arn, cfg.wait_timeout, cfg.poll_interval, cancel).await;
                    let failure = Failure::RolloutFailed {
                        reason: format!("CodeDeploy stopped the deployment: {why}"),
                    };
                    let reason = failure.summary();
                    return (
                        OutcomeKind::Failure,
                        ServiceStatus::Failed { failure, rollback },
                        Some(reason),
                        windows.timeline,
                    );
                }
                _ if view.green_weight > 0.0 => {
                    let weight = view.green_weight.round().clamp(0.0, 100.0) as u8;
                    windows.serving(ports, weight);
                    let judged = super::super::cancel::race(cancel, windows.judge(ports, cfg, pc, target)).await;
                    if let Some(Some((weight, reason))) = judged {
                        stop = Some((Failure::Analysis { weight, reason }, false));
                    }
                }
                _ => {}
            }
            let reached = match until {
                WaitUntil::Deployed => false,
                WaitUntil::Shifted => view.green_weight >= 100.0 || view.termination_wait_started,
                WaitUntil::Started => view.status == CodeDeployStatus::InProgress,
            };
            if stop.is_none() && reached {
                let note = format!(
                    "this job stopped watching at `wait-until: {}`; CodeDeploy's alarms ({}) still stop and roll it back",
                    until.name(),
                    g.alarm_rollback.join(", ")
                );
                log::warning("Not watched by this job", &note);
                windows.close_all(ports, &format!("pass so far; {note}"));
                return (
                    OutcomeKind::Success,
                    ServiceStatus::Deployed,
                    Some(note),
                    windows.timeline,
                );
            }
        }
        if stop.is_none() && super::super::elapsed(ports, since) > deadline {
            stop = Some((Failure::Timeout, false));
        }
        if let Some((failure, cancelled)) = stop {
            let why = if cancelled {
                "cancelled by the runner (SIGINT/SIGTERM/SIGHUP)".to_string()
            } else {
                failure.summary()
            };
            log::info("Roll back: StopDeployment with auto-rollback");
            windows.close_all(ports, &format!("fail: {why}"));
            let timeline = std::mem::take(&mut windows.timeline);
            let rollback = match ports.ecs.codedeploy_stop(&target.arn).await {
                Err(e) => RollbackResult::Failed(format!("StopDeployment failed: {e}")),
                Ok(()) => {
                    let budget = if cancelled {
                        revert_budget(true)
                    } else {
                        cfg.wait_timeout
                    };
                    await_rolled_back(ports, &target.arn, budget, cfg.poll_interval, cancel).await
                }
            };
            return if cancelled {
                (
                    OutcomeKind::Cancelled,
                    ServiceStatus::Cancelled(rollback),
                    Some(why),
                    timeline,
                )
            } else {
                (
                    OutcomeKind::Failure,
                    ServiceStatus::Failed { failure, rollback },
                    Some(why),
                    timeline,
                )
            };
        }
        sleep_or_cancel(ports, every, cancel).await;
    }
}
