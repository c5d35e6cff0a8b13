//! Which deployment controller moves a service: decided in one place, from the service's own
//! configuration (DescribeServices' `deploymentController.type` and
//! `deploymentConfiguration.strategy`) and, for two slots, from the settings.

use std::fmt;

use super::service::ServiceState;

/// DescribeServices' `deploymentController.type` (ECS when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DeploymentControllerType {
    #[default]
    Ecs,
    CodeDeploy,
    External,
    /// A type this version of the action does not know.
    Other(String),
}

impl DeploymentControllerType {
    /// Mapped once, in the ECS adapter, from AWS's spelling.
    pub fn parse(aws: &str) -> DeploymentControllerType {
        match aws {
            "ECS" => DeploymentControllerType::Ecs,
            "CODE_DEPLOY" => DeploymentControllerType::CodeDeploy,
            "EXTERNAL" => DeploymentControllerType::External,
            other => DeploymentControllerType::Other(other.to_string()),
        }
    }

    pub fn as_aws(&self) -> &str {
        match self {
            DeploymentControllerType::Ecs => "ECS",
            DeploymentControllerType::CodeDeploy => "CODE_DEPLOY",
            DeploymentControllerType::External => "EXTERNAL",
            DeploymentControllerType::Other(s) => s,
        }
    }
}

impl fmt::Display for DeploymentControllerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_aws())
    }
}

/// The deployment controllers the action drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Rolling,
    TwoSlot,
    EcsNative,
    CodeDeploy,
}

impl Controller {
    pub const ALL: [Controller; 4] = [
        Controller::Rolling,
        Controller::TwoSlot,
        Controller::EcsNative,
        Controller::CodeDeploy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Controller::Rolling => "ECS rolling update",
            Controller::TwoSlot => "two-slot (ALB weights)",
            Controller::EcsNative => "ECS-native (BLUE_GREEN, LINEAR, CANARY)",
            Controller::CodeDeploy => "CODE_DEPLOY",
        }
    }

    /// The controller of one service the settings do not deploy through two slots; None for
    /// one the action cannot drive (EXTERNAL, or a type it does not know).
    pub fn of_service(state: &ServiceState) -> Option<Controller> {
        match state.deployment_controller {
            DeploymentControllerType::CodeDeploy => Some(Controller::CodeDeploy),
            DeploymentControllerType::Ecs if state.native.is_some() => Some(Controller::EcsNative),
            DeploymentControllerType::Ecs => Some(Controller::Rolling),
            DeploymentControllerType::External | DeploymentControllerType::Other(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_s_own_configuration_decides_its_controller() {
        let mut s = ServiceState::missing("api");
        assert_eq!(Controller::of_service(&s), Some(Controller::Rolling));
        s.deployment_controller = DeploymentControllerType::parse("CODE_DEPLOY");
        assert_eq!(Controller::of_service(&s), Some(Controller::CodeDeploy));
        s.deployment_controller = DeploymentControllerType::parse("EXTERNAL");
        assert_eq!(Controller::of_service(&s), None);
        assert_eq!(DeploymentControllerType::parse("NEW").as_aws(), "NEW");
    }
}
