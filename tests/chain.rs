//! The promotion chain end to end, the way the three example workflows run it, one job after
//! another: the real binary, GitHub's own webhook payloads, the AWS simulator, and the GitHub
//! fake (behind prism) for environment protection.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::github::{GitHub, TOKEN};
use support::{spawn_action, Aws, Run, Sim, Spawned};

const REPO: &str = "acme/chain";

fn seed_environments() {
    GitHub::shared().seed(
        REPO,
        serde_json::json!({"environments": {
            "dev": {},
            "staging": {},
            "prod": {"required_reviewers": [{"type": "User", "login": "sre-oncall"}], "wait_timer": 0}
        }}),
    );
}

/// A real webhook payload from `@octokit/webhooks-examples`, adapted to this repository;
/// a push carries the given commit messages.
fn event(name: &str, commits: &[&str]) -> tempfile::NamedTempFile {
    support::github::event(name, REPO, |payload| {
        if name == "push" {
            let template = payload["commits"][0].clone();
            payload["commits"] = commits
                .iter()
                .map(|m| {
                    let mut c = template.clone();
                    c["message"] = (*m).into();
                    c
                })
                .collect();
            payload["ref"] = "refs/heads/main".into();
        }
    })
}

struct Chain {
    aws: Aws,
    repo: String,
    config: tempfile::NamedTempFile,
    prod: support::Slots,
}

async fn chain(test: &str, immutable: bool) -> Chain {
    // Under exactly the pieces of iam/ this chain needs: rolling dev and staging, a canary in
    // prod, and the chain's tags in ECR.
    let aws = Aws::with_pieces(test, &["core", "two-slot", "metrics", "chain"]).await;
    let prod = aws.slots(&format!("{test}-prod"), 1).await;
    let repo = prod.repo.clone();
    if immutable {
        aws.ecr
            .put_image_tag_mutability()
            .repository_name(&repo)
            .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
            .send()
            .await
            .unwrap();
    }
    // A release already exists: v1.2.0, running everywhere.
    let base = aws.push_image(&repo, "v1.2.0").await;
    let pinned = format!("{}@{base}", Aws::image_uri(&repo, "x").rsplit_once(':').unwrap().0);
    for stage in ["dev", "staging"] {
        let cluster = format!("c-{test}-{stage}");
        aws.create_cluster(&cluster).await;
        let td = aws.register(&format!("{test}-{stage}-web"), &[("app", &pinned)]).await;
        aws.create_service(&cluster, "web", &td, 1).await;
    }
    let config = tempfile::NamedTempFile::new().unwrap();
    let uri = Aws::image_uri(&repo, "x");
    let repository = uri.rsplit_once(':').unwrap().0;
    std::fs::write(
        config.path(),
        format!(
            r#"repository: {repository}
resume-workflow: promote.yml
stages:
  - name: dev
    cluster: c-{test}-dev
    services: web
  - name: staging
    version: auto
    cluster: c-{test}-staging
    services: [web]
  - name: prod
    cluster: {prod_cluster}
    services: [web-blue, web-green]
    strategy: canary
    listener-arn: {listener}
    canary-steps: [50, 100]
    bake-time: 2s
    analysis-interval: 1s
    min-requests: 10
    keep-old-for: 0s
"#,
            prod_cluster = prod.cluster,
            listener = prod.listener,
        ),
    )
    .unwrap();
    seed_environments();
    Chain {
        aws,
        repo,
        config,
        prod,
    }
}

impl Chain {
    fn run(&self, inputs: &[(&str, &str)], event_name: &str, event: &tempfile::NamedTempFile) -> Run {
        self.spawn(inputs, event_name, event).wait()
    }

