//! Application Auto Scaling suspended for exactly the deploy: after the lock and before the
//! first change, and put back on every way out (success, failure, a pause, a signal).
//!
//! What a run changes is saved on the service first (tag `ecs-deploy:scaling`), so a run that
//! is killed before it resumes leaves what to put back: the next run restores that state, not
//! the suspension it finds. A resume that fails is a warning naming the command to run.

use std::collections::BTreeMap;

use super::{log, Ports};
use crate::domain::autoscaling::{self, Saved, Suspended};
use crate::domain::service::ServiceState;
use crate::domain::settings::DeployConfig;
use crate::error::Error;

/// The tag that keeps a target's state from before the run.
pub const SAVED_TAG: &str = "ecs-deploy:scaling";

/// The targets this run suspended.
#[derive(Debug, Default)]
pub struct Suspension {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    service: String,
    arn: String,
    saved: Saved,
    /// The minimum was lowered to the service's count (an idle slot).
    lowered: bool,
}

impl Suspension {
    /// The saved state of a service's target, if the run suspended one.
    pub fn saved(&self, service: &str) -> Option<&Saved> {
        self.entries.iter().find(|e| e.service == service).map(|e| &e.saved)
    }
}

/// Suspends every target of `services` (read under the lock). Refused reads stop the run
/// before any change; a failure half-way resumes what was suspended, then stops it.
pub async fn suspend(cfg: &DeployConfig, ports: &Ports<'_>, services: &[ServiceState]) -> Result<Suspension, Error> {
    let mut suspension = Suspension::default();
    if !cfg.controls.suspend_auto_scaling {
        return Ok(suspension);
    }
    let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
    let refused = |e: crate::error::AwsError, service: &str| {
        Error::Preflight {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        problem: format!(
            "could not suspend its auto scaling: {e} Or set `suspend-auto-scaling: false` to deploy with the autoscaler active"
        ),
    }
    };
    let targets = ports
        .autoscaling
        .targets(&cfg.cluster, &names)
        .await
        .map_err(|e| refused(e, &names.join(", ")))?;
    if !targets.is_empty() && targets.len() < services.len() {
        let without: Vec<&str> = names
            .iter()
            .filter(|n| !targets.iter().any(|t| &t.service == *n))
            .map(String::as_str)
            .collect();
        log::warning(
            "Auto scaling not on every service",
            &format!(
                "{} has no scalable target: once it serves production nothing scales it. Register the same target and policies on every service of the deploy",
                without.join(", ")
            ),
        );
    }
    for target in &targets {
        let Some(state) = services.iter().find(|s| s.name == target.service) else {
            continue;
        };
        let step = async {
            let tags = ports.ecs.service_tags(&state.arn).await?;
            let killed = tags
                .iter()
                .find(|(k, _)| k == SAVED_TAG)
                .and_then(|(_, v)| Saved::parse(v));
            if killed.is_some() {
                log::info(&format!(
                    "{}: an earlier run left its auto scaling suspended; restoring what it saved at the end",
                    state.name
                ));
            }
            let (saved, lowered_min) = autoscaling::suspension(target, state.desired, killed);
            ports
                .ecs
                .tag_service(&state.arn, &[(SAVED_TAG.to_string(), saved.to_string())])
                .await?;
            ports
                .autoscaling
                .update_target(
                    &cfg.cluster,
                    &state.name,
                    Suspended::ALL,
                    lowered_min.map(|m| (m, saved.max)),
                )
                .await?;
            Ok::<_, crate::error::AwsError>((saved, lowered_min.is_some()))
        }
        .await;
        match step {
            Ok((saved, lowered)) => {
                log::info(&format!(
                    "{}: auto scaling suspended for the deploy (range {}..{}{})",
                    state.name,
                    saved.min,
                    saved.max,
                    if lowered {
                        format!(", minimum lowered to {} so the idle slot stays idle", state.desired)
                    } else {
                        String::new()
                    }
                ));
                suspension.entries.push(Entry {
                    service: state.name.clone(),
                    arn: state.arn.clone(),
                    saved,
                    lowered,
                });
            }
            Err(e) => {
                resume(cfg, ports, suspension, &BTreeMap::new()).await;
                return Err(refused(e, &state.name));
            }
        }
    }
    Ok(suspension)
}

