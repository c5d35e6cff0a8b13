//! The image registry (ECR): digests and promotion by re-tagging.

use async_trait::async_trait;

use crate::domain::image::{Digest, EcrLocation};
use crate::error::AwsError;

#[async_trait]
pub trait Registry: Send + Sync {
    /// The digest that `tag` currently points to in the ECR repository.
    async fn resolve_tag(&self, location: &EcrLocation, tag: &str) -> Result<Digest, AwsError>;
    /// Confirms that the repository holds `digest`.
    async fn confirm_digest(&self, location: &EcrLocation, digest: &Digest) -> Result<(), AwsError>;
    /// Every (tag, digest) in the repository.
    async fn tags(&self, location: &EcrLocation) -> Result<Vec<(String, Digest)>, AwsError>;
    /// Whether the repository's tags are IMMUTABLE (then tags are never moved).
    async fn immutable(&self, location: &EcrLocation) -> Result<bool, AwsError>;
    /// Puts `tag` on the manifest of `digest` (a re-tag: the digest does not change).
    async fn retag(&self, location: &EcrLocation, digest: &Digest, tag: &str) -> Result<Retag, AwsError>;
    /// The commit the image says it was built from (its `org.opencontainers.image.revision`
    /// label), `None` when it carries none. `reference` is a tag or a `sha256:` digest: the
    /// manifest is fetched by either, so a tag costs no separate resolution.
    async fn revision(&self, location: &EcrLocation, reference: &str) -> Result<Option<String>, AwsError>;
}

/// What a re-tag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retag {
    Created,
    /// The tag already pointed at this digest: success, nothing done (idempotent).
    AlreadyThere,
    /// The repository is IMMUTABLE and the tag points elsewhere: left as is.
    ImmutableElsewhere,
}
