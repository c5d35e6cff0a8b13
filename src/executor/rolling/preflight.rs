//! What the rolling deploy reads and decides before it changes anything: the services are
//! there, ACTIVE, on the ECS controller and idle; each one's new images and record tags.

use std::collections::BTreeMap;

use super::super::chain::RESULT;
use super::super::images::ResolvedImages;
use super::super::{log, Ports};
use crate::domain::interrupted::{left_by_earlier_run, Left, PENDING};
use crate::domain::service::{ServiceLifecycle, ServiceState};
use crate::domain::settings::DeployConfig;
use crate::domain::task_definition::{assign_images, merge_tags, ImageAssignment};
use crate::error::Error;

/// Tag keys of the records we leave on each task definition.
pub mod record {
    pub const STAGE: &str = "ecs-deploy:stage";
    pub const VERSION: &str = "ecs-deploy:version";
    pub const DIGEST: &str = "ecs-deploy:digest";
    pub const GIT_SHA: &str = "ecs-deploy:git-sha";
    pub const RUN_URL: &str = "ecs-deploy:run-url";
}

/// What the preflight decided for one service.
#[derive(Debug, Clone)]
pub struct Planned {
    pub service: String,
    pub previous_task_definition: String,
    /// The service's task count before the run.
    pub previous_desired: i32,
    pub images: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// The container that runs `run-task-command` (the first service's only).
    pub one_off_container: Option<String>,
}

pub async fn preflight(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    resolved: &ResolvedImages,
) -> Result<Vec<Planned>, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    for s in &states {
        check_service(&cfg.cluster, s)?;
    }
    let mut planned = Vec::new();
    // Each task definition once, a batch at a time (50 services need not be 50 reads in a row).
    let mut distinct: Vec<&str> = states.iter().map(|s| s.task_definition.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let read = super::super::batches::in_batches(
        &distinct,
        |td| async move { (td.to_string(), ports.ecs.describe_task_definition(td).await) },
        |batch| batch.iter().any(|(_, r)| r.is_err()),
    )
    .await;
    let mut infos = BTreeMap::new();
    for (td, info) in read {
        infos.insert(td, info?);
    }
    // Rolling only: for ECS-native and CodeDeploy ECS's completion is not this action's
    // verdict (its metrics judge their traffic steps), so theirs are left as they are.
    for s in states.iter().filter(|s| {
        crate::domain::controller::Controller::of_service(s) == Some(crate::domain::controller::Controller::Rolling)
    }) {
        finish_earlier_judgement(cfg, ports, s, &infos[&s.task_definition]).await?;
    }
    for s in &states {
        let info = &infos[&s.task_definition];
        // With a task-definition file the new revision is the file's, not a copy of this one.
        let (source, containers, kept_tags) = match &cfg.task_definition_file {
            Some(f) => (f.path.as_str(), &f.containers, &f.tags),
            None => (info.arn.as_str(), &info.containers, &info.tags),
        };
        let images = assign_images(source, containers, &resolved.assignment)?;
        let tags = merge_tags(kept_tags, &record_tags(cfg, resolved));
        for (container, image) in &images {
            log::info(&format!("{}: container {container} → {image}", s.name));
        }
        let one_off_container = match (&cfg.run_task, planned.is_empty()) {
            (Some(spec), true) => Some(super::super::one_off::container(spec, source, containers, &images)?),
            _ => None,
        };
        planned.push(Planned {
            service: s.name.clone(),
            previous_task_definition: s.task_definition.clone(),
            previous_desired: s.desired,
            images,
            tags,
            one_off_container,
        });
    }
    // Every name=image pair must have found its container in some service.
    if let ImageAssignment::Map(map) = &resolved.assignment {
        for container in map.keys() {
            if !planned.iter().any(|p| p.images.iter().any(|(n, _)| n == container)) {
                return Err(Error::Preflight {
                    cluster: cfg.cluster.clone(),
                    service: cfg.services.join(", "),
                    problem: format!(
                        "has no container named `{container}` in any task definition; fix the `containers` input"
                    ),
                });
            }
        }
    }
    Ok(planned)
}

