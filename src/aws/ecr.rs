//! ECR: resolving tags to digests.

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageIdentifier, ImageTagMutability};

use super::classify;
use crate::domain::image::{Digest, EcrLocation};
use crate::error::{AwsError, AwsErrorKind};
use crate::ports::{Registry, Retag};

pub struct EcrRegistry {
    client: aws_sdk_ecr::Client,
}

impl EcrRegistry {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        EcrRegistry {
            client: aws_sdk_ecr::Client::new(config),
        }
    }

    async fn describe(&self, location: &EcrLocation, id: ImageIdentifier, what: &str) -> Result<Digest, AwsError> {
        let resource = format!("ECR repository {} ({what})", location.repository);
        let out = self
            .client
            .describe_images()
            .registry_id(&location.registry_id)
            .repository_name(&location.repository)
            .image_ids(id)
            .send()
            .await
            .map_err(|e| classify("ecr:DescribeImages", &resource, e))?;
        out.image_details()
            .first()
            .and_then(|d| d.image_digest())
            .and_then(Digest::parse)
            .ok_or(AwsError {
                operation: "ecr:DescribeImages",
                resource,
                message: "no image with a sha256 digest was returned".into(),
                kind: AwsErrorKind::NotFound,
            })
    }
}

#[async_trait]
impl Registry for EcrRegistry {
    async fn resolve_tag(&self, location: &EcrLocation, tag: &str) -> Result<Digest, AwsError> {
        self.describe(
            location,
            ImageIdentifier::builder().image_tag(tag).build(),
            &format!("tag {tag}"),
        )
        .await
    }

    async fn confirm_digest(&self, location: &EcrLocation, digest: &Digest) -> Result<(), AwsError> {
        self.describe(
            location,
            ImageIdentifier::builder().image_digest(digest.as_str()).build(),
            digest.as_str(),
        )
        .await
        .map(|_| ())
    }

    async fn tags(&self, location: &EcrLocation) -> Result<Vec<(String, Digest)>, AwsError> {
        let resource = format!("ECR repository {}", location.repository);
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_images()
            .registry_id(&location.registry_id)
            .repository_name(&location.repository)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ecr:DescribeImages", &resource, e))?;
            for d in page.image_details() {
                let Some(digest) = d.image_digest().and_then(Digest::parse) else {
                    continue;
                };
                for t in d.image_tags() {
                    out.push((t.clone(), digest.clone()));
                }
            }
        }
        Ok(out)
    }

    async fn immutable(&self, location: &EcrLocation) -> Result<bool, AwsError> {
        let resource = format!("ECR repository {}", location.repository);
        let out = self
            .client
            .describe_repositories()
            .registry_id(&location.registry_id)
            .repository_names(&location.repository)
            .send()
            .await
            .map_err(|e| classify("ecr:DescribeRepositories", &resource, e))?;
        Ok(out
            .repositories()
            .first()
            .and_then(|r| r.image_tag_mutability())
            .is_some_and(|m| matches!(m, ImageTagMutability::Immutable) || m.as_str().starts_with("IMMUTABLE")))
    }

    async fn retag(&self, location: &EcrLocation, digest: &Digest, tag: &str) -> Result<Retag, AwsError> {
        let resource = format!("ECR repository {} (tag {tag})", location.repository);
        let got = self
            .client
            .batch_get_image()
            .registry_id(&location.registry_id)
            .repository_name(&location.repository)
            .image_ids(ImageIdentifier::builder().image_digest(digest.as_str()).build())
            .send()
            .await
            .map_err(|e| classify("ecr:BatchGetImage", &resource, e))?;
        let image = got.images().first().ok_or_else(|| AwsError {
            operation: "ecr:BatchGetImage",
            resource: resource.clone(),
            message: format!("no image with digest {digest}"),
            kind: AwsErrorKind::NotFound,
        })?;
        let put = self
            .client
            .put_image()
            .registry_id(&location.registry_id)
            .repository_name(&location.repository)
            .image_manifest(image.image_manifest().unwrap_or_default())
            .set_image_manifest_media_type(image.image_manifest_media_type().map(str::to_string))
            .image_tag(tag)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Retag::Created),
            Err(e) => match aws_sdk_ecr::error::ProvideErrorMetadata::code(&e).unwrap_or_default() {
                // Either spelling can mean "already there" or "immutable, elsewhere" (moto
                // uses the first for both): read the tag back to know which.
                "ImageAlreadyExistsException" | "ImageTagAlreadyExistsException" => {
                    if self.resolve_tag(location, tag).await? == *digest {
                        Ok(Retag::AlreadyThere)
                    } else {
                        Ok(Retag::ImmutableElsewhere)
                    }
                }
                _ => Err(classify("ecr:PutImage", &resource, e)),
            },
        }
    }
}
