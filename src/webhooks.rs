//! Notifications to Slack-compatible and generic JSON webhooks, as a `Reporter` beside GitHub's.
//! A notification is never fatal and never holds the deploy: the start is posted in the
//! background, the end waits at most `POST_TIMEOUT`, and a failure is one warning that names
//! the input, never the URL (which is a credential).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::notification::{json_body, slack_body, Event, Notice};
use crate::domain::report::DeployReport;
use crate::domain::settings::GithubContext;
use crate::domain::settings::{Webhook, WebhookKind};
use crate::ports::log;
use crate::ports::{Reporter, StageStart};

/// The longest one post may take, connection included.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

pub struct WebhookReporter {
    hooks: Vec<Webhook>,
    repository: Option<String>,
    sha: Option<String>,
    run_url: Option<String>,
    /// Each stage's start, for the facts its end is reported with.
    stages: Mutex<HashMap<String, StageStart>>,
    /// Posts still in flight (the starts), awaited before the end is posted.
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl WebhookReporter {
    pub fn new(hooks: Vec<Webhook>, ctx: &GithubContext) -> WebhookReporter {
        WebhookReporter {
            hooks,
            repository: ctx.repository.clone(),
            sha: ctx.sha.clone(),
            run_url: ctx.run_url(),
            stages: Mutex::default(),
            pending: Mutex::default(),
        }
    }

    fn notice(&self, event: Event, stage: &str, report: Option<&DeployReport>, reason: Option<String>) -> Notice {
        let start = self.stages.lock().ok().and_then(|s| s.get(stage).cloned());
        Notice {
            event,
            stage: stage.to_string(),
            strategy: report
                .map(|r| r.strategy.clone())
                .or_else(|| start.as_ref().map(|s| s.strategy.clone()))
                .unwrap_or_default(),
            cluster: start.as_ref().map(|s| s.cluster.clone()).unwrap_or_default(),
            services: start.as_ref().map(|s| s.services.clone()).unwrap_or_default(),
            image: report
                .map(|r| r.image.clone())
                .or_else(|| start.as_ref().map(|s| s.image.clone()))
                .unwrap_or_default(),
            version: start.and_then(|s| s.version),
            reason,
            repository: self.repository.clone(),
            sha: self.sha.clone(),
            run_url: self.run_url.clone(),
        }
    }

    fn spawn_posts(&self, notice: &Notice) -> Vec<tokio::task::JoinHandle<()>> {
        self.hooks
            .iter()
            .map(|hook| {
                let body = match hook.kind {
                    WebhookKind::Slack => slack_body(notice),
                    WebhookKind::Json => json_body(notice),
                };
                let hook = hook.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(why) = post(&hook.url, &body) {
                        let input = match hook.kind {
                            WebhookKind::Slack => "slack-webhook-url",
                            WebhookKind::Json => "webhook-url",
                        };
                        log::warning("Notification not sent", &format!("{input}: {why}; the deploy goes on"));
                    }
                })
            })
            .collect()
    }

    /// The end of a stage: the starts first (so a channel reads them in order), then the end,
    /// each bounded.
    async fn post_and_wait(&self, notice: Notice) {
        let earlier: Vec<_> = self
            .pending
            .lock()
            .map(|mut p| p.drain(..).collect())
            .unwrap_or_default();
        for handle in earlier.into_iter().chain(self.spawn_posts(&notice)) {
            let _ = tokio::time::timeout(POST_TIMEOUT + Duration::from_secs(1), handle).await;
        }
    }
}

/// One POST; the error says what happened without the URL (ureq's messages can quote it).
fn post(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(POST_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    match agent.post(url).send_json(body) {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the webhook answered HTTP {}", r.status().as_u16())),
        Err(ureq::Error::Timeout(_)) => Err(format!(
            "the webhook did not answer within {} s",
            POST_TIMEOUT.as_secs()
        )),
        Err(_) => Err("the webhook could not be reached".into()),
    }
}

#[async_trait]
impl Reporter for WebhookReporter {
    async fn started(&self, stage: &StageStart) {
        if let Ok(mut s) = self.stages.lock() {
            s.insert(stage.stage.clone(), stage.clone());
        }
        let notice = self.notice(Event::Started, &stage.stage, None, None);
        let handles = self.spawn_posts(&notice);
        if let Ok(mut p) = self.pending.lock() {
            p.extend(handles);
        }
    }

    async fn progress(&self, _: &str, _: &str) {}

    async fn finished(&self, stage: &str, report: &DeployReport, _: &str) {
        let notice = self.notice(Event::of(report), stage, Some(report), report.outcome.reason.clone());
        self.post_and_wait(notice).await;
    }

    async fn failed_early(&self, stage: &str, error: &str, changed: bool, _: &str) {
        // After a change someone has to look; before one there is nothing to undo.
        let event = if changed {
            Event::Failed
        } else {
            Event::FailedBeforeChange
        };
        let notice = self.notice(event, stage, None, Some(error.to_string()));
        self.post_and_wait(notice).await;
    }
}

/// Several reporters as one, called in order (each already never fails).
pub struct Reporters(pub Vec<Box<dyn Reporter>>);

#[async_trait]
impl Reporter for Reporters {
    async fn started(&self, stage: &StageStart) {
        for r in &self.0 {
            r.started(stage).await;
        }
    }
    async fn progress(&self, stage: &str, line: &str) {
        for r in &self.0 {
            r.progress(stage, line).await;
        }
    }
    async fn finished(&self, stage: &str, report: &DeployReport, md: &str) {
        for r in &self.0 {
            r.finished(stage, report, md).await;
        }
    }
    async fn failed_early(&self, stage: &str, error: &str, changed: bool, md: &str) {
        for r in &self.0 {
            r.failed_early(stage, error, changed, md).await;
        }
    }
}
