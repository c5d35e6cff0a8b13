//! Drives a deployment through the ports: the only place that sequences side effects.

pub mod images;
pub mod log;
pub mod rolling;
pub mod wait;

use tokio::sync::watch;

use crate::ports::{Clock, Ecs, Registry};

/// The adapters a run uses.
pub struct Ports<'a> {
    pub ecs: &'a dyn Ecs,
    pub registry: &'a dyn Registry,
    pub clock: &'a dyn Clock,
}

/// Flips to `true` when the runner asks us to stop (SIGINT, SIGTERM, SIGHUP).
pub type Cancel = watch::Receiver<bool>;
