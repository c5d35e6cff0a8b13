//! Which digest and version a chain run carries: a rollback's recorded release, the `image`
//! input, a `version` tag, or what the previous stage passed.

use super::super::wait::short_td;
use super::super::Ports;
use super::observe::{history, live_task_definition, tag};
use super::refused;
use crate::config::chain_file::ChainFile;
use crate::config::inputs::{given, RawInputs};
use crate::config::stages::stage_config;
use crate::config::stages::{Command, StagePlan};
use crate::domain::image::{Digest, EcrLocation, ImageRef};
use crate::error::Error;

use super::super::rolling::record;

/// The release this run carries, and notes for the log and summary.
pub struct Choice {
    pub digest: Digest,
    pub version: Option<semver::Version>,
    pub notes: Vec<String>,
}

pub async fn release(
    file: &ChainFile,
    raw: &RawInputs,
    command: Command,
    first: &StagePlan,
    repo_ref: &ImageRef,
    location: &EcrLocation,
    ports: &Ports<'_>,
) -> Result<Choice, Error> {
    let start_index = file.index(&first.name).unwrap_or(0);
    let mut notes = Vec::new();
    if command == Command::Rollback {
        let hist = history(ports, &first.cfg, &first.name).await?;
        let current = live_task_definition(ports, &first.cfg)
            .await?
            .and_then(|td| tag(&td, record::DIGEST).map(str::to_string));
        let to = given(&raw.to).unwrap_or("previous");
        let pick = if to == "previous" {
            hist.iter().find(|(d, _, _)| Some(d) != current.as_ref())
        } else {
            let want = to.trim_start_matches('v');
            hist.iter()
                .find(|(d, v, _)| d.as_str() == to || v.as_deref().map(|v| v.trim_start_matches('v')) == Some(want))
        };
        let Some((d, v, td)) = pick.cloned() else {
            return Err(refused(
                &first.name,
                format!(
                    "has no recorded good release matching `to: {to}` (records: {} successful releases)",
                    hist.len()
                ),
            ));
        };
        notes.push(format!(
            "rolling {} back to {} ({d}, recorded on {})",
            first.name,
            v.clone().unwrap_or_else(|| "unversioned".into()),
            short_td(&td)
        ));
        let digest =
            Digest::parse(&d).ok_or_else(|| refused(&first.name, format!("record {td} has a malformed digest")))?;
        let version = v.and_then(|v| semver::Version::parse(v.trim_start_matches('v')).ok());
        return Ok(Choice { digest, version, notes });
    }
    if let Some(image) = given(&raw.image) {
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
        return Ok(Choice {
            digest,
            version: first.cfg.version.clone(),
            notes,
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
        });
    }
    if start_index == 0 {
        return Err(Error::Image {
            image: String::new(),
            problem: "the first stage needs `image` (the image to start the chain with)".into(),
        });
    }
    // Promote what the previous stage passed.
    let prev = &file.stages[start_index - 1];
    let region = Some(first.cfg.region.clone());
    let prev_cfg =
        stage_config(file, raw, start_index - 1, &repo_ref.name, &first.cfg.context, region).map_err(|e| {
            refused(
                &prev.name,
                e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            )
        })?;
    let hist = history(ports, &prev_cfg, &prev.name).await?;
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
    Ok(Choice {
        digest: Digest::parse(&d).ok_or_else(|| refused(&prev.name, "malformed digest record".into()))?,
        version: None,
        notes,
    })
}
