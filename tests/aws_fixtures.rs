//! The AWS adapters against AWS's own recorded answers (`tests/fixtures/aws`, each naming its
//! source), not against the simulator: the adapter maps what AWS documents it returns. The
//! simulator's answers are checked against the same files (sim/tests/test_fixture_shapes.py).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use ecs_deploy_action::aws::ecs::EcsAdapter;
use ecs_deploy_action::domain::controller::DeploymentControllerType;
use ecs_deploy_action::domain::service::{DeploymentStatus, ServiceLifecycle};
use ecs_deploy_action::ports::Ecs;

fn fixture(path: &str) -> serde_json::Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(path);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the fixture")).expect("JSON");
    assert!(
        v["source"]
            .as_str()
            .is_some_and(|s| s.contains("botocore") || s.contains("API Reference")),
        "{path} names its source"
    );
    v
}

/// Answers every request with `body` as an awsJson 1.1 response; returns its endpoint.
fn answering(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("the stream"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    endpoint
}

async fn ecs_answering(output: &serde_json::Value) -> EcsAdapter {
    let endpoint = answering(output.to_string());
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDFIXTURE",
            "secret",
            None,
            None,
            "fixture",
        ))
        .load()
        .await;
    EcsAdapter::new(&config)
}

#[tokio::test]
async fn describe_services_as_aws_documents_it_maps_to_the_service_state() {
    let f = fixture("ecs/DescribeServices.to-describe-a-service.json");
    let ecs = ecs_answering(&f["output"]).await;
    let states = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        ecs.describe_services("default", &["ecs-simple-service".to_string()]),
    )
    .await
    .expect("answered in time")
    .expect("DescribeServices");
    assert_eq!(states.len(), 1);
    let s = &states[0];
    assert_eq!(s.name, "ecs-simple-service");
    assert_eq!(s.arn, "arn:aws:ecs:us-east-1:012345678910:service/ecs-simple-service");
    assert_eq!(s.status, ServiceLifecycle::Active);
    assert_eq!(
        s.task_definition,
        "arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6"
    );
    assert_eq!((s.desired, s.running, s.pending), (1, 0, 0));
    // No deploymentController in the answer: ECS's default, a rolling update.
    assert_eq!(s.deployment_controller, DeploymentControllerType::Ecs);
    assert!(s.native.is_none() && s.circuit_breaker.is_none());
    assert_eq!(s.deployments.len(), 1);
    let d = &s.deployments[0];
    assert_eq!(d.id, "ecs-svc/9223370564341623665");
    assert_eq!(d.status, DeploymentStatus::Primary);
    assert_eq!((d.desired, d.running, d.pending), (1, 0, 0));
    // A service without rollout tracking has no rolloutState: never read as COMPLETED.
    assert_eq!(d.rollout_state, None);
    assert!(
        s.events[0].message.contains("was unable to place a task"),
        "{:?}",
        s.events
    );
}

#[tokio::test]
async fn a_service_missing_from_the_answer_is_missing_not_an_error() {
    let f = fixture("ecs/DescribeServices.to-describe-a-service.json");
    let ecs = ecs_answering(&f["output"]).await;
    let states = ecs
        .describe_services("default", &["another".to_string()])
        .await
        .expect("DescribeServices");
    assert_eq!(states[0].status, ServiceLifecycle::Missing);
}

#[tokio::test]
async fn describe_task_definition_as_aws_documents_it_maps_every_container() {
    let f = fixture("ecs/DescribeTaskDefinition.to-describe-a-task-definition.json");
    let ecs = ecs_answering(&f["output"]).await;
    let td = ecs
        .describe_task_definition("hello_world:8")
        .await
        .expect("DescribeTaskDefinition");
    assert_eq!((td.family.as_str(), td.revision), ("hello_world", 8));
    assert_eq!(
        td.containers,
        vec![
            ("wordpress".to_string(), "wordpress".to_string()),
            ("mysql".to_string(), "mysql".to_string())
        ]
    );
    assert!(td.tags.is_empty());
}
