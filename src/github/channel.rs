//! One reporting channel's health (check runs, the PR comment, deployments, the PR lookup): the
//! first failure of each kind becomes one `::warning` that names the missing permission, and a
//! channel that cannot work is skipped for the rest of the run. The deploy never notices.

use std::collections::HashSet;
use std::sync::Mutex;

use super::client::{ApiError, ErrorKind};
use super::commands;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    CheckRuns,
    Comment,
    PullLookup,
    Deployments,
}

impl Channel {
    pub fn what(&self) -> &'static str {
        match self {
            Channel::CheckRuns => "check runs",
            Channel::Comment => "the pull-request comment",
            Channel::PullLookup => "the pull-request lookup",
            Channel::Deployments => "deployments and deployment statuses",
        }
    }

    /// The `permissions:` entry the job needs for this channel.
    pub fn permission(&self) -> &'static str {
        match self {
            Channel::CheckRuns => "checks: write",
            Channel::Comment => "pull-requests: write",
            Channel::PullLookup => "contents: read",
            Channel::Deployments => "deployments: write",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Up,
    /// A 5xx: live updates are skipped, the final write of the stage is still tried once.
    Degraded,
    /// Refused, not found or not answering: nothing more is sent.
    Off,
}

/// Health per channel plus which warnings were already printed.
#[derive(Default)]
pub struct Channels {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    degraded: HashSet<Channel>,
    off: HashSet<Channel>,
    /// 401 switches every channel off with a single warning.
    token_refused: bool,
    warned: HashSet<(Channel, &'static str)>,
    /// Reports go to another repository (`commit-repository`): the job's `permissions:` do
    /// not reach it, so the fix is the token's own permissions there.
    elsewhere: Option<String>,
}

impl Channels {
    /// Reports go to `repository`, not the workflow's own: a refusal names the token's
    /// permissions there, not the job's.
    pub fn report_elsewhere(&self, repository: &str) {
        if let Ok(mut i) = self.inner.lock() {
            i.elsewhere = Some(repository.to_string());
        }
    }

    /// Switched off by the `report` input: skipped without a warning.
    pub fn switch_off(&self, ch: Channel) {
        if let Ok(mut i) = self.inner.lock() {
            i.off.insert(ch);
        }
    }

    pub fn health(&self, ch: Channel) -> Health {
        let Ok(i) = self.inner.lock() else {
            return Health::Off;
        };
        if i.token_refused || i.off.contains(&ch) {
            Health::Off
        } else if i.degraded.contains(&ch) {
            Health::Degraded
        } else {
            Health::Up
        }
    }

    /// May a live (coalescable) update go out?
    pub fn live(&self, ch: Channel) -> bool {
        self.health(ch) == Health::Up
    }

    /// May the final write of a stage go out?
    pub fn last(&self, ch: Channel) -> bool {
        self.health(ch) != Health::Off
    }

    /// Records a failure and prints its warning (once per channel and kind). Returns the
    /// warning line when one was printed, for tests.
    pub fn failed(&self, ch: Channel, e: &ApiError) -> Option<String> {
        let Ok(mut i) = self.inner.lock() else {
            return None;
        };
        let (key, title, message) = match e.kind {
            ErrorKind::Unauthorized => {
                if i.token_refused {
                    return None;
                }
                i.token_refused = true;
                (
                    "401",
                    "GitHub reporting off".to_string(),
                    format!(
                        "GitHub refused the token ({e}). Fix: pass a valid token in the `github-token` input (the default `${{{{ github.token }}}}` works). Check runs, the pull-request comment and deployments are skipped for the rest of this run; the deploy goes on."
                    ),
                )
            }
            ErrorKind::Forbidden | ErrorKind::NotFound => {
                i.off.insert(ch);
                let why = if e.kind == ErrorKind::NotFound {
                    "not found: the repository is not visible to the token, or it lacks the permission"
                } else {
                    "forbidden"
                };
                let fix = match &i.elsewhere {
                    Some(repo) => format!(
                        "give the `github-token` `{}` on {repo} (a GitHub App's installation token for that repository; the job's own token cannot write to another repository)",
                        ch.permission()
                    ),
                    None => format!(
                        "give the job `permissions: {}` (a pull request from a fork gets a read-only token, so nothing can be written there)",
                        ch.permission()
                    ),
                };
                (
                    "denied",
                    format!("GitHub {} skipped", ch.what()),
                    format!(
                        "{why} ({e}). Fix: {fix}. Skipping {} for the rest of this run; the deploy goes on.",
                        ch.what()
                    ),
                )
            }
            ErrorKind::RateLimited => (
                "rate",
                format!("GitHub {} rate-limited", ch.what()),
                format!(
                    "GitHub asked us to slow down ({e}{}); that update was skipped rather than stall the deploy. Later updates are still sent.",
                    e.retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default()
                ),
            ),
            ErrorKind::Server => {
                i.degraded.insert(ch);
                (
                    "5xx",
                    format!("GitHub {} failing", ch.what()),
                    format!(
                        "GitHub answered with a server error ({e}). Live updates are skipped for the rest of this run and the final result is tried once more; the deploy goes on."
                    ),
                )
            }
            ErrorKind::Timeout | ErrorKind::Transport => {
                i.off.insert(ch);
                (
                    "net",
                    format!("GitHub {} unreachable", ch.what()),
                    format!(
                        "{e}. Fix: check GITHUB_API_URL and the network. Skipping {} for the rest of this run; the deploy goes on.",
                        ch.what()
                    ),
                )
            }
            ErrorKind::Rejected => (
                "rejected",
                format!("GitHub {} rejected", ch.what()),
                format!("GitHub rejected the request ({e}); the deploy goes on."),
            ),
        };
        if !i.warned.insert((ch, key)) {
            return None;
        }
        let line = commands::warning(&title, &message);
        println!("{line}");
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind) -> ApiError {
        ApiError {
            method: "POST",
            path: "/repos/a/b/check-runs".into(),
            kind,
            detail: "HTTP 403: Resource not accessible by integration".into(),
            retry_after: None,
        }
    }

    #[test]
    fn a_403_warns_once_names_the_permission_and_switches_the_channel_off() {
        let c = Channels::default();
        let w = c.failed(Channel::CheckRuns, &err(ErrorKind::Forbidden)).unwrap();
        assert!(w.starts_with("::warning title=GitHub check runs skipped::"), "{w}");
        assert!(w.contains("checks: write"), "{w}");
        assert_eq!(w.lines().count(), 1);
        assert_eq!(c.health(Channel::CheckRuns), Health::Off);
        assert_eq!(c.health(Channel::Comment), Health::Up);
        assert!(c.failed(Channel::CheckRuns, &err(ErrorKind::Forbidden)).is_none());
    }

    #[test]
    fn a_5xx_degrades_but_keeps_the_final_write() {
        let c = Channels::default();
        assert!(c.failed(Channel::Deployments, &err(ErrorKind::Server)).is_some());
        assert!(!c.live(Channel::Deployments));
        assert!(c.last(Channel::Deployments));
        assert!(c.failed(Channel::Deployments, &err(ErrorKind::Server)).is_none());
    }

    #[test]
    fn a_401_is_one_warning_for_every_channel() {
        let c = Channels::default();
        let w = c.failed(Channel::CheckRuns, &err(ErrorKind::Unauthorized)).unwrap();
        assert!(w.contains("github-token"), "{w}");
        assert!(c.failed(Channel::Comment, &err(ErrorKind::Unauthorized)).is_none());
        assert_eq!(c.health(Channel::Deployments), Health::Off);
    }
}
