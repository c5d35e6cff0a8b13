//! Thin: read the environment, build the adapters, run, map the outcome to outputs and an exit
//! code. Exit codes: 0 success, 1 deployment failed or cancelled, 2 invalid input.

use std::process::ExitCode;

use ecs_deploy_action::aws::{
    cloudwatch::CloudWatchMetrics, ecr::EcrRegistry, ecs::EcsAdapter, elbv2::ElbRouter, sdk_config,
};
use ecs_deploy_action::config::{self, validate};
use ecs_deploy_action::executor::{log, progressive, rolling, Ports};
use ecs_deploy_action::github::commands;
use ecs_deploy_action::github::runtime::Runtime;
use ecs_deploy_action::http::HttpSmokeCheck;
use ecs_deploy_action::ports::SystemClock;
use ecs_deploy_action::report;

fn main() -> ExitCode {
    // Two TLS stacks are linked (the AWS SDK's and octocrab's); name the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!(
                "{}",
                commands::error("Cannot start", &format!("could not start the async runtime: {e}"))
            );
            return ExitCode::from(1);
        }
    };
    ExitCode::from(runtime.block_on(run()))
}

async fn run() -> u8 {
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
            "received a stop signal: putting every service back on its previous task definition",
        );
        let _ = cancel_tx.send(true);
        // Stay alive so the receiver is not dropped; a second signal changes nothing.
        std::future::pending::<()>().await;
    });

    let sdk = sdk_config(&cfg.region).await;
    let ecs = EcsAdapter::new(&sdk);
    let registry = EcrRegistry::new(&sdk);
    let clock = SystemClock;
    let router = ElbRouter::new(&sdk);
    let metrics = CloudWatchMetrics::new(&sdk);
    let smoke = HttpSmokeCheck;
    let ports = Ports {
        ecs: &ecs,
        registry: &registry,
        clock: &clock,
        router: &router,
        metrics: &metrics,
        smoke: &smoke,
    };

    let result = match &cfg.progressive {
        Some(pc) => progressive::deploy(&cfg, pc, &ports, &mut cancel).await,
        None => rolling::deploy(&cfg, &ports, &mut cancel).await,
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            // Preflight and registration errors: nothing was changed, or what was is rolled back.
            log::error("Deploy failed before any service changed", &e.to_string());
            let _ = rt.set_outputs(&[
                ("outcome", "failure".to_string()),
                ("rolled-back-reason", e.to_string()),
            ]);
            let _ = rt.append_summary(&format!(
                "## ❌ ecs-deploy: failure\n\n{}\n",
                ecs_deploy_action::github::markdown::escape(&e.to_string())
            ));
            return 1;
        }
    };

    let outcome = &report.outcome;
    let arns = |f: fn(&ecs_deploy_action::domain::outcome::ServiceResult) -> Option<String>| {
        outcome.services.iter().filter_map(f).collect::<Vec<_>>().join("\n")
    };
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
        &report,
        &report::SummaryContext {
            cluster: &cfg.cluster,
            stage: cfg.stage.as_deref(),
            version: cfg.version.as_ref().map(|v| format!("v{v}")),
            run_url: cfg.context.run_url(),
        },
    );
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
        ecs_deploy_action::domain::outcome::OutcomeKind::Paused => {
            log::info(outcome.reason.as_deref().unwrap_or("paused"));
        }
        ecs_deploy_action::domain::outcome::OutcomeKind::Success => {
            log::info(&format!(
                "deployed {} to {} service(s)",
                report.image,
                outcome.services.len()
            ));
        }
        _ => log::error(
            &format!("Deploy {}", outcome.kind.as_output()),
            outcome.reason.as_deref().unwrap_or("see the job summary"),
        ),
    }
    outcome.exit_code() as u8
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
