//! The one finish of every run: each stage's reports closed (deployed, failed before its
//! deployment, or waiting at a gate), the job summary, the outputs written once, the closing
//! log lines and the exit code.

use super::{rolled_back_reason, Mode};
use crate::config::stages::StagePlan;
use crate::domain::outcome::{Outcome, OutcomeKind, ServiceResult};
use crate::domain::report::DeployReport;
use crate::executor::chain::ChainReport;
use crate::executor::log;
use crate::github::commands;
use crate::github::markdown;
use crate::github::runtime::Runtime;
use crate::github::summary as report;
use crate::ports::Reporter;

pub async fn finish(
    rt: &Runtime,
    reporter: &dyn Reporter,
    plans: &[StagePlan],
    report: &ChainReport,
    (mode, write_summary): (Mode, bool),
) -> u8 {
    let first = &plans[0].cfg;
    let cfg_of = |stage: &str| plans.iter().find(|p| p.name == stage).map(|p| &p.cfg).unwrap_or(first);
    for line in &report.message {
        log::info(line);
    }
    let mut summary = String::new();
    for (stage, r) in &report.stages {
        let cfg = cfg_of(stage);
        let md = report::job_summary(
            r,
            &report::SummaryContext {
                cluster: &cfg.cluster,
                stage: (mode == Mode::Chain || cfg.stage.is_some()).then_some(stage.as_str()),
                version: report.version.clone(),
                run_url: cfg.context.run_url(),
            },
        );
        reporter.finished(stage, r, &md).await;
        summary.push_str(&md);
        for (title, msg) in report::error_lines(&r.outcome) {
            log::error(&title, &msg);
        }
    }
    // A stage stopped before its deployment began (refused, or preflight failed): its check
    // run, comment row and deployment are closed as a failure too.
    if let Some((stage, error)) = &report.failed_before_start {
        let changed = report.failed_after_change;
        let md = match (mode, changed) {
            (Mode::Flat, false) => {
                log::error("Deploy failed", error);
                format!("## ❌ ecs-deploy: failure\n\n{}\n", markdown::escape(error))
            }
            (Mode::Flat, true) => {
                log::error("Deploy failed after a change", error);
                format!(
                    "## ❌ ecs-deploy: failure after a change\n\n{}\n",
                    markdown::escape(error)
                )
            }
            (Mode::Chain, _) => {
                let when = if changed {
                    "after changing it"
                } else {
                    "before its deployment"
                };
                log::error(&format!("Stage {stage} failed {when}"), error);
                format!(
                    "## ❌ ecs-deploy to {}: failure{}\n\n{}\n",
                    markdown::escape(stage),
                    if changed { " after a change" } else { "" },
                    markdown::escape(error)
                )
            }
        };
        reporter.failed_early(stage, error, changed, &md).await;
        summary.push_str(&md);
    }
    if mode == Mode::Chain {
        summary.push_str(&report::chain_section(report));
    }
    if report.kind == OutcomeKind::AwaitingApproval {
        if let Some(line) = report.message.last() {
            println!("{}", commands::notice("Approval needed", line));
        }
        if let Some(next) = &report.next_stage {
            report_gate(reporter, report, next, cfg_of(next)).await;
        }
    }
    write_outputs(rt, plans, report, mode);
    // `report` without `summary`: the job summary is left to the workflow.
    let written = if write_summary {
        rt.append_summary(&summary)
    } else {
        Ok(())
    };
    if let Err(e) = written {
        log::warning(
            "Summary not written",
            &format!("could not write GITHUB_STEP_SUMMARY: {e}"),
        );
    }
    closing_line(report, mode);
    match report.kind {
        OutcomeKind::Success | OutcomeKind::Planned | OutcomeKind::AwaitingApproval | OutcomeKind::Paused => 0,
        OutcomeKind::Failure | OutcomeKind::Cancelled => 1,
    }
}

