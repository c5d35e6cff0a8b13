//! The rolling deploy of one or many services, all or nothing, as an interpreter of the
//! rolling plan (register, update, await stable).
//!
//! 1. Read everything and decide (no mutation): images pinned, services healthy and idle,
//!    containers present; the deploy lock; then the same reads again under the lock.
//! 2. Register one new revision per base task definition, point each service at it.
//! 3. Wait for all of them together.
//! 4. If any failed, timed out, or we were cancelled: put every service of the run back on
//!    its previous task definition (unless ECS already did, or someone else now owns it), and
//!    wait for ECS's own rollback to be stable when its circuit breaker did it.

mod preflight;
mod rollback;
mod steps;

use std::collections::BTreeMap;

use super::images::{self, ResolvedImages};
use super::wait::{short_td, WaitResult};
use super::{lock, log, Cancel, DeployReport, Ports};
use crate::domain::controller::Controller;
use crate::domain::diagnostics::Diagnostics;
use crate::domain::outcome::{Outcome, OutcomeKind, RollbackResult, ServiceResult, ServiceStatus};
use crate::domain::plan::Plan;
use crate::domain::rollout::Failure;
use crate::domain::settings::DeployConfig;
use crate::error::Error;
use preflight::preflight;
pub(crate) use preflight::{check_service, preflight as preflight_native, record, record_tags, Planned};
pub(crate) use rollback::revert_budget;
use rollback::roll_back;
use steps::RollingSteps;

pub async fn deploy(cfg: &DeployConfig, ports: &Ports<'_>, cancel: &mut Cancel) -> Result<DeployReport, Error> {
    let started = ports.clock.now();

    log::group("Preflight: resolve the image and find the services");
    let pre = async {
        let resolved = images::resolve(ports, &cfg.images).await?;
        let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
        // Refused here with no change at all (not even the lock); checked again under the lock.
        for s in states
            .iter()
            .filter(|s| Controller::of_service(s) == Some(Controller::Rolling))
        {
            check_service(&cfg.cluster, s)?;
        }
        Ok::<_, Error>((resolved, states))
    }
    .await;
    log::endgroup();
    let (resolved, states) = pre?;
    // One place decides the controller: the service's own configuration.
    for s in &states {
        match Controller::of_service(s) {
            // ECS shifts this service's traffic itself: follow and judge its own deployment.
            Some(Controller::EcsNative) => return super::native::deploy(cfg, ports, cancel, resolved, s.clone()).await,
            // CodeDeploy shifts this one, through its deployment group.
            Some(Controller::CodeDeploy) => {
                return super::codedeploy::deploy(cfg, ports, cancel, resolved, s.clone()).await
            }
            _ => {}
        }
    }
    // Plain ECS rolling updates: a setting only another controller honours is refused here,
    // before the lock or any change.
    for s in &states {
        super::capabilities::check(cfg, &s.name, Controller::Rolling)?;
    }

    // One deploy per service at a time, taken before the state the run acts on is read: a
    // run that gets the lock just after another released it sees that run's result.
    let plan = crate::domain::plan::rolling(&cfg.services, &resolved.image, cfg.controls.desired_count)
        .with_run_task(cfg.run_task.as_ref());
    let services: Vec<(String, String)> = states.iter().map(|s| (s.name.clone(), s.arn.clone())).collect();
    let ttl = lock::ttl(cfg, &plan);
    lock::holding(cfg, ports, &services, ttl, async {
        log::group("Preflight: check the services and their task definitions (under the lock)");
        let planned = preflight(cfg, ports, &resolved).await;
        log::endgroup();
        let planned = planned?;
        let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
        let suspension = super::scaling::suspend(cfg, ports, &states).await?;
        let mut report = deploy_locked(cfg, ports, cancel, resolved, planned, plan, started).await;
        super::scaling::resume(cfg, ports, suspension, &BTreeMap::new()).await;
        report.production = Some(super::readback::services(ports, &cfg.cluster, &cfg.services).await);
        let services: Vec<&str> = cfg.services.iter().map(String::as_str).collect();
        report.links = super::links::for_run(cfg, &services, &[], &report.image);
        Ok(report)
    })
    .await
}

