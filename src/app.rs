//! One run of the action: config → adapters → executor → outputs, summary, reports.

use crate::aws::{cloudwatch::CloudWatchMetrics, ecr::EcrRegistry, ecs::EcsAdapter, elbv2::ElbRouter, sdk_config};
use crate::config::validate::ContainerImages;
use crate::config::{self, validate, DeployConfig};
use crate::domain::outcome::{OutcomeKind, ServiceResult};
use crate::executor::{log, progressive, rolling, DeployReport, Ports};
use crate::github::commands;
use crate::github::markdown;
use crate::github::runtime::Runtime;
use crate::http::HttpSmokeCheck;
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
    let cfg = match validate(&raw, context, config::region_from_env()) {
        Ok(cfg) => cfg,
        Err(errors) => {
            for e in &errors {
                println!(
                    "{}",
                    commands::error(&format!("Invalid input: {}", e.input), &e.to_string())
                );
            }
            let reason = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            let _ = rt.set_outputs(&[("outcome", "invalid-input".to_string()), ("rolled-back-reason", reason)]);
            return 2;
        }
    };

    let (cancel_tx, mut cancel) = tokio::sync::watch::channel(false);
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

    let sdk = sdk_config(&cfg.region).await;
    let ecs = EcsAdapter::new(&sdk);
    let registry = EcrRegistry::new(&sdk);
    let router = ElbRouter::new(&sdk);
    let metrics = CloudWatchMetrics::new(&sdk);
    let reporter = reporter(&cfg);
    let stage = cfg.stage.clone().unwrap_or_else(|| "deploy".to_string());
    let ports = Ports {
        ecs: &ecs,
        registry: &registry,
        clock: &SystemClock,
        router: &router,
        metrics: &metrics,
        smoke: &HttpSmokeCheck,
        reporter: reporter.as_ref(),
        stage: stage.clone(),
    };
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

/// GitHub reporting when a token and a repository are known; otherwise none.
fn reporter(_cfg: &DeployConfig) -> Box<dyn Reporter> {
    Box::new(NoReporter)
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
        ("rolled-back-reason", outcome.reason.clone().unwrap_or_default()),
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
