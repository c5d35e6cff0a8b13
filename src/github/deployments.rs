//! GitHub deployments: one per stage environment for the deployed commit, with statuses
//! `in_progress` then `success`, `failure` or `inactive` (cancelled), so the repository's
//! Environments page tells the truth. Each status links the run (`log_url`).
//!
//! A job with `environment:` already has a deployment: GitHub creates it when the job starts
//! (after its protection rules pass). That one is found (same commit, same environment, a
//! status linking this run) and gets the statuses; a second deployment would list the release
//! twice. One is created only for a job without an environment, named after the stage's
//! environment, never anything else, and none at all when the run names no environment.

use std::collections::HashMap;

use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::channel::{Channel, Channels};
use super::client::{repo_path, Client};
use super::event::RunInfo;
use super::markdown::plain;
use crate::domain::outcome::OutcomeKind;
use crate::ports::StageStart;

/// GitHub's limit for a status description, in characters.
pub const DESCRIPTION_LIMIT: usize = 140;

/// The deployment status for an outcome; `None` when nothing was deployed to the stage (a
/// stop at an approval gate, a plan), so no deployment is recorded.
pub fn final_state(kind: OutcomeKind) -> Option<&'static str> {
    match kind {
        OutcomeKind::Success => Some("success"),
        OutcomeKind::Failure => Some("failure"),
        // Everything went back where it was: this deployment is not what runs.
        OutcomeKind::Cancelled => Some("inactive"),
        // Traffic is held part-way; the deployment is still going on.
        OutcomeKind::Paused => Some("in_progress"),
        OutcomeKind::AwaitingApproval | OutcomeKind::Planned => None,
    }
}

pub fn is_production(stage: &str) -> bool {
    matches!(
        stage.to_ascii_lowercase().as_str(),
        "prod" | "production" | "prd" | "live"
    )
}

#[derive(Default)]
pub struct Deployments {
    ids: Mutex<HashMap<String, u64>>,
}

impl Deployments {
    /// Creates the stage's deployment and its `in_progress` status.
    pub async fn start(&self, client: &Client, channels: &Channels, info: &RunInfo, start: &StageStart) {
        if !channels.live(Channel::Deployments) {
            return;
        }
        let Some(id) = self.create(client, channels, info, start).await else {
            return;
        };
        let description = format!("{} of {}", start.strategy, start.image);
        let url = start.environment_url.as_deref();
        self.status(client, channels, info, id, "in_progress", &description, url)
            .await;
    }

    /// The final status; creates the deployment first if that failed at the start (or the
    /// stage was never reported as started).
    pub async fn finish(
        &self,
        client: &Client,
        channels: &Channels,
        info: &RunInfo,
        start: &StageStart,
        state: &str,
        description: &str,
    ) {
        if !channels.last(Channel::Deployments) {
            return;
        }
        let known = self.ids.lock().await.get(&start.stage).copied();
        let id = match known {
            Some(id) => id,
            None => match self.create(client, channels, info, start).await {
                Some(id) => id,
                None => return,
            },
        };
        let url = start.environment_url.as_deref();
        self.status(client, channels, info, id, state, description, url).await;
    }

    async fn create(&self, client: &Client, channels: &Channels, info: &RunInfo, start: &StageStart) -> Option<u64> {
        let environment = start.environment.as_deref()?;
        // Unreadable: whether the job has one is unknown, and a second one would be a lie too.
        if let Some(id) = self.job_deployment(client, channels, info, environment).await.ok()? {
            self.ids.lock().await.insert(start.stage.clone(), id);
            return Some(id);
        }
        let body = json!({
            "ref": info.sha,
            "environment": environment,
            "task": "deploy",
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": false,
            "production_environment": is_production(environment),
            "description": plain(&format!("{} of {}", start.strategy, start.image), DESCRIPTION_LIMIT),
            "payload": {
                "image": start.image,
                "strategy": start.strategy,
                "cluster": start.cluster,
                "services": start.services,
                "version": start.version,
            },
        });
        let path = format!("{}/deployments", repo_path(&info.owner, &info.repo));
        match client.post(&path, &body).await {
            // 202 (`{"message": …}`) means GitHub tried to merge the default branch first: not us.
            Ok(v) => {
                let id = v.get("id").and_then(Value::as_u64)?;
                self.ids.lock().await.insert(start.stage.clone(), id);
                Some(id)
            }
            Err(e) => {
                channels.failed(Channel::Deployments, &e);
                None
            }
        }
    }

