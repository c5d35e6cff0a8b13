//! The promotion chain dev → staging → prod: one digest walks the stages; each stage is a
//! normal deployment (rolling or two-slot); records live in AWS (task-definition tags and
//! moving ECR tags), so a later job (a promotion, a resume, a rollback) reads them back.
//!
//! Also `command: rollback` (a previous good release through the same machinery) and
//! `command: plan` (everything decided, nothing changed). Whether a release enters a stage is
//! decided by the pure `domain::release::decide_stage`; this module reads and acts.

mod choose;
mod components;
mod observe;
mod print;
mod stage;

use super::{log, Cancel, Ports};
use crate::domain::image::Digest;
use crate::domain::outcome::OutcomeKind;
use crate::domain::promotion::{bump_of, next_version, releases};
use crate::domain::release::{decide_stage, Command, StageDecision, StageView};
use crate::domain::settings::{DeployConfig, ReleaseRun, StagePlan};
use crate::error::Error;
use crate::ports::{Gates, Retag};
pub use observe::commit_messages;
pub use stage::record_end;
use stage::{deploy_stage, record_stage_tags};

/// Tag recording how a revision's deployment ended.
pub const RESULT: &str = "ecs-deploy:result";

pub use crate::domain::report::ChainReport;

/// The ports of each stage: a stage with `role-to-assume` acts through its role's adapters
/// (another account); the others, and ECR always, through the job's own.
pub struct StagePorts<'s, 'a> {
    pub default: &'s Ports<'a>,
    pub by_role: &'s std::collections::BTreeMap<String, Ports<'a>>,
}

impl<'s, 'a> StagePorts<'s, 'a> {
    pub fn of(&self, cfg: &DeployConfig) -> &'s Ports<'a> {
        cfg.role_to_assume
            .as_ref()
            .and_then(|r| self.by_role.get(r))
            .unwrap_or(self.default)
    }
}

fn refused(stage: &str, problem: String) -> Error {
    Error::Refused {
        stage: stage.to_string(),
        problem,
    }
}

/// Runs the chain. Never an error: whatever stops it is in the report, with every stage that
/// already ran, so each stage's reports are closed on success and on failure alike.
pub async fn run(run: &ReleaseRun, ports: &StagePorts<'_, '_>, gates: &dyn Gates, cancel: &mut Cancel) -> ChainReport {
    let mut report = ChainReport::default();
    let mut at = run.stages[0].name.clone();
    if let Err(e) = walk(run, ports, gates, cancel, &mut report, &mut at).await {
        report.kind = OutcomeKind::Failure;
        report.reason = Some(e.to_string());
        report.failed_before_start = Some((at, e.to_string()));
        report.failed_after_change = e.after_change();
    }
    report
}

