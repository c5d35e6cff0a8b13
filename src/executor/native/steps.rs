//! ECS-native as a server-side controller: UpdateService starts ECS's own deployment, which
//! the follow step judges and stops with ROLLBACK on a failing verdict or a signal.

use super::super::server_side::{Ending, ServerSide};
use super::super::{Cancel, Ports};
use super::follow::{self, Target};
use super::refused;
use crate::domain::native::NativeSetup;
use crate::domain::plan::Step;
use crate::domain::service::ServiceState;
use crate::domain::settings::{DeployConfig, NativeConfig};
use crate::error::Error;

pub(super) struct EcsNative<'c, 'a> {
    pub cfg: &'c DeployConfig,
    pub nc: &'c NativeConfig,
    pub ports: &'c Ports<'a>,
    pub state: &'c ServiceState,
    pub setup: &'c NativeSetup,
}

#[async_trait::async_trait(?Send)]
impl ServerSide for EcsNative<'_, '_> {
    fn starts(&self, step: &Step) -> bool {
        matches!(step, Step::UpdateService { .. })
    }

    async fn start(&self, td: &str) -> Result<Target, Error> {
        follow::start(self.cfg, self.ports, &self.state.name, td, self.setup).await
    }

    async fn follow(&self, target: &Target, cancel: &mut Cancel) -> Ending {
        let (pc, until) = (&self.nc.analysis, self.nc.wait_until);
        let f = follow::follow(self.cfg, self.ports, pc, self.setup, until, target, cancel).await;
        (f.kind, f.status, f.reason, f.timeline)
    }

    fn refused(&self, problem: String) -> Error {
        refused(self.cfg, &self.state.name, problem)
    }
}
