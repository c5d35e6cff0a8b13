//! Stages in other AWS accounts through `role-to-assume`: the real binary, the simulator's STS
//! (a role must exist and trust the caller) with each stage role held to the shipped policy in
//! its own account, and the job's own key held to it in the artifacts account.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::github::{GitHub, TOKEN};
use support::{spawn_action, Aws, Run, Sim};

const REPO: &str = "acme/accounts";
const STAGING: &str = "210987654321";
const PROD: &str = "210987654322";

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// A deploy role in `account`, trusting `trusted` (an account id), held to the shipped policy.
fn deploy_role(account: &str, name: &str, trusted: &str) -> String {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{trusted}:root")}, "Action": "sts:AssumeRole"}]});
    Sim::shared().post(
        "/_sim/iam/role",
        serde_json::json!({"account": account, "name": name, "trust": trust.to_string()}),
    );
    let arn = role(account, name);
    // A rolling stage's role needs the `core` piece of iam/ only (ECR stays the job's).
    let policy = support::pieces_policy(&["core"]);
    Sim::shared().put("/_sim/iam", serde_json::json!({"role_arn": arn, "template": policy}));
    arn
}

/// An administrator's role in `account` (not held to any policy): what the test sets the
/// account up and looks at it with.
fn admin_role(account: &str) -> String {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}]});
    Sim::shared().post(
        "/_sim/iam/role",
        serde_json::json!({"account": account, "name": "admin", "trust": trust.to_string()}),
    );
    role(account, "admin")
}

/// The test's own clients in an account, through its administrator's role.
async fn clients_in(aws: &Aws, role_arn: &str) -> Aws {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("test-setup")
        .configure(&aws.config)
        .build()
        .await;
    let config = aws
        .config
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
        .build();
    Aws {
        access_key: aws.access_key.clone(),
        setup_key: aws.setup_key.clone(),
        ecs: aws_sdk_ecs::Client::new(&config),
        ecr: aws.ecr.clone(),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
        config,
    }
}

fn run(aws: &Aws, config: &tempfile::NamedTempFile, inputs: &[(&str, &str)]) -> Run {
    let g = GitHub::shared();
    let event = support::github::event("push", REPO, |p| p["ref"] = "refs/heads/main".into());
    let event_path = event.path().to_str().unwrap().to_string();
    let mut all = vec![("config", config.path().to_str().unwrap()), ("github-token", TOKEN)];
    all.extend_from_slice(inputs);
    spawn_action(
        aws,
        &all,
        &[
            ("GITHUB_API_URL", g.api.as_str()),
            ("GITHUB_REPOSITORY", REPO),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", &event_path),
        ],
    )
    .wait()
}

