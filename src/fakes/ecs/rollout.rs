//! How the fake moves a deployment on: one look advances an in-progress deployment by one
//! stage (a crashing image trips the circuit breaker and rolls back, as ECS does).

use super::*;
use crate::domain::service_deployment::ServiceDeploymentStatus;

impl FakeEcs {
    /// One look advances an in-progress deployment by one stage.
    pub(super) fn advance(&self, s: &mut ServiceState, tds: &HashMap<String, TaskDefinitionInfo>) {
        let Some(p) = s
            .deployments
            .iter()
            .position(|d| d.rollout_state == Some(RolloutState::InProgress))
        else {
            return;
        };
        let d = s.deployments[p].clone();
        if d.id.ends_with("/rb") {
            let mut looks = lock(&self.rollback_looks);
            let seen = looks.entry(s.name.clone()).or_default();
            *seen += 1;
            if *seen >= self.rollback_polls {
                s.deployments = vec![deployment(&d.id, "PRIMARY", &d.task_definition, s.desired, "COMPLETED")];
                s.running = s.desired;
            }
            return;
        }
        let image = tds
            .get(&d.task_definition)
            .map(|t| t.containers[0].1.clone())
            .unwrap_or_default();
        if self.crashing_images.iter().any(|c| image.ends_with(c.as_str())) {
            let previous = s
                .deployments
                .iter()
                .find(|x| x.id != d.id)
                .map(|x| x.task_definition.clone())
                .unwrap_or_default();
            s.events.insert(
                0,
                ServiceEvent {
                    id: "e1".into(),
                    created_at: None,
                    message: format!("(service {}) rolling back to deployment ecs-svc/rb.", s.name),
                },
            );
            let rollout = if self.rollback_polls == 0 {
                "COMPLETED"
            } else {
                "IN_PROGRESS"
            };
            let mut failed = deployment(&d.id, "ACTIVE", &d.task_definition, 0, "FAILED");
            failed.rollout_state_reason = Some("circuit breaker: tasks failed to start".into());
            lock(&self.rolled_back).push((
                s.name.clone(),
                d.task_definition.clone(),
                DeploymentView {
                    arn: format!("sd/{}/{}", s.name, d.id),
                    status: ServiceDeploymentStatus::RollbackInProgress,
                    rollback_reason: failed.rollout_state_reason.clone(),
                    breaker_triggered: true,
                    ..Default::default()
                },
            ));
            let rb = deployment("ecs-svc/rb", "PRIMARY", &previous, s.desired, rollout);
            s.deployments = if rollout == "COMPLETED" {
                vec![rb]
            } else {
                vec![rb, failed]
            };
            s.task_definition = previous;
        } else {
            s.deployments = vec![deployment(&d.id, "PRIMARY", &d.task_definition, s.desired, "COMPLETED")];
            s.running = s.desired;
        }
    }
}
