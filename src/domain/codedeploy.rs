//! CodeDeploy blue/green deployments of an ECS service (deployment controller CODE_DEPLOY):
//! the AppSpec the action writes, the deployment group it deploys through, and how a
//! deployment's state reads. Pure: the adapter fills these from CodeDeploy's answers.

use std::time::Duration;

use serde_json::json;

use super::aws_enum::aws_enum;

aws_enum! {
    /// A CodeDeploy deployment's `status` (CodeDeploy API Reference, DeploymentInfo).
    CodeDeployStatus {
        Created = "Created",
        Queued = "Queued",
        InProgress = "InProgress",
        Baking = "Baking",
        Ready = "Ready",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Stopped = "Stopped",
    }
}

aws_enum! {
    /// A lifecycle event's `status` (CodeDeploy API Reference, LifecycleEvent).
    EventStatus {
        Pending = "Pending",
        InProgress = "InProgress",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Skipped = "Skipped",
        Unknown = "Unknown",
    }
}

/// Not read yet: the view's default holds no AWS value.
impl Default for CodeDeployStatus {
    fn default() -> Self {
        CodeDeployStatus::Other(String::new())
    }
}

/// The AppSpec of an ECS deployment: the new task definition, and the container and port the
/// load balancer sends to (the service's own load balancer entry).
pub fn appspec(task_definition: &str, container: &str, port: i32) -> String {
    json!({
        "version": 0.0,
        "Resources": [{
            "TargetService": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": task_definition,
                    "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port}
                }
            }
        }]
    })
    .to_string()
}

/// How long CodeDeploy itself takes to shift production under a predefined ECS config
/// (`CodeDeployDefault.ECSCanary10Percent5Minutes`: 5 minutes; `ECSLinear10PercentEvery3Minutes`:
/// 9 steps of 3 minutes; `ECSAllAtOnce`: none). A custom config is not read: zero, so the
/// action's `wait-timeout` is the whole margin.
pub fn shift_duration(config: &str) -> Duration {
    let name = config.rsplit('.').next().unwrap_or(config);
    let number = |s: &str| s.parse::<u64>().ok();
    if let Some(rest) = name.strip_prefix("ECSCanary") {
        if let Some((_, minutes)) = rest.split_once("Percent") {
            return Duration::from_secs(60 * number(minutes.trim_end_matches("Minutes")).unwrap_or(0));
        }
    }
    if let Some(rest) = name.strip_prefix("ECSLinear") {
        if let Some((percent, every)) = rest.split_once("PercentEvery") {
            let (p, m) = (
                number(percent).unwrap_or(100).max(1),
                number(every.trim_end_matches("Minutes")).unwrap_or(0),
            );
            return Duration::from_secs(60 * m * (100_u64.div_ceil(p) - 1));
        }
    }
    Duration::ZERO
}

/// What the deployment group says (GetDeploymentGroup).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentGroup {
    pub application: String,
    pub name: String,
    pub config: String,
    /// (cluster, service) pairs the group deploys.
    pub services: Vec<(String, String)>,
    pub production_listener: Option<String>,
    pub test_listener: Option<String>,
    /// Alarms that stop and roll back a deployment (alarm configuration enabled, auto-rollback
    /// on DEPLOYMENT_STOP_ON_ALARM): CodeDeploy's own protection after the job is gone.
    pub alarm_rollback: Vec<String>,
    pub termination_wait: Duration,
}

/// A deployment and its ECS target, as GetDeployment and BatchGetDeploymentTargets say.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentView {
    pub id: String,
    pub status: CodeDeployStatus,
    /// The replacement (green) task set's share of production traffic.
    pub green_weight: f64,
    /// (lifecycle event, status, diagnostics when it failed).
    pub events: Vec<(String, EventStatus, Option<String>)>,
    pub error: Option<String>,
    /// The deployment CodeDeploy started to roll this one back.
    pub rollback_deployment: Option<String>,
    pub termination_wait_started: bool,
}

impl DeploymentView {
    /// The lifecycle event in progress, else the last one that ran.
    pub fn current_event(&self) -> String {
        self.events
            .iter()
            .find(|(_, s, _)| *s == EventStatus::InProgress)
            .or_else(|| self.events.iter().rev().find(|(_, s, _)| *s != EventStatus::Pending))
            .map(|(n, _, _)| n.clone())
            .unwrap_or_default()
    }

    pub fn ended(&self) -> bool {
        matches!(
            self.status,
            CodeDeployStatus::Succeeded | CodeDeployStatus::Failed | CodeDeployStatus::Stopped
        )
    }

    /// Why it stopped or failed, with the failed lifecycle events' diagnostics.
    pub fn failure(&self) -> String {
        let mut out = self.error.clone().unwrap_or_else(|| self.status.to_string());
        for (name, status, diagnostics) in &self.events {
            if *status == EventStatus::Failed {
                match diagnostics {
                    Some(d) => out.push_str(&format!("; {name} failed: {d}")),
                    None => out.push_str(&format!("; {name} failed")),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_configs_say_how_long_codedeploy_shifts() {
        let m = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(shift_duration("CodeDeployDefault.ECSCanary10Percent5Minutes"), m(5));
        assert_eq!(shift_duration("CodeDeployDefault.ECSCanary10Percent15Minutes"), m(15));
        assert_eq!(
            shift_duration("CodeDeployDefault.ECSLinear10PercentEvery3Minutes"),
            m(27)
        );
        assert_eq!(
            shift_duration("CodeDeployDefault.ECSLinear10PercentEvery1Minutes"),
            m(9)
        );
        assert_eq!(shift_duration("CodeDeployDefault.ECSAllAtOnce"), Duration::ZERO);
        assert_eq!(shift_duration("MyTeamCanary"), Duration::ZERO);
    }

    #[test]
    fn the_appspec_names_the_revision_container_and_port() {
        let spec: serde_json::Value = serde_json::from_str(&appspec("arn:td/api:7", "app", 8080)).unwrap();
        let props = &spec["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(props["TaskDefinition"], "arn:td/api:7");
        assert_eq!(props["LoadBalancerInfo"]["ContainerName"], "app");
        assert_eq!(props["LoadBalancerInfo"]["ContainerPort"], 8080);
        assert_eq!(spec["Resources"][0]["TargetService"]["Type"], "AWS::ECS::Service");
    }

    #[test]
    fn a_deployment_reads_its_current_event_and_why_it_failed() {
        let ev = |n: &str, s: &str, d: Option<&str>| (n.to_string(), EventStatus::parse(s), d.map(str::to_string));
        let v = DeploymentView {
            status: CodeDeployStatus::Stopped,
            events: vec![
                ev("Install", "Succeeded", None),
                ev("AllowTraffic", "Failed", Some("stopped by the action")),
                ev("AfterAllowTraffic", "Skipped", None),
            ],
            error: Some("MANUAL_STOP: The deployment was stopped.".into()),
            ..Default::default()
        };
        assert!(v.ended());
        assert_eq!(v.current_event(), "AfterAllowTraffic");
        assert_eq!(
            v.failure(),
            "MANUAL_STOP: The deployment was stopped.; AllowTraffic failed: stopped by the action"
        );
        let running = DeploymentView {
            status: CodeDeployStatus::InProgress,
            events: vec![ev("Install", "Succeeded", None), ev("AllowTraffic", "InProgress", None)],
            ..Default::default()
        };
        assert_eq!(running.current_event(), "AllowTraffic");
        assert!(!running.ended());
    }
}
