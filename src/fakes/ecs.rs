//! ECS as state: an update starts a deployment that the next look finds COMPLETED, or, for an
//! image listed as crashing, FAILED and replaced by the circuit breaker's rollback deployment,
//! which itself takes `rollback_polls` looks to complete.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use super::throttled;
use crate::domain::diagnostics::Diagnostics;
use crate::domain::one_off_task::{ContainerStatus, RunTaskRequest, StartedTask, TaskStatus};
use crate::domain::service::{
    CircuitBreaker, Deployment, DeploymentStatus, RolloutState, ServiceEvent, ServiceLifecycle, ServiceState,
};
use crate::domain::service_deployment::DeploymentView;
use crate::error::AwsError;
use crate::ports::{Ecs, TaskDefinitionInfo, TaskDefinitionSource};

#[derive(Default)]
pub struct FakeEcs {
    pub services: Mutex<HashMap<String, ServiceState>>,
    pub task_definitions: Mutex<HashMap<String, TaskDefinitionInfo>>,
    pub tags: Mutex<HashMap<String, Vec<(String, String)>>>,
    /// Images (by suffix) whose tasks crash: the circuit breaker rolls them back.
    pub crashing_images: Vec<String>,
    /// Looks a circuit-breaker rollback deployment stays IN_PROGRESS before it completes.
    pub rollback_polls: u32,
    /// A script for ListTagsForResource, consumed one call at a time: `true` fails the call
    /// as throttled; an empty script answers.
    pub tag_read_faults: Mutex<VecDeque<bool>>,
    /// (service, desired) for every scale, in order.
    pub scaled: Mutex<Vec<(String, i32)>>,
    /// Every call, in order, as "Operation target".
    pub calls: Mutex<Vec<String>>,
    /// Each call's place in the order of every fake's calls.
    pub order: Mutex<Vec<u64>>,
    /// Looks each rollback deployment has had.
    pub rollback_looks: Mutex<HashMap<String, u32>>,
    /// Every one-off task started, in order.
    pub tasks_run: Mutex<Vec<RunTaskRequest>>,
    /// The exit code of one-off tasks (None: 0). A task is MISSING at the first look and
    /// STOPPED at the next.
    pub one_off_exit_code: Option<i32>,
    /// Looks each one-off task has had.
    pub task_looks: Mutex<HashMap<String, u32>>,
    /// Service deployments the circuit breaker rolled back, newest last: (service, task
    /// definition it targeted, what DescribeServiceDeployments says).
    pub rolled_back: Mutex<Vec<(String, String, DeploymentView)>>,
    /// The account's Parameter Store, where the deploy lock lives.
    pub locks: super::FakeLockStore,
}

mod rollout;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn deployment(id: &str, status: &str, td: &str, desired: i32, rollout: &str) -> Deployment {
    Deployment {
        id: id.into(),
        status: DeploymentStatus::parse(status),
        task_definition: td.into(),
        desired,
        running: if rollout == "COMPLETED" { desired } else { 0 },
        pending: 0,
        failed_tasks: 0,
        rollout_state: Some(RolloutState::parse(rollout)),
        rollout_state_reason: None,
        created_at: None,
    }
}

impl FakeEcs {
    /// A service on task definition `td` (one container `app` running `image`).
    pub fn add(&self, name: &str, td: &str, image: &str, desired: i32, target_group: Option<&str>) {
        lock(&self.task_definitions).insert(
            td.into(),
            TaskDefinitionInfo {
                arn: td.into(),
                family: "web".into(),
                revision: 1,
                containers: vec![("app".into(), image.into())],
                tags: vec![],
            },
        );
        lock(&self.services).insert(
            name.into(),
            ServiceState {
                name: name.into(),
                arn: Self::arn(name),
                status: ServiceLifecycle::Active,
                task_definition: td.into(),
                desired,
                running: desired,
                pending: 0,
                deployments: vec![deployment("ecs-svc/1", "PRIMARY", td, desired, "COMPLETED")],
                events: vec![],
                circuit_breaker: Some(CircuitBreaker {
                    enable: true,
                    rollback: true,
                }),
                target_groups: target_group.map(|t| vec![t.to_string()]).unwrap_or_default(),
                deployment_controller: Default::default(),
                deployment_strategy: None,
                native: None,
                load_balancer_container: None,
            },
        );
    }

    pub fn arn(name: &str) -> String {
        format!("arn:aws:ecs:us-east-1:123456789012:service/c/{name}")
    }

    pub fn td_of(&self, service: &str) -> String {
        lock(&self.services)[service].task_definition.clone()
    }

