//! The chain's stages as validated configuration: every stage the run may touch, and the stage
//! before the first one (provenance reads it), validated before any AWS call.

use super::chain_file::{ChainFile, StageFile};
use super::inputs::{given, RawInputs};
use super::validate::{validate, InputError};
use super::{DeployConfig, GithubContext};
use crate::domain::image::ImageRef;
pub use crate::domain::release::Command;
pub use crate::domain::settings::{ReleaseRun, StagePlan};

/// Validates every stage the run may touch, and the stage provenance reads, before any AWS
/// call: the run as one value.
pub fn release_run(
    file: &ChainFile,
    raw: &RawInputs,
    context: &GithubContext,
    region_env: Option<String>,
) -> Result<ReleaseRun, Vec<InputError>> {
    let command = match given(&raw.command).unwrap_or("deploy") {
        "deploy" => Command::Deploy,
        "rollback" => Command::Rollback,
        "plan" => Command::Plan,
        other => {
            return Err(vec![InputError::new(
                "command",
                format!("`{}` is not a command", super::validate::printable(other)),
                "use deploy, rollback or plan",
            )]);
        }
    };
    let start = match given(&raw.stage) {
        Some(s) => s,
        None if file.stages.len() == 1 => file.stages[0].name.as_str(),
        None => {
            let names: Vec<&str> = file.stages.iter().map(|s| s.name.as_str()).collect();
            return Err(vec![InputError::new(
                "stage",
                "is required with a config file",
                format!("name the stage to run: one of {}", names.join(", ")),
            )]);
        }
    };
    let Some(i0) = file.index(start) else {
        let names: Vec<&str> = file.stages.iter().map(|s| s.name.as_str()).collect();
        return Err(vec![InputError::new(
            "stage",
            format!(
                "`{}` is not a stage of the config file",
                super::validate::printable(start)
            ),
            format!("use one of {}", names.join(", ")),
        )]);
    };
    let i1 = match given(&raw.until) {
        None => i0,
        Some(u) => match file.index(u) {
            Some(i) if i >= i0 => i,
            Some(_) => {
                return Err(vec![InputError::new(
                    "until",
                    format!("`{u}` comes before `{start}`"),
                    "name a later stage (or leave it empty)",
                )])
            }
            None => {
                return Err(vec![InputError::new(
                    "until",
                    format!("`{}` is not a stage", super::validate::printable(u)),
                    "name a later stage of the config file",
                )])
            }
        },
    };
    if command != Command::Deploy && i1 != i0 {
        return Err(vec![InputError::new(
            "until",
            "only applies to command deploy",
            "leave `until` empty for rollback and plan",
        )]);
    }
    // Inputs beyond the run's own are settings of the stage named by `stage` only.
    let others = super::stage_scope::run_wide(raw).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    if i1 > i0 {
        errors.extend(super::stage_scope::topology_beside_until(
            raw,
            start,
            &file.stages[i1].name,
        ));
    }
    let mut plans = Vec::new();
    for (i, stage) in file.stages.iter().enumerate().take(i1 + 1).skip(i0) {
        let mut stage_raw = match stage.overlay(if i == i0 { raw } else { &others }) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        stage_raw.stage = Some(stage.name.clone());
        // The image is decided at run time (a digest); validate the rest with a stand-in.
        if given(&stage_raw.image).is_none() && given(&stage_raw.containers).is_none() && file.multi_image() {
            stage_raw.containers = Some(file.stand_in_containers());
        } else if given(&stage_raw.image).is_none() && given(&stage_raw.containers).is_none() {
            let repo = file
                .repository
                .clone()
                .unwrap_or_else(|| "registry.invalid/app".to_string());
            stage_raw.image = Some(format!("{repo}:chain"));
        }
        if stage.name != start {
            stage_raw.version = None;
        }
        let validated = validate(&stage_raw, context.clone(), region_env.clone()).and_then(|mut cfg| {
            with_gates(&mut cfg, file, stage)?;
            Ok(cfg)
        });
        match validated {
            Ok(cfg) => plans.push(stage_plan(file, stage, fast_rollback(command, cfg))),
            Err(mut e) => {
                for err in &mut e {
                    err.problem = format!("(stage {}) {}", super::validate::printable(&stage.name), err.problem);
                }
                errors.extend(e);
            }
        }
    }
    let repository = repository(file, raw);
    let stand_in = repository
        .as_ref()
        .map_or("registry.invalid/app", |(r, _)| r.name.as_str());
    // Provenance reads the stage before the first one: it must validate too, before any call.
    let mut previous = None;
    if command == Command::Deploy && i0 > 0 {
        let prev = &file.stages[i0 - 1];
        match stage_config(file, &others, i0 - 1, stand_in, context, region_env.clone()) {
            Ok(cfg) => previous = Some(stage_plan(file, prev, cfg)),
            Err(e) => {
                for mut err in e {
                    err.problem = format!(
                        "(stage {}, read for provenance) {}",
                        super::validate::printable(&prev.name),
                        err.problem
                    );
                    errors.push(err);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ReleaseRun {
        command,
        stages: plans,
        previous,
        image: given(&raw.image).map(str::to_string),
        component_images: given(&raw.containers)
            .filter(|s| s.contains('='))
            .map(|s| {
                super::parse::list(s)
                    .iter()
                    .filter_map(|p| {
                        p.split_once('=')
                            .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        rollback_to: given(&raw.to).unwrap_or("previous").to_string(),
        // validate() refused any other value of every stage above.
        allow_unverified: given(&raw.allow_unverified)
            .and_then(|v| super::parse::boolean(v).ok())
            .unwrap_or(false),
        repository,
        components: file.images.clone(),
        resume_workflow: file.resume_workflow.clone().unwrap_or_else(|| "promote.yml".into()),
    })
}

/// A rollback goes back to a release the stage already judged good: on two slots it moves all
/// traffic at once (the old slot is often still warm from `keep-old-for`) instead of walking
/// the canary's steps and bakes again, so prod is back in seconds, not the canary's half hour.
fn fast_rollback(command: Command, mut cfg: DeployConfig) -> DeployConfig {
    if command == Command::Rollback && cfg.strategy.uses_two_slots() {
        cfg.strategy = crate::domain::strategy::Strategy::AllAtOnce;
    }
    cfg
}

fn stage_plan(file: &ChainFile, stage: &StageFile, cfg: DeployConfig) -> StagePlan {
    let index = file.index(&stage.name).unwrap_or(0);
    StagePlan {
        name: stage.name.clone(),
        environment: stage.environment().to_string(),
        version_auto: stage.version.as_deref() == Some("auto"),
        cfg,
        index,
        is_last: index + 1 == file.stages.len(),
        url: stage.url.clone(),
        aws_role: stage.aws_role.clone(),
    }
}

/// The repository the chain's images live in: the `image` input's, `repository:`, or (a
/// multi-image chain, whose versions live on every component) the first component's.
fn repository(file: &ChainFile, raw: &RawInputs) -> Option<(ImageRef, crate::domain::image::EcrLocation)> {
    let from_input = given(&raw.image).and_then(|i| ImageRef::parse(i).ok());
    let name = from_input
        .map(|r| r.name)
        .or_else(|| file.repository.clone())
        .or_else(|| file.images.values().next().cloned())?;
    let r = ImageRef {
        name,
        tag: Some("x".into()),
        digest: None,
    };
    let loc = r.ecr()?;
    Some((r, loc))
}

/// The stage's custom metric gates on its two-slot config. They judge bake steps: the file's
/// apply to its two-slot stages, and a rolling stage with gates of its own is refused.
fn with_gates(cfg: &mut DeployConfig, file: &ChainFile, stage: &StageFile) -> Result<(), Vec<InputError>> {
    let gates = super::metric_gates::gates(&file.metrics, &stage.metrics, &stage.name).map_err(|e| vec![e])?;
    let none = gates.is_empty() || (stage.metrics.is_empty() && cfg.progressive.is_none());
    if let Some(n) = cfg.native.as_mut() {
        n.analysis.gates = gates.clone(); // judged if the service turns out to be ECS-native
    }
    match (&mut cfg.progressive, none) {
        (_, true) => Ok(()),
        (Some(pc), false) => {
            pc.gates = gates;
            Ok(())
        }
        (None, false) => Err(vec![InputError::new(
            "config",
            format!(
                "stage `{}` has metric gates but deploys with {}",
                super::validate::printable(&stage.name),
                cfg.strategy.name()
            ),
            "metric gates judge bake steps: give the stage a canary, linear or blue-green strategy, or remove its gates",
        )]),
    }
}

/// Stage `index` of the file as the chain reads it for provenance: its entry under the step's
/// inputs, with a stand-in image from `repository` (a stage's image is decided at run time).
fn stage_config(
    file: &ChainFile,
    raw: &RawInputs,
    index: usize,
    repository: &str,
    context: &GithubContext,
    region_env: Option<String>,
) -> Result<DeployConfig, Vec<InputError>> {
    let stage = &file.stages[index];
    let mut stage_raw = stage.overlay(raw).map_err(|e| vec![e])?;
    stage_raw.stage = Some(stage.name.clone());
    if file.multi_image() {
        stage_raw.image = None;
        stage_raw.containers = Some(file.stand_in_containers());
    } else {
        stage_raw.image = Some(format!("{repository}:chain"));
    }
    stage_raw.version = None;
    validate(&stage_raw, context.clone(), region_env)
}
