//! ECR: resolving tags to digests, re-tagging, and reading an image's revision label.

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageIdentifier, ImageTagMutability};

use super::classify;
use crate::domain::image::{Digest, EcrLocation};
use crate::domain::image_revision::{self, Next, MANIFEST_TYPES};
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

impl EcrRegistry {
    /// The manifest of a tag or a `sha256:` digest, as stored (an image manifest or an index).
    async fn manifest(&self, location: &EcrLocation, reference: &str, resource: &str) -> Result<String, AwsError> {
        let id = if Digest::parse(reference).is_some() {
            ImageIdentifier::builder().image_digest(reference)
        } else {
            ImageIdentifier::builder().image_tag(reference)
        };
        let got = self
            .client
            .batch_get_image()
            .registry_id(&location.registry_id)
            .repository_name(&location.repository)
            .image_ids(id.build())
            .set_accepted_media_types(Some(MANIFEST_TYPES.iter().map(|t| t.to_string()).collect()))
            .send()
            .await
            .map_err(|e| classify("ecr:BatchGetImage", resource, e))?;
        got.images()
            .first()
            .and_then(|i| i.image_manifest())
            .map(str::to_string)
            .ok_or_else(|| AwsError {
                operation: "ecr:BatchGetImage",
                resource: resource.to_string(),
                message: format!("no manifest for {reference}"),
                kind: AwsErrorKind::NotFound,
            })
    }

    /// The config blob of an image: ECR hands out a short-lived download URL for it, and the
    /// bytes must hash to the digest the manifest names (else they are not that config).
    async fn blob(&self, location: &EcrLocation, digest: &Digest, resource: &str) -> Result<Vec<u8>, AwsError> {
        let out = self
            .client
            .get_download_url_for_layer()
            .registry_id(&location.registry_id)
            .repository_name(&location.repository)
            .layer_digest(digest.as_str())
            .send()
            .await
            .map_err(|e| classify("ecr:GetDownloadUrlForLayer", resource, e))?;
        let failed = |message: String| AwsError {
            operation: "ecr:GetDownloadUrlForLayer",
            resource: resource.to_string(),
            message,
            kind: AwsErrorKind::Other,
        };
        let url = out
            .download_url()
            .ok_or_else(|| failed("no download URL".into()))?
            .to_string();
        let bytes = tokio::task::spawn_blocking(move || download(&url))
            .await
            .map_err(|e| failed(format!("download task failed: {e}")))?
            .map_err(failed)?;
        use sha2::Digest as _;
        let got = format!("sha256:{:x}", sha2::Sha256::digest(&bytes));
        if got != digest.as_str() {
            return Err(failed(format!("the downloaded config hashes to {got}, not {digest}")));
        }
        Ok(bytes)
    }
}

/// The largest config blob read (real ones are a few KiB).
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// One GET of a presigned URL; never printed (it carries a signature).
fn download(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(15)))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| format!("download failed: {e}"))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_CONFIG_BYTES)
        .read_to_vec()
        .map_err(|e| format!("download failed: {e}"))
}

#[async_trait]
impl Registry for EcrRegistry {
    async fn revision(&self, location: &EcrLocation, reference: &str) -> Result<Option<String>, AwsError> {
        let resource = format!("ECR repository {} (image {reference})", location.repository);
        let mut manifest = self.manifest(location, reference, &resource).await?;
        for _ in 0..2 {
            match image_revision::next(&manifest) {
                Next::Config(config) => {
                    let bytes = self.blob(location, &config, &resource).await?;
                    return image_revision::revision(&bytes).map_err(|message| AwsError {
                        operation: "ecr:GetDownloadUrlForLayer",
                        resource: resource.clone(),
                        message,
                        kind: AwsErrorKind::Other,
                    });
                }
                Next::Platform(child) => manifest = self.manifest(location, child.as_str(), &resource).await?,
                Next::Nothing(_) => return Ok(None),
            }
        }
        Ok(None)
    }

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