    pub fn service(&self, name: &str) -> ServiceState {
        lock(&self.services)[name].clone()
    }

    pub fn tag_of(&self, service: &str, key: &str) -> Option<String> {
        lock(&self.tags)
            .get(&Self::arn(service))
            .and_then(|t| t.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    /// Lets the next `ok` tag reads answer, then fails the `failing` after them.
    pub fn fail_tag_reads(&self, ok: usize, failing: usize) {
        let mut script = lock(&self.tag_read_faults);
        script.clear();
        script.extend(std::iter::repeat_n(false, ok).chain(std::iter::repeat_n(true, failing)));
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// The calls with their place in the order of every fake's calls (`fakes::next_call`).
    pub fn ordered_calls(&self) -> Vec<(u64, String)> {
        lock(&self.order)
            .iter()
            .copied()
            .zip(lock(&self.calls).iter().cloned())
            .collect()
    }

    fn log(&self, call: String) {
        lock(&self.order).push(super::next_call());
        lock(&self.calls).push(call);
    }
}

#[async_trait]
impl Ecs for FakeEcs {
    async fn describe_services(&self, _: &str, names: &[String]) -> Result<Vec<ServiceState>, AwsError> {
        self.log(format!("DescribeServices {}", names.join(",")));
        let tds = lock(&self.task_definitions).clone();
        let mut services = lock(&self.services);
        Ok(names
            .iter()
            .map(|n| match services.get_mut(n) {
                Some(s) => {
                    self.advance(s, &tds);
                    s.clone()
                }
                None => ServiceState::missing(n),
            })
            .collect())
    }
    async fn describe_task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        lock(&self.task_definitions)
            .get(arn)
            .cloned()
            .ok_or_else(|| throttled("DescribeTaskDefinition", arn))
    }
    async fn register_revision(
        &self,
        base: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        self.log(format!("RegisterTaskDefinition {base}"));
        let mut tds = lock(&self.task_definitions);
        let mut td = tds
            .get(base)
            .cloned()
            .ok_or_else(|| throttled("RegisterTaskDefinition", base))?;
        td.revision = tds.len() as i32 + 1;
        td.arn = format!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:{}", td.revision);
        for (name, image) in &mut td.containers {
            if let Some((_, new)) = images.iter().find(|(c, _)| c == name) {
                *image = new.clone();
            }
        }
        td.tags = tags.to_vec();
        tds.insert(td.arn.clone(), td.clone());
        Ok(td.arn)
    }
    async fn update_service(&self, _: &str, service: &str, td: &str, desired: Option<i32>) -> Result<String, AwsError> {
        self.log(format!("UpdateService {service} {td}"));
        let mut services = lock(&self.services);
        let s = services
            .get_mut(service)
            .ok_or_else(|| throttled("UpdateService", service))?;
        if let Some(d) = desired {
            s.desired = d;
        }
        for d in &mut s.deployments {
            d.status = DeploymentStatus::Active;
        }
        let id = format!("ecs-svc/{}", s.deployments.len() + 100);
        s.deployments
            .insert(0, deployment(&id, "PRIMARY", td, s.desired, "IN_PROGRESS"));
        s.task_definition = td.into();
        Ok(id)
    }
    async fn scale_service(&self, _: &str, service: &str, desired: i32) -> Result<(), AwsError> {
        self.log(format!("UpdateService {service} desired={desired}"));
        let mut services = lock(&self.services);
        let s = services
            .get_mut(service)
            .ok_or_else(|| throttled("UpdateService", service))?;
        s.desired = desired;
        s.running = desired;
        lock(&self.scaled).push((service.into(), desired));
        Ok(())
    }
    async fn service_tags(&self, arn: &str) -> Result<Vec<(String, String)>, AwsError> {
        self.log(format!("ListTagsForResource {arn}"));
        if lock(&self.tag_read_faults).pop_front() == Some(true) {
            return Err(throttled("ListTagsForResource", arn));
        }
        Ok(lock(&self.tags).get(arn).cloned().unwrap_or_default())
    }
    async fn tag_service(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        self.log(format!("TagResource {arn} {}", keys.join(",")));
        let mut all = lock(&self.tags);
        let entry = all.entry(arn.into()).or_default();
        for (k, v) in tags {
            entry.retain(|(key, _)| key != k);
            entry.push((k.clone(), v.clone()));
        }
        Ok(())
    }
    async fn untag_service(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        self.log(format!("UntagResource {arn} {}", keys.join(",")));
        if let Some(entry) = lock(&self.tags).get_mut(arn) {
            entry.retain(|(k, _)| !keys.contains(k));
        }
        Ok(())
    }
    async fn task_definition_history(&self, _: &str, _: usize) -> Result<Vec<TaskDefinitionInfo>, AwsError> {
        Ok(vec![])
    }
    async fn active_revisions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        let mut arns: Vec<String> = lock(&self.task_definitions)
            .values()
            .filter(|td| td.family == family)
            .map(|td| td.arn.clone())
            .collect();
        let revision = |a: &String| a.rsplit(':').next().and_then(|r| r.parse::<i32>().ok()).unwrap_or(0);
        arns.sort_by_key(|a| std::cmp::Reverse(revision(a)));
        Ok(arns)
    }
    async fn deregister_task_definition(&self, arn: &str) -> Result<(), AwsError> {
        self.log(format!("DeregisterTaskDefinition {arn}"));
        lock(&self.task_definitions).remove(arn);
        Ok(())
    }
    async fn register_file(
        &self,
        json: &str,
        _: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        let family = value["family"].as_str().unwrap_or("file").to_string();
        let containers = value["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let name = c["name"].as_str().unwrap_or_default().to_string();
                let image = images
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, i)| i.clone())
                    .unwrap_or_else(|| c["image"].as_str().unwrap_or_default().to_string());
                (name, image)
            })
            .collect();
        let mut tds = lock(&self.task_definitions);
        let revision = tds.values().filter(|t| t.family == family).count() as i32 + 1;
        let arn = format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}");
        self.log(format!("RegisterTaskDefinition file:{family}"));
        tds.insert(
            arn.clone(),
            TaskDefinitionInfo {
                arn: arn.clone(),
                family,
                revision,
                containers,
                tags: tags.to_vec(),
            },
        );
        Ok(arn)
    }
    async fn summary(&self, source: TaskDefinitionSource<'_>) -> Result<serde_json::Value, AwsError> {
        Ok(match source {
            TaskDefinitionSource::Revision(arn) => {
                let tds = lock(&self.task_definitions);
                serde_json::json!({"containers": tds.get(arn).map(|t| t.containers.clone())})
            }
            TaskDefinitionSource::File { json, .. } => serde_json::from_str(json).unwrap_or_default(),
        })
    }
    async fn run_task(&self, req: &RunTaskRequest) -> Result<StartedTask, AwsError> {
        let mut run = lock(&self.tasks_run);
        run.push(req.clone());
        self.log(format!("RunTask {}", req.task_definition));
        Ok(StartedTask {
            arn: format!("arn:aws:ecs:us-east-1:123456789012:task/c/task{}", run.len()),
            logs: None,
        })
    }
    async fn describe_task(&self, _: &str, task_arn: &str) -> Result<Option<TaskStatus>, AwsError> {
        let mut looks = lock(&self.task_looks);
        let seen = looks.entry(task_arn.to_string()).or_default();
        *seen += 1;
        if *seen == 1 {
            return Ok(None);
        }
        let container = lock(&self.tasks_run)
            .last()
            .map(|r| r.container.clone())
            .unwrap_or_default();
        Ok(Some(TaskStatus {
            last_status: "STOPPED".into(),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![ContainerStatus {
                name: container,
                essential: true,
                exit_code: Some(self.one_off_exit_code.unwrap_or(0)),
                reason: None,
            }],
        }))
    }
    async fn diagnostics(&self, _: &str, _: &ServiceState, _: &str, _: SystemTime) -> Diagnostics {
        Diagnostics::default()
    }
    /// Only the breaker's rollbacks are kept; a revision's ARN is "rev/" and its task definition.
    async fn service_deployments(&self, _: &str, service: &str, _: bool) -> Result<Vec<(String, String)>, AwsError> {
        self.log(format!("ListServiceDeployments {service}"));
        let all = lock(&self.rolled_back);
        let ours = all.iter().rev().filter(|(s, _, _)| s == service);
        Ok(ours.map(|(_, td, v)| (v.arn.clone(), format!("rev/{td}"))).collect())
    }
    async fn revision_task_definition(&self, revision_arn: &str) -> Result<String, AwsError> {
        Ok(revision_arn.trim_start_matches("rev/").to_string())
    }
    async fn service_deployment(&self, arn: &str) -> Result<DeploymentView, AwsError> {
        self.log(format!("DescribeServiceDeployments {arn}"));
        let all = lock(&self.rolled_back);
        let found = all.iter().find(|(_, _, v)| v.arn == arn).map(|(_, _, v)| v.clone());
        found.ok_or_else(|| AwsError {
            operation: "ecs:DescribeServiceDeployments",
            resource: arn.to_string(),
            message: "no such service deployment".into(),
            kind: crate::error::AwsErrorKind::NotFound,
        })
    }
}
