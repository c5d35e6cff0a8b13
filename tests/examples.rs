//! `examples/pipeline.yml` as the runner runs it: the real file is read, its jobs are taken in
//! `needs` order, and each job's ecs-deploy-action step is run (the real binary, against the
//! AWS simulator and the GitHub fake) with the inputs the workflow gives it, every `${{ }}`
//! evaluated from the earlier jobs' outputs as GitHub would. The only change to the file's
//! inputs is where the chain config lives. An expression this test does not understand fails
//! it, so the example cannot drift from what is tested.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::collections::HashMap;

use serde_yaml_ng::Value;
use support::github::{GitHub, TOKEN};
use support::{run_action, Aws, Run};

const REPO: &str = "acme/pipeline";
const ACTION: &str = "ecs-deploy-action/ecs-deploy-action@";
const MERGE_REF_SHA: &str = "9999999999999999999999999999999999999999";

type Outputs = HashMap<String, HashMap<String, String>>;

fn pipeline() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipeline.yml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `${{ needs.J.outputs.K }}` and `${{ steps.ID.outputs.K }}` (with `steps` the job's own step
/// outputs); nothing else is passed to the action by the example.
fn eval(s: &str, needs: &Outputs, steps: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let parts: Vec<&str> = expr.split('.').collect();
        let value = match parts.as_slice() {
            ["needs", job, "outputs", key] => needs
                .get(*job)
                .and_then(|o| o.get(*key))
                .unwrap_or_else(|| panic!("{expr}: job {job} has no output {key}"))
                .clone(),
            ["steps", _, "outputs", key] => steps
                .get(*key)
                .unwrap_or_else(|| panic!("{expr}: the step has no output {key}"))
                .clone(),
            _ => panic!("an expression this test does not evaluate: {expr}"),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The job's ecs-deploy-action step: its `with:` inputs.
fn action_inputs(job: &Value) -> Vec<(String, String)> {
    let steps = job["steps"].as_sequence().expect("steps");
    let step = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(ACTION)))
        .expect("an ecs-deploy-action step");
    step["with"]
        .as_mapping()
        .expect("with")
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

struct Pipeline {
    aws: Aws,
    file: Value,
    config: tempfile::NamedTempFile,
    outputs: Outputs,
    /// Jobs run so far: each job's GitHub deployment links its own job.
    jobs_run: u32,
}

/// The deployments anyone asked GitHub to create (GitHub's own job deployments are seeded).
fn deployments_created(g: &GitHub) -> usize {
    g.requests(REPO)
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/deployments")))
        .count()
}

impl Pipeline {
    /// Runs `job`'s action step for `event` at commit `sha`, records its job outputs.
    fn run(&mut self, job: &str, event: &str, sha: &str) -> Run {
        let j = &self.file["jobs"][job];
        let inputs: Vec<(String, String)> = action_inputs(j)
            .into_iter()
            .map(|(k, v)| {
                let v = if k == "config" {
                    self.config.path().to_str().unwrap().to_string()
                } else {
                    eval(&v, &self.outputs, &HashMap::new())
                };
                (k, v)
            })
            .collect();
        let mut all: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.push(("github-token", TOKEN));
        let payload = support::github::event(event, REPO, |p| {
            if event == "push" {
                p["ref"] = "refs/heads/main".into();
                p["after"] = sha.into();
            } else {
                p["pull_request"]["head"]["sha"] = sha.into();
            }
        });
        // On a pull request GITHUB_SHA is the merge ref's commit, not the image's.
        let github_sha = if event == "push" { sha } else { MERGE_REF_SHA };
        let g = GitHub::shared();
        // What GitHub does when a job with `environment:` starts: one deployment, on the PR's
        // head (else GITHUB_SHA), with an in-progress status linking the job.
        let environment = j["environment"].as_str().map(str::to_string);
        self.jobs_run += 1;
        if let Some(env) = &environment {
            g.seed(
                REPO,
                serde_json::json!({"deployments": [{"ref": sha, "environment": env, "statuses": [
                    {"state": "in_progress",
                     "log_url": format!("https://github.com/{REPO}/actions/runs/1001/job/{}", self.jobs_run)}
                ]}]}),
            );
        }
        let created_before = deployments_created(g);
        let run = run_action(
            &self.aws,
            &all,
            &[
                ("GITHUB_API_URL", g.api.as_str()),
                ("GITHUB_REPOSITORY", REPO),
                ("GITHUB_EVENT_NAME", event),
                ("GITHUB_EVENT_PATH", payload.path().to_str().unwrap()),
                ("GITHUB_SHA", github_sha),
            ],
        );
        if let Some(env) = &environment {
            assert_eq!(
                deployments_created(g),
                created_before,
                "{job}: the action made a second deployment next to GitHub's"
            );
            let state = g.state(REPO);
            let ours: Vec<&serde_json::Value> = state["deployments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["environment"] == env.as_str() && d["sha"] == sha)
                .collect();
            let finals: Vec<&serde_json::Value> = ours
                .iter()
                .filter_map(|d| d["statuses"].as_array().and_then(|s| s.last()))
                .filter(|s| s["state"] != "in_progress")
                .collect();
            assert_eq!(
                finals.len(),
                1,
                "{job}: exactly one deployment of {env} at {sha} got the outcome: {ours:#?}"
            );
        }
        let steps: HashMap<String, String> = run.outputs.clone();
        let outputs = j["outputs"]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k), eval(&text(v), &self.outputs, &steps)))
                    .collect()
            })
            .unwrap_or_default();
        self.outputs.insert(job.to_string(), outputs);
        run
    }

    async fn digest_of(&self, cluster: &str) -> String {
        let svc = self.aws.service(cluster, "web").await;
        let (td, _) = self.aws.task_definition(svc.task_definition().unwrap()).await;
        let image = td.container_definitions()[0].image().unwrap().to_string();
        image.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or(image)
    }

    /// The commit the running revision's record names (`ecs-deploy:git-sha`).
    async fn recorded_commit(&self, cluster: &str) -> String {
        let svc = self.aws.service(cluster, "web").await;
        let (_, tags) = self.aws.task_definition(svc.task_definition().unwrap()).await;
        tags.into_iter()
            .find(|(k, _)| k == "ecs-deploy:git-sha")
            .map(|(_, v)| v)
            .unwrap_or_default()
    }
}

