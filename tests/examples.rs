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

fn example(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pipeline() -> Value {
    example("pipeline.yml")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `${{ needs.J.outputs.K }}`, `${{ steps.ID.outputs.K }}` (with `steps` the job's own step
/// outputs) and `${{ github.event.A.B }}` (the event payload); nothing else is passed to the
/// action by the examples.
fn eval(s: &str, needs: &Outputs, steps: &HashMap<String, String>, event: &serde_json::Value) -> String {
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
            ["inputs", key] => event
                .pointer(&format!("/inputs/{key}"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_else(|| panic!("{expr}: the dispatch has no input {key}"))
                .to_string(),
            ["github", "event", path @ ..] => {
                let pointer = format!("/{}", path.join("/"));
                event
                    .pointer(&pointer)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_else(|| panic!("{expr}: not in the event payload"))
                    .to_string()
            }
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
    /// The repository the workflow runs in.
    repo: &'static str,
    aws: Aws,
    file: Value,
    config: tempfile::NamedTempFile,
    outputs: Outputs,
    /// Jobs run so far: each job's GitHub deployment links its own job.
    jobs_run: u32,
    /// What a `repository_dispatch` event carries.
    client_payload: serde_json::Value,
    /// A `workflow_dispatch`'s inputs.
    inputs: serde_json::Value,
}

/// The tests here share the `shop/web` ECR repository the example files name (and its
/// version tags): one at a time.
static SHOP_WEB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The deployments anyone asked GitHub to create (GitHub's own job deployments are seeded).
fn deployments_created(g: &GitHub, repo: &str) -> usize {
    g.requests(repo)
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/deployments")))
        .count()
}

impl Pipeline {
    /// Runs `job`'s action step for `event` at commit `sha`, records its job outputs.
    fn run(&mut self, job: &str, event: &str, sha: &str) -> Run {
        let j = &self.file["jobs"][job];
        let client_payload = self.client_payload.clone();
        let dispatch_inputs = self.inputs.clone();
        let repo = self.repo;
        let payload = support::github::event(event, repo, |p| match event {
            "push" => {
                p["ref"] = "refs/heads/main".into();
                p["after"] = sha.into();
            }
            "repository_dispatch" => p["client_payload"] = client_payload,
            "workflow_dispatch" => {
                p["ref"] = "refs/heads/main".into();
                p["inputs"] = dispatch_inputs;
            }
            _ => p["pull_request"]["head"]["sha"] = sha.into(),
        });
        let event_json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(payload.path()).unwrap()).unwrap();
        // The job's earlier steps: an app token is the only output the action takes from them.
        let earlier = HashMap::from([("token".to_string(), TOKEN.to_string())]);
        let inputs: Vec<(String, String)> = action_inputs(j)
            .into_iter()
            .map(|(k, v)| {
                let v = if k == "config" {
                    self.config.path().to_str().unwrap().to_string()
                } else {
                    eval(&v, &self.outputs, &earlier, &event_json)
                };
                (k, v)
            })
            .collect();
        let mut all: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if !inputs.iter().any(|(k, _)| k == "github-token") {
            all.push(("github-token", TOKEN));
        }
        // On a pull request GITHUB_SHA is the merge ref's commit, not the image's.
        let github_sha = if event == "pull_request" { MERGE_REF_SHA } else { sha };
        let g = GitHub::shared();
        // What GitHub does when a job with `environment:` starts: one deployment, on the PR's
        // head (else GITHUB_SHA), with an in-progress status linking the job.
        let environment = j["environment"]
            .as_str()
            .map(|e| eval(e, &self.outputs, &HashMap::new(), &event_json));
        self.jobs_run += 1;
        if let Some(env) = &environment {
            g.seed(
                repo,
                serde_json::json!({"deployments": [{"ref": sha, "environment": env, "statuses": [
                    {"state": "in_progress",
                     "log_url": format!("https://github.com/{repo}/actions/runs/1001/job/{}", self.jobs_run)}
                ]}]}),
            );
        }
        // Reporting to another repository's commit leaves GitHub's own job deployment here to
        // GitHub (it finishes it with the job).
        let cross_repository = inputs.iter().any(|(k, _)| k == "commit-repository");
        let created_before = deployments_created(g, repo);
        let run = run_action(
            &self.aws,
            &all,
            &[
                ("GITHUB_API_URL", g.api.as_str()),
                ("GITHUB_REPOSITORY", repo),
                ("GITHUB_EVENT_NAME", event),
                ("GITHUB_EVENT_PATH", payload.path().to_str().unwrap()),
                ("GITHUB_SHA", github_sha),
            ],
        );
        assert_eq!(
            deployments_created(g, repo),
            created_before,
            "{job}: the action made a second deployment next to GitHub's"
        );
        if let Some(env) = environment.as_ref().filter(|_| !cross_repository) {
            let state = g.state(repo);
            // GitHub's deployment for this job (its first status links the job) got the outcome.
            let this_job = format!("/job/{}", self.jobs_run);
            let ours: Vec<&serde_json::Value> = state["deployments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["environment"] == env.as_str() && d["sha"] == sha)
                .filter(|d| {
                    d["statuses"][0]["log_url"]
                        .as_str()
                        .is_some_and(|u| u.ends_with(&this_job))
                })
                .collect();
            assert_eq!(ours.len(), 1, "{job}: GitHub's deployment of {env} for this job");
            let last = ours[0]["statuses"].as_array().and_then(|s| s.last()).unwrap();
            assert_ne!(last["state"], "in_progress", "{job}: the outcome was posted: {ours:#?}");
        }
        let steps: HashMap<String, String> = run.outputs.clone();
        let outputs = j["outputs"]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k), eval(&text(v), &self.outputs, &steps, &event_json)))
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
    let _shop_web = SHOP_WEB.lock().await;
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
        repo: REPO,
        aws,
        file,
        config,
        outputs: Outputs::new(),
        jobs_run: 0,
        client_payload: serde_json::Value::Null,
        inputs: serde_json::Value::Null,
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
            let runs_action = job["steps"].as_sequence().is_some_and(|s| {
                s.iter()
                    .any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(ACTION)))
            });
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
            let is_rollback = action_inputs(job)
                .iter()
                .any(|(k, v)| k == "command" && v == "rollback");
            assert_eq!(
                cancels,
                is_rollback.to_string(),
                "{name} {job_name}: cancel-in-progress"
            );
            // GitHub keeps one job waiting per group unless `queue: max`: the next would cancel
            // it (tests/concurrency.rs plays that out). A rollback cancels instead of waiting.
            let queue = concurrency["queue"].as_str().unwrap_or("single");
            assert_eq!(
                queue,
                if is_rollback { "single" } else { "max" },
                "{name} {job_name}: queue"
            );
        }
    }
    assert_eq!(seen, 8, "deploying jobs in examples/");
}

