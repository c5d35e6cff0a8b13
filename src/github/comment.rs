//! One sticky comment per pull request: a table of the stages deployed from it, updated in
//! place. It is found again by a hidden marker, and its rows live in a hidden JSON block, so
//! each run (one per stage) adds or replaces only its own row.

use serde_json::{json, Value};
use tokio::sync::{Mutex, OnceCell};

use super::channel::{Channel, Channels};
use super::client::{repo_path, seg, Client};
pub use super::comment_table::{duration, parse_rows, render, short_digest, upsert, Row, COMMENT_LIMIT, MARKER};
use super::event::RunInfo;

/// Pages of comments read when looking for ours (100 per page).
const MAX_PAGES: u32 = 10;

/// The sticky comment of this run's pull request.
#[derive(Default)]
pub struct StickyComment {
    pr: OnceCell<Option<u64>>,
    id: Mutex<Option<u64>>,
}

impl StickyComment {
    /// The pull request: from the event, else the one the commit belongs to. `None` is not an
    /// error (a push with no PR, a manual run): there is simply no comment.
    async fn pull_request(&self, client: &Client, channels: &Channels, info: &RunInfo) -> Option<u64> {
        *self
            .pr
            .get_or_init(|| async {
                if let Some(pr) = &info.pull_request {
                    return Some(pr.number);
                }
                if !channels.live(Channel::PullLookup) {
                    return None;
                }
                let path = format!(
                    "{}/commits/{}/pulls",
                    repo_path(&info.owner, &info.repo),
                    seg(&info.sha)
                );
                match client.get(&path, &[("per_page", "100".to_string())]).await {
                    Ok(Value::Array(prs)) => pick_pull(&prs, &info.sha),
                    Ok(_) => None,
                    Err(e) => {
                        channels.failed(Channel::PullLookup, &e);
                        None
                    }
                }
            })
            .await
    }

    /// Adds or replaces `row` in the comment, creating the comment when there is none.
    pub async fn upsert(&self, client: &Client, channels: &Channels, info: &RunInfo, row: Row, last: bool) {
        let allowed = if last {
            channels.last(Channel::Comment)
        } else {
            channels.live(Channel::Comment)
        };
        if !allowed {
            return;
        }
        let Some(pr) = self.pull_request(client, channels, info).await else {
            return;
        };
        let base = repo_path(&info.owner, &info.repo);
        let mut id = self.id.lock().await;
        // Read the current rows first: another stage's run may have written since.
        let current = match *id {
            Some(cid) => match client.get(&format!("{base}/issues/comments/{cid}"), &[]).await {
                Ok(c) => Some((
                    cid,
                    c.get("body").and_then(Value::as_str).unwrap_or_default().to_string(),
                )),
                Err(e) => {
                    channels.failed(Channel::Comment, &e);
                    return;
                }
            },
            None => match find(client, &base, pr).await {
                Ok(found) => found,
                Err(e) => {
                    channels.failed(Channel::Comment, &e);
                    return;
                }
            },
        };
        let mut rows = current.as_ref().map(|(_, body)| parse_rows(body)).unwrap_or_default();
        upsert(&mut rows, row);
        let body = json!({ "body": render(&rows, info) });
        let result = match current {
            Some((cid, _)) => client
                .patch(&format!("{base}/issues/comments/{cid}"), &body)
                .await
                .map(|_| cid),
            None => client
                .post(&format!("{base}/issues/{pr}/comments"), &body)
                .await
                .map(|v| v.get("id").and_then(Value::as_u64).unwrap_or(0)),
        };
        match result {
            Ok(cid) if cid > 0 => *id = Some(cid),
            Ok(_) => {}
            Err(e) => {
                channels.failed(Channel::Comment, &e);
            }
        }
    }
}

/// Our comment on the PR: the first whose body starts with the marker, a bot's preferred (a
/// person could paste the marker; a personal token's comments are not a bot's, so any will do).
async fn find(client: &Client, base: &str, pr: u64) -> Result<Option<(u64, String)>, super::client::ApiError> {
    let mut fallback = None;
    for page in 1..=MAX_PAGES {
        let list = client
            .get(
                &format!("{base}/issues/{pr}/comments"),
                &[("per_page", "100".to_string()), ("page", page.to_string())],
            )
            .await?;
        let items = list.as_array().cloned().unwrap_or_default();
        for c in &items {
            let body = c.get("body").and_then(Value::as_str).unwrap_or_default();
            if !body.starts_with(MARKER) {
                continue;
            }
            let Some(cid) = c.get("id").and_then(Value::as_u64) else {
                continue;
            };
            if c.pointer("/user/type").and_then(Value::as_str) == Some("Bot") {
                return Ok(Some((cid, body.to_string())));
            }
            fallback.get_or_insert((cid, body.to_string()));
        }
        if items.len() < 100 {
            break;
        }
    }
    Ok(fallback)
}

