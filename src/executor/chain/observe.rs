//! What the chain reads from AWS: where the images live, what a stage runs, which releases
//! passed it. Reads only (plus the moving ECR tag, which follows a success).

use super::super::rolling::record;
use super::super::{log, Ports};
use super::RESULT;
use crate::domain::image::{Digest, EcrLocation};
use crate::domain::promotion::PreviousNow;
use crate::domain::release::{Previous, Running};
use crate::domain::service::ServiceLifecycle;
use crate::domain::settings::{DeployConfig, GithubContext};
use crate::error::Error;
use crate::ports::TaskDefinitionInfo;

/// The task definition a stage's traffic is served by now (two-slot: the live slot).
pub async fn live_task_definition(ports: &Ports<'_>, cfg: &DeployConfig) -> Result<Option<TaskDefinitionInfo>, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    let live = match &cfg.progressive {
        Some(pc) => {
            let fw = ports.router.forward_weights(&pc.split).await?;
            states
                .iter()
                .filter(|s| s.status == ServiceLifecycle::Active)
                .max_by_key(|s| {
                    s.target_groups
                        .iter()
                        .filter_map(|tg| fw.weight_of(tg))
                        .max()
                        .unwrap_or(0)
                })
        }
        None => states.iter().find(|s| s.status == ServiceLifecycle::Active),
    };
    match live {
        Some(s) => Ok(Some(ports.ecs.describe_task_definition(&s.task_definition).await?)),
        None => Ok(None),
    }
}

pub fn tag<'a>(info: &'a TaskDefinitionInfo, key: &str) -> Option<&'a str> {
    info.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// One release a stage was given, as its task-definition revision records it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub digest: String,
    pub version: Option<String>,
    pub task_definition: String,
    /// The deployment ended in success (a failed, cancelled or interrupted one did not).
    pub succeeded: bool,
}

/// Every release deployed to a stage, newest revision first, with how each ended.
pub async fn attempts(ports: &Ports<'_>, cfg: &DeployConfig, stage: &str) -> Result<Vec<Attempt>, Error> {
    let Some(live) = live_task_definition(ports, cfg).await? else {
        return Ok(vec![]);
    };
    let revisions = ports.ecs.task_definition_history(&live.family, 50).await?;
    Ok(revisions
        .iter()
        .filter(|td| tag(td, record::STAGE) == Some(stage))
        .filter_map(|td| {
            Some(Attempt {
                digest: tag(td, record::DIGEST)?.to_string(),
                version: tag(td, record::VERSION).map(str::to_string),
                task_definition: td.arn.clone(),
                succeeded: tag(td, RESULT) == Some("success"),
            })
        })
        .collect())
}

/// Successful releases recorded for a stage, newest first: (digest, version, task definition).
pub async fn history(
    ports: &Ports<'_>,
    cfg: &DeployConfig,
    stage: &str,
) -> Result<Vec<(String, Option<String>, String)>, Error> {
    Ok(attempts(ports, cfg, stage)
        .await?
        .into_iter()
        .filter(|a| a.succeeded)
        .map(|a| (a.digest, a.version, a.task_definition))
        .collect())
}

/// The pushed commits' messages from the event payload (none for other events).
pub fn commit_messages(context: &GithubContext) -> Vec<String> {
    context
        .event
        .as_ref()
        .and_then(|e| e["commits"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["message"].as_str().map(str::to_string))
        .collect()
}

/// The moving tag `<stage>` follows what the stage runs (not in IMMUTABLE repositories,
/// where the task-definition records are the only record).
pub async fn record_moving_tag(
    ports: &Ports<'_>,
    location: &EcrLocation,
    digest: &Digest,
    stage: &str,
    immutable: bool,
) {
    if immutable {
        log::info(&format!(
            "{} is IMMUTABLE: the moving tag `{stage}` is not moved; the task-definition tags record it",
            location.repository
        ));
        return;
    }
    match ports.registry.retag(location, digest, stage).await {
        Ok(_) => log::info(&format!("ECR tag `{stage}` → {digest}")),
        Err(e) => log::warning("Moving tag not updated", &e.to_string()),
    }
}

/// What a stage's live revision records.
pub async fn running(ports: &Ports<'_>, cfg: &DeployConfig) -> Result<Option<Running>, Error> {
    Ok(live_task_definition(ports, cfg).await?.map(|td| Running {
        digest: tag(&td, record::DIGEST).map(str::to_string),
        version: tag(&td, record::VERSION).and_then(|s| semver::Version::parse(s.trim_start_matches('v')).ok()),
        succeeded: tag(&td, RESULT) == Some("success"),
    }))
}

/// The previous stage as provenance sees it: what passed it, and what its traffic is on now.
pub async fn previous(ports: &Ports<'_>, cfg: &DeployConfig, name: &str) -> Result<Previous, Error> {
    let hist = history(ports, cfg, name).await?;
    Ok(Previous {
        name: name.to_string(),
        now: traffic_now(ports, cfg).await?,
        passed: hist.into_iter().map(|(d, _, _)| d).collect(),
    })
}

/// What a stage's traffic is on now, by its records: each serving revision's digest, and how
/// its deployment ended when one revision serves it all.
async fn traffic_now(ports: &Ports<'_>, cfg: &DeployConfig) -> Result<PreviousNow, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    let active: Vec<_> = states.iter().filter(|s| s.status == ServiceLifecycle::Active).collect();
    let serving: Vec<(&str, u8)> = match &cfg.progressive {
        Some(pc) => {
            let fw = ports.router.forward_weights(&pc.split).await?;
            active
                .iter()
                .map(|s| {
                    let w = s
                        .target_groups
                        .iter()
                        .filter_map(|tg| fw.weight_of(tg))
                        .max()
                        .unwrap_or(0);
                    (s.task_definition.as_str(), w.clamp(0, 100) as u8)
                })
                .filter(|(_, w)| *w > 0)
                .collect()
        }
        None => active
            .iter()
            .map(|s| (s.task_definition.as_str(), 100))
            .take(1)
            .collect(),
    };
    let mut described = Vec::new();
    for (td, weight) in serving {
        described.push((ports.ecs.describe_task_definition(td).await?, weight));
    }
    let digest = |td: &TaskDefinitionInfo| tag(td, record::DIGEST).unwrap_or("an unrecorded revision").to_string();
    Ok(match described.as_slice() {
        [] => PreviousNow::Unrecorded,
        [(td, _)] if tag(td, record::DIGEST).is_none() => PreviousNow::Unrecorded,
        [(td, _)] => PreviousNow::Whole {
            digest: digest(td),
            // `pending`: registered, no end recorded yet.
            result: tag(td, RESULT)
                .filter(|r| *r != crate::domain::interrupted::PENDING)
                .map(str::to_string),
        },
        many => PreviousNow::Split(many.iter().map(|(td, w)| (digest(td), *w)).collect()),
    })
}
