//! Drives a deployment through the ports: the only place that sequences side effects.

pub mod batches;
pub mod cancel;
pub mod capabilities;
pub mod chain;
pub mod codedeploy;
pub mod images;
pub mod interpret;
pub mod links;
pub mod lock;
pub mod log;
pub mod native;
pub mod one_off;
pub mod readback;
pub mod retry;
pub mod revisions;
pub mod scaling;
pub mod server_side;
pub mod two_slot;
/// The two-slot strategies, under the name the rest of the code knew them by.
pub use two_slot as progressive;
pub mod rolling;
pub mod wait;

use tokio::sync::watch;

use crate::ports::{AutoScaling, Clock, Ecs, LockStore, Metrics, Registry, Reporter, SmokeCheck, TrafficRouter};

/// The adapters a run uses.
pub struct Ports<'a> {
    pub ecs: &'a dyn Ecs,
    pub registry: &'a dyn Registry,
    pub clock: &'a dyn Clock,
    pub router: &'a dyn TrafficRouter,
    pub metrics: &'a dyn Metrics,
    pub smoke: &'a dyn SmokeCheck,
    pub autoscaling: &'a dyn AutoScaling,
    /// The deploy lock's store (Parameter Store on AWS).
    pub locks: &'a dyn LockStore,
    pub reporter: &'a dyn Reporter,
    /// The stage name reports use.
    pub stage: String,
}

pub use crate::domain::report::{DeployReport, StepRecord};

/// How long since `since`, on the run's clock (real or fake).
pub fn elapsed(ports: &Ports<'_>, since: std::time::SystemTime) -> std::time::Duration {
    ports.clock.now().duration_since(since).unwrap_or_default()
}

/// Flips to `true` when the runner asks us to stop (SIGINT, SIGTERM, SIGHUP).
pub type Cancel = watch::Receiver<bool>;

/// Deploys one stage. Which controller: two slots when the settings name a two-slot strategy,
/// otherwise the one the services' own configuration selects (`domain::controller`, decided
/// by `rolling::deploy` once it has read them, before any change).
pub async fn deploy(
    cfg: &crate::domain::settings::DeployConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
) -> Result<DeployReport, crate::error::Error> {
    match &cfg.progressive {
        Some(pc) => two_slot::deploy(cfg, pc, ports, cancel).await,
        None => rolling::deploy(cfg, ports, cancel).await,
    }
}
