//! What `command: plan` prints for one stage (reads only): the images, the task-definition
//! diff and the very plan the deploy would follow.

use super::super::wait::short_td;
use super::super::Ports;
use super::observe::live_task_definition;
use crate::domain::components::Components;
use crate::domain::image::{Digest, EcrLocation, ImageRef};
use crate::domain::settings::StagePlan;
use crate::domain::settings::TaskDefinitionFile;
use crate::domain::task_definition::{assign_images, ImageAssignment};
use crate::domain::td_diff::diff;
use crate::ports::TaskDefinitionSource;

/// What `command: plan` prints for one stage (reads only).
pub async fn plan_lines(
    ports: &Ports<'_>,
    plan: &StagePlan,
    location: &EcrLocation,
    (repo_ref, digest, release): (&ImageRef, &Digest, &Components),
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
    let as_version = version.map(|v| format!(" as {v}")).unwrap_or_default();
    if release.is_empty() {
        lines.push(format!("  image {}@{digest}{as_version}", location.repository));
    } else {
        lines.push(format!(
            "  release {digest}{as_version}: {}",
            crate::domain::components::describe(release)
        ));
    }
    let live = live_task_definition(ports, cfg).await;
    if let (Some(file), Ok(Some(td))) = (&cfg.task_definition_file, &live) {
        lines.extend(file_diff(ports, file, &td.arn, &format!("{}@{digest}", repo_ref.name)).await);
    }
    match live {
        Ok(Some(_)) if cfg.task_definition_file.is_some() => {}
        Ok(Some(td)) => {
            for (name, image) in &td.containers {
                lines.push(format!(
                    "  task definition {}: container {name}: {image} → {}",
                    short_td(&td.arn),
                    if let Some(d) = release.get(name) {
                        format!("…@{d}")
                    } else if release.is_empty()
                        && crate::domain::task_definition::repository_of(image).ends_with(&location.repository)
                    {
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
    lines.extend(plan_steps(ports, cfg, repo_ref, digest).await);
    lines
}

/// `task-definition`: what registering the file (the release's image substituted) changes
/// against the running revision, setting by setting.
async fn file_diff(ports: &Ports<'_>, file: &TaskDefinitionFile, running: &str, image: &str) -> Vec<String> {
    let assignment = ImageAssignment::SameRepository(image.to_string());
    let images = match assign_images(&file.path, &file.containers, &assignment) {
        Ok(i) => i,
        Err(e) => return vec![format!("  (the task-definition file cannot take the image: {e})")],
    };
    let before = ports.ecs.summary(TaskDefinitionSource::Revision(running)).await;
    let after = ports
        .ecs
        .summary(TaskDefinitionSource::File {
            json: &file.json,
            path: &file.path,
            images: &images,
        })
        .await;
    match (before, after) {
        (Ok(b), Ok(a)) => {
            let changes = diff(&b, &a);
            let mut lines = vec![format!(
                "  task definition {} → {} ({} change(s); environment values as fingerprints):",
                short_td(running),
                file.path,
                changes.len()
            )];
            lines.extend(changes.into_iter().map(|c| format!("    {c}")));
            lines
        }
        (Err(e), _) | (_, Err(e)) => vec![format!("  (could not compare the task-definition file: {e})")],
    }
}

async fn plan_steps(
    ports: &Ports<'_>,
    cfg: &crate::domain::settings::DeployConfig,
    repo_ref: &ImageRef,
    digest: &Digest,
) -> Vec<String> {
    let mut lines = Vec::new();
    let image = format!("{}@{digest}", repo_ref.name);
    let plan = match &cfg.progressive {
        Some(pc) => super::super::two_slot::plan_now(cfg, pc, ports, &image).await,
        None => match super::super::native::plan_now(cfg, ports, &image).await {
            Ok(Some(plan)) => Ok(plan),
            Ok(None) => super::super::codedeploy::plan_now(cfg, ports, &image).await.map(|cd| {
                cd.unwrap_or_else(|| {
                    crate::domain::plan::rolling(&cfg.services, &image, cfg.controls.desired_count)
                        .with_run_task(cfg.run_task.as_ref())
                })
            }),
            Err(e) => Err(e),
        },
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
