//! One stage of a chain run: its deployment with the release's image (or every component of a
//! multi-image release), and the records a success leaves (revision tags, moving ECR tags).

use super::super::{log, Cancel, DeployReport, Ports};
use super::{components, observe, RESULT};
use crate::domain::components::Components;
use crate::domain::image::{Digest, ImageRef};
use crate::domain::outcome::OutcomeKind;
use crate::domain::settings::{ContainerImages, ReleaseRun, StagePlan};
use crate::error::Error;
use crate::ports::StageStart;

/// The moving `<stage>` tag on the release's image, or on every component's.
pub(super) async fn record_stage_tags(
    ports: &Ports<'_>,
    run: &ReleaseRun,
    release: &Components,
    (location, digest, immutable): (&crate::domain::image::EcrLocation, &Digest, bool),
    stage: &str,
) {
    if run.multi_image() {
        components::move_stage_tags(ports, run, release, stage).await;
    } else {
        observe::record_moving_tag(ports, location, digest, stage, immutable).await;
    }
}

/// Deploys the digest (or every component of a multi-image release) with the stage's own
/// settings.
pub(super) async fn deploy_stage(
    run: &ReleaseRun,
    plan: &StagePlan,
    (repo_ref, digest, release): (&ImageRef, &Digest, &Components),
    version: Option<&semver::Version>,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
) -> Result<DeployReport, Error> {
    let mut cfg = plan.cfg.clone();
    cfg.images = ContainerImages::Default(ImageRef {
        name: repo_ref.name.clone(),
        tag: None,
        digest: Some(digest.clone()),
    });
    if !release.is_empty() {
        let repos = components::repositories(run);
        cfg.images = ContainerImages::Map(
            release
                .iter()
                .filter_map(|(c, d)| {
                    let (_, name, _) = repos.iter().find(|(rc, _, _)| rc == c)?;
                    Some((
                        c.clone(),
                        ImageRef {
                            name: name.clone(),
                            tag: None,
                            digest: Some(d.clone()),
                        },
                    ))
                })
                .collect(),
        );
        cfg.release = Some(release.clone());
    }
    cfg.version = version.cloned();
    let stage_ports = Ports {
        stage: plan.name.clone(),
        ..*ports
    };
    log::info(&format!("── stage {} ({}) ──", plan.name, cfg.strategy.name()));
    ports
        .reporter
        .started(&StageStart {
            stage: plan.name.clone(),
            strategy: cfg.strategy.name().to_string(),
            cluster: cfg.cluster.clone(),
            services: cfg.services.clone(),
            image: if release.is_empty() {
                format!("{}@{digest}", repo_ref.name)
            } else {
                crate::domain::components::describe(release)
            },
            version: cfg.version.as_ref().map(|v| format!("v{v}")),
            environment_url: plan.url.clone(),
            environment: Some(plan.environment.clone()),
        })
        .await;
    super::super::deploy(&cfg, &stage_ports, cancel).await
}

/// Tags every new revision of a stage with how its deployment ended: `success` (the only end
/// provenance accepts), `failure` or `cancelled`. A revision with no end recorded was left by
/// a run that was killed before its judgement ended.
pub async fn record_end(ports: &Ports<'_>, result: &DeployReport) {
    let end = match result.outcome.kind {
        OutcomeKind::Success => "success",
        OutcomeKind::Cancelled => "cancelled",
        OutcomeKind::Failure => "failure",
        // Paused: not ended; a later run resumes and records it.
        _ => return,
    };
    for s in &result.outcome.services {
        if let Some(td) = &s.new_task_definition {
            if let Err(e) = ports
                .ecs
                .tag_service(td, &[(RESULT.to_string(), end.to_string())])
                .await
            {
                log::warning("Record not written", &format!("could not tag {td} as {end}: {e}"));
            }
        }
    }
}
