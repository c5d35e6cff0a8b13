//! The rolling deploy of one or many services, all or nothing.
//!
//! 1. Read everything and decide (no mutation): images pinned, services healthy and idle,
//!    containers present.
//! 2. Register one new revision per base task definition, point each service at it.
//! 3. Wait for all of them together.
//! 4. If any failed, timed out, or we were cancelled: put every service of the run back on
//!    its previous task definition (unless ECS already did, or someone else now owns it).

use std::collections::BTreeMap;
use std::time::Duration;

use super::images::{self, ResolvedImages};
use super::wait::{short_td, wait_for, WaitResult};
use super::{lock, log, Cancel, DeployReport, Ports};
use crate::config::DeployConfig;
use crate::domain::diagnostics::Diagnostics;
use crate::domain::outcome::{Outcome, OutcomeKind, RollbackResult, ServiceResult, ServiceStatus};
use crate::domain::plan::{Plan, Step};
use crate::domain::rollout::{Failure, Tracked};
use crate::domain::service::ServiceState;
use crate::domain::task_definition::{assign_images, merge_tags, ImageAssignment};
use crate::error::Error;

/// Tag keys of the records we leave on each task definition.
pub mod record {
    pub const STAGE: &str = "ecs-deploy:stage";
    pub const VERSION: &str = "ecs-deploy:version";
    pub const DIGEST: &str = "ecs-deploy:digest";
    pub const GIT_SHA: &str = "ecs-deploy:git-sha";
    pub const RUN_URL: &str = "ecs-deploy:run-url";
}

/// What the preflight decided for one service.
#[derive(Debug, Clone)]
struct Planned {
    service: String,
    previous_task_definition: String,
    images: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

pub async fn deploy(cfg: &DeployConfig, ports: &Ports<'_>, cancel: &mut Cancel) -> Result<DeployReport, Error> {
    let started = ports.clock.now();

    log::group("Preflight: resolve the image and find the services");
    let pre = async {
        let resolved = images::resolve(ports, &cfg.images).await?;
        let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
        // Refused here with no change at all (not even a lock tag); checked again under the lock.
        for s in &states {
            check_service(&cfg.cluster, s)?;
        }
        Ok::<_, Error>((resolved, states))
    }
    .await;
    log::endgroup();
    let (resolved, states) = pre?;

    // One deploy per service at a time, taken before the state the run acts on is read: a
    // run that gets the lock just after another released it sees that run's result.
    let plan = crate::domain::plan::rolling(&cfg.services, &resolved.image);
    let services: Vec<(String, String)> = states.iter().map(|s| (s.name.clone(), s.arn.clone())).collect();
    let held = lock::acquire(cfg, ports, &services, lock::ttl(cfg, &plan)).await?;
    let result = async {
        log::group("Preflight: check the services and their task definitions (under the lock)");
        let planned = preflight(cfg, ports, &resolved).await;
        log::endgroup();
        Ok(deploy_locked(cfg, ports, cancel, resolved, planned?, plan, started).await)
    }
    .await;
    lock::release(ports, &held).await;
    result
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
    let mut new_td: BTreeMap<String, String> = BTreeMap::new(); // base → new, registered once
    let mut tracked: BTreeMap<String, Tracked> = BTreeMap::new();
    let mut mutation_error: Option<Error> = None;
    // A service whose UpdateService failed may still have been updated (the call timed out
    // after AWS executed it): it is rolled back too, which is a no-op if it was not.
    let mut uncertain: BTreeMap<String, Tracked> = BTreeMap::new();
    let mut wait = WaitResult::default();
    let mut executed = Vec::new();
    let n = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        if *cancel.borrow() {
            // Cancelled before this step: what was changed is put back below.
            wait.cancelled = true;
            break;
        }
        log::group(&format!("Step {}/{n} {}: {step}", index + 1, step.kind()));
        executed.push(index);
        match step {
            Step::RegisterRevision { .. } => {
                if let Err(e) = register_all(ports, &planned, &mut new_td).await {
                    mutation_error = Some(e);
                }
            }
            Step::UpdateService { .. } => {
                for p in &planned {
                    // Cancelled before this service was touched: leave it (and the rest) alone.
                    if *cancel.borrow() {
                        break;
                    }
                    let td = new_td[&p.previous_task_definition].clone();
                    let t = Tracked {
                        deployment_id: String::new(),
                        task_definition: td.clone(),
                        previous_task_definition: p.previous_task_definition.clone(),
                    };
                    match ports.ecs.update_service(&cfg.cluster, &p.service, &td, None).await {
                        Ok(deployment_id) => {
                            log::info(&format!(
                                "{}: deployment {deployment_id} started on {}",
                                p.service,
                                short_td(&td)
                            ));
                            tracked.insert(p.service.clone(), Tracked { deployment_id, ..t });
                        }
                        Err(e) => {
                            uncertain.insert(p.service.clone(), t);
                            mutation_error = Some(e.into());
                            break;
                        }
                    }
                }
            }
            Step::AwaitStable { .. } => {
                wait = wait_for(
                    ports,
                    &cfg.cluster,
                    &tracked,
                    cfg.wait_timeout,
                    cfg.poll_interval,
                    cancel,
                )
                .await;
            }
            other => log::warning("Step skipped", &format!("{} is not a rolling step", other.kind())),
        }
        log::endgroup();
        if mutation_error.is_some() || wait.cancelled {
            break;
        }
    }

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
        return DeployReport {
            outcome: Outcome {
                kind: OutcomeKind::Success,
                services,
                reason: None,
            },
            image: resolved.image,
            digest: resolved.digest.map(|d| d.to_string()),
            strategy: "rolling".into(),
            timeline: vec![],
            plan: Some(plan),
            executed,
        };
    }

    // Something went wrong: put everything back, then explain.
    let cancelled = wait.cancelled;
    let reason = match (&mutation_error, cancelled) {
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
    DeployReport {
        outcome: Outcome {
            kind: if cancelled {
                OutcomeKind::Cancelled
            } else {
                OutcomeKind::Failure
            },
            services,
            reason: Some(reason),
        },
        image: resolved.image,
        digest: resolved.digest.map(|d| d.to_string()),
        strategy: "rolling".into(),
        timeline: vec![],
        plan: Some(plan),
        executed,
    }
}