/// The gated stage gets its check run (action_required, with how to resume) and its row in
/// the PR comment; nothing was deployed there, so no deployment.
async fn report_gate(reporter: &dyn Reporter, report: &ChainReport, next: &str, cfg: &crate::config::DeployConfig) {
    let gate = DeployReport {
        outcome: Outcome {
            kind: OutcomeKind::AwaitingApproval,
            services: vec![],
            reason: report.message.last().cloned().or_else(|| report.reason.clone()),
        },
        image: report.stages.last().map(|(_, r)| r.image.clone()).unwrap_or_default(),
        digest: report.digest.clone(),
        strategy: cfg.strategy.name().to_string(),
        timeline: vec![],
        plan: None,
        executed: vec![],
        limits: None,
        production: None,
        links: vec![],
    };
    let md = report::job_summary(
        &gate,
        &report::SummaryContext {
            cluster: &cfg.cluster,
            stage: Some(next),
            version: report.version.clone(),
            run_url: cfg.context.run_url(),
        },
    );
    reporter.finished(next, &gate, &md).await;
}

/// The outputs, once: the last stage that ran (or the one that failed before it could).
fn write_outputs(rt: &Runtime, plans: &[StagePlan], report: &ChainReport, mode: Mode) {
    let last = report.stages.last().map(|(_, r)| r);
    let arns = |f: fn(&ServiceResult) -> Option<String>| {
        last.map(|r| r.outcome.services.iter().filter_map(f).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    };
    let stage = match mode {
        // Flat inputs: the `stage` input as given (empty when none was).
        Mode::Flat => plans[0].cfg.stage.clone().unwrap_or_default(),
        Mode::Chain => report
            .failed_before_start
            .as_ref()
            .map(|(s, _)| s.clone())
            .or_else(|| report.stages.last().map(|(s, _)| s.clone()))
            .unwrap_or_default(),
    };
    let outputs = [
        ("outcome", report.kind.as_output().to_string()),
        ("stage", stage),
        ("next-stage", report.next_stage.clone().unwrap_or_default()),
        ("version", report.version.clone().unwrap_or_default()),
        ("digest", report.digest.clone().unwrap_or_default()),
        ("images", report.images.clone().unwrap_or_default()),
        ("image", last.map(|r| r.image.clone()).unwrap_or_default()),
        ("task-definition-arns", arns(|s| s.new_task_definition.clone())),
        // aws-actions/amazon-ecs-deploy-task-definition's name: a workflow moving over keeps
        // its `steps.deploy.outputs.task-definition-arn` expressions.
        (
            "task-definition-arn",
            last.and_then(|r| r.outcome.services.first())
                .and_then(|s| s.new_task_definition.clone())
                .unwrap_or_default(),
        ),
        (
            "previous-task-definition-arns",
            arns(|s| Some(s.previous_task_definition.clone())),
        ),
        (
            "rolled-back-reason",
            rolled_back_reason(report.kind, report.reason.as_deref()),
        ),
    ];
    if let Err(e) = rt.set_outputs(&outputs) {
        log::warning("Outputs not written", &format!("could not write GITHUB_OUTPUT: {e}"));
    }
}

fn closing_line(report: &ChainReport, mode: Mode) {
    let what = match mode {
        Mode::Flat => "Deploy",
        Mode::Chain => "Chain",
    };
    match report.kind {
        OutcomeKind::Success => {
            if let Some((_, r)) = report.stages.last() {
                log::info(&format!(
                    "deployed {} to {} service(s)",
                    r.image,
                    r.outcome.services.len()
                ));
            }
        }
        OutcomeKind::Paused | OutcomeKind::AwaitingApproval | OutcomeKind::Planned => {
            log::info(report.reason.as_deref().unwrap_or(report.kind.as_output()))
        }
        OutcomeKind::Failure | OutcomeKind::Cancelled => log::error(
            &format!("{what} {}", report.kind.as_output()),
            report.reason.as_deref().unwrap_or("see the job summary"),
        ),
    }
}
