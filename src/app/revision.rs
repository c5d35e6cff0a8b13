//! The commit reports and records name when the `commit` input is not given: the one the
//! image says it was built from (its `org.opencontainers.image.revision` label), read before
//! anything is reported. `GITHUB_SHA` is only the fallback: on a pull request it is a merge
//! ref, on a dispatch or a promotion the branch's head, never the image's own commit.

use crate::config::validate::ContainerImages;
use crate::config::DeployConfig;
use crate::error::AwsErrorKind;
use crate::executor::log;
use crate::ports::Registry;

/// The image's revision label, for a run that deploys one ECR image named in its inputs.
/// Read-only; a failure is a warning and the run goes on with `GITHUB_SHA`.
pub async fn image_commit(registry: &dyn Registry, cfg: &DeployConfig) -> Option<String> {
    let image = match &cfg.images {
        ContainerImages::Default(i) | ContainerImages::Named { image: i, .. } => i,
        ContainerImages::Map(_) => return None,
    };
    let location = image.ecr()?;
    let reference = match (&image.digest, &image.tag) {
        (Some(d), _) => d.as_str().to_string(),
        (None, Some(tag)) => tag.clone(),
        (None, None) => return None,
    };
    match registry.revision(&location, &reference).await {
        Ok(Some(sha)) => {
            log::info(&format!(
                "commit {sha}: from the image's org.opencontainers.image.revision label (reports and records name it)"
            ));
            Some(sha)
        }
        Ok(None) => None,
        // No such image: the deploy's own resolution says so, with the fix.
        Err(e) if e.kind == AwsErrorKind::NotFound => None,
        Err(e) => {
            let fix = if e.kind == AwsErrorKind::AccessDenied {
                "allow ecr:GetDownloadUrlForLayer on the repository (iam-policy.json has it), or pass `commit`"
            } else {
                "pass `commit` to name the image's commit"
            };
            log::warning(
                "Image revision not read",
                &format!("{e}; reports and records name GITHUB_SHA instead. Fix: {fix}"),
            );
            None
        }
    }
}
