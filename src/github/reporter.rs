//! `GitHubReporter`: the `Reporter` port on GitHub. Each stage event goes to the three channels
//! at once (check run, sticky PR comment, deployment), so a slow channel costs the deploy one
//! request timeout at most, never the sum. Live progress goes to the check run only, at most
//! once per [`PROGRESS_INTERVAL`] for the first [`FAST_UPDATES`], then once per
//! [`SLOW_INTERVAL`]: a 5-step canary with 5-minute bakes stays around 40 writes per stage over
//! 25 minutes, far below GitHub's 80 writes a minute; a short one makes about ten.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::channel::{Channel, Channels};
use super::checks::{self, CheckRuns};
use super::client::{Client, ClientError, DEFAULT_API_URL};
use super::comment::{Row, StickyComment};
use super::deployments::{self, Deployments};
use super::event::RunInfo;
use super::markdown::plain;
use crate::domain::report::DeployReport;
use crate::domain::settings::DeployConfig;
use crate::ports::{Reporter, StageStart};

/// The shortest time between two live updates of a check run.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);
/// Live updates sent at [`PROGRESS_INTERVAL`] before the pace drops to [`SLOW_INTERVAL`].
pub const FAST_UPDATES: usize = 12;
pub const SLOW_INTERVAL: Duration = Duration::from_secs(60);
/// Progress lines shown in a live check run.
const PROGRESS_LINES: usize = 15;

pub struct GitHubReporter {
    client: Client,
    info: RunInfo,
    channels: Channels,
    checks: CheckRuns,
    comment: StickyComment,
    deployments: Deployments,
    stages: Mutex<HashMap<String, StageRun>>,
}

struct StageRun {
    start: StageStart,
    began: Instant,
    lines: VecDeque<String>,
    last_write: Option<Instant>,
    /// Live updates sent so far.
    live_updates: usize,
}

/// Whether a live update may go out now, after `sent` live updates.
pub fn due(last_write: Option<Instant>, sent: usize, now: Instant) -> bool {
    let interval = if sent < FAST_UPDATES {
        PROGRESS_INTERVAL
    } else {
        SLOW_INTERVAL
    };
    last_write.is_none_or(|last| now.saturating_duration_since(last) >= interval)
}

impl GitHubReporter {
    pub fn new(info: RunInfo, api_url: &str, token: &str) -> Result<GitHubReporter, ClientError> {
        Ok(GitHubReporter {
            client: Client::new(api_url, token)?,
            info,
            channels: Channels::default(),
            checks: CheckRuns::default(),
            comment: StickyComment::default(),
            deployments: Deployments::default(),
            stages: Mutex::new(HashMap::new()),
        })
    }

