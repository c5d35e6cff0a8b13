//! The real binary, driven by INPUT_* like the runner drives it, against the AWS simulator.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use support::{run_action, spawn_action, Aws, Sim};

const SIDECAR: &str = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable";

struct Setup {
    aws: Aws,
    cluster: String,
    repo: String,
}

impl Setup {
    /// Service `api` on `v1` (returns its task definition), and a `slow` image whose tasks
    /// never start: a deploy of it is still rolling out when a test interrupts it.
    async fn service_with_a_slow_image(&self, family: &str) -> String {
        self.aws.push_image(&self.repo, "v1").await;
        let slow = self.aws.push_image(&self.repo, "slow").await;
        Sim::shared().scenario(&slow, serde_json::json!({"start_seconds": 1000000}));
        let td1 = self
            .aws
            .register(family, &[("app", &Aws::image_uri(&self.repo, "v1"))])
            .await;
        self.aws.create_service(&self.cluster, "api", &td1, 1).await;
        td1
    }
}

async fn setup(test: &str) -> Setup {
    setup_as(Aws::new(test).await, test).await
}

/// As `setup`, with the action's key held to `aws`'s policy.
async fn setup_as(aws: Aws, test: &str) -> Setup {
    let cluster = format!("c-{test}");
    aws.create_cluster(&cluster).await;
    Setup {
        aws,
        cluster,
        repo: format!("app-{test}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deploys_a_digest_pinned_revision_keeping_everything_else() {
    // Under the `core` piece of iam/ alone: all a rolling deploy needs (docs/iam.md).
    let s = setup_as(Aws::with_pieces("success", &["core"]).await, "success").await;
    s.aws.push_image(&s.repo, "v1").await;
    let v2 = s.aws.push_image(&s.repo, "v2").await;
    let td1 = s
        .aws
        .register(
            "success-api",
            &[("app", &Aws::image_uri(&s.repo, "v1")), ("log-router", SIDECAR)],
        )
        .await;
    s.aws.create_service(&s.cluster, "api", &td1, 2).await;

    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &Aws::image_uri(&s.repo, "v2")),
            ("version", "v1.2.3"),
            ("stage", "dev"),
            ("rollback-on-failure", ""),
        ],
        &[],
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    assert_eq!(run.output("digest"), v2);
    assert_eq!(run.output("previous-task-definition-arns"), td1);
    let new_td = run.output("task-definition-arns").to_string();
    assert_eq!(
        run.output("task-definition-arn"),
        new_td,
        "the official action's output name"
    );
    assert_ne!(new_td, td1);

    let svc = s.aws.service(&s.cluster, "api").await;
    assert_eq!(svc.task_definition(), Some(new_td.as_str()));
    assert_eq!(svc.deployments().len(), 1);
    assert_eq!(
        svc.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("COMPLETED")
    );

    let (td, tags) = s.aws.task_definition(&new_td).await;
    let image_of = |name: &str| {
        td.container_definitions()
            .iter()
            .find(|c| c.name() == Some(name))
            .and_then(|c| c.image())
            .map(str::to_string)
    };
    assert_eq!(
        image_of("app").unwrap(),
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{}@{v2}", s.repo)
    );
    assert_eq!(
        image_of("log-router").unwrap(),
        SIDECAR,
        "a sidecar of another repository keeps its image"
    );
    let app = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some("app"))
        .unwrap();
    assert_eq!(
        app.environment()[0].value(),
        Some("me"),
        "the rest of the definition is kept"
    );
    assert_eq!(td.cpu(), Some("256"));
    let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(tag("team").as_deref(), Some("payments"), "existing tags are kept");
    assert_eq!(tag("ecs-deploy:digest").as_deref(), Some(v2.as_str()));
    assert_eq!(tag("ecs-deploy:version").as_deref(), Some("v1.2.3"));
    assert_eq!(tag("ecs-deploy:stage").as_deref(), Some("dev"));
    assert_eq!(
        tag("ecs-deploy:git-sha").as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(
        tag("ecs-deploy:run-url").as_deref(),
        Some("https://github.com/acme/shop/actions/runs/1001")
    );

    assert!(run.summary.contains("## ✅ dev: v1.2.3 deployed"), "{}", run.summary);
    assert!(run.stdout.contains("::group::"), "steps are grouped in the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn crashing_tasks_trip_the_circuit_breaker_and_fail_with_diagnostics() {
    let s = setup("crash").await;
    s.aws.push_image(&s.repo, "v1").await;
    let bad = s.aws.push_image(&s.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"crash": true, "exit_code": 137}));
    let td1 = s
        .aws
        .register("crash-api", &[("app", &Aws::image_uri(&s.repo, "v1"))])
        .await;
    s.aws.create_service(&s.cluster, "api", &td1, 2).await;

    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &Aws::image_uri(&s.repo, "bad")),
        ],
        &[],
    );
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure");
    assert!(
        run.output("rolled-back-reason").contains("circuit breaker"),
        "{}",
        run.output("rolled-back-reason")
    );
    let svc = s.aws.service(&s.cluster, "api").await;
    assert_eq!(
        svc.task_definition(),
        Some(td1.as_str()),
        "ECS rolled the service back to the previous revision"
    );
    assert!(
        run.stdout.contains("::error title=Deploy of api failed::"),
        "{}",
        run.stdout
    );
    assert!(
        run.summary.contains("Essential container in task exited"),
        "stopped reason in the summary:\n{}",
        run.summary
    );
    assert!(
        run.summary.contains("exit 137"),
        "exit code in the summary:\n{}",
        run.summary
    );
    assert!(
        run.summary.contains("rolled back by the ECS circuit breaker"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_rolls_back_to_the_previous_task_definition() {
    let s = setup("timeout").await;
    let td1 = s.service_with_a_slow_image("timeout-api").await;

    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &Aws::image_uri(&s.repo, "slow")),
            ("wait-timeout", "10s"),
        ],
        &[],
    );
    run.assert_code(1);
    assert!(
        run.output("rolled-back-reason").contains("did not become stable"),
        "{}",
        run.output("rolled-back-reason")
    );
    let svc = s.aws.service(&s.cluster, "api").await;
    assert_eq!(svc.task_definition(), Some(td1.as_str()));
    assert_eq!(
        svc.deployments().len(),
        1,
        "the rollback finished before the action exited"
    );
    assert_eq!(svc.deployments()[0].task_definition(), Some(td1.as_str()));
    assert!(
        run.summary.contains("rolled back to the previous task definition"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_services_are_all_or_nothing() {
    let s = setup("pair").await;
    s.aws.push_image(&s.repo, "v1").await;
    s.aws.push_image(&s.repo, "good").await;
    let bad = s.aws.push_image(&s.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"crash": true}));
    let api1 = s
        .aws
        .register("pair-api", &[("api", &Aws::image_uri(&s.repo, "v1"))])
        .await;
    let web1 = s
        .aws
        .register("pair-web", &[("web", &Aws::image_uri(&s.repo, "v1"))])
        .await;
    s.aws.create_service(&s.cluster, "api", &api1, 1).await;
    s.aws.create_service(&s.cluster, "web", &web1, 1).await;

    let containers = format!(
        "api={}\nweb={}",
        Aws::image_uri(&s.repo, "good"),
        Aws::image_uri(&s.repo, "bad")
    );
    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api, web"),
            ("containers", &containers),
        ],
        &[],
    );
    run.assert_code(1);
    assert_eq!(
        s.aws.service(&s.cluster, "api").await.task_definition(),
        Some(api1.as_str()),
        "the healthy service went back too"
    );
    assert_eq!(
        s.aws.service(&s.cluster, "web").await.task_definition(),
        Some(web1.as_str())
    );
    assert!(
        run.summary.contains("rolled back (another service failed)"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_service_is_refused_before_any_change() {
    let s = setup("missing").await;
    s.aws.push_image(&s.repo, "v1").await;
    let key = support::access_key("missing_run");
    let aws = Aws::new("missing_run").await;
    let run = run_action(
        &aws,
        &[
            ("cluster", &s.cluster),
            ("services", "nope"),
            ("image", &Aws::image_uri(&s.repo, "v1")),
        ],
        &[],
    );
    run.assert_code(1);
    assert!(run.stdout.contains("does not exist"), "{}", run.stdout);
    let mutating: Vec<_> = Sim::shared()
        .calls(&key)
        .into_iter()
        .filter(|c| c["mutating"] == true)
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
}

/// Settings only another controller honours (capability table) are refused for a service on
/// ECS rolling updates, before any change, each naming the controller and the alternative:
/// the action's analysis, ALB weights, a followed deployment's and CodeDeploy's settings were
/// silently ignored here before.
#[tokio::test(flavor = "multi_thread")]
async fn settings_a_rolling_update_cannot_honour_are_refused_before_any_change() {
    let s = setup("refused").await;
    s.aws.push_image(&s.repo, "v1").await;
    s.aws.push_image(&s.repo, "v2").await;
    let td1 = s
        .aws
        .register("refused-api", &[("app", &Aws::image_uri(&s.repo, "v1"))])
        .await;
    s.aws.create_service(&s.cluster, "api", &td1, 1).await;
    let image = Aws::image_uri(&s.repo, "v2");
    for (input, value, instead) in [
        ("alarms", "api-5xx", "deploymentConfiguration.alarms"),
        ("max-5xx-rate", "2%", "deploymentConfiguration.alarms"),
        ("canary-steps", "5,100", "set `strategy`"),
        ("wait-until", "shifted", "remove it"),
        ("native-canary-percent", "10%", "BLUE_GREEN, LINEAR or CANARY"),
        ("codedeploy-application", "app", "CODE_DEPLOY"),
    ] {
        let mut given = vec![
            ("cluster", s.cluster.as_str()),
            ("services", "api"),
            ("image", image.as_str()),
            (input, value),
        ];
        if input == "codedeploy-application" {
            given.push(("codedeploy-deployment-group", "group"));
        }
        let run = run_action(&s.aws, &given, &[]);
        run.assert_code(1);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("`{input}`")) && e.contains("ECS rolling update") && e.contains(instead)),
            "{input}: {}",
            run.stdout
        );
        assert_eq!(
            support::mutations(&s.aws.access_key),
            Vec::<String>::new(),
            "{input}: nothing changed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_inputs_fail_with_a_named_error_and_no_aws_call() {
    let aws = Aws::new("malformed").await;
    let img = Aws::image_uri("app", "v1");
    let good: [(&str, &str); 3] = [("cluster", "c"), ("services", "api"), ("image", &img)];
    let cases: Vec<(&str, &str, &str)> = vec![
        ("cluster", "", "cluster"),
        ("cluster", "two words", "cluster"),
        ("cluster", "c\n::set-env name=X::y", "cluster"),
        ("services", "", "services"),
        ("services", " , ", "services"),
        ("services", "api,api", "services"),
        ("services", "api/v2", "services"),
        ("image", "", "image"),
        ("image", "app", "image"),
        ("image", "app:", "image"),
        ("image", "app@sha256:abc", "image"),
        ("image", "app:v1 extra", "image"),
        ("image", "app:-bad", "image"),
        ("aws-region", "moon-1", "aws-region"),
        ("aws-region", "US-EAST-1", "aws-region"),
        ("wait-timeout", "soon", "wait-timeout"),
        ("wait-timeout", "2s", "wait-timeout"),
        ("wait-timeout", "24h", "wait-timeout"),
        ("poll-interval", "10ms", "poll-interval"),
        ("poll-interval", "fast", "poll-interval"),
        ("rollback-on-failure", "maybe", "rollback-on-failure"),
        ("stage", "prod;rm", "stage"),
        ("version", "1.2", "version"),
        ("version", "latest", "version"),
        ("containers", "=app:v1", "containers"),
        ("containers", "app=", "containers"),
        ("containers", "app,web=x:1", "containers"),
        ("github-token", "ghs_abc def", "github-token"),
    ];
    for (input, _, _) in &cases {
        assert!(
            support::runner_env::declared_inputs().iter().any(|(n, _)| n == input),
            "`{input}` is not an input of action.yml"
        );
    }
    for (input, value, named) in &cases {
        let mut inputs: Vec<(&str, &str)> = good.iter().filter(|(k, _)| k != input).cloned().collect();
        inputs.push((input, value));
        let run = run_action(&aws, &inputs, &[]);
        assert_eq!(run.code, 2, "{input}={value:?}\n{}", run.stdout);
        let prefix = format!("::error title=Invalid input%3A {named}::");
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{input}={value:?}: no error naming `{named}`:\n{}", run.stdout));
        assert!(line.contains("Fix:"), "the error says how to fix it: {line}");
        assert!(
            !run.stdout.lines().any(|l| l.starts_with("::set-env")),
            "no injected command"
        );
        assert!(
            !run.stdout
                .lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .any(|l| l.contains("ghs_abc")),
            "the token is masked and never printed"
        );
        assert_eq!(run.output("outcome"), "invalid-input");
    }
    let calls = Sim::shared().calls(&aws.access_key);
    assert!(
        calls.is_empty(),
        "invalid input must make no AWS call at all: {calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_puts_the_services_back_and_reports_cancelled() {
    let s = setup("sigterm").await;
    let td1 = s.service_with_a_slow_image("sigterm-api").await;

    let action = spawn_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &Aws::image_uri(&s.repo, "slow")),
        ],
        &[],
    );
    // Wait until the action has moved the service, then cancel the job.
    let started = Instant::now();
    while !Sim::shared()
        .calls(&s.aws.access_key)
        .iter()
        .any(|c| c["operation"] == "UpdateService")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the action never updated the service"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signalled = Instant::now();
    action.signal("TERM");
    let run = action.wait();
    let took = signalled.elapsed();
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "cancelled");
    assert!(
        took < Duration::from_secs(5),
        "the runner kills the job ~10 s after the signal; we took {took:?}"
    );
    let svc = s.aws.service(&s.cluster, "api").await;
    assert_eq!(
        svc.task_definition(),
        Some(td1.as_str()),
        "the service was put back before exit"
    );
    assert!(run.summary.contains("cancelled"), "{}", run.summary);
}

