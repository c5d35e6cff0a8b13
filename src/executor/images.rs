//! Pinning the requested images to digests before anything changes.

use std::collections::BTreeMap;

use super::{log, Ports};
use crate::domain::image::{Digest, ImageRef};
use crate::domain::settings::ContainerImages;
use crate::domain::task_definition::ImageAssignment;
use crate::error::Error;

/// The images to deploy, as they will appear in the task definitions.
#[derive(Debug, Clone)]
pub struct ResolvedImages {
    pub assignment: ImageAssignment,
    /// The digest of the main image (the `image` input, or the first of the map), if known.
    pub digest: Option<Digest>,
    /// The pinned reference of the main image.
    pub image: String,
}

/// Resolves an ECR tag to `repo@sha256:…`; keeps a non-ECR image as given, with a warning.
pub async fn pin(ports: &Ports<'_>, image: &ImageRef) -> Result<(String, Option<Digest>), Error> {
    let Some(ecr) = image.ecr() else {
        if image.digest.is_none() {
            log::warning(
                "Image not pinned",
                &format!("{image} is not in Amazon ECR, so it is deployed by tag and a later push to that tag changes what runs. Use an ECR image or an @sha256 digest."),
            );
        }
        return Ok((image.to_string(), image.digest.clone()));
    };
    let digest = match (&image.digest, &image.tag) {
        (Some(d), _) => {
            ports.registry.confirm_digest(&ecr, d).await?;
            d.clone()
        }
        (None, Some(tag)) => ports.registry.resolve_tag(&ecr, tag).await?,
        (None, None) => {
            return Err(Error::Image {
                image: image.to_string(),
                problem: "has neither tag nor digest".into(),
            });
        }
    };
    log::info(&format!("{image} is {digest}"));
    Ok((image.pinned(&digest), Some(digest)))
}

pub async fn resolve(ports: &Ports<'_>, images: &ContainerImages) -> Result<ResolvedImages, Error> {
    match images {
        ContainerImages::Default(image) => {
            let (pinned, digest) = pin(ports, image).await?;
            Ok(ResolvedImages {
                assignment: ImageAssignment::SameRepository(pinned.clone()),
                digest,
                image: pinned,
            })
        }
        ContainerImages::Named { containers, image } => {
            let (pinned, digest) = pin(ports, image).await?;
            Ok(ResolvedImages {
                assignment: ImageAssignment::Named {
                    containers: containers.clone(),
                    image: pinned.clone(),
                },
                digest,
                image: pinned,
            })
        }
        ContainerImages::Map(map) => {
            let mut pinned_map = BTreeMap::new();
            let mut first: Option<(String, Option<Digest>)> = None;
            for (container, image) in map {
                let pinned = pin(ports, image).await?;
                first.get_or_insert_with(|| pinned.clone());
                pinned_map.insert(container.clone(), pinned.0);
            }
            let (image, digest) = first.unwrap_or_default();
            Ok(ResolvedImages {
                assignment: ImageAssignment::Map(pinned_map),
                digest,
                image,
            })
        }
    }
}