    /// The reporter for a run, when it has a token, a repository and a commit; `None` otherwise
    /// (a local run), and an error when the client cannot be built.
    pub fn from_config(
        cfg: &DeployConfig,
        on: crate::domain::settings::ReportChannels,
    ) -> Option<Result<GitHubReporter, ClientError>> {
        let token = cfg.github_token.as_deref().filter(|t| !t.is_empty())?;
        let info = RunInfo::from_context(&cfg.context)?;
        let api = cfg
            .context
            .api_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_API_URL);
        let elsewhere = cfg.context.commit_repository.clone();
        Some(GitHubReporter::new(info, api, token).inspect(|r| {
            if let Some(repo) = &elsewhere {
                r.channels.report_elsewhere(repo);
            }
            for (enabled, ch) in [
                (on.checks, Channel::CheckRuns),
                (on.comment, Channel::Comment),
                (on.comment, Channel::PullLookup),
                (on.deployments, Channel::Deployments),
            ] {
                if !enabled {
                    r.channels.switch_off(ch);
                }
            }
        }))
    }

    /// The writes (POST, PATCH) sent so far.
    pub fn writes(&self) -> usize {
        self.client.writes()
    }

    fn row(
        &self,
        start: Option<&StageStart>,
        stage: &str,
        outcome: &str,
        report: Option<&DeployReport>,
        secs: Option<u64>,
    ) -> Row {
        Row {
            stage: plain(stage, 100),
            outcome: outcome.to_string(),
            version: start.and_then(|s| s.version.as_deref()).map(|v| plain(v, 100)),
            digest: report.and_then(|r| r.digest.as_deref()).map(|d| plain(d, 80)),
            strategy: plain(
                report
                    .map(|r| r.strategy.as_str())
                    .or(start.map(|s| s.strategy.as_str()))
                    .unwrap_or(""),
                40,
            ),
            sha: self.info.sha.clone(),
            seconds: secs,
            run_url: self.info.run_url.clone(),
            environment_url: start.and_then(|s| s.environment_url.clone()),
            reason: report
                .filter(|r| r.outcome.kind != crate::domain::outcome::OutcomeKind::Success)
                .and_then(|r| r.outcome.reason.as_deref())
                .map(|r| plain(r, 160)),
            updated_at: Some(now_utc()),
        }
    }

    /// The stage's start and how long it has run, if `started` was called.
    fn stage_info(&self, stage: &str) -> (Option<StageStart>, Option<u64>) {
        match self.stages.lock() {
            Ok(s) => match s.get(stage) {
                Some(r) => (Some(r.start.clone()), Some(r.began.elapsed().as_secs())),
                None => (None, None),
            },
            Err(_) => (None, None),
        }
    }
}

#[async_trait]
impl Reporter for GitHubReporter {
    #[allow(clippy::disallowed_methods)] // GitHub's write pacing is real time, whatever clock the deploy runs on
    async fn started(&self, start: &StageStart) {
        if let Ok(mut s) = self.stages.lock() {
            s.insert(
                start.stage.clone(),
                StageRun {
                    start: start.clone(),
                    began: Instant::now(),
                    lines: VecDeque::new(),
                    last_write: Some(Instant::now()),
                    live_updates: 0,
                },
            );
        }
        let output = checks::progress_output(&self.info, start, &[]);
        let row = self.row(Some(start), &start.stage, "in-progress", None, None);
        let (c, i, e) = (&self.client, &self.info, &self.channels);
        tokio::join!(
            self.checks.create(c, e, i, &start.stage, &output),
            self.deployments.start(c, e, i, start),
            self.comment.upsert(c, e, i, row, false),
        );
    }

    #[allow(clippy::disallowed_methods)] // GitHub's write pacing is real time, whatever clock the deploy runs on
    async fn progress(&self, stage: &str, line: &str) {
        let output = {
            let Ok(mut stages) = self.stages.lock() else {
                return;
            };
            let Some(run) = stages.get_mut(stage) else {
                return;
            };
            run.lines.push_back(line.to_string());
            while run.lines.len() > PROGRESS_LINES {
                run.lines.pop_front();
            }
            let now = Instant::now();
            if !due(run.last_write, run.live_updates, now) {
                return;
            }
            run.last_write = Some(now);
            run.live_updates += 1;
            let lines: Vec<String> = run.lines.iter().cloned().collect();
            checks::progress_output(&self.info, &run.start, &lines)
        };
        self.checks
            .update(&self.client, &self.channels, &self.info, stage, &output)
            .await;
    }

    async fn finished(&self, stage: &str, report: &DeployReport, summary_markdown: &str) {
        let (start, secs) = self.stage_info(stage);
        let start_or_report = start.clone().unwrap_or_else(|| start_from(stage, report));
        let completion = checks::final_output(&self.info, start.as_ref(), stage, report, summary_markdown);
        let kind = report.outcome.kind;
        let outcome = kind.as_output();
        let row = self.row(start.as_ref(), stage, outcome, Some(report), secs);
        let description = match &report.outcome.reason {
            Some(r) => format!("{outcome}: {r}"),
            None => format!("{} of {}: {outcome}", report.strategy, report.image),
        };
        let (c, i, e) = (&self.client, &self.info, &self.channels);
        let deployment = async {
            if let Some(state) = deployments::final_state(kind) {
                self.deployments
                    .finish(c, e, i, &start_or_report, state, &description)
                    .await;
            }
        };
        tokio::join!(
            self.checks.complete(c, e, i, stage, &completion),
            deployment,
            self.comment.upsert(c, e, i, row, true),
        );
    }

