//! ECR: resolving tags to digests.

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageIdentifier;

use super::classify;
use crate::domain::image::{Digest, EcrLocation};
use crate::error::{AwsError, AwsErrorKind};
use crate::ports::Registry;

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
}
