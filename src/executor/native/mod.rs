//! A service ECS deploys with its own BLUE_GREEN, LINEAR or CANARY strategy: one service, one
//! UpdateService, and ECS shifts traffic server-side. The action's part (the plan's steps):
//!
//! 1. Before any change: the overrides fit the service's strategy; `wait-until` short of
//!    `deployed` only with deployment alarms that roll back; a deployment left in progress by
//!    an earlier run is continued (a PAUSE hook on this release with `on-split: continue`) or
//!    stopped with ROLLBACK first.
//! 2. Register the revision, UpdateService with the strategy's parameters.
//! 3. Follow the service deployment (`follow`), judging production traffic on the new
//!    revision's target group against the old one's; a failing verdict, a failed smoke check at
//!    a test-traffic PAUSE hook, a timeout or a signal stops it with ROLLBACK, and ECS puts
//!    traffic back server-side (its alarm rollback keeps protecting even if this job dies).

mod clean_up;
pub(crate) mod follow;
mod pause;
mod resume;
mod steps;
pub(crate) mod window;

use std::collections::BTreeMap;

use super::images::ResolvedImages;
use super::rolling::preflight_native;
use super::server_side::ServerSideSteps;
use super::{log, Cancel, DeployReport, Ports};
use crate::domain::native::{NativeSetup, WaitUntil};
use crate::domain::outcome::{Outcome, ServiceStatus};
use crate::domain::plan;
use crate::domain::service::ServiceState;
use crate::domain::settings::DeployConfig;
use crate::error::Error;
use follow::Target;
use steps::EcsNative;

fn refused(cfg: &DeployConfig, service: &str, problem: String) -> Error {
    Error::Preflight {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        problem,
    }
}

/// The setup this run deploys with, or why the inputs do not fit the service (no change made).
pub fn checked_setup(cfg: &DeployConfig, state: &ServiceState, setup: &NativeSetup) -> Result<NativeSetup, Error> {
    let Some(nc) = &cfg.native else {
        return Err(refused(
            cfg,
            &state.name,
            "is ECS-native; deploy it with strategy rolling".into(),
        ));
    };
    super::capabilities::check(cfg, &state.name, crate::domain::controller::Controller::EcsNative)?;
    if cfg.services.len() != 1 {
        return Err(refused(
            cfg,
            &state.name,
            format!(
                "uses ECS's own {} strategy, which deploys one service per run; give `services` only this one",
                setup.strategy.name()
            ),
        ));
    }
    let applied = nc.overrides.apply(setup).map_err(|(input, why)| {
        refused(
            cfg,
            &state.name,
            format!("cannot take `{input}`: {why}; remove the input"),
        )
    })?;
    if nc.wait_until != WaitUntil::Deployed && setup.alarm_rollback.is_empty() {
        return Err(refused(
            cfg,
            &state.name,
            format!(
                "has no deployment alarms with rollback, so `wait-until: {}` would leave production unprotected once the job stops; add deploymentConfiguration.alarms (enable and rollback) to the service, or use wait-until: deployed",
                nc.wait_until.name()
            ),
        ));
    }
    let smoke_hook = setup
        .pause_stages
        .iter()
        .any(|s| crate::domain::native::smoke_stage(&crate::domain::native::LifecycleStage::parse(s)));
    if nc.analysis.smoke_url.is_some() && !smoke_hook {
        // ECS waits for nothing but a hook: without one it shifts production before any smoke.
        return Err(refused(
            cfg,
            &state.name,
            "has no PAUSE hook at POST_TEST_TRAFFIC_SHIFT or PRE_PRODUCTION_TRAFFIC_SHIFT, so ECS would shift production without waiting for `smoke-url`; add such a hook to the service's deploymentConfiguration.lifecycleHooks, or remove smoke-url".into(),
        ));
    }
    if setup.production_rule.is_empty() {
        return Err(refused(
            cfg,
            &state.name,
            "has no production listener rule in its load balancer's advancedConfiguration; ECS cannot shift its traffic".into(),
        ));
    }
    Ok(applied)
}

