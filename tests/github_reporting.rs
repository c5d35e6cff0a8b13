//! Reporting to GitHub through the real binary: the AWS simulator underneath, and the GitHub
//! fake behind prism (every request and response checked against GitHub's OpenAPI
//! description) on top. Each test owns an `owner/repo` on the fake, so tests never collide.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::github::{event, GitHub, TOKEN};
use support::runner;
use support::{run_action, Aws, Run, Sim, Slots};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const RUN_URL: &str = "https://github.com/{repo}/actions/runs/1001";
const MARKER: &str = "<!-- ecs-deploy-action:sticky -->";
const HOSTILE: &str = "<img src=x onerror=alert(1)> **b** [x](javascript:alert(1)) @acme/ops ::set-env name=A::b";

/// One run's GitHub side: the repository on the fake, the event and the commit.
struct Gh {
    repo: &'static str,
    event_name: &'static str,
    event: tempfile::NamedTempFile,
    sha: &'static str,
    token: &'static str,
}

impl Gh {
    fn pull_request(repo: &'static str, number: u64, edit: impl FnOnce(&mut Value)) -> Gh {
        let event = event("pull_request", repo, |p| {
            p["number"] = number.into();
            p["pull_request"]["number"] = number.into();
            p["pull_request"]["title"] = "Faster checkout".into();
            p["pull_request"]["head"]["ref"] = "feat/faster-checkout".into();
            p["pull_request"]["head"]["sha"] = SHA.into();
            edit(p);
        });
        Gh {
            repo,
            event_name: "pull_request",
            event,
            sha: SHA,
            token: TOKEN,
        }
    }

    fn push(repo: &'static str, sha: &'static str, message: &str) -> Gh {
        let event = event("push", repo, |p| {
            p["ref"] = "refs/heads/main".into();
            p["after"] = sha.into();
            p["head_commit"]["id"] = sha.into();
            p["head_commit"]["message"] = message.into();
        });
        Gh {
            repo,
            event_name: "push",
            event,
            sha,
            token: TOKEN,
        }
    }

    /// A `workflow_dispatch` run at `sha` (the branch's HEAD when it was dispatched).
    fn dispatch(repo: &'static str, sha: &'static str) -> Gh {
        Gh {
            repo,
            event_name: "workflow_dispatch",
            event: event("workflow_dispatch", repo, |_| {}),
            sha,
            token: TOKEN,
        }
    }

    fn run(&self, aws: &Aws, inputs: &[(&str, &str)]) -> Run {
        let g = GitHub::shared();
        let mut all = inputs.to_vec();
        all.push(("github-token", self.token));
        let path = self.event.path().to_string_lossy().into_owned();
        let git_ref = if self.event_name == "pull_request" {
            "refs/pull/12/merge"
        } else {
            "refs/heads/main"
        };
        run_action(
            aws,
            &all,
            &[
                ("GITHUB_API_URL", g.api.as_str()),
                ("GITHUB_REPOSITORY", self.repo),
                ("GITHUB_EVENT_NAME", self.event_name),
                ("GITHUB_EVENT_PATH", &path),
                ("GITHUB_SHA", self.sha),
                ("GITHUB_REF", git_ref),
            ],
        )
    }

    fn run_url(&self) -> String {
        RUN_URL.replace("{repo}", self.repo)
    }

    fn requests(&self) -> Vec<Value> {
        GitHub::shared().requests(self.repo)
    }

    fn state(&self) -> Value {
        GitHub::shared().state(self.repo)
    }

    /// Nothing prism refused or had to replace, and the token only ever in the mask command.
    fn assert_clean(&self, runs: &[&Run]) {
        let v = GitHub::shared().violations(self.repo);
        assert!(v.is_empty(), "OpenAPI violations: {v:#?}");
        for run in runs {
            for line in run.stdout.lines().chain(run.stderr.lines()) {
                if line.contains(self.token) {
                    assert!(line.starts_with("::add-mask::"), "the token leaked: {line}");
                }
            }
            assert!(!run.summary.contains(self.token), "the token in the job summary");
            assert!(!run.output_text.contains(self.token), "the token in the step outputs");
        }
        let sent = serde_json::to_string(&GitHub::shared().requests(self.repo)).unwrap_or_default();
        let kept = serde_json::to_string(&GitHub::shared().state(self.repo)).unwrap_or_default();
        assert!(
            !sent.contains(self.token) && !kept.contains(self.token),
            "the token in what GitHub received"
        );
    }
}

fn writes(reqs: &[Value]) -> Vec<&Value> {
    reqs.iter()
        .filter(|r| r["method"] == "POST" || r["method"] == "PATCH")
        .collect()
}

fn count(reqs: &[Value], method: &str, path_suffix: &str) -> usize {
    reqs.iter()
        .filter(|r| r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(path_suffix)))
        .count()
}

fn github_warnings(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("::warning title=GitHub"))
        .collect()
}

fn check_run<'a>(state: &'a Value, stage: &str) -> &'a Value {
    state["check_runs"]
        .as_array()
        .and_then(|runs| runs.iter().find(|c| c["name"] == format!("ecs-deploy / {stage}")))
        .unwrap_or_else(|| panic!("no check run for {stage}: {state:#}"))
}

