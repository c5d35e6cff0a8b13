//! The promotion chain dev → staging → prod: one digest walks the stages; each stage is a
//! normal deployment (rolling or two-slot); records live in AWS (task-definition tags and
//! moving ECR tags), so a later job — a promotion, a resume, a rollback — reads them back.
//!
//! Also `command: rollback` (a previous good release through the same machinery) and
//! `command: plan` (everything decided, nothing changed).

use super::rolling::record;
use super::wait::short_td;
use super::{log, progressive, rolling, Cancel, DeployReport, Ports};
use crate::config::chain_file::ChainFile;
use crate::config::inputs::{given, RawInputs};
use crate::config::validate::{validate, ContainerImages, InputError};
use crate::config::{DeployConfig, GithubContext};
use crate::domain::image::{Digest, EcrLocation, ImageRef};
use crate::domain::outcome::OutcomeKind;
use crate::domain::promotion::{bump_of, check_provenance, check_version, next_version, releases};
use crate::error::Error;
use crate::ports::{Gates, Retag, StageStart, TaskDefinitionInfo};

/// Tag recording how a revision's deployment ended.
pub const RESULT: &str = "ecs-deploy:result";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Deploy,
    Rollback,
    Plan,
}

/// A validated stage, ready to run once its image is known.
#[derive(Debug, Clone)]
pub struct StagePlan {
    pub name: String,
    pub environment: String,
    pub version_auto: bool,
    pub cfg: DeployConfig,
}

/// What a chain run did.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub kind: OutcomeKind,
    /// Each stage that ran, with its report.
    pub stages: Vec<(String, DeployReport)>,
    pub digest: Option<String>,
    pub version: Option<String>,
    pub next_stage: Option<String>,
    /// Human lines for the log, summary and outputs (gates, plan, notes).
    pub message: Vec<String>,
    pub reason: Option<String>,
}

