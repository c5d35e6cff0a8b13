//! A check run per stage (`ecs-deploy / <stage>`) on the deployed commit: created
//! `in_progress`, updated with live progress (the reporter coalesces), completed with the
//! outcome. octocrab's `CheckRun` model has no `status`, so bodies are plain JSON.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::channel::{Channel, Channels};
use super::client::{repo_path, Client};
use super::event::RunInfo;
use super::markdown::{cell, code, code_block, escape, plain, prose, truncate};
use crate::domain::outcome::{OutcomeKind, ServiceStatus};
use crate::domain::report::DeployReport;
use crate::ports::StageStart;

/// GitHub's limit for `output.summary` and `output.text`, in characters.
pub const OUTPUT_LIMIT: usize = 65_535;
const CUT_NOTE: &str = "\n\n_(cut to GitHub's 65,535-character limit: the job summary of the run has everything)_\n";
const TITLE_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub title: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// How a stage's check run ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub conclusion: &'static str,
    pub output: Output,
}

pub fn name(stage: &str) -> String {
    format!("ecs-deploy / {}", plain(stage, 100))
}

/// The table of what the run is (commit, branch, pull request, what is deployed where), at the
/// top of every summary. Every value from the event payload is escaped.
pub fn context_table(info: &RunInfo, start: Option<&StageStart>) -> String {
    let mut md = String::from("| Run | Value |\n|---|---|\n");
    md.push_str(&format!("| Commit | {} |\n", code(info.short_sha(), 40)));
    if let Some(b) = &info.branch {
        md.push_str(&format!("| Branch | {} |\n", cell(b, 200)));
    }
    if let Some(pr) = &info.pull_request {
        md.push_str(&format!("| Pull request | #{} {} |\n", pr.number, cell(&pr.title, 300)));
    }
    if let Some(m) = &info.commit_message {
        md.push_str(&format!("| Message | {} |\n", cell(m, 300)));
    }
    if let Some(s) = start {
        md.push_str(&format!("| Strategy | {} |\n", cell(&s.strategy, 40)));
        md.push_str(&format!("| Cluster | {} |\n", code(&s.cluster, 255)));
        let services = s.services.iter().map(|x| code(x, 255)).collect::<Vec<_>>().join(", ");
        md.push_str(&format!("| Services | {services} |\n"));
        md.push_str(&format!("| Image | {} |\n", code(&s.image, 400)));
        if let Some(v) = &s.version {
            md.push_str(&format!("| Version | {} |\n", cell(v, 100)));
        }
    }
    md
}

/// The live output while a stage runs: the context and the latest progress lines.
pub fn progress_output(info: &RunInfo, start: &StageStart, lines: &[String]) -> Output {
    let mut md = format!("## ⏳ ecs-deploy to {}: in progress\n\n", escape(&start.stage));
    md.push_str(&context_table(info, Some(start)));
    if !lines.is_empty() {
        md.push_str("\n### Progress\n\n");
        for l in lines {
            md.push_str(&format!("- {}\n", prose(l, 500)));
        }
    }
    let title = match lines.last() {
        Some(l) => format!("{} to {}: {}", start.strategy, start.stage, l),
        None => format!("{} to {}: starting", start.strategy, start.stage),
    };
    Output {
        title: plain(&title, TITLE_LIMIT),
        summary: truncate(&md, OUTPUT_LIMIT, CUT_NOTE),
        text: None,
    }
}

