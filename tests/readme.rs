//! The README's quick start, copied verbatim: its Usage workflow is read from README.md, the
//! ecs-deploy-action step's `with:` is evaluated as GitHub would (`${{ github.sha }}`), and the
//! step runs through the runner-env helper (every other input at action.yml's default) against
//! the simulator set up as the workflow assumes. configure-aws-credentials' part is the
//! credentials and region it would leave in the job's environment.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use serde_yaml_ng::Value;
use support::{run_action, Aws};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// The first ```yaml block after "## Usage".
fn usage_workflow() -> Value {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let usage = &readme[readme.find("\n## Usage").expect("a Usage section")..];
    let start = usage.find("```yaml\n").expect("a yaml block under Usage") + "```yaml\n".len();
    let end = start + usage[start..].find("\n```").expect("the block ends");
    serde_yaml_ng::from_str(&usage[start..end]).expect("the Usage block is YAML")
}

fn eval(s: &str) -> String {
    let s = s.replace("${{ github.sha }}", SHA);
    assert!(!s.contains("${{"), "an expression this test does not evaluate: {s}");
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_quick_start_deploys_as_written() {
    let workflow = usage_workflow();
    let (_, job) = workflow["jobs"].as_mapping().unwrap().iter().next().expect("a job");
    let steps = job["steps"].as_sequence().expect("steps");
    let step = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.contains("/ecs-deploy-action@")))
        .expect("the ecs-deploy-action step");
    let credentials = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
        })
        .expect("the credentials step");
    assert_eq!(credentials["with"]["aws-region"].as_str(), Some(support::REGION));
    let with: Vec<(String, String)> = step["with"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                eval(v.as_str().expect("a string input")),
            )
        })
        .collect();
    let get = |k: &str| with.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap();

    // The AWS the workflow assumes: the cluster, its services on the previous image, and the
    // image the build pushed as dev-<sha>.
    let aws = Aws::new("readme").await;
    let image = get("image");
    let (registry_repo, tag) = image.split_once('/').unwrap().1.rsplit_once(':').unwrap();
    aws.create_cluster(get("cluster")).await;
    aws.push_image(registry_repo, "dev-previous").await;
    let digest = aws.push_image(registry_repo, tag).await;
    let services: Vec<&str> = get("services").split(',').map(str::trim).collect();
    for service in &services {
        let td = aws
            .register(
                &format!("readme-{service}"),
                &[("app", &Aws::image_uri(registry_repo, "dev-previous"))],
            )
            .await;
        aws.create_service(get("cluster"), service, &td, 1).await;
    }

    let inputs: Vec<(&str, &str)> = with.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // `command: plan` on the same step: the plan, and no change.
    let plan = run_action(
        &aws,
        &[&inputs[..], &[("command", "plan")]].concat(),
        &[("GITHUB_SHA", SHA)],
    );
    plan.assert_code(0);
    assert!(plan.stdout.contains("update-service"), "{}", plan.stdout);
    assert_eq!(support::mutations(&aws.access_key), Vec::<String>::new());
    let run = run_action(&aws, &inputs, &[("GITHUB_SHA", SHA)]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    assert_eq!(run.output("digest"), digest, "the next step echoes the digest");
    for service in services {
        let svc = aws.service(get("cluster"), service).await;
        let td = aws
            .ecs
            .describe_task_definition()
            .task_definition(svc.task_definition().unwrap())
            .send()
            .await
            .unwrap();
        let container = &td.task_definition().unwrap().container_definitions()[0];
        assert_eq!(
            container.image(),
            Some(format!("{}@{digest}", image.rsplit_once(':').unwrap().0).as_str()),
            "{service} runs the release by digest"
        );
    }
}
