//! The rolling handlers of the one loop (`interpret::walk`): register the revisions, the
//! migration, UpdateService per service, and the wait for every service to be stable. What
//! they leave (what changed, what may have, how the wait ended) is what the rollback reads.

use std::collections::BTreeMap;

use super::super::batches::in_batches;
use super::super::interpret::{Flow, Handlers};
use super::super::one_off::OneOffEnd;
use super::super::wait::{short_td, wait_for, WaitResult};
use super::super::{log, Cancel, Ports};
use super::{register_all, Planned};
use crate::domain::plan::Step;
use crate::domain::rollout::Tracked;
use crate::domain::settings::DeployConfig;
use crate::error::Error;

pub(super) struct RollingSteps<'c, 'a> {
    pub cfg: &'c DeployConfig,
    pub ports: &'c Ports<'a>,
    pub planned: &'c [Planned],
    /// base task definition → its new revision, registered once.
    pub new_td: BTreeMap<String, String>,
    pub tracked: BTreeMap<String, Tracked>,
    pub mutation_error: Option<Error>,
    /// A service whose UpdateService failed may still have been updated (the call timed out
    /// after AWS executed it): it is rolled back too, which is a no-op if it was not.
    pub uncertain: BTreeMap<String, Tracked>,
    pub wait: WaitResult,
}

#[async_trait::async_trait(?Send)]
impl Handlers for RollingSteps<'_, '_> {
    type End = ();

    async fn run(&mut self, _index: usize, step: &Step, cancel: &mut Cancel) -> Flow<()> {
        match step {
            Step::RegisterRevision { .. } => {
                if let Err(e) = register_all(self.cfg, self.ports, self.planned, &mut self.new_td).await {
                    self.mutation_error = Some(e);
                }
            }
            Step::RunTask { .. } => {
                // The task as the plan holds it (`command: plan` printed the same).
                if let (Some(spec), Some(first)) = (&step.one_off_task(), self.planned.first()) {
                    let td = self.new_td[&first.previous_task_definition].clone();
                    let container = first.one_off_container.clone().unwrap_or_default();
                    match super::super::one_off::run(
                        self.cfg,
                        self.ports,
                        spec,
                        &td,
                        &container,
                        &first.service,
                        cancel,
                    )
                    .await
                    {
                        OneOffEnd::Succeeded => {}
                        OneOffEnd::Failed(e) => self.mutation_error = Some(e),
                        OneOffEnd::Cancelled => self.wait.cancelled = true,
                    }
                }
            }
            Step::UpdateService { desired, .. } => {
                // The count is the plan's (`desired-count`), as `command: plan` printed it.
                let desired = *desired;
                let (ports, cluster, new_td) = (self.ports, &self.cfg.cluster, &self.new_td);
                // A batch at a time: a refusal or a signal starts no further call, and every
                // call that started is accounted for below (changed, or maybe changed).
                let answers = in_batches(
                    self.planned,
                    |p| async move {
                        let td = new_td[&p.previous_task_definition].clone();
                        let answer = ports.ecs.update_service(cluster, &p.service, &td, desired).await;
                        (p, td, answer)
                    },
                    |batch| batch.iter().any(|(_, _, a)| a.is_err()) || *cancel.borrow(),
                )
                .await;
                for (p, td, answer) in answers {
                    let t = Tracked {
                        deployment_id: String::new(),
                        task_definition: td.clone(),
                        previous_task_definition: p.previous_task_definition.clone(),
                        previous_desired: desired.map(|_| p.previous_desired),
                    };
                    match answer {
                        Ok(deployment_id) => {
                            log::info(&format!(
                                "{}: deployment {deployment_id} started on {}",
                                p.service,
                                short_td(&td)
                            ));
                            self.tracked.insert(p.service.clone(), Tracked { deployment_id, ..t });
                        }
                        Err(e) => {
                            // A refusal (denied, invalid, not found) changed nothing; anything
                            // else (an outage, a timeout) may have been applied after all.
                            if !e.kind.is_definite_refusal() {
                                self.uncertain.insert(p.service.clone(), t);
                            }
                            self.mutation_error.get_or_insert(e.into());
                        }
                    }
                }
            }
            Step::AwaitStable { .. } => {
                self.wait = wait_for(
                    self.ports,
                    &self.cfg.cluster,
                    &self.tracked,
                    self.cfg.wait_timeout,
                    self.cfg.poll_interval,
                    cancel,
                )
                .await;
            }
            other => {
                self.mutation_error = Some(Error::Preflight {
                    cluster: self.cfg.cluster.clone(),
                    service: self.planned.first().map(|p| p.service.clone()).unwrap_or_default(),
                    problem: format!("cannot take a {} step in an ECS rolling update", other.kind()),
                })
            }
        }
        if self.mutation_error.is_some() || self.wait.cancelled {
            Flow::End(())
        } else {
            Flow::Next
        }
    }

    fn cancelled(&mut self, _index: usize) {
        // Cancelled before this step: what was changed is put back after the walk.
        self.wait.cancelled = true;
    }

    fn completed(&mut self) {}
}