    async fn failed_early(&self, stage: &str, error: &str, changed: bool, summary_markdown: &str) {
        let (start, secs) = self.stage_info(stage);
        let completion = checks::early_output(&self.info, start.as_ref(), stage, (error, changed), summary_markdown);
        let row = self.row(start.as_ref(), stage, "failure", None, secs);
        let description = match changed {
            true => format!("failure after a change: {error}"),
            false => format!("failure before the deploy: {error}"),
        };
        let (c, i, e) = (&self.client, &self.info, &self.channels);
        let deployment = async {
            // Only a stage that was announced has a deployment to close.
            if let Some(start) = &start {
                self.deployments.finish(c, e, i, start, "failure", &description).await;
            }
        };
        tokio::join!(
            self.checks.complete(c, e, i, stage, &completion),
            deployment,
            self.comment.upsert(c, e, i, row, true),
        );
    }
}

/// The wall-clock time for the comment's "Updated" column, to the minute, in UTC.
#[allow(clippy::disallowed_methods)] // a timestamp people read, not a duration the run waits on
fn now_utc() -> String {
    let t = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!("{} {} UTC", t.get(..10).unwrap_or(""), t.get(11..16).unwrap_or(""))
}

/// What a stage was, from its report, when `started` was not called for it.
fn start_from(stage: &str, report: &DeployReport) -> StageStart {
    StageStart {
        stage: stage.to_string(),
        strategy: report.strategy.clone(),
        cluster: String::new(),
        services: report.outcome.services.iter().map(|s| s.service.clone()).collect(),
        image: report.image.clone(),
        version: None,
        environment_url: None,
        environment: None,
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // these tests exercise real-time pacing and pools
mod tests {
    use super::*;

    #[test]
    fn live_updates_are_coalesced_and_bounded() {
        let t0 = Instant::now();
        assert!(due(None, 0, t0));
        assert!(!due(Some(t0), 0, t0 + Duration::from_secs(4)));
        assert!(due(Some(t0), 0, t0 + Duration::from_secs(5)));
        assert!(!due(Some(t0), FAST_UPDATES, t0 + Duration::from_secs(59)));
        // Count the updates of a run with a progress line every `every` seconds.
        let updates = |minutes: u64, every: u64| {
            let (mut last, mut sent) = (Some(t0), 0);
            for s in (every..=minutes * 60).step_by(every as usize) {
                let now = t0 + Duration::from_secs(s);
                if due(last, sent, now) {
                    last = Some(now);
                    sent += 1;
                }
            }
            sent
        };
        // A line a second for two minutes: 12 at 5 s, then one a minute.
        assert_eq!(updates(2, 1), 13);
        // A 5-step canary with 5-minute bakes and a 30 s analysis interval (25 minutes).
        let canary = updates(25, 30);
        assert!(canary <= 32, "{canary}");
    }

    #[tokio::test]
    async fn no_token_or_repository_means_no_reporter() {
        let cfg = |token: Option<&str>, repo: Option<&str>| {
            let mut pairs = vec![("cluster", "c"), ("services", "s"), ("image", "nginx:1")];
            pairs.push(("github-token", token.unwrap_or("")));
            let ctx = crate::domain::settings::GithubContext {
                repository: repo.map(str::to_string),
                sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
                ..Default::default()
            };
            crate::test_fixtures::settings(&pairs, ctx)
        };
        assert!(GitHubReporter::from_config(&cfg(None, Some("a/b")), Default::default()).is_none());
        assert!(GitHubReporter::from_config(&cfg(Some("t"), None), Default::default()).is_none());
        let _ = rustls::crypto::ring::default_provider().install_default();
        assert!(matches!(
            GitHubReporter::from_config(&cfg(Some("t"), Some("a/b")), Default::default()),
            Some(Ok(_))
        ));
    }
}