async fn image_of(aws: &Aws, cluster: &str) -> String {
    let svc = aws.service(cluster, "api").await;
    let (td, _) = aws.task_definition(svc.task_definition().unwrap()).await;
    td.container_definitions()[0].image().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_walks_into_staging_and_prod_in_their_own_accounts() {
    // The job's role: dev (rolling), the chain's ECR tags, and the stage roles to assume.
    let aws = Aws::with_pieces("acct", &["core", "chain", "cross-account"]).await;
    GitHub::shared().seed(
        REPO,
        serde_json::json!({"environments": {"dev": {}, "staging": {}, "prod": {}}}),
    );
    let repo = "app-acct";
    aws.push_image(repo, "v1").await;
    let v2 = aws.push_image(repo, "v2").await;
    let v1_uri = Aws::image_uri(repo, "v1");
    // dev in the artifacts account; staging and prod each in their own, run on v1.
    aws.create_cluster("c-acct-dev").await;
    let td = aws.register("acct-dev-api", &[("app", &v1_uri)]).await;
    aws.create_service("c-acct-dev", "api", &td, 1).await;
    let staging_role = deploy_role(STAGING, "ecs-deploy-staging", "123456789012");
    let prod_role = deploy_role(PROD, "ecs-deploy-prod", "123456789012");
    let (staging_admin, prod_admin) = (admin_role(STAGING), admin_role(PROD));
    for (admin, stage) in [(&staging_admin, "staging"), (&prod_admin, "prod")] {
        let there = clients_in(&aws, admin).await;
        let cluster = format!("c-acct-{stage}");
        there.create_cluster(&cluster).await;
        let td = there.register(&format!("acct-{stage}-api"), &[("app", &v1_uri)]).await;
        there.create_service(&cluster, "api", &td, 1).await;
    }
    let (ecr_repo, _) = Aws::image_uri(repo, "x")
        .rsplit_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            r#"repository: {ecr_repo}
stages:
  - name: dev
    cluster: c-acct-dev
    services: [api]
  - name: staging
    cluster: c-acct-staging
    services: [api]
    role-to-assume: {staging_role}
  - name: prod
    cluster: c-acct-prod
    services: [api]
    role-to-assume: {prod_role}
"#
        ),
    )
    .unwrap();

    // The merge: dev, then staging in its own account, in one run.
    let image = Aws::image_uri(repo, "v2");
    let walk = run(
        &aws,
        &config,
        &[("stage", "dev"), ("until", "staging"), ("image", &image)],
    );
    walk.assert_code(0);
    assert_eq!(walk.output("outcome"), "success", "{}", walk.stdout);
    let staging = clients_in(&aws, &staging_admin).await;
    assert!(
        image_of(&staging, "c-acct-staging").await.ends_with(&v2),
        "staging runs v2"
    );
    assert!(image_of(&aws, "c-acct-dev").await.ends_with(&v2));
    let in_default = aws
        .ecs
        .describe_clusters()
        .clusters("c-acct-staging")
        .send()
        .await
        .unwrap();
    assert!(
        in_default.clusters().iter().all(|c| c.status() != Some("ACTIVE")),
        "staging's cluster is not in the artifacts account"
    );

    // The promotion: prod, its provenance read in staging's account with staging's role.
    let promote = run(&aws, &config, &[("stage", "prod")]);
    promote.assert_code(0);
    assert_eq!(promote.output("outcome"), "success", "{}", promote.stdout);
    let prod = clients_in(&aws, &prod_admin).await;
    assert!(image_of(&prod, "c-acct-prod").await.ends_with(&v2), "prod runs v2");
    // Every call the job made was its own or a stage role's, each under the shipped policy.
    let denied: Vec<_> = Sim::shared()
        .calls(&aws.access_key)
        .into_iter()
        .filter(|c| c["fault"] == "AccessDenied")
        .collect();
    assert!(denied.is_empty(), "{denied:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_does_not_trust_the_job_stops_the_stage_before_any_change() {
    let aws = Aws::new("acct_untrusted").await;
    GitHub::shared().seed(REPO, serde_json::json!({"environments": {"prod": {}}}));
    let repo = "app-acct-untrusted";
    aws.push_image(repo, "v2").await;
    let untrusted = deploy_role(PROD, "ecs-deploy-elsewhere", "999999999999");
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!("stages:\n  - name: prod\n    cluster: c-none\n    services: [api]\n    role-to-assume: {untrusted}\n"),
    )
    .unwrap();
    let image = Aws::image_uri(repo, "v2");
    let r = run(&aws, &config, &[("stage", "prod"), ("image", &image)]);
    r.assert_code(1);
    // STS's refusal, named as such, with its own message: not the SDK's dispatch failure, and
    // not "throttled, re-run" (asking again cannot help).
    let reason = r.output("rolled-back-reason");
    assert!(
        reason.starts_with("sts:AssumeRole on the role the stage assumes")
            && reason.contains(&format!(
                "not authorized to perform: sts:AssumeRole on resource: {untrusted}"
            ))
            && reason.contains("trust policy")
            && !reason.contains("DispatchFailure")
            && !reason.contains("throttled"),
        "names STS: {reason}\n{}",
        r.stdout
    );
    let changed: Vec<String> = support::mutations(&aws.access_key)
        .into_iter()
        .filter(|m| m != "AssumeRole")
        .collect();
    assert!(changed.is_empty(), "nothing changed: {changed:?}");
}
