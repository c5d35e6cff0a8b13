//! CodeDeploy as a server-side controller: CreateDeployment starts it, and the follow step
//! judges it and stops it with auto-rollback on a failing verdict or a signal.

use super::super::native::follow::Target;
use super::super::server_side::{Ending, ServerSide};
use super::super::{Cancel, Ports};
use super::follow;
use super::{refused, start};
use crate::domain::codedeploy::DeploymentGroup;
use crate::domain::plan::Step;
use crate::domain::service::ServiceState;
use crate::domain::settings::DeployConfig;
use crate::error::Error;

pub(super) struct CodeDeploy<'c, 'a> {
    pub cfg: &'c DeployConfig,
    pub ports: &'c Ports<'a>,
    pub state: &'c ServiceState,
    pub group: &'c DeploymentGroup,
}

#[async_trait::async_trait(?Send)]
impl ServerSide for CodeDeploy<'_, '_> {
    fn starts(&self, step: &Step) -> bool {
        matches!(step, Step::CreateCodeDeployDeployment { .. })
    }

    async fn start(&self, td: &str) -> Result<Target, Error> {
        start(self.cfg, self.ports, self.state, self.group, td).await
    }

    async fn follow(&self, target: &Target, cancel: &mut Cancel) -> Ending {
        follow::follow(self.cfg, self.ports, self.group, target, cancel).await
    }

    fn refused(&self, problem: String) -> Error {
        refused(self.cfg, &self.state.name, problem)
    }
}
