//! What a deployment reports: the outcome plus the plan it followed and its traffic steps.
//! A domain value, so the ports, the reports and the executor all share it without importing
//! one another.

use super::analysis::TargetGroupMetrics;
use super::outcome::{Outcome, OutcomeKind};
use super::plan::Plan;

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
    pub plan: Option<Plan>,
    /// Indices into the plan's steps of the steps this run executed, in order.
    pub executed: Vec<usize>,
    /// The analysis's limits, for the chart (None: no analysis ran).
    pub limits: Option<super::analysis::Thresholds>,
    /// What serves production as the run ended, read back from AWS (None: not read).
    pub production: Option<super::production::Production>,
    /// (label, AWS console URL) of what the run touched: services, target groups, alarms, image.
    pub links: Vec<(String, String)>,
}

/// What happened at one traffic step, for the timeline and chart.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub weight: u8,
    /// When the step's weight was set (None: not known, e.g. a fixture).
    pub started_at: Option<std::time::SystemTime>,
    pub seconds: f64,
    pub canary: Option<TargetGroupMetrics>,
    pub verdict: String,
    /// The numbers behind a `judge: compare` verdict (None with the threshold judge).
    pub comparison: Option<Comparison>,
}

/// The canary against the stable version at a step's last look (`judge: compare`): the
/// rollout's sequential evidence on the error rates so far, and on the requests slower than
/// the stable version's p99 from before the rollout once that limit is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub errors: super::sequential::Reading,
    pub latency: Option<SlowerReading>,
}

/// The latency comparison's evidence, and the limit its requests were counted slower than.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowerReading {
    pub reading: super::sequential::Reading,
    pub limit_ms: f64,
}

/// What a chain run did.
#[derive(Debug, Clone, Default)]
pub struct ChainReport {
    pub kind: OutcomeKind,
    /// Each stage that ran, with its report.
    pub stages: Vec<(String, DeployReport)>,
    pub digest: Option<String>,
    /// A multi-image release's components, `container=repository@digest` one per line.
    pub images: Option<String>,
    pub version: Option<String>,
    pub next_stage: Option<String>,
    /// Human lines for the log, summary and outputs (gates, plan, notes).
    pub message: Vec<String>,
    pub reason: Option<String>,
    /// A stage that failed or was refused before its deployment began: (stage, why). Its
    /// reports are closed as a failure like any other's.
    pub failed_before_start: Option<(String, String)>,
    /// That failure came after the run had changed the stage (`Error::AfterChange`): reports
    /// say so, and say what runs now, instead of "stopped before any change".
    pub failed_after_change: bool,
}
