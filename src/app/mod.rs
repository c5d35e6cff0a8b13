//! One run of the action, one pipeline: env → config (flat inputs are a one-stage chain) →
//! adapters → the stages → one finish that writes the outputs once and closes every stage's
//! reports, on success and on failure.

mod adapters;
mod finish;
mod revision;

use crate::config::chain_file::{ChainFile, StageFile};
use crate::config::notify::Webhook;
use crate::config::report_channels::ReportChannels;
use crate::config::validate::ContainerImages;
use crate::config::{self, validate, DeployConfig};
use crate::domain::outcome::OutcomeKind;
use crate::domain::settings::{ReleaseRun, StagePlan};
use crate::executor::chain::{self, ChainReport};
use crate::executor::{log, Ports};
use crate::github::commands;
use crate::github::environments::{GithubGates, UnknownGates};
use crate::github::runtime::Runtime;
use crate::github::GitHubReporter;
use crate::ports::Gates;
use crate::ports::{NoReporter, Reporter, StageStart};
use crate::webhooks::{Reporters, WebhookReporter};
use adapters::{Adapters, StageRoles};

/// How the run was asked for: a chain (a config file, or a command other than deploy) or a
/// single stage from flat inputs. Both end in the same finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Chain,
    Flat,
}

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
    // Mask the token and the webhook URLs before anything else is printed.
    let secrets = config::inputs::given(&raw.github_token)
        .into_iter()
        .chain(config::notify::secrets(&raw));
    for secret in secrets {
        for line in commands::add_mask(secret) {
            println!("{line}");
        }
    }
    let rt = Runtime::new(context.output.clone(), context.step_summary.clone());
    // The action-wide inputs; their errors are reported with the stage inputs' (all at once).
    let mut early = Vec::new();
    let context = match context.clone().with_commit(&raw) {
        Ok(c) => c,
        Err(e) => {
            early.push(e);
            context
        }
    };
    let webhooks = config::notify::webhooks(&raw).unwrap_or_else(|e| {
        early.push(e);
        Vec::new()
    });
    let channels = config::report_channels::report_channels(&raw).unwrap_or_else(|e| {
        early.push(e);
        Default::default()
    });
    let notify_context = context.clone();
    let mode = if config::inputs::given(&raw.config).is_some()
        || config::inputs::given(&raw.command).is_some_and(|c| c != "deploy")
    {
        Mode::Chain
    } else {
        Mode::Flat
    };
    // Everything validated before the first AWS call.
    let (file, mut run) = match mode {
        Mode::Chain => {
            let file = match chain_file(&raw, &rt, &early) {
                Ok(f) => f,
                Err(code) => return code,
            };
            match config::stages::release_run(&file, &raw, &context, config::region_from_env()) {
                Ok(run) if early.is_empty() => (Some(file), run),
                Ok(_) => return invalid(&rt, &early),
                Err(errors) => return invalid(&rt, &[early, errors].concat()),
            }
        }
        Mode::Flat => match validate(&raw, context, config::region_from_env()) {
            Ok(_) if !early.is_empty() => return invalid(&rt, &early),
            Ok(cfg) => (None, ReleaseRun::single(StagePlan::single(cfg))),
            Err(errors) => return invalid(&rt, &[early, errors].concat()),
        },
    };

    let scale = config::time_scale_from_env();
    for stage in run.all_stages_mut() {
        stage.cfg.aws_time_scale = scale;
        if let Some(pc) = stage.cfg.progressive.as_mut() {
            pc.scale_metrics_clock(scale);
        }
        if let Some(n) = stage.cfg.native.as_mut() {
            n.analysis.scale_metrics_clock(scale);
        }
    }
    let mut cancel = cancel_on_signal();
    let adapters = Adapters::new(&run.stages[0].cfg.region, None).await;
    let stage_roles = StageRoles::new(&run).await;
    let mut notify_context = notify_context;
    // Only for an image the run names: a chain stage's stand-in (`<repo>:chain`, until the
    // promoted digest is known) names none.
    let named = revision::named_image(&raw, file.as_ref(), &run.stages[0].cfg);
    if let (None, Some((location, reference))) = (config::inputs::given(&raw.commit), named) {
        if let Some(sha) = revision::image_commit(&adapters.registry, &location, &reference).await {
            for stage in run.all_stages_mut() {
                stage.cfg.context = stage.cfg.context.clone().with_revision(&sha);
            }
            notify_context = notify_context.with_revision(&sha);
        }
    }
    let plans = &run.stages;
    let first = &plans[0].cfg;
    let reporter = reporter(first, channels, webhooks, &notify_context);
    let ports = adapters.ports(reporter.as_ref(), &plans[0].name, &adapters.registry);
    let by_role = stage_roles.ports(reporter.as_ref(), &plans[0].name, &adapters.registry);
    let report = match &file {
        Some(_) => {
            let gates = gates(first);
            let stage_ports = chain::StagePorts {
                default: &ports,
                by_role: &by_role,
            };
            chain::run(&run, &stage_ports, gates.as_ref(), &mut cancel).await
        }
        None => {
            let stage_ports = chain::StagePorts {
                default: &ports,
                by_role: &by_role,
            };
            one_stage(&plans[0], stage_ports.of(&plans[0].cfg), &mut cancel).await
        }
    };
    finish::finish(&rt, reporter.as_ref(), plans, &report, (mode, channels.summary)).await
}