/// One new revision per base task definition (services that share one share the revision).
async fn register_all(
    ports: &Ports<'_>,
    planned: &[Planned],
    new_td: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    for p in planned {
        if new_td.contains_key(&p.previous_task_definition) {
            continue;
        }
        let td = ports
            .ecs
            .register_revision(&p.previous_task_definition, &p.images, &p.tags)
            .await?;
        log::info(&format!(
            "registered {} (from {})",
            short_td(&td),
            short_td(&p.previous_task_definition)
        ));
        new_td.insert(p.previous_task_definition.clone(), td);
    }
    Ok(())
}

async fn preflight(cfg: &DeployConfig, ports: &Ports<'_>, resolved: &ResolvedImages) -> Result<Vec<Planned>, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    for s in &states {
        check_service(&cfg.cluster, s)?;
    }
    let mut planned = Vec::new();
    let mut infos = BTreeMap::new();
    for s in &states {
        if !infos.contains_key(&s.task_definition) {
            infos.insert(
                s.task_definition.clone(),
                ports.ecs.describe_task_definition(&s.task_definition).await?,
            );
        }
        let info = &infos[&s.task_definition];
        let images = assign_images(&info.arn, &info.containers, &resolved.assignment)?;
        let tags = merge_tags(&info.tags, &record_tags(cfg, resolved));
        for (container, image) in &images {
            log::info(&format!("{}: container {container} → {image}", s.name));
        }
        planned.push(Planned {
            service: s.name.clone(),
            previous_task_definition: s.task_definition.clone(),
            images,
            tags,
        });
    }
    // Every name=image pair must have found its container in some service.
    if let ImageAssignment::Map(map) = &resolved.assignment {
        for container in map.keys() {
            if !planned.iter().any(|p| p.images.iter().any(|(n, _)| n == container)) {
                return Err(Error::Preflight {
                    cluster: cfg.cluster.clone(),
                    service: cfg.services.join(", "),
                    problem: format!(
                        "has no container named `{container}` in any task definition; fix the `containers` input"
                    ),
                });
            }
        }
    }
    Ok(planned)
}

pub(crate) fn check_service(cluster: &str, s: &ServiceState) -> Result<(), Error> {
    let problem = if s.status == "MISSING" {
        Some("does not exist; check `services`, `cluster` and the region".to_string())
    } else if s.status != "ACTIVE" {
        Some(format!("is {}; only ACTIVE services can be deployed", s.status))
    } else if s.deployment_controller != "ECS" {
        Some(format!(
            "uses the {} deployment controller; this action drives rolling (ECS) deployments, so deploy it with its own controller",
            s.deployment_controller
        ))
    } else if s.deployments.len() > 1 {
        let ids: Vec<&str> = s.deployments.iter().map(|d| d.id.as_str()).collect();
        Some(format!(
            "already has a deployment in progress ({}); wait for it to finish, then re-run",
            ids.join(", ")
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::Preflight {
            cluster: cluster.to_string(),
            service: s.name.clone(),
            problem,
        }),
        None => Ok(()),
    }
}

pub(crate) fn record_tags(cfg: &DeployConfig, resolved: &ResolvedImages) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    if let Some(stage) = &cfg.stage {
        tags.push((record::STAGE.to_string(), stage.clone()));
    }
    if let Some(v) = &cfg.version {
        tags.push((record::VERSION.to_string(), format!("v{v}")));
    }
    if let Some(d) = &resolved.digest {
        tags.push((record::DIGEST.to_string(), d.to_string()));
    }
    if let Some(sha) = &cfg.context.sha {
        tags.push((record::GIT_SHA.to_string(), sha.clone()));
    }
    if let Some(url) = cfg.context.run_url() {
        tags.push((record::RUN_URL.to_string(), url));
    }
    tags
}

