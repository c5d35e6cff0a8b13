//! The AWS adapters against AWS's own recorded answers (`tests/fixtures/aws`, each naming its
//! source), not against the simulator: the adapter maps what AWS documents it returns. The
//! simulator's answers are checked against the same files (sim/tests/test_fixture_shapes.py).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use ecs_deploy_action::aws::cloudwatch::CloudWatchMetrics;
use ecs_deploy_action::aws::ecs::EcsAdapter;
use ecs_deploy_action::aws::elbv2::ElbRouter;
use ecs_deploy_action::domain::codedeploy::{CodeDeployStatus, DeploymentView};
use ecs_deploy_action::domain::controller::DeploymentControllerType;
use ecs_deploy_action::domain::native::{Phase, ServiceDeploymentStatus};
use ecs_deploy_action::domain::service::{DeploymentStatus, ServiceLifecycle};
use ecs_deploy_action::domain::traffic::TargetState;
use ecs_deploy_action::ports::{Ecs, Metrics, TrafficRouter};

fn fixture(path: &str) -> serde_json::Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(path);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the fixture")).expect("JSON");
    assert!(
        v["source"]
            .as_str()
            .is_some_and(|s| s.contains("botocore") || s.contains("aws-cli") || s.contains("API Reference")),
        "{path} names its source"
    );
    v
}

/// Answers the requests in turn with `bodies` (the last one again for any more), each as
/// `content_type`; returns its endpoint.
fn answering_in_turn(bodies: Vec<String>, content_type: &'static str) -> String {
    let headers = format!("Content-Type: {content_type}\r\n");
    answering_bytes(bodies.into_iter().map(String::into_bytes).collect(), headers)
}

/// As `answering_in_turn`, with raw bodies and the headers (each ending in CRLF) given.
fn answering_bytes(bodies: Vec<Vec<u8>>, headers: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().take(8).enumerate() {
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
            let body = &bodies[i.min(bodies.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    endpoint
}

/// Answers every request with `body` as an awsJson 1.1 response; returns its endpoint.
fn answering(body: String) -> String {
    answering_in_turn(vec![body], "application/x-amz-json-1.1")
}

async fn sdk_config(endpoint: String) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
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
        .await
}

/// An awsQuery (XML) answer of `operation` holding `output` as botocore writes it: objects
/// are elements, lists are `member`s.
fn query_xml(operation: &str, output: &serde_json::Value) -> String {
    fn element(name: &str, v: &serde_json::Value, out: &mut String) {
        out.push_str(&format!("<{name}>"));
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| element(k, v, out)),
            serde_json::Value::Array(items) => items.iter().for_each(|v| element("member", v, out)),
            serde_json::Value::String(s) => out.push_str(&s.replace('&', "&amp;").replace('<', "&lt;")),
            other => out.push_str(&other.to_string()),
        }
        out.push_str(&format!("</{name}>"));
    }
    let mut result = String::new();
    element(&format!("{operation}Result"), output, &mut result);
    format!(
        "<{operation}Response xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">{result}<ResponseMetadata><RequestId>fixture</RequestId></ResponseMetadata></{operation}Response>"
    )
}

