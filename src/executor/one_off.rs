//! The `run-task` step: start a one-off task (a migration) from the new revision, wait for it
//! to stop, and go on only if it exited 0.
//!
//! A task still running at the timeout, or when the runner is cancelled, is left running and
//! named in the report: stopping a migration half-way can leave a schema half-changed, which
//! is worse than letting it finish. Nothing was deployed either way.

use super::cancel::{race, sleep_or_cancel};
use super::{log, Cancel, Ports};
use crate::domain::console;
use crate::domain::one_off_task::{task_id, verdict, OneOffTaskSpec, RunTaskRequest, StartedTask};
use crate::domain::poll::PollSchedule;
use crate::domain::settings::DeployConfig;
use crate::domain::task_definition::RenderError;
use crate::error::Error;

/// How the one-off task ended for the deploy.
pub enum OneOffEnd {
    Succeeded,
    Failed(Error),
    /// The runner was cancelled while it ran (the task is left running).
    Cancelled,
}

/// The container that runs the command: the one named, which must exist, or else the first
/// the release's image goes into. Checked before anything is registered.
pub fn container(
    spec: &OneOffTaskSpec,
    task_definition: &str,
    containers: &[(String, String)],
    assigned: &[(String, String)],
) -> Result<String, Error> {
    match &spec.container {
        Some(c) if containers.iter().any(|(n, _)| n == c) => Ok(c.clone()),
        Some(c) => Err(RenderError::NoSuchContainer {
            task_definition: task_definition.to_string(),
            container: c.clone(),
            available: containers
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()),
        None => Ok(assigned
            .first()
            .or(containers.first())
            .map(|(n, _)| n.clone())
            .unwrap_or_default()),
    }
}

/// Runs the task from `task_definition` in `container`, placed like `like_service`.
pub async fn run(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    spec: &OneOffTaskSpec,
    task_definition: &str,
    container: &str,
    like_service: &str,
    cancel: &mut Cancel,
) -> OneOffEnd {
    let command = shlex::try_join(spec.command.iter().map(String::as_str)).unwrap_or_else(|_| spec.command.join(" "));
    let req = RunTaskRequest {
        cluster: cfg.cluster.clone(),
        task_definition: task_definition.to_string(),
        container: container.to_string(),
        command: spec.command.clone(),
        like_service: like_service.to_string(),
        subnets: spec.subnets.clone(),
        security_groups: spec.security_groups.clone(),
        assign_public_ip: spec.assign_public_ip,
    };
    let started = match ports.ecs.run_task(&req).await {
        Ok(s) => s,
        Err(e) => return OneOffEnd::Failed(e.into()),
    };
    let id = task_id(&started.arn).to_string();
    let logs = logs_url(&started, container);
    log::info(&format!(
        "started one-off task {id} in container {container}: `{command}`{}",
        logs.as_ref().map(|u| format!("; logs: {u}")).unwrap_or_default()
    ));
    let fail = |problem: String| {
        OneOffEnd::Failed(Error::OneOffTask {
            task: id.clone(),
            command: command.clone(),
            problem,
            logs: logs.as_ref().map(|u| format!(" (logs: {u})")).unwrap_or_default(),
        })
    };
    let deadline = ports.clock.now() + spec.timeout;
    let mut schedule = PollSchedule::standard(cfg.poll_interval);
    let mut last_status = String::from("PROVISIONING");
    loop {
        let Some(look) = race(cancel, ports.ecs.describe_task(&cfg.cluster, &started.arn)).await else {
            return left_running(&id, &started.arn, cfg);
        };
        match look {
            Ok(Some(status)) => {
                if status.last_status != last_status {
                    log::info(&format!("task {id}: {}", status.last_status));
                    last_status = status.last_status.clone();
                }
                match verdict(&status, container) {
                    Some(Ok(())) => {
                        log::info(&format!("task {id} exited 0"));
                        return OneOffEnd::Succeeded;
                    }
                    Some(Err(failure)) => return fail(failure.to_string()),
                    None => {}
                }
            }
            // Not listed yet: RunTask's tasks appear late.
            Ok(None) => {}
            Err(e) => log::warning("Task status", &format!("could not read task {id}: {e}; retrying")),
        }
        if ports.clock.now() >= deadline {
            return fail(format!(
                "was still {last_status} after {}; it was left running (stop it with `aws ecs stop-task --cluster {} --task {id}` if it must not finish)",
                humantime::format_duration(spec.timeout),
                cfg.cluster
            ));
        }
        if sleep_or_cancel(ports, schedule.next_delay(), cancel).await {
            return left_running(&id, &started.arn, cfg);
        }
    }
}

fn left_running(id: &str, arn: &str, cfg: &DeployConfig) -> OneOffEnd {
    log::warning(
        "One-off task left running",
        &format!(
            "cancelled while task {id} ran; it was not stopped (a migration stopped half-way is worse than one that finishes). Nothing was deployed. Task: {arn} in cluster {}",
            cfg.cluster
        ),
    );
    OneOffEnd::Cancelled
}

fn logs_url(started: &StartedTask, container: &str) -> Option<String> {
    let logs = started.logs.as_ref()?;
    let stream = logs.stream(container, task_id(&started.arn))?;
    Some(console::log_stream(&logs.region, &logs.group, &stream))
}
