//! Plans for deployments AWS shifts itself (ECS's own BLUE_GREEN, LINEAR and CANARY, and
//! CodeDeploy): the action registers, starts AWS's deployment and follows it.

use super::{Plan, Step};

/// A service ECS deploys with its own BLUE_GREEN, LINEAR or CANARY strategy: register, start
/// ECS's deployment, follow it (judging production traffic) until `until`.
pub fn native(
    service: &str,
    image: &str,
    setup: &crate::domain::native::NativeSetup,
    until: &str,
    time_scale: f64,
) -> Plan {
    let services = vec![service.to_string()];
    Plan {
        strategy: format!("ecs-{}", setup.strategy.name().to_ascii_lowercase().replace('_', "-")),
        image: image.into(),
        steps: vec![
            Step::RegisterRevision {
                services: services.clone(),
            },
            Step::UpdateService {
                services,
                desired: None,
            },
            Step::FollowServiceDeployment {
                service: service.to_string(),
                shape: format!("ECS {setup}"),
                until: until.to_string(),
                ecs_secs: setup.own_duration().div_f64(time_scale.max(1.0)).as_secs(),
            },
        ],
        cursor: 0,
    }
}

/// A service on the CODE_DEPLOY controller: register, CreateDeployment with the AppSpec,
/// follow it (judging production traffic) until `until`. `ecs_secs`: how long CodeDeploy's own
/// shift and termination wait take, in the run's time.
pub fn codedeploy(
    service: &str,
    image: &str,
    group: &crate::domain::codedeploy::DeploymentGroup,
    config: Option<&str>,
    until: &str,
    ecs_secs: u64,
) -> Plan {
    let services = vec![service.to_string()];
    let used = config.unwrap_or(&group.config);
    Plan {
        strategy: "codedeploy".into(),
        image: image.into(),
        steps: vec![
            Step::RegisterRevision { services },
            Step::CreateCodeDeployDeployment {
                service: service.to_string(),
                group: format!("{}/{}", group.application, group.name),
                config: config.map(str::to_string),
            },
            Step::FollowServiceDeployment {
                service: service.to_string(),
                shape: format!(
                    "CodeDeploy {used}, then the original task set kept {}",
                    humantime::format_duration(group.termination_wait)
                ),
                until: until.to_string(),
                ecs_secs,
            },
        ],
        cursor: 0,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc";

    #[test]
    fn an_ecs_native_plan_follows_ecs_and_the_lock_covers_its_own_bake() {
        use crate::domain::native::{NativeSetup, NativeStrategy};
        let setup = NativeSetup {
            strategy: NativeStrategy::Canary {
                percent: 10.0,
                bake: Duration::from_secs(300),
            },
            bake: Duration::from_secs(600),
            production_rule: "rule".into(),
            test_rule: None,
            target_groups: ("a".into(), "b".into()),
            pause_stages: vec![],
            alarm_rollback: vec![],
        };
        let plan = native("api", IMAGE, &setup, "deployed", 1.0);
        assert_eq!(plan.strategy, "ecs-canary");
        let kinds: Vec<&str> = plan.steps.iter().map(Step::kind).collect();
        assert_eq!(
            kinds,
            ["register-revision", "update-service", "follow-service-deployment"]
        );
        assert_eq!(
            plan.lines()[2],
            "3/3 follow-service-deployment: follow the deployment of api (ECS CANARY: 10% for 5m, then 100%; bake 10m) under analysis until deployed; a failing verdict or a signal stops it with a rollback"
        );
        // ECS's own 15 minutes on top of wait-timeout; at 60x (the simulator) a sixtieth of it.
        let w = Duration::from_secs(60);
        assert_eq!(plan.worst_case(w, w), Duration::from_secs(30 + 30 + 60 + 900));
        let fast = native("api", IMAGE, &setup, "deployed", 60.0);
        assert_eq!(fast.worst_case(w, w), Duration::from_secs(30 + 30 + 60 + 15));
    }

    #[test]
    fn a_codedeploy_plan_names_the_group_and_its_config() {
        let group = crate::domain::codedeploy::DeploymentGroup {
            application: "shop".into(),
            name: "api-prod".into(),
            config: "CodeDeployDefault.ECSCanary10Percent5Minutes".into(),
            termination_wait: Duration::from_secs(300),
            ..Default::default()
        };
        let plan = codedeploy("api", IMAGE, &group, None, "shifted", 600);
        let lines = plan.lines();
        assert_eq!(
            lines[1],
            "2/3 create-codedeploy-deployment: deploy the new revision to api through CodeDeploy deployment group shop/api-prod with the group's deployment config"
        );
        assert!(lines[2]
            .contains("(CodeDeploy CodeDeployDefault.ECSCanary10Percent5Minutes, then the original task set kept 5m)"));
        assert!(lines[2].contains("until shifted"));
        let other = codedeploy(
            "api",
            IMAGE,
            &group,
            Some("CodeDeployDefault.ECSAllAtOnce"),
            "deployed",
            0,
        );
        assert!(other.lines()[1].ends_with("with CodeDeployDefault.ECSAllAtOnce"));
        assert_ne!(plan.hash(), other.hash());
    }
}