/// An image from a repository no container runs, on a task definition with a sidecar: which
/// container gets it is the user's choice, so the run is refused before the service changes
/// (it used to go into every container, the sidecar included).
#[tokio::test(flavor = "multi_thread")]
async fn an_image_no_container_runs_is_refused_among_several_containers() {
    let s = setup("ambiguous").await;
    s.aws.push_image(&s.repo, "v1").await;
    s.aws.push_image("other-ambiguous", "v2").await;
    let td1 = s
        .aws
        .register(
            "ambiguous-api",
            &[("app", &Aws::image_uri(&s.repo, "v1")), ("log-router", SIDECAR)],
        )
        .await;
    s.aws.create_service(&s.cluster, "api", &td1, 1).await;
    let before = support::mutations(&s.aws.access_key).len();
    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &Aws::image_uri("other-ambiguous", "v2")),
        ],
        &[],
    );
    run.assert_code(1);
    assert!(
        run.stdout.contains("none runs an image from") && run.stdout.contains("`containers: app`"),
        "{}",
        run.stdout
    );
    // Only the deploy lock was written (taken and marked free).
    let changes: Vec<String> = support::mutations(&s.aws.access_key)[before..]
        .iter()
        .filter(|op| op.as_str() != "PutParameter")
        .cloned()
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(
        s.aws.service(&s.cluster, "api").await.task_definition(),
        Some(td1.as_str())
    );
}