/// How long a rollback keeps asking ECS: a cancelled job has seconds before the runner kills
/// it; otherwise a service must not be left on the new revision while AWS answers at all.
pub(crate) fn revert_budget(cancelled: bool) -> Duration {
    if cancelled {
        Duration::from_secs(7)
    } else {
        Duration::from_secs(180)
    }
}

/// Puts every touched service back on its previous task definition. On cancellation it only
/// asks (the runner gives us seconds); otherwise it waits for the services to be stable again.
/// `uncertain` services may or may not have been updated; asking ECS for the previous revision
/// again is harmless when they were not.
async fn roll_back(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    tracked: &BTreeMap<String, Tracked>,
    uncertain: &BTreeMap<String, Tracked>,
    wait: &WaitResult,
    cancelled: bool,
) -> BTreeMap<String, RollbackResult> {
    let mut results = BTreeMap::new();
    let mut rollback_tracked = BTreeMap::new();
    let mut by_ecs = Vec::new();
    let deadline = ports.clock.now() + revert_budget(cancelled);
    for (service, t) in tracked.iter().chain(uncertain) {
        let failure = wait.verdicts.get(service).and_then(|v| v.as_ref().err());
        if failure.is_some_and(Failure::ecs_already_rolled_back) {
            // ECS's rollback is a deployment like ours: it is only done when it is stable.
            match ecs_rollback(wait, service) {
                Some(t) => {
                    by_ecs.push(service.clone());
                    rollback_tracked.insert(service.clone(), t);
                }
                None => {
                    results.insert(service.clone(), RollbackResult::ByEcs);
                }
            }
            continue;
        }
        if failure.is_some_and(Failure::is_foreign) {
            results.insert(
                service.clone(),
                RollbackResult::NotAttempted("another deployment replaced ours; it is left alone".into()),
            );
            continue;
        }
        if !cfg.rollback_on_failure && !cancelled {
            results.insert(
                service.clone(),
                RollbackResult::NotAttempted("rollback-on-failure is false".into()),
            );
            continue;
        }
        // Throttling or an outage that outlasts the SDK's retries must not leave the service
        // on the new revision: keep asking, with backoff, until the budget is spent.
        let mut delay = Duration::from_millis(250);
        let asked = loop {
            match ports
                .ecs
                .update_service(&cfg.cluster, service, &t.previous_task_definition, None)
                .await
            {
                Ok(id) => break Ok(id),
                Err(e) if ports.clock.now() + delay < deadline => {
                    log::warning(
                        &format!("Rollback of {service} not accepted yet"),
                        &format!("{e}; retrying"),
                    );
                    ports.clock.sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => break Err(e),
            }
        };
        match asked {
            Ok(deployment_id) => {
                log::info(&format!(
                    "{service}: rolling back to {} (deployment {deployment_id})",
                    short_td(&t.previous_task_definition)
                ));
                results.insert(service.clone(), RollbackResult::Requested);
                rollback_tracked.insert(
                    service.clone(),
                    Tracked {
                        deployment_id,
                        task_definition: t.previous_task_definition.clone(),
                        previous_task_definition: t.task_definition.clone(),
                    },
                );
            }
            Err(e) => {
                log::error(&format!("Rollback of {service} failed"), &e.to_string());
                results.insert(service.clone(), RollbackResult::Failed(e.to_string()));
            }
        }
    }
    if cancelled || rollback_tracked.is_empty() {
        for service in by_ecs {
            results.insert(service, RollbackResult::ByEcs);
        }
        return results;
    }
    if !by_ecs.is_empty() {
        log::info(&format!(
            "waiting for ECS's own rollback of {} to be stable",
            by_ecs.join(", ")
        ));
    }
    // A fresh receiver that never fires: the rollback itself must not be cancelled by a
    // repeated signal, it is what makes the state known.
    let (_keep, mut never) = tokio::sync::watch::channel(false);
    let settle = wait_for(
        ports,
        &cfg.cluster,
        &rollback_tracked,
        cfg.wait_timeout.max(Duration::from_secs(60)),
        cfg.poll_interval,
        &mut never,
    )
    .await;
    for (service, verdict) in settle.verdicts {
        let ecs = by_ecs.contains(&service);
        let result = match verdict {
            Ok(()) if ecs => RollbackResult::ByEcs,
            Ok(()) => RollbackResult::Done,
            Err(f) if ecs => {
                log::error(
                    &format!("ECS's rollback of {service} did not finish"),
                    &format!(
                        "{}; the service may be on neither revision: look at its events",
                        f.summary()
                    ),
                );
                RollbackResult::Failed(format!(
                    "the circuit breaker's rollback did not finish: {}",
                    f.summary()
                ))
            }
            Err(f) => RollbackResult::Failed(f.summary()),
        };
        results.insert(service, result);
    }
    results
}

/// The rollback deployment ECS's circuit breaker started, as last seen (its PRIMARY).
fn ecs_rollback(wait: &WaitResult, service: &str) -> Option<Tracked> {
    let state = wait.last_seen.get(service)?;
    let primary = state.deployments.iter().find(|d| d.status == "PRIMARY")?;
    Some(Tracked {
        deployment_id: primary.id.clone(),
        task_definition: primary.task_definition.clone(),
        previous_task_definition: String::new(),
    })
}
