//! The Markdown a person reads after the run (the job summary), built from the outcome alone.
//! Every piece of text that came from outside (AWS messages, names) is escaped.

use crate::domain::outcome::{Outcome, OutcomeKind, RollbackResult, ServiceStatus};
use crate::domain::report::DeployReport;
use crate::domain::task_definition::short_td;
use crate::github::markdown::{cell, code, code_block, escape, link, prose};
pub use crate::github::timeline::timeline;

pub struct SummaryContext<'a> {
    pub cluster: &'a str,
    pub stage: Option<&'a str>,
    pub version: Option<String>,
    pub run_url: Option<String>,
}

pub fn job_summary(report: &DeployReport, ctx: &SummaryContext<'_>) -> String {
    let o = &report.outcome;
    let stage = ctx.stage.unwrap_or("deploy");
    let mut md = format!("## {}\n\n", headline(report, stage, ctx.version.as_deref()));
    if let Some(p) = &report.production {
        md.push_str(&format!("**Production now: {}**\n\n", escape(&p.describe())));
    }
    if let Some(reason) = &o.reason {
        md.push_str(&format!("> {}\n\n", prose(reason, 2000)));
    }
    if let Some(next) = next_step(report) {
        md.push_str(&format!("**Next:** {next}\n\n"));
    }
    md.push_str(&format!("`outcome: {}`\n\n", o.kind.as_output()));
    // Code spans show backslashes literally, so they get `code` (drops what could end the
    // span), never `cell`.
    md.push_str(&format!("- **Cluster:** {}\n", code(ctx.cluster, 255)));
    md.push_str(&format!("- **Image:** {}\n", code(&report.image, 400)));
    if let Some(d) = &report.digest {
        md.push_str(&format!("- **Digest:** {}\n", code(d, 80)));
    }
    if let Some(v) = &ctx.version {
        md.push_str(&format!("- **Version:** {}\n", escape(v)));
    }
    if let Some(url) = &ctx.run_url {
        md.push_str(&format!("- **Run:** [logs]({})\n", url.replace(')', "%29")));
    }
    if !report.links.is_empty() {
        let links: Vec<String> = report.links.iter().map(|(label, url)| link(label, url)).collect();
        md.push_str(&format!("- **In the AWS console:** {}\n", links.join(" · ")));
    }
    md.push_str("\n| Service | Result | Task definition | Previous | Rollback |\n|---|---|---|---|---|\n");
    for s in &o.services {
        let rollback = match &s.status {
            ServiceStatus::Deployed => "—".to_string(),
            ServiceStatus::Failed { rollback, .. }
            | ServiceStatus::RolledBackWithOthers(rollback)
            | ServiceStatus::Cancelled(rollback) => {
                let text = rollback.describe();
                if matches!(rollback, RollbackResult::Failed(_)) {
                    format!("**{}**", prose(&text, 300))
                } else {
                    prose(&text, 300)
                }
            }
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&s.service, 100),
            s.status.label(),
            s.new_task_definition
                .as_deref()
                .map(|t| cell(short_td(t), 120))
                .unwrap_or_else(|| "—".into()),
            cell(short_td(&s.previous_task_definition), 120),
            rollback
        ));
    }
    if let Some(plan) = &report.plan {
        md.push_str(&plan_section(plan, &report.executed, report.outcome.kind));
    }
    if !report.timeline.is_empty() {
        md.push_str(&timeline(&report.timeline, report.limits.as_ref()));
    }
    for s in &o.services {
        if let ServiceStatus::Failed { failure, .. } = &s.status {
            // The reason at the top usually says it already: once is enough.
            let why = failure.summary();
            let said = o.reason.as_deref().is_some_and(|r| r.contains(&why));
            md.push_str(&format!("\n### Why {} failed\n\n", code(&s.service, 100)));
            if !said {
                md.push_str(&format!("{}\n\n", prose(&why, 2000)));
            }
            if !s.diagnostics.is_empty() || !s.diagnostics.gaps.is_empty() {
                md.push_str("<details open><summary>Diagnostics</summary>\n\n");
                md.push_str(&code_block(&s.diagnostics.lines().join("\n")));
                md.push_str("\n\n</details>\n");
            }
        }
    }
    md
}