fn statuses(deployment: &Value) -> Vec<String> {
    deployment["statuses"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|x| x["state"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn canary_inputs<'a>(s: &'a Slots, image: &'a str, stage: &'a str, steps: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cluster", s.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("strategy", "canary"),
        ("listener-arn", s.listener.as_str()),
        ("canary-steps", steps),
        ("bake-time", "2s"),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("keep-old-for", "1s"),
        ("wait-timeout", "1m"),
        ("stage", stage),
        ("version", "v1.4.0"),
    ]
}

/// A service `api` on v1 in its own cluster; returns (cluster, the v2 image).
async fn rolling_service(aws: &Aws, name: &str) -> (String, String) {
    let cluster = format!("c-{name}");
    let repo = format!("app-{name}");
    aws.create_cluster(&cluster).await;
    aws.push_image(&repo, "v1").await;
    let td = aws
        .register(&format!("{name}-api"), &[("app", &Aws::image_uri(&repo, "v1"))])
        .await;
    aws.create_service(&cluster, "api", &td, 1).await;
    aws.push_image(&repo, "v2").await;
    (cluster, Aws::image_uri(&repo, "v2"))
}

/// A chain config file for the repository of `image`, with the rest of the file as given.
fn chain_config(image: &str, rest: &str) -> tempfile::NamedTempFile {
    let repository = image.rsplit_once(':').map(|(r, _)| r).unwrap_or_default();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), format!("repository: {repository}\n{rest}")).unwrap();
    config
}

