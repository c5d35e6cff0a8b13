//! Where the run reports besides its log: webhooks and the GitHub channels.

/// The body a webhook is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// `{"text": …}` in Slack's mrkdwn (Slack, Mattermost, Rocket.Chat, Teams' Slack mode).
    Slack,
    /// The notice as JSON (`domain::notification::json_body`).
    Json,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub kind: WebhookKind,
    pub url: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({:?}, <url withheld>)", self.kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportChannels {
    pub checks: bool,
    pub comment: bool,
    pub deployments: bool,
    pub summary: bool,
}

impl Default for ReportChannels {
    fn default() -> Self {
        ReportChannels {
            checks: true,
            comment: true,
            deployments: true,
            summary: true,
        }
    }
}