/// What the build job would have pushed for `sha`, as its script names it.
async fn build(p: &mut Pipeline, sha: &str) -> String {
    let script = text(&p.file["jobs"]["build"]["steps"][2]["run"]);
    assert!(script.contains(r#"image="$REGISTRY/shop/web:git-$SHA""#), "{script}");
    let digest = p.aws.push_image("shop/web", &format!("git-{sha}")).await;
    assert!(script.contains(r#"echo "commit=$SHA""#), "{script}");
    p.outputs.insert(
        "build".into(),
        HashMap::from([
            ("image".into(), Aws::image_uri("shop/web", &format!("git-{sha}"))),
            ("commit".into(), sha.to_string()),
        ]),
    );
    digest
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_goes_build_dev_staging_prod_with_the_digest_passed_between_jobs() {
    let file = pipeline();
    let jobs = &file["jobs"];
    // The shape GitHub's gate relies on.
    assert_eq!(jobs["dev"]["needs"], Value::from("build"));
    assert_eq!(jobs["staging"]["needs"], Value::from("dev"));
    assert_eq!(jobs["prod"]["needs"], Value::from("staging"));
    assert_eq!(jobs["prod"]["environment"], Value::from("prod"));
    assert_eq!(jobs["staging"]["if"], Value::from("github.event_name == 'push'"));
    for job in ["dev", "staging", "prod"] {
        assert_eq!(
            jobs[job]["concurrency"]["cancel-in-progress"],
            Value::from(false),
            "{job}"
        );
        assert_eq!(jobs[job]["environment"], Value::from(job));
    }

    let aws = Aws::new("pipeline").await;
    aws.push_image("shop/web", "v1.0.0").await;
    let base = Aws::image_uri("shop/web", "v1.0.0");
    for stage in ["dev", "staging", "prod"] {
        let cluster = format!("c-pipeline-{stage}");
        aws.create_cluster(&cluster).await;
        let td = aws.register(&format!("pipeline-{stage}-web"), &[("app", &base)]).await;
        aws.create_service(&cluster, "web", &td, 1).await;
    }
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web\nstages:\n  - name: dev\n    cluster: c-pipeline-dev\n    services: [web]\n  - name: staging\n    version: auto\n    cluster: c-pipeline-staging\n    services: [web]\n  - name: prod\n    environment: prod\n    cluster: c-pipeline-prod\n    services: [web]\n",
    )
    .unwrap();
    GitHub::shared().seed(
        REPO,
        serde_json::json!({"environments": {
            "dev": {}, "staging": {},
            "prod": {"required_reviewers": [{"type": "User", "login": "sre-oncall"}], "wait_timer": 0}
        }}),
    );
    let mut p = Pipeline {
        aws,
        file,
        config,
        outputs: Outputs::new(),
        jobs_run: 0,
    };

    // The merge: build → dev.
    let merged = "1111111111111111111111111111111111111111";
    let merged_digest = build(&mut p, merged).await;
    p.run("dev", "push", merged).assert_code(0);
    assert_eq!(p.outputs["dev"]["digest"], merged_digest);

    // A pull request deploys its own build to dev before staging's job starts.
    let pr = "2222222222222222222222222222222222222222";
    let pr_digest = build(&mut p, pr).await;
    let mut pr_outputs = p.outputs.clone();
    p.run("dev", "pull_request", pr).assert_code(0);
    assert_eq!(p.digest_of("c-pipeline-dev").await, pr_digest);
    assert_eq!(
        p.recorded_commit("c-pipeline-dev").await,
        pr,
        "the image's commit, not the merge ref"
    );
    std::mem::swap(&mut p.outputs, &mut pr_outputs); // back to the merge's run

    // staging gets the merge's digest from `needs.dev.outputs`, not dev's newest release.
    let run = p.run("staging", "push", merged);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(p.digest_of("c-pipeline-staging").await, merged_digest);
    let version = p.outputs["staging"]["version"].clone();
    assert!(version.starts_with('v'), "staging versions the release: {version}");

    // prod (after its reviewers, which GitHub enforces before the job starts): exactly the
    // staging digest and version from `needs.staging.outputs`.
    let run = p.run("prod", "push", merged);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(run.output("version"), version);
    assert_eq!(p.digest_of("c-pipeline-prod").await, merged_digest);
    assert_eq!(p.recorded_commit("c-pipeline-prod").await, merged);
}

/// Every job that runs the action shares one concurrency group per stage it deploys to,
/// across all the example workflows, so two deploys to one service take turns instead of
/// failing on the lock; the rollback cancels a running deploy instead of queueing behind it.
#[test]
fn every_deploying_job_takes_its_stages_concurrency_group() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") || path.ends_with("ecs-deploy.yml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let file: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (job_name, job) in file["jobs"].as_mapping().unwrap() {
            let runs_action = job["steps"]
                .as_sequence()
                .is_some_and(|s| s.iter().any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(ACTION))));
            if !runs_action {
                continue;
            }
            seen += 1;
            let job_name = text(job_name);
            let stage = action_inputs(job)
                .into_iter()
                .find(|(k, _)| k == "stage")
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("{name} {job_name}: no stage"));
            let concurrency = if job["concurrency"].is_mapping() {
                &job["concurrency"]
            } else {
                &file["concurrency"]
            };
            assert_eq!(
                text(&concurrency["group"]),
                format!("ecs-deploy-{stage}"),
                "{name} {job_name}: the stage's group"
            );
            let cancels = text(&concurrency["cancel-in-progress"]);
            let is_rollback = action_inputs(job).iter().any(|(k, v)| k == "command" && v == "rollback");
            assert_eq!(cancels, is_rollback.to_string(), "{name} {job_name}: cancel-in-progress");
        }
    }
    assert_eq!(seen, 7, "deploying jobs in examples/");
}
