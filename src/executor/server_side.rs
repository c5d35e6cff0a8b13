//! The step handlers of a deployment AWS shifts itself (ECS-native and CodeDeploy), for the
//! one loop (`interpret::walk`): register the revision, the migration, start AWS's deployment,
//! and follow it to its end. Once AWS has the deployment, a signal no longer stops the walk:
//! the follow step stops it with rollback itself. A controller supplies how to start and
//! follow (`ServerSide`).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::images::ResolvedImages;
use super::interpret::{Flow, Handlers};
use super::native::follow::{one_off, Target};
use super::rolling::{register_all, Planned};
use super::{Cancel, DeployReport, Ports, StepRecord};
use crate::domain::diagnostics::Diagnostics;
use crate::domain::outcome::{Outcome, OutcomeKind, ServiceResult, ServiceStatus};
use crate::domain::plan::{Plan, Step};
use crate::domain::service::ServiceState;
use crate::domain::settings::DeployConfig;
use crate::error::Error;

/// How one server-side controller starts and follows AWS's deployment.
#[async_trait(?Send)]
pub trait ServerSide {
    /// Whether `step` is the one that starts AWS's deployment (UpdateService for ECS-native,
    /// CreateDeployment for CodeDeploy).
    fn starts(&self, step: &Step) -> bool;
    /// Starts AWS's deployment of the new revision `td`.
    async fn start(&self, td: &str) -> Result<Target, Error>;
    /// Follows it to its end, stopping it with rollback on a failing verdict or a signal.
    async fn follow(&self, target: &Target, cancel: &mut Cancel) -> Ending;
    /// An error naming the service, for a step this controller cannot take.
    fn refused(&self, problem: String) -> Error;
}

/// The scaffold around a server-side deploy of one service, the same for ECS-native and
/// CodeDeploy: the plan printed, the deploy lock held and auto scaling held still for
/// `body`, which reads the state it acts on only once under both.
pub async fn around<T>(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    plan: &Plan,
    state: &ServiceState,
    body: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    for line in plan.lines() {
        super::log::info(&line);
    }
    let services = [(state.name.clone(), state.arn.clone())];
    let ttl = super::lock::ttl(cfg, plan);
    super::lock::holding(cfg, ports, &services, ttl, async {
        super::scaling::held_still(cfg, ports, &state.name, body).await
    })
    .await
}

pub struct ServerSideSteps<'c, 'a, S: ServerSide> {
    pub cfg: &'c DeployConfig,
    pub ports: &'c Ports<'a>,
    pub controller: S,
    pub planned: Vec<Planned>,
    /// base task definition → its new revision.
    pub new_td: BTreeMap<String, String>,
    /// AWS's deployment: started by this run, or an earlier run's, continued.
    pub target: Option<Target>,
    pub followed: Option<Ending>,
}

#[async_trait(?Send)]
impl<S: ServerSide> Handlers for ServerSideSteps<'_, '_, S> {
    type End = Result<(), Error>;

    fn stops_on_signal(&self, _step: &Step) -> bool {
        self.target.is_none()
    }

    async fn run(&mut self, _index: usize, step: &Step, cancel: &mut Cancel) -> Flow<Result<(), Error>> {
        let done = match step {
            Step::RegisterRevision { .. } => register_all(self.cfg, self.ports, &self.planned, &mut self.new_td).await,
            Step::RunTask { .. } => one_off(self.cfg, self.ports, (step, &self.planned), &self.new_td, cancel).await,
            s if self.controller.starts(s) => {
                let td = self.new_td.values().next().cloned().unwrap_or_default();
                self.controller.start(&td).await.map(|t| self.target = Some(t))
            }
            Step::FollowServiceDeployment { .. } => match &self.target {
                Some(target) => {
                    self.followed = Some(self.controller.follow(target, cancel).await);
                    Ok(())
                }
                None => Err(self
                    .controller
                    .refused("has no deployment to follow: the plan did not start one".into())),
            },
            other => Err(self
                .controller
                .refused(format!("cannot take a {} step on this controller", other.kind()))),
        };
        match done {
            Ok(()) => Flow::Next,
            Err(e) => Flow::End(Err(e)),
        }
    }

    fn cancelled(&mut self, _index: usize) -> Result<(), Error> {
        Ok(())
    }

    fn completed(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl<S: ServerSide> ServerSideSteps<'_, '_, S> {
    /// Walks `plan` and reports how AWS's deployment ended: `previous_td` is what the
    /// service ran before; `unasked` says why nothing happened when a signal came before AWS
    /// was asked for anything.
    pub async fn walk_and_report(
        mut self,
        plan: Plan,
        cancel: &mut Cancel,
        resolved: &ResolvedImages,
        (service, previous_td): (&str, String),
        unasked: &str,
        started: std::time::SystemTime,
    ) -> Result<DeployReport, Error> {
        let walked = super::interpret::walk(&plan, &mut self, cancel).await;
        walked.end?;
        let executed = walked.executed;
        let (Some(ending), Some(target)) = (self.followed, self.target) else {
            // Cancelled before AWS was asked for anything: nothing to put back.
            let outcome = Outcome {
                kind: OutcomeKind::Cancelled,
                services: vec![],
                reason: Some(unasked.to_string()),
            };
            return Ok(super::native::report(resolved, plan, executed, outcome, vec![]));
        };
        let (tds, run) = ((previous_td, target.task_definition), (plan, executed));
        Ok(followed_report(self.cfg, self.ports, resolved, run, service, tds, ending, started).await)
    }
}

/// How a followed deployment ended: the outcome, the service's status, why, and the judged
/// windows.
pub type Ending = (OutcomeKind, ServiceStatus, Option<String>, Vec<StepRecord>);

/// The report of a server-side deployment followed to its end: the service's result, what
/// production runs now (read back) and the console links.
#[allow(clippy::too_many_arguments)]
pub async fn followed_report(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    resolved: &ResolvedImages,
    (plan, executed): (Plan, Vec<usize>),
    service: &str,
    (previous_td, new_td): (String, String),
    (kind, status, reason, timeline): Ending,
    started: std::time::SystemTime,
) -> DeployReport {
    let outcome = Outcome {
        kind,
        services: vec![ServiceResult {
            service: service.to_string(),
            previous_task_definition: previous_td,
            new_task_definition: Some(new_td),
            status,
            diagnostics: Diagnostics::default(),
            duration_ms: super::elapsed(ports, started).as_millis(),
        }],
        reason,
    };
    let mut report = super::native::report(resolved, plan, executed, outcome, timeline);
    report.production = Some(super::readback::services(ports, &cfg.cluster, &cfg.services).await);
    report.links = super::links::for_run(cfg, &[service], &[], &report.image);
    report
}
