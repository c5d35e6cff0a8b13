//! Hand-built reports for snapshot tests of every piece of Markdown: a successful canary, a
//! canary rolled back by analysis (with hostile AWS text), and a run context whose PR title,
//! branch and commit message are hostile.

use crate::domain::analysis::TargetGroupMetrics;
use crate::domain::diagnostics::{Diagnostics, StoppedTask, TargetProblem};
use crate::domain::outcome::{Outcome, OutcomeKind, RollbackResult, ServiceResult, ServiceStatus};
use crate::domain::report::{DeployReport, StepRecord};
use crate::domain::rollout::Failure;
use crate::github::event::{PullRequest, RunInfo};
use crate::ports::StageStart;

pub const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
pub const HOSTILE: &str =
    "<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1)) @acme/ops ::set-env name=A::b | `tick`";

fn image() -> String {
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@{DIGEST}")
}

fn step(weight: u8, requests: f64, errors: f64, verdict: &str) -> StepRecord {
    StepRecord {
        weight,
        // 2026-11-26 03:00 UTC, one five-minute step per percent of weight.
        started_at: Some(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_662_000 + u64::from(weight) * 300),
        ),
        seconds: 300.0,
        canary: Some(TargetGroupMetrics {
            requests,
            errors_5xx: errors,
            p99_ms: Some(182.0),
            ..Default::default()
        }),
        verdict: verdict.into(),
        comparison: None,
    }
}

pub fn start(stage: &str) -> StageStart {
    StageStart {
        stage: stage.into(),
        strategy: "canary".into(),
        cluster: "shop-prod".into(),
        services: vec!["web-blue".into(), "web-green".into()],
        image: image(),
        version: Some("v1.4.0".into()),
        environment_url: Some("https://shop.example.com".into()),
        environment: Some(stage.into()),
    }
}

pub fn success_canary() -> DeployReport {
    DeployReport {
        outcome: Outcome {
            kind: OutcomeKind::Success,
            services: vec![ServiceResult {
                service: "web-green".into(),
                previous_task_definition: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:41".into(),
                new_task_definition: Some("arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:42".into()),
                status: ServiceStatus::Deployed,
                diagnostics: Diagnostics::default(),
                duration_ms: 1_512_000,
            }],
            reason: None,
        },
        image: image(),
        digest: Some(DIGEST.into()),
        strategy: "canary".into(),
        timeline: vec![
            step(5, 1500.0, 1.0, "pass"),
            step(10, 3000.0, 3.0, "pass"),
            step(25, 7500.0, 6.0, "pass"),
            step(50, 15000.0, 12.0, "pass"),
            step(100, 30000.0, 21.0, "pass"),
        ],
        plan: None,
        executed: vec![],
        limits: Some(limits()),
        production: Some(slots(("web-green", 42, 100), ("web-blue", 41, 0))),
        links: vec![(
            "web-green".into(),
            crate::domain::console::service("us-east-1", "shop-prod", "web-green"),
        )],
    }
}

pub fn rolled_back_canary() -> DeployReport {
    let reason = "5xx rate 8.12% > 1.00% (122 of 1502 requests)";
    DeployReport {
        outcome: Outcome {
            kind: OutcomeKind::Failure,
            services: vec![ServiceResult {
                service: "web-green".into(),
                previous_task_definition: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:41".into(),
                new_task_definition: Some("arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:42".into()),
                status: ServiceStatus::Failed {
                    failure: Failure::Analysis {
                        weight: 10,
                        reason: reason.into(),
                    },
                    rollback: RollbackResult::Done,
                },
                diagnostics: Diagnostics {
                    events: vec![
                        "(service web-green) has started 2 tasks: (task 7f3c).".into(),
                        format!("(service web-green) task failed health checks: {HOSTILE}\n```\n# not a heading"),
                    ],
                    stopped_tasks: vec![StoppedTask {
                        task_id: "7f3c".into(),
                        task_definition: "shop-web:42".into(),
                        stopped_reason: "Essential container in task exited".into(),
                        stopped_at: None,
                        containers: vec![("app".into(), Some(137), Some("OutOfMemoryError".into()))],
                    }],
                    unhealthy_targets: vec![TargetProblem {
                        target_group: "green-shop".into(),
                        target: "10.0.1.17:8080".into(),
                        state: "unhealthy".into(),
                        reason: "Target.ResponseCodeMismatch".into(),
                        description: "Health checks failed with these codes: [502]".into(),
                    }],
                    gaps: vec![],
                },
                duration_ms: 634_000,
            }],
            reason: Some(format!(
                "web-green: analysis failed at 10% traffic: {reason} (stable slot: web-blue)"
            )),
        },
        image: image(),
        digest: Some(DIGEST.into()),
        strategy: "canary".into(),
        timeline: vec![
            step(5, 1500.0, 2.0, "pass"),
            step(10, 1502.0, 122.0, &format!("fail: {reason}")),
        ],
        plan: None,
        executed: vec![],
        limits: Some(limits()),
        production: Some(slots(("web-blue", 41, 100), ("web-green", 42, 0))),
        links: vec![],
    }
}

/// Two slots as the read-back finds them: (service, revision, share); no share, no tasks.
fn slots(a: (&str, u32, u8), b: (&str, u32, u8)) -> crate::domain::production::Production {
    let state = |(name, rev, share): (&str, u32, u8)| {
        let state = crate::domain::service::ServiceState {
            name: name.into(),
            task_definition: format!("arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:{rev}"),
            desired: if share > 0 { 4 } else { 0 },
            ..Default::default()
        };
        (state, share)
    };
    crate::domain::production::Production::of_slots(&[state(a), state(b)])
}

pub fn info() -> RunInfo {
    RunInfo {
        owner: "acme".into(),
        repo: "shop".into(),
        sha: SHA.into(),
        job_sha: SHA.into(),
        run_url: Some("https://github.com/acme/shop/actions/runs/1001".into()),
        event_name: Some("pull_request".into()),
        branch: Some("feat/faster-checkout".into()),
        pull_request: Some(PullRequest {
            number: 12,
            title: "Faster checkout".into(),
        }),
        commit_message: None,
    }
}

/// Every field a stranger controls set to something hostile.
pub fn hostile_info() -> RunInfo {
    RunInfo {
        branch: Some(format!("feat/{HOSTILE}")),
        pull_request: Some(PullRequest {
            number: 13,
            title: format!("{HOSTILE} {}", "A".repeat(10_000)),
        }),
        commit_message: Some(format!("{HOSTILE}\n::error::pwned")),
        ..info()
    }
}

/// A canary's usual gates: 1% 5xx, 500 ms p99.
fn limits() -> crate::domain::analysis::Thresholds {
    crate::domain::analysis::Thresholds {
        max_error_rate: Some(0.01),
        max_p99_ms: Some(500.0),
        max_error_rate_increase: None,
        min_requests: 50.0,
        max_error_rate_uncompared: None,
    }
}

/// A stage's settings as `config` validates them from action inputs (the action.yml defaults
/// applied), for tests of code that takes settings values and must not import `config`.
pub fn settings(
    pairs: &[(&str, &str)],
    context: crate::domain::settings::GithubContext,
) -> crate::domain::settings::DeployConfig {
    crate::config::validate(
        &crate::config::RawInputs::from_pairs(pairs),
        context,
        Some("us-east-1".into()),
    )
    .unwrap_or_else(|e| panic!("the test's inputs validate: {e:?}"))
}

/// The names of the inputs action.yml declares.
pub fn action_inputs() -> Vec<String> {
    crate::config::inputs::action_yml_defaults()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}
