//! A one-off task run before a deploy (a database migration): what to run, and how to tell
//! from ECS's account of the stopped task whether it succeeded.
//!
//! The only success is the task STOPPED with exit code 0 from the container that ran the
//! command and from every other essential container. A task that never started (image pull,
//! capacity, network) has no exit code and fails with ECS's stop reason.

use std::fmt;
use std::time::Duration;

/// What `run-task-*` asks for, before the release's task definition is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOffTaskSpec {
    /// The command, as argv (the container's entry point gets it, as ECS's `command` override).
    pub command: Vec<String>,
    /// The container that runs it (None: the first container the release's image goes into).
    pub container: Option<String>,
    pub timeout: Duration,
    /// Subnets and security groups of the task (empty: the service's own).
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Only with `subnets` (None: DISABLED, ECS's default).
    pub assign_public_ip: Option<bool>,
}

/// What the ECS adapter is asked to start: the release's revision, with the command override,
/// placed like `like_service` (its network, launch type or capacity providers, platform).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTaskRequest {
    pub cluster: String,
    pub task_definition: String,
    pub container: String,
    pub command: Vec<String>,
    pub like_service: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
}

/// `startedBy` of every task the action runs: ListTasks finds them by it.
pub const STARTED_BY: &str = "ecs-deploy-action";

/// Where the container's `awslogs` driver writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    pub region: String,
    pub stream_prefix: Option<String>,
}

impl AwsLogs {
    /// The stream of one task's container: `prefix/container/task-id`, the name the awslogs
    /// driver gives it (none can be known without a prefix).
    pub fn stream(&self, container: &str, task_id: &str) -> Option<String> {
        self.stream_prefix
            .as_ref()
            .map(|p| format!("{p}/{container}/{task_id}"))
    }
}

/// A task RunTask started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedTask {
    pub arn: String,
    /// The log configuration of the container that runs the command, when it uses awslogs.
    pub logs: Option<AwsLogs>,
}

/// ECS's account of a task (DescribeTasks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStatus {
    pub last_status: String,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<ContainerStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    pub name: String,
    pub essential: bool,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// Why a one-off task did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub container: String,
    pub exit_code: Option<i32>,
    pub stop_code: Option<String>,
    pub reason: Option<String>,
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.exit_code {
            Some(code) => write!(f, "container `{}` exited with code {code}", self.container)?,
            None => write!(f, "container `{}` never ran to an exit code", self.container)?,
        }
        let cause: Vec<&str> = [self.stop_code.as_deref(), self.reason.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        if !cause.is_empty() {
            write!(f, " ({})", cause.join(": "))?;
        }
        Ok(())
    }
}

/// The verdict once the task has STOPPED (None before). `container` ran the command.
pub fn verdict(status: &TaskStatus, container: &str) -> Option<Result<(), TaskFailure>> {
    if status.last_status != "STOPPED" {
        return None;
    }
    let fail = |c: &ContainerStatus| TaskFailure {
        container: c.name.clone(),
        exit_code: c.exit_code,
        stop_code: status.stop_code.clone(),
        reason: c.reason.clone().or_else(|| status.stopped_reason.clone()),
    };
    // The command's container first: its exit code is the one the report names.
    let mut ordered: Vec<&ContainerStatus> = status.containers.iter().filter(|c| c.name == container).collect();
    ordered.extend(status.containers.iter().filter(|c| c.name != container && c.essential));
    if ordered.is_empty() {
        return Some(Err(TaskFailure {
            container: container.to_string(),
            exit_code: None,
            stop_code: status.stop_code.clone(),
            reason: status.stopped_reason.clone(),
        }));
    }
    match ordered.into_iter().find(|c| c.exit_code != Some(0)) {
        Some(c) => Some(Err(fail(c))),
        None => Some(Ok(())),
    }
}

/// The task's id, the last part of its ARN.
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, essential: bool, exit: Option<i32>) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            essential,
            exit_code: exit,
            reason: None,
        }
    }

    fn stopped(containers: Vec<ContainerStatus>, stop_code: &str, reason: &str) -> TaskStatus {
        TaskStatus {
            last_status: "STOPPED".into(),
            stop_code: Some(stop_code.into()),
            stopped_reason: Some(reason.into()),
            containers,
        }
    }

    #[test]
    fn verdicts() {
        let exited = "Essential container in task exited";
        type Case = (&'static str, TaskStatus, Option<Result<(), String>>);
        let cases: Vec<Case> = vec![
            (
                "still running",
                TaskStatus {
                    last_status: "DEPROVISIONING".into(),
                    ..Default::default()
                },
                None,
            ),
            (
                "exit 0",
                stopped(vec![container("app", true, Some(0))], "EssentialContainerExited", exited),
                Some(Ok(())),
            ),
            (
                "exit 1",
                stopped(vec![container("app", true, Some(1))], "EssentialContainerExited", exited),
                Some(Err("container `app` exited with code 1 (EssentialContainerExited: Essential container in task exited)".into())),
            ),
            (
                "never started",
                stopped(vec![container("app", true, None)], "TaskFailedToStart", "CannotPullContainerError: no such image"),
                Some(Err("container `app` never ran to an exit code (TaskFailedToStart: CannotPullContainerError: no such image)".into())),
            ),
            (
                "a sidecar that is not essential may exit non-zero",
                stopped(
                    vec![container("app", true, Some(0)), container("log-router", false, Some(137))],
                    "EssentialContainerExited",
                    exited,
                ),
                Some(Ok(())),
            ),
            (
                "an essential sidecar killed fails the task",
                stopped(
                    vec![container("app", true, Some(0)), container("proxy", true, Some(137))],
                    "EssentialContainerExited",
                    exited,
                ),
                Some(Err("container `proxy` exited with code 137 (EssentialContainerExited: Essential container in task exited)".into())),
            ),
            (
                "the command's container fails first even if not marked essential",
                stopped(vec![container("app", false, Some(2))], "EssentialContainerExited", exited),
                Some(Err("container `app` exited with code 2 (EssentialContainerExited: Essential container in task exited)".into())),
            ),
            (
                "the container is missing from the answer",
                stopped(vec![], "TaskFailedToStart", "ResourceInitializationError"),
                Some(Err("container `app` never ran to an exit code (TaskFailedToStart: ResourceInitializationError)".into())),
            ),
        ];
        for (name, status, want) in cases {
            let got = verdict(&status, "app").map(|r| r.map_err(|f| f.to_string()));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn log_streams_follow_the_awslogs_driver() {
        let logs = AwsLogs {
            group: "/ecs/web".into(),
            region: "us-east-1".into(),
            stream_prefix: Some("ecs".into()),
        };
        assert_eq!(logs.stream("app", "abc123").as_deref(), Some("ecs/app/abc123"));
        let no_prefix = AwsLogs {
            stream_prefix: None,
            ..logs
        };
        assert_eq!(no_prefix.stream("app", "abc123"), None);
        assert_eq!(task_id("arn:aws:ecs:us-east-1:1:task/c/abc123"), "abc123");
    }
}
