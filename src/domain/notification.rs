//! What a deploy tells a chat channel or a webhook: one message when a stage starts and one when
//! it ends (succeeded, rolled back, failed, cancelled, paused, awaiting approval). Pure: the
//! adapter only posts the bytes. Everything that comes from outside the action (image
//! references, reasons that quote AWS or a PR) is escaped for Slack's mrkdwn, where `<…>` is a
//! link or a mention and `&` starts an entity.

use serde::Serialize;

use super::outcome::{OutcomeKind, RollbackResult, ServiceStatus};
use super::report::DeployReport;

/// What happened, as a stable machine-readable name (the JSON webhook's `event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Started,
    Succeeded,
    /// Failed, and every service is back on its previous revision with traffic on it.
    RolledBack,
    /// Failed and not (or not certainly) back where it was: someone has to look.
    Failed,
    Cancelled,
    Paused,
    AwaitingApproval,
    /// Stopped before changing anything (preflight, registration): nothing to undo.
    FailedBeforeChange,
}

impl Event {
    pub fn of(report: &DeployReport) -> Event {
        let o = &report.outcome;
        match o.kind {
            OutcomeKind::Success | OutcomeKind::Planned => Event::Succeeded,
            OutcomeKind::Cancelled => Event::Cancelled,
            OutcomeKind::Paused => Event::Paused,
            OutcomeKind::AwaitingApproval => Event::AwaitingApproval,
            OutcomeKind::Failure => {
                let restored = RollbackResult::restored;
                let all_back = !o.services.is_empty()
                    && o.services.iter().all(|s| match &s.status {
                        ServiceStatus::Deployed => false,
                        ServiceStatus::Failed { rollback, .. } => restored(rollback),
                        ServiceStatus::RolledBackWithOthers(r) | ServiceStatus::Cancelled(r) => restored(r),
                    });
                if all_back {
                    Event::RolledBack
                } else {
                    Event::Failed
                }
            }
        }
    }

    fn headline(&self) -> (&'static str, &'static str) {
        match self {
            Event::Started => (":rocket:", "started"),
            Event::Succeeded => (":white_check_mark:", "succeeded"),
            Event::RolledBack => (":leftwards_arrow_with_hook:", "rolled back"),
            Event::Failed => (":rotating_light:", "FAILED, not rolled back: needs a person"),
            Event::Cancelled => (":octagonal_sign:", "cancelled"),
            Event::Paused => (":double_vertical_bar:", "paused"),
            Event::AwaitingApproval => (":hourglass:", "awaiting approval"),
            Event::FailedBeforeChange => (":x:", "failed before any change (nothing to undo)"),
        }
    }
}

/// The facts every message carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub event: Event,
    pub stage: String,
    pub strategy: String,
    pub cluster: String,
    pub services: Vec<String>,
    pub image: String,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub repository: Option<String>,
    pub sha: Option<String>,
    pub run_url: Option<String>,
}

/// The generic webhook's body: the notice as JSON, with a schema version to evolve it.
pub fn json_body(n: &Notice) -> serde_json::Value {
    let mut v = serde_json::to_value(n).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("schema".into(), serde_json::json!("ecs-deploy-action/notification/v1"));
    }
    v
}

/// A Slack incoming webhook's body: `{"text": …}` in mrkdwn.
pub fn slack_body(n: &Notice) -> serde_json::Value {
    let (emoji, what) = n.event.headline();
    let version = n
        .version
        .as_deref()
        .map(|v| format!(" {}", slack_escape(v)))
        .unwrap_or_default();
    let mut text = format!(
        "{emoji} *{}* {} to *{}*{version}: {what}\n`{}` on {} ({})",
        slack_escape(n.repository.as_deref().unwrap_or("deploy")),
        slack_escape(&n.strategy),
        slack_escape(&n.stage),
        slack_escape(&n.image).replace('`', "'"),
        slack_escape(&n.services.join(", ")),
        slack_escape(&n.cluster),
    );
    if let Some(r) = &n.reason {
        text.push_str(&format!("\n>{}", slack_escape(&one_line(r, 600))));
    }
    if let Some(url) = &n.run_url {
        // The run URL is built by the action from GITHUB_SERVER_URL and the repository.
        text.push_str(&format!("\n<{}|the workflow run>", slack_escape(url)));
    }
    serde_json::json!({ "text": text })
}

/// Slack's three control characters, as its docs ask ("Escaping text"); the rest is literal.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{rolled_back_canary, success_canary, HOSTILE};

    fn notice(event: Event, reason: Option<&str>) -> Notice {
        Notice {
            event,
            stage: "prod".into(),
            strategy: "canary".into(),
            cluster: "shop".into(),
            services: vec!["web-blue".into(), "web-green".into()],
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@sha256:ab".into(),
            version: Some("v1.4.0".into()),
            reason: reason.map(str::to_string),
            repository: Some("acme/shop".into()),
            sha: Some("0123456".into()),
            run_url: Some("https://github.com/acme/shop/actions/runs/1".into()),
        }
    }

    #[test]
    fn events_follow_the_outcome_and_whether_everything_is_back() {
        assert_eq!(Event::of(&success_canary()), Event::Succeeded);
        assert_eq!(Event::of(&rolled_back_canary()), Event::RolledBack);
        let mut stuck = rolled_back_canary();
        if let ServiceStatus::Failed { rollback, .. } = &mut stuck.outcome.services[0].status {
            *rollback = RollbackResult::Failed("UpdateService refused".into());
        }
        assert_eq!(Event::of(&stuck), Event::Failed);
    }

    #[test]
    fn slack_text_escapes_what_comes_from_outside() {
        let body = slack_body(&notice(Event::RolledBack, Some(HOSTILE)));
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with(":leftwards_arrow_with_hook: *acme/shop* canary to *prod* v1.4.0: rolled back"));
        assert!(!text.contains("<img") && text.contains("&lt;img"), "{text}");
        assert!(text.contains("<https://github.com/acme/shop/actions/runs/1|the workflow run>"));
        assert_eq!(text.matches('<').count(), 1, "only the run link is a link: {text}");
    }

    #[test]
    fn the_json_body_is_the_notice_with_a_schema() {
        let v = json_body(&notice(Event::Started, None));
        assert_eq!(v["event"], "started");
        assert_eq!(v["schema"], "ecs-deploy-action/notification/v1");
        assert_eq!(v["services"][1], "web-green");
        assert!(v["reason"].is_null());
    }
}