async fn ecs_answering(output: &serde_json::Value) -> EcsAdapter {
    EcsAdapter::new(&sdk_config(answering(output.to_string())).await)
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

const IN_TIME: std::time::Duration = std::time::Duration::from_secs(30);

#[tokio::test]
async fn list_service_deployments_as_aws_documents_it_maps_each_to_its_target_revision() {
    let f = fixture("ecs/ListServiceDeployments.to-list-service-deployments.json");
    let ecs = ecs_answering(&f["output"]).await;
    let listed = tokio::time::timeout(
        IN_TIME,
        ecs.service_deployments("example-cluster", "example-service", false),
    )
    .await
    .expect("answered in time")
    .expect("ListServiceDeployments");
    assert_eq!(
        listed,
        vec![(
            "arn:aws:ecs:us-east-1:123456789012:service-deployment/example-cluster/example-service/ejGvqq2ilnbKT9qj0vLJe"
                .to_string(),
            "arn:aws:ecs:us-east-1:123456789012:service-revision/example-cluster/example-service/1485800978477494678"
                .to_string()
        )]
    );
}

#[tokio::test]
async fn describe_service_deployments_as_aws_documents_it_reads_as_succeeded() {
    let f = fixture("ecs/DescribeServiceDeployments.to-describe-service-deployment-details.json");
    let ecs = ecs_answering(&f["output"]).await;
    let arn = f["input"]["serviceDeploymentArns"][0].as_str().expect("the ARN");
    let view = tokio::time::timeout(IN_TIME, ecs.service_deployment(arn))
        .await
        .expect("answered in time")
        .expect("DescribeServiceDeployments");
    assert_eq!(view.status, ServiceDeploymentStatus::Successful);
    assert!(view.target_revision.ends_with("/1485800978477494678"), "{view:?}");
    // A rolling service deployment: no lifecycle stage, no traffic weight, no hook waiting.
    assert_eq!(view.production_weight, 0.0);
    assert!(view.awaiting.is_empty() && view.rollback_reason.is_none());
    assert_eq!(view.phase(), Phase::Succeeded);
    assert!(view.finished());
}

#[tokio::test]
async fn get_deployment_as_aws_documents_it_reads_as_ended_and_succeeded() {
    let f = fixture("codedeploy/GetDeployment.to-get-information-about-a-deployment.json");
    // GetDeployment, then ListDeploymentTargets (an EC2 deployment has no ECS target here).
    let endpoint = answering_in_turn(
        vec![f["output"].to_string(), r#"{"targetIds":[]}"#.to_string()],
        "application/x-amz-json-1.1",
    );
    let ecs = EcsAdapter::new(&sdk_config(endpoint).await);
    let view: DeploymentView = tokio::time::timeout(IN_TIME, ecs.codedeploy_deployment("d-A1B2C3123"))
        .await
        .expect("answered in time")
        .expect("GetDeployment");
    assert_eq!(view.status, CodeDeployStatus::Succeeded);
    assert!(view.ended());
    assert_eq!((view.error, view.rollback_deployment), (None, None));
    assert!(!view.termination_wait_started);
}

#[tokio::test]
async fn describe_target_health_as_aws_documents_it_maps_each_target_state() {
    let f = fixture("elbv2/DescribeTargetHealth.elbv2-describe-target-health-1.json");
    let endpoint = answering_in_turn(vec![query_xml("DescribeTargetHealth", &f["output"])], "text/xml");
    let elb = ElbRouter::new(&sdk_config(endpoint).await);
    let tg = f["input"]["TargetGroupArn"].as_str().expect("the target group");
    let health = tokio::time::timeout(IN_TIME, elb.target_health(tg))
        .await
        .expect("answered in time")
        .expect("DescribeTargetHealth");
    let states: Vec<_> = health
        .iter()
        .map(|h| (h.target.as_str(), h.state.clone(), h.reason.as_str()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("i-0f76fade", TargetState::Unused, "Target.NotInUse"),
            ("i-0f76fade", TargetState::Healthy, ""),
        ]
    );
}

/// JSON as RPCv2 CBOR (Smithy's spec: timestamps are tag 1, epoch seconds), the protocol the
/// CloudWatch SDK speaks: members named `Timestamps` or ending in `Time` are timestamps.
fn cbor(v: &serde_json::Value) -> Vec<u8> {
    fn put(e: &mut aws_smithy_cbor::Encoder, v: &serde_json::Value, timestamp: bool) {
        match v {
            serde_json::Value::Object(m) => {
                e.map(m.len());
                for (k, v) in m {
                    e.str(k);
                    put(e, v, k == "Timestamps" || k.ends_with("Time"));
                }
            }
            serde_json::Value::Array(items) => {
                e.array(items.len());
                items.iter().for_each(|v| put(e, v, timestamp));
            }
            serde_json::Value::Number(n) if timestamp => {
                e.timestamp(&aws_smithy_types::DateTime::from_secs_f64(n.as_f64().expect("seconds")));
            }
            serde_json::Value::Number(n) => {
                e.double(n.as_f64().expect("a number"));
            }
            serde_json::Value::String(s) => {
                e.str(s);
            }
            serde_json::Value::Bool(b) => {
                e.boolean(*b);
            }
            serde_json::Value::Null => {
                e.null();
            }
        }
    }
    let mut e = aws_smithy_cbor::Encoder::new(Vec::new());
    put(&mut e, v, false);
    e.into_writer()
}

#[tokio::test]
async fn get_metric_data_as_aws_documents_it_maps_to_minutes() {
    let f = fixture("cloudwatch/GetMetricData.to-monitor-the-estimated-aws-charges.json");
    // The one change: a result's Id is the caller's; ours asks for "requests".
    let mut output = f["output"].clone();
    output["MetricDataResults"][0]["Id"] = "requests".into();
    let headers = "Content-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\n".to_string();
    let endpoint = answering_bytes(vec![cbor(&output)], headers);
    let cw = CloudWatchMetrics::new(&sdk_config(endpoint).await);
    let at = |s: f64| std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(s);
    let start = at(f["input"]["StartTime"].as_f64().expect("a start"));
    let end = at(f["input"]["EndTime"].as_f64().expect("an end"));
    let lb = "app/my-load-balancer/50dc6c495c0c9188";
    let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";
    let minutes = tokio::time::timeout(IN_TIME, cw.target_group_minutes(lb, tg, (start, end), None))
        .await
        .expect("answered in time")
        .expect("GetMetricData");
    assert_eq!(minutes.len(), 1, "{minutes:?}");
    let timestamp = f["output"]["MetricDataResults"][0]["Timestamps"][0]
        .as_f64()
        .expect("a timestamp");
    assert_eq!(minutes[0].start, at(timestamp));
    assert_eq!(minutes[0].requests, 542.38);
    assert_eq!(minutes[0].errors_5xx, 0.0, "a series AWS did not return is no errors");
    assert_eq!(minutes[0].p99_ms, None, "and no latency");
    assert_eq!(minutes[0].slow, None, "nor slow requests, without a latency gate");
}
