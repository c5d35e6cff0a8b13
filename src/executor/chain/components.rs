//! Multi-image releases in the chain (`images:` in the config file): the components a run is
//! given, the components a revision records, and their ECR tags (versions and moving stage
//! tags, on every component's own repository).

use super::super::{log, Ports};
use super::choose::Choice;
use super::refused;
use crate::domain::components::{self, Components};
use crate::domain::image::{Digest, EcrLocation, ImageRef};
use crate::domain::settings::{ReleaseRun, StagePlan};
use crate::error::Error;
use crate::ports::Retag;

/// (component, repository name, ECR location) for each of the file's `images`.
pub fn repositories(run: &ReleaseRun) -> Vec<(String, String, EcrLocation)> {
    run.components
        .iter()
        .filter_map(|(c, repo)| {
            let r = ImageRef::parse(&format!("{repo}:x")).ok()?;
            Some((c.clone(), r.name.clone(), r.ecr()?))
        })
        .collect()
}

/// The components the run was given: `containers` as `component=image` pairs (one per
/// component of the file, each from its repository), or a `version` tagged in every
/// repository. `None`: neither (a promotion reads them from the previous stage).
pub async fn given(run: &ReleaseRun, first: &StagePlan, ports: &Ports<'_>) -> Result<Option<Choice>, Error> {
    let repos = repositories(run);
    let mut components = Components::new();
    if !run.component_images.is_empty() {
        let pairs = &run.component_images;
        for (component, name, location) in &repos {
            let Some((_, image)) = pairs.iter().find(|(c, _)| c == component) else {
                return Err(refused(
                    &first.name,
                    format!("`containers` has no image for component `{component}`; a release carries every component of `images:`"),
                ));
            };
            let named_repo = ImageRef::parse(image).map(|r| r.name).unwrap_or_default();
            if &named_repo != name {
                return Err(Error::Image {
                    image: image.clone(),
                    problem: format!("is not from {name}, the repository `images:` gives component `{component}`"),
                });
            }
            let (_, digest) = super::choose::digest_of(ports, location, image).await?;
            components.insert(component.clone(), digest);
        }
        if let Some((extra, _)) = pairs.iter().find(|(c, _)| !run.components.contains_key(c)) {
            return Err(refused(
                &first.name,
                format!("`containers` names `{extra}`, which is not a component of `images:`"),
            ));
        }
    } else if let Some(v) = &first.cfg.version {
        for (component, _, location) in &repos {
            let digest = ports
                .registry
                .resolve_tag(location, &format!("v{v}"))
                .await
                .map_err(|e| {
                    refused(
                        &first.name,
                        format!("version v{v} is not a tag in {}: {e}", location.repository),
                    )
                })?;
            components.insert(component.clone(), digest);
        }
    } else {
        return Ok(None);
    }
    Ok(Some(Choice {
        digest: components::release_id(&components),
        version: first.cfg.version.clone(),
        notes: vec![format!("release of {}", components::describe(&components))],
        components,
    }))
}

/// The components a revision records for the release `key`; a record whose components do not
/// hash to its key is refused (it was written by something else).
pub async fn recorded(
    ports: &Ports<'_>,
    task_definition: &str,
    key: &Digest,
    stage: &str,
) -> Result<Components, Error> {
    let info = ports.ecs.describe_task_definition(task_definition).await?;
    let found = components::from_tags(&info.tags);
    if found.is_empty() || components::release_id(&found) != *key {
        return Err(refused(
            stage,
            format!("the record on {task_definition} does not name the components of release {key}"),
        ));
    }
    Ok(found)
}

/// Tags every component with the release version (`v1.2.3`); a version that already names
/// another image in an IMMUTABLE repository refuses the stage.
pub async fn tag_version(
    ports: &Ports<'_>,
    run: &ReleaseRun,
    release: &Components,
    version: &semver::Version,
    stage: &str,
) -> Result<(), Error> {
    for (component, _, location) in repositories(run) {
        let Some(digest) = release.get(&component) else {
            continue;
        };
        match ports.registry.retag(&location, digest, &format!("v{version}")).await? {
            Retag::ImmutableElsewhere => {
                return Err(refused(
                    stage,
                    format!(
                        "tag v{version} already names another image in {}; versions never move",
                        location.repository
                    ),
                ))
            }
            Retag::Created => log::info(&format!("tagged {component} {digest} as v{version}")),
            Retag::AlreadyThere => {}
        }
    }
    Ok(())
}

/// Moves each component's `<stage>` tag to its digest (not in IMMUTABLE repositories).
pub async fn move_stage_tags(ports: &Ports<'_>, run: &ReleaseRun, release: &Components, stage: &str) {
    for (component, _, location) in repositories(run) {
        let Some(digest) = release.get(&component) else {
            continue;
        };
        let immutable = ports.registry.immutable(&location).await.unwrap_or(true);
        super::observe::record_moving_tag(ports, &location, digest, stage, immutable).await;
    }
}

/// `api=<repository>@sha256:…` per component, one per line (the `images` output).
pub fn pairs(run: &ReleaseRun, release: &Components) -> String {
    repositories(run)
        .iter()
        .filter_map(|(c, name, _)| Some(format!("{c}={name}@{}", release.get(c)?)))
        .collect::<Vec<_>>()
        .join("\n")
}
