//! The ECS-native handlers of the one loop (`interpret::walk`): register the revision, the
//! migration, UpdateService (ECS starts its own deployment), and following that deployment to
//! its end. Once ECS has started it, a signal no longer stops the walk: the follow step stops
//! the deployment with ROLLBACK itself.

use std::collections::BTreeMap;

use super::super::interpret::{Flow, Handlers};
use super::super::rolling::{register_all, Planned};
use super::super::{Cancel, Ports};
use super::follow::{self, Followed, Target};
use super::refused;
use crate::domain::native::NativeSetup;
use crate::domain::plan::Step;
use crate::domain::service::ServiceState;
use crate::domain::settings::{DeployConfig, NativeConfig};
use crate::error::Error;

pub(super) struct NativeSteps<'c, 'a> {
    pub cfg: &'c DeployConfig,
    pub nc: &'c NativeConfig,
    pub ports: &'c Ports<'a>,
    pub state: &'c ServiceState,
    pub setup: &'c NativeSetup,
    pub planned: Vec<Planned>,
    /// base task definition → its new revision.
    pub new_td: BTreeMap<String, String>,
    /// The service deployment ECS started (or an earlier run's, continued).
    pub target: Option<Target>,
    pub followed: Option<Followed>,
}

#[async_trait::async_trait(?Send)]
impl Handlers for NativeSteps<'_, '_> {
    type End = Result<(), Error>;

    fn stops_on_signal(&self, _step: &Step) -> bool {
        self.target.is_none()
    }

    async fn run(&mut self, _index: usize, step: &Step, cancel: &mut Cancel) -> Flow<Result<(), Error>> {
        let done = match step {
            Step::RegisterRevision { .. } => register_all(self.cfg, self.ports, &self.planned, &mut self.new_td).await,
            Step::RunTask { .. } => follow::one_off(self.cfg, self.ports, &self.planned, &self.new_td, cancel).await,
            Step::UpdateService { .. } => {
                let td = self.new_td.values().next().cloned().unwrap_or_default();
                follow::start(self.cfg, self.ports, &self.state.name, &td, self.setup)
                    .await
                    .map(|t| self.target = Some(t))
            }
            Step::FollowServiceDeployment { .. } => match &self.target {
                Some(target) => {
                    let (pc, until) = (&self.nc.analysis, self.nc.wait_until);
                    let followed = follow::follow(self.cfg, self.ports, pc, self.setup, until, target, cancel).await;
                    self.followed = Some(followed);
                    Ok(())
                }
                None => Err(refused(
                    self.cfg,
                    &self.state.name,
                    "has no service deployment to follow: the plan did not start one".into(),
                )),
            },
            other => Err(refused(
                self.cfg,
                &self.state.name,
                format!("cannot take a {} step through ECS's own deployment", other.kind()),
            )),
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