/// The final output: the job summary under the context, and the diagnostics as text when the
/// stage did not succeed. A stop at an approval gate is `action_required` (with how to resume)
/// when the run has a URL to act on; a paused canary is `neutral` (with how to go on).
pub fn final_output(
    info: &RunInfo,
    start: Option<&StageStart>,
    stage: &str,
    report: &DeployReport,
    summary_markdown: &str,
) -> Completion {
    let o = &report.outcome;
    let conclusion = match o.kind {
        OutcomeKind::Success => "success",
        OutcomeKind::Failure => "failure",
        OutcomeKind::Cancelled => "cancelled",
        // GitHub shows `action_required` with a link to act on: the run.
        OutcomeKind::AwaitingApproval if info.run_url.is_some() => "action_required",
        OutcomeKind::AwaitingApproval | OutcomeKind::Paused | OutcomeKind::Planned => "neutral",
    };
    let summary = format!("{}\n{summary_markdown}", context_table(info, start));
    let title = match &o.reason {
        Some(r) => format!("{} to {stage}: {} ({r})", report.strategy, o.kind.as_output()),
        None => format!("{} to {stage}: {}", report.strategy, o.kind.as_output()),
    };
    let text = match o.kind {
        OutcomeKind::Success | OutcomeKind::Planned => None,
        OutcomeKind::Paused => Some(resume_instructions(report)),
        OutcomeKind::AwaitingApproval => Some(approval_instructions(report)),
        OutcomeKind::Failure | OutcomeKind::Cancelled => Some(diagnostics_text(report)),
    };
    Completion {
        conclusion,
        output: Output {
            title: plain(&title, TITLE_LIMIT),
            summary: truncate(&summary, OUTPUT_LIMIT, CUT_NOTE),
            text: text.map(|t| truncate(&t, OUTPUT_LIMIT, CUT_NOTE)),
        },
    }
}

/// A stage that failed before any deployment started (preflight, registration).
pub fn early_output(
    info: &RunInfo,
    start: Option<&StageStart>,
    stage: &str,
    (error, changed): (&str, bool),
    summary_markdown: &str,
) -> Completion {
    let summary = format!("{}\n{summary_markdown}", context_table(info, start));
    let (why, when) = match changed {
        true => (
            "The deploy stopped after it had changed the service: the error says what runs now and how to recover.",
            "failure after a change",
        ),
        false => (
            "The deploy stopped before any service was changed.",
            "failure before the deploy",
        ),
    };
    let text = format!("## Why\n\n{why}\n\n{}\n", code_block(error));
    Completion {
        conclusion: "failure",
        output: Output {
            title: plain(&format!("{stage}: {when} ({error})"), TITLE_LIMIT),
            summary: truncate(&summary, OUTPUT_LIMIT, CUT_NOTE),
            text: Some(truncate(&text, OUTPUT_LIMIT, CUT_NOTE)),
        },
    }
}

/// Under the summary (which opens with the reason): per service the failure, the rollback and
/// what ECS, the tasks and the load balancer said. Nothing the reason already says is repeated.
pub fn diagnostics_text(report: &DeployReport) -> String {
    let o = &report.outcome;
    let said = |text: &str| {
        let core = text.strip_prefix("fail: ").unwrap_or(text);
        o.reason.as_deref().is_some_and(|r| r.contains(core))
    };
    let mut md = String::from("## Diagnostics\n\n");
    if let Some(step) = report.timeline.last() {
        md.push_str(&format!(
            "**Last traffic step:** {}% for {:.1} s",
            step.weight, step.seconds
        ));
        if !said(&step.verdict) {
            md.push_str(&format!(", verdict: {}", cell(&step.verdict, 500)));
        }
        md.push_str("\n\n");
    }
    for s in &o.services {
        let (what, rollback) = match &s.status {
            ServiceStatus::Deployed => continue,
            ServiceStatus::Failed { failure, rollback } => (failure.summary(), rollback),
            ServiceStatus::RolledBackWithOthers(r) => ("another service of the run failed".to_string(), r),
            ServiceStatus::Cancelled(r) => ("cancelled".to_string(), r),
        };
        if said(&what) {
            md.push_str(&format!("### {}\n\n", code(&s.service, 255)));
        } else {
            md.push_str(&format!("### {}: {}\n\n", code(&s.service, 255), prose(&what, 2000)));
        }
        md.push_str(&format!("Rollback: {}\n\n", prose(&rollback.describe(), 500)));
        let lines = s.diagnostics.lines();
        if !lines.is_empty() {
            md.push_str(&code_block(&lines.join("\n")));
            md.push_str("\n\n");
        }
    }
    md
}

fn approval_instructions(report: &DeployReport) -> String {
    let how = report
        .outcome
        .reason
        .as_deref()
        .unwrap_or("The next stage's environment requires approval.");
    format!(
        "## Approval required\n\n{}\n\nNothing was deployed to this stage. Its environment's reviewers approve when the resuming job starts.\n",
        prose(how, 2000)
    )
}

