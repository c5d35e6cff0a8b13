//! What a run does with a service on an ECS-native strategy or the CODE_DEPLOY controller.

use super::ProgressiveConfig;
use crate::domain::native::{NativeOverrides, WaitUntil};

/// What a run does with a service on an ECS-native strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeConfig {
    /// Alarms, thresholds, the judge and the metrics clock, as for two slots.
    pub analysis: ProgressiveConfig,
    pub overrides: NativeOverrides,
    pub wait_until: WaitUntil,
    /// `codedeploy-application`, `codedeploy-deployment-group`, `codedeploy-config`: for a
    /// service on the CODE_DEPLOY controller.
    pub codedeploy: CodeDeployInputs,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeDeployInputs {
    pub application: Option<String>,
    pub group: Option<String>,
    pub config: Option<String>,
}