fn rolling_inputs<'a>(cluster: &'a str, image: &'a str, stage: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cluster", cluster),
        ("services", "api"),
        ("image", image),
        ("stage", stage),
        ("wait-timeout", "1m"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_through_three_stages_reports_each_stage_and_keeps_one_comment() {
    let gh = Gh::pull_request("canary-org/shop", 12, |_| {});
    let aws = Aws::new("gh_canary").await;
    let s = aws.slots("gh-canary", 1).await;
    aws.push_image(&s.repo, "v2").await;
    let image = Aws::image_uri(&s.repo, "v2");
    let mut runs = Vec::new();
    let mut per_stage = Vec::new();
    for (stage, steps) in [("dev", "5,10,25,50,100"), ("staging", "50,100"), ("prod", "50,100")] {
        let before = gh.requests().len();
        let t = Instant::now();
        let run = gh.run(&aws, &canary_inputs(&s, &image, stage, steps));
        let secs = t.elapsed().as_secs_f64();
        run.assert_code(0);
        assert_eq!(run.output("outcome"), "success");
        assert!(github_warnings(&run).is_empty(), "{}", run.stdout);
        let reqs = gh.requests()[before..].to_vec();
        let w = writes(&reqs);
        let check_writes = w
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").contains("/check-runs"))
            .count();
        eprintln!(
            "stage {stage} ({steps}): {} writes ({check_writes} to the check run) and {} reads in {secs:.1} s",
            w.len(),
            reqs.len() - w.len()
        );
        // Create + completion + live updates at least 5 s apart (so at most floor(T/5) + 1 of them).
        assert!(
            check_writes as f64 <= 3.0 + (secs / 5.0).floor(),
            "{check_writes} check-run writes in {secs:.1} s"
        );
        // Besides the check run: deployment and its status, the comment at the start; the
        // final status and the comment at the end. The check run's live updates scale with
        // the stage's length (bounded above), the rest must not.
        assert!(w.len() - check_writes <= 6, "{} writes for one stage: {w:#?}", w.len());
        per_stage.push((stage, w.len()));
        runs.push(run);
    }
    eprintln!("writes per stage: {per_stage:?}");

    let st = gh.state();
    // A completed, successful check run per stage, on the deployed commit, linking the run.
    assert_eq!(st["check_runs"].as_array().map(Vec::len), Some(3));
    for stage in ["dev", "staging", "prod"] {
        let c = check_run(&st, stage);
        assert_eq!(c["status"], "completed");
        assert_eq!(c["conclusion"], "success", "{c:#}");
        assert_eq!(c["head_sha"], SHA);
        assert_eq!(c["details_url"], gh.run_url());
        let summary = c["output"]["summary"].as_str().unwrap_or("");
        assert!(
            summary.contains(&format!("✅ {stage}: v1.4.0 deployed")) && summary.contains("`outcome: success`"),
            "{summary}"
        );
        assert!(
            summary.contains("Faster checkout") && summary.contains("| Version | v1\\.4\\.0 |"),
            "{summary}"
        );
    }
    let dev = check_run(&st, "dev")["output"]["summary"]
        .as_str()
        .unwrap_or("")
        .to_string();
    for w in ["| 5% |", "| 10% |", "| 25% |", "| 50% |", "| 100% |"] {
        assert!(dev.contains(w), "the timeline is in the summary: {dev}");
    }

    // Exactly one comment, created once and updated in place, with a row per stage.
    let comments = st["comments"].as_array().cloned().unwrap_or_default();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let c = &comments[0];
    assert_eq!(c["issue_number"], 12);
    let body = c["body"].as_str().unwrap_or("");
    assert!(body.starts_with(MARKER), "{body}");
    for stage in ["dev", "staging", "prod"] {
        assert!(body.contains(&format!("| {stage} | v1\\.4\\.0 | `sha256:")), "{body}");
    }
    assert_eq!(body.matches("✅ success").count(), 3, "{body}");
    assert!(!body.contains("in progress"), "{body}");
    assert!(body.contains(&format!("[run]({})", gh.run_url())), "{body}");
    let reqs = gh.requests();
    assert_eq!(count(&reqs, "POST", "/issues/12/comments"), 1, "created once");
    assert_eq!(
        count(&reqs, "PATCH", &format!("/issues/comments/{}", c["id"])),
        5,
        "then updated in place: start and end of each stage"
    );

    // A deployment per stage environment, statuses in order, linking the run.
    let deployments = st["deployments"].as_array().cloned().unwrap_or_default();
    assert_eq!(deployments.len(), 3);
    for stage in ["dev", "staging", "prod"] {
        let d = deployments
            .iter()
            .find(|d| d["environment"] == stage)
            .unwrap_or_else(|| panic!("no deployment for {stage}"));
        assert_eq!(d["ref"], SHA);
        assert_eq!(d["sha"], SHA);
        assert_eq!(d["transient_environment"], false);
        assert_eq!(d["production_environment"], stage == "prod");
        assert_eq!(d["required_contexts"], json!([]));
        assert_eq!(statuses(d), vec!["in_progress", "success"], "{d:#}");
        for s in d["statuses"].as_array().into_iter().flatten() {
            assert_eq!(s["log_url"], gh.run_url());
        }
    }
    let created: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/deployments")))
        .collect();
    assert!(created.iter().all(|r| r["body"]["auto_merge"] == false), "{created:#?}");
    assert!(
        reqs.iter().all(|r| r["auth"]["matches_expected"] == true),
        "every request carries the token"
    );
    gh.assert_clean(&runs.iter().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_canary_fails_its_check_run_with_diagnostics() {
    let gh = Gh::pull_request("rollback-org/shop", 21, |_| {});
    let aws = Aws::new("gh_rollback").await;
    let s = aws.slots("gh-rollback", 1).await;
    let bad = aws.push_image(&s.repo, "bad").await;
    Sim::shared().scenario(&bad, json!({"error_rate": 0.08}));
    let image = Aws::image_uri(&s.repo, "bad");
    let run = gh.run(&aws, &canary_inputs(&s, &image, "staging", "50,100"));
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure");
    assert!(github_warnings(&run).is_empty(), "{}", run.stdout);

    let st = gh.state();
    let c = check_run(&st, "staging");
    assert_eq!(c["conclusion"], "failure");
    let title = c["output"]["title"].as_str().unwrap_or("");
    assert!(title.contains("failure") && title.contains("5xx rate"), "{title}");
    let text = c["output"]["text"].as_str().unwrap_or("");
    assert!(text.contains("## Diagnostics") && text.contains("Rollback"), "{text}");
    let all = format!("{title}\n{}\n{text}", c["output"]["summary"].as_str().unwrap_or(""));
    assert!(all.contains("analysis failed at 50% traffic"), "{all}");
    assert!(
        all.matches("analysis failed at 50% traffic").count() <= 3,
        "the reason once in the title, once in the summary's headline quote (and the comment row): {all}"
    );
    let summary = c["output"]["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("`outcome: failure`") && summary.contains("↩️ staging:"),
        "{summary}"
    );
    let d = &st["deployments"][0];
    assert_eq!(statuses(d), vec!["in_progress", "failure"]);
    let body = st["comments"][0]["body"].as_str().unwrap_or("");
    assert!(body.contains("❌ failure"), "{body}");
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_to_main_finds_the_pull_request_from_the_commit() {
    const OTHER: &str = "fedcba9876543210fedcba9876543210fedcba98";
    let repo = "push-org/shop";
    GitHub::shared().seed(
        repo,
        json!({
            "pulls": [{"number": 7, "title": "Faster deploys", "head_ref": "feat/fast",
                       "head_sha": "1111111111111111111111111111111111111111", "base_ref": "main",
                       "state": "closed", "merged": true, "merge_commit_sha": SHA, "user": "alice"}],
            "commit_pulls": {SHA: [7]}
        }),
    );
    let aws = Aws::new("gh_push").await;
    let (cluster, image) = rolling_service(&aws, "gh-push").await;
    let gh = Gh::push(repo, SHA, "Merge pull request #7 from acme/feat/fast\n\nFaster deploys");
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "staging"));
    run.assert_code(0);
    assert!(github_warnings(&run).is_empty(), "{}", run.stdout);
    let reqs = gh.requests();
    assert_eq!(count(&reqs, "GET", &format!("/commits/{SHA}/pulls")), 1);
    let st = gh.state();
    let comments = st["comments"].as_array().cloned().unwrap_or_default();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0]["issue_number"], 7, "the PR that merged the commit");
    let summary = check_run(&st, "staging")["output"]["summary"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        summary.contains("| Branch | main |") && summary.contains("Merge pull request \\#7"),
        "{summary}"
    );

    // A commit no pull request knows: no comment, and no warning either.
    aws.push_image(&format!("app-{}", "gh-push"), "v3").await;
    let image3 = image.replace(":v2", ":v3");
    let gh2 = Gh::push(repo, OTHER, "chore: direct push");
    let run2 = gh2.run(&aws, &rolling_inputs(&cluster, &image3, "staging"));
    run2.assert_code(0);
    assert!(github_warnings(&run2).is_empty(), "{}", run2.stdout);
    assert_eq!(count(&gh.requests(), "GET", &format!("/commits/{OTHER}/pulls")), 1);
    assert_eq!(
        gh.state()["comments"].as_array().map(Vec::len),
        Some(1),
        "no new comment"
    );
    gh.assert_clean(&[&run, &run2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_permissions_are_one_warning_each_and_the_deploy_goes_on() {
    let gh = Gh::pull_request("deny-org/shop", 5, |_| {});
    GitHub::shared().add_faults(vec![
        json!({"method": "POST", "path_regex": "^/repos/deny-org/shop/check-runs", "status": 403,
               "message": "Resource not accessible by integration"}),
        json!({"method": "POST", "path_regex": "^/repos/deny-org/shop/deployments", "status": 403,
               "message": "Resource not accessible by integration"}),
    ]);
    let aws = Aws::new("gh_deny").await;
    let (cluster, image) = rolling_service(&aws, "gh-deny").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    let warnings = github_warnings(&run);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_eq!(
        warnings.iter().filter(|w| w.contains("checks: write")).count(),
        1,
        "{warnings:#?}"
    );
    assert_eq!(
        warnings.iter().filter(|w| w.contains("deployments: write")).count(),
        1,
        "{warnings:#?}"
    );
    let reqs = gh.requests();
    assert_eq!(
        count(&reqs, "POST", "/check-runs"),
        1,
        "no retry, nothing more after a 403"
    );
    assert_eq!(count(&reqs, "POST", "/deployments"), 1);
    assert_eq!(
        gh.state()["comments"].as_array().map(Vec::len),
        Some(1),
        "the comment, which is allowed, is still written"
    );
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_with_an_environment_reuses_the_deployment_github_made_for_it() {
    let gh = Gh::pull_request("envjob-org/shop", 7, |_| {});
    // What GitHub made when the job with `environment: dev` started, and an older run's.
    let job_url = format!("{}/job/77", gh.run_url());
    GitHub::shared().seed(
        gh.repo,
        json!({"deployments": [
            {"ref": SHA, "environment": "dev", "statuses": [
                {"state": "in_progress", "log_url": "https://github.com/envjob-org/shop/actions/runs/10010/job/1"}]},
            {"ref": SHA, "environment": "dev", "statuses": [{"state": "in_progress", "log_url": job_url}]}
        ]}),
    );
    let aws = Aws::new("gh_envjob").await;
    let (cluster, image) = rolling_service(&aws, "gh-envjob").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert_eq!(count(&gh.requests(), "POST", "/deployments"), 0, "no second deployment");
    let state = gh.state();
    let deployments = state["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2);
    let ours = deployments
        .iter()
        .find(|d| statuses(d).len() > 1)
        .expect("the job's deployment got statuses");
    assert_eq!(statuses(ours), ["in_progress", "in_progress", "success"]);
    assert_eq!(
        ours["statuses"][0]["log_url"],
        job_url.as_str(),
        "the one this run's job made"
    );
    gh.assert_clean(&[&run]);

    // Without a stage (so no environment named) a run records no deployment at all.
    let run = gh.run(
        &aws,
        &[
            ("cluster", cluster.as_str()),
            ("services", "api"),
            ("image", image.as_str()),
        ],
    );
    run.assert_code(0);
    assert_eq!(count(&gh.requests(), "POST", "/deployments"), 0);
}

/// A dispatched promote names the image's commit (`commit`), while GitHub put the job's
/// deployment on the dispatch's HEAD: that deployment gets the statuses, and the check run
/// goes on the image's commit.
#[tokio::test(flavor = "multi_thread")]
async fn a_dispatch_naming_the_images_commit_still_reuses_the_jobs_deployment() {
    const HEAD: &str = "dddddddddddddddddddddddddddddddddddddddd";
    let gh = Gh::dispatch("dispatchjob-org/shop", HEAD);
    let job_url = format!("{}/job/5", gh.run_url());
    GitHub::shared().seed(
        gh.repo,
        json!({"deployments": [
            {"ref": HEAD, "environment": "dev", "statuses": [{"state": "in_progress", "log_url": job_url}]}
        ]}),
    );
    let aws = Aws::new("gh_dispatchjob").await;
    let (cluster, image) = rolling_service(&aws, "gh-dispatchjob").await;
    let mut inputs = rolling_inputs(&cluster, &image, "dev");
    inputs.push(("commit", SHA));
    let run = gh.run(&aws, &inputs);
    run.assert_code(0);
    assert_eq!(count(&gh.requests(), "POST", "/deployments"), 0, "no second deployment");
    let state = gh.state();
    let deployments = state["deployments"].as_array().unwrap();
    assert_eq!(statuses(&deployments[0]), ["in_progress", "in_progress", "success"]);
    let checks = state["check_runs"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|c| c["head_sha"] == SHA),
        "checks on the image's commit: {checks:#?}"
    );
    gh.assert_clean(&[&run]);
}

/// Without `commit`, a dispatched run names the commit the image says it was built from (its
/// `org.opencontainers.image.revision` label, read from the config blob through ECR), not the
/// dispatch's HEAD; an image without the label falls back to GITHUB_SHA, quietly.
#[tokio::test(flavor = "multi_thread")]
async fn without_commit_the_images_revision_label_names_the_commit() {
    const HEAD: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    let gh = Gh::dispatch("label-org/shop", HEAD);
    let aws = Aws::new("gh_label").await;
    let (cluster, _) = rolling_service(&aws, "gh-label").await;
    aws.push_labelled_image("app-gh-label", "v3", &[("org.opencontainers.image.revision", SHA)])
        .await;
    let image = Aws::image_uri("app-gh-label", "v3");
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert!(
        run.stdout.contains(&format!(
            "commit {SHA}: from the image's org.opencontainers.image.revision label"
        )),
        "{}",
        run.stdout
    );
    let state = gh.state();
    let checks = state["check_runs"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(checks.iter().all(|c| c["head_sha"] == SHA), "{checks:#?}");
    let svc = aws.service(&cluster, "api").await;
    let (_, tags) = aws.task_definition(svc.task_definition().unwrap()).await;
    assert!(
        tags.contains(&("ecs-deploy:git-sha".to_string(), SHA.to_string())),
        "{tags:?}"
    );
    gh.assert_clean(&[&run]);

    // No label: GITHUB_SHA, and nothing to warn about.
    aws.push_image("app-gh-label", "v4").await;
    let image = Aws::image_uri("app-gh-label", "v4");
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert!(!run.stdout.contains("::warning"), "{}", run.stdout);
    let svc = aws.service(&cluster, "api").await;
    let (_, tags) = aws.task_definition(svc.task_definition().unwrap()).await;
    assert!(
        tags.contains(&("ecs-deploy:git-sha".to_string(), HEAD.to_string())),
        "{tags:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_input_switches_channels_off_without_warnings() {
    let gh = Gh::pull_request("quiet-org/shop", 6, |_| {});
    let aws = Aws::new("gh_quiet").await;
    let (cluster, image) = rolling_service(&aws, "gh-quiet").await;
    let mut inputs = rolling_inputs(&cluster, &image, "dev");
    inputs.push(("report", "checks"));
    let run = gh.run(&aws, &inputs);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    assert!(github_warnings(&run).is_empty(), "{}", run.stdout);
    let reqs = gh.requests();
    assert!(count(&reqs, "POST", "/check-runs") >= 1, "checks stay on");
    assert_eq!(count(&reqs, "POST", "/deployments"), 0, "deployments off");
    assert_eq!(
        gh.state()["comments"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "comment off"
    );
    assert!(run.summary.is_empty(), "summary off: {}", run.summary);
    gh.assert_clean(&[&run]);

    let mut inputs = rolling_inputs(&cluster, &image, "dev");
    inputs.push(("report", "checks, pager"));
    let run = gh.run(&aws, &inputs);
    run.assert_code(2);
    assert!(run.stdout.contains("`pager` is not a report channel"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_outage_is_a_warning_not_a_failed_deploy() {
    let gh = Gh::pull_request("down-org/shop", 6, |_| {});
    GitHub::shared().add_faults(vec![
        json!({"method": "*", "path_regex": "^/repos/down-org/shop/", "status": 503}),
    ]);
    let aws = Aws::new("gh_down").await;
    let (cluster, image) = rolling_service(&aws, "gh-down").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    let warnings = github_warnings(&run);
    assert!(
        !warnings.is_empty() && warnings.len() <= 3,
        "one per channel at most: {warnings:#?}"
    );
    assert!(warnings.iter().all(|w| w.contains("503")), "{warnings:#?}");
    let reqs = gh.requests();
    assert!(
        reqs.len() <= 10,
        "channels back off after a 5xx: {} requests",
        reqs.len()
    );
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_honoured_briefly_and_never_stall_the_deploy() {
    let gh = Gh::pull_request("slow-org/shop", 8, |_| {});
    GitHub::shared().add_faults(vec![
        // A short secondary rate limit: waited for, then the check run is created.
        json!({"method": "POST", "path_regex": "^/repos/slow-org/shop/check-runs$", "status": 429,
               "retry_after": 1, "count": 1}),
        // A long one (403 with retry-after, as GitHub's secondary limits): skipped, not waited.
        json!({"method": "PATCH", "path_regex": "^/repos/slow-org/shop/issues/comments/", "status": 403,
               "retry_after": 60, "message": "You have exceeded a secondary rate limit."}),
    ]);
    let aws = Aws::new("gh_slow").await;
    let (cluster, image) = rolling_service(&aws, "gh-slow").await;
    let t = Instant::now();
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    let took = t.elapsed();
    run.assert_code(0);
    assert!(
        took < Duration::from_secs(30),
        "a 60 s retry-after was not waited for: {took:?}"
    );
    let reqs = gh.requests();
    assert_eq!(count(&reqs, "POST", "/check-runs"), 2, "the 429 was retried once");
    assert_eq!(check_run(&gh.state(), "dev")["conclusion"], "success");
    let warnings = github_warnings(&run);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("rate-limited") && warnings[0].contains("retry after 60 s"),
        "{warnings:#?}"
    );
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_api_costs_one_timeout_at_most() {
    let gh = Gh::pull_request("hang-org/shop", 9, |_| {});
    GitHub::shared().add_faults(vec![
        json!({"method": "POST", "path_regex": "^/repos/hang-org/shop/deployments$",
                                            "delay_ms": 8000}),
    ]);
    let aws = Aws::new("gh_hang").await;
    let (cluster, image) = rolling_service(&aws, "gh-hang").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    let warnings = github_warnings(&run);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("no answer within 5 s") && warnings[0].contains("deployments"),
        "{warnings:#?}"
    );
    assert_eq!(
        count(&gh.requests(), "POST", "/statuses"),
        0,
        "the channel is off after the timeout"
    );
    assert_eq!(
        check_run(&gh.state(), "dev")["conclusion"],
        "success",
        "other channels unaffected"
    );
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_is_a_single_warning() {
    let mut gh = Gh::pull_request("token-org/shop", 10, |_| {});
    gh.token = "ghs_notTheRightToken000000000000000000";
    let aws = Aws::new("gh_token").await;
    let (cluster, image) = rolling_service(&aws, "gh-token").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    let warnings = github_warnings(&run);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("github-token"), "{warnings:#?}");
    assert!(gh.requests().len() <= 3, "nothing more after the 401s");
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_pull_request_text_is_escaped_everywhere() {
    let long_line = "A".repeat(10_000);
    let title = format!("{HOSTILE} {long_line}");
    let gh = Gh::pull_request("evil-org/shop", 13, |p| {
        p["pull_request"]["title"] = title.clone().into();
        p["pull_request"]["head"]["ref"] = format!("feat/{HOSTILE}\n::error::injected").into();
    });
    let aws = Aws::new("gh_evil").await;
    let (cluster, image) = rolling_service(&aws, "gh-evil").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert!(github_warnings(&run).is_empty(), "{}", run.stdout);
    // Every command the runner would act on (both syntaxes, as it parses them) is one we meant.
    for c in runner::commands(&format!("{}\n{}", run.stdout, run.stderr)) {
        assert!(
            ["add-mask", "group", "endgroup", "notice"].contains(&c.name.as_str()),
            "a workflow command from untrusted text: {c:?}"
        );
        assert!(!c.data.contains("injected"), "{c:?}");
    }
    assert!(!run.stdout.contains("onerror"), "PR text never reaches the log");
    // Nor the step outputs, which later steps may interpolate into scripts.
    for (name, value) in &run.outputs {
        assert!(
            !value.contains("onerror") && !value.contains("::"),
            "output {name}: {value}"
        );
    }
    assert!(!run.summary.contains("<img"), "{}", run.summary);
    let st = gh.state();
    let c = check_run(&st, "dev");
    let body = st["comments"][0]["body"].as_str().unwrap_or("").to_string();
    for (what, md) in [
        ("check-run summary", c["output"]["summary"].as_str().unwrap_or("")),
        ("check-run title", c["output"]["title"].as_str().unwrap_or("")),
        ("comment", body.as_str()),
    ] {
        assert!(!md.contains("<img"), "{what}: {md}");
        assert!(!md.contains("@acme/ops"), "{what} mentions a team: {md}");
        assert!(!md.contains("[x](javascript"), "{what}: {md}");
        assert!(!md.contains("**b**"), "{what}: {md}");
        assert!(!md.lines().any(|l| l.trim_start().starts_with("::")), "{what}: {md}");
        assert!(
            !md.contains(&"A".repeat(1000)),
            "{what}: a 10,000-character line is cut"
        );
    }
    let summary = c["output"]["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("&lt;img") && summary.contains("@\u{200B}acme/ops"),
        "{summary}"
    );
    assert!(body.contains("feat/&lt;img"), "the branch is shown, escaped: {body}");
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_comment_stays_within_githubs_limit() {
    let repo = "big-org/shop";
    // A sticky comment whose hidden state has grown past the limit (40 stages, long versions).
    let rows: Vec<Value> = (0..40)
        .map(|i| {
            json!({"stage": format!("old-{i}"), "outcome": "success", "version": "9".repeat(3000),
                        "strategy": "rolling", "sha": SHA})
        })
        .collect();
    let seeded = format!(
        "{MARKER}\nold\n<!-- ecs-deploy-action:state {} -->\n",
        json!({"v": 1, "rows": rows})
    );
    GitHub::shared().seed(
        repo,
        json!({"comments": [{"issue_number": 14, "body": seeded, "user": "github-actions[bot]"}]}),
    );
    let gh = Gh::pull_request(repo, 14, |_| {});
    let aws = Aws::new("gh_big").await;
    let (cluster, image) = rolling_service(&aws, "gh-big").await;
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(0);
    assert!(github_warnings(&run).is_empty(), "{}", run.stdout);
    let reqs = gh.requests();
    assert_eq!(
        count(&reqs, "POST", "/issues/14/comments"),
        0,
        "the seeded comment is reused"
    );
    assert!(
        reqs.iter().all(|r| r["status"].as_u64().unwrap_or(0) < 400),
        "nothing rejected: {reqs:#?}"
    );
    let comments = gh.state()["comments"].as_array().cloned().unwrap_or_default();
    assert_eq!(comments.len(), 1);
    let body = comments[0]["body"].as_str().unwrap_or("");
    let chars = body.chars().count();
    eprintln!("comment body: {chars} characters");
    assert!(chars <= 65_536, "{chars}");
    assert!(
        body.contains("| dev |") && body.contains("✅ success"),
        "the new row is kept"
    );
    assert!(!body.contains("| old\\-0 |"), "the oldest rows went first");
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_at_an_approval_gate_asks_for_action_with_resume_instructions() {
    let repo = "gate-org/shop";
    GitHub::shared().seed(
        repo,
        json!({"environments": {"dev": {}, "prod": {"required_reviewers": [{"type": "User", "login": "sre"}]}}}),
    );
    let aws = Aws::new("gh_gate").await;
    let (cluster, image) = rolling_service(&aws, "gh-gate").await;
    let config = chain_config(
        &image,
        &format!("resume-workflow: promote.yml\nstages:\n  - name: dev\n    cluster: {cluster}\n    services: api\n    url: https://dev.shop.example.com\n  - name: prod\n    cluster: {cluster}\n    services: api\n"),
    );
    let gh = Gh::push(repo, SHA, "feat: coupons");
    let path = config.path().to_string_lossy().into_owned();
    let run = gh.run(
        &aws,
        &[
            ("config", &path),
            ("image", &image),
            ("stage", "dev"),
            ("until", "prod"),
        ],
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "awaiting-approval", "{}", run.stdout);
    let st = gh.state();
    assert_eq!(check_run(&st, "dev")["conclusion"], "success");
    let gate = check_run(&st, "prod");
    assert_eq!(gate["conclusion"], "action_required", "{gate:#}");
    assert_eq!(gate["details_url"], gh.run_url());
    let text = gate["output"]["text"].as_str().unwrap_or("");
    assert!(
        text.contains("Approval required") && text.contains("promote") && text.contains("stage=prod"),
        "{text}"
    );
    let deployments = st["deployments"].as_array().cloned().unwrap_or_default();
    assert_eq!(deployments.len(), 1, "nothing was deployed to prod: {deployments:#?}");
    assert_eq!(deployments[0]["environment"], "dev");
    let last = deployments[0]["statuses"]
        .as_array()
        .and_then(|s| s.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        last["environment_url"], "https://dev.shop.example.com",
        "the stage's url"
    );
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_stops_before_custom_protection_rules_and_branch_policies() {
    let repo = "rules-org/shop";
    GitHub::shared().seed(
        repo,
        json!({"environments": {
            "dev": {},
            "staging": {"custom_rules": [{"slug": "change-freeze", "enabled": true}]},
            "qa": {"deployment_branch_policy": {"protected_branches": true, "custom_branch_policies": false}},
        }}),
    );
    let aws = Aws::new("gh_rules").await;
    let (cluster, image) = rolling_service(&aws, "gh-rules").await;
    let gh = Gh::push(repo, SHA, "feat: coupons");
    for (next, why) in [
        ("staging", "the custom rule change-freeze"),
        ("qa", "a deployment branch policy"),
    ] {
        let config = chain_config(
            &image,
            &format!("stages:\n  - name: dev\n    cluster: {cluster}\n    services: api\n  - name: {next}\n    cluster: {cluster}\n    services: api\n"),
        );
        let path = config.path().to_string_lossy().into_owned();
        let run = gh.run(
            &aws,
            &[("config", &path), ("image", &image), ("stage", "dev"), ("until", next)],
        );
        run.assert_code(0);
        assert_eq!(run.output("outcome"), "awaiting-approval", "{}", run.stdout);
        assert_eq!(run.output("next-stage"), next);
        assert!(
            run.stdout.contains(&format!("requires approval ({why})")),
            "{}",
            run.stdout
        );
        gh.assert_clean(&[&run]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_stops_before_a_stage_under_another_aws_role() {
    let repo = "roles-org/shop";
    GitHub::shared().seed(repo, json!({"environments": {"dev": {}, "staging": {}}}));
    let aws = Aws::new("gh_roles").await;
    let (cluster, image) = rolling_service(&aws, "gh-roles").await;
    let gh = Gh::push(repo, SHA, "feat: coupons");
    let config = chain_config(
        &image,
        &format!("stages:\n  - name: dev\n    aws-role: arn:aws:iam::111111111111:role/deploy-dev\n    cluster: {cluster}\n    services: api\n  - name: staging\n    aws-role: arn:aws:iam::222222222222:role/deploy-staging\n    cluster: {cluster}\n    services: api\n"),
    );
    let path = config.path().to_string_lossy().into_owned();
    let run = gh.run(
        &aws,
        &[
            ("config", &path),
            ("image", &image),
            ("stage", "dev"),
            ("until", "staging"),
        ],
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "awaiting-approval", "{}", run.stdout);
    assert_eq!(run.output("next-stage"), "staging");
    assert!(
        run.stdout
            .contains("it runs under the AWS role arn:aws:iam::222222222222:role/deploy-staging"),
        "{}",
        run.stdout
    );
    assert_eq!(
        count(&gh.requests(), "GET", "/environments/staging"),
        0,
        "stopped before even reading staging's gate"
    );
}

/// Markdown without its fenced code blocks and inline code spans, which show text literally.
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(&line.split('`').step_by(2).collect::<Vec<_>>().concat());
            out.push('\n');
        }
    }
    out
}

/// Free text from AWS (a crashed container's `reason`) in a failed deploy reaches the log, the
/// `::error`, the summary and the check run, and is inert in each; it cannot add a workflow
/// command or a step output.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_aws_text_in_a_failure_is_inert_everywhere() {
    let gh = Gh::pull_request("awsevil-org/shop", 15, |_| {});
    let aws = Aws::new("gh_awsevil").await;
    let (cluster, _) = rolling_service(&aws, "gh-awsevil").await;
    let repo = "app-gh-awsevil";
    let evil = aws.push_image(repo, "evil").await;
    let reason =
        "OOM <img src=x onerror=alert(1)> @acme/ops ##[set-output name=a;]b\n::set-env name=A::b\r::warning::cr";
    Sim::shared().scenario(
        &evil,
        json!({"crash": true, "crash_after_seconds": 0.5, "exit_code": 137, "crash_reason": reason}),
    );
    let image = Aws::image_uri(repo, "evil");
    let run = gh.run(&aws, &rolling_inputs(&cluster, &image, "dev"));
    run.assert_code(1);

    let cmds = runner::commands(&format!("{}\n{}", run.stdout, run.stderr));
    for c in &cmds {
        assert!(
            ["add-mask", "group", "endgroup", "notice", "warning", "error"].contains(&c.name.as_str()),
            "a workflow command from AWS text: {c:?}"
        );
        assert!(c.data != "cr" && c.data != "b", "a command from AWS text: {c:?}");
    }
    assert!(
        cmds.iter().any(|c| c.name == "error" && c.data.contains("OOM <img")),
        "the reason reaches the ::error, verbatim (it is data there): {cmds:#?}"
    );
    let declared: Vec<String> = {
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(support::repo_root().join("action.yml")).unwrap())
                .unwrap();
        doc["outputs"]
            .as_mapping()
            .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    for name in run.outputs.keys() {
        assert!(declared.contains(name), "an output nobody declared: {name}");
    }

    let st = gh.state();
    let c = check_run(&st, "dev");
    assert_eq!(c["conclusion"], "failure");
    let text = c["output"]["text"].as_str().unwrap_or("");
    let summary = c["output"]["summary"].as_str().unwrap_or("");
    assert!(
        format!("{summary}{text}{}", run.summary).contains("OOM"),
        "the reason is shown: {summary}\n{text}"
    );
    for (what, md) in [
        ("job summary", run.summary.as_str()),
        ("check-run summary", summary),
        ("check-run text", text),
    ] {
        let visible = outside_code(md);
        assert!(!visible.contains("<img"), "{what}: {md}");
        assert!(!visible.contains("@acme"), "{what} mentions a team: {md}");
    }
    gh.assert_clean(&[&run]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_failing_at_its_second_stage_closes_the_first_stages_reports_and_its_own() {
    let repo = "chain2-org/shop";
    GitHub::shared().seed(repo, json!({"environments": {"dev": {}, "prod": {}}}));
    let aws = Aws::new("gh_chain2").await;
    let (cluster, image) = rolling_service(&aws, "gh-chain2").await;
    // prod names a service that does not exist: its preflight fails after dev succeeded.
    let config = chain_config(
        &image,
        &format!("stages:\n  - name: dev\n    cluster: {cluster}\n    services: api\n  - name: prod\n    cluster: {cluster}\n    services: no-such-service\n"),
    );
    let gh = Gh::push(repo, SHA, "fix: x");
    let path = config.path().to_string_lossy().into_owned();
    let run = gh.run(
        &aws,
        &[
            ("config", &path),
            ("image", &image),
            ("stage", "dev"),
            ("until", "prod"),
        ],
    );
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure", "{}", run.stdout);
    assert_eq!(run.output("stage"), "prod");
    assert!(
        run.output("rolled-back-reason").contains("no-such-service"),
        "{}",
        run.stdout
    );
    let st = gh.state();
    let dev = check_run(&st, "dev");
    assert_eq!(dev["status"], "completed", "{dev:#}");
    assert_eq!(dev["conclusion"], "success");
    let prod = check_run(&st, "prod");
    assert_eq!(
        prod["status"], "completed",
        "the failed stage has its own check run: {prod:#}"
    );
    assert_eq!(prod["conclusion"], "failure");
    let deployments = st["deployments"].as_array().cloned().unwrap_or_default();
    let dev_deployment = deployments
        .iter()
        .find(|d| d["environment"] == "dev")
        .expect("dev has a deployment");
    assert_eq!(statuses(dev_deployment).last().map(String::as_str), Some("success"));
    gh.assert_clean(&[&run]);
}
