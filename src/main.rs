//! Thin: read the environment, build the adapters, run, exit. Exit codes: 0 success (or a
//! stop at an approval gate / pause), 1 deployment failed or cancelled, 2 invalid input.

use std::process::ExitCode;

use ecs_deploy_action::app;
use ecs_deploy_action::github::commands;

fn main() -> ExitCode {
    // Two TLS stacks are linked (the AWS SDK's and ours for GitHub); name the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Every log line, from every layer, goes through the Log port to the runner's stdout.
    ecs_deploy_action::ports::log::install(Box::new(commands::WorkflowLog));
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
    ExitCode::from(runtime.block_on(app::run()))
}
