//! The CodeDeploy handlers of the one loop (`interpret::walk`): register the revision, the
//! migration, CreateDeployment, and following it to its end. Once CodeDeploy has the
//! deployment, a signal no longer stops the walk: the follow step stops it with auto-rollback.

use std::collections::BTreeMap;

use super::super::interpret::{Flow, Handlers};
use super::super::native::follow::{one_off, Target};
use super::super::rolling::{register_all, Planned};
use super::super::{Cancel, Ports};
use super::follow::{self, Followed};
use super::{refused, start};
use crate::domain::codedeploy::DeploymentGroup;
use crate::domain::plan::Step;
use crate::domain::service::ServiceState;
use crate::domain::settings::DeployConfig;
use crate::error::Error;

pub(super) struct CodeDeploySteps<'c, 'a> {
    pub cfg: &'c DeployConfig,
    pub ports: &'c Ports<'a>,
    pub state: &'c ServiceState,
    pub group: &'c DeploymentGroup,
    pub planned: Vec<Planned>,
    /// base task definition → its new revision.
    pub new_td: BTreeMap<String, String>,
    /// The deployment CodeDeploy was given.
    pub target: Option<Target>,
    pub followed: Option<Followed>,
}

#[async_trait::async_trait(?Send)]
impl Handlers for CodeDeploySteps<'_, '_> {
    type End = Result<(), Error>;

    fn stops_on_signal(&self, _step: &Step) -> bool {
        self.target.is_none()
    }

    async fn run(&mut self, _index: usize, step: &Step, cancel: &mut Cancel) -> Flow<Result<(), Error>> {
        let done = match step {
            Step::RegisterRevision { .. } => register_all(self.cfg, self.ports, &self.planned, &mut self.new_td).await,
            Step::RunTask { .. } => one_off(self.cfg, self.ports, &self.planned, &self.new_td, cancel).await,
            Step::CreateCodeDeployDeployment { .. } => {
                let td = self.new_td.values().next().cloned().unwrap_or_default();
                start(self.cfg, self.ports, self.state, self.group, &td)
                    .await
                    .map(|t| self.target = Some(t))
            }
            Step::FollowServiceDeployment { .. } => match &self.target {
                Some(target) => {
                    self.followed = Some(follow::follow(self.cfg, self.ports, self.group, target, cancel).await);
                    Ok(())
                }
                None => Err(refused(
                    self.cfg,
                    &self.state.name,
                    "was planned without a CodeDeploy deployment".into(),
                )),
            },
            other => Err(refused(
                self.cfg,
                &self.state.name,
                format!("cannot take a {} step through CodeDeploy", other.kind()),
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
