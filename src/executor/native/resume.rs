//! A service deployment an earlier run left behind: continued (this release, paused at a hook
//! or early in its shift, with `on-split: continue`) or rolled back before this run deploys.

use std::time::Duration;

use super::super::cancel::sleep_or_cancel;
use super::super::images::ResolvedImages;
use super::super::rolling::record;
use super::super::{log, Cancel, Ports};
use super::follow::{groups, Target};
use crate::domain::native::{DeploymentView, Phase};
use crate::domain::settings::DeployConfig;
use crate::domain::settings::OnSplit;
use crate::error::Error;

/// A deployment an earlier run left in progress. Continued when it is this release held at a
/// PAUSE hook and `on-split: continue` says so; otherwise stopped with ROLLBACK and waited out,
/// so this run starts from the stable revision.
pub async fn settle_earlier(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    service: &str,
    resolved: &ResolvedImages,
    cancel: &mut Cancel,
) -> Result<Option<Target>, Error> {
    let active = ports.ecs.service_deployments(&cfg.cluster, service, true).await?;
    let Some((arn, revision)) = active.into_iter().next() else {
        return Ok(None);
    };
    let view = ports.ecs.service_deployment(&arn).await?;
    let td = ports.ecs.revision_task_definition(&revision).await?;
    let same_release = match &resolved.digest {
        Some(d) => ports
            .ecs
            .describe_task_definition(&td)
            .await?
            .tags
            .iter()
            .any(|(k, v)| k == record::DIGEST && *v == d.to_string()),
        None => false,
    };
    let continue_it = cfg.native.as_ref().map(|n| n.analysis.on_split) == Some(OnSplit::Continue);
    // The same release, picked up where the earlier run left it: paused at a hook, or still
    // before most of production moved (the side production is on is then the old one; past
    // half of it, which side is which cannot be read from the weights, so it is rolled back).
    let resumable = match view.phase() {
        Phase::Paused { .. } => true,
        Phase::Preparing | Phase::Serving => view.production_weight < 50.0,
        _ => false,
    };
    if same_release && continue_it && resumable {
        match view.phase() {
            Phase::Paused { hook } => {
                log::info(&format!(
                    "{service}: continuing service deployment {arn}, paused at {} (hook {hook})",
                    view.stage
                ));
                ports.ecs.continue_service_deployment(&arn, &hook, false).await?;
            }
            _ => log::info(&format!(
                "{service}: following service deployment {arn} of this release again ({} {}, {}% of production)",
                view.status, view.stage, view.production_weight
            )),
        }
        let setup = ports
            .ecs
            .describe_services(&cfg.cluster, &[service.to_string()])
            .await?
            .into_iter()
            .next()
            .and_then(|s| s.native);
        let setup = setup.ok_or_else(|| Error::Preflight {
            cluster: cfg.cluster.clone(),
            service: service.to_string(),
            problem: "is no longer ECS-native".into(),
        })?;
        // Blue is where production was before the paused deployment: the source side.
        let (blue_tg, green_tg, lb_dimension) = groups(ports, &setup).await?;
        return Ok(Some(Target {
            arn,
            task_definition: td,
            green_tg,
            blue_tg,
            lb_dimension,
            service: service.to_string(),
        }));
    }
    log::warning(
        "Earlier deployment rolled back",
        &format!(
            "{service}: service deployment {arn} ({}, {}) was left by an earlier run; stopping it with ROLLBACK (at its hook if paused) before this deployment (with `on-split: continue`, a deployment of this release paused at a hook is continued instead)",
            view.status, view.stage
        ),
    );
    match view.phase() {
        // A paused deployment is answered at its hook, as ECS documents for pause hooks.
        Phase::Paused { hook } => ports.ecs.continue_service_deployment(&arn, &hook, true).await?,
        Phase::RollingBack => {}
        _ => ports.ecs.stop_service_deployment(&arn).await?,
    }
    let end = await_end(ports, &arn, cfg.wait_timeout, cfg.poll_interval, cancel).await;
    match end.map(|v| v.phase()) {
        Some(Phase::RolledBack { .. }) | Some(Phase::Succeeded) | Some(Phase::Ended { .. }) => Ok(None),
        _ => Err(Error::AfterChange {
            cluster: cfg.cluster.clone(),
            service: service.to_string(),
            problem: format!(
                "still has the deployment an earlier run left, {arn}, rolling back after this run stopped it"
            ),
            now: "ECS is putting production back on the revision before that deployment".into(),
            recover: "re-run once the service's Deployments tab shows the rollback finished".into(),
        }),
    }
}

/// Polls until ECS has finished with the deployment (or `budget` passes, or a signal).
pub(super) async fn await_end(
    ports: &Ports<'_>,
    arn: &str,
    budget: Duration,
    every: Duration,
    cancel: &mut Cancel,
) -> Option<DeploymentView> {
    let since = ports.clock.now();
    loop {
        if let Ok(view) = ports.ecs.service_deployment(arn).await {
            if view.finished() {
                return Some(view);
            }
        }
        if super::super::elapsed(ports, since) > budget {
            return None;
        }
        // A second signal does not cut the wait short: ECS is already rolling back.
        if sleep_or_cancel(ports, every, cancel).await {
            ports.clock.sleep(every).await;
        }
    }
}