/// A single stage from flat inputs, deployed as given (no promotion records).
async fn one_stage(stage: &StagePlan, ports: &Ports<'_>, cancel: &mut crate::executor::Cancel) -> ChainReport {
    let cfg = &stage.cfg;
    ports.reporter.started(&stage_start(cfg, &stage.name)).await;
    let result = crate::executor::deploy(cfg, ports, cancel).await;
    if let Ok(r) = &result {
        // How it ended, on each new revision (they say `pending` until then).
        crate::executor::chain::record_end(ports, r).await;
        crate::executor::revisions::prune(cfg, ports, r).await;
    }
    let version = cfg.version.as_ref().map(|v| format!("v{v}"));
    match result {
        Ok(r) => ChainReport {
            kind: r.outcome.kind,
            digest: r.digest.clone(),
            version,
            reason: r.outcome.reason.clone(),
            stages: vec![(stage.name.clone(), r)],
            ..Default::default()
        },
        // Preflight and registration errors: nothing was changed, or what was is put back;
        // an error after a change (Error::AfterChange) says what runs now.
        Err(e) => ChainReport {
            kind: OutcomeKind::Failure,
            version,
            reason: Some(e.to_string()),
            failed_before_start: Some((stage.name.clone(), e.to_string())),
            failed_after_change: e.after_change(),
            ..Default::default()
        },
    }
}

/// The chain file named by `config`, or one stage made of the inputs.
/// `early`: errors of the action-wide inputs, reported with the file's.
fn chain_file(raw: &config::RawInputs, rt: &Runtime, early: &[config::InputError]) -> Result<ChainFile, u8> {
    Ok(match config::inputs::given(&raw.config) {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match ChainFile::parse(&text, path) {
                Ok(f) => f,
                Err(e) => return Err(invalid(rt, &[early, &[e]].concat())),
            },
            Err(e) => {
                let e = config::InputError::new(
                    "config",
                    format!("cannot read {path}: {e}"),
                    "check the path (relative to the repository root)",
                );
                return Err(invalid(rt, &[early, &[e]].concat()));
            }
        },
        // Without a file: one stage made of the inputs.
        None => ChainFile {
            repository: None,
            resume_workflow: None,
            images: Default::default(),
            metrics: vec![],
            stages: vec![StageFile {
                name: config::inputs::given(&raw.stage).unwrap_or("deploy").to_string(),
                environment: None,
                url: None,
                aws_role: None,
                version: None,
                metrics: vec![],
                inputs: Default::default(),
            }],
        },
    })
}

/// GitHub's environment protection, for the approval gates between stages.
fn gates(first: &DeployConfig) -> Box<dyn Gates> {
    match (&first.github_token, &first.context.repository) {
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

/// GitHub reporting when a token and a repository are known; otherwise none. A client that
/// cannot be built is a warning: reporting is never a reason to fail a deploy.
/// Webhook notifications, when any are configured, go beside it.
fn reporter(
    cfg: &DeployConfig,
    channels: ReportChannels,
    webhooks: Vec<Webhook>,
    ctx: &config::GithubContext,
) -> Box<dyn Reporter> {
    let github: Box<dyn Reporter> = match GitHubReporter::from_config(cfg, channels) {
        Some(Ok(r)) => Box::new(r),
        Some(Err(e)) => {
            log::warning("GitHub reporting off", &e.to_string());
            Box::new(NoReporter)
        }
        None => Box::new(NoReporter),
    };
    if webhooks.is_empty() {
        return github;
    }
    Box::new(Reporters(vec![github, Box::new(WebhookReporter::new(webhooks, ctx))]))
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
        environment: cfg.stage.clone(),
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