/// Everything after the preflight, under the lock: the plan's steps in order; the report
/// says how it ended.
#[allow(clippy::too_many_arguments)]
async fn deploy_locked(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: ResolvedImages,
    planned: Vec<Planned>,
    plan: Plan,
    started: std::time::SystemTime,
) -> DeployReport {
    let mut steps = RollingSteps {
        cfg,
        ports,
        planned: &planned,
        new_td: BTreeMap::new(),
        tracked: BTreeMap::new(),
        mutation_error: None,
        uncertain: BTreeMap::new(),
        wait: WaitResult::default(),
    };
    let executed = super::interpret::walk(&plan, &mut steps, cancel).await.executed;
    let RollingSteps {
        tracked,
        mutation_error,
        uncertain,
        wait,
        ..
    } = steps;

    if mutation_error.is_none() && wait.all_stable() {
        let services = planned
            .iter()
            .map(|p| ServiceResult {
                service: p.service.clone(),
                previous_task_definition: p.previous_task_definition.clone(),
                new_task_definition: tracked.get(&p.service).map(|t| t.task_definition.clone()),
                status: ServiceStatus::Deployed,
                diagnostics: Diagnostics::default(),
                duration_ms: super::elapsed(ports, started).as_millis(),
            })
            .collect();
        let outcome = Outcome {
            kind: OutcomeKind::Success,
            services,
            reason: None,
        };
        return report(outcome, resolved, plan, executed);
    }

    // Something went wrong: put everything back, then explain.
    let cancelled = wait.cancelled;
    let mut reason = match (&mutation_error, cancelled) {
        (Some(e), _) => e.to_string(),
        (None, true) => "cancelled by the runner (SIGINT/SIGTERM/SIGHUP)".to_string(),
        (None, false) => wait
            .verdicts
            .iter()
            .filter_map(|(s, v)| v.as_ref().err().map(|f| format!("{s}: {}", f.summary())))
            .collect::<Vec<_>>()
            .join("; "),
    };
    log::group("Roll back");
    let rollbacks = roll_back(cfg, ports, &tracked, &uncertain, &wait, cancelled).await;
    log::endgroup();

    let mut services = Vec::new();
    for p in &planned {
        let t = tracked.get(&p.service);
        let verdict = wait.verdicts.get(&p.service);
        let rollback = rollbacks
            .get(&p.service)
            .cloned()
            .unwrap_or_else(|| RollbackResult::NotAttempted("the service was not changed".into()));
        let status = match (verdict, cancelled) {
            (_, true) => ServiceStatus::Cancelled(rollback),
            (Some(Err(f)), _) => ServiceStatus::Failed {
                failure: f.clone(),
                rollback,
            },
            (None, _) if mutation_error.is_some() && t.is_none() => ServiceStatus::Failed {
                failure: Failure::RolloutFailed {
                    reason: mutation_error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                },
                rollback,
            },
            _ => ServiceStatus::RolledBackWithOthers(rollback),
        };
        let diagnostics = match (&status, t, wait.last_seen.get(&p.service)) {
            (ServiceStatus::Failed { .. }, Some(t), Some(state)) => {
                ports
                    .ecs
                    .diagnostics(&cfg.cluster, state, &t.task_definition, started)
                    .await
            }
            _ => Diagnostics::default(),
        };
        services.push(ServiceResult {
            service: p.service.clone(),
            previous_task_definition: p.previous_task_definition.clone(),
            new_task_definition: t.map(|t| t.task_definition.clone()),
            status,
            diagnostics,
            duration_ms: super::elapsed(ports, started).as_millis(),
        });
    }
    // The same cause the `::error` lines name, not only ECS's "tasks failed to start".
    for s in &services {
        if let Some(headline) = s.diagnostics.headline() {
            reason = format!("{reason} ({}: {headline})", s.service);
        }
    }
    let outcome = Outcome {
        kind: if cancelled {
            OutcomeKind::Cancelled
        } else {
            OutcomeKind::Failure
        },
        services,
        reason: Some(reason),
    };
    report(outcome, resolved, plan, executed)
}

fn report(outcome: Outcome, resolved: ResolvedImages, plan: Plan, executed: Vec<usize>) -> DeployReport {
    DeployReport {
        outcome,
        image: resolved.image,
        digest: resolved.digest.map(|d| d.to_string()),
        strategy: "rolling".into(),
        timeline: vec![],
        plan: Some(plan),
        executed,
        limits: None,
        production: None,
        links: vec![],
    }
}

/// One new revision per base task definition (services that share one share the revision);
/// with a task-definition file, one revision from the file for every service.
pub(crate) async fn register_all(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    planned: &[Planned],
    new_td: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    if let (Some(file), Some(first)) = (&cfg.task_definition_file, planned.first()) {
        let td = ports
            .ecs
            .register_file(&file.json, &file.path, &first.images, &first.tags)
            .await?;
        log::info(&format!("registered {} from {}", short_td(&td), file.path));
        for p in planned {
            new_td.insert(p.previous_task_definition.clone(), td.clone());
        }
        return Ok(());
    }
    // One per base task definition (the first service on it gives the images), a batch at a
    // time; a failure starts no further registration.
    let mut bases: Vec<&Planned> = Vec::new();
    for p in planned {
        if !new_td.contains_key(&p.previous_task_definition)
            && !bases
                .iter()
                .any(|b| b.previous_task_definition == p.previous_task_definition)
        {
            bases.push(p);
        }
    }
    let registered = super::batches::in_batches(
        &bases,
        |p| async move {
            let td = ports
                .ecs
                .register_revision(&p.previous_task_definition, &p.images, &p.tags)
                .await;
            (p.previous_task_definition.clone(), td)
        },
        |batch| batch.iter().any(|(_, td)| td.is_err()),
    )
    .await;
    for (base, td) in registered {
        let td = td?;
        log::info(&format!("registered {} (from {})", short_td(&td), short_td(&base)));
        new_td.insert(base, td);
    }
    Ok(())
}
