//! Reports of a stage and the approval gates in front of it.

use async_trait::async_trait;

/// What a stage is, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StageStart {
    /// `dev`, `staging`, `prod`, … (the `stage` input, or `deploy` when none is given).
    pub stage: String,
    pub strategy: String,
    pub cluster: String,
    pub services: Vec<String>,
    pub image: String,
    pub version: Option<String>,
    /// Where the stage can be visited (the chain file's `url`), for deployment statuses and
    /// the PR comment.
    pub environment_url: Option<String>,
    /// The stage's GitHub environment (the chain file's `environment`, else the stage's
    /// name; the `stage` input in a single-stage run). None: no deployment is recorded.
    pub environment: Option<String>,
}

/// Where people watch a deployment: GitHub check runs, the sticky PR comment, deployment
/// statuses. A reporter never fails a deployment: it warns and carries on, so it returns
/// nothing. Implementations coalesce `progress` calls to stay far below GitHub's write limits.
#[async_trait]
pub trait Reporter: Send + Sync {
    async fn started(&self, stage: &StageStart);
    /// One line of live progress (current weight, last verdict, counts).
    async fn progress(&self, stage: &str, line: &str);
    /// The end of the stage: the report and the job-summary Markdown already rendered.
    async fn finished(&self, stage: &str, report: &crate::domain::report::DeployReport, summary_markdown: &str);
    /// The stage failed outside a deployment's report: before it started (preflight,
    /// registration), or, `changed`, after the run had changed it (the error says what runs
    /// now and how to recover).
    async fn failed_early(&self, stage: &str, error: &str, changed: bool, summary_markdown: &str);
}

/// Reports nothing (no token, or a local run).
pub struct NoReporter;

#[async_trait]
impl Reporter for NoReporter {
    async fn started(&self, _: &StageStart) {}
    async fn progress(&self, _: &str, _: &str) {}
    async fn finished(&self, _: &str, _: &crate::domain::report::DeployReport, _: &str) {}
    async fn failed_early(&self, _: &str, _: &str, _: bool, _: &str) {}
}

/// An environment's protection, as GitHub says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub required_reviewers: bool,
    pub wait_timer_minutes: u32,
    /// Deployment branch policies: a job that walks into the environment would bypass them.
    pub branch_policy: bool,
    /// Enabled custom deployment protection rules (GitHub Apps, by slug), and rule types this
    /// reader does not know: each one a gate, never assumed open.
    pub other_rules: Vec<String>,
}

impl Protection {
    pub fn gated(&self) -> bool {
        self.required_reviewers || self.wait_timer_minutes > 0 || self.branch_policy || !self.other_rules.is_empty()
    }

    /// "required reviewers, a 30-minute wait timer, the custom rule change-freeze".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.required_reviewers {
            parts.push("required reviewers".to_string());
        }
        if self.wait_timer_minutes > 0 {
            parts.push(format!("a {}-minute wait timer", self.wait_timer_minutes));
        }
        if self.branch_policy {
            parts.push("a deployment branch policy".to_string());
        }
        parts.extend(self.other_rules.iter().cloned());
        parts.join(", ")
    }
}

/// GitHub environments: the approval gates between stages.
#[async_trait]
pub trait Gates: Send + Sync {
    /// `Ok(None)`: the environment does not exist (so nothing protects it).
    async fn protection(&self, environment: &str) -> Result<Option<Protection>, String>;
}