    fn spawn(&self, inputs: &[(&str, &str)], event_name: &str, event: &tempfile::NamedTempFile) -> Spawned {
        let g = GitHub::shared();
        let mut all = vec![
            ("config", self.config.path().to_str().unwrap()),
            ("github-token", TOKEN),
        ];
        all.extend_from_slice(inputs);
        let event_path = event.path().to_str().unwrap().to_string();
        spawn_action(
            &self.aws,
            &all,
            &[
                ("GITHUB_API_URL", g.api.as_str()),
                ("GITHUB_REPOSITORY", REPO),
                ("GITHUB_EVENT_NAME", event_name),
                ("GITHUB_EVENT_PATH", &event_path),
            ],
        )
    }

    async fn digest_of(&self, cluster: &str, service: &str) -> String {
        let svc = self.aws.service(cluster, service).await;
        let (td, _) = self.aws.task_definition(svc.task_definition().unwrap()).await;
        td.container_definitions()[0]
            .image()
            .unwrap()
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default()
    }

    async fn tag_digest(&self, tag: &str) -> Option<String> {
        let out = self
            .aws
            .ecr
            .describe_images()
            .repository_name(&self.repo)
            .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .ok()?;
        out.image_details()
            .first()
            .and_then(|d| d.image_digest())
            .map(str::to_string)
    }

    async fn prod_live_digest(&self) -> String {
        let (blue, green) = self.aws.weights(&self.prod.listener, &self.prod).await;
        let live = if green > blue { "web-green" } else { "web-blue" };
        self.digest_of(&self.prod.cluster, live).await
    }
}

