//! A service on the CODE_DEPLOY deployment controller, deployed through its CodeDeploy
//! deployment group as the team has it set up (one service, a blue and a green target group,
//! the group's deployment config and alarms, a test listener):
//!
//! 1. Before any change: the group exists and deploys this service; a `codedeploy-config`
//!    exists; `wait-until` short of `deployed` only with alarm auto-rollback on the group.
//! 2. A deployment an earlier run left going is stopped with auto-rollback first.
//! 3. Register the revision; CreateDeployment with an AppSpec (the revision, and the container
//!    and port of the service's load balancer).
//! 4. Follow GetDeployment and the ECS target's lifecycle events, judging production traffic
//!    on the replacement task set's target group against the original's during the shift and
//!    the termination wait; a failing verdict, a timeout or a signal: StopDeployment with
//!    auto-rollback, and CodeDeploy's rollback deployment waited out.

mod follow;
mod steps;

use std::collections::BTreeMap;
use std::time::Duration;

use super::images::ResolvedImages;
use super::native::follow::Target;
use super::rolling::preflight_native;
use super::server_side::ServerSideSteps;
use super::{log, Cancel, DeployReport, Ports};
use crate::domain::codedeploy::{appspec, shift_duration, DeploymentGroup};
use crate::domain::controller::Controller;
use crate::domain::native::WaitUntil;
use crate::domain::outcome::RollbackResult;
use crate::domain::plan::{self, Plan};
use crate::domain::service::ServiceState;
use crate::domain::settings::DeployConfig;
use crate::error::{AwsErrorKind, Error};
use crate::ports::TrafficSplitRef;
use steps::CodeDeploy;

fn refused(cfg: &DeployConfig, service: &str, problem: String) -> Error {
    Error::Preflight {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        problem,
    }
}