    /// The deployment GitHub made for this job's environment: on this commit, in this
    /// environment, not one of ours (ours carry the image in their payload), with a status
    /// that links this workflow run.
    async fn job_deployment(
        &self,
        client: &Client,
        channels: &Channels,
        info: &RunInfo,
        environment: &str,
    ) -> Result<Option<u64>, ()> {
        let Some(run_url) = info.run_url.as_deref().filter(|_| !info.job_sha.is_empty()) else {
            return Ok(None);
        };
        let repo = repo_path(&info.owner, &info.repo);
        let query = [
            ("sha", info.job_sha.clone()),
            ("environment", environment.to_string()),
            ("per_page", "20".to_string()),
        ];
        let listed = match client.get(&format!("{repo}/deployments"), &query).await {
            Ok(v) => v,
            Err(e) => {
                channels.failed(Channel::Deployments, &e);
                return Err(());
            }
        };
        for d in listed.as_array().into_iter().flatten() {
            let ours = d["payload"].get("image").is_some();
            let Some(id) = d["id"].as_u64().filter(|_| !ours) else {
                continue;
            };
            let statuses = client
                .get(
                    &format!("{repo}/deployments/{id}/statuses"),
                    &[("per_page", "20".into())],
                )
                .await
                .unwrap_or_default();
            let links_this_run = statuses.as_array().into_iter().flatten().any(|s| {
                ["log_url", "target_url"]
                    .iter()
                    .filter_map(|k| s[*k].as_str())
                    .any(|u| same_run(u, run_url))
            });
            if links_this_run {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn status(
        &self,
        client: &Client,
        channels: &Channels,
        info: &RunInfo,
        id: u64,
        state: &str,
        description: &str,
        environment_url: Option<&str>,
    ) {
        let mut body = json!({
            "state": state,
            "description": plain(description, DESCRIPTION_LIMIT),
        });
        if let Some(url) = &info.run_url {
            body["log_url"] = Value::String(url.clone());
        }
        if let Some(url) = environment_url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
            body["environment_url"] = Value::String(url.to_string());
        }
        let path = format!("{}/deployments/{id}/statuses", repo_path(&info.owner, &info.repo));
        if let Err(e) = client.post(&path, &body).await {
            channels.failed(Channel::Deployments, &e);
        }
    }
}

/// `…/actions/runs/123` or below it (`…/runs/123/job/9`), never `…/runs/1234`.
fn same_run(url: &str, run_url: &str) -> bool {
    url.strip_prefix(run_url)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_links_this_run_or_a_job_of_it_only() {
        let run = "https://github.com/acme/shop/actions/runs/123";
        assert!(same_run(run, run));
        assert!(same_run("https://github.com/acme/shop/actions/runs/123/job/9", run));
        assert!(!same_run("https://github.com/acme/shop/actions/runs/1234", run));
        assert!(!same_run("https://github.com/acme/other/actions/runs/123", run));
    }

    #[test]
    fn outcomes_map_to_deployment_states() {
        assert_eq!(final_state(OutcomeKind::Success), Some("success"));
        assert_eq!(final_state(OutcomeKind::Failure), Some("failure"));
        assert_eq!(final_state(OutcomeKind::Cancelled), Some("inactive"));
        assert_eq!(final_state(OutcomeKind::AwaitingApproval), None);
        assert!(is_production("Prod") && !is_production("staging"));
    }
}
