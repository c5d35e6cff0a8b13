//! Which digest and version a chain run carries: a rollback's recorded release, the `image`
//! input, a `version` tag, or what the previous stage passed.

use super::super::wait::short_td;
use super::super::Ports;
use super::observe::{attempts, history, live_task_definition, tag, Attempt};
use super::refused;
use crate::domain::components::Components;
use crate::domain::image::{Digest, EcrLocation, ImageRef};
use crate::domain::release::Command;
use crate::domain::settings::{ReleaseRun, StagePlan};
use crate::error::Error;

use super::super::rolling::record;

/// The release this run carries, and notes for the log and summary.
pub struct Choice {
    pub digest: Digest,
    pub version: Option<semver::Version>,
    pub notes: Vec<String>,
    /// A multi-image release's components (empty for a single image).
    pub components: Components,
}

pub async fn release(
    run: &ReleaseRun,
    location: &EcrLocation,
    stages: &super::StagePorts<'_, '_>,
) -> Result<Choice, Error> {
    let first = &run.stages[0];
    // The first stage's own ports (its role's), with the registry, as always, the job's.
    let ports = stages.of(&first.cfg);
    let mut notes = Vec::new();
    if run.command == Command::Rollback {
        return rollback_target(&run.rollback_to, first, ports).await;
    }
    if run.multi_image() {
        if let Some(choice) = super::components::given(run, first, ports).await? {
            return Ok(choice);
        }
    }
    if let Some(image) = &run.image {
        let (_, digest) = digest_of(ports, location, image).await?;
        return Ok(Choice {
            digest,
            version: first.cfg.version.clone(),
            notes,
            components: Components::new(),
        });
    }
    if let Some(v) = &first.cfg.version {
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
        return Ok(Choice {
            digest,
            version: Some(v.clone()),
            notes,
            components: Components::new(),
        });
    }
    // Promote what the previous stage passed (validated with the run, before any call).
    let Some(prev) = run.previous.as_ref() else {
        return Err(Error::Image {
            image: String::new(),
            problem: "the first stage needs `image` (the image to start the chain with)".into(),
        });
    };
    let prev_cfg = &prev.cfg;
    // Read with the previous stage's own role (its own account).
    let hist = history(stages.of(prev_cfg), prev_cfg, &prev.name).await?;
    let (d, _, td) = hist.first().cloned().ok_or_else(|| {
        refused(
            &first.name,
            format!(
                "has nothing to promote: no release of {} is recorded as successful; deploy {} first",
                prev.name, prev.name
            ),
        )
    })?;
    notes.push(format!(
        "promoting what {} runs: {d} (recorded on {})",
        prev.name,
        short_td(&td)
    ));
    let digest = Digest::parse(&d).ok_or_else(|| refused(&prev.name, "malformed digest record".into()))?;
    let components = match run.multi_image() {
        true => super::components::recorded(stages.of(prev_cfg), &td, &digest, &prev.name).await?,
        false => Components::new(),
    };
    Ok(Choice {
        digest,
        version: None,
        notes,
        components,
    })
}

/// The image's reference and digest: as given, or its tag resolved in `location`.
pub(super) async fn digest_of(
    ports: &Ports<'_>,
    location: &EcrLocation,
    image: &str,
) -> Result<(ImageRef, Digest), Error> {
    let r = ImageRef::parse(image).map_err(|e| Error::Image {
        image: image.into(),
        problem: e.to_string(),
    })?;
    let digest = match (&r.digest, &r.tag) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => ports.registry.resolve_tag(location, t).await?,
        _ => {
            return Err(Error::Image {
                image: image.into(),
                problem: "has neither tag nor digest".into(),
            })
        }
    };
    Ok((r, digest))
}

/// What `command: rollback` goes back to. `to: previous` undoes the stage's newest release:
/// the newest successful one other than what runs now. When the newest release deployed
/// there did not complete (cancelled, e.g. by this rollback's own workflow, or rolled back)
/// and the stage already runs the good release before it, that release is the answer: there
/// is nothing left to undo, and going one further back would undo a good release nobody asked
/// to undo. A named version or digest is taken as given.
async fn rollback_target(to: &str, first: &StagePlan, ports: &Ports<'_>) -> Result<Choice, Error> {
    let all = attempts(ports, &first.cfg, &first.name).await?;
    let good: Vec<&Attempt> = all.iter().filter(|a| a.succeeded).collect();
    let current = live_task_definition(ports, &first.cfg)
        .await?
        .and_then(|td| tag(&td, record::DIGEST).map(str::to_string));
    let mut notes = Vec::new();
    let pick = if to == "previous" {
        match (all.first(), good.first()) {
            (Some(newest), Some(last_good))
                if !newest.succeeded && current.as_deref() == Some(last_good.digest.as_str()) =>
            {
                notes.push(format!(
                    "the newest release deployed to {stage}, {newest_name}, did not complete (cancelled or rolled back), and {stage} already runs the release before it; nothing to undo. To go further back, run with `to:` set to an older version",
                    stage = first.name,
                    newest_name = newest.version.clone().unwrap_or_else(|| newest.digest.clone()),
                ));
                Some(*last_good)
            }
            _ => good.iter().copied().find(|a| Some(&a.digest) != current.as_ref()),
        }
    } else {
        let want = to.trim_start_matches('v');
        good.iter()
            .copied()
            .find(|a| a.digest == to || a.version.as_deref().map(|v| v.trim_start_matches('v')) == Some(want))
    };
    let Some(a) = pick.cloned() else {
        return Err(refused(
            &first.name,
            format!(
                "has no recorded good release matching `to: {to}` (records: {} successful releases)",
                good.len()
            ),
        ));
    };
    notes.push(format!(
        "rolling {} back to {} ({}, recorded on {})",
        first.name,
        a.version.clone().unwrap_or_else(|| "unversioned".into()),
        a.digest,
        short_td(&a.task_definition)
    ));
    let digest = Digest::parse(&a.digest).ok_or_else(|| {
        refused(
            &first.name,
            format!("record {} has a malformed digest", a.task_definition),
        )
    })?;
    let version = a
        .version
        .and_then(|v| semver::Version::parse(v.trim_start_matches('v')).ok());
    // A multi-image record names its components beside its key.
    let components = super::components::recorded(ports, &a.task_definition, &digest, &first.name)
        .await
        .unwrap_or_default();
    Ok(Choice {
        digest,
        version,
        notes,
        components,
    })
}