fn short(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// The deployment group this run deploys through, checked against the service and inputs.
pub async fn checked_group(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    state: &ServiceState,
) -> Result<DeploymentGroup, Error> {
    let Some(nc) = &cfg.native else {
        return Err(refused(
            cfg,
            &state.name,
            "is on the CODE_DEPLOY controller; deploy it with strategy rolling".into(),
        ));
    };
    super::capabilities::check(cfg, &state.name, Controller::CodeDeploy)?;
    let (Some(app), Some(group)) = (&nc.codedeploy.application, &nc.codedeploy.group) else {
        return Err(refused(
            cfg,
            &state.name,
            "is on the CODE_DEPLOY deployment controller: give `codedeploy-application` and `codedeploy-deployment-group` (the deployment group whose ECS services include it)".into(),
        ));
    };
    if cfg.services.len() != 1 {
        return Err(refused(
            cfg,
            &state.name,
            "is deployed by CodeDeploy, one service per run; give `services` only this one".into(),
        ));
    }
    // smoke-url and native-* are refused by the capability table, with the rest.
    let g = ports.ecs.codedeploy_group(app, group).await.map_err(|e| match e.kind {
        // A policy scoped to the team's group denies any other name: the same mistake.
        AwsErrorKind::NotFound | AwsErrorKind::Invalid | AwsErrorKind::AccessDenied => refused(
            cfg,
            &state.name,
            format!("is to be deployed by deployment group `{group}` of CodeDeploy application `{app}`, which does not exist or this role may not read ({}); check `codedeploy-application` and `codedeploy-deployment-group`, and iam-policy.json's CodeDeploy statements", e.message),
        ),
        _ => e.into(),
    })?;
    if !g
        .services
        .iter()
        .any(|(c, s)| short(c) == short(&cfg.cluster) && *s == state.name)
    {
        return Err(refused(
            cfg,
            &state.name,
            format!("is not one of the ECS services of deployment group `{group}` ({:?}); check `codedeploy-deployment-group`", g.services),
        ));
    }
    if let Some(name) = &nc.codedeploy.config {
        ports.ecs.codedeploy_config_exists(name).await.map_err(|e| {
            refused(
                cfg,
                &state.name,
                format!(
                    "cannot use deployment config `{name}`: {}; check `codedeploy-config`",
                    e.message
                ),
            )
        })?;
    }
    if nc.wait_until != WaitUntil::Deployed && g.alarm_rollback.is_empty() {
        return Err(refused(
            cfg,
            &state.name,
            format!(
                "is deployed by a group without alarm auto-rollback, so `wait-until: {}` would leave production unprotected once the job stops; enable the group's alarms with rollback on DEPLOYMENT_STOP_ON_ALARM, or use wait-until: deployed",
                nc.wait_until.name()
            ),
        ));
    }
    if g.production_listener.is_none() || state.load_balancer_container.is_none() {
        return Err(refused(
            cfg,
            &state.name,
            format!("has no production listener in deployment group `{group}`, or no load balancer container; CodeDeploy cannot shift its traffic"),
        ));
    }
    Ok(g)
}

pub(super) fn own_duration(cfg: &DeployConfig, g: &DeploymentGroup) -> Duration {
    let config = cfg
        .native
        .as_ref()
        .and_then(|n| n.codedeploy.config.clone())
        .unwrap_or_else(|| g.config.clone());
    (shift_duration(&config) + g.termination_wait).div_f64(cfg.aws_time_scale.max(1.0))
}

fn plan_of(cfg: &DeployConfig, state: &ServiceState, g: &DeploymentGroup, image: &str) -> Plan {
    let nc = cfg.native.as_ref();
    let until = nc.map_or(WaitUntil::Deployed, |n| n.wait_until);
    let config = nc.and_then(|n| n.codedeploy.config.as_deref());
    plan::codedeploy(
        &state.name,
        image,
        g,
        config,
        until.name(),
        own_duration(cfg, g).as_secs(),
    )
    .with_run_task(cfg.run_task.as_ref())
}

/// `command: plan` for a CODE_DEPLOY service (reads only); None when the run has none.
pub async fn plan_now(cfg: &DeployConfig, ports: &Ports<'_>, image: &str) -> Result<Option<Plan>, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    let Some(state) = states
        .into_iter()
        .find(|s| Controller::of_service(s) == Some(Controller::CodeDeploy))
    else {
        return Ok(None);
    };
    let g = checked_group(cfg, ports, &state).await?;
    Ok(Some(plan_of(cfg, &state, &g, image)))
}

pub async fn deploy(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: ResolvedImages,
    state: ServiceState,
) -> Result<DeployReport, Error> {
    let started = ports.clock.now();
    let g = checked_group(cfg, ports, &state).await?;
    let plan = plan_of(cfg, &state, &g, &resolved.image);
    let body = async {
        settle_earlier(cfg, ports, &g, cancel).await?;
        log::group("Preflight: the service and its task definition (under the lock)");
        let planned = preflight_native(cfg, ports, &resolved).await;
        log::endgroup();
        let planned = planned?;
        steps(
            cfg,
            ports,
            cancel,
            &resolved,
            &state,
            &g,
            plan.clone(),
            planned,
            started,
        )
        .await
    };
    super::server_side::around(cfg, ports, &plan, &state, body).await
}

/// The plan's steps under the lock, with auto scaling suspended; the report says how it ended.
#[allow(clippy::too_many_arguments)]
async fn steps(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: &ResolvedImages,
    state: &ServiceState,
    g: &DeploymentGroup,
    plan: Plan,
    planned: Vec<super::rolling::Planned>,
    started: std::time::SystemTime,
) -> Result<DeployReport, Error> {
    // The plan's steps in order: register, the migration (when there is one), then
    // CreateDeployment and following it.
    let steps = ServerSideSteps {
        cfg,
        ports,
        controller: CodeDeploy {
            cfg,
            ports,
            state,
            group: g,
        },
        planned,
        new_td: BTreeMap::new(),
        target: None,
        followed: None,
    };
    let run = (state.name.as_str(), state.task_definition.clone());
    let unasked = "cancelled by the runner before CodeDeploy was asked for anything";
    steps
        .walk_and_report(plan, cancel, resolved, run, unasked, started)
        .await
}

/// Deployments an earlier run left going: stopped with auto-rollback, and waited out.
async fn settle_earlier(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    g: &DeploymentGroup,
    cancel: &mut Cancel,
) -> Result<(), Error> {
    for id in ports.ecs.codedeploy_active(g).await? {
        log::warning(
            "Earlier deployment rolled back",
            &format!("CodeDeploy deployment {id} of group {} was left going by an earlier run; stopping it with auto-rollback before this deployment", g.name),
        );
        if let Err(e) = ports.ecs.codedeploy_stop(&id).await {
            log::warning("StopDeployment failed", &e.to_string());
        }
        if !matches!(
            follow::await_rolled_back(ports, &id, cfg.wait_timeout, cfg.poll_interval, cancel).await,
            RollbackResult::ByCodeDeploy
        ) {
            return Err(Error::AfterChange {
                cluster: cfg.cluster.clone(),
                service: g.services.first().map(|s| s.1.clone()).unwrap_or_default(),
                problem: format!(
                    "still has CodeDeploy deployment {id}, which an earlier run left, going after this run stopped it"
                ),
                now: "CodeDeploy is rolling that deployment back to the original task set".into(),
                recover: "re-run once the deployment has ended (CodeDeploy console, or `aws deploy get-deployment`)"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Which target group production is on (blue), the other (green), and the LB dimension.
pub(super) async fn start(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    state: &ServiceState,
    g: &DeploymentGroup,
    td: &str,
) -> Result<Target, Error> {
    let listener = g.production_listener.clone().unwrap_or_default();
    let fw = ports
        .router
        .forward_weights(&TrafficSplitRef::Listener(listener))
        .await?;
    let mut sorted = fw.weights.clone();
    sorted.sort_by_key(|(_, w)| -w);
    let blue = sorted.first().map(|(tg, _)| tg.clone()).unwrap_or_default();
    let green = sorted.get(1).map(|(tg, _)| tg.clone()).unwrap_or_default();
    let (container, port) = state.load_balancer_container.clone().unwrap_or_default();
    let config = cfg.native.as_ref().and_then(|n| n.codedeploy.config.as_deref());
    let id = ports
        .ecs
        .codedeploy_create(g, &appspec(td, &container, port), config)
        .await?;
    log::info(&format!(
        "{}: CodeDeploy deployment {id} started ({})",
        state.name,
        config.unwrap_or(&g.config)
    ));
    Ok(Target {
        arn: id,
        task_definition: td.to_string(),
        green_tg: green,
        blue_tg: blue,
        lb_dimension: fw.load_balancer_dimension,
        service: state.name.clone(),
    })
}