async fn walk(
    run: &ReleaseRun,
    stages: &StagePorts<'_, '_>,
    gates: &dyn Gates,
    cancel: &mut Cancel,
    report: &mut ChainReport,
    at: &mut String,
) -> Result<(), Error> {
    let (command, plans) = (run.command, &run.stages);
    let first = &plans[0];
    // ECR (the registry) is always reached with the job's own credentials.
    let ports = stages.default;
    let (repo_ref, location) = run.repository.clone().ok_or_else(|| Error::Image {
        image: run.image.clone().unwrap_or_default(),
        problem: "the chain needs an ECR repository: set `repository:` in the config file or give an ECR `image`"
            .into(),
    })?;

    // 1. Which digest and version.
    let choice = choose::release(run, &location, stages).await?;
    let digest = choice.digest;
    let mut version = choice.version;
    let release = choice.components;
    if run.multi_image() && release.is_empty() {
        return Err(refused(
            &first.name,
            "has no components for this multi-image release: give `containers` as component=image pairs, or a `version`".into(),
        ));
    }
    // A version tag names image digests: a multi-image release's is its first component's.
    let version_key = release.values().next().cloned().unwrap_or_else(|| digest.clone());
    report.kind = OutcomeKind::Success;
    report.digest = Some(digest.to_string());
    report.message = choice.notes;
    let tags = ports.registry.tags(&location).await?;
    // Whether moving tags may go in the repository; a plan moves none, so it does not ask (a
    // flat-input plan needs no more than the `core` IAM piece).
    let immutable = command == Command::Plan || ports.registry.immutable(&location).await?;
    if version.is_none() && plans.iter().any(|p| p.version_auto) {
        // Idempotent: a digest that already has a release version keeps it.
        let existing = releases(tags.iter().filter(|(_, d)| *d == version_key).map(|(t, _)| t.as_str()));
        version = Some(match existing.last() {
            Some(v) => v.clone(),
            None => next_version(
                &releases(tags.iter().map(|(t, _)| t.as_str())),
                bump_of(&commit_messages(&first.cfg.context)),
            ),
        });
    }
    report.version = version.as_ref().map(|v| format!("v{v}"));
    if !release.is_empty() {
        report.images = Some(components::pairs(run, &release));
    }

    // 2. Walk the stages.
    for (i, plan) in plans.iter().enumerate() {
        *at = plan.name.clone();
        if i > 0 && (other_role(run, plan, &digest, report) || gated(run, plan, &digest, gates, report).await) {
            return Ok(());
        }
        if command == Command::Plan {
            let lines = print::plan_lines(
                stages.of(&plan.cfg),
                plan,
                &location,
                (&repo_ref, &digest, &release),
                report.version.as_deref(),
            )
            .await;
            report.message.extend(lines);
            continue;
        }
        let view = stage_view(run, plan, stages).await?;
        match decide_stage(command, digest.as_str(), version.as_ref(), &view, run.allow_unverified) {
            StageDecision::Refuse(r) => return Err(refused(&plan.name, r.to_string())),
            StageDecision::AlreadyThere if plan.cfg.controls.force_new_deployment => log::info(&format!(
                "{} already runs {digest}; force-new-deployment: deploying it again",
                plan.name
            )),
            StageDecision::AlreadyThere => {
                log::info(&format!(
                    "{} already runs {digest}, recorded as a success; nothing to do",
                    plan.name
                ));
                report
                    .message
                    .push(format!("{}: already on this digest, skipped", plan.name));
                record_stage_tags(ports, run, &release, (&location, &digest, immutable), &plan.name).await;
                continue;
            }
            StageDecision::Deploy { overridden: Some(r) } => {
                log::warning("Provenance overridden", &format!("allow-unverified: true — {r}"))
            }
            StageDecision::Deploy { overridden: None } => {}
        }
        if let (Some(v), true) = (&version, run.multi_image()) {
            components::tag_version(ports, run, &release, v, &plan.name).await?;
        } else if let Some(v) = &version {
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
        let stage_ports = stages.of(&plan.cfg);
        let result = deploy_stage(
            run,
            plan,
            (&repo_ref, &digest, &release),
            version.as_ref(),
            stage_ports,
            cancel,
        )
        .await?;
        let kind = result.outcome.kind;
        record_end(stage_ports, &result).await;
        if kind == OutcomeKind::Success {
            super::revisions::prune(&plan.cfg, stage_ports, &result).await;
            record_stage_tags(ports, run, &release, (&location, &digest, immutable), &plan.name).await;
        }
        report.stages.push((plan.name.clone(), result));
        if kind != OutcomeKind::Success {
            report.kind = kind;
            report.reason = report.stages.last().and_then(|(_, r)| r.outcome.reason.clone());
            return Ok(());
        }
    }
    if command == Command::Plan {
        report.kind = OutcomeKind::Planned;
    }
    Ok(())
}

/// Whether `plan` runs under another AWS role (`aws-role`) than the stage the run started
/// at: the run has that stage's credentials, not these, so it stops and says which job to run.
fn other_role(run: &ReleaseRun, plan: &StagePlan, digest: &Digest, report: &mut ChainReport) -> bool {
    let first = &run.stages[0];
    let (mine, theirs) = (first.aws_role.clone(), plan.aws_role.clone());
    // With `role-to-assume` the run reaches the stage itself.
    if mine == theirs || plan.cfg.role_to_assume.is_some() {
        return false;
    }
    let workflow = &run.resume_workflow;
    let v = report.version.clone().unwrap_or_else(|| digest.to_string());
    report.kind = OutcomeKind::AwaitingApproval;
    report.next_stage = Some(plan.name.clone());
    report.reason = Some(format!("{} runs under another AWS role", plan.name));
    report.message.push(format!(
        "Stopped before {stage}: it runs under the AWS role {theirs}, and this run has {first}'s credentials ({mine}). To go on, run {stage}'s own job, e.g. the `{workflow}` workflow with stage={stage} and version={v}.",
        stage = plan.name,
        first = first.name,
        theirs = theirs.as_deref().unwrap_or("(none given)"),
        mine = mine.as_deref().unwrap_or("none given"),
    ));
    true
}

/// Whether the run stops before `plan` for approval (an environment it cannot read counts
/// as protected); if so, the report says how to resume.
async fn gated(
    run: &ReleaseRun,
    plan: &StagePlan,
    digest: &Digest,
    gates: &dyn Gates,
    report: &mut ChainReport,
) -> bool {
    let gate = match gates.protection(&plan.environment).await {
        Ok(Some(p)) => p.gated().then(|| p.describe()),
        Ok(None) => None,
        Err(e) => {
            log::warning(
                "Approval gate unknown",
                &format!("{e}; stopping before {} to be safe", plan.name),
            );
            Some("protection that could not be read".to_string())
        }
    };
    let gated = gate.is_some();
    if gated {
        let workflow = &run.resume_workflow;
        let v = report.version.clone().unwrap_or_else(|| digest.to_string());
        report.kind = OutcomeKind::AwaitingApproval;
        report.next_stage = Some(plan.name.clone());
        report.reason = Some(format!("{} waits for approval", plan.name));
        report.message.push(format!(
            "Stopped before {stage}: its environment `{env}` requires approval ({gate}). To resume, run the `{workflow}` workflow (Actions → {workflow} → Run workflow) with stage={stage} and version={v}; GitHub asks {env}'s reviewers when that job starts.",
            stage = plan.name,
            env = plan.environment,
            gate = gate.unwrap_or_default(),
        ));
    }
    gated
}

/// What the decision needs to know about a stage: what it runs, and (for a deploy into a
/// stage with a previous one) what the previous stage runs and passed. A previous stage
/// whose configuration does not validate is a refusal, never a skipped check.
async fn stage_view(run: &ReleaseRun, plan: &StagePlan, stages: &StagePorts<'_, '_>) -> Result<StageView, Error> {
    let has_previous = plan.index > 0;
    let mut previous = None;
    if has_previous && run.command == Command::Deploy {
        // Validated with the run (config::stages::release_run), before any call.
        let prev = run.before(plan).ok_or_else(|| {
            refused(
                &plan.name,
                "the stage before it was not validated with the run, so what it runs cannot be checked".into(),
            )
        })?;
        // The previous stage is read with its own role (its own account).
        previous = Some(observe::previous(stages.of(&prev.cfg), &prev.cfg, &prev.name).await?);
    }
    Ok(StageView {
        stage: plan.name.clone(),
        is_last: plan.is_last,
        has_previous,
        previous,
        running: observe::running(stages.of(&plan.cfg), &plan.cfg).await?,
    })
}
