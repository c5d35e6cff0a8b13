//! `task-definition`: a task-definition file from the repository, registered as written with
//! the release's image by digest, through the real binary against the simulator.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{one_service, run_action, Aws, Sim};

/// The service's task definition as the repository keeps it, with LOG_LEVEL added and more
/// memory: what the running revision (KEEP=me, 512) does not have.
fn file(family: &str, image: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    let json = serde_json::json!({
        "family": family,
        "taskDefinitionArn": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1"),
        "revision": 1,
        "status": "ACTIVE",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "1024",
        "containerDefinitions": [{
            "name": "app",
            "image": image,
            "essential": true,
            "memory": 256,
            "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "KEEP", "value": "me"}, {"name": "LOG_LEVEL", "value": "debug"}]
        }],
        "tags": [{"key": "owner", "value": "platform"}]
    });
    std::fs::write(f.path(), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_variable_in_the_file_is_shown_by_the_plan_and_deployed() {
    let aws = Aws::new("tdfile").await;
    let (cluster, image, _) = one_service(&aws, "tdfile").await;
    let f = file("tdfile-api", &Aws::image_uri("app-tdfile", "v1"));
    let path = f.path().to_str().unwrap();
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
        ("task-definition", path),
    ];
    let plan = run_action(&aws, &[&inputs[..], &[("command", "plan")]].concat(), &[]);
    plan.assert_code(0);
    for line in [
        "+ containers.app.environment.LOG_LEVEL: \"sha256:",
        "~ memory: \"512\" → \"1024\"",
        "~ containers.app.image:",
    ] {
        assert!(plan.stdout.contains(line), "{line}:\n{}", plan.stdout);
    }
    assert!(
        !plan.stdout.contains("\"debug\""),
        "environment values are never printed"
    );
    assert!(
        !support::mutations(&aws.access_key)
            .iter()
            .any(|m| m == "RegisterTaskDefinition"),
        "a plan registers nothing"
    );

    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(0);
    let svc = aws.service(&cluster, "api").await;
    let (td, tags) = aws.task_definition(svc.task_definition().unwrap()).await;
    let app = &td.container_definitions()[0];
    assert!(
        app.image().unwrap().contains("@sha256:"),
        "the release's image by digest"
    );
    let env: Vec<(&str, &str)> = app
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert!(env.contains(&("LOG_LEVEL", "debug")), "{env:?}");
    assert_eq!(td.memory(), Some("1024"));
    assert!(
        tags.contains(&("owner".to_string(), "platform".to_string())),
        "{tags:?}"
    );
    assert!(tags.iter().any(|(k, _)| k == "ecs-deploy:digest"), "{tags:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_file_or_an_unknown_container_is_one_error_and_no_aws_call() {
    let aws = Aws::new("tdfile_bad").await;
    let broken = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(broken.path(), "{\"family\": \"api\", \"containerDefinitions\": [").unwrap();
    let good = file("api", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1");
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v2";
    let worker = format!("worker={image}");
    for (input, extra) in [
        (
            "task-definition",
            vec![("task-definition", broken.path().to_str().unwrap()), ("image", image)],
        ),
        (
            "containers",
            vec![
                ("task-definition", good.path().to_str().unwrap()),
                ("containers", worker.as_str()),
            ],
        ),
    ] {
        let mut inputs = vec![("cluster", "c-none"), ("services", "api")];
        inputs.extend(extra);
        let run = run_action(&aws, &inputs, &[]);
        run.assert_code(2);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 1, "{}", run.stdout);
        assert!(errors[0].contains(&format!("input `{input}`")), "{}", errors[0]);
    }
    assert!(Sim::shared().calls(&aws.access_key).is_empty());
}
