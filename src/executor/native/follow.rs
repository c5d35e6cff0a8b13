//! Following one ECS service deployment: find it, watch its lifecycle stages, judge the new
//! revision while it serves production, answer PAUSE hooks, and stop it with ROLLBACK when it
//! must not go on. ECS does the traffic work; every exit here leaves ECS either finished or
//! rolling back by itself (never split by us).

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::cancel::sleep_or_cancel;
use super::super::rolling::{revert_budget, Planned};
use super::super::{log, Cancel, Ports, StepRecord};
use super::resume::await_end;
use super::window::{smoke, Windows};
use crate::domain::native::{smoke_stage, NativeSetup, Phase, WaitUntil};
use crate::domain::outcome::{OutcomeKind, RollbackResult, ServiceStatus};
use crate::domain::rollout::Failure;
use crate::domain::settings::DeployConfig;
use crate::domain::settings::ProgressiveConfig;
use crate::error::Error;
use crate::ports::TrafficSplitRef;

/// The service deployment this run follows, and the target groups it moves traffic between.
#[derive(Debug, Clone)]
pub struct Target {
    pub arn: String,
    pub task_definition: String,
    pub green_tg: String,
    pub blue_tg: String,
    pub lb_dimension: String,
    pub service: String,
}

/// How following ended.
pub struct Followed {
    pub kind: OutcomeKind,
    pub status: ServiceStatus,
    pub reason: Option<String>,
    pub timeline: Vec<StepRecord>,
}

/// How long ECS may take to list a deployment it just started (eventual consistency).
const FIND_FOR: Duration = Duration::from_secs(120);

/// Which target group production is on now (blue) and the other (green, where ECS starts the
/// new revision), read from the production rule's weights.
pub(super) async fn groups(ports: &Ports<'_>, setup: &NativeSetup) -> Result<(String, String, String), Error> {
    let fw = ports
        .router
        .forward_weights(&TrafficSplitRef::Rule(setup.production_rule.clone()))
        .await?;
    let (a, b) = &setup.target_groups;
    let blue = if fw.weight_of(b).unwrap_or(0) > fw.weight_of(a).unwrap_or(0) {
        b
    } else {
        a
    };
    let green = if blue == a { b } else { a };
    Ok((blue.clone(), green.clone(), fw.load_balancer_dimension))
}

/// UpdateService, then the service deployment ECS started for `td`.
pub async fn start(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    service: &str,
    td: &str,
    setup: &NativeSetup,
) -> Result<Target, Error> {
    let (blue_tg, green_tg, lb_dimension) = groups(ports, setup).await?;
    ports.ecs.start_native(&cfg.cluster, service, td, setup).await?;
    log::info(&format!(
        "{service}: ECS started its {} deployment of {td}",
        setup.strategy.name()
    ));
    let since = ports.clock.now();
    // ECS is deploying now: a failed read here is retried, never a reason to stop watching.
    let mut last_error = String::new();
    loop {
        match find(ports, &cfg.cluster, service, td).await {
            Ok(Some(arn)) => {
                log::info(&format!("{service}: following service deployment {arn}"));
                return Ok(Target {
                    arn,
                    task_definition: td.to_string(),
                    green_tg,
                    blue_tg,
                    lb_dimension,
                    service: service.to_string(),
                });
            }
            Ok(None) => {}
            Err(e) => last_error = format!(" (last error: {e})"),
        }
        if super::super::elapsed(ports, since) > FIND_FOR {
            return Err(Error::AfterChange {
                cluster: cfg.cluster.clone(),
                service: service.to_string(),
                problem: format!("was updated, but its service deployment could not be found{last_error}"),
                now: format!("ECS is deploying {td} with the service's own strategy, unwatched by this job (its deployment alarms still roll it back)"),
                recover: "check the service's Deployments tab; re-run this job to follow it (or roll it back) from where it is".into(),
            });
        }
        ports.clock.sleep(cfg.poll_interval).await;
    }
}