fn resume_instructions(report: &DeployReport) -> String {
    let weight = report.timeline.last().map(|s| s.weight).unwrap_or(0);
    let slot = report
        .outcome
        .services
        .first()
        .map(|s| code(&s.service, 255))
        .unwrap_or_else(|| "the new slot".into());
    format!(
        "## Paused: action required\n\nThe canary holds {weight}% of the traffic on {slot}. Nothing rolls back by itself.\n\n\
         - **To go on:** re-run this job (or run the action again with the same inputs) with `on-split: continue`: it resumes from {weight}%.\n\
         - **To roll back:** re-run with the default `on-split: rollback`: all traffic goes back to the stable slot, then the deploy starts afresh.\n"
    )
}

/// The check runs of this process, one per stage.
#[derive(Default)]
pub struct CheckRuns {
    ids: Mutex<HashMap<String, u64>>,
}

impl CheckRuns {
    pub async fn create(&self, client: &Client, channels: &Channels, info: &RunInfo, stage: &str, output: &Output) {
        if !channels.live(Channel::CheckRuns) {
            return;
        }
        let mut body = json!({
            "name": name(stage),
            "head_sha": info.sha,
            "status": "in_progress",
            "external_id": plain(stage, 100),
            "output": output,
        });
        if let Some(url) = &info.run_url {
            body["details_url"] = Value::String(url.clone());
        }
        let path = format!("{}/check-runs", repo_path(&info.owner, &info.repo));
        match client.post(&path, &body).await {
            Ok(v) => {
                if let Some(id) = v.get("id").and_then(Value::as_u64) {
                    self.ids.lock().await.insert(stage.to_string(), id);
                }
            }
            Err(e) => {
                channels.failed(Channel::CheckRuns, &e);
            }
        }
    }

    /// A live update; skipped when the check run does not exist or the channel is degraded.
    pub async fn update(&self, client: &Client, channels: &Channels, info: &RunInfo, stage: &str, output: &Output) {
        if !channels.live(Channel::CheckRuns) {
            return;
        }
        let Some(id) = self.ids.lock().await.get(stage).copied() else {
            return;
        };
        let path = format!("{}/check-runs/{id}", repo_path(&info.owner, &info.repo));
        if let Err(e) = client.patch(&path, &json!({ "output": output })).await {
            channels.failed(Channel::CheckRuns, &e);
        }
    }

