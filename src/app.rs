//! One run of the action: config → adapters → executor → outputs, summary, reports.

use crate::aws::{cloudwatch::CloudWatchMetrics, ecr::EcrRegistry, ecs::EcsAdapter, elbv2::ElbRouter, sdk_config};
use crate::config::chain_file::{ChainFile, StageFile};
use crate::config::validate::ContainerImages;
use crate::config::{self, validate, DeployConfig};
use crate::domain::outcome::{OutcomeKind, ServiceResult};
use crate::executor::chain;
use crate::executor::{log, progressive, rolling, DeployReport, Ports};
use crate::github::commands;
use crate::github::environments::{GithubGates, UnknownGates};
use crate::github::markdown;
use crate::github::runtime::Runtime;
use crate::github::GitHubReporter;
use crate::http::HttpSmokeCheck;
use crate::ports::Gates;
use crate::ports::{NoReporter, Reporter, StageStart, SystemClock};
use crate::report;

/// Runs the action from the process environment; returns the exit code.
pub async fn run() -> u8 {
    let (raw, context) = match config::from_env() {
        Ok(v) => v,
        Err(e) => {
            println!(
                "{}",
                commands::error(&format!("Invalid input: {}", e.input), &e.to_string())
            );
            return 2;
        }
    };
    // Mask the token before anything else is printed.
    if let Some(token) = config::inputs::given(&raw.github_token) {
        for line in commands::add_mask(token) {
            println!("{line}");
        }
    }
    let rt = Runtime::new(context.output.clone(), context.step_summary.clone());
    if config::inputs::given(&raw.config).is_some()
        || config::inputs::given(&raw.command).is_some_and(|c| c != "deploy")
    {
        return run_chain(&raw, context, &rt).await;
    }
    let cfg = match validate(&raw, context, config::region_from_env()) {
        Ok(cfg) => cfg,
        Err(errors) => return invalid(&rt, &errors),
    };

    let mut cancel = cancel_on_signal();
    let adapters = Adapters::new(&cfg.region).await;
    let reporter = reporter(&cfg);
    let stage = cfg.stage.clone().unwrap_or_else(|| "deploy".to_string());
    let ports = adapters.ports(reporter.as_ref(), &stage);
    reporter.started(&stage_start(&cfg, &stage)).await;

    let result = match &cfg.progressive {
        Some(pc) => progressive::deploy(&cfg, pc, &ports, &mut cancel).await,
        None => rolling::deploy(&cfg, &ports, &mut cancel).await,
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            // Preflight and registration errors: nothing was changed, or what was is put back.
            log::error("Deploy failed", &e.to_string());
            let _ = rt.set_outputs(&[
                ("outcome", "failure".to_string()),
                ("rolled-back-reason", e.to_string()),
            ]);
            let summary = format!("## ❌ ecs-deploy: failure\n\n{}\n", markdown::escape(&e.to_string()));
            let _ = rt.append_summary(&summary);
            reporter.failed_early(&stage, &e.to_string(), &summary).await;
            return 1;
        }
    };
    finish(&cfg, &rt, reporter.as_ref(), &stage, &report).await;
    report.outcome.exit_code() as u8
}

/// The AWS adapters of one run, sharing one SDK configuration.
struct Adapters {
    ecs: EcsAdapter,
    registry: EcrRegistry,
    router: ElbRouter,
    metrics: CloudWatchMetrics,
}

impl Adapters {
    async fn new(region: &str) -> Self {
        let sdk = sdk_config(region).await;
        Adapters {
            ecs: EcsAdapter::new(&sdk),
            registry: EcrRegistry::new(&sdk),
            router: ElbRouter::new(&sdk),
            metrics: CloudWatchMetrics::new(&sdk),
        }
    }

    fn ports<'a>(&'a self, reporter: &'a dyn Reporter, stage: &str) -> Ports<'a> {
        Ports {
            ecs: &self.ecs,
            registry: &self.registry,
            clock: &SystemClock,
            router: &self.router,
            metrics: &self.metrics,
            smoke: &HttpSmokeCheck,
            reporter,
            stage: stage.to_string(),
        }
    }
}

/// A receiver that flips to true on SIGINT, SIGTERM or SIGHUP.
fn cancel_on_signal() -> crate::executor::Cancel {
    let (cancel_tx, cancel) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        log::warning(
            "Cancelled",
            "received a stop signal: putting every service back where it was",
        );
        let _ = cancel_tx.send(true);
        // Stay alive so the receiver is not dropped; a second signal changes nothing.
        std::future::pending::<()>().await;
    });
    cancel
}

