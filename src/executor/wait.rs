//! Waiting for several services at once: one batched `DescribeServices` per poll for all of
//! them, adaptive delays, a deadline, and cancellation.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::cancel::{race, sleep_or_cancel};
use super::{log, Cancel, Ports};
use crate::domain::poll::PollSchedule;
use crate::domain::rollout::{assess, attribute, replacement, Assessment, EcsTrigger, Failure, Tracked};
use crate::domain::service::ServiceState;
use crate::domain::service_deployment::DeploymentView;

#[derive(Debug, Default)]
pub struct WaitResult {
    /// Every service's verdict: `Ok` when stable, otherwise why not.
    pub verdicts: BTreeMap<String, Result<(), Failure>>,
    /// The last observation of each service (for diagnostics).
    pub last_seen: BTreeMap<String, ServiceState>,
    pub cancelled: bool,
}

impl WaitResult {
    pub fn all_stable(&self) -> bool {
        !self.cancelled && self.verdicts.values().all(Result::is_ok)
    }
}

pub async fn wait_for(
    ports: &Ports<'_>,
    cluster: &str,
    tracked: &BTreeMap<String, Tracked>,
    timeout: Duration,
    poll_cap: Duration,
    cancel: &mut Cancel,
) -> WaitResult {
    let deadline = ports.clock.now() + timeout;
    let mut schedule = PollSchedule::standard(poll_cap);
    let mut result = WaitResult::default();
    let mut last_progress: BTreeMap<String, String> = BTreeMap::new();
    loop {
        if *cancel.borrow() {
            result.cancelled = true;
            return result;
        }
        let pending: Vec<String> = tracked
            .keys()
            .filter(|k| !result.verdicts.contains_key(*k))
            .cloned()
            .collect();
        if pending.is_empty() {
            return result;
        }
        // A read only: a signal during a slow DescribeServices is acted on at once.
        let Some(described) = race(cancel, ports.ecs.describe_services(cluster, &pending)).await else {
            result.cancelled = true;
            return result;
        };
        match described {
            Ok(states) => {
                for state in states {
                    let Some(t) = tracked.get(&state.name) else {
                        continue;
                    };
                    let assessment = match assess(&state, t) {
                        Assessment::Replaced => Assessment::Failed(replaced_by(ports, cluster, &state.name, t).await),
                        Assessment::Failed(
                            f @ (Failure::RolloutFailed { .. }
                            | Failure::EcsRollback {
                                by: EcsTrigger::Unknown,
                                ..
                            }),
                        ) => Assessment::Failed(attribute(f, ours(ports, cluster, &state.name, t).await.as_ref())),
                        other => other,
                    };
                    match assessment {
                        Assessment::Stable => {
                            log::info(&format!("{}: stable on {}", state.name, short_td(&t.task_definition)));
                            result.verdicts.insert(state.name.clone(), Ok(()));
                        }
                        Assessment::Failed(f) => {
                            log::info(&format!("{}: {}", state.name, f.summary()));
                            result.verdicts.insert(state.name.clone(), Err(f));
                        }
                        Assessment::Replaced => unreachable!("resolved above"),
                        Assessment::InProgress {
                            running,
                            desired,
                            failed_tasks,
                        } => {
                            let line = format!(
                                "{}: {running}/{desired} tasks running on the new revision, {failed_tasks} failed, {} deployment(s)",
                                state.name,
                                state.deployments.len()
                            );
                            if last_progress.get(&state.name) != Some(&line) {
                                log::info(&line);
                                ports.reporter.progress(&ports.stage, &line).await;
                                last_progress.insert(state.name.clone(), line);
                            }
                        }
                    }
                    result.last_seen.insert(state.name.clone(), state);
                }
            }
            // Retries already happened inside the SDK; keep waiting until the deadline, the
            // state in AWS is unchanged by a failed read.
            Err(e) => log::warning("DescribeServices failed", &e.to_string()),
        }
        // Done as soon as the last verdict is in, not one poll interval later.
        if tracked.keys().all(|k| result.verdicts.contains_key(k)) {
            return result;
        }
        if ports.clock.now() >= deadline {
            for name in tracked.keys() {
                result.verdicts.entry(name.clone()).or_insert(Err(Failure::Timeout));
            }
            return result;
        }
        let delay = schedule.next_delay().min(remaining(ports.clock.now(), deadline));
        if sleep_or_cancel(ports, delay, cancel).await {
            result.cancelled = true;
            return result;
        }
    }
}

/// Ours was replaced by the previous revision: ECS's rollback or someone else's deploy, as our
/// service deployment says. Nothing found is never taken for ECS's rollback.
async fn replaced_by(ports: &Ports<'_>, cluster: &str, service: &str, tracked: &Tracked) -> Failure {
    replacement(
        ours(ports, cluster, service, tracked).await.as_ref(),
        &tracked.previous_task_definition,
    )
}

/// Our service deployment (the newest few whose target is our task definition). A read that
/// fails finds nothing, with a warning.
async fn ours(ports: &Ports<'_>, cluster: &str, service: &str, tracked: &Tracked) -> Option<DeploymentView> {
    let found = async {
        let listed = ports.ecs.service_deployments(cluster, service, false).await?;
        for (arn, revision) in listed.into_iter().take(5) {
            if ports.ecs.revision_task_definition(&revision).await? == tracked.task_definition {
                return ports.ecs.service_deployment(&arn).await.map(Some);
            }
        }
        Ok::<_, crate::error::AwsError>(None)
    };
    match found.await {
        Ok(found) => found,
        Err(e) => {
            log::warning(
                &format!("{service}: could not read its service deployments"),
                &e.to_string(),
            );
            None
        }
    }
}

fn remaining(now: SystemTime, deadline: SystemTime) -> Duration {
    deadline.duration_since(now).unwrap_or(Duration::ZERO)
}

pub use crate::domain::task_definition::short_td;