/// What happened, in the words an on-call engineer looks for first.
fn headline(report: &DeployReport, stage: &str, version: Option<&str>) -> String {
    let stage = escape(stage);
    // A version is validated semver ("v1.4.0-rc.1+b7"): shown as is, not escaped.
    let safe = |v: &str| v.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let what = version
        .map(|v| if safe(v) { v.to_string() } else { escape(v) })
        .unwrap_or_else(|| "the new image".into());
    let analysed: f64 = report
        .timeline
        .iter()
        .filter_map(|s| s.canary)
        .map(|c| c.requests)
        .sum();
    match report.outcome.kind {
        OutcomeKind::Success if !report.timeline.is_empty() && analysed == 0.0 => {
            format!("⚠️ {stage}: {what} deployed, but not one request was analysed")
        }
        OutcomeKind::Success => format!("✅ {stage}: {what} deployed"),
        OutcomeKind::Planned => format!("📝 {stage}: plan only, nothing changed"),
        OutcomeKind::Paused => format!("⏸️ {stage}: paused with traffic split; a re-run goes on"),
        OutcomeKind::AwaitingApproval => format!("✋ {stage}: waiting for approval"),
        OutcomeKind::Cancelled if restored(report) => format!("⏹️ {stage}: cancelled; the previous version serves"),
        OutcomeKind::Cancelled => {
            format!("⏹️ {stage}: cancelled; the way back is not confirmed, check the Rollback column")
        }
        OutcomeKind::Failure if report.outcome.services.is_empty() => {
            format!("❌ {stage}: failed before any change; nothing to undo")
        }
        OutcomeKind::Failure if restored(report) => {
            format!("↩️ {stage}: {what} failed and was rolled back; the previous version serves")
        }
        OutcomeKind::Failure => format!("🚨 {stage}: {what} failed and is NOT rolled back; needs a person"),
    }
}

/// Every service is back on its previous revision (by ECS or by us).
fn restored(report: &DeployReport) -> bool {
    let ok = RollbackResult::restored;
    !report.outcome.services.is_empty()
        && report.outcome.services.iter().all(|s| match &s.status {
            ServiceStatus::Deployed => false,
            ServiceStatus::Failed { rollback, .. }
            | ServiceStatus::RolledBackWithOthers(rollback)
            | ServiceStatus::Cancelled(rollback) => ok(rollback),
        })
}

/// The one thing to do now, on every way a run can end badly.
fn next_step(report: &DeployReport) -> Option<String> {
    let o = &report.outcome;
    match o.kind {
        OutcomeKind::Failure if o.services.is_empty() => {
            Some("nothing changed; fix the cause above and run again.".into())
        }
        OutcomeKind::Failure if restored(report) => Some("nothing to undo; fix the cause above and run again.".into()),
        OutcomeKind::Cancelled if restored(report) => Some("nothing to undo; run again to deploy.".into()),
        OutcomeKind::Failure | OutcomeKind::Cancelled => Some(
            "check the Rollback column: put each service not rolled back on its Previous task definition (`command: rollback`, or `aws ecs update-service`), then look at the traffic.".into(),
        ),
        _ => None,
    }
}

/// `21:04:05` (UTC), the time of day a step started.
pub(crate) fn utc_time(t: std::time::SystemTime) -> String {
    let full = humantime::format_rfc3339_seconds(t).to_string();
    full.get(11..19).unwrap_or(&full).to_string()
}

/// Exit-worthy one-liners for `::error`, one per failed service.
pub fn error_lines(o: &Outcome) -> Vec<(String, String)> {
    o.services
        .iter()
        .filter_map(|s| match &s.status {
            ServiceStatus::Failed { failure, rollback } => {
                let mut msg = format!("{} ({})", failure.summary(), rollback.describe());
                for line in s.diagnostics.lines().into_iter().take(8) {
                    msg.push('\n');
                    msg.push_str(&line);
                }
                Some((format!("Deploy of {} failed", s.service), msg))
            }
            _ => None,
        })
        .collect()
}