/// The active service deployment whose target revision runs `td`.
async fn find(ports: &Ports<'_>, cluster: &str, service: &str, td: &str) -> Result<Option<String>, Error> {
    for (arn, revision) in ports.ecs.service_deployments(cluster, service, false).await? {
        if ports.ecs.revision_task_definition(&revision).await? == td {
            return Ok(Some(arn));
        }
    }
    Ok(None)
}

/// `run-task-command` before the service is updated.
pub async fn one_off(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    (step, planned): (&crate::domain::plan::Step, &[Planned]),
    new_td: &BTreeMap<String, String>,
    cancel: &mut Cancel,
) -> Result<(), Error> {
    // The task as the plan holds it (`command: plan` printed the same).
    let (Some(spec), Some(first)) = (&step.one_off_task(), planned.first()) else {
        return Ok(());
    };
    let td = new_td.get(&first.previous_task_definition).cloned().unwrap_or_default();
    let container = first.one_off_container.clone().unwrap_or_default();
    match super::super::one_off::run(cfg, ports, spec, &td, &container, &first.service, cancel).await {
        super::super::one_off::OneOffEnd::Succeeded | super::super::one_off::OneOffEnd::Cancelled => Ok(()),
        super::super::one_off::OneOffEnd::Failed(e) => Err(e),
    }
}