/// The plan a deploy of `image` would follow when a service of `cfg` is ECS-native (reads
/// only); None when none is.
pub async fn plan_now(cfg: &DeployConfig, ports: &Ports<'_>, image: &str) -> Result<Option<plan::Plan>, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    let Some(state) = states.into_iter().find(|s| s.native.is_some()) else {
        return Ok(None);
    };
    let setup = state
        .native
        .clone()
        .ok_or_else(|| refused(cfg, &state.name, "is not ECS-native".into()))?;
    let setup = checked_setup(cfg, &state, &setup)?;
    let until = cfg.native.as_ref().map_or(WaitUntil::Deployed, |n| n.wait_until);
    Ok(Some(
        plan::native(&state.name, image, &setup, until.name(), cfg.aws_time_scale).with_run_task(cfg.run_task.as_ref()),
    ))
}

pub async fn deploy(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: ResolvedImages,
    state: ServiceState,
) -> Result<DeployReport, Error> {
    let started = ports.clock.now();
    let setup = state
        .native
        .clone()
        .ok_or_else(|| refused(cfg, &state.name, "is not ECS-native".into()))?;
    let setup = checked_setup(cfg, &state, &setup)?;
    let nc = cfg
        .native
        .as_ref()
        .ok_or_else(|| refused(cfg, &state.name, "is ECS-native".into()))?;
    let plan = plan::native(
        &state.name,
        &resolved.image,
        &setup,
        nc.wait_until.name(),
        cfg.aws_time_scale,
    )
    .with_run_task(cfg.run_task.as_ref());
    let body = deploy_locked(cfg, ports, cancel, &resolved, &state, &setup, plan.clone(), started);
    super::server_side::around(cfg, ports, &plan, &state, body).await
}

#[allow(clippy::too_many_arguments)]
async fn deploy_locked(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: &ResolvedImages,
    state: &ServiceState,
    setup: &NativeSetup,
    plan: plan::Plan,
    started: std::time::SystemTime,
) -> Result<DeployReport, Error> {
    let nc = cfg
        .native
        .as_ref()
        .ok_or_else(|| refused(cfg, &state.name, "is ECS-native".into()))?;
    // An earlier run's deployment still in progress: continue it or put it back first.
    let resumed = resume::settle_earlier(cfg, ports, &state.name, resolved, cancel).await?;
    let mut plan = plan;
    let planned = match resumed {
        // Continued: only the follow step is left.
        Some(_) => {
            plan.cursor = plan.steps.len() - 1;
            Vec::new()
        }
        None => {
            log::group("Preflight: the service and its task definition (under the lock)");
            let planned = preflight_native(cfg, ports, resolved).await;
            log::endgroup();
            planned?
        }
    };
    let previous_td = state.task_definition.clone();
    let steps = ServerSideSteps {
        cfg,
        ports,
        controller: EcsNative {
            cfg,
            nc,
            ports,
            state,
            setup,
        },
        planned,
        new_td: BTreeMap::new(),
        target: resumed,
        followed: None,
    };
    let run = (state.name.as_str(), previous_td);
    let unasked = "cancelled by the runner before the service was updated";
    steps
        .walk_and_report(plan, cancel, resolved, run, unasked, started)
        .await
}

/// The report of a deployment AWS shifts itself (ECS native or CodeDeploy).
pub(crate) fn report(
    resolved: &ResolvedImages,
    plan: plan::Plan,
    executed: Vec<usize>,
    outcome: Outcome,
    timeline: Vec<super::StepRecord>,
) -> DeployReport {
    DeployReport {
        outcome,
        image: resolved.image.clone(),
        digest: resolved.digest.as_ref().map(|d| d.to_string()),
        strategy: plan.strategy.clone(),
        timeline,
        plan: Some(plan),
        executed,
        limits: None,
        production: None,
        links: vec![],
    }
}

impl Target {
    pub fn describe(&self) -> String {
        format!(
            "service deployment {}",
            self.arn.rsplit('/').next().unwrap_or(&self.arn)
        )
    }
}

/// Rolled back by ECS, as a status for the report.
pub(crate) fn rolled_back(failure: crate::domain::rollout::Failure) -> ServiceStatus {
    ServiceStatus::Failed {
        failure,
        rollback: crate::domain::outcome::RollbackResult::ByEcsDeployment,
    }
}