    /// Completes the stage's check run, or creates it completed when it could not be created.
    pub async fn complete(&self, client: &Client, channels: &Channels, info: &RunInfo, stage: &str, c: &Completion) {
        if !channels.last(Channel::CheckRuns) {
            return;
        }
        let mut body = json!({
            "status": "completed",
            "conclusion": c.conclusion,
            "output": c.output,
        });
        if let Some(url) = &info.run_url {
            body["details_url"] = Value::String(url.clone());
        }
        let base = repo_path(&info.owner, &info.repo);
        let id = self.ids.lock().await.get(stage).copied();
        let result = match id {
            Some(id) => client.patch(&format!("{base}/check-runs/{id}"), &body).await,
            None => {
                body["name"] = Value::String(name(stage));
                body["head_sha"] = Value::String(info.sha.clone());
                body["external_id"] = Value::String(plain(stage, 100));
                client.post(&format!("{base}/check-runs"), &body).await
            }
        };
        if let Err(e) = result {
            channels.failed(Channel::CheckRuns, &e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{hostile_info, info, rolled_back_canary, start, success_canary};

    fn summary_of(r: &DeployReport) -> String {
        crate::github::summary::job_summary(
            r,
            &crate::github::summary::SummaryContext {
                cluster: "shop-prod",
                stage: Some("prod"),
                version: Some("v1.4.0".into()),
                run_url: info().run_url,
            },
        )
    }

    /// A failure after a change never reads as "stopped before any service was changed".
    #[test]
    fn an_early_failure_says_whether_the_service_was_changed() {
        let before = early_output(&info(), Some(&start("prod")), "prod", ("refused", false), "");
        let after = early_output(&info(), Some(&start("prod")), "prod", ("lost it", true), "");
        let text = |c: &Completion| c.output.text.clone().unwrap_or_default();
        assert!(text(&before).contains("before any service was changed"));
        assert!(before.output.title.contains("failure before the deploy"));
        assert!(
            !text(&after).contains("before any service was changed"),
            "{}",
            text(&after)
        );
        assert!(text(&after).contains("after it had changed the service"));
        assert!(after.output.title.contains("failure after a change"));
    }

    #[test]
    fn a_successful_canary_completes_with_success() {
        let r = success_canary();
        let c = final_output(&info(), Some(&start("prod")), "prod", &r, &summary_of(&r));
        assert_eq!(c.conclusion, "success");
        assert_eq!(c.output.text, None);
        insta::assert_snapshot!(format!("title: {}\n\n{}", c.output.title, c.output.summary));
    }

    #[test]
    fn a_rolled_back_canary_fails_with_diagnostics() {
        let r = rolled_back_canary();
        let c = final_output(&info(), Some(&start("prod")), "prod", &r, &summary_of(&r));
        assert_eq!(c.conclusion, "failure");
        let text = c.output.text.unwrap_or_default();
        assert!(
            text.contains("OutOfMemoryError") && text.contains("Target.ResponseCodeMismatch"),
            "{text}"
        );
        insta::assert_snapshot!(format!("title: {}\n\n{}", c.output.title, text));
    }

    #[test]
    fn live_progress_output() {
        let lines = vec![
            "5% of traffic on web-green (read back)".to_string(),
            "analysis at 5%: 1500 requests, 5xx 0.07%, p99 182 ms → pass".to_string(),
        ];
        let o = progress_output(&info(), &start("prod"), &lines);
        insta::assert_snapshot!(format!("title: {}\n\n{}", o.title, o.summary));
    }

    #[test]
    fn an_approval_gate_asks_for_action_and_says_how_to_resume() {
        let mut r = success_canary();
        r.outcome.kind = OutcomeKind::AwaitingApproval;
        r.outcome.services.clear();
        r.outcome.reason = Some("Stopped before prod: its environment `production` requires approval. To resume, run the `promote.yml` workflow with stage=prod and version=v1.4.0.".into());
        let c = final_output(&info(), None, "prod", &r, "");
        assert_eq!(c.conclusion, "action_required");
        assert!(c.output.text.unwrap_or_default().contains("stage=prod"));
        let mut no_run = info();
        no_run.run_url = None;
        assert_eq!(final_output(&no_run, None, "prod", &r, "").conclusion, "neutral");
        r.outcome.kind = OutcomeKind::Paused;
        let c = final_output(&info(), None, "prod", &r, "");
        assert_eq!(c.conclusion, "neutral");
        assert!(c.output.text.unwrap_or_default().contains("on-split: continue"));
    }

    #[test]
    fn hostile_context_is_escaped_and_bounded() {
        let r = success_canary();
        let c = final_output(&hostile_info(), Some(&start("prod")), "prod", &r, &summary_of(&r));
        let s = &c.output.summary;
        assert!(!s.contains("<img"), "{s}");
        assert!(!s.contains("@acme"), "{s}");
        assert!(!s.contains("[x](javascript"), "{s}");
        assert!(!s.lines().any(|l| l.trim_start().starts_with("::")), "{s}");
        assert!(s.chars().count() <= OUTPUT_LIMIT);
        // A 10,000-character title is cut in its cell.
        assert!(!s.contains(&"A".repeat(400)), "{s}");
    }

    #[test]
    fn outputs_over_the_limit_are_cut_with_a_note() {
        let mut r = rolled_back_canary();
        r.outcome.services[0].diagnostics.events =
            (0..5000).map(|i| format!("event {i}: {}", "x".repeat(40))).collect();
        let huge = "y".repeat(200_000);
        let c = final_output(&info(), None, "prod", &r, &huge);
        let text = c.output.text.unwrap_or_default();
        assert!(c.output.summary.chars().count() <= OUTPUT_LIMIT);
        assert!(text.chars().count() <= OUTPUT_LIMIT);
        assert!(c.output.summary.ends_with(CUT_NOTE) && text.ends_with(CUT_NOTE));
        assert_eq!(text.matches("```").count() % 2, 0, "the cut closes the code fence");
    }
}