/// `app-release.yml` in the app repository dispatches `infra-deploy.yml` in the infrastructure
/// repository: the image is deployed, and the check run, the PR comment and a deployment land
/// on the app's commit, in the app's repository. A token the app repository refuses costs a
/// warning, never the deploy.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_repositorys_dispatch_deploys_its_image_and_reports_on_its_commit() {
    const INFRA: &str = "acme/shop-infra";
    const APP: &str = "acme/shop-app";
    const INFRA_HEAD: &str = "3333333333333333333333333333333333333333";
    let app = example("app-release.yml");
    let dispatch = app["jobs"]["build"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Dispatch the deploy")
        .map(|s| text(&s["run"]))
        .expect("the dispatch step");
    let sent: Vec<String> = dispatch
        .split("client_payload[")
        .skip(1)
        .map(|rest| rest.split(']').next().unwrap().to_string())
        .collect();
    let file = example("infra-deploy.yml");
    let read: Vec<String> = action_inputs(&file["jobs"]["dev"])
        .into_iter()
        .filter_map(|(_, v)| {
            v.strip_prefix("${{ github.event.client_payload.")
                .and_then(|r| r.strip_suffix(" }}"))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        sent, read,
        "the app sends exactly what the infrastructure workflow reads"
    );
    assert!(dispatch.contains("event_type=deploy-shop"));
    assert_eq!(
        file["on"]["repository_dispatch"]["types"][0],
        Value::from("deploy-shop")
    );

    let aws = Aws::new("dispatch").await;
    aws.push_image("dispatch/web", "v1.0.0").await;
    aws.create_cluster("c-dispatch-dev").await;
    let td = aws
        .register(
            "dispatch-dev-web",
            &[("app", &Aws::image_uri("dispatch/web", "v1.0.0"))],
        )
        .await;
    aws.create_service("c-dispatch-dev", "web", &td, 1).await;
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/dispatch/web\nstages:\n  - name: dev\n    cluster: c-dispatch-dev\n    services: [web]\n",
    )
    .unwrap();
    let g = GitHub::shared();
    g.seed(INFRA, serde_json::json!({"environments": {"dev": {}}}));
    let commit = "4444444444444444444444444444444444444444";
    g.seed(
        APP,
        serde_json::json!({
            "pulls": [{"number": 42, "title": "Faster checkout", "head_ref": "feat/fast",
                       "head_sha": "5555555555555555555555555555555555555555", "base_ref": "main",
                       "state": "closed", "merged": true, "merge_commit_sha": commit, "user": "alice"}],
            "commit_pulls": {commit: [42]}
        }),
    );
    let digest = aws.push_image("dispatch/web", &format!("git-{commit}")).await;
    let mut p = Pipeline {
        repo: INFRA,
        aws,
        file,
        config,
        outputs: Outputs::new(),
        jobs_run: 0,
        client_payload: serde_json::json!({
            "image": Aws::image_uri("dispatch/web", &format!("git-{commit}")),
            "commit": commit,
            "repository": APP,
        }),
        inputs: serde_json::Value::Null,
    };
    let run = p.run("dev", "repository_dispatch", INFRA_HEAD);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(p.digest_of("c-dispatch-dev").await, digest);
    assert_eq!(p.recorded_commit("c-dispatch-dev").await, commit);

    let app_state = g.state(APP);
    let checks = app_state["check_runs"].as_array().unwrap();
    assert!(!checks.is_empty(), "a check run on the app's commit");
    assert!(checks.iter().all(|c| c["head_sha"] == commit), "{checks:#?}");
    let comments = app_state["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "the sticky comment on the app's pull request");
    assert_eq!(comments[0]["issue_number"], 42);
    let deployments = app_state["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    assert_eq!(deployments[0]["sha"], commit);
    assert_eq!(deployments[0]["environment"], "dev");
    assert_eq!(
        deployments[0]["statuses"].as_array().unwrap().last().unwrap()["state"],
        "success"
    );
    let infra_state = g.state(INFRA);
    assert!(infra_state["check_runs"].as_array().unwrap().is_empty());
    assert!(infra_state["comments"].as_array().unwrap().is_empty());
    assert_eq!(g.violations(APP), Vec::<serde_json::Value>::new());

    // A token the app repository refuses: one warning per channel, the deploy unchanged.
    g.add_faults(vec![
        serde_json::json!({"method": "*", "path_regex": "^/repos/acme/shop-app/", "status": 403,
                                         "message": "Resource not accessible by integration"}),
    ]);
    let next = "6666666666666666666666666666666666666666";
    let digest = p.aws.push_image("dispatch/web", &format!("git-{next}")).await;
    p.client_payload["image"] = Aws::image_uri("dispatch/web", &format!("git-{next}")).into();
    p.client_payload["commit"] = next.into();
    let run = p.run("dev", "repository_dispatch", INFRA_HEAD);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(p.digest_of("c-dispatch-dev").await, digest);
    assert!(run.stdout.contains("::warning"), "{}", run.stdout);
    let refused: Vec<&str> = run.stdout.lines().filter(|l| l.contains("HTTP 403")).collect();
    assert!(
        refused.iter().any(|l| l.contains("check runs skipped")),
        "{}",
        run.stdout
    );
    assert!(
        refused
            .iter()
            .all(|l| l.contains("on acme/shop-app") && !l.contains("give the job")),
        "the fix is the token's permission there: {refused:#?}"
    );
}

/// The dispatch-based path, job by job from the real deploy.yml, promote.yml and rollback.yml:
/// a pull request deploys its `dev-<sha>` image to dev, the merge promotes it to staging and
/// stops at prod's gate, promote.yml takes the version to prod; after a second release,
/// rollback.yml puts prod back on the first.
#[tokio::test(flavor = "multi_thread")]
async fn the_dispatch_path_runs_from_the_real_deploy_promote_and_rollback_files() {
    let _shop_web = SHOP_WEB.lock().await;
    const PATH_REPO: &str = "acme/dispatch-path";
    let aws = Aws::new("dpath").await;
    aws.push_image("shop/web", "dpath-base").await;
    let base = Aws::image_uri("shop/web", "dpath-base");
    for stage in ["dev", "staging", "prod"] {
        let cluster = format!("c-dpath-{stage}");
        aws.create_cluster(&cluster).await;
        let td = aws.register(&format!("dpath-{stage}-web"), &[("app", &base)]).await;
        aws.create_service(&cluster, "web", &td, 1).await;
    }
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web\nresume-workflow: promote.yml\nstages:\n  - name: dev\n    cluster: c-dpath-dev\n    services: [web]\n  - name: staging\n    version: auto\n    cluster: c-dpath-staging\n    services: [web]\n  - name: prod\n    cluster: c-dpath-prod\n    services: [web]\n",
    )
    .unwrap();
    GitHub::shared().seed(
        PATH_REPO,
        serde_json::json!({"environments": {
            "dev": {}, "staging": {},
            "prod": {"required_reviewers": [{"type": "User", "login": "sre-oncall"}], "wait_timer": 0}
        }}),
    );
    let mut p = Pipeline {
        repo: PATH_REPO,
        aws,
        file: example("deploy.yml"),
        config,
        outputs: Outputs::new(),
        jobs_run: 0,
        client_payload: serde_json::Value::Null,
        inputs: serde_json::Value::Null,
    };
    let mut releases = Vec::new();
    for (pr, merge) in [
        (
            "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
            "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1",
        ),
        (
            "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2",
            "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
        ),
    ] {
        // deploy.yml on the pull request: its dev-<head sha> image to dev.
        let digest = p
            .aws
            .push_labelled_image(
                "shop/web",
                &format!("dev-{pr}"),
                &[("org.opencontainers.image.revision", pr)],
            )
            .await;
        p.file = example("deploy.yml");
        let run = p.run("dev", "pull_request", pr);
        run.assert_code(0);
        assert_eq!(p.digest_of("c-dpath-dev").await, digest);

        // deploy.yml on the merge: staging, then the walk stops at prod's gate.
        let run = p.run("staging", "push", merge);
        run.assert_code(0);
        assert_eq!(run.output("outcome"), "awaiting-approval", "{}", run.stdout);
        assert_eq!(run.output("next-stage"), "prod");
        assert_eq!(p.digest_of("c-dpath-staging").await, digest);
        let version = run.output("version").to_string();

        // promote.yml, dispatched with what the staging job said.
        p.file = example("promote.yml");
        p.inputs = serde_json::json!({"stage": "prod", "version": version});
        let run = p.run("promote", "workflow_dispatch", merge);
        run.assert_code(0);
        assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
        assert_eq!(
            p.digest_of("c-dpath-prod").await,
            digest,
            "prod runs what passed staging"
        );
        assert_eq!(
            p.recorded_commit("c-dpath-prod").await,
            pr,
            "the promotion names the image's commit (its label), not the dispatch's HEAD"
        );
        releases.push((digest, version));
    }

    // rollback.yml: prod back on the first release.
    p.file = example("rollback.yml");
    p.inputs = serde_json::json!({"stage": "prod", "to": "previous"});
    let run = p.run(
        "rollback",
        "workflow_dispatch",
        "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(run.output("version"), releases[0].1);
    assert_eq!(p.digest_of("c-dpath-prod").await, releases[0].0);
}
