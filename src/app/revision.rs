//! The commit reports and records name when the `commit` input is not given: the one the
//! image says it was built from (its `org.opencontainers.image.revision` label), read before
//! anything is reported. `GITHUB_SHA` is only the fallback: on a pull request it is a merge
//! ref, on a dispatch or a promotion the branch's head, never the image's own commit.

use crate::config::chain_file::ChainFile;
use crate::config::inputs::{given, RawInputs};
use crate::config::validate::ContainerImages;
use crate::config::DeployConfig;
use crate::domain::image::{EcrLocation, ImageRef};
use crate::error::AwsErrorKind;
use crate::executor::log;
use crate::ports::Registry;

/// Which image the run names before the chain decides its digest: the `image` input, else a
/// `version` (the tag `v<version>` in the chain's repository, as `promote.yml` passes it), else
/// a rollback's `to:` version. None when only the chain can tell (`to: previous`, promoting
/// the previous stage's release): those runs name `GITHUB_SHA`.
pub fn named_image(raw: &RawInputs, file: Option<&ChainFile>, cfg: &DeployConfig) -> Option<(EcrLocation, String)> {
    if given(&raw.image).is_some() {
        let image = match &cfg.images {
            ContainerImages::Default(i) | ContainerImages::Named { image: i, .. } => i,
            ContainerImages::Map(_) => return None,
        };
        let reference = match (&image.digest, &image.tag) {
            (Some(d), _) => d.as_str().to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => return None,
        };
        return Some((image.ecr()?, reference));
    }
    let repository = file?.repository.as_deref()?;
    let location = ImageRef::parse(&format!("{repository}:x")).ok()?.ecr()?;
    let version = cfg
        .version
        .clone()
        .or_else(|| given(&raw.to).and_then(|to| semver::Version::parse(to.trim_start_matches('v')).ok()))?;
    Some((location, format!("v{version}")))
}

/// The image's revision label. Read-only; a failure is a warning and the run goes on with
/// `GITHUB_SHA`.
pub async fn image_commit(registry: &dyn Registry, location: &EcrLocation, reference: &str) -> Option<String> {
    match registry.revision(location, reference).await {
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
