//! Putting a rolling deploy back: every touched service on its previous task definition,
//! kept asking within a budget, then waited for; ECS's own circuit-breaker rollback is waited
//! for too, so the run ends only in a known state.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::batches::in_batches;
use super::super::cancel::within;
use super::super::wait::{short_td, wait_for, WaitResult};
use super::super::{log, Ports};
use crate::domain::outcome::RollbackResult;
use crate::domain::rollout::{EcsTrigger, Failure, Tracked};
use crate::domain::service::DeploymentStatus;
use crate::domain::settings::DeployConfig;

/// How long a rollback keeps asking ECS: a cancelled job has seconds before the runner kills
/// it; otherwise a service must not be left on the new revision while AWS answers at all.
pub fn revert_budget(cancelled: bool) -> Duration {
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
pub async fn roll_back(
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
    let mut to_ask: Vec<(&String, &Tracked)> = Vec::new();
    for (service, t) in tracked.iter().chain(uncertain) {
        let failure = wait.verdicts.get(service).and_then(|v| v.as_ref().err());
        if failure.is_some_and(Failure::ecs_already_rolled_back) {
            // ECS's rollback restores the revision, not the task count `desired-count` changed.
            if let Some(n) = t.previous_desired {
                if let Err(e) = ports.ecs.scale_service(&cfg.cluster, service, n).await {
                    log::warning(
                        "Task count not restored",
                        &format!("{e}; ECS rolled {service} back, but set its desired count back to {n} by hand"),
                    );
                }
            }
            // ECS's rollback is a deployment like ours: it is only done when it is stable.
            let trigger = match failure {
                Some(Failure::EcsRollback { by, .. }) => by.clone(),
                _ => EcsTrigger::Unknown,
            };
            match ecs_rollback(wait, service) {
                Some(t) => {
                    by_ecs.push((service.clone(), trigger));
                    rollback_tracked.insert(service.clone(), t);
                }
                None => {
                    results.insert(service.clone(), RollbackResult::ByEcs(trigger));
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
        to_ask.push((service, t));
    }
    // Ten at a time, none skipped (no stop between batches): under a signal the
    // budget is seconds, and 50 services asked one after another would not fit in it.
    let asked = in_batches(
        &to_ask,
        |(service, t)| ask_back(cfg, ports, service, t, deadline, cancelled),
        |_| false,
    )
    .await;
    for ((service, t), asked) in to_ask.iter().zip(asked) {
        let service = *service;
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
                        previous_desired: None,
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
        for (service, trigger) in by_ecs {
            results.insert(service, RollbackResult::ByEcs(trigger));
        }
        return results;
    }
    if !by_ecs.is_empty() {
        let names: Vec<&str> = by_ecs.iter().map(|(s, _)| s.as_str()).collect();
        log::info(&format!(
            "waiting for ECS's own rollback of {} to be stable",
            names.join(", ")
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
        let ecs = by_ecs.iter().find(|(s, _)| *s == service).map(|(_, t)| t.clone());
        let result = match (verdict, ecs) {
            (Ok(()), Some(trigger)) => RollbackResult::ByEcs(trigger),
            (Ok(()), None) => RollbackResult::Done,
            (Err(f), Some(_)) => {
                log::error(
                    &format!("ECS's rollback of {service} did not finish"),
                    &format!(
                        "{}; the service may be on neither revision: look at its events",
                        f.summary()
                    ),
                );
                RollbackResult::Failed(format!("ECS's rollback did not finish: {}", f.summary()))
            }
            (Err(f), None) => RollbackResult::Failed(f.summary()),
        };
        results.insert(service, result);
    }
    results
}

/// Asks ECS to put `service` back on its previous revision. Throttling or an outage that
/// outlasts the SDK's retries must not leave the service on the new revision: keep asking,
/// with backoff, until the budget is spent. Only an outage is worth asking again: a refusal
/// will be refused again.
async fn ask_back(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    service: &String,
    t: &Tracked,
    deadline: std::time::SystemTime,
    cancelled: bool,
) -> Result<String, crate::error::AwsError> {
    let mut delay = Duration::from_millis(250);
    loop {
        let ask = ports
            .ecs
            .update_service(&cfg.cluster, service, &t.previous_task_definition, t.previous_desired);
        let answer = within(ports, deadline, ask).await.unwrap_or_else(|| {
            Err(crate::error::AwsError {
                operation: "ecs:UpdateService",
                resource: service.clone(),
                message: format!(
                    "no answer within the revert budget of {} s",
                    revert_budget(cancelled).as_secs()
                ),
                kind: crate::error::AwsErrorKind::Transient,
            })
        });
        match answer {
            Ok(id) => return Ok(id),
            Err(e) if !e.kind.is_definite_refusal() && ports.clock.now() + delay < deadline => {
                log::warning(
                    &format!("Rollback of {service} not accepted yet"),
                    &format!("{e}; retrying"),
                );
                ports.clock.sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The rollback deployment ECS's circuit breaker started, as last seen (its PRIMARY).
fn ecs_rollback(wait: &WaitResult, service: &str) -> Option<Tracked> {
    let state = wait.last_seen.get(service)?;
    let primary = state
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)?;
    Some(Tracked {
        deployment_id: primary.id.clone(),
        task_definition: primary.task_definition.clone(),
        previous_task_definition: String::new(),
        previous_desired: None,
    })
}