/// Follows the deployment to `until`. Every way out that is not ECS's own success or
/// rollback asks ECS to roll back (and waits for it, within the budget a signal allows).
pub async fn follow(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    pc: &ProgressiveConfig,
    setup: &NativeSetup,
    until: WaitUntil,
    target: &Target,
    cancel: &mut Cancel,
) -> Followed {
    let since = ports.clock.now();
    let mut windows = Windows::default();
    let mut said = String::new();
    let mut smoked = false;
    let mut pauses = super::pause::StepPauses::default();
    let every = cfg.poll_interval.min(pc.bake.interval);
    let mut stop_reason: Option<(Failure, bool)> = None; // (why, cancelled)
    let mut live = 0.0; // the new revision's share of the production rule, as last read
    loop {
        if *cancel.borrow() {
            stop_reason = Some((
                Failure::RolloutFailed {
                    reason: "cancelled".into(),
                },
                true,
            ));
        }
        if stop_reason.is_none() {
            // Reads are raced with the signal: a slow answer never delays the rollback.
            let read = super::super::cancel::race(cancel, ports.ecs.service_deployment(&target.arn)).await;
            if let Some(Ok(mut view)) = read {
                // The requested weight is a snapshot that "may not reflect real-time changes"
                // (API Reference): the weight acted on is the production rule's own, or the
                // last one read from it when the rule cannot be read.
                if let Some(Some(w)) = super::super::cancel::race(cancel, live_weight(ports, setup, target)).await {
                    live = w;
                }
                view.production_weight = live;
                let line = format!(
                    "{}: {} {} ({}% of production on the new revision)",
                    target.service, view.status, view.stage, view.production_weight
                );
                if line != said {
                    log::info(&line);
                    ports.reporter.progress(&ports.stage, &line).await;
                    said = line;
                }
                match view.phase() {
                    Phase::Succeeded => {
                        windows.end_current(ports);
                        if windows.settling(pc, ports.clock.now()) {
                            // ECS finished before CloudWatch published every minute it served:
                            // those are still judged, though only `command: rollback` can undo.
                            if let Some((weight, reason)) = windows.judge(ports, cfg, pc, target).await {
                                windows.close_all(ports, &format!("fail: {reason}"));
                                return judged_too_late(weight, reason, windows.timeline);
                            }
                        } else {
                            return match windows.finish(ports, pc, "ECS completed the deployment") {
                                Ok(()) => ended(OutcomeKind::Success, ServiceStatus::Deployed, None, windows.timeline),
                                Err((weight, reason)) => judged_too_late(weight, reason, windows.timeline),
                            };
                        }
                    }
                    Phase::RolledBack { reason } | Phase::Ended { reason } => {
                        windows.close_all(ports, &format!("rolled back by ECS: {reason}"));
                        let failure = Failure::RolloutFailed {
                            reason: format!("ECS rolled the deployment back: {reason}"),
                        };
                        let why = failure.summary();
                        return ended(
                            OutcomeKind::Failure,
                            super::rolled_back(failure),
                            Some(why),
                            windows.timeline,
                        );
                    }
                    Phase::Paused { hook } if pc.smoke_url.is_some() && smoke_stage(&view.stage) && !smoked => {
                        smoked = true;
                        let url = pc.smoke_url.clone().unwrap_or_default();
                        match smoke(ports, &url, pc.smoke_timeout, cancel).await {
                            Ok(()) => {
                                log::info(&format!(
                                    "smoke check of {url} through the test listener passed; continuing"
                                ));
                                if let Err(e) = ports.ecs.continue_service_deployment(&target.arn, &hook, false).await {
                                    log::warning("ContinueServiceDeployment failed", &e.to_string());
                                }
                            }
                            Err(reason) => stop_reason = Some((Failure::SmokeCheck { reason }, false)),
                        }
                    }
                    Phase::Paused { hook } if smoked && (0.01..100.0).contains(&view.production_weight) => {
                        // A pause before a later traffic step (pause.rs): judge what this
                        // weight served, on every minute of it, then answer.
                        let weight = view.production_weight.round().clamp(1.0, 99.0) as u8;
                        windows.serving(ports, weight);
                        let now = ports.clock.now();
                        let since = pauses.hold(&hook, now);
                        let judged = super::super::cancel::race(cancel, windows.judge(ports, cfg, pc, target)).await;
                        match judged {
                            Some(Some((weight, reason))) => {
                                stop_reason = Some((Failure::Analysis { weight, reason }, false));
                            }
                            Some(None)
                                if super::pause::published_through(pc, since, now) && !windows.settling(pc, now) =>
                            {
                                log::info(&format!(
                                    "{weight}% judged on every minute CloudWatch published of it; answering {hook}: CONTINUE"
                                ));
                                if let Err(e) = ports.ecs.continue_service_deployment(&target.arn, &hook, false).await {
                                    log::warning("ContinueServiceDeployment failed", &e.to_string());
                                }
                                pauses.answered(now);
                            }
                            _ => {}
                        }
                    }
                    Phase::Paused { hook } => {
                        let how = format!(
                            "paused by ECS at {} (PAUSE hook {hook}); re-run this release with `on-split: continue` to continue it, or without to roll it back",
                            view.stage
                        );
                        log::info(&how);
                        return ended(
                            OutcomeKind::Paused,
                            ServiceStatus::Deployed,
                            Some(how),
                            windows.timeline,
                        );
                    }
                    Phase::Serving => {
                        let weight = view.production_weight.round().clamp(0.0, 100.0) as u8;
                        windows.serving(ports, weight);
                        let judged = super::super::cancel::race(cancel, windows.judge(ports, cfg, pc, target)).await;
                        if let Some(Some((weight, reason))) = judged {
                            stop_reason = Some((Failure::Analysis { weight, reason }, false));
                        }
                    }
                    Phase::Preparing | Phase::RollingBack => {}
                }
                if stop_reason.is_none() && until != WaitUntil::Deployed && until.reached(&view) {
                    let note = until.unwatched(setup).unwrap_or_default();
                    log::warning("Not watched by this job", &note);
                    windows.close_all(ports, &format!("pass so far; {note}"));
                    return ended(
                        OutcomeKind::Success,
                        ServiceStatus::Deployed,
                        Some(note),
                        windows.timeline,
                    );
                }
            }
            // wait-timeout is the action's margin on top of what ECS itself takes to shift and bake.
            let deadline = cfg.wait_timeout
                + setup.own_duration().div_f64(cfg.aws_time_scale.max(1.0))
                + pauses.held(ports.clock.now());
            if stop_reason.is_none() && super::super::elapsed(ports, since) > deadline {
                stop_reason = Some((Failure::Timeout, false));
            }
        }
        if let Some((failure, cancelled)) = stop_reason.take() {
            return stop(cfg, ports, target, failure, cancelled, windows, cancel).await;
        }
        sleep_or_cancel(ports, every, cancel).await;
    }
}