/// Validates every stage the run may touch, before any AWS call.
pub fn plan_stages(
    file: &ChainFile,
    raw: &RawInputs,
    context: &GithubContext,
    region_env: Option<String>,
) -> Result<(Command, Vec<StagePlan>), Vec<InputError>> {
    let command = match given(&raw.command).unwrap_or("deploy") {
        "deploy" => Command::Deploy,
        "rollback" => Command::Rollback,
        "plan" => Command::Plan,
        other => {
            return Err(vec![InputError::new(
                "command",
                format!("`{}` is not a command", crate::config::validate::printable(other)),
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
                crate::config::validate::printable(start)
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
                    format!("`{}` is not a stage", crate::config::validate::printable(u)),
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
    let mut errors = Vec::new();
    let mut plans = Vec::new();
    for stage in &file.stages[i0..=i1] {
        let mut stage_raw = stage.overlay(raw);
        stage_raw.stage = Some(stage.name.clone());
        // The image is decided at run time (a digest); validate the rest with a stand-in.
        if given(&stage_raw.image).is_none() && given(&stage_raw.containers).is_none() {
            let repo = file
                .repository
                .clone()
                .unwrap_or_else(|| "registry.invalid/app".to_string());
            stage_raw.image = Some(format!("{repo}:chain"));
        }
        if stage.name != start {
            stage_raw.version = None;
        }
        match validate(&stage_raw, context.clone(), region_env.clone()) {
            Ok(cfg) => plans.push(StagePlan {
                name: stage.name.clone(),
                environment: stage.environment().to_string(),
                version_auto: stage.version.as_deref() == Some("auto"),
                cfg,
            }),
            Err(mut e) => {
                for err in &mut e {
                    err.problem = format!(
                        "(stage {}) {}",
                        crate::config::validate::printable(&stage.name),
                        err.problem
                    );
                }
                errors.extend(e);
            }
        }
    }
    if errors.is_empty() {
        Ok((command, plans))
    } else {
        Err(errors)
    }
}

/// The repository the chain's images live in.
fn repository(file: &ChainFile, raw: &RawInputs) -> Option<(ImageRef, EcrLocation)> {
    let from_input = given(&raw.image).and_then(|i| ImageRef::parse(i).ok());
    let name = from_input.map(|r| r.name).or_else(|| file.repository.clone())?;
    let r = ImageRef {
        name,
        tag: Some("x".into()),
        digest: None,
    };
    let loc = r.ecr()?;
    Some((r, loc))
}

/// The task definition a stage's traffic is served by now (two-slot: the live slot).
async fn live_task_definition(ports: &Ports<'_>, cfg: &DeployConfig) -> Result<Option<TaskDefinitionInfo>, Error> {
    let states = ports.ecs.describe_services(&cfg.cluster, &cfg.services).await?;
    let live = match &cfg.progressive {
        Some(pc) => {
            let fw = ports.router.forward_weights(&pc.split).await?;
            states.iter().filter(|s| s.status == "ACTIVE").max_by_key(|s| {
                s.target_groups
                    .iter()
                    .filter_map(|tg| fw.weight_of(tg))
                    .max()
                    .unwrap_or(0)
            })
        }
        None => states.iter().find(|s| s.status == "ACTIVE"),
    };
    match live {
        Some(s) => Ok(Some(ports.ecs.describe_task_definition(&s.task_definition).await?)),
        None => Ok(None),
    }
}

fn tag<'a>(info: &'a TaskDefinitionInfo, key: &str) -> Option<&'a str> {
    info.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Successful releases recorded for a stage, newest first: (digest, version, task definition).
async fn history(
    ports: &Ports<'_>,
    cfg: &DeployConfig,
    stage: &str,
) -> Result<Vec<(String, Option<String>, String)>, Error> {
    let Some(live) = live_task_definition(ports, cfg).await? else {
        return Ok(vec![]);
    };
    let revisions = ports.ecs.task_definition_history(&live.family, 50).await?;
    Ok(revisions
        .iter()
        .filter(|td| tag(td, record::STAGE) == Some(stage) && tag(td, RESULT) == Some("success"))
        .filter_map(|td| {
            Some((
                tag(td, record::DIGEST)?.to_string(),
                tag(td, record::VERSION).map(str::to_string),
                td.arn.clone(),
            ))
        })
        .collect())
}

/// The pushed commits' messages from the event payload (none for other events).
pub fn commit_messages(context: &GithubContext) -> Vec<String> {
    context
        .event()
        .and_then(|e| e["commits"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["message"].as_str().map(str::to_string))
        .collect()
}

fn refused(stage: &str, problem: String) -> Error {
    Error::Preflight {
        cluster: String::new(),
        service: format!("stage {stage}"),
        problem,
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    file: &ChainFile,
    raw: &RawInputs,
    command: Command,
    plans: &[StagePlan],
    ports: &Ports<'_>,
    gates: &dyn Gates,
    cancel: &mut Cancel,
) -> Result<ChainReport, Error> {
    let first = &plans[0];
    let (repo_ref, location) = repository(file, raw).ok_or_else(|| Error::Image {
        image: given(&raw.image).unwrap_or("").to_string(),
        problem: "the chain needs an ECR repository: set `repository:` in the config file or give an ECR `image`"
            .into(),
    })?;
    let allow_unverified = given(&raw.allow_unverified)
        .map(|v| crate::config::parse::boolean(v).unwrap_or(false))
        .unwrap_or(false);
    let start_index = file.index(&first.name).unwrap_or(0);

    // 1. Which digest and version.
    let mut notes = Vec::new();
    let (digest, mut version): (Digest, Option<semver::Version>) = if command == Command::Rollback {
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
                .find(|(_, v, _)| v.as_deref().map(|v| v.trim_start_matches('v')) == Some(want))
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
        (
            digest,
            v.and_then(|v| semver::Version::parse(v.trim_start_matches('v')).ok()),
        )
    } else if let Some(image) = given(&raw.image) {
        let r = ImageRef::parse(image).map_err(|e| Error::Image {
            image: image.into(),
            problem: e.to_string(),
        })?;
        let d = match (&r.digest, &r.tag) {
            (Some(d), _) => d.clone(),
            (None, Some(t)) => ports.registry.resolve_tag(&location, t).await?,
            _ => {
                return Err(Error::Image {
                    image: image.into(),
                    problem: "has neither tag nor digest".into(),
                })
            }
        };
        (d, first.cfg.version.clone())
    } else if let Some(v) = &first.cfg.version {
        let d = ports
            .registry
            .resolve_tag(&location, &format!("v{v}"))
            .await
            .map_err(|e| {
                refused(
                    &first.name,
                    format!("version v{v} is not a tag in {}: {e}", location.repository),
                )
            })?;
        (d, Some(v.clone()))
    } else if start_index > 0 {
        // Promote what the previous stage passed.
        let prev = &file.stages[start_index - 1];
        let prev_raw = prev.overlay(raw);
        let mut prev_raw = prev_raw;
        prev_raw.stage = Some(prev.name.clone());
        prev_raw.image = Some(format!("{}:chain", repo_ref.name));
        prev_raw.version = None;
        let prev_cfg = validate(&prev_raw, first.cfg.context.clone(), Some(first.cfg.region.clone())).map_err(|e| {
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
        (
            Digest::parse(&d).ok_or_else(|| refused(&prev.name, "malformed digest record".into()))?,
            None,
        )
    } else {
        return Err(Error::Image {
            image: String::new(),
            problem: "the first stage needs `image` (the image to start the chain with)".into(),
        });
    };

    let mut report = ChainReport {
        kind: OutcomeKind::Success,
        stages: vec![],
        digest: Some(digest.to_string()),
        version: None,
        next_stage: None,
        message: notes,
        reason: None,
    };
    let tags = ports.registry.tags(&location).await?;
    let immutable = ports.registry.immutable(&location).await?;
    if version.is_none() && plans.iter().any(|p| p.version_auto) {
        // Idempotent: a digest that already has a release version keeps it.
        let existing = releases(tags.iter().filter(|(_, d)| *d == digest).map(|(t, _)| t.as_str()));
        version = Some(match existing.last() {
            Some(v) => v.clone(),
            None => next_version(
                &releases(tags.iter().map(|(t, _)| t.as_str())),
                bump_of(&commit_messages(&first.cfg.context)),
            ),
        });
    }
    report.version = version.as_ref().map(|v| format!("v{v}"));

    // 2. Walk the stages.
    for (i, plan) in plans.iter().enumerate() {
        let index = file.index(&plan.name).unwrap_or(0);
        if i > 0 {
            let gated = match gates.protection(&plan.environment).await {
                Ok(Some(p)) => p.gated(),
                Ok(None) => false,
                Err(e) => {
                    log::warning(
                        "Approval gate unknown",
                        &format!("{e}; stopping before {} to be safe", plan.name),
                    );
                    true
                }
            };
            if gated {
                let workflow = file.resume_workflow.clone().unwrap_or_else(|| "promote.yml".into());
                let v = report.version.clone().unwrap_or_else(|| digest.to_string());
                report.kind = OutcomeKind::AwaitingApproval;
                report.next_stage = Some(plan.name.clone());
                report.reason = Some(format!("{} waits for approval", plan.name));
                report.message.push(format!(
                    "Stopped before {stage}: its environment `{env}` requires approval. To resume, run the `{workflow}` workflow (Actions → {workflow} → Run workflow) with stage={stage} and version={v}; GitHub asks {env}'s reviewers when that job starts.",
                    stage = plan.name,
                    env = plan.environment,
                ));
                return Ok(report);
            }
        }
        if command == Command::Plan {
            report
                .message
                .extend(plan_lines(ports, plan, &location, &repo_ref, &digest, report.version.as_deref()).await);
            continue;
        }
        // Provenance: only what passed the previous stage enters this one.
        if index > 0 && command == Command::Deploy {
            let prev = &file.stages[index - 1];
            let mut prev_raw = prev.overlay(raw);
            prev_raw.stage = Some(prev.name.clone());
            prev_raw.image = Some(format!("{}:chain", repo_ref.name));
            prev_raw.version = None;
            if let Ok(prev_cfg) = validate(&prev_raw, plan.cfg.context.clone(), Some(plan.cfg.region.clone())) {
                let hist = history(ports, &prev_cfg, &prev.name).await?;
                let runs: Vec<String> = hist.iter().take(1).map(|(d, _, _)| d.clone()).collect();
                let passed = hist.iter().any(|(d, _, _)| *d == digest.to_string());
                if let Err(refusal) = check_provenance(digest.as_str(), &prev.name, &runs, passed) {
                    if allow_unverified {
                        log::warning("Provenance overridden", &format!("allow-unverified: true — {refusal}"));
                    } else {
                        return Err(refused(&plan.name, refusal.to_string()));
                    }
                }
            }
        }
        // Versions: no pre-release in the last stage, no silent downgrade.
        let current = live_task_definition(ports, &plan.cfg).await?;
        if let (Some(v), Some(cur)) = (&version, current.as_ref()) {
            let cur_v = tag(cur, record::VERSION).and_then(|s| semver::Version::parse(s.trim_start_matches('v')).ok());
            check_version(
                &plan.name,
                v,
                cur_v.as_ref(),
                index + 1 == file.stages.len(),
                command == Command::Rollback,
            )
            .map_err(|r| refused(&plan.name, r.to_string()))?;
        }
        // A re-run: the stage already runs this digest, recorded as a success.
        if let Some(cur) = &current {
            if tag(cur, record::DIGEST) == Some(digest.as_str())
                && tag(cur, RESULT) == Some("success")
                && command == Command::Deploy
            {
                log::info(&format!(
                    "{} already runs {digest} (recorded success on {}); nothing to do",
                    plan.name,
                    short_td(&cur.arn)
                ));
                report
                    .message
                    .push(format!("{}: already on this digest, skipped", plan.name));
                record_moving_tag(ports, &location, &digest, &plan.name, immutable).await;
                continue;
            }
        }
        if let Some(v) = &version {
            match ports.registry.retag(&location, &digest, &format!("v{v}")).await? {
                Retag::ImmutableElsewhere => {
                    return Err(refused(
                        &plan.name,
                        format!(
                            "tag v{v} already names another image in {}; versions never move",
                            location.repository
                        ),
                    ))
                }
                Retag::Created => log::info(&format!("tagged {digest} as v{v}")),
                Retag::AlreadyThere => {}
            }
        }
        // Deploy the digest with the stage's own settings.
        let mut cfg = plan.cfg.clone();
        cfg.images = ContainerImages::Default(ImageRef {
            name: repo_ref.name.clone(),
            tag: None,
            digest: Some(digest.clone()),
        });
        cfg.version = version.clone();
        let stage_ports = Ports {
            stage: plan.name.clone(),
            ..*ports
        };
        log::info(&format!("── stage {} ({}) ──", plan.name, cfg.strategy.name()));
        ports
            .reporter
            .started(&StageStart {
                stage: plan.name.clone(),
                strategy: cfg.strategy.name().to_string(),
                cluster: cfg.cluster.clone(),
                services: cfg.services.clone(),
                image: format!("{}@{digest}", repo_ref.name),
                version: cfg.version.as_ref().map(|v| format!("v{v}")),
                environment_url: file.stages.get(index).and_then(|s| s.url.clone()),
            })
            .await;
        let deployed = match &cfg.progressive {
            Some(pc) => progressive::deploy(&cfg, pc, &stage_ports, cancel).await,
            None => rolling::deploy(&cfg, &stage_ports, cancel).await,
        };
        let result = match deployed {
            Ok(r) => r,
            Err(e) => {
                // The stage's check run, comment row and deployment end too, not only the log.
                let md = format!(
                    "## ❌ ecs-deploy to {}: failure\n\n{}\n",
                    crate::github::markdown::escape(&plan.name),
                    crate::github::markdown::escape(&e.to_string())
                );
                ports.reporter.failed_early(&plan.name, &e.to_string(), &md).await;
                return Err(e);
            }
        };
        let kind = result.outcome.kind;
        if kind == OutcomeKind::Success {
            for s in &result.outcome.services {
                if let Some(td) = &s.new_task_definition {
                    if let Err(e) = ports
                        .ecs
                        .tag_service(td, &[(RESULT.to_string(), "success".to_string())])
                        .await
                    {
                        log::warning("Record not written", &format!("could not tag {td} as a success: {e}"));
                    }
                }
            }
            record_moving_tag(ports, &location, &digest, &plan.name, immutable).await;
        }
        report.stages.push((plan.name.clone(), result));
        if kind != OutcomeKind::Success {
            report.kind = kind;
            report.reason = report.stages.last().and_then(|(_, r)| r.outcome.reason.clone());
            return Ok(report);
        }
    }
    if command == Command::Plan {
        report.kind = OutcomeKind::Planned;
    }
    Ok(report)
}

/// The moving tag `<stage>` follows what the stage runs (not in IMMUTABLE repositories,
/// where the task-definition records are the only record).
async fn record_moving_tag(ports: &Ports<'_>, location: &EcrLocation, digest: &Digest, stage: &str, immutable: bool) {
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

/// What `command: plan` prints for one stage (reads only).
async fn plan_lines(
    ports: &Ports<'_>,
    plan: &StagePlan,
    location: &EcrLocation,
    repo_ref: &ImageRef,
    digest: &Digest,
    version: Option<&str>,
) -> Vec<String> {
    let cfg = &plan.cfg;
    let mut lines = vec![format!(
        "stage {} (environment {}): {} on cluster {}, services {}",
        plan.name,
        plan.environment,
        cfg.strategy.name(),
        cfg.cluster,
        cfg.services.join(", ")
    )];
    lines.push(format!(
        "  image {}@{digest}{}",
        location.repository,
        version.map(|v| format!(" as {v}")).unwrap_or_default()
    ));
    match live_task_definition(ports, cfg).await {
        Ok(Some(td)) => {
            for (name, image) in &td.containers {
                lines.push(format!(
                    "  task definition {}: container {name}: {image} → {}",
                    short_td(&td.arn),
                    if crate::domain::task_definition::repository_of(image).ends_with(&location.repository) {
                        format!("…@{digest}")
                    } else {
                        "unchanged".to_string()
                    }
                ));
            }
        }
        Ok(None) => lines.push("  (no active service found to diff against)".into()),
        Err(e) => lines.push(format!("  (could not read the current task definition: {e})")),
    }
    // The same plan the deploy follows, step for step.
    let image = format!("{}@{digest}", repo_ref.name);
    let plan = match &cfg.progressive {
        Some(pc) => super::two_slot::plan_now(cfg, pc, ports, &image).await,
        None => Ok(crate::domain::plan::rolling(&cfg.services, &image)),
    };
    match plan {
        Ok(plan) => {
            lines.push(format!("  plan {} ({} steps):", plan.hash(), plan.steps.len()));
            lines.extend(plan.lines().iter().map(|l| format!("    {l}")));
        }
        Err(e) => lines.push(format!(
            "  (could not read the traffic topology to plan the steps: {e})"
        )),
    }
    lines
}