/// The PR a pushed commit belongs to: the one it was merged by, else the first open one, else
/// the first listed.
pub fn pick_pull(prs: &[Value], sha: &str) -> Option<u64> {
    let number = |p: &Value| p.get("number").and_then(Value::as_u64);
    prs.iter()
        .find(|p| p.get("merge_commit_sha").and_then(Value::as_str) == Some(sha))
        .or_else(|| {
            prs.iter()
                .find(|p| p.get("state").and_then(Value::as_str) == Some("open"))
        })
        .or_else(|| prs.first())
        .and_then(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(stage: &str, outcome: &str) -> Row {
        Row {
            stage: stage.into(),
            outcome: outcome.into(),
            version: Some("v1.4.0".into()),
            digest: Some("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
            strategy: "canary".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            seconds: Some(95),
            run_url: Some("https://github.com/acme/shop/actions/runs/1001".into()),
            environment_url: None,
            reason: None,
            updated_at: Some("2026-11-26 19:55 UTC".into()),
        }
    }

    fn info() -> RunInfo {
        RunInfo {
            owner: "acme".into(),
            repo: "shop".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            branch: Some("feat/faster".into()),
            ..Default::default()
        }
    }

    #[test]
    fn rows_round_trip_through_the_body_and_replace_in_place() {
        let mut rows = vec![row("dev", "success"), row("staging", "in-progress")];
        let body = render(&rows, &info());
        assert!(body.starts_with(MARKER));
        assert_eq!(parse_rows(&body), rows);
        upsert(&mut rows, row("staging", "failure"));
        upsert(&mut rows, row("prod", "in-progress"));
        assert_eq!(
            rows.iter()
                .map(|r| (r.stage.as_str(), r.outcome.as_str()))
                .collect::<Vec<_>>(),
            vec![("dev", "success"), ("staging", "failure"), ("prod", "in-progress")]
        );
    }

    #[test]
    fn hostile_state_cannot_close_the_hidden_block() {
        let mut r = row("dev", "success");
        r.version = Some("--> <img src=x onerror=alert(1)> @org/team".into());
        let body = render(&[r.clone()], &info());
        assert_eq!(body.matches("-->").count(), 2, "{body}");
        assert!(!body.contains("<img"), "{body}");
        assert!(!body.contains("@org"), "{body}");
        assert_eq!(parse_rows(&body), vec![r]);
    }

    #[test]
    fn the_body_stays_within_the_limit() {
        let rows: Vec<Row> = (0..40)
            .map(|i| {
                let mut r = row(&format!("stage-{i}"), "success");
                r.version = Some("x".repeat(5000));
                r
            })
            .collect();
        let body = render(&rows, &info());
        assert!(body.chars().count() <= COMMENT_LIMIT, "{}", body.chars().count());
        assert!(body.contains("stage-39"), "the newest row stays");
    }

    #[test]
    fn a_push_finds_the_pr_that_merged_it() {
        let prs = serde_json::json!([
            {"number": 3, "state": "open", "merge_commit_sha": "aaa"},
            {"number": 7, "state": "closed", "merge_commit_sha": "abc"}
        ]);
        assert_eq!(pick_pull(prs.as_array().unwrap(), "abc"), Some(7));
        assert_eq!(pick_pull(prs.as_array().unwrap(), "zzz"), Some(3));
        assert_eq!(pick_pull(&[], "abc"), None);
    }

    #[test]
    fn the_comment_after_three_stages() {
        let mut rows = Vec::new();
        upsert(&mut rows, row("dev", "success"));
        upsert(&mut rows, row("staging", "success"));
        let mut prod = row("prod", "failure");
        prod.environment_url = Some("https://shop.example.com/(x)".into());
        prod.seconds = Some(3725);
        upsert(&mut rows, prod);
        let mut hostile = crate::test_fixtures::hostile_info();
        hostile.commit_message = Some("Merge pull request #12 <script>".into());
        insta::assert_snapshot!(render(&rows, &hostile));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(95), "1m 35s");
        assert_eq!(duration(3700), "1h 01m");
    }
}
