//! Drives a deployment through the ports: the only place that sequences side effects.

pub mod cancel;
pub mod chain;
pub mod images;
pub mod lock;
pub mod log;
pub mod two_slot;
/// The two-slot strategies, under the name the rest of the code knew them by.
pub use two_slot as progressive;
pub mod rolling;
pub mod wait;

use tokio::sync::watch;

use crate::domain::analysis::TargetGroupMetrics;
use crate::domain::outcome::Outcome;
use crate::ports::{Clock, Ecs, Metrics, Registry, Reporter, SmokeCheck, TrafficRouter};

/// The adapters a run uses.
pub struct Ports<'a> {
    pub ecs: &'a dyn Ecs,
    pub registry: &'a dyn Registry,
    pub clock: &'a dyn Clock,
    pub router: &'a dyn TrafficRouter,
    pub metrics: &'a dyn Metrics,
    pub smoke: &'a dyn SmokeCheck,
    pub reporter: &'a dyn Reporter,
    /// The stage name reports use.
    pub stage: String,
}

/// The outcome plus what the reports show about the run.
#[derive(Debug, Clone)]
pub struct DeployReport {
    pub outcome: Outcome,
    pub image: String,
    pub digest: Option<String>,
    pub strategy: String,
    /// One entry per traffic step (empty for rolling deploys).
    pub timeline: Vec<StepRecord>,
    /// The plan the run followed (None when it failed before one was made).
    pub plan: Option<crate::domain::plan::Plan>,
    /// Indices into the plan's steps of the steps this run executed, in order.
    pub executed: Vec<usize>,
}

/// What happened at one traffic step, for the timeline and chart.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub weight: u8,
    pub seconds: f64,
    pub canary: Option<TargetGroupMetrics>,
    pub verdict: String,
}

/// Flips to `true` when the runner asks us to stop (SIGINT, SIGTERM, SIGHUP).
pub type Cancel = watch::Receiver<bool>;
