//! What each deployment controller honours. A setting a controller cannot honour is refused
//! before any change, naming the setting, the controller and what to do instead: never
//! silently skipped.

use crate::domain::settings::DeployConfig;
use crate::error::Error;

/// The deployment controllers the action drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Rolling,
    TwoSlot,
    EcsNative,
    CodeDeploy,
}

impl Controller {
    pub fn name(self) -> &'static str {
        match self {
            Controller::Rolling => "ECS rolling update",
            Controller::TwoSlot => "two-slot (ALB weights)",
            Controller::EcsNative => "ECS-native (BLUE_GREEN, LINEAR, CANARY)",
            Controller::CodeDeploy => "CODE_DEPLOY",
        }
    }
}

/// (input, controller, why it is not honoured and what to do instead).
const NOT_HONOURED: &[(&str, Controller, &str)] = &[
    (
        "desired-count",
        Controller::EcsNative,
        "ECS starts the new revision at the service's own desired count; change the count on the service (or in your infrastructure code) before deploying, or remove the input",
    ),
    (
        "desired-count",
        Controller::CodeDeploy,
        "CodeDeploy starts the replacement task set at the service's own desired count; change the count on the service (or in your infrastructure code) before deploying, or remove the input",
    ),
];

/// Whether the run sets `input` (only settings with no effect by default are listed here).
fn is_set(cfg: &DeployConfig, input: &str) -> bool {
    match input {
        "desired-count" => cfg.controls.desired_count.is_some(),
        _ => false,
    }
}

/// Refuses, before any change, the first setting of the run that `controller` cannot honour.
pub fn check(cfg: &DeployConfig, service: &str, controller: Controller) -> Result<(), Error> {
    for (input, c, instead) in NOT_HONOURED {
        if *c == controller && is_set(cfg, input) {
            return Err(Error::Preflight {
                cluster: cfg.cluster.clone(),
                service: service.to_string(),
                problem: format!(
                    "is deployed by the {} controller, which does not honour `{input}`: {instead}",
                    controller.name()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> DeployConfig {
        let mut all = vec![
            ("cluster", "c"),
            ("services", "api"),
            ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
        ];
        all.extend_from_slice(pairs);
        crate::test_fixtures::settings(&all, Default::default())
    }

    #[test]
    fn desired_count_is_refused_where_aws_keeps_the_count_and_honoured_elsewhere() {
        let with = cfg(&[("desired-count", "3")]);
        for (controller, refused) in [
            (Controller::Rolling, false),
            (Controller::TwoSlot, false),
            (Controller::EcsNative, true),
            (Controller::CodeDeploy, true),
        ] {
            let verdict = check(&with, "api", controller);
            assert_eq!(verdict.is_err(), refused, "{controller:?}");
            if let Err(e) = verdict {
                let text = e.to_string();
                assert!(
                    text.contains("`desired-count`") && text.contains(controller.name()),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn the_defaults_are_honoured_by_every_controller() {
        let defaults = cfg(&[]);
        for controller in [
            Controller::Rolling,
            Controller::TwoSlot,
            Controller::EcsNative,
            Controller::CodeDeploy,
        ] {
            assert!(check(&defaults, "api", controller).is_ok(), "{controller:?}");
        }
    }
}