/// The chain's own section of the summary: the walk, the gate and how to resume, or the plan.
/// The plan the run followed, the same lines `command: plan` prints, each marked: ran in
/// this run, done by an earlier run (a resume starts at the cursor), or not reached. A run
/// that did not succeed ended at the last step it ran: that step is marked with how.
fn plan_section(plan: &crate::domain::plan::Plan, executed: &[usize], ended: OutcomeKind) -> String {
    let mut md = format!("\n### Plan {}\n\n", code(&plan.hash(), 20));
    let last = executed.last().copied();
    let end_mark = match ended {
        OutcomeKind::Failure => Some("❌ failed:"),
        OutcomeKind::Cancelled => Some("⏹️ cancelled:"),
        OutcomeKind::Paused => Some("⏸️ paused:"),
        _ => None,
    };
    for (i, line) in plan.lines().iter().enumerate() {
        let mark = if let (Some(m), true) = (end_mark, Some(i) == last) {
            m
        } else if executed.contains(&i) {
            "✅"
        } else if i < plan.cursor {
            "↩️ earlier run:"
        } else {
            "◻️ not reached:"
        };
        md.push_str(&format!("- {mark} {}\n", code(line, 300)));
    }
    md
}

pub fn chain_section(report: &crate::domain::report::ChainReport) -> String {
    let mut md = String::from("\n### Promotion chain\n\n");
    if let Some(v) = &report.version {
        md.push_str(&format!("Version **{}**", escape(v)));
        if let Some(d) = &report.digest {
            md.push_str(&format!(", digest {}", code(d, 80)));
        }
        md.push_str("\n\n");
    } else if let Some(d) = &report.digest {
        md.push_str(&format!("Digest {}\n\n", code(d, 80)));
    }
    if !report.stages.is_empty() {
        md.push_str("| Stage | Outcome |\n|---|---|\n");
        for (stage, r) in &report.stages {
            md.push_str(&format!("| {} | {} |\n", cell(stage, 64), r.outcome.kind.as_output()));
        }
        md.push('\n');
    }
    // Code spans: the plan's image references stay copyable (escaping would put a zero-width
    // space after their `@`), and nothing inside a span renders as markup or a mention.
    for line in &report.message {
        md.push_str(&format!("- {}\n", code(line.trim(), 2000)));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{rolled_back_canary, success_canary};

    #[test]
    fn the_plan_section_marks_what_ran() {
        let mut plan = crate::domain::plan::rolling(&["api".into()], "web@sha256:1", None);
        plan.cursor = 1;
        let md = plan_section(&plan, &[1], OutcomeKind::Success);
        assert!(md.contains("- ↩️ earlier run: `1/3 register-revision"), "{md}");
        assert!(
            md.contains("- ✅ `2/3 update-service: update api to the new revision`"),
            "{md}"
        );
        assert!(md.contains("- ◻️ not reached: `3/3 await-stable"), "{md}");
    }

    #[test]
    fn the_step_a_run_failed_at_is_marked_failed_not_done() {
        let plan = crate::domain::plan::rolling(&["api".into()], "web@sha256:1", None);
        let md = plan_section(&plan, &[0, 1, 2], OutcomeKind::Failure);
        assert!(md.contains("- ✅ `2/3 update-service"), "{md}");
        assert!(md.contains("- ❌ failed: `3/3 await-stable"), "{md}");
        assert!(!md.contains("✅ `3/3"), "{md}");
        let md = plan_section(&plan, &[0, 1], OutcomeKind::Cancelled);
        assert!(md.contains("- ⏹️ cancelled: `2/3 update-service"), "{md}");
        assert!(md.contains("- ◻️ not reached: `3/3 await-stable"), "{md}");
    }

    fn ctx() -> SummaryContext<'static> {
        SummaryContext {
            cluster: "shop-prod",
            stage: Some("prod"),
            version: Some("v1.4.0".into()),
            run_url: Some("https://github.com/acme/shop/actions/runs/1001".into()),
        }
    }

    #[test]
    fn headlines_say_what_happened_and_what_to_do() {
        let head = |r: &DeployReport| {
            let md = job_summary(r, &ctx());
            let first = md.lines().next().unwrap_or("").to_string();
            let next = md.lines().find(|l| l.starts_with("**Next:**")).map(str::to_string);
            (first, next)
        };
        let (h, n) = head(&success_canary());
        assert_eq!(h, "## ✅ prod: v1.4.0 deployed");
        assert_eq!(n, None);

        let mut stuck = rolled_back_canary();
        if let ServiceStatus::Failed { rollback, .. } = &mut stuck.outcome.services[0].status {
            *rollback = RollbackResult::Failed("UpdateService refused".into());
        }
        let (h, n) = head(&stuck);
        assert_eq!(h, "## 🚨 prod: v1.4.0 failed and is NOT rolled back; needs a person");
        assert!(n.unwrap().contains("Rollback column"));

        let mut early = rolled_back_canary();
        early.outcome.services.clear();
        let (h, n) = head(&early);
        assert_eq!(h, "## ❌ prod: failed before any change; nothing to undo");
        assert!(n.unwrap().contains("nothing changed"));

        let mut blind = success_canary();
        for s in &mut blind.timeline {
            s.canary = Some(Default::default());
        }
        assert_eq!(
            head(&blind).0,
            "## ⚠️ prod: v1.4.0 deployed, but not one request was analysed"
        );

        let mut cancelled = rolled_back_canary();
        cancelled.outcome.kind = OutcomeKind::Cancelled;
        cancelled.outcome.services[0].status = ServiceStatus::Cancelled(RollbackResult::Requested);
        assert!(head(&cancelled).0.contains("cancelled; the way back is not confirmed"));
    }

    #[test]
    fn job_summary_of_a_successful_canary() {
        insta::assert_snapshot!(job_summary(&success_canary(), &ctx()));
    }

    #[test]
    fn a_compared_timeline_shows_both_sides_and_the_boundary() {
        use crate::domain::report::{Comparison, SlowerReading};
        use crate::domain::sequential::Reading;
        let mut steps = rolled_back_canary().timeline;
        let errors = Reading {
            worse: 41_250.0,
            not_worse: 0.01,
            needs: 20.0,
            needs_to_promote: 20.0,
            null_ratio: 1.1,
            tolerance: 2.0,
            canary: (122.0, 1502.0),
            stable: (285.0, 28_538.0),
            canary_elb_side: (0.0, 0.0),
            minutes: 9,
        };
        steps[1].comparison = Some(Comparison {
            errors,
            latency: Some(SlowerReading {
                reading: Reading {
                    worse: 0.4,
                    canary: (15.0, 1380.0),
                    stable: (280.0, 28_000.0),
                    ..errors
                },
                limit_ms: 182.3,
            }),
        });
        let md = timeline(&steps, None);
        assert!(
            md.contains(
                "| 2 | 122 of 1502 (8.12%) | 285 of 28538 (1.00%) | 4.1e4 (above 1.10×) | 0.0 (below 2.00×) | 20 / 20 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| past 182 ms: 15 of 1380 (1.09%) vs 280 of 28000 (1.00%) | 0.4 (above 1.10×; needs 20) |"),
            "{md}"
        );
        // The chart: both steps' rates; no stable line, as step 1 had no comparison.
        assert!(
            md.contains("bar [0.13, 8.12]") && !md.contains("stable version (line)"),
            "{md}"
        );
        let mut both = steps.clone();
        both[0].comparison = both[1].comparison;
        let md = timeline(&both, None);
        assert!(md.contains("line [1.00, 1.00]"), "the stable version's line: {md}");
        assert!(!timeline(&rolled_back_canary().timeline, None).contains("Canary against the stable version"));
    }

    #[test]
    fn job_summary_of_a_rolled_back_canary() {
        let md = job_summary(&rolled_back_canary(), &ctx());
        // Outside code fences (where text is literal) no AWS text is live Markdown or HTML.
        let outside: String = md.split("```").step_by(2).collect();
        assert!(!outside.contains("<img") && !outside.contains("@acme"), "{md}");
        insta::assert_snapshot!(md);
    }
}