/// One release through the three workflows: PR → dev, merge → staging (stops at prod's
/// gate), promote → prod. Returns (digest, version).
async fn release(c: &Chain, test: &str, tag: &str, commit: &str) -> (String, String) {
    let (digest, version) = to_prods_gate(c, test, tag, commit).await;
    // promote.yml: the job with environment prod.
    let run = c.run(
        &[("stage", "prod"), ("version", &version)],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert!(
        !run.stdout.contains("::warning"),
        "a promotion warns about nothing:\n{}",
        run.stdout
    );
    assert_eq!(
        c.prod_live_digest().await,
        digest,
        "prod runs exactly what passed staging"
    );
    (digest, version)
}

/// PR → dev, merge → staging, stopped at prod's gate. Returns (digest, version).
async fn to_prods_gate(c: &Chain, test: &str, tag: &str, commit: &str) -> (String, String) {
    let digest = c.aws.push_image(&c.repo, tag).await;
    // deploy.yml on a pull request: dev.
    let image = Aws::image_uri(&c.repo, tag);
    let run = c.run(
        &[("stage", "dev"), ("image", &image)],
        "pull_request",
        &event("pull_request", &[]),
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    assert_eq!(c.digest_of(&format!("c-{test}-dev"), "web").await, digest);

    // deploy.yml on the merge to main: staging, then prod's gate.
    let run = c.run(
        &[("stage", "staging"), ("until", "prod")],
        "push",
        &event("push", &[commit, "chore: tidy"]),
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "awaiting-approval", "{}", run.stdout);
    assert_eq!(run.output("next-stage"), "prod");
    assert_eq!(run.output("digest"), digest);
    let version = run.output("version").to_string();
    assert!(
        run.stdout.contains("::notice title=Approval needed::"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("stage=prod and version={version}")),
        "says how to resume:\n{}",
        run.stdout
    );
    assert_eq!(
        c.digest_of(&format!("c-{test}-staging"), "web").await,
        digest,
        "staging runs the dev digest"
    );
    assert_eq!(
        c.tag_digest(&version).await.as_deref(),
        Some(digest.as_str()),
        "the version tag is the same manifest"
    );
    (digest, version)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_three_workflows_promote_one_digest_and_roll_back() {
    let c = chain("chainflow", false).await;
    let (d1, v1) = release(&c, "chainflow", "dev-aaa111", "fix: rounding").await;
    assert_eq!(v1, "v1.2.1", "a fix after v1.2.0");
    let (d2, v2) = release(&c, "chainflow", "dev-bbb222", "feat: coupons").await;
    assert_eq!(v2, "v1.3.0", "a feat after v1.2.1");
    // Each version is a tag in ECR on exactly the digest that was released under it.
    assert_eq!(c.tag_digest("v1.2.1").await.as_deref(), Some(d1.as_str()));
    assert_eq!(c.tag_digest("v1.3.0").await.as_deref(), Some(d2.as_str()));
    assert_eq!(
        c.tag_digest("prod").await.as_deref(),
        Some(c.prod_live_digest().await.as_str()),
        "the moving tag follows prod"
    );

    // A re-run of the promote job is a no-op.
    let run = c.run(
        &[("stage", "prod"), ("version", &v2)],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    run.assert_code(0);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);

    // A digest that never passed staging is refused at prod.
    let rogue = c.aws.push_image(&c.repo, "v9.9.9").await;
    let run = c.run(
        &[("stage", "prod"), ("version", "v9.9.9")],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    run.assert_code(1);
    assert!(run.stdout.contains("has not passed staging"), "{}", run.stdout);
    assert_ne!(c.prod_live_digest().await, rogue);

    // rollback.yml: to the previous good release, fast: all traffic at once onto the release
    // prod already judged good, not the canary's steps and bakes again.
    let sim_time = || Sim::shared().get("/_sim/health")["sim_time"].as_f64().unwrap();
    let started = sim_time();
    let run = c.run(
        &[("command", "rollback"), ("stage", "prod")],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    let took = sim_time() - started;
    run.assert_code(0);
    assert_eq!(run.output("version"), v1, "{}", run.stdout);
    assert_eq!(c.prod_live_digest().await, d1, "prod is back on {v1}");
    assert!(
        run.stdout.contains("all-at-once") && !run.stdout.contains("bake"),
        "{}",
        run.stdout
    );
    // From a cold slot it cannot be seconds: the slot's tasks start and pass their health
    // checks first (about 4-5 minutes of simulated time here, as on AWS). Logged, not timed.
    eprintln!("the cold rollback took {took:.0} s of simulated time");
    assert_eq!(
        GitHub::shared().violations(REPO),
        Vec::<serde_json::Value>::new(),
        "every GitHub call matched the spec"
    );
}

/// rollback.yml shares prod's concurrency group with `cancel-in-progress: true`: started while
/// a promote keeps the old slot warm, it cancels that run, whose signal path puts traffic back
/// on the old slot by weights at once. The rollback itself then finds nothing left to undo
/// (not the release before the good one).
#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_rollback_during_keep_old_for_reverts_by_weights_and_goes_no_further() {
    let c = chain("emergency", false).await;
    let (d1, v1) = release(&c, "emergency", "dev-aaa111", "fix: rounding").await;
    let (d2, v2) = to_prods_gate(&c, "emergency", "dev-bbb222", "feat: coupons").await;
    let promote = c.spawn(
        &[("stage", "prod"), ("version", &v2), ("keep-old-for", "5m")],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    // Wait for the shift to finish and the slot tags to name the new slot stable.
    let t = std::time::Instant::now();
    let (old, new) = loop {
        let (blue, green) = c.aws.weights(&c.prod.listener, &c.prod).await;
        let (old, new) = if green == 100 {
            ("web-blue", "web-green")
        } else {
            ("web-green", "web-blue")
        };
        // Everything from the one weights read: reading the weights again (prod_live_digest)
        // could see the shift's 50/50 and name the wrong slot live.
        if (blue == 100 || green == 100)
            && c.digest_of(&c.prod.cluster, new).await == d2
            && slot_tag(&c, new).await == "stable"
        {
            break (old, new);
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(90),
            "the promote never reached keep-old-for"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    // GitHub cancels the promote for the rollback: the runner's signal. The old slot is warm,
    // so prod is back on it by one weight change: well under a minute of simulated time.
    let sim_time = || Sim::shared().get("/_sim/health")["sim_time"].as_f64().unwrap();
    let signalled = sim_time();
    promote.signal("INT");
    let back = loop {
        let (blue, green) = c.aws.weights(&c.prod.listener, &c.prod).await;
        if (old == "web-blue" && blue == 100) || (old == "web-green" && green == 100) {
            break sim_time() - signalled;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        back < 60.0,
        "prod was back on the warm slot {back:.0} s of simulated time after the cancel"
    );
    let run = promote.wait();
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "cancelled", "{}", run.stdout);
    assert_eq!(c.prod_live_digest().await, d1, "traffic is back on {v1}");
    assert_eq!(
        slot_tag(&c, old).await,
        "stable",
        "the warm slot is stable again ({old} old, {new} new):\n{}",
        run.stdout
    );
    assert_eq!(
        c.aws.service(&c.prod.cluster, new).await.desired_count(),
        0,
        "the cancelled release is scaled down"
    );

    // rollback.yml: nothing left to undo; above all, not back to v1.2.0.
    let run = c.run(
        &[("command", "rollback"), ("stage", "prod")],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(run.output("version"), v1, "{}", run.stdout);
    assert!(run.stdout.contains("nothing to undo"), "{}", run.stdout);
    assert_eq!(c.prod_live_digest().await, d1);

    // Named explicitly, the release that runs is a no-op too: no new canary of it.
    let run = c.run(
        &[("command", "rollback"), ("stage", "prod"), ("to", &v1)],
        "workflow_dispatch",
        &event("workflow_dispatch", &[]),
    );
    run.assert_code(0);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
    assert_eq!(c.prod_live_digest().await, d1);
}

async fn slot_tag(c: &Chain, service: &str) -> String {
    let arn = c
        .aws
        .service(&c.prod.cluster, service)
        .await
        .service_arn()
        .unwrap()
        .to_string();
    let tags = c
        .aws
        .ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    tags.tags()
        .iter()
        .find(|t| t.key() == Some("ecs-deploy:slot"))
        .and_then(|t| t.value())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_changes_nothing() {
    let c = chain("chainplan", false).await;
    c.aws.push_image(&c.repo, "dev-ccc333").await;
    let planner = Aws::new("chainplan_run").await;
    let c2 = Chain {
        aws: planner,
        repo: c.repo.clone(),
        config: c.config,
        prod: c.prod,
    };
    let image = Aws::image_uri(&c2.repo, "dev-ccc333");
    let run = c2.run(
        &[("command", "plan"), ("stage", "dev"), ("image", &image)],
        "pull_request",
        &event("pull_request", &[]),
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "planned");
    assert!(
        run.stdout.contains("stage dev (environment dev): rolling"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("container app:"),
        "the task-definition diff is shown:\n{}",
        run.stdout
    );
    let mutating: Vec<_> = Sim::shared()
        .calls(&c2.aws.access_key)
        .into_iter()
        .filter(|x| x["mutating"] == true)
        .collect();
    assert!(mutating.is_empty(), "plan made mutating calls: {mutating:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immutable_repository_keeps_its_tags_and_records_in_task_definitions() {
    let c = chain("chainimm", true).await;
    let digest = c.aws.push_image(&c.repo, "dev-ddd444").await;
    let image = Aws::image_uri(&c.repo, "dev-ddd444");
    let run = c.run(
        &[("stage", "dev"), ("image", &image)],
        "pull_request",
        &event("pull_request", &[]),
    );
    run.assert_code(0);
    assert!(run.stdout.contains("IMMUTABLE"), "{}", run.stdout);
    assert_eq!(
        c.tag_digest("dev").await,
        None,
        "no moving tag in an immutable repository"
    );
    let run = c.run(
        &[("stage", "staging"), ("until", "prod")],
        "push",
        &event("push", &["feat: x"]),
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "awaiting-approval", "{}", run.stdout);
    assert_eq!(
        c.tag_digest(run.output("version")).await.as_deref(),
        Some(digest.as_str()),
        "a new version tag is fine"
    );
    // And a re-run converges (the version tag exists, staging already runs it).
    let again = c.run(
        &[("stage", "staging"), ("until", "prod")],
        "push",
        &event("push", &["feat: x"]),
    );
    again.assert_code(0);
    assert_eq!(again.output("version"), run.output("version"));
}
