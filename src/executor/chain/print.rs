//! What `command: plan` prints for one stage (reads only): the images, the task-definition
//! diff and the very plan the deploy would follow.

use super::super::wait::short_td;
use super::super::Ports;
use super::observe::live_task_definition;
use crate::config::stages::StagePlan;
use crate::domain::image::{Digest, EcrLocation, ImageRef};

/// What `command: plan` prints for one stage (reads only).
pub async fn plan_lines(
    ports: &Ports<'_>,
    plan: &StagePlan,
    location: &EcrLocation,
    repo_ref: &ImageRef,
    digest: &Digest,
    version: Option<&str>,
) -> Vec<String> {
    let cfg = &plan.cfg;
    let mut lines = vec![format!(
        "stage {} (environment {}): {} on cluster {}, services {}",
        plan.name,
        plan.environment,
        cfg.strategy.name(),
        cfg.cluster,
        cfg.services.join(", ")
    )];
    lines.push(format!(
        "  image {}@{digest}{}",
        location.repository,
        version.map(|v| format!(" as {v}")).unwrap_or_default()
    ));
    match live_task_definition(ports, cfg).await {
        Ok(Some(td)) => {
            for (name, image) in &td.containers {
                lines.push(format!(
                    "  task definition {}: container {name}: {image} → {}",
                    short_td(&td.arn),
                    if crate::domain::task_definition::repository_of(image).ends_with(&location.repository) {
                        format!("…@{digest}")
                    } else {
                        "unchanged".to_string()
                    }
                ));
            }
        }
        Ok(None) => lines.push("  (no active service found to diff against)".into()),
        Err(e) => lines.push(format!("  (could not read the current task definition: {e})")),
    }
    // The same plan the deploy follows, step for step.
    let image = format!("{}@{digest}", repo_ref.name);
    let plan = match &cfg.progressive {
        Some(pc) => super::super::two_slot::plan_now(cfg, pc, ports, &image).await,
        None => Ok(
            crate::domain::plan::rolling(&cfg.services, &image, cfg.controls.desired_count)
                .with_run_task(cfg.run_task.as_ref()),
        ),
    };
    match plan {
        Ok(plan) => {
            lines.push(format!("  plan {} ({} steps):", plan.hash(), plan.steps.len()));
            lines.extend(plan.lines().iter().map(|l| format!("    {l}")));
        }
        Err(e) => lines.push(format!(
            "  (could not read the traffic topology to plan the steps: {e})"
        )),
    }
    lines
}