fn invalid(rt: &Runtime, errors: &[config::InputError]) -> u8 {
    for e in errors {
        println!(
            "{}",
            commands::error(&format!("Invalid input: {}", e.input), &e.to_string())
        );
    }
    let reason = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    let _ = rt.set_outputs(&[("outcome", "invalid-input".to_string()), ("rolled-back-reason", reason)]);
    2
}

/// The chain (config file) and the commands rollback and plan.
async fn run_chain(raw: &config::RawInputs, context: config::GithubContext, rt: &Runtime) -> u8 {
    let file = match config::inputs::given(&raw.config) {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match ChainFile::parse(&text, path) {
                Ok(f) => f,
                Err(e) => return invalid(rt, &[e]),
            },
            Err(e) => {
                return invalid(
                    rt,
                    &[config::InputError::new(
                        "config",
                        format!("cannot read {path}: {e}"),
                        "check the path (relative to the repository root)",
                    )],
                )
            }
        },
        // Without a file: one stage made of the inputs.
        None => ChainFile {
            repository: None,
            resume_workflow: None,
            stages: vec![StageFile {
                name: config::inputs::given(&raw.stage).unwrap_or("deploy").to_string(),
                environment: None,
                url: None,
                version: None,
                inputs: Default::default(),
            }],
        },
    };
    let (command, plans) = match chain::plan_stages(&file, raw, &context, config::region_from_env()) {
        Ok(v) => v,
        Err(errors) => return invalid(rt, &errors),
    };
    let mut cancel = cancel_on_signal();
    let first = &plans[0].cfg;
    let adapters = Adapters::new(&first.region).await;
    let reporter = reporter(first);
    let gates: Box<dyn Gates> = match (&first.github_token, &first.context.repository) {
        (Some(token), Some(repo)) => {
            let api = first
                .context
                .api_url
                .clone()
                .unwrap_or_else(|| "https://api.github.com".to_string());
            match GithubGates::new(&api, token, repo) {
                Ok(g) => Box::new(g),
                Err(e) => {
                    log::warning("GitHub unavailable", &e);
                    Box::new(UnknownGates)
                }
            }
        }
        _ => Box::new(UnknownGates),
    };
    let ports = adapters.ports(reporter.as_ref(), &plans[0].name);
    let report = chain::run(&file, raw, command, &plans, &ports, gates.as_ref(), &mut cancel).await;
    for line in &report.message {
        log::info(line);
    }
    let mut summary = String::new();
    for (stage, r) in &report.stages {
        let cfg = plans.iter().find(|p| &p.name == stage).map(|p| &p.cfg).unwrap_or(first);
        let md = report::job_summary(
            r,
            &report::SummaryContext {
                cluster: &cfg.cluster,
                stage: Some(stage),
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
        log::error(&format!("Stage {stage} failed before its deployment"), error);
        let md = format!(
            "## ❌ ecs-deploy to {}: failure\n\n{}\n",
            markdown::escape(stage),
            markdown::escape(error)
        );
        reporter.failed_early(stage, error, &md).await;
        summary.push_str(&md);
    }
    summary.push_str(&report::chain_section(&report));
    if report.kind == OutcomeKind::AwaitingApproval {
        if let Some(line) = report.message.last() {
            println!("{}", commands::notice("Approval needed", line));
        }
        // The gated stage gets its check run (action_required, with how to resume) and its
        // row in the PR comment; nothing was deployed there, so no deployment.
        if let Some(next) = &report.next_stage {
            let cfg = plans.iter().find(|p| &p.name == next).map(|p| &p.cfg).unwrap_or(first);
            let gate = DeployReport {
                outcome: crate::domain::outcome::Outcome {
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
    }
    let last = report.stages.last().map(|(_, r)| r);
    let arns = |f: fn(&ServiceResult) -> Option<String>| {
        last.map(|r| r.outcome.services.iter().filter_map(f).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    };
    let outputs = [
        ("outcome", report.kind.as_output().to_string()),
        (
            "stage",
            report
                .failed_before_start
                .as_ref()
                .map(|(s, _)| s.clone())
                .or_else(|| report.stages.last().map(|(s, _)| s.clone()))
                .unwrap_or_default(),
        ),
        ("next-stage", report.next_stage.clone().unwrap_or_default()),
        ("version", report.version.clone().unwrap_or_default()),
        ("digest", report.digest.clone().unwrap_or_default()),
        ("image", last.map(|r| r.image.clone()).unwrap_or_default()),
        ("task-definition-arns", arns(|s| s.new_task_definition.clone())),
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
    if let Err(e) = rt.append_summary(&summary) {
        log::warning(
            "Summary not written",
            &format!("could not write GITHUB_STEP_SUMMARY: {e}"),
        );
    }
    match report.kind {
        OutcomeKind::Success | OutcomeKind::Planned | OutcomeKind::AwaitingApproval | OutcomeKind::Paused => 0,
        _ => {
            log::error(
                &format!("Chain {}", report.kind.as_output()),
                report.reason.as_deref().unwrap_or("see the job summary"),
            );
            1
        }
    }
}

/// GitHub reporting when a token and a repository are known; otherwise none. A client that
/// cannot be built is a warning: reporting is never a reason to fail a deploy.
fn reporter(cfg: &DeployConfig) -> Box<dyn Reporter> {
    match GitHubReporter::from_config(cfg) {
        Some(Ok(r)) => Box::new(r),
        Some(Err(e)) => {
            log::warning("GitHub reporting off", &e.to_string());
            Box::new(NoReporter)
        }
        None => Box::new(NoReporter),
    }
}

fn stage_start(cfg: &DeployConfig, stage: &str) -> StageStart {
    StageStart {
        stage: stage.to_string(),
        strategy: cfg.strategy.name().to_string(),
        cluster: cfg.cluster.clone(),
        services: cfg.services.clone(),
        image: match &cfg.images {
            ContainerImages::Default(i) | ContainerImages::Named { image: i, .. } => i.to_string(),
            ContainerImages::Map(m) => m.values().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        },
        version: cfg.version.as_ref().map(|v| format!("v{v}")),
        environment_url: None,
    }
}

/// Outputs, job summary, reports and the closing log lines; outputs and summary agree.
async fn finish(cfg: &DeployConfig, rt: &Runtime, reporter: &dyn Reporter, stage: &str, report: &DeployReport) {
    let outcome = &report.outcome;
    let arns =
        |f: fn(&ServiceResult) -> Option<String>| outcome.services.iter().filter_map(f).collect::<Vec<_>>().join("\n");
    let outputs = [
        ("outcome", outcome.kind.as_output().to_string()),
        ("image", report.image.clone()),
        ("digest", report.digest.clone().unwrap_or_default()),
        ("stage", cfg.stage.clone().unwrap_or_default()),
        (
            "version",
            cfg.version.as_ref().map(|v| format!("v{v}")).unwrap_or_default(),
        ),
        ("task-definition-arns", arns(|s| s.new_task_definition.clone())),
        (
            "previous-task-definition-arns",
            arns(|s| Some(s.previous_task_definition.clone())),
        ),
        (
            "rolled-back-reason",
            rolled_back_reason(outcome.kind, outcome.reason.as_deref()),
        ),
    ];
    if let Err(e) = rt.set_outputs(&outputs) {
        log::warning("Outputs not written", &format!("could not write GITHUB_OUTPUT: {e}"));
    }
    let summary = report::job_summary(
        report,
        &report::SummaryContext {
            cluster: &cfg.cluster,
            stage: cfg.stage.as_deref(),
            version: cfg.version.as_ref().map(|v| format!("v{v}")),
            run_url: cfg.context.run_url(),
        },
    );
    reporter.finished(stage, report, &summary).await;
    if let Err(e) = rt.append_summary(&summary) {
        log::warning(
            "Summary not written",
            &format!("could not write GITHUB_STEP_SUMMARY: {e}"),
        );
    }
    for (title, msg) in report::error_lines(outcome) {
        log::error(&title, &msg);
    }
    match outcome.kind {
        OutcomeKind::Success => log::info(&format!(
            "deployed {} to {} service(s)",
            report.image,
            outcome.services.len()
        )),
        OutcomeKind::Paused | OutcomeKind::AwaitingApproval | OutcomeKind::Planned => {
            log::info(outcome.reason.as_deref().unwrap_or(outcome.kind.as_output()))
        }
        _ => log::error(
            &format!("Deploy {}", outcome.kind.as_output()),
            outcome.reason.as_deref().unwrap_or("see the job summary"),
        ),
    }
}

/// The `rolled-back-reason` output: documented as empty unless something failed or was
/// cancelled (a pause or an approval gate is not a rollback).
fn rolled_back_reason(kind: OutcomeKind, reason: Option<&str>) -> String {
    match kind {
        OutcomeKind::Failure | OutcomeKind::Cancelled => reason.unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

/// PID 1 in a container ignores signals it has no handler for, so we handle all three.
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut streams = Vec::new();
    for kind in [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()] {
        match signal(kind) {
            Ok(s) => streams.push(s),
            Err(e) => log::warning("Signal handler", &format!("could not install a handler: {e}")),
        }
    }
    if streams.is_empty() {
        return std::future::pending().await;
    }
    let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
    futures::future::select_all(waits).await;
}