/// A service left on a revision whose run never recorded its end (killed, or its runner
/// lost): ECS's rollout is the rolling judgement, so a rollout ECS completed on a steady
/// service is recorded good now; anything else is refused, so an unjudged release never
/// becomes the baseline a failure goes back to (README "Resume").
async fn finish_earlier_judgement(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    s: &ServiceState,
    info: &crate::ports::TaskDefinitionInfo,
) -> Result<(), Error> {
    let tag = |key: &str| info.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let by = tag(record::RUN_URL).unwrap_or("a run of this action");
    match left_by_earlier_run(tag(RESULT), s) {
        Left::Ended => Ok(()),
        Left::CompletedByEcs => {
            let recorded = ports
                .ecs
                .tag_service(&info.arn, &[(RESULT.to_string(), "success".to_string())])
                .await;
            match recorded {
                Ok(()) => log::warning(
                    "Earlier deployment judged",
                    &format!(
                        "{}: {} was left unjudged by {by}, which ended before recording it; ECS completed its rollout and the service is steady, so it is now recorded good and is this run's baseline",
                        s.name, info.arn
                    ),
                ),
                Err(e) => log::warning(
                    "Record not written",
                    &format!("{}: could not record {} as good: {e}", s.name, info.arn),
                ),
            }
            Ok(())
        }
        Left::Unsettled(why) => Err(Error::Preflight {
            cluster: cfg.cluster.clone(),
            service: s.name.clone(),
            problem: format!(
                "runs {}, which {by} deployed and never recorded judged (that run ended before its judgement), and {why}. This run will not take an unjudged release as the revision a failure goes back to: let ECS finish that rollout and re-run, or deploy a release you trust first",
                info.arn
            ),
        }),
    }
}

pub fn check_service(cluster: &str, s: &ServiceState) -> Result<(), Error> {
    let problem = if s.status == ServiceLifecycle::Missing {
        Some("does not exist; check `services`, `cluster` and the region".to_string())
    } else if s.status != ServiceLifecycle::Active {
        Some(format!("is {}; only ACTIVE services can be deployed", s.status))
    } else if crate::domain::controller::Controller::of_service(s).is_none() {
        Some(format!(
            "uses the {} deployment controller; this action drives rolling (ECS) deployments, so deploy it with its own controller",
            s.deployment_controller
        ))
    } else if let Some(strategy) = s
        .deployment_strategy
        .as_deref()
        .filter(|st| *st != "ROLLING" && s.native.is_none())
    {
        // ECS shifts traffic itself (alternate target group, bake, lifecycle hooks): driving it
        // as a rolling update would judge the wrong deployment and could report a false success.
        Some(format!(
            "uses ECS's own {strategy} deployment strategy, which this action does not drive yet; deploy it with `aws ecs update-service`, or set its deploymentConfiguration.strategy to ROLLING (or use two slots) to deploy it with this action"
        ))
    } else if s.deployments.len() > 1 {
        let ids: Vec<&str> = s.deployments.iter().map(|d| d.id.as_str()).collect();
        Some(format!(
            "already has a deployment in progress ({}); wait for it to finish, then re-run",
            ids.join(", ")
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::Preflight {
            cluster: cluster.to_string(),
            service: s.name.clone(),
            problem,
        }),
        None => Ok(()),
    }
}

pub fn record_tags(cfg: &DeployConfig, resolved: &ResolvedImages) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    if let Some(stage) = &cfg.stage {
        tags.push((record::STAGE.to_string(), stage.clone()));
    }
    if let Some(v) = &cfg.version {
        tags.push((record::VERSION.to_string(), format!("v{v}")));
    }
    // A multi-image release is keyed by its components' digest, each component beside it.
    match &cfg.release {
        Some(components) => {
            let id = crate::domain::components::release_id(components);
            tags.push((record::DIGEST.to_string(), id.to_string()));
            tags.extend(crate::domain::components::tags(components));
        }
        None => {
            if let Some(d) = &resolved.digest {
                tags.push((record::DIGEST.to_string(), d.to_string()));
            }
        }
    }
    if let Some(sha) = &cfg.context.sha {
        tags.push((record::GIT_SHA.to_string(), sha.clone()));
    }
    if let Some(url) = cfg.context.run_url() {
        tags.push((record::RUN_URL.to_string(), url));
    }
    // Until the run records how its deployment ended: a revision still pending was left by a
    // run killed before its end (domain::interrupted).
    tags.push((RESULT.to_string(), PENDING.to_string()));
    tags
}