/// Runs `deploy` with `service`'s auto scaling suspended (its state read under the lock) and
/// resumed however the deploy ends: for the controllers that deploy one service.
pub async fn held_still<T>(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    service: &str,
    deploy: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let fresh = ports
        .ecs
        .describe_services(&cfg.cluster, &[service.to_string()])
        .await?;
    let suspension = suspend(cfg, ports, &fresh).await?;
    let result = deploy.await;
    resume(cfg, ports, suspension, &BTreeMap::new()).await;
    result
}

/// Puts each target back: its saved suspension, and `ranges[service]` when given (two slots:
/// the range follows the traffic), else its saved range if the run lowered it.
pub async fn resume(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    suspension: Suspension,
    ranges: &BTreeMap<String, (i32, i32)>,
) {
    for e in suspension.entries {
        let range = ranges
            .get(&e.service)
            .copied()
            .or(e.lowered.then_some((e.saved.min, e.saved.max)));
        let put_back = ports
            .autoscaling
            .update_target(&cfg.cluster, &e.service, e.saved.suspended, range)
            .await;
        match put_back {
            Ok(()) => {
                let _ = ports.ecs.untag_service(&e.arn, &[SAVED_TAG.to_string()]).await;
                let range = range.map(|(lo, hi)| format!(" (range {lo}..{hi})")).unwrap_or_default();
                log::info(&format!("{}: auto scaling resumed{range}", e.service));
            }
            Err(err) => log::warning(
                "Auto scaling still suspended",
                &format!(
                    "{}: {err} The next deploy of this service restores it; or run `aws application-autoscaling register-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/{}/{} --suspended-state DynamicScalingInSuspended={},DynamicScalingOutSuspended={},ScheduledScalingSuspended={}`",
                    e.service,
                    cfg.cluster,
                    e.service,
                    e.saved.suspended.scale_in,
                    e.saved.suspended.scale_out,
                    e.saved.suspended.scheduled
                ),
            ),
        }
    }
}

/// The ranges after a two-slot deploy: production's range goes to the slot that serves now
/// (`range_after`). Read from AWS (weights, counts); if that fails, each target gets its
/// saved range back.
pub async fn ranges_after_two_slot(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    split: &crate::ports::TrafficSplitRef,
    slots: &[(String, String)],
    production: &str,
    suspension: &Suspension,
) -> BTreeMap<String, (i32, i32)> {
    let mut ranges = BTreeMap::new();
    let Some(production) = suspension.saved(production) else {
        return ranges; // production has no target: nothing to move
    };
    let names: Vec<String> = slots.iter().map(|(s, _)| s.clone()).collect();
    let (weights, states) = match (
        ports.router.forward_weights(split).await,
        ports.ecs.describe_services(&cfg.cluster, &names).await,
    ) {
        (Ok(w), Ok(s)) => (w, s),
        (Err(e), _) => {
            log::warning(
                "Auto scaling ranges",
                &format!("could not read the weights: {e}; ranges left as saved"),
            );
            return ranges;
        }
        (_, Err(e)) => {
            log::warning(
                "Auto scaling ranges",
                &format!("could not read the slots: {e}; ranges left as saved"),
            );
            return ranges;
        }
    };
    for (service, target_group) in slots {
        let (Some(own), Some(state)) = (suspension.saved(service), states.iter().find(|s| &s.name == service)) else {
            continue;
        };
        let weight = weights.weight_of(target_group).unwrap_or(0);
        ranges.insert(
            service.clone(),
            autoscaling::range_after(weight, state.desired, own, production),
        );
    }
    ranges
}