/// The new revision's share (percent) of the production listener rule now; None if the rule
/// could not be read.
async fn live_weight(ports: &Ports<'_>, setup: &NativeSetup, target: &Target) -> Option<f64> {
    let fw = ports
        .router
        .forward_weights(&TrafficSplitRef::Rule(setup.production_rule.clone()))
        .await
        .ok()?;
    let green = f64::from(fw.weight_of(&target.green_tg).unwrap_or(0));
    let total: f64 = fw.weights.iter().map(|(_, w)| f64::from(*w)).sum();
    Some(if total > 0.0 { 100.0 * green / total } else { 0.0 })
}

/// StopServiceDeployment with ROLLBACK, then ECS's rollback waited out (briefly on a signal).
#[allow(clippy::too_many_arguments)]
async fn stop(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    target: &Target,
    failure: Failure,
    cancelled: bool,
    mut windows: Windows,
    cancel: &mut Cancel,
) -> Followed {
    let why = if cancelled {
        "cancelled by the runner (SIGINT/SIGTERM/SIGHUP)".to_string()
    } else {
        failure.summary()
    };
    if super::clean_up::in_clean_up(ports, &target.arn).await {
        let (kind, status) = super::clean_up::left_to_finish(failure, cancelled);
        log::warning(
            "Not rolled back",
            "ECS is in CLEAN_UP, stopping the previous revision's tasks; it is left to finish",
        );
        windows.close_all(ports, &format!("fail: {why}; left to ECS in CLEAN_UP"));
        return ended(kind, status, Some(why), windows.timeline);
    }
    log::info("Roll back: StopServiceDeployment with ROLLBACK");
    windows.close_all(ports, &format!("fail: {why}"));
    let timeline = windows.timeline;
    let rollback = match ports.ecs.stop_service_deployment(&target.arn).await {
        Err(e) => RollbackResult::Failed(format!("StopServiceDeployment failed: {e}")),
        Ok(()) => {
            log::info(&format!(
                "{}: ECS is rolling {} back",
                target.service,
                target.describe()
            ));
            let budget = revert_budget(cancelled).max(if cancelled { Duration::ZERO } else { cfg.wait_timeout });
            match await_end(ports, &target.arn, budget, cfg.poll_interval, cancel)
                .await
                .map(|v| v.phase())
            {
                Some(Phase::RolledBack { .. }) => RollbackResult::ByEcsDeployment,
                Some(other) => RollbackResult::Failed(format!("the deployment ended as {other:?}")),
                None => RollbackResult::Requested,
            }
        }
    };
    let kind = if cancelled {
        OutcomeKind::Cancelled
    } else {
        OutcomeKind::Failure
    };
    let status = if cancelled {
        ServiceStatus::Cancelled(rollback)
    } else {
        ServiceStatus::Failed { failure, rollback }
    };
    ended(kind, status, Some(why), timeline)
}

fn judged_too_late(weight: u8, reason: String, timeline: Vec<StepRecord>) -> Followed {
    let (status, why) = super::window::judged_too_late(weight, reason, "ECS");
    ended(OutcomeKind::Failure, status, Some(why), timeline)
}

fn ended(kind: OutcomeKind, status: ServiceStatus, reason: Option<String>, timeline: Vec<StepRecord>) -> Followed {
    Followed {
        kind,
        status,
        reason,
        timeline,
    }
}
